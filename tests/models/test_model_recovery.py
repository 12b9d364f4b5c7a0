"""Recovery and coverage studies (slow: ``pytest -m slow tests/models``).

Data drawn from the prior have posterior intervals with exact average coverage, so the share of
simulated datasets whose true parameter lies in the 90% interval is Binomial(R, 0.9) when the
engine is right; NUTS fits of simulated data recover the truth and agree with the exact engine
under the heavy-tailed alternative prior.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from arviz_stats import mcse
from scipy import stats

from bayes_anlo.checks.diagnostics import convergence
from bayes_anlo.exact import beta_binomial_exact, logit_normal_exact
from bayes_anlo.models import (
    BetaBinomial,
    BetaBinomialPriors,
    LogitNormal,
    LogitNormalPriors,
    NestedBetaBinomial,
    SamplerSettings,
)
from tests.models._data import make_binary

pytestmark = pytest.mark.slow

R = 200


def _coverage_bounds(r, level=0.9):
    return stats.binom.ppf(0.0005, r, level) / r, stats.binom.ppf(0.9995, r, level) / r


def test_beta_binomial_exact_interval_coverage_from_the_prior():
    priors = BetaBinomialPriors()
    rng = np.random.default_rng(2025)
    hits = {"mu": 0, "icc": 0}
    for _ in range(R):
        mu = priors.mu.rvs(1, rng)[0]
        kappa = priors.kappa.rvs(1, rng)[0]
        n = rng.integers(15, 120, 10)
        y = rng.binomial(n, rng.beta(mu * kappa, (1 - mu) * kappa, size=10))
        exact = beta_binomial_exact(y, n, priors)
        for name, truth in (("mu", mu), ("icc", 1 / (1 + kappa))):
            lo, hi = exact.quantile(name, [0.05, 0.95])
            hits[name] += lo <= truth <= hi
    lo, hi = _coverage_bounds(R)
    for name, count in hits.items():
        assert lo <= count / R <= hi, (name, count / R)


def test_logit_normal_exact_interval_coverage_from_the_prior():
    priors = LogitNormalPriors()
    rng = np.random.default_rng(2026)
    hits = {"mu": 0, "tau": 0}
    reps = 120
    for _ in range(reps):
        mu = priors.mu.rvs(1, rng)[0]
        tau = priors.tau.rvs(1, rng)[0]
        n = rng.integers(15, 120, 8)
        y = rng.binomial(n, 1 / (1 + np.exp(-(mu + tau * rng.standard_normal(8)))))
        exact = logit_normal_exact(y, n, priors, n_fine=60)
        for name, truth in (("mu", mu), ("tau", tau)):
            lo, hi = exact.quantile(name, [0.05, 0.95])
            hits[name] += lo <= truth <= hi
    lo, hi = _coverage_bounds(reps)
    for name, count in hits.items():
        assert lo <= count / reps <= hi, (name, count / reps)


def test_nuts_matches_exact_under_the_heavy_tailed_bda_prior():
    """kappa ~ Pareto(0.5, 1): posterior of kappa with a kappa^(-1.5) tail on fairly homogeneous
    data; compare on the scales with finite moments (mu, icc)."""
    rng = np.random.default_rng(7)
    n = rng.integers(20, 100, 10)
    data = make_binary(rng.binomial(n, 0.3), n)
    model = BetaBinomial("bda_proper", sampler=SamplerSettings(draws=2000, tune=1500, chains=4))
    tree = model.fit(data, random_seed=8)
    exact = model.exact_posterior(data)
    for name in ("mu", "icc"):
        da = tree["posterior"][name]
        err = float(mcse(xr.Dataset({"x": da}), method="mean")["x"])
        assert abs(float(da.mean()) - exact.mean(name)) < 4 * err
        for q in (0.1, 0.5, 0.9):
            qerr = float(mcse(xr.Dataset({"x": da}), method="quantile", prob=q)["x"])
            assert abs(float(da.quantile(q)) - float(exact.quantile(name, q))) < 4 * qerr


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_logit_normal_nuts_recovers_the_truth(seed):
    rng = np.random.default_rng(seed)
    mu, tau = -1.5, 0.6
    n = rng.integers(40, 200, 20)
    data = make_binary(rng.binomial(n, 1 / (1 + np.exp(-(mu + tau * rng.standard_normal(20))))), n)
    tree = LogitNormal(sampler=SamplerSettings(draws=1000, tune=1000, chains=4)).fit(
        data, random_seed=seed
    )
    assert convergence(tree).converged
    for name, truth in (("mu", mu), ("tau", tau)):
        lo, hi = np.quantile(tree["posterior"][name].values, [0.005, 0.995])
        assert lo < truth < hi


def test_nested_nuts_recovers_subgroup_means():
    rng = np.random.default_rng(11)
    means = {"LMS": 0.10, "SS": 0.30, "ASPS": 0.45}
    kappa = 40.0
    groups, ys, ns = [], [], []
    for name, m in means.items():
        n = rng.integers(60, 200, 5)
        ys.extend(rng.binomial(n, rng.beta(m * kappa, (1 - m) * kappa)))
        ns.extend(n)
        groups.extend([name] * 5)
    data = make_binary(ys, ns, subgroup=groups)
    tree = NestedBetaBinomial(sampler=SamplerSettings(draws=1000, tune=1000, chains=4)).fit(
        data, random_seed=12
    )
    assert convergence(tree, rhat_max=1.02).converged
    for g, truth in means.items():
        draws = tree["posterior"]["subgroup_rate"].sel(subgroup=g).values
        lo, hi = np.quantile(draws, [0.005, 0.995])
        assert lo < truth < hi
