"""Funnel and Baujat plots of a frequentist meta-analysis (tables in, figures out).

Both draw tables made by :mod:`bayes_anlo.frequentist` and compute nothing:

* :func:`funnel_plot` takes :meth:`FunnelData.to_frame` (``label``, ``yi``, ``sei``), optionally
  :meth:`TrimFillResult.to_frame` (``filled`` marks imputed studies, drawn hollow) and the
  pseudo-confidence region :meth:`FunnelData.region` (``sei``, ``low``, ``high``), as
  ``metafor::funnel(yaxis="sei")`` draws it: effect on the x axis, standard error downwards;
* :func:`baujat_plot` takes :meth:`InfluenceResult.to_frame` (``label``, ``baujat_x`` the study's
  contribution to the heterogeneity statistic, ``baujat_y`` its influence on the pooled
  estimate), as ``metafor::baujat`` draws it (Baujat et al. 2002, Stat Med 21:2641).

With few studies both pictures say little (Sterne et al. 2011, BMJ 343:d4002, ask for at least
10 studies before reading a funnel plot); pass the caveat to print it under the figure.
:func:`funnel_tables` assembles the tables from the frequentist results.
"""

from __future__ import annotations

import textwrap

import matplotlib.figure
import numpy as np
import pandas as pd

from bayes_anlo.report.canvas import literal_text, new_figure, tight_layout

OBSERVED = "#333333"
POOLED = "#1f77b4"
ADJUSTED = "#d62728"


def funnel_tables(funnel, trimfill=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(studies, region)`` for :func:`funnel_plot` from a ``FunnelData`` and, optionally, a
    ``TrimFillResult`` of the same model (its rows replace the studies, filled ones marked)."""
    studies = funnel.to_frame()
    studies["filled"] = False
    if trimfill is not None:
        studies = trimfill.to_frame()[["label", "yi", "sei", "filled"]]
    return studies, funnel.region()


def _caption(ax, text: str, width: int = 70) -> None:
    if text:
        ax.text(
            0.0,
            -0.2,
            "\n".join(textwrap.wrap(text, width)),
            transform=ax.transAxes,
            fontsize=7.5,
            va="top",
            color="#444444",
        )


@literal_text
def funnel_plot(
    studies: pd.DataFrame,
    *,
    theta: float,
    region: pd.DataFrame | None = None,
    adjusted_theta: float | None = None,
    xlabel: str = "logit proportion",
    title: str = "",
    caveat: str = "",
    label_points: bool = True,
) -> matplotlib.figure.Figure:
    """Study effects (x) against their standard errors (y, 0 at the top), the pooled effect
    ``theta`` (solid line), the pseudo-confidence region and, after trim and fill, the filled
    studies (hollow) and the adjusted pooled effect (dashed)."""
    missing = [c for c in ("yi", "sei") if c not in studies]
    if missing:
        raise ValueError(f"funnel table lacks columns: {', '.join(missing)}")
    fig = new_figure(figsize=(5.2, 4.4 + (0.5 if caveat else 0.0)))
    ax = fig.subplots()
    if region is not None and len(region):
        ax.fill_betweenx(region["sei"], region["low"], region["high"], color="#eeeeee", lw=0)
        ax.plot(region["low"], region["sei"], color="#999999", lw=0.8, ls="--")
        ax.plot(region["high"], region["sei"], color="#999999", lw=0.8, ls="--")
    filled = (
        studies["filled"].astype(bool)
        if "filled" in studies
        else pd.Series(False, index=studies.index)
    )
    real = studies[~filled.to_numpy()]
    imputed = studies[filled.to_numpy()]
    ax.plot(real["yi"], real["sei"], "o", color=OBSERVED, ms=5, label="study")
    if len(imputed):
        ax.plot(
            imputed["yi"],
            imputed["sei"],
            "o",
            mfc="white",
            mec=OBSERVED,
            ms=5,
            label="filled (trim and fill)",
        )
    ax.axvline(theta, color=POOLED, lw=1.2, label="pooled estimate")
    if adjusted_theta is not None and np.isfinite(adjusted_theta):
        ax.axvline(
            adjusted_theta, color=ADJUSTED, lw=1.2, ls="--", label="adjusted (trim and fill)"
        )
    if label_points and "label" in studies:
        for _, row in real.iterrows():
            ax.annotate(
                str(row["label"]),
                (row["yi"], row["sei"]),
                xytext=(4, 2),
                textcoords="offset points",
                fontsize=6.5,
                color="#555555",
            )
    top = float(np.nanmax(studies["sei"].to_numpy(dtype=float)))
    ax.set_ylim(top * 1.08, 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("standard error")
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    _caption(ax, caveat)
    tight_layout(fig)
    return fig


@literal_text
def baujat_plot(
    influence: pd.DataFrame, *, title: str = "", caveat: str = ""
) -> matplotlib.figure.Figure:
    """Each study's contribution to heterogeneity (x) against its influence on the pooled
    estimate (y), labelled by study."""
    missing = [c for c in ("label", "baujat_x", "baujat_y") if c not in influence]
    if missing:
        raise ValueError(f"Baujat table lacks columns: {', '.join(missing)}")
    fig = new_figure(figsize=(5.2, 4.2 + (0.5 if caveat else 0.0)))
    ax = fig.subplots()
    ax.plot(influence["baujat_x"], influence["baujat_y"], "o", color=OBSERVED, ms=5)
    for _, row in influence.iterrows():
        ax.annotate(
            str(row["label"]),
            (row["baujat_x"], row["baujat_y"]),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=7,
        )
    ax.set_xlabel("contribution to overall heterogeneity")
    ax.set_ylabel("influence on the pooled result")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    _caption(ax, caveat)
    tight_layout(fig)
    return fig
