"""Figures for reports. Each function takes tidy tables and returns a matplotlib Figure.

Figures are made by :mod:`bayes_anlo.report.canvas`: not tracked by pyplot (a run never holds
figures open), and every text (study labels, subgroup names, titles) drawn literally, never parsed
as mathtext. The backend is left to the caller.

Nothing here samples or fits: the data behind every figure is a table from
:mod:`bayes_anlo.report.tables` or :mod:`bayes_anlo.report.prior_density` (or
:func:`exceedance_curve` below, which only transforms draws), so each figure can be checked or
redrawn from its CSV.
"""

from __future__ import annotations

import matplotlib
import matplotlib.figure
import matplotlib.lines
import matplotlib.patches
import matplotlib.ticker
import numpy as np
import pandas as pd
import xarray as xr

from bayes_anlo.report import canvas
from bayes_anlo.report.canvas import literal_text, new_figure, suptitle, tight_layout

OBSERVED = "#444444"
FREQUENTIST = "#1f77b4"
BAYES = "#d62728"
PUBLISHED = "#2ca02c"
PRIOR = "#7f7f7f"
PARADIGM_COLOURS = {"Bayesian": BAYES, "frequentist": FREQUENTIST, "published": PUBLISHED}


def _percent_axis(ax, axis="x"):
    fmt = matplotlib.ticker.PercentFormatter(xmax=1, decimals=0)
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def subgroup_colours(levels) -> dict[str, tuple]:
    """One colour per subgroup level (tab10, cycling), in the order given."""
    palette = list(matplotlib.colormaps["tab10"].colors)
    return {str(level): palette[i % len(palette)] for i, level in enumerate(dict.fromkeys(levels))}


def forest_rows(
    studies: pd.DataFrame, comparison: pd.DataFrame, subgroup_pooled: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The rows of a forest plot, top to bottom: ``kind`` (``header``, ``study``, ``pooled``,
    ``overall``), ``label``, the study row index (studies) or comparison row index (pooled rows).

    Without a ``subgroup`` column in ``studies`` (or without ``subgroup_pooled``) the studies come
    first, then every row of ``comparison``. With them, each subgroup is a block: a header, its
    studies, its pooled rows (``subgroup_pooled`` rows of that subgroup, Bayesian and frequentist);
    the overall rows of ``comparison`` close the figure.
    """
    rows = []
    grouped = subgroup_pooled is not None and "subgroup" in studies
    if grouped:
        for level in dict.fromkeys(studies["subgroup"].astype(str)):
            members = np.flatnonzero(studies["subgroup"].astype(str).to_numpy() == level)
            single = " (single study)" if len(members) == 1 else ""
            rows.append(
                {"kind": "header", "label": f"{level}{single}", "index": -1, "subgroup": level}
            )
            rows += [
                {
                    "kind": "study",
                    "label": _study_label(studies.iloc[i]),
                    "index": int(i),
                    "subgroup": level,
                }
                for i in members
            ]
            part = subgroup_pooled.reset_index(drop=True)
            for j in np.flatnonzero(part["subgroup"].astype(str).to_numpy() == level):
                r = part.iloc[j]
                rows.append(
                    {
                        "kind": "pooled",
                        "label": f"  {r['method']} ({r['paradigm']})",
                        "index": int(j),
                        "subgroup": level,
                    }
                )
    else:
        rows += [
            {"kind": "study", "label": _study_label(studies.iloc[i]), "index": i, "subgroup": ""}
            for i in range(len(studies))
        ]
    rows.append({"kind": "gap", "label": "", "index": -1, "subgroup": ""})
    rows += [
        {"kind": "overall", "label": f"{r.method} ({r.paradigm})", "index": j, "subgroup": ""}
        for j, r in enumerate(comparison.itertuples(index=False))
    ]
    return pd.DataFrame(rows)


def _study_label(row) -> str:
    return f"{row['label']}  {int(row['events'])}/{int(row['n'])}"


def _diamond(ax, row, yy, colour, half_height=0.25):
    if "pi_low" in row and not np.isnan(row["pi_low"]):
        ax.plot([row["pi_low"], row["pi_high"]], [yy, yy], color=colour, lw=1, ls=":")
    ax.fill(
        [row["ci_low"], row["estimate"], row["ci_high"], row["estimate"]],
        [yy, yy + half_height, yy, yy - half_height],
        color=colour,
        alpha=0.85,
    )


@literal_text
def forest_plot(
    studies: pd.DataFrame,
    comparison: pd.DataFrame,
    *,
    title: str,
    outcome: str,
    signed: bool = False,
    subgroup_pooled: pd.DataFrame | None = None,
    subgroup_test: str = "",
) -> matplotlib.figure.Figure:
    """Observed rates (Clopper-Pearson), shrunken rates, and pooled estimates from every method.

    ``studies`` is :func:`~bayes_anlo.report.tables.study_table`; ``comparison`` is
    :func:`~bayes_anlo.report.tables.comparison_table`. With a ``subgroup`` column in ``studies``
    and ``subgroup_pooled`` (:func:`~bayes_anlo.report.tables.subgroup_pooled_rows`), studies are
    grouped by subgroup, each group closed by its pooled rows; ``subgroup_test`` (a sentence, e.g.
    the between-subgroup Q test) is printed under the axis. Row order: :func:`forest_rows`.
    """
    layout = forest_rows(studies, comparison, subgroup_pooled)
    total = len(layout)
    height = 1.2 + 0.36 * total + (0.3 if subgroup_test else 0)
    fig = new_figure(figsize=(8.5, height))
    ax = fig.subplots()
    y = np.arange(total)[::-1].astype(float)
    first_study = True
    pooled_part = subgroup_pooled.reset_index(drop=True) if subgroup_pooled is not None else None
    for yy, row in zip(y, layout.itertuples(index=False), strict=True):
        if row.kind == "study":
            s = studies.iloc[row.index]
            ax.plot([s["cp_low"], s["cp_high"]], [yy + 0.12] * 2, color=OBSERVED, lw=1.5)
            ax.plot(
                s["observed"],
                yy + 0.12,
                "s",
                color=OBSERVED,
                ms=4 + 4 * np.sqrt(s["n"] / studies["n"].max()),
                label="observed (Clopper-Pearson 95% CI)" if first_study else None,
            )
            if "shrunken" in studies:
                ax.plot(
                    [s["shrunken_low"], s["shrunken_high"]], [yy - 0.12] * 2, color=BAYES, lw=1.5
                )
                ax.plot(
                    s["shrunken"],
                    yy - 0.12,
                    "o",
                    color=BAYES,
                    ms=5,
                    label="shrunken (posterior median, 95% CrI)" if first_study else None,
                )
            first_study = False
        elif row.kind == "pooled":
            r = pooled_part.iloc[row.index]
            _diamond(ax, r, yy, PARADIGM_COLOURS.get(r["paradigm"], OBSERVED), half_height=0.18)
        elif row.kind == "overall":
            r = comparison.iloc[row.index]
            _diamond(ax, r, yy, PARADIGM_COLOURS.get(r["paradigm"], OBSERVED))
    gap = y[layout["kind"].to_numpy() == "gap"]
    for g in gap:
        ax.axhline(g, color="#bbbbbb", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(layout["label"].tolist(), fontsize=8.5)
    for tick, kind in zip(ax.get_yticklabels(), layout["kind"], strict=True):
        if kind == "header":
            tick.set_fontweight("bold")
    if signed:  # rows below the line are differences of rates
        low = min(-0.1, float(np.nanmin(comparison["ci_low"])) - 0.05)
        ax.set_xlim(max(-1.0, low), 1.0)
        ax.axvline(0, color="#999999", lw=0.8, ls="--")
    else:  # wide enough for every interval drawn (prediction intervals included)
        drawn = [studies["cp_high"]] + [
            frame[c]
            for frame in (comparison, pooled_part)
            if frame is not None
            for c in ("ci_high", "pi_high")
            if c in frame
        ]
        upper = float(np.nanmax(pd.concat(drawn, ignore_index=True).to_numpy(dtype=float)))
        ax.set_xlim(0, 1 if upper > 0.6 else min(1, upper + 0.05))
    _percent_axis(ax)
    ax.set_xlabel(
        f"{outcome} (proportion of patients)" + (f"\n{subgroup_test}" if subgroup_test else "")
    )
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    handles.append(
        matplotlib.patches.Patch(color="#888888", label="pooled estimate, 95% interval (diamond)")
    )
    has_pi = comparison["pi_low"].notna().any() or (
        pooled_part is not None and "pi_low" in pooled_part and pooled_part["pi_low"].notna().any()
    )
    if has_pi:
        handles.append(
            matplotlib.lines.Line2D(
                [], [], color="#888888", ls=":", label="95% prediction interval"
            )
        )
    below = 0.55 + (0.3 if subgroup_test else 0.0)  # inches from the axis to the legend
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -below / max(1.5, 0.36 * total)),
        ncol=2,
        fontsize=7.5,
        frameon=False,
    )
    tight_layout(fig)
    return fig


@literal_text
def prior_posterior_plot(densities: pd.DataFrame, *, title: str) -> matplotlib.figure.Figure:
    """One panel per parameter: the analytic prior density (dashed) over the posterior histogram.

    ``densities`` is :func:`~bayes_anlo.report.prior_density.prior_posterior_table`: columns
    ``parameter``, ``axis_label``, ``series`` (``prior`` / ``posterior``), ``x``, ``density``,
    ``percent`` (whether the parameter is a proportion).
    """
    names = list(dict.fromkeys(densities["parameter"]))
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig = new_figure(figsize=(3.3 * cols + 0.4, 2.8 * rows + 0.6))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        part = densities[densities["parameter"] == name]
        post = part[part["series"] == "posterior"]
        prior = part[part["series"] == "prior"]
        if len(post):
            ax.fill_between(
                post["x"],
                post["density"],
                step="mid",
                color=BAYES,
                alpha=0.35,
                lw=0,
                label="posterior (histogram of draws)",
            )
        if len(prior):
            ax.plot(
                prior["x"],
                prior["density"],
                color=PRIOR,
                ls="--",
                lw=1.6,
                label="prior (exact density)",
            )
        ax.set_xlabel(str(part["axis_label"].iloc[0]), fontsize=8.5)
        ax.set_yticks([])
        ax.tick_params(labelsize=7.5)
        if bool(part["percent"].iloc[0]):
            _percent_axis(ax)
        ax.grid(alpha=0.3)
    for ax in axes[len(names) :]:
        ax.axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    suptitle(fig, title, 10.5)
    tight_layout(fig, rect=(0, 0.07, 1, 1))
    return fig


def exceedance_curve(draws: dict[str, np.ndarray], grid: np.ndarray) -> pd.DataFrame:
    """P(rate > t) over a grid of thresholds t, for each named set of draws."""
    rows = [
        pd.DataFrame(
            {
                "series": name,
                "threshold": grid,
                "probability": (np.asarray(d).ravel()[None, :] > grid[:, None]).mean(axis=1),
            }
        )
        for name, d in draws.items()
    ]
    return pd.concat(rows, ignore_index=True)


@literal_text
def exceedance_plot(
    curve: pd.DataFrame, thresholds: tuple[float, ...], *, title: str, outcome: str
) -> matplotlib.figure.Figure:
    fig = new_figure(figsize=(6.5, 3.6))
    ax = fig.subplots()
    for name, part in curve.groupby("series", sort=False):
        ax.plot(part["threshold"], part["probability"], lw=1.8, label=name)
    for t in thresholds:
        ax.axvline(t, color="#999999", ls=":", lw=1)
    _percent_axis(ax)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"threshold t for {outcome}")
    ax.set_ylabel(f"posterior P({outcome} > t)")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    tight_layout(fig)
    return fig


@literal_text
def ppc_plot(
    ppc: pd.DataFrame, replicated: dict[str, np.ndarray], *, title: str
) -> matplotlib.figure.Figure:
    """Histogram of each replicated statistic with the observed value marked and its p-value."""
    names = [s for s in ppc["statistic"] if s in replicated]
    cols = min(3, max(1, len(names)))
    rows = int(np.ceil(len(names) / cols)) or 1
    fig = new_figure(figsize=(3.2 * cols, 2.6 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        row = ppc.loc[ppc["statistic"] == name].iloc[0]
        ax.hist(replicated[name], bins=30, color="#9ecae1", edgecolor="white")
        ax.axvline(row["observed"], color=BAYES, lw=2)
        ax.set_title(f"{name}\np = {row['p_value']:.2f}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    suptitle(fig, title, 10)
    tight_layout(fig)
    return fig


@literal_text
def shrinkage_plot(
    studies: pd.DataFrame,
    pooled: float,
    *,
    title: str,
    outcome: str,
    subgroup_means: pd.DataFrame | None = None,
) -> matplotlib.figure.Figure:
    """Observed rate -> shrunken rate for each unit, with the pooled estimate as a reference line.

    With ``subgroup_means`` (columns ``subgroup``, ``median``: the posterior median of each
    subgroup's rate) and a ``subgroup`` column in ``studies``, units are ordered and coloured by
    subgroup, and each subgroup's mean (the point its studies shrink toward) is drawn as a solid
    segment across that subgroup's rows.
    """
    grouped = subgroup_means is not None and "subgroup" in studies
    fig = new_figure(figsize=(6.5, 1.2 + 0.3 * len(studies)))
    ax = fig.subplots()
    if grouped:
        order_levels = {
            lv: i for i, lv in enumerate(dict.fromkeys(studies["subgroup"].astype(str)))
        }
        order = (
            studies.assign(_g=studies["subgroup"].astype(str).map(order_levels))
            .sort_values(["_g", "observed"], ascending=[False, True])
            .reset_index(drop=True)
        )
        colours = subgroup_colours(order_levels)
    else:
        order = studies.sort_values("observed").reset_index(drop=True)
        colours = {}
    for i, row in order.iterrows():
        colour = colours.get(str(row["subgroup"]), BAYES) if grouped else BAYES
        ax.annotate(
            "",
            xy=(row.shrunken, i),
            xytext=(row.observed, i),
            arrowprops={"arrowstyle": "->", "color": colour if grouped else "#777777", "lw": 1},
        )
        ax.plot(row.observed, i, "s", color=OBSERVED, ms=4)
        ax.plot(row.shrunken, i, "o", color=colour, ms=5)
    if grouped:
        means = subgroup_means.assign(subgroup=subgroup_means["subgroup"].astype(str)).set_index(
            "subgroup"
        )["median"]
        for level, colour in colours.items():
            rows = np.flatnonzero(order["subgroup"].astype(str).to_numpy() == level)
            if len(rows) and level in means.index:
                ax.plot(
                    [means[level]] * 2,
                    [rows.min() - 0.4, rows.max() + 0.4],
                    color=colour,
                    lw=2.2,
                    alpha=0.8,
                    label=f"{level}: subgroup mean",
                )
    ax.axvline(
        pooled,
        color=BAYES if not grouped else "#555555",
        ls="--",
        lw=1,
        label="pooled (posterior median)",
    )
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels(
        [
            f"{lab} ({int(e)}/{int(n)})"
            for lab, e, n in zip(order["label"], order["events"], order["n"], strict=True)
        ],
        fontsize=8,
    )
    if grouped:
        for tick, level in zip(ax.get_yticklabels(), order["subgroup"].astype(str), strict=True):
            tick.set_color(colours[level])
    _percent_axis(ax)
    ax.set_xlabel(f"{outcome}: observed (square) to shrunken (circle)")
    ax.set_title(title, fontsize=11)
    # the legend goes in a band of its own at the bottom of the figure (placed below the axes in
    # axes units, it sat on the x-axis label of a figure with few rows)
    handles, labels = ax.get_legend_handles_labels()
    ncol = 2 if grouped else 1
    band = 0.12 + 0.17 * -(-len(handles) // ncol)  # inches
    fig.set_figheight(fig.get_figheight() + band)
    fig.legend(handles, labels, fontsize=7.5, loc="lower center", ncol=ncol, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    tight_layout(fig, rect=(0, band / fig.get_figheight(), 1, 1))
    return fig


def save(fig, path) -> None:
    """Write ``fig`` as a PNG with every text literal, then close it (:func:`canvas.save`)."""
    canvas.save(fig, path)


def pooled_draws(tree: xr.DataTree, name: str) -> np.ndarray:
    return tree["posterior"][name].values.ravel()
