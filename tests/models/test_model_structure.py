"""Model structure without sampling: log densities at fixed values against scipy, and the numerics.

Each PyMC model's ``compile_logp`` at a fixed point is compared with the sum of scipy densities
(priors on the constrained scale plus likelihood); with ``jacobian=True`` the transforms' log
Jacobians are added by hand. The exact engines' log joints are checked against the same numbers,
so the quadrature and NUTS target the same posterior.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit, logit

from bayes_anlo.exact.beta_binomial import beta_binomial_log_joint
from bayes_anlo.exact.logit_normal import logit_normal_log_joint
from bayes_anlo.exact.special_functions import (
    betabinom_logpmf,
    log_rising,
    logit_normal_marginal,
    logit_normal_moments,
    sample_logit_normal_conditional,
)
from bayes_anlo.models import (
    BetaBinomialPriors,
    LogitNormalPriors,
    NestedBetaBinomialPriors,
    TwoArmPriors,
    build_beta_binomial,
    build_complete_pooling,
    build_logit_normal,
    build_nested_beta_binomial,
    build_two_arm,
)
from tests.models._data import CAI2022_SUBTYPES, make_binary

Y = np.array([0, 4, 9, 15, 3, 18])
N = np.array([14, 22, 25, 30, 19, 40])


def _point(model, values: dict[str, float | np.ndarray]) -> dict:
    """Transformed value-variable point for constrained ``values`` (by variable name)."""
    point = {}
    for rv in model.free_RVs:
        transform = model.rvs_to_transforms[rv]
        value = np.asarray(values[rv.name], dtype=float)
        if transform is not None:
            value = transform.forward(value, *rv.owner.inputs).eval()
        point[model.rvs_to_values[rv].name] = value
    return point


def test_beta_binomial_logp_matches_scipy():
    data = make_binary(Y, N)
    priors = BetaBinomialPriors()
    model = build_beta_binomial(data, priors)
    mu, kappa = 0.27, 8.5
    point = _point(model, {"mu": mu, "kappa": kappa})
    expected = (
        stats.beta.logpdf(mu, 1, 1)
        + stats.lognorm.logpdf(kappa, s=1.5, scale=math.exp(3.0))
        + stats.betabinom.logpmf(Y, N, mu * kappa, (1 - mu) * kappa).sum()
    )
    assert model.compile_logp(jacobian=False)(point) == pytest.approx(expected, rel=1e-8)
    jacobian = math.log(mu * (1 - mu)) + math.log(kappa)  # d mu/d logit(mu), d kappa/d log(kappa)
    assert model.compile_logp(jacobian=True)(point) == pytest.approx(expected + jacobian, rel=1e-8)
    # the quadrature engine's log joint on (logit mu, log kappa) is the same function
    log_joint = beta_binomial_log_joint(Y, N, priors)
    assert float(log_joint(np.array(logit(mu)), np.array(math.log(kappa)))) == pytest.approx(
        expected + jacobian, rel=1e-10
    )
    assert model.coords["unit"] == tuple(data.labels)
    assert model.named_vars_to_dims["events"] == ("unit",)


def test_beta_binomial_with_pareto_prior_logp():
    priors = BetaBinomialPriors.named("bda_proper")
    model = build_beta_binomial(make_binary(Y, N), priors)
    mu, kappa = 0.3, 4.0
    expected = (
        stats.pareto.logpdf(kappa, 0.5)
        + stats.betabinom.logpmf(Y, N, mu * kappa, (1 - mu) * kappa).sum()
    )
    assert model.compile_logp(jacobian=False)(
        _point(model, {"mu": mu, "kappa": kappa})
    ) == pytest.approx(expected)


def test_complete_pooling_logp_matches_scipy():
    model = build_complete_pooling(make_binary(Y, N))
    p = 0.31
    expected = stats.binom.logpmf(Y, N, p).sum()
    assert model.compile_logp(jacobian=False)(_point(model, {"p": p})) == pytest.approx(
        expected, rel=1e-10
    )


def test_logit_normal_logp_matches_scipy():
    data = make_binary(Y, N)
    priors = LogitNormalPriors()
    model = build_logit_normal(data, priors)
    mu, tau = -1.1, 0.8
    z = np.linspace(-1.5, 1.5, len(Y))
    point = _point(model, {"mu": mu, "tau": tau, "z": z})
    expected = (
        stats.norm.logpdf(mu, 0, 2)
        + stats.halfnorm.logpdf(tau, scale=1.0)
        + stats.norm.logpdf(z).sum()
        + stats.binom.logpmf(Y, N, expit(mu + tau * z)).sum()
    )
    assert model.compile_logp(jacobian=False)(point) == pytest.approx(expected, rel=1e-8)
    assert model.compile_logp(jacobian=True)(point) == pytest.approx(
        expected + math.log(tau), rel=1e-10
    )


def test_logit_normal_exact_log_joint_integrates_the_study_effects():
    """The exact engine's log joint = log priors + sum of per-study integrals (scipy quad)."""
    priors = LogitNormalPriors()
    mu, tau = -1.0, 0.9
    per_study = [
        math.log(
            integrate.quad(
                lambda e, y=y, n=n: stats.binom.pmf(y, n, expit(e)) * stats.norm.pdf(e, mu, tau),
                -30,
                30,
                points=[mu],
                epsabs=1e-14,
                limit=200,
            )[0]
        )
        for y, n in zip(Y, N, strict=True)
    ]
    expected = stats.norm.logpdf(mu, 0, 2) + stats.halfnorm.logpdf(tau) + sum(per_study)
    got = float(logit_normal_log_joint(Y, N, priors)(np.array(mu), np.array(tau)))
    assert got == pytest.approx(expected, rel=1e-8)


def test_nested_logp_both_within_levels():
    priors = NestedBetaBinomialPriors()
    # several studies per subgroup: beta-binomial within
    data = make_binary(Y, N, subgroup=["a", "a", "b", "b", "a", "b"])
    model = build_nested_beta_binomial(data, priors, by="subgroup")
    mu, sigma, kappa, z = 0.3, 0.6, 12.0, np.array([0.4, -0.7])
    rate = expit(logit(mu) + sigma * z)[[0, 0, 1, 1, 0, 1]]
    point = _point(model, {"mu": mu, "sigma_subgroup": sigma, "kappa": kappa, "z_subgroup": z})
    expected = (
        stats.beta.logpdf(mu, 1, 1)
        + stats.halfnorm.logpdf(sigma)
        + stats.norm.logpdf(z).sum()
        + stats.lognorm.logpdf(kappa, s=1.5, scale=math.exp(3.0))
        + stats.betabinom.logpmf(Y, N, rate * kappa, (1 - rate) * kappa).sum()
    )
    assert model.compile_logp(jacobian=False)(point) == pytest.approx(expected, rel=1e-8)
    # one row per subgroup (the sarcoma subtype table): binomial within, no kappa
    subtypes = make_binary(
        CAI2022_SUBTYPES["events"], CAI2022_SUBTYPES["n"], subgroup=CAI2022_SUBTYPES["subgroup"]
    )
    model = build_nested_beta_binomial(subtypes, priors)
    assert "kappa" not in model.named_vars
    z = np.linspace(-1, 1, 8)
    rate = expit(logit(mu) + sigma * z)
    expected = (
        stats.beta.logpdf(mu, 1, 1)
        + stats.halfnorm.logpdf(sigma)
        + stats.norm.logpdf(z).sum()
        + stats.binom.logpmf(CAI2022_SUBTYPES["events"], CAI2022_SUBTYPES["n"], rate).sum()
    )
    point = _point(model, {"mu": mu, "sigma_subgroup": sigma, "z_subgroup": z})
    assert model.compile_logp(jacobian=False)(point) == pytest.approx(expected, rel=1e-8)
    assert model.coords["subgroup"] == tuple(CAI2022_SUBTYPES["subgroup"])


def test_two_arm_logp_matches_scipy():
    data = make_binary([1, 5], [16, 13], arm=["alone", "chemo"])
    model = build_two_arm(data, TwoArmPriors(), arms=["chemo", "alone"])
    rate = np.array([0.35, 0.1])  # chemo, alone
    expected = (
        stats.beta.logpdf(rate, 1, 1).sum()
        + stats.binom.logpmf([1, 5], [16, 13], rate[[1, 0]]).sum()
    )
    assert model.compile_logp(jacobian=False)(_point(model, {"rate": rate})) == pytest.approx(
        expected, rel=1e-10
    )
    assert model.coords["arm"] == ("chemo", "alone")


# ---- numerics -------------------------------------------------------------------------------


@pytest.mark.parametrize("a", [0.01, 0.7, 9.99, 10.01, 55.5, 1e4, 1e9, 1e15])
@pytest.mark.parametrize("k", [0, 1, 7, 60])
def test_log_rising_equals_sum_of_logs(a, k):
    """``log Gamma(a + k) - log Gamma(a) = sum_{j < k} log(a + j)`` for integer k."""
    expected = math.fsum(math.log(a + j) for j in range(k))
    assert float(log_rising(a, k)) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_betabinom_logpmf_matches_scipy_and_binomial_limit():
    y, n = np.arange(0, 31), 30
    for a, b in [(0.3, 2.0), (2.5, 11.0), (40.0, 160.0)]:
        np.testing.assert_allclose(
            betabinom_logpmf(y, n, a, b), stats.betabinom.logpmf(y, n, a, b), rtol=1e-10
        )
    # kappa -> infinity: the binomial (where gammaln differences lose all precision)
    mu = 0.2
    np.testing.assert_allclose(
        betabinom_logpmf(y, n, mu * 1e16, (1 - mu) * 1e16),
        stats.binom.logpmf(y, n, mu),
        rtol=1e-9,
        atol=1e-12,
    )


@pytest.mark.parametrize(
    ("y", "n", "mu", "tau"),
    [
        (0, 14, -1.0, 0.8),
        (14, 14, 0.5, 1.2),
        (3, 500, -2.0, 3.0),
        (250, 500, 0.0, 0.01),
        (5, 20, -1.4, 5.0),
        (0, 166, -2.5, 2.0),
        (21, 166, -1.9, 0.3),
    ],
)
def test_adaptive_gauss_hermite_against_quad(y, n, mu, tau):
    def integrand(e):
        return stats.binom.pmf(y, n, expit(e)) * stats.norm.pdf(e, mu, tau)

    lo, hi = mu - 12 * tau - 15, mu + 12 * tau + 15
    mode = float(logit((y + 0.5) / (n + 1)))
    value, _ = integrate.quad(
        integrand, lo, hi, points=sorted({mu, mode}), epsabs=0, epsrel=1e-12, limit=500
    )
    assert float(logit_normal_marginal(y, n, mu, tau)) == pytest.approx(math.log(value), abs=3e-7)


def test_logit_normal_moments_against_quad():
    for mu, tau in [(-2.0, 0.5), (0.3, 1.5), (-1.0, 3.0)]:
        m1 = integrate.quad(
            lambda z, mu=mu, tau=tau: expit(mu + tau * z) * stats.norm.pdf(z), -12, 12, epsabs=1e-13
        )[0]
        m2 = integrate.quad(
            lambda z, mu=mu, tau=tau: expit(mu + tau * z) ** 2 * stats.norm.pdf(z),
            -12,
            12,
            epsabs=1e-13,
        )[0]
        mean, var = logit_normal_moments(mu, tau)
        assert float(mean) == pytest.approx(m1, abs=1e-8)
        assert float(var) == pytest.approx(m2 - m1**2, abs=1e-8)


@pytest.mark.parametrize(("y", "n", "mu", "tau"), [(0, 20, -2.0, 1.0), (12, 30, -1.0, 2.5)])
def test_conditional_study_effect_draws(y, n, mu, tau):
    """Draws from p(eta | y, mu, tau) have the mean and SD that quadrature gives."""

    def moment(k):
        return integrate.quad(
            lambda e: e**k * stats.binom.pmf(y, n, expit(e)) * stats.norm.pdf(e, mu, tau),
            -40,
            40,
            points=[mu],
            limit=400,
        )[0]

    z0 = moment(0)
    mean, sd = moment(1) / z0, math.sqrt(moment(2) / z0 - (moment(1) / z0) ** 2)
    draws = sample_logit_normal_conditional(np.full(20000, y), n, mu, tau, np.random.default_rng(3))
    assert abs(draws.mean() - mean) < 4 * sd / math.sqrt(draws.size)
    assert draws.std() == pytest.approx(sd, rel=0.03)
