"""Posterior predictive checks: well-specified data give unremarkable p-values, data built to
break the model give extreme ones. Fits of the same structure re-use one compiled model
(``PiecewiseExponential.refit``)."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_anlo.checks.survival_ppc import events_check, km_check, summary_check
from bayes_anlo.data.survival import load_summaries
from bayes_anlo.models.piecewise_exponential import PiecewiseExponential
from bayes_anlo.models.sampling import SamplerSettings
from bayes_anlo.survival.simulate import PiecewiseExponentialTruth, WeibullTruth, simulate_patients

SMALL = SamplerSettings(draws=400, tune=500, chains=2)


@pytest.fixture(scope="module")
def constant_hazard_fits():
    """A constant-hazard model (one interval) fitted to exponential data and to data whose hazard
    rises steeply (Weibull shape 3), same number of patients."""
    model = PiecewiseExponential(cuts=(0.0,), hierarchical=False, sampler=SMALL)
    rng = np.random.default_rng(17)
    good = simulate_patients(
        rng, 200, PiecewiseExponentialTruth((0.0,), (0.1,)), accrual=12, followup=12
    )
    bad = simulate_patients(rng, 200, WeibullTruth(3.0, 8.0), accrual=12, followup=12)
    return (model.refit(good, random_seed=1), good), (model.refit(bad, random_seed=2), bad)


def test_km_check_on_well_specified_data(constant_hazard_fits):
    (fit, data), _ = constant_hazard_fits
    check = km_check(fit, data, draws=150, random_seed=3)
    assert check.coverage > 0.8
    assert 0.05 < check.sup_p_value <= 1.0
    frame = check.to_frame()
    assert len(frame) == check.grid.size and frame["inside"].mean() == pytest.approx(check.coverage)
    assert np.all(check.lower <= check.upper)
    # events per interval: one interval, observed events within the predictive range
    table = events_check(fit)
    assert len(table) == 1 and 0.05 < table["p_value"].iloc[0] < 0.95


def test_km_check_flags_a_hazard_the_model_cannot_follow(constant_hazard_fits):
    _, (fit, data) = constant_hazard_fits
    check = km_check(fit, data, draws=150, random_seed=3)
    assert check.sup_p_value < 0.01
    assert check.coverage < 0.5


HEADER = "study,arm,endpoint,quantity,value,ci_low,ci_high,time,unit,source\n"


def summaries(tmp_path, median, s6, s12, events, name):
    text = HEADER + (
        f"S,,PFS,median,{median[0]},{median[1]},{median[2]},,months,\n"
        f"S,,PFS,landmark,{s6[0]},{s6[1]},{s6[2]},6,,\n"
        f"S,,PFS,landmark,{s12[0]},{s12[1]},{s12[2]},12,,\n"
        f"S,,PFS,events,{events},,,,,\nS,,,patients,60,,,,,\nS,,,median_followup,20,14,26,,months,\n"
    )
    path = tmp_path / name
    path.write_text(text)
    return load_summaries(path)


def test_summary_check_separates_consistent_from_contradictory_summaries(tmp_path):
    model = PiecewiseExponential(cuts=(0.0, 6.0, 12.0, 20.0), hierarchical=False, sampler=SMALL)
    # consistent with a constant hazard 0.1/month: median 6.9, S(6) = 0.55, S(12) = 0.30
    ok = summaries(tmp_path, (6.9, 5.2, 9.1), (0.55, 0.42, 0.66), (0.30, 0.19, 0.42), 42, "ok.csv")
    # a median of 3 months cannot go with 70% alive at 6 months
    bad = summaries(
        tmp_path, (3.0, 2.4, 3.8), (0.70, 0.57, 0.80), (0.30, 0.19, 0.42), 42, "bad.csv"
    )
    good_table = summary_check(model.refit(ok, random_seed=1))
    bad_table = summary_check(model.refit(bad, random_seed=1))
    assert list(good_table["term"]) == [
        "median",
        "landmark",
        "landmark",
        "events_after",
        "km_joint",
    ]
    assert good_table["p_two_sided"].min() > 0.1
    joint = {
        name: t.loc[t["term"] == "km_joint", "p_value"].iloc[0]
        for name, t in (("good", good_table), ("bad", bad_table))
    }
    assert joint["good"] > 0.1
    assert joint["bad"] < 0.02
    med = good_table[good_table["term"] == "median"].iloc[0]
    assert med["observed"] == pytest.approx(6.9)
    assert med["predicted_low"] < 6.9 < med["predicted_high"]


def test_event_counts_are_integers_in_the_summary_check_table():
    import pandas as pd

    from bayes_anlo.checks.survival_ppc import counts_as_integers

    frame = pd.DataFrame(
        {
            "term": ["median", "events_after"],
            "observed": [6.9, 12.0],
            "predicted_median": [7.1, 11.0],
            "predicted_low": [5.0, 6.0],
            "predicted_high": [9.2, 17.0],
        }
    )
    out = counts_as_integers(frame)
    assert [type(v) for v in out["observed"]] == [float, int]
    assert out.loc[1, "predicted_high"] == 17 and isinstance(out.loc[1, "predicted_high"], int)
    assert out.loc[0, "predicted_low"] == pytest.approx(5.0)
    np.testing.assert_allclose(
        out["observed"].to_numpy(dtype=float), [6.9, 12.0]
    )  # still numeric for figures
