"""Checks of the tau^2 machinery that do not need R: the defining equations of the estimators and
the Q-profile limits, R's root finder against scipy, funnel data, and bad input (InputError with
located messages, never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from bayes_anlo.data.binary import load_binary
from bayes_anlo.errors import InputError
from bayes_anlo.frequentist import (
    cumulative_meta_analysis,
    funnel_data,
    influence_diagnostics,
    meta_regression,
    regression_test,
)
from bayes_anlo.frequentist.pooling import escalc
from bayes_anlo.frequentist.root_finding import RootNotBracketed, r_uniroot
from bayes_anlo.frequentist.tau2 import estimate_tau2, generalised_q, q_profile_ci

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "meta_extended.json").read_text()
)
PRITZ = REF["datasets"]["pritz1997"]


def _yv(name="pritz1997", transform="logit"):
    d = REF["datasets"][name]
    return escalc(d["events"], d["n"], transform)


def test_paule_mandel_solves_q_equals_k_minus_1_to_uniroots_tolerance():
    y, v = _yv()
    tau2 = estimate_tau2(y, v, method="PM").tau2
    exact = optimize.brentq(
        lambda t: generalised_q(t, y, v, np.ones((y.size, 1))) - (y.size - 1), 0, 100, xtol=1e-14
    )
    assert tau2 == pytest.approx(exact, abs=1.3e-4)  # uniroot's tol = eps^0.25


def test_reml_and_ml_are_maxima_of_their_likelihoods():
    y, v = _yv("large_het")

    def loglik(t, reml):
        w = 1 / (v + t)
        mu = np.sum(w * y) / np.sum(w)
        ll = -0.5 * np.sum(np.log(v + t)) - 0.5 * np.sum(w * (y - mu) ** 2)
        return ll - 0.5 * np.log(np.sum(w)) if reml else ll

    for method, reml in (("REML", True), ("ML", False)):
        best = optimize.minimize_scalar(
            lambda t, reml=reml: -loglik(t, reml),
            bounds=(0, 10),
            method="bounded",
            options={"xatol": 1e-10},
        ).x
        assert estimate_tau2(y, v, method=method).tau2 == pytest.approx(best, rel=1e-4)


def test_q_profile_limits_solve_the_chi_square_equations():
    y, v = _yv("large_het")
    ci = q_profile_ci(y, v, tau2=estimate_tau2(y, v, method="REML").tau2)
    X = np.ones((y.size, 1))
    df = y.size - 1
    assert generalised_q(ci.tau2_low, y, v, X) == pytest.approx(stats.chi2.isf(0.025, df), rel=1e-3)
    assert generalised_q(ci.tau2_high, y, v, X) == pytest.approx(
        stats.chi2.ppf(0.025, df), rel=1e-3
    )
    assert ci.tau2_low < ci.tau2 < ci.tau2_high and ci.i2_low < ci.i2 < ci.i2_high


def test_q_profile_interval_of_homogeneous_data_starts_at_zero():
    d = {"events": [10, 11, 12, 10, 13], "n": [40, 42, 45, 41, 47]}
    y, v = escalc(d["events"], d["n"], "logit")
    ci = q_profile_ci(y, v, tau2=0.0)
    assert ci.tau2_low == 0.0 and ci.i2_low == 0.0


def test_r_uniroot_finds_roots_like_brent_and_refuses_unbracketed_ones():
    f = lambda x: np.cos(x) - x  # noqa: E731
    assert r_uniroot(f, 0, 1, tol=1e-12) == pytest.approx(optimize.brentq(f, 0, 1), abs=1e-11)
    with pytest.raises(RootNotBracketed):
        r_uniroot(lambda x: x**2 + 1, -1, 1)


def test_funnel_data_are_the_study_effects_and_the_pooled_line():
    fd = funnel_data(PRITZ["events"], PRITZ["n"], transform="logit", method="REML")
    y, v = _yv()
    np.testing.assert_allclose(fd.yi, y)
    np.testing.assert_allclose(fd.sei, np.sqrt(v))
    assert fd.theta == pytest.approx(REF["pooling"]["pritz1997/logit/REML/z"]["theta"], rel=1e-6)
    region = fd.region(5)
    np.testing.assert_allclose(region["high"] - fd.theta, stats.norm.isf(0.025) * region["sei"])
    assert list(fd.to_frame().columns) == ["label", "yi", "sei", "n"]


def _binary(rows, extra=None):
    frame = pd.DataFrame(rows, columns=["study", "events", "n"])
    frame["outcome"] = "ORR"
    for key, values in (extra or {}).items():
        frame[key] = values
    return load_binary(frame, label="studies.csv")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["2019", "", "2020", "2021"], "has no year value"),
        (["2020", "2020", "2020", "2020"], "takes one value in every study"),
        (["a", "a", "a", "a"], "has one level"),
    ],
)
def test_meta_regression_bad_moderators_are_input_errors(values, message):
    data = _binary([("A", 3, 20), ("B", 5, 30), ("C", 9, 25), ("D", 4, 40)], {"year": values})
    with pytest.raises(InputError) as info:
        meta_regression(data, "year")
    assert message in str(info.value) and "studies.csv" in str(info.value)


def test_meta_regression_on_a_missing_column_names_it():
    data = _binary([("A", 3, 20), ("B", 5, 30), ("C", 9, 25), ("D", 4, 40)])
    with pytest.raises(InputError, match="no column 'dose' for the moderator"):
        meta_regression(data, "dose")


def test_too_few_studies_are_input_errors():
    with pytest.raises(InputError, match="at least 3 studies"):
        influence_diagnostics([1, 2], [10, 12])
    with pytest.raises(InputError, match="at least 3 studies"):
        regression_test([1, 2], [10, 12])
    data = _binary([("A", 3, 20), ("B", 5, 30), ("C", 9, 25)], {"year": ["1", "2", "3"]})
    with pytest.raises(InputError, match="too few"):
        meta_regression(data, "year")


def test_cumulative_orders_by_a_column_and_ends_at_the_full_pooled_result():
    data = _binary(
        [("A", 3, 20), ("B", 5, 30), ("C", 9, 25), ("D", 4, 40)],
        {"year": ["2003", "2001", "2002", "2001"]},
    )
    res = cumulative_meta_analysis(data, order="year")
    assert list(res.frame["added"]) == ["B", "D", "C", "A"]  # ties keep the data's order
    from bayes_anlo.frequentist import pool_proportions

    full = pool_proportions(data, transform="logit", method="REML")
    last = res.frame.iloc[-1]
    assert last["estimate"] == pytest.approx(full.estimate, rel=1e-12)
    assert last["tau2"] == pytest.approx(full.tau2, rel=1e-12, abs=1e-15)
    with pytest.raises(InputError, match="no column 'when'"):
        cumulative_meta_analysis(data, order="when")
