"""Beta and LogNormal priors compute ``logpdf`` and ``bounds`` without scipy.stats, and give
exactly what scipy.stats gives (the exact beta-binomial engine's grid, hence every posterior draw
of ``bayes-anlo rates`` and ``run``, depends on these values)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bayes_anlo.models.priors import Beta, LogNormal

RNG = np.random.default_rng(7)
RATES = np.concatenate(
    [
        RNG.uniform(0, 1, 5000),
        1 / (1 + np.exp(-np.linspace(-45, 45, 2001))),  # expit of the grid's logit-mu range
        [0.0, 1.0, -0.0, -1e-300, 1 + 1e-16, 2.0, -1.0, np.nan, np.inf, -np.inf, 5e-324],
    ]
)
CONCENTRATIONS = np.concatenate(
    [
        np.exp(np.linspace(-12, 45, 2001)),  # the grid's log-kappa range
        RNG.lognormal(3, 1.5, 5000),
        [0.0, -1.0, np.nan, np.inf, 5e-324, 1e300],
    ]
)


def _same(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape
    assert np.array_equal(ours, theirs, equal_nan=True)


@pytest.mark.parametrize("alpha, beta", [(1, 1), (0.5, 0.5), (2, 2), (3.7, 12.1), (0.3, 8)])
def test_beta_logpdf_and_bounds_equal_scipy(alpha, beta):
    prior, reference = Beta(alpha, beta), stats.beta(alpha, beta)
    _same(prior.logpdf(RATES), reference.logpdf(RATES))
    _same(
        prior.logpdf(RATES.reshape(-1, 1)[:40] * np.ones(3)),
        reference.logpdf(RATES[:40, None] * np.ones(3)),
    )
    for x in (0.3, 0.0, 1.0, np.nan):
        assert np.ndim(prior.logpdf(x)) == 0
        _same(prior.logpdf(x), reference.logpdf(x))
    assert prior.bounds() == tuple(float(v) for v in reference.support())


@pytest.mark.parametrize("mu, sigma", [(3, 1.5), (4.6, 1), (1.6, 1), (0, 1), (-2.3, 0.7)])
def test_lognormal_logpdf_and_bounds_equal_scipy(mu, sigma):
    prior, reference = LogNormal(mu, sigma), stats.lognorm(s=sigma, scale=math.exp(mu))
    _same(prior.logpdf(CONCENTRATIONS), reference.logpdf(CONCENTRATIONS))
    for x in (20.0, 0.0, np.nan):
        assert np.ndim(prior.logpdf(x)) == 0
        _same(prior.logpdf(x), reference.logpdf(x))
    assert prior.bounds() == tuple(float(v) for v in reference.support())
