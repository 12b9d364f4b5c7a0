"""The survival-curve figure of a survival analysis (posterior band, reported summaries).

Kept apart from :mod:`bayes_anlo.report.plots` (figures of binary outcomes); takes tidy tables and
returns a matplotlib Figure, like every figure function of the report.
"""

from __future__ import annotations

import matplotlib
import matplotlib.figure
import numpy as np
import pandas as pd

from bayes_anlo.report.canvas import literal_text, new_figure, tight_layout
from bayes_anlo.report.plots import BAYES, OBSERVED, PUBLISHED, _percent_axis

#: Y-axis label per endpoint (OS is survival, not "event-free").
ENDPOINT_AXIS = {
    "OS": "overall survival (proportion alive)",
    "PFS": "progression-free survival (proportion)",
    "EFS": "event-free survival (proportion)",
    "DFS": "disease-free survival (proportion)",
}
KM_COLOUR = "#222222"
BEYOND_COLOUR = "#999999"


def endpoint_axis_label(endpoint: str) -> str:
    """Y-axis label of a survival curve of ``endpoint`` (OS: proportion alive)."""
    return ENDPOINT_AXIS.get(str(endpoint).upper(), f"{endpoint}: proportion without the event")


def _has_interval(low, high) -> bool:
    return bool(np.isfinite(np.asarray([low, high], dtype=float)).all())


@literal_text
def survival_plot(
    band: pd.DataFrame,
    reported: pd.DataFrame,
    *,
    title: str,
    endpoint: str,
    informed_until: float | None = None,
    observed_km: pd.DataFrame | None = None,
) -> matplotlib.figure.Figure:
    """Posterior survival curve (median, 95% band) and a new study's 95% band, with the reported
    medians (at 50%) and landmark rates drawn over them.

    ``informed_until``: the last time the data inform; a later part of the plotted range is shaded
    and labelled as extrapolated (informed by the prior and the last interval's hazard only).
    ``observed_km``: an observed or reconstructed Kaplan-Meier table (columns ``time``,
    ``survival`` and ``group`` or ``arm``), drawn as step curves under the posterior band. A
    legend entry says "95% CI" only when a reported number came with a CI.
    """
    fig = new_figure(figsize=(7.5, 4.2), dpi=110)
    ax = fig.add_subplot()
    groups = list(dict.fromkeys(band["group"])) if "group" in band else [""]
    single = len(groups) == 1
    colours = [BAYES] if single else list(matplotlib.colormaps["tab10"].colors)
    if observed_km is not None and len(observed_km):
        km = (
            observed_km.rename(columns={"arm": "group"})
            if "group" not in observed_km
            else observed_km
        )
        km_groups = list(dict.fromkeys(km["group"])) if "group" in km else [""]
        for k, g in enumerate(km_groups):
            part = km[km["group"] == g] if "group" in km else km
            part = part.sort_values("time", kind="stable")
            t = np.concatenate([[0.0], part["time"].to_numpy(dtype=float)])
            s_ = np.concatenate([[1.0], part["survival"].to_numpy(dtype=float)])
            c = KM_COLOUR if single or g not in groups else colours[groups.index(g) % len(colours)]
            ax.step(
                t,
                s_,
                where="post",
                color=c,
                lw=1.1,
                ls="-" if single else "--",
                zorder=1,
                label="Kaplan-Meier (data)" if k == 0 else None,
            )
    for k, g in enumerate(groups):
        part = band[band["group"] == g] if "group" in band else band
        c = colours[k % len(colours)]
        if single:  # a new study's band only where it does not clutter several curves
            ax.fill_between(
                part["time"],
                part["new_study_low"],
                part["new_study_high"],
                color=c,
                alpha=0.10,
                label="new study, 95% predictive band",
                zorder=2,
            )
        ax.fill_between(
            part["time"],
            part["typical_low"],
            part["typical_high"],
            color=c,
            alpha=0.28 if single else 0.15,
            label="typical study, 95% credible band" if single else None,
            zorder=2,
        )
        ax.plot(
            part["time"],
            part["typical_median"],
            color=c,
            lw=2,
            zorder=3,
            label="posterior median curve" if single else f"{g}: posterior median (95% band)",
        )
    med = reported[reported["kind"] == "median"]
    med_ci = any(_has_interval(r.time_low, r.time_high) for r in med.itertuples(index=False))
    for i, r in enumerate(med.itertuples(index=False)):
        if _has_interval(r.time_low, r.time_high):
            ax.plot([r.time_low, r.time_high], [0.5, 0.5], color=OBSERVED, lw=1.5, zorder=4)
        ax.plot(
            r.time,
            0.5,
            "D",
            color=OBSERVED,
            ms=5,
            zorder=4,
            label=("reported median (95% CI)" if med_ci else "reported median") if i == 0 else None,
        )
    land = reported[reported["kind"] == "landmark"]
    land_ci = any(
        _has_interval(r.survival_low, r.survival_high) for r in land.itertuples(index=False)
    )
    for i, r in enumerate(land.itertuples(index=False)):
        if _has_interval(r.survival_low, r.survival_high):
            ax.plot(
                [r.time, r.time],
                [r.survival_low, r.survival_high],
                color=PUBLISHED,
                lw=1.5,
                zorder=4,
            )
        ax.plot(
            r.time,
            r.survival,
            "o",
            color=PUBLISHED,
            ms=5,
            zorder=4,
            label=("reported landmark (95% CI)" if land_ci else "reported landmark")
            if i == 0
            else None,
        )
    ax.axhline(0.5, color="#bbbbbb", lw=0.8, ls=":")
    right = float(band["time"].max())
    not_reached = [
        g
        for g in groups
        if float((band[band["group"] == g] if "group" in band else band)["typical_median"].iloc[-1])
        > 0.5
    ]
    if not_reached:  # a posterior median after the plotted range is beyond the data or the horizon
        who = "" if single else ", ".join(str(g) for g in not_reached) + ": "
        ax.text(
            right,
            0.47,
            f"{who}median after {right:g} months (extrapolated) ",
            fontsize=7.5,
            color="#555555",
            ha="right",
            va="top",
        )
    if informed_until is not None and np.isfinite(informed_until) and informed_until < right:
        ax.axvspan(
            informed_until,
            right,
            facecolor=BEYOND_COLOUR,
            alpha=0.18,
            hatch="//",
            edgecolor="#bbbbbb",
            lw=0,
            zorder=0,
            label=f"after {informed_until:.3g} months: no data, extrapolated",
        )
        ax.axvline(informed_until, color=BEYOND_COLOUR, lw=1, ls="--", zorder=0)
        ax.text(
            informed_until,
            0.02,
            " extrapolated",
            fontsize=7.5,
            color="#555555",
            va="bottom",
            ha="left",
        )
    # room for points reported at the horizon itself, and for the whole of every reported median and
    # its CI (a CI reaching past the horizon was cut at the frame with nothing to show it continued)
    reported_right = [v for v in (*med["time"], *med["time_high"], *land["time"]) if np.isfinite(v)]
    ax.set_xlim(0, 1.03 * max([right, *reported_right]))
    ax.set_ylim(0, 1.02)
    _percent_axis(ax, "y")
    ax.set_xlabel("months since start of treatment")
    ax.set_ylabel(endpoint_axis_label(endpoint))
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper right")
    tight_layout(fig)
    return fig
