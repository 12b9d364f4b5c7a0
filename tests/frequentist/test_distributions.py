"""bayes_anlo.frequentist.distributions returns what scipy.stats returns, bit for bit.

The frequentist code replaced ``scipy.stats`` (a second to import) by these ``scipy.special``
wrappers; printed results stay identical only if every value is the same double, including at the
edges (outside the support, zero or negative degrees of freedom, NaN, infinities).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayes_anlo.frequentist import distributions as dist

RNG = np.random.default_rng(20251130)
Q = np.concatenate(
    [RNG.uniform(0, 1, 2000), [0.0, 1.0, 0.025, 0.975, -0.1, 1.5, 0.0, 1.0, 1e-12, 1 - 1e-12, 0.5]]
)
X = np.concatenate(
    [RNG.normal(0, 4, 2000), [0.0, -0.0, -1.0, np.inf, -np.inf, np.nan, 1e-300, 50.0]]
)
DF_Q = np.concatenate([RNG.integers(1, 300, Q.size - 5), [0, -1, 0, -1, 0.5]]).astype(float)
DF_X = np.concatenate([RNG.integers(1, 300, X.size - 3), [0, -2, 2.5]]).astype(float)

CASES = {
    "norm_ppf": (lambda: dist.norm_ppf(Q), lambda: stats.norm.ppf(Q)),
    "norm_isf": (lambda: dist.norm_isf(Q), lambda: stats.norm.isf(Q)),
    "norm_sf": (lambda: dist.norm_sf(X), lambda: stats.norm.sf(X)),
    "t_ppf": (lambda: dist.t_ppf(Q, DF_Q), lambda: stats.t.ppf(Q, DF_Q)),
    "t_isf": (lambda: dist.t_isf(Q, DF_Q), lambda: stats.t.isf(Q, DF_Q)),
    "t_sf": (lambda: dist.t_sf(X, DF_X), lambda: stats.t.sf(X, DF_X)),
    "chi2_sf": (lambda: dist.chi2_sf(X, DF_X), lambda: stats.chi2.sf(X, DF_X)),
    "chi2_cdf": (lambda: dist.chi2_cdf(X, DF_X), lambda: stats.chi2.cdf(X, DF_X)),
    "chi2_isf": (lambda: dist.chi2_isf(Q, DF_Q), lambda: stats.chi2.isf(Q, DF_Q)),
    "chi2_ppf": (lambda: dist.chi2_ppf(Q, DF_Q), lambda: stats.chi2.ppf(Q, DF_Q)),
    "f_sf": (lambda: dist.f_sf(X, DF_X, DF_X[::-1]), lambda: stats.f.sf(X, DF_X, DF_X[::-1])),
    "beta_ppf": (
        lambda: dist.beta_ppf(Q, DF_Q, DF_Q[::-1] + 0.5),
        lambda: stats.beta.ppf(Q, DF_Q, DF_Q[::-1] + 0.5),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_arrays_equal_scipy_stats_bit_for_bit(name):
    ours, theirs = (np.asarray(f()) for f in CASES[name])
    assert ours.shape == theirs.shape
    assert np.array_equal(ours, theirs, equal_nan=True)
    # same sign of zero too (a -0.0 would print as "-0")
    numbers = ~np.isnan(theirs)
    assert np.array_equal(np.signbit(ours[numbers]), np.signbit(theirs[numbers]))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: dist.norm_ppf(0.975), lambda: stats.norm.ppf(0.975)),
        (lambda: dist.t_isf(0.025, 4), lambda: stats.t.isf(0.025, 4)),
        (lambda: dist.t_sf(2.1, 7), lambda: stats.t.sf(2.1, 7)),
        (lambda: dist.chi2_sf(3.2, 2), lambda: stats.chi2.sf(3.2, 2)),
        (lambda: dist.chi2_sf(-1.0, 2), lambda: stats.chi2.sf(-1.0, 2)),
        (lambda: dist.chi2_sf(3.2, 0), lambda: stats.chi2.sf(3.2, 0)),
        (lambda: dist.f_sf(2.5, 1, 6), lambda: stats.f.sf(2.5, 1, 6)),
    ],
)
def test_scalars_are_scalars_of_the_same_value(ours, theirs):
    a, b = ours(), theirs()
    assert np.ndim(a) == 0
    assert np.array_equal(a, b, equal_nan=True)
