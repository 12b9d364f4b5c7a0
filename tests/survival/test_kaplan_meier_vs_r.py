"""Kaplan-Meier, Greenwood SE, bands, quantiles with CIs and the log-rank test against R.

Reference values: tests/reference/survival/*.csv, made by tests/reference/make_reference_survival.R
(R survival 3.5-3): ``survfit(Surv(time, event) ~ 1, conf.type = ct)``, ``quantile(fit, c(.25, .5,
.75))`` (what print.survfit shows for the median and its CI), ``summary(fit, times = ...)`` and
``survdiff(Surv(time, event) ~ group, rho = 0 / 1)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_anlo.frequentist.kaplan_meier import (
    CONF_TYPES,
    kaplan_meier,
    log_rank,
    reverse_kaplan_meier,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "survival"
DATASETS = ["lung", "veteran", "simties", "heavycens", "flathalf", "endhalf", "tozero"]
RTOL = 1e-6


def data(name):
    return pd.read_csv(REF / f"data_{name}.csv")


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_survfit_table_matches_r(name, conf_type):
    d = data(name)
    ref = pd.read_csv(REF / f"km_{name}.csv")
    ref = ref[ref["conf_type"] == conf_type]
    km = kaplan_meier(d["time"], d["event"], conf_type=conf_type)
    np.testing.assert_allclose(km.time, ref["time"], rtol=RTOL)
    np.testing.assert_array_equal(km.n_risk, ref["n_risk"])
    np.testing.assert_array_equal(km.n_event, ref["n_event"])
    np.testing.assert_array_equal(km.n_censor, ref["n_censor"])
    np.testing.assert_allclose(km.survival, ref["surv"], rtol=RTOL)
    np.testing.assert_allclose(km.std_err, ref["std_err"], rtol=RTOL)  # Inf where S = 0
    np.testing.assert_allclose(km.lower, ref["lower"], rtol=RTOL, equal_nan=True)
    np.testing.assert_allclose(km.upper, ref["upper"], rtol=RTOL, equal_nan=True)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_quantiles_and_brookmeyer_crowley_limits_match_r(name, conf_type):
    d = data(name)
    ref = pd.read_csv(REF / f"median_{name}.csv")
    ref = ref[ref["conf_type"] == conf_type]
    km = kaplan_meier(d["time"], d["event"], conf_type=conf_type)
    for _, r in ref.iterrows():
        q = km.quantile(r["p"])
        np.testing.assert_allclose(
            [q.estimate, q.lower, q.upper],
            r[["estimate", "lower", "upper"]].astype(float),
            rtol=RTOL,
            equal_nan=True,
            err_msg=f"{name} {conf_type} p={r['p']}",
        )


def test_median_conventions_flat_stretch_and_end_at_one_half():
    # R: S = 0.5 from t = 5 to t = 8 gives the median (5 + 8) / 2; a curve that ends at 0.5 gives
    # the midpoint of the last drop and the end of follow-up (both in the reference files too)
    flat = data("flathalf")
    assert kaplan_meier(flat["time"], flat["event"]).median().estimate == 6.5
    end = data("endhalf")
    assert kaplan_meier(end["time"], end["event"]).median().estimate == 8.5


@pytest.mark.parametrize("name", DATASETS)
def test_survival_at_times_matches_summary_survfit(name):
    d = data(name)
    ref = pd.read_csv(REF / f"at_{name}.csv")
    km = kaplan_meier(d["time"], d["event"])
    out = km.survival_at(ref["time"])
    np.testing.assert_allclose(out["survival"], ref["surv"], rtol=RTOL)
    np.testing.assert_allclose(out["std_err"], ref["std_err"], rtol=RTOL, equal_nan=True)
    np.testing.assert_allclose(out["ci_low"], ref["lower"], rtol=RTOL, equal_nan=True)
    np.testing.assert_allclose(out["ci_high"], ref["upper"], rtol=RTOL, equal_nan=True)
    np.testing.assert_array_equal(out["n_risk"], ref["n_risk"])


def test_survival_beyond_follow_up_is_missing_unless_extended():
    d = data("lung")
    km = kaplan_meier(d["time"], d["event"])
    assert np.isnan(km.survival_at([5000])["survival"].iloc[0])
    assert km.survival_at([5000], extend=True)["survival"].iloc[0] == km.survival[-1]


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("rho", [0, 1])
def test_log_rank_matches_survdiff(name, rho):
    d = data(name)
    ref = pd.read_csv(REF / f"logrank_{name}.csv")
    ref = ref[ref["rho"] == rho]
    res = log_rank(d["time"], d["event"], d["group"], rho=rho)
    assert res.groups == ref["group"].tolist()
    np.testing.assert_allclose(res.observed, ref["observed"], rtol=RTOL)
    np.testing.assert_allclose(res.expected, ref["expected"], rtol=RTOL)
    np.testing.assert_allclose(np.diag(res.variance), ref["var_diag"], rtol=RTOL)
    assert res.chisq == pytest.approx(ref["chisq"].iloc[0], rel=RTOL)
    assert res.df == ref["df"].iloc[0]
    assert res.p_value == pytest.approx(ref["p_value"].iloc[0], rel=1e-5)


def test_reverse_km_median_is_the_median_potential_follow_up():
    # no events at all: the reverse KM is the KM of the censoring times themselves
    rng = np.random.default_rng(3)
    t = rng.uniform(12, 24, 2001)
    fu = reverse_kaplan_meier(t, np.zeros(t.size, dtype=int)).median().estimate
    assert fu == pytest.approx(np.median(t))


def test_to_frame_has_one_row_per_time():
    d = data("veteran")
    frame = kaplan_meier(d["time"], d["event"]).to_frame()
    assert len(frame) == d["time"].nunique()
    np.testing.assert_allclose(frame["se_survival"], frame["survival"] * frame["std_err"])
