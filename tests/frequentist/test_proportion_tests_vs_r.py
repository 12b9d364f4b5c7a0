"""intervals.py and two_group.py against R stats (proportions_intervals.json,
proportions_two_group.json): binom.test, prop.test(correct = FALSE), t.test on a 0/1 vector,
fisher.test, chisq.test(correct = TRUE/FALSE), and the Wald / Agresti-Coull / Jeffreys formulas
evaluated in R (qnorm, qbeta)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayes_anlo.frequentist import chi_square, fisher_exact, proportion_ci, risk_difference

REF = Path(__file__).resolve().parents[1] / "reference"
INTERVALS = json.loads((REF / "proportions_intervals.json").read_text())["results"]
TWO = json.loads((REF / "proportions_two_group.json").read_text())["results"]
METHOD = {
    "clopper_pearson": "clopper-pearson",
    "wilson": "wilson",
    "spss_t": "spss-t",
    "wald": "wald",
    "agresti_coull": "agresti-coull",
    "jeffreys": "jeffreys",
}


def _arr(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.mark.parametrize("level_key", ["level_95", "level_90"])
@pytest.mark.parametrize("ref_name", list(METHOD))
def test_intervals_match_r(level_key, ref_name):
    x = np.array(INTERVALS["cases"]["events"])
    n = np.array(INTERVALS["cases"]["n"])
    ref = INTERVALS[level_key]
    ci = proportion_ci(x, n, METHOD[ref_name], ref["level"])
    low, high = _arr(ref[ref_name]["low"]), _arr(ref[ref_name]["high"])
    have = ~np.isnan(low)
    if ref_name == "spss_t":
        # t.test does not truncate; intervals.py truncates to [0, 1] (documented). R gives no
        # interval for 0/n or n/n (constant data), nor for n = 1.
        low, high = np.clip(low, 0, 1), np.clip(high, 0, 1)
        assert have.sum() >= 8
    np.testing.assert_allclose(ci.ci_low[have], low[have], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ci.ci_high[have], high[have], rtol=1e-9, atol=1e-12)


def test_spss_t_without_truncation_would_go_below_zero():
    """The reference shows where truncation matters: 1/10 has a negative t-interval lower bound."""
    cases = INTERVALS["cases"]
    i = [
        j
        for j, (e, m) in enumerate(zip(cases["events"], cases["n"], strict=True))
        if (e, m) == (1, 10)
    ][0]
    assert INTERVALS["level_95"]["spss_t"]["low"][i] < 0
    assert proportion_ci(1, 10, "spss-t").ci_low[0] == 0.0


@pytest.mark.parametrize("i", range(len(TWO["rows"])))
def test_two_group_matches_r(i):
    c = TWO["cases"]
    e1, n1, e2, n2 = (c[key][i] for key in ("e1", "n1", "e2", "n2"))
    ref = TWO["rows"][i]
    assert fisher_exact(e1, n1, e2, n2).p_value == pytest.approx(ref["fisher_p"], rel=1e-9)
    assert fisher_exact(e1, n1, e2, n2, "less").p_value == pytest.approx(
        ref["fisher_p_less"], rel=1e-9
    )
    assert fisher_exact(e1, n1, e2, n2, "greater").p_value == pytest.approx(
        ref["fisher_p_greater"], rel=1e-9
    )
    for correct, key in ((False, "chisq"), (True, "chisq_yates")):
        res = chi_square(e1, n1, e2, n2, correction=correct)
        if ref[key] is None:  # R: NaN when a column margin is zero
            assert np.isnan(res.statistic) and np.isnan(res.p_value)
        else:
            assert res.statistic == pytest.approx(ref[key], rel=1e-9)
            assert res.p_value == pytest.approx(ref[f"{key}_p"], rel=1e-9)
    if ref["rd_wald_low"] is not None:
        rd = risk_difference(e1, n1, e2, n2)
        assert (rd.ci_low, rd.ci_high) == pytest.approx(
            (ref["rd_wald_low"], ref["rd_wald_high"]), rel=1e-9, abs=1e-12
        )
    nw = risk_difference(e1, n1, e2, n2, method="newcombe")
    assert (nw.ci_low, nw.ci_high) == pytest.approx(
        (ref["rd_newcombe_low"], ref["rd_newcombe_high"]), rel=1e-9, abs=1e-12
    )
