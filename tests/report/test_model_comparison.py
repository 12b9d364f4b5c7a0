"""LOO comparison table: PSIS-LOO against brute-force leave-one-out refits, and its checks.

The exact (quadrature) engines make brute force cheap: each study is left out, the model refitted
without it, and its log predictive density computed with scipy's beta-binomial pmf.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from bayes_anlo.models import BetaBinomial, CompletePooling, LogitNormal, SamplerSettings
from bayes_anlo.report.model_comparison import (
    LOO_COLUMNS,
    loo_caveat,
    loo_report_table,
    loo_table,
)
from tests.models._data import make_binary

EVENTS = np.array([3, 9, 4, 12, 7, 15, 5])
N = np.array([30, 25, 22, 40, 33, 41, 28])
EXACT = {"method": "exact", "sampler": SamplerSettings(draws=2000, chains=2)}


@pytest.fixture(scope="module")
def fits():
    data = make_binary(EVENTS, N)
    return {
        "beta-binomial": BetaBinomial(**EXACT).fit(data, random_seed=3),
        "logit-normal": LogitNormal(**EXACT).fit(data, random_seed=3),
        "complete pooling": CompletePooling(**EXACT).fit(data, random_seed=3),
    }


def brute_force_elpd(k_left: int) -> float:
    """log p(y_i | y_-i) of the beta-binomial, by refitting without study ``k_left``."""
    keep = np.arange(len(EVENTS)) != k_left
    fit = BetaBinomial(**EXACT).fit(make_binary(EVENTS[keep], N[keep]), random_seed=11)
    mu = fit["posterior"]["mu"].values.ravel()
    kappa = fit["posterior"]["kappa"].values.ravel()
    logp = stats.betabinom.logpmf(EVENTS[k_left], N[k_left], mu * kappa, (1 - mu) * kappa)
    return float(logsumexp(logp) - np.log(logp.size))


def test_psis_loo_matches_brute_force_leave_one_out(fits):
    table = loo_table(fits).set_index("model")
    brute = sum(brute_force_elpd(i) for i in range(len(EVENTS)))
    # PSIS approximates exact LOO; with all Pareto k good the sums agree to a few hundredths
    assert table.loc["beta-binomial", "bad_pareto_k"] == 0
    assert table.loc["beta-binomial", "elpd_loo"] == pytest.approx(brute, abs=0.1)


def test_table_ranks_models_and_reports_differences(fits):
    table = loo_table(fits)
    assert list(table.columns) == list(LOO_COLUMNS)
    assert sorted(table["rank"]) == [0, 1, 2]
    best = table.iloc[0]
    assert best["elpd_diff"] == 0 and best["elpd_loo"] == table["elpd_loo"].max()
    for _, row in table.iterrows():
        assert row["elpd_diff"] == pytest.approx(row["elpd_loo"] - best["elpd_loo"], abs=1e-9)
    assert table["weight"].sum() == pytest.approx(1.0)
    assert (table["k"] == len(EVENTS)).all()
    printed = loo_report_table(table)
    assert printed["elpd difference (SE)"].iloc[0] == "0 (best)"
    assert "Only 7 studies" in loo_caveat(table)


def test_complete_pooling_loses_on_overdispersed_studies():
    data = make_binary([2, 18, 4, 25, 7, 30, 5], N)  # rates 7% to 73%
    pair = {
        "beta-binomial": BetaBinomial(**EXACT).fit(data, random_seed=5),
        "complete pooling": CompletePooling(**EXACT).fit(data, random_seed=5),
    }
    table = loo_table(pair)
    assert list(table["model"]) == ["beta-binomial", "complete pooling"]
    assert table.iloc[1]["elpd_diff"] < -4 * table.iloc[1]["dse"]


def test_fits_to_different_data_are_refused(fits):
    other = BetaBinomial(**EXACT).fit(make_binary(EVENTS + 1, N), random_seed=3)
    with pytest.raises(ValueError, match="different data"):
        loo_table({"a": fits["beta-binomial"], "b": other})
    with pytest.raises(ValueError, match="at least two"):
        loo_table({"a": fits["beta-binomial"]})
