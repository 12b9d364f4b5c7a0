"""Figures of the posterior predictive checks (PPC). Each function takes tidy tables and returns a
matplotlib Figure; nothing here samples or fits.

* :func:`binary_ppc_plot`: per-unit observed rates inside their 90% posterior predictive
  intervals, and one histogram per global test statistic (binary models);
* :func:`survival_ppc_plot`: reported medians, landmarks, post-landmark event counts and the
  joint Mahalanobis discrepancy against their 90% posterior predictive intervals (survival).

Colours follow :mod:`bayes_anlo.report.plots`: dark grey (``OBSERVED``) for the data, red
(``BAYES``) for what the model replicates, orange (:data:`HIGHLIGHT`) for rows whose two-sided
posterior predictive p-value is below :data:`HIGHLIGHT_P`. Every panel carries an axes label
(``Axes.get_label()``): ``"units"`` and ``"statistic:<name>"`` in the binary figure, the term
(``"median"``, ``"landmark"``, ``"events_after"``, ``"km_joint"``) in the survival figure.
"""

from __future__ import annotations

import re

import matplotlib.collections
import matplotlib.lines
import matplotlib.patches
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from bayes_anlo.report.canvas import literal_text, new_figure, suptitle
from bayes_anlo.report.plots import BAYES, OBSERVED, _percent_axis

#: Colour of rows whose two-sided posterior predictive p-value is below :data:`HIGHLIGHT_P`.
HIGHLIGHT = "#ff7f0e"
#: Two-sided p-value below which a row is highlighted (the observed value lies in the outer 10%).
HIGHLIGHT_P = 0.1
#: Histogram colour of replicated statistics (a light shade of ``BAYES``).
REPLICATED = "#f2a7a7"

#: Global statistics of :func:`bayes_anlo.checks.ppc.ppc_statistics`, in panel order:
#: (panel title, x label, percent axis).
STATISTICS = {
    "variance": ("between-study variance of rates", "sample variance of study rates", False),
    "chi2_homogeneity": ("chi-square homogeneity", "Pearson X\u00b2 against a common rate", False),
    "min_rate": ("lowest study rate", "lowest observed rate", True),
    "max_rate": ("highest study rate", "highest observed rate", True),
    "chi2_discrepancy": (
        "chi-square discrepancy (realised)",
        "X\u00b2 discrepancy T(y, \u03b8)",
        False,
    ),
}

#: Terms of :func:`bayes_anlo.checks.survival_ppc.summary_check`, in panel order:
#: (panel title, x label with ``{endpoint}``, percent axis).
TERMS = {
    "median": ("Reported medians vs posterior predictive", "median {endpoint} (months)", False),
    "landmark": (
        "Reported landmark survival vs posterior predictive",
        "{endpoint} landmark survival",
        True,
    ),
    "events_after": (
        "Events after the last reported time vs posterior predictive",
        "events after last reported time (count)",
        False,
    ),
    "km_joint": (
        "Medians and landmarks jointly, per study (lower = closer fit)",
        "Mahalanobis discrepancy of the reported summaries",
        False,
    ),
}

_FONT = 8.5
_SMALL = 7.5
_ROW = 0.3  # inches per row of an interval panel


def _highlight_handle() -> matplotlib.patches.Patch:
    return matplotlib.patches.Patch(
        facecolor=HIGHLIGHT,
        alpha=0.35,
        edgecolor=HIGHLIGHT,
        label=f"outside 90% predictive interval (two-sided p < {HIGHLIGHT_P:g})",
    )


def _interval_rows(ax, labels: list[str], low, median, high, observed, extreme) -> None:
    """One row per label (first on top): predictive interval, its median, the observed value."""
    y = np.arange(len(labels))[::-1]
    for yy, lo, med, hi, obs, hot in zip(y, low, median, high, observed, extreme, strict=True):
        if hot:
            ax.axhspan(yy - 0.45, yy + 0.45, color=HIGHLIGHT, alpha=0.18, lw=0)
        ax.plot([lo, hi], [yy, yy], color=BAYES, lw=2.2, alpha=0.75, solid_capstyle="butt")
        ax.plot(med, yy, "o", mfc="white", mec=BAYES, mew=1.5, ms=8)
        ax.plot(
            obs,
            yy,
            "s",
            color=HIGHLIGHT if hot else OBSERVED,
            mec="black" if hot else OBSERVED,
            ms=5.5,
            zorder=3,
        )
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=_FONT)
    for tick, hot in zip(ax.get_yticklabels(), extreme, strict=True):
        if hot:
            tick.set_color(HIGHLIGHT)
            tick.set_fontweight("bold")
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.tick_params(axis="x", labelsize=_FONT)
    ax.grid(axis="x", alpha=0.3)


def _legend_handles(observed: str, any_extreme: bool) -> list:
    handles = [
        matplotlib.lines.Line2D(
            [], [], color=OBSERVED, marker="s", ls="none", ms=5.5, label=observed
        ),
        matplotlib.lines.Line2D(
            [],
            [],
            color=BAYES,
            lw=2.2,
            alpha=0.75,
            marker="o",
            mfc="white",
            mec=BAYES,
            ms=7,
            label="replicated: median and 90% predictive interval",
        ),
    ]
    if any_extreme:
        handles.append(_highlight_handle())
    return handles


@literal_text
def binary_ppc_plot(
    ppc: pd.DataFrame,
    units: pd.DataFrame,
    replicated: dict[str, np.ndarray],
    *,
    title: str,
    outcome: str,
) -> plt.Figure:
    """Posterior predictive check of a binary fit: each unit's observed rate against the 90%
    predictive interval of its replicated rate, and one histogram per global test statistic.

    ``ppc`` is :func:`~bayes_anlo.checks.ppc.ppc_statistics`, ``units`` is
    :func:`~bayes_anlo.pipeline.binary.ppc_interval_table` (events per unit, divided by ``n``
    here) and ``replicated`` is :func:`~bayes_anlo.checks.ppc.ppc_replicated`. Units with
    ``p_two_sided`` below :data:`HIGHLIGHT_P` are drawn in :data:`HIGHLIGHT`. A histogram is
    drawn for every global statistic found in both ``ppc`` and ``replicated`` (any subset; a
    single study has only its rate and the realised discrepancy), with the
    observed value (for ``chi2_discrepancy`` the posterior mean of the realised discrepancy) as
    a vertical line and the posterior predictive p-value in the panel title.
    """
    if len(units) == 0:
        raise ValueError("binary_ppc_plot: the unit table is empty (no studies to draw)")
    overall = ppc[
        ppc["unit"].fillna("").astype(str) == ""
    ]  # global rows (NaN when read back from CSV)
    names = [s for s in STATISTICS if s in replicated and (overall["statistic"] == s).any()]
    k = len(units)
    if k == 1:  # the lowest and the highest rate are the same number: one panel, "the study's rate"
        names = [s for s in names if s != "max_rate"]
    cols = min(3, len(names)) if names else 1
    hist_rows = int(np.ceil(len(names) / cols)) if names else 0
    unit_height = 1.7 + _ROW * k
    hist_height = 2.5 * hist_rows
    fig = new_figure(figsize=(8.0, unit_height + hist_height + 0.4), layout="constrained")
    if names:
        top, bottom = fig.subfigures(2, 1, height_ratios=[unit_height, hist_height])
    else:
        top, bottom = fig, None

    # per-unit panel
    ax = top.subplots()
    ax.set_label("units")
    n = units["n"].to_numpy(dtype=float)
    obs = units["observed"].to_numpy(dtype=float)
    extreme = (units["p_two_sided"].to_numpy(dtype=float) < HIGHLIGHT_P).tolist()
    labels = [
        f"{lab} ({int(e)}/{int(m)})" for lab, e, m in zip(units["label"], obs, n, strict=True)
    ]
    low, med, high = (
        units[c].to_numpy(dtype=float) / n
        for c in ("replicated_low", "replicated_median", "replicated_high")
    )
    _interval_rows(ax, labels, low, med, high, obs / n, extreme)
    right = min(1.0, float(np.nanmax(np.concatenate([high, obs / n]))) * 1.08 + 0.02)
    ax.set_xlim(-0.015 * right, right)
    _percent_axis(ax)
    ax.set_xlabel(
        f"{outcome} (proportion of patients): observed vs replicated", fontsize=_FONT + 0.5
    )
    ax.set_ylabel("study or subgroup (events/n)", fontsize=_FONT + 0.5)
    ax.set_title(
        "Observed rate of each study against its 90% posterior predictive interval", fontsize=10
    )
    top.legend(
        handles=_legend_handles("observed rate (events/n)", any(extreme)),
        loc="outside lower center",
        ncol=2,
        fontsize=_SMALL,
        frameon=False,
    )

    # one histogram per global statistic
    if names:
        axes = np.atleast_1d(bottom.subplots(hist_rows, cols, squeeze=False)).ravel()
        for hax, name in zip(axes, names, strict=False):
            row = overall.loc[overall["statistic"] == name].iloc[0]
            _statistic_panel(
                hax,
                name,
                np.asarray(replicated[name], dtype=float).ravel(),
                float(row["observed"]),
                float(row["p_value"]),
                single=k == 1,
            )
        for hax in axes[len(names) :]:
            hax.axis("off")
            hax.set_label("unused")
        bottom.suptitle(
            "Test statistics, replicated vs observed (p = share of replicates above the observed "
            "value)",
            fontsize=9.5,
        )
        bottom.legend(
            handles=[
                matplotlib.patches.Patch(color=REPLICATED, label="replicated data sets"),
                matplotlib.lines.Line2D([], [], color=OBSERVED, lw=2, label="observed data"),
            ],
            loc="outside lower center",
            ncol=2,
            fontsize=_SMALL,
            frameon=False,
        )
    suptitle(fig, title, 11)
    return fig


def _bars(ax, values: np.ndarray, bins: np.ndarray, *, label: str) -> None:
    """A histogram of ``values`` as ``ax.hist`` draws it (bars from 0, white edges) but as one
    collection of rectangles: a patch per bar costs a tenth of a second per panel to add and
    draw."""
    counts, edges = np.histogram(values, bins=bins)
    left, right = edges[:-1], edges[1:]
    zero = np.zeros_like(left, dtype=float)
    top = counts.astype(float)
    corners = np.stack(
        [np.column_stack(xy) for xy in ((left, zero), (left, top), (right, top), (right, zero))],
        axis=1,
    )
    bars = matplotlib.collections.PolyCollection(
        corners, facecolors=REPLICATED, edgecolors="white", linewidths=1.0, label=label
    )
    bars.sticky_edges.y.append(0.0)  # bars stand on the axis, as with ax.hist
    ax.add_collection(bars)
    ax.autoscale_view()


def _statistic_panel(
    ax, name: str, values: np.ndarray, observed: float, p: float, single: bool = False
) -> None:
    """Histogram of one replicated statistic (range cut at its 99.5% quantile unless the observed
    value lies further out) with the observed value as a vertical line."""
    panel_title, xlabel, percent = STATISTICS[name]
    if single and name == "min_rate":
        panel_title, xlabel = "the study's rate", "observed rate"
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError(f"binary_ppc_plot: no finite replicated values of {name!r}")
    lo = min(float(values.min()), observed)
    hi = max(float(np.quantile(values, 0.995)), observed)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    bins = np.linspace(lo, hi, min(30, max(2, np.unique(values).size)) + 1)
    _bars(ax, values, bins, label="replicated")
    label = "observed (posterior mean)" if name == "chi2_discrepancy" else "observed"
    ax.axvline(observed, color=OBSERVED, lw=2, label=label)
    ax.set_xlim(lo - 0.03 * (hi - lo), hi + 0.03 * (hi - lo))
    ax.set_label(f"statistic:{name}")
    ax.set_title(f"{panel_title}\np = {p:.2f}", fontsize=9)
    ax.set_xlabel(xlabel, fontsize=_FONT)
    ax.set_ylabel("replicated data sets", fontsize=_FONT)
    ax.tick_params(labelsize=_SMALL + 0.5)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    if percent:
        ax.xaxis.set_major_formatter(
            matplotlib.ticker.PercentFormatter(xmax=1, decimals=1 if hi - lo < 0.05 else 0)
        )
    else:
        ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    if name == "chi2_discrepancy":  # the one line that is not simply the observed statistic
        ax.set_ylim(0, ax.get_ylim()[1] * 1.25)
        ax.legend(
            handles=[ax.lines[-1]],
            fontsize=_SMALL,
            loc="upper right",
            frameon=False,
            handlelength=1.2,
        )
    ax.grid(axis="x", alpha=0.3)


def _survival_label(term: str, row: str, time: float) -> str:
    """Row label: the table's ``row`` with the time spelt out for landmarks and event counts."""
    row = str(row)
    if term == "landmark":
        base = re.sub(r"\s*@\s*[-+0-9.eE]+$", "", row)
        return f"{base} at {time:.3g} mo"
    if term == "median":
        return re.sub(r"\s+median$", "", row)
    if term == "events_after" and np.isfinite(time):
        return f"{row} (after {time:.3g} mo)"
    return row


@literal_text
def survival_ppc_plot(check: pd.DataFrame, *, title: str, endpoint: str) -> plt.Figure:
    """Posterior predictive check of a survival-summary fit: each reported median, landmark rate
    and post-landmark event count, and each study's joint (Mahalanobis) discrepancy, against the
    90% interval of its posterior predictive replicate.

    ``check`` is :func:`~bayes_anlo.checks.survival_ppc.summary_check`. One panel per term
    present (medians, landmarks, events after the last reported time, ``km_joint``), one row per
    table row; rows with ``p_two_sided`` below :data:`HIGHLIGHT_P` are drawn in
    :data:`HIGHLIGHT`. For ``km_joint`` the observed value is the median over draws of the
    realised discrepancy (lower is closer to the model).
    """
    if check is None or len(check) == 0:
        raise ValueError(
            "survival_ppc_plot: the check table is empty (no reported summaries to draw)"
        )
    unknown = sorted(set(check["term"]) - set(TERMS))
    if unknown:
        raise ValueError(
            f"survival_ppc_plot: unknown term(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(TERMS)}"
        )
    terms = [t for t in TERMS if (check["term"] == t).any()]
    parts = [check[check["term"] == t] for t in terms]
    heights = [1.25 + _ROW * len(p) for p in parts]
    any_extreme = bool((check["p_two_sided"].to_numpy(dtype=float) < HIGHLIGHT_P).any())
    fig = new_figure(figsize=(8.0, sum(heights) + 1.2), layout="constrained")
    axes = fig.subplots(len(terms), 1, squeeze=False, gridspec_kw={"height_ratios": heights})
    for ax, term, part in zip(axes[:, 0], terms, parts, strict=True):
        panel_title, xlabel, percent = TERMS[term]
        ax.set_label(term)
        labels = [
            _survival_label(term, r, t)
            for r, t in zip(part["row"], part["time"].astype(float), strict=True)
        ]
        extreme = (part["p_two_sided"].to_numpy(dtype=float) < HIGHLIGHT_P).tolist()
        cols = [
            part[c].to_numpy(dtype=float)
            for c in ("predicted_low", "predicted_median", "predicted_high", "observed")
        ]
        _interval_rows(ax, labels, *cols, extreme)
        right = float(np.nanmax(np.concatenate([cols[2], cols[3]])))
        if percent:
            left = float(np.nanmin(np.concatenate([cols[0], cols[3]])))
            ax.set_xlim(max(0.0, left - 0.05), min(1.0, right + 0.05))
            _percent_axis(ax)
        else:  # from zero, with a margin so that a value of 0 is not cut in half
            right = right if right > 0 else 1.0
            ax.set_xlim(-0.03 * right, right * 1.08)
        if term == "events_after":
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel(xlabel.format(endpoint=endpoint), fontsize=_FONT + 0.5)
        ax.set_ylabel("study", fontsize=_FONT)
        ax.set_title(panel_title, fontsize=9.5, loc="left")
    observed = (
        "observed (reported value; for the joint check its median realised discrepancy)"
        if "km_joint" in terms
        else "observed (reported value)"
    )
    fig.legend(
        handles=_legend_handles(observed, any_extreme),
        loc="outside lower center",
        ncol=2,
        fontsize=_SMALL,
        frameon=False,
    )
    suptitle(fig, title, 11)
    return fig
