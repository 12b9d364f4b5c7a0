"""Funnel and Baujat plots draw the frequentist results' coordinates, literally, untracked."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pytest

from bayes_anlo import frequentist as fq
from bayes_anlo.report.diagnostic_plots import baujat_plot, funnel_plot, funnel_tables

LABELS = ["Li 2020 ($$)", "a_b^c", "<b>x</b>", "Wu", "Xu", "Zhao", "Qin", "Cai"]
# an asymmetric set: the small studies report the high rates
EVENTS = np.array([14, 12, 9, 20, 18, 30, 11, 25])
N = np.array([20, 18, 15, 80, 75, 130, 45, 110])


def texts(fig):
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def xy(line):
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def test_funnel_draws_effects_against_standard_errors_with_filled_studies():
    funnel = fq.funnel_data(EVENTS, N, labels=LABELS)
    trimfill = fq.trim_and_fill(EVENTS, N, labels=LABELS)
    studies, region = funnel_tables(funnel, trimfill)
    before = plt.get_fignums()
    fig = funnel_plot(
        studies,
        theta=funnel.theta,
        region=region,
        adjusted_theta=trimfill.theta,
        caveat=trimfill.caveat,
    )
    assert plt.get_fignums() == before
    ax = fig.axes[0]
    points = [line for line in ax.get_lines() if line.get_marker() == "o"]
    x, y = xy(points[0])
    # escalc(measure="PLO"): logit(x/n) and sqrt(1/x + 1/(n-x)), no zero cells here
    np.testing.assert_allclose(np.sort(x), np.sort(np.log(EVENTS / (N - EVENTS))))
    np.testing.assert_allclose(np.sort(y), np.sort(np.sqrt(1 / EVENTS + 1 / (N - EVENTS))))
    assert trimfill.k0 >= 1  # asymmetric data: studies are filled on the left
    assert len(points) == 2 and len(points[1].get_xdata()) == trimfill.k0
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # standard error grows downwards
    drawn = texts(fig)
    assert "Li 2020 ($$)" in drawn and "<b>x</b>" in drawn
    assert any("fewer than 10 studies" in t.replace("\n", " ") for t in drawn)


def test_baujat_draws_the_influence_coordinates():
    influence = fq.influence_diagnostics(EVENTS, N, labels=LABELS).to_frame()
    fig = baujat_plot(influence, caveat="few studies")
    x, y = xy(fig.axes[0].get_lines()[0])
    np.testing.assert_allclose(x, influence["baujat_x"])
    np.testing.assert_allclose(y, influence["baujat_y"])
    # the x coordinate is each study's squared standardized residual under the fitted model
    fit = fq.pool_proportions(EVENTS, N, transform="logit", method="REML")
    yi, vi = np.log(EVENTS / (N - EVENTS)), 1 / EVENTS + 1 / (N - EVENTS)
    np.testing.assert_allclose(x, (yi - fit.theta) ** 2 / (vi + fit.tau2), rtol=1e-8)
    assert "a_b^c" in texts(fig)


def test_tables_without_the_coordinates_are_refused():
    import pandas as pd

    with pytest.raises(ValueError, match="lacks columns: sei"):
        funnel_plot(pd.DataFrame({"yi": [0.1]}), theta=0.0)
    with pytest.raises(ValueError, match="baujat_x"):
        baujat_plot(pd.DataFrame({"label": ["a"]}))
