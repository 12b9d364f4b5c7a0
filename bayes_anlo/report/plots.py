"""Figures for reports. Each function takes tidy tables and returns a matplotlib Figure.

The backend is left to the caller (the CLI selects Agg; notebooks keep their inline backend).

Nothing here samples or fits: the data behind every figure is a table from
:mod:`bayes_anlo.report.tables` (or :func:`density_table` / :func:`exceedance_curve` below, which
only transform draws), so each figure can be checked or redrawn from its CSV.
"""

from __future__ import annotations

import matplotlib
import matplotlib.lines
import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

OBSERVED = "#444444"
FREQUENTIST = "#1f77b4"
BAYES = "#d62728"
PUBLISHED = "#2ca02c"
PRIOR = "#7f7f7f"


def _percent_axis(ax, axis="x"):
    fmt = matplotlib.ticker.PercentFormatter(xmax=1, decimals=0)
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def forest_plot(studies: pd.DataFrame, comparison: pd.DataFrame, *, title: str, outcome: str,
                signed: bool = False) -> plt.Figure:
    """Observed rates (Clopper-Pearson), shrunken rates, and pooled estimates from every method.

    ``studies`` is :func:`~bayes_anlo.report.tables.study_table`; ``comparison`` is
    :func:`~bayes_anlo.report.tables.comparison_table`.
    """
    k, m = len(studies), len(comparison)
    fig, ax = plt.subplots(figsize=(8.5, 1.2 + 0.36 * (k + m + 1)), dpi=110)
    y = np.arange(k + m + 1)[::-1]
    for i, row in enumerate(studies.itertuples(index=False)):
        yy = y[i]
        ax.plot([row.cp_low, row.cp_high], [yy + 0.12] * 2, color=OBSERVED, lw=1.5)
        ax.plot(row.observed, yy + 0.12, "s", color=OBSERVED, ms=4 + 4 * np.sqrt(row.n / studies["n"].max()),
                label="observed (Clopper-Pearson 95% CI)" if i == 0 else None)
        if "shrunken" in studies:
            ax.plot([row.shrunken_low, row.shrunken_high], [yy - 0.12] * 2, color=BAYES, lw=1.5)
            ax.plot(row.shrunken, yy - 0.12, "o", color=BAYES, ms=5,
                    label="shrunken (posterior median, 95% CrI)" if i == 0 else None)
    colours = {"Bayesian": BAYES, "frequentist": FREQUENTIST, "published": PUBLISHED}
    labels = list(studies["label"] + studies.apply(lambda r: f"  {int(r.events)}/{int(r.n)}", axis=1)) + [""]
    for j, row in enumerate(comparison.itertuples(index=False)):
        yy = y[k + 1 + j]
        c = colours.get(row.paradigm, OBSERVED)
        if not np.isnan(row.pi_low):
            ax.plot([row.pi_low, row.pi_high], [yy, yy], color=c, lw=1, ls=":")
        ax.fill([row.ci_low, row.estimate, row.ci_high, row.estimate], [yy, yy + 0.25, yy, yy - 0.25], color=c, alpha=0.85)
        labels.append(f"{row.method} ({row.paradigm})")
    ax.axhline(y[k], color="#bbbbbb", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8.5)
    if signed:  # rows below the line are differences of rates
        low = min(-0.1, float(np.nanmin(comparison["ci_low"])) - 0.05)
        ax.set_xlim(max(-1.0, low), 1.0)
        ax.axvline(0, color="#999999", lw=0.8, ls="--")
    else:
        ax.set_xlim(0, 1 if studies["cp_high"].max() > 0.6 else min(1, studies["cp_high"].max() + 0.1))
    _percent_axis(ax)
    ax.set_xlabel(f"{outcome} (proportion of patients)")
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    handles.append(matplotlib.patches.Patch(color="#888888", label="pooled estimate, 95% interval (diamond)"))
    if comparison["pi_low"].notna().any():
        handles.append(matplotlib.lines.Line2D([], [], color="#888888", ls=":", label="95% prediction interval"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.55 / max(1.5, 0.36 * (k + m + 1))),
              ncol=2, fontsize=7.5, frameon=False)
    fig.tight_layout()
    return fig


def density_table(samples: dict[str, np.ndarray], grid: np.ndarray, bounds: tuple[float, float] = (0.0, 1.0)) -> pd.DataFrame:
    """Kernel density (Gaussian, Scott bandwidth, reflected at the bounds) of draws on a grid."""
    from scipy import stats

    frames = []
    for name, draws in samples.items():
        draws = np.asarray(draws, dtype=float).ravel()
        if draws.std() == 0:
            continue
        kde = stats.gaussian_kde(draws)
        lo, hi = bounds
        dens = kde(grid) + kde(2 * lo - grid) + kde(2 * hi - grid)
        frames.append(pd.DataFrame({"series": name, "x": grid, "density": dens}))
    return pd.concat(frames, ignore_index=True)


def prior_posterior_plot(densities: pd.DataFrame, *, title: str, xlabel: str) -> plt.Figure:
    """Overlaid densities (one line per series) from :func:`density_table`."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6), dpi=110)
    styles = {"prior": (PRIOR, "--"), "posterior": (BAYES, "-")}
    for name, part in densities.groupby("series", sort=False):
        colour, ls = styles.get(name, (None, "-"))
        ax.plot(part["x"], part["density"], color=colour, ls=ls, lw=1.8, label=name)
    _percent_axis(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def exceedance_curve(draws: dict[str, np.ndarray], grid: np.ndarray) -> pd.DataFrame:
    """P(rate > t) over a grid of thresholds t, for each named set of draws."""
    rows = [pd.DataFrame({"series": name, "threshold": grid,
                          "probability": (np.asarray(d).ravel()[None, :] > grid[:, None]).mean(axis=1)})
            for name, d in draws.items()]
    return pd.concat(rows, ignore_index=True)


def exceedance_plot(curve: pd.DataFrame, thresholds: tuple[float, ...], *, title: str, outcome: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.5, 3.6), dpi=110)
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
    fig.tight_layout()
    return fig


def ppc_plot(ppc: pd.DataFrame, replicated: dict[str, np.ndarray], *, title: str) -> plt.Figure:
    """Histogram of each replicated statistic with the observed value marked and its p-value."""
    names = [s for s in ppc["statistic"] if s in replicated]
    cols = min(3, max(1, len(names)))
    rows = int(np.ceil(len(names) / cols)) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), dpi=110, squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        row = ppc.loc[ppc["statistic"] == name].iloc[0]
        ax.hist(replicated[name], bins=30, color="#9ecae1", edgecolor="white")
        ax.axvline(row["observed"], color=BAYES, lw=2)
        ax.set_title(f"{name}\np = {row['p_value']:.2f}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def shrinkage_plot(studies: pd.DataFrame, pooled: float, *, title: str, outcome: str) -> plt.Figure:
    """Observed rate -> shrunken rate for each unit, with the pooled estimate as a reference line."""
    fig, ax = plt.subplots(figsize=(6.5, 0.6 + 0.3 * len(studies)), dpi=110)
    order = studies.sort_values("observed").reset_index(drop=True)
    for i, row in order.iterrows():
        ax.annotate("", xy=(row.shrunken, i), xytext=(row.observed, i),
                    arrowprops={"arrowstyle": "->", "color": "#777777", "lw": 1})
        ax.plot(row.observed, i, "s", color=OBSERVED, ms=4)
        ax.plot(row.shrunken, i, "o", color=BAYES, ms=5)
    ax.axvline(pooled, color=BAYES, ls="--", lw=1, label="pooled (posterior median)")
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([f"{lab} ({int(e)}/{int(n)})" for lab, e, n in zip(order["label"], order["events"], order["n"], strict=True)], fontsize=8)
    _percent_axis(ax)
    ax.set_xlabel(f"{outcome}: observed (square) to shrunken (circle)")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def save(fig: plt.Figure, path) -> None:
    fig.savefig(path, dpi=fig.dpi, bbox_inches="tight")
    plt.close(fig)


def pooled_draws(tree: xr.DataTree, name: str) -> np.ndarray:
    return tree["posterior"][name].values.ravel()
