"""The survival-curve figure of a survival analysis (posterior band, reported summaries).

Kept apart from :mod:`bayes_anlo.report.plots` (figures of binary outcomes); takes tidy tables and
returns a matplotlib Figure, like every figure function of the report.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayes_anlo.report.plots import BAYES, OBSERVED, PUBLISHED, _percent_axis


def survival_plot(band: pd.DataFrame, reported: pd.DataFrame, *, title: str, endpoint: str) -> plt.Figure:
    """Posterior survival curve (median, 95% band) and a new study's 95% band, with the reported
    medians (with CIs, at 50%) and landmark rates (with CIs) drawn over them."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    groups = list(dict.fromkeys(band["group"])) if "group" in band else [""]
    single = len(groups) == 1
    colours = [BAYES] if single else list(matplotlib.colormaps["tab10"].colors)
    for k, g in enumerate(groups):
        part = band[band["group"] == g] if "group" in band else band
        c = colours[k % len(colours)]
        if single:  # a new study's band only where it does not clutter several curves
            ax.fill_between(part["time"], part["new_study_low"], part["new_study_high"], color=c, alpha=0.10,
                            label="new study, 95% predictive band")
        ax.fill_between(part["time"], part["typical_low"], part["typical_high"], color=c, alpha=0.28 if single else 0.15,
                        label="typical study, 95% credible band" if single else None)
        ax.plot(part["time"], part["typical_median"], color=c, lw=2,
                label="posterior median curve" if single else f"{g}: posterior median (95% band)")
    med = reported[reported["kind"] == "median"]
    for i, r in enumerate(med.itertuples(index=False)):
        if not np.isnan(r.time_low):
            ax.plot([r.time_low, r.time_high], [0.5, 0.5], color=OBSERVED, lw=1.5)
        ax.plot(r.time, 0.5, "D", color=OBSERVED, ms=5, label="reported median (95% CI)" if i == 0 else None)
    land = reported[reported["kind"] == "landmark"]
    for i, r in enumerate(land.itertuples(index=False)):
        if not np.isnan(r.survival_low):
            ax.plot([r.time, r.time], [r.survival_low, r.survival_high], color=PUBLISHED, lw=1.5)
        ax.plot(r.time, r.survival, "o", color=PUBLISHED, ms=5, label="reported landmark (95% CI)" if i == 0 else None)
    ax.axhline(0.5, color="#bbbbbb", lw=0.8, ls=":")
    ax.set_xlim(0, float(band["time"].max()))
    ax.set_ylim(0, 1.02)
    _percent_axis(ax, "y")
    ax.set_xlabel("months since start of treatment")
    ax.set_ylabel(f"{endpoint}: probability event-free")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper right")
    fig.tight_layout()
    return fig
