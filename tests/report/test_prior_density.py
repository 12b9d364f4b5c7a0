"""Exact prior densities of the prior/posterior figure, against Monte Carlo draws of the prior and
closed forms: a density carried to another scale by a change of variables must give the
probabilities that draws of the transformed prior give."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import integrate
from scipy.special import expit

from bayes_anlo.models.priors import (
    Beta,
    BetaBinomialPriors,
    HalfNormal,
    LogitNormalPriors,
    LogNormal,
    Normal,
    TwoArmPriors,
)
from bayes_anlo.report import prior_density

RNG = np.random.default_rng(11)
N = 200_000


def mass(density, lo, hi) -> float:
    return integrate.quad(lambda x: float(density(np.array([x]))[0]), lo, hi, limit=200)[0]


def assert_matches_draws(density, draws, cuts):
    """P(lo < X <= hi) from the density equals the share of draws, for consecutive cut points."""
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        p = mass(density, lo, hi)
        share = np.mean((draws > lo) & (draws <= hi))
        assert abs(p - share) < 5 * np.sqrt(share * (1 - share) / len(draws)) + 1e-4, (
            lo,
            hi,
            p,
            share,
        )


def test_icc_density_is_the_kappa_prior_carried_to_one_over_one_plus_kappa():
    kappa = LogNormal(3.0, 1.5)
    draws = 1.0 / (1.0 + kappa.rvs(N, RNG))
    assert_matches_draws(
        lambda c: prior_density.icc_density(kappa, c),
        draws,
        [1e-6, 0.01, 0.03, 0.05, 0.1, 0.3, 1 - 1e-9],
    )
    assert abs(mass(lambda c: prior_density.icc_density(kappa, c), 0, 1) - 1) < 1e-6


def test_pooled_rate_density_on_the_logit_scale_is_carried_to_the_rate():
    mu = Normal(0.0, 2.0)
    draws = expit(mu.rvs(N, RNG))
    assert_matches_draws(
        lambda r: prior_density.rate_density(mu, r),
        draws,
        [1e-9, 0.02, 0.1, 0.3, 0.5, 0.8, 1 - 1e-9],
    )
    beta = Beta(2.0, 5.0)  # already on (0, 1): the prior itself
    x = np.linspace(0.01, 0.99, 7)
    np.testing.assert_allclose(prior_density.rate_density(beta, x), np.exp(beta.logpdf(x)))


def test_difference_density_is_the_convolution_of_the_arm_priors():
    d = np.linspace(-0.95, 0.95, 9)
    np.testing.assert_allclose(
        prior_density.difference_density(Beta(1.0, 1.0), d), 1 - np.abs(d), atol=1e-8
    )
    rate = Beta(1.0, 4.0)
    draws = rate.rvs(N, RNG) - rate.rvs(N, RNG)
    assert_matches_draws(
        lambda v: prior_density.difference_density(rate, v), draws, [-1, -0.2, 0, 0.2, 1]
    )


def _tree(**variables) -> xr.DataTree:
    post = xr.Dataset({k: (("chain", "draw"), v.reshape(2, -1)) for k, v in variables.items()})
    return xr.DataTree.from_dict({"posterior": post})


@pytest.mark.parametrize("case", ["beta_binomial", "logit_normal", "two_arm"])
def test_table_has_each_prior_sensitive_parameter_with_prior_and_posterior(case):
    if case == "beta_binomial":
        priors = BetaBinomialPriors()
        kappa = RNG.lognormal(2.0, 0.5, 4000)
        tree = _tree(
            mu=RNG.beta(10, 40, 4000),
            pooled_rate=RNG.beta(10, 40, 4000),
            kappa=kappa,
            icc=1 / (1 + kappa),
        )
        expected = ["pooled_rate", "icc"]
    elif case == "logit_normal":
        priors = LogitNormalPriors(tau=HalfNormal(0.5))
        tree = _tree(pooled_rate=RNG.beta(10, 40, 4000), tau=np.abs(RNG.normal(0, 0.3, 4000)))
        expected = ["pooled_rate", "tau"]
    else:
        priors = TwoArmPriors()
        tree = _tree(difference=RNG.normal(0.1, 0.1, 4000))
        expected = ["difference"]
    table = prior_density.prior_posterior_table(priors, tree)
    assert list(dict.fromkeys(table["parameter"])) == expected
    for name in expected:
        part = table[table["parameter"] == name]
        post = part[part["series"] == "posterior"]
        prior = part[part["series"] == "prior"]
        assert len(post) and len(prior)
        # histogram area = share of draws inside the plotted range (at least 99.8%)
        width = np.diff(post["x"].to_numpy()).mean()
        assert 0.998 - 1e-9 <= (post["density"] * width).sum() <= 1 + 1e-9
        if name == "tau":  # HalfNormal(0.5) exactly, not a kernel estimate
            np.testing.assert_allclose(prior["density"], np.exp(HalfNormal(0.5).logpdf(prior["x"])))
    assert (
        table["percent"].tolist() == table["parameter"].isin(["pooled_rate", "difference"]).tolist()
    )
