"""``ba.report.summary(fit)`` and ``ba.report.forest(fit)``: one call each, as README shows."""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest

import bayes_anlo as ba
from bayes_anlo import frequentist as fq
from bayes_anlo.models import BetaBinomial, NestedBetaBinomial
from bayes_anlo.models.sampling import SamplerSettings
from tests.models._data import make_binary

EVENTS, N = [3, 8, 0, 12, 5], [30, 41, 18, 52, 25]


@pytest.fixture(scope="module")
def fit():
    data = make_binary(EVENTS, N)
    return BetaBinomial(method="exact", sampler=SamplerSettings(chains=2, draws=500)).fit(
        data, random_seed=1
    )


def test_summary_is_a_dataframe_of_posterior_medians_and_intervals(fit):
    table = ba.report.summary(fit)
    assert isinstance(table, pd.DataFrame)
    row = table.set_index("variable").loc["pooled_rate"]
    draws = fit["posterior"]["pooled_rate"].values.ravel()
    assert np.isclose(row["median"], np.median(draws)) and np.isclose(
        row["ci_low"], np.quantile(draws, 0.025)
    )
    assert row["description"] == "Population mean rate (pooled)"
    assert {"kappa", "icc", "predictive_rate", "study_rate"} <= set(table["variable"])


def test_forest_is_one_call_and_draws_studies_and_pooled_rows(fit):
    fig = ba.report.forest(fit, title="five studies")
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[:5] == [
        f"S0{i + 1}  {e}/{n}" for i, (e, n) in enumerate(zip(EVENTS, N, strict=True))
    ]
    assert "PLO-REML (frequentist)" in ticks and "PFT-DL (frequentist)" in ticks
    assert ax.get_title() == "five studies"
    # the PLO-REML diamond is centred where metafor's estimate is (computed separately here)
    reml = fq.pool_proportions(np.array(EVENTS), np.array(N), transform="logit", method="REML")
    y = len(ticks) - 1 - ticks.index("PLO-REML (frequentist)")
    diamonds = [p for p in ax.patches if np.isclose(p.get_xy()[:, 1].mean(), y, atol=0.01)]
    assert diamonds and np.isclose(diamonds[0].get_xy()[1, 0], reml.estimate)


def test_forest_of_a_nested_fit_groups_studies_by_subgroup():
    data = make_binary(
        [3, 8, 2, 12], [30, 41, 18, 52], subgroup=["soft $", "bone", "cartilage", "other"]
    )
    tree = NestedBetaBinomial(method="exact", sampler=SamplerSettings(chains=2, draws=500)).fit(
        data, random_seed=2
    )
    fig = ba.report.forest(tree)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks[:2] == ["soft $ (single study)", "S01  3/30"]
    assert ticks.count("  nested-beta-binomial: subgroup mean (Bayesian)") == 4
    assert "Test for subgroup differences" in fig.axes[0].get_xlabel()


def test_forest_refuses_what_it_cannot_draw():
    with pytest.raises(TypeError):
        ba.report.forest(pd.DataFrame())
