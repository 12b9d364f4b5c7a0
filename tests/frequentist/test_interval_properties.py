"""Property-based tests (hypothesis) for the per-study intervals and the two-group tests.

Properties every interval method must have, for any n and events: it contains the estimate, it
stays in [0, 1], its bounds move monotonically with the number of events, and it mirrors under
events <-> n - events (the interval for failures is the reflection of the one for successes).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bayes_anlo.frequentist.intervals import METHODS, proportion_ci
from bayes_anlo.frequentist.two_group import chi_square, fisher_exact, risk_difference

TOL = 1e-12


@st.composite
def count_and_n(draw, max_n=400):
    n = draw(st.integers(min_value=1, max_value=max_n))
    return draw(st.integers(min_value=0, max_value=n)), n


level = st.sampled_from([0.8, 0.9, 0.95, 0.99])


@settings(max_examples=150, deadline=None)
@given(count_and_n(), st.sampled_from(METHODS), level)
def test_interval_contains_estimate_and_stays_in_unit_interval(en, method, lvl):
    events, n = en
    ci = proportion_ci(events, n, method, lvl)
    low, est, high = ci.ci_low[0], ci.estimate[0], ci.ci_high[0]
    if method == "spss-t" and n == 1:
        return  # a one-patient sample has no standard deviation: the interval is undefined
    assert 0.0 <= low <= high <= 1.0
    if method != "agresti-coull":  # Agresti-Coull is centred on the adjusted estimate, not events/n
        assert low - TOL <= est <= high + TOL


@settings(max_examples=150, deadline=None)
@given(count_and_n(), st.sampled_from(METHODS), level)
def test_interval_mirrors_under_success_failure_swap(en, method, lvl):
    events, n = en
    ci = proportion_ci(events, n, method, lvl)
    flipped = proportion_ci(n - events, n, method, lvl)
    np.testing.assert_allclose(ci.ci_low, 1 - flipped.ci_high, atol=1e-9)
    np.testing.assert_allclose(ci.ci_high, 1 - flipped.ci_low, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=2, max_value=300),
    st.sampled_from(["clopper-pearson", "wilson", "jeffreys", "agresti-coull"]),
    level,
)
def test_bounds_increase_with_events(n, method, lvl):
    ci = proportion_ci(np.arange(n + 1), np.full(n + 1, n), method, lvl)
    assert np.all(np.diff(ci.ci_low) >= -TOL)
    assert np.all(np.diff(ci.ci_high) >= -TOL)


@settings(max_examples=100, deadline=None)
@given(count_and_n(120), count_and_n(120))
def test_two_group_tests_are_valid_probabilities_and_symmetric(g1, g2):
    (e1, n1), (e2, n2) = g1, g2
    f = fisher_exact(e1, n1, e2, n2)
    assert 0.0 <= f.p_value <= 1.0 + 1e-12
    assert np.isclose(f.p_value, fisher_exact(e2, n2, e1, n1).p_value, rtol=1e-9)
    for correction in (False, True):
        c = chi_square(e1, n1, e2, n2, correction=correction)
        if not np.isnan(c.p_value):
            assert 0.0 <= c.p_value <= 1.0
            assert np.isclose(c.p_value, chi_square(e2, n2, e1, n1, correction=correction).p_value)
    yates, plain = chi_square(e1, n1, e2, n2, True), chi_square(e1, n1, e2, n2, False)
    if not np.isnan(plain.statistic):
        assert (
            yates.statistic <= plain.statistic + 1e-12
        )  # the correction only ever shrinks the statistic
    rd = risk_difference(e1, n1, e2, n2)
    assert -1.0 <= rd.ci_low <= rd.estimate + 1e-12 and rd.estimate - 1e-12 <= rd.ci_high <= 1.0
