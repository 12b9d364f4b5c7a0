"""The quadrature and conjugate engines against independent brute-force computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import betaln, expit, log_expit

from bayes_anlo.exact import beta_binomial_exact, logit_normal_exact
from bayes_anlo.exact.conjugate import BetaPosterior, TwoArmExact, prob_greater
from bayes_anlo.models import BetaBinomial, BetaBinomialPriors, LogitNormalPriors, TwoArm
from bayes_anlo.models.priors import Beta, LogNormal
from tests.models._data import FAST_NUTS, make_binary, simulate_beta_binomial


def test_beta_binomial_grid_against_dblquad():
    """Evidence and posterior mean of mu by scipy dblquad over (mu, kappa) in the original scale."""
    y, n = [1, 4, 2], [10, 12, 8]
    log_c = [
        math.lgamma(b + 1) - math.lgamma(a + 1) - math.lgamma(b - a + 1)
        for a, b in zip(y, n, strict=True)
    ]

    def joint(kappa, mu):
        if kappa <= 0 or not 0 < mu < 1:
            return 0.0
        a, b = mu * kappa, (1 - mu) * kappa
        log_prior = -math.log(kappa * 1.5 * math.sqrt(2 * math.pi)) - (math.log(kappa) - 3) ** 2 / (
            2 * 1.5**2
        )
        log_lik = sum(
            c + betaln(yi + a, ni - yi + b) - betaln(a, b)
            for yi, ni, c in zip(y, n, log_c, strict=True)
        )
        return math.exp(log_prior + log_lik)  # Beta(1, 1) prior on mu has density 1

    z = integrate.dblquad(joint, 0, 1, 0, np.inf, epsabs=0, epsrel=1e-8)[0]
    m = integrate.dblquad(lambda k, mu: mu * joint(k, mu), 0, 1, 0, np.inf, epsabs=0, epsrel=1e-8)[
        0
    ]
    exact = beta_binomial_exact(np.array(y), np.array(n), BetaBinomialPriors())
    assert exact.log_evidence == pytest.approx(math.log(z), abs=1e-8)
    assert exact.mean("mu") == pytest.approx(m / z, abs=1e-8)


def test_logit_normal_grid_against_brute_force():
    """Evidence and posterior means by Gauss-Legendre over (mu, tau) x trapezoid over each
    effect."""
    y, n = np.array([0, 5]), np.array([12, 20])
    xm, wm = np.polynomial.legendre.leggauss(80)
    xt, wt = np.polynomial.legendre.leggauss(80)
    mu, tau = np.meshgrid(-2 + 10 * xm, 3 + 3 * xt, indexing="ij")  # mu in [-12, 8], tau in [0, 6]
    weights = np.outer(10 * wm, 3 * wt)
    zz = np.linspace(-10, 10, 801)
    lik = np.ones_like(mu)
    for yi, ni in zip(y, n, strict=True):
        eta = mu[..., None] + tau[..., None] * zz
        log_pmf = (
            math.lgamma(ni + 1)
            - math.lgamma(yi + 1)
            - math.lgamma(ni - yi + 1)
            + yi * log_expit(eta)
            + (ni - yi) * log_expit(-eta)
        )
        lik *= integrate.trapezoid(np.exp(log_pmf) * stats.norm.pdf(zz), zz, axis=-1)
    joint = stats.norm.pdf(mu, 0, 2) * stats.halfnorm.pdf(tau) * lik * weights
    z = joint.sum()
    exact = logit_normal_exact(y, n, LogitNormalPriors())
    assert exact.log_evidence == pytest.approx(math.log(z), abs=1e-6)
    assert exact.mean("mu") == pytest.approx((joint * mu).sum() / z, abs=1e-6)
    # tau's posterior density is positive at tau = 0, where the midpoint rule is second order
    assert exact.mean("tau") == pytest.approx((joint * tau).sum() / z, rel=1e-3)


def test_grid_is_converged_in_resolution(sixteen_studies):
    coarse = beta_binomial_exact(
        sixteen_studies.events, sixteen_studies.n, BetaBinomialPriors(), n_fine=120
    )
    fine = beta_binomial_exact(
        sixteen_studies.events, sixteen_studies.n, BetaBinomialPriors(), n_fine=300
    )
    for name in ("mu", "log_kappa", "icc"):
        assert coarse.mean(name) == pytest.approx(fine.mean(name), rel=1e-6)
        np.testing.assert_allclose(
            coarse.quantile(name, [0.05, 0.5, 0.95]),
            fine.quantile(name, [0.05, 0.5, 0.95]),
            rtol=2e-3,
        )
    assert coarse.log_evidence == pytest.approx(fine.log_evidence, abs=1e-8)


@pytest.mark.parametrize(
    ("events", "n"),
    [
        ([0, 0, 0, 0], [20, 35, 12, 50]),  # no events at all
        ([20, 35, 12, 50], [20, 35, 12, 50]),  # every patient responds
        ([7], [25]),  # a single study
        ([480, 1510, 260], [5000, 15000, 2500]),  # very large studies: a narrow posterior
        ([0, 1, 30], [40, 40, 40]),  # extreme heterogeneity
    ],
)
@pytest.mark.parametrize("prior", ["default", "bda_proper"])
def test_grid_handles_edge_cases(events, n, prior):
    priors = BetaBinomialPriors.named(prior)
    exact = beta_binomial_exact(np.array(events), np.array(n), priors)
    grid = exact.grid
    assert np.isfinite(exact.log_evidence)
    assert grid.weights.sum() == pytest.approx(1.0)
    # the grid covers the posterior: the outermost cells carry negligible mass
    top = grid.log_density.max()
    for edge, hard in (
        (grid.log_density[0], grid.x_edges[0] <= -40),
        (grid.log_density[-1], grid.x_edges[-1] >= 40),
        (grid.log_density[:, -1], grid.y_edges[-1] >= 45),
    ):
        assert hard or edge.max() < top - 20
    q = exact.quantile("mu", [0.025, 0.5, 0.975])
    assert 0 <= q[0] < q[1] < q[2] <= 1
    pooled = (sum(events) + 0.5) / (sum(n) + 1)
    assert q[0] < pooled < q[2]
    assert exact.mean("mu") == pytest.approx(exact.grid.expect(lambda u, v: expit(u)))


def test_exact_engine_is_deterministic_for_sixteen_studies(sixteen_studies):
    """Repeated calls give the same grid, evidence and quantiles (no timing here: the engine's
    speed is measured by benchmarks/run.py, never asserted by a test)."""
    runs = [
        beta_binomial_exact(sixteen_studies.events, sixteen_studies.n, BetaBinomialPriors())
        for _ in range(3)
    ]
    for other in runs[1:]:
        assert other.log_evidence == runs[0].log_evidence
        np.testing.assert_array_equal(
            other.quantile("mu", [0.025, 0.5, 0.975]), runs[0].quantile("mu", [0.025, 0.5, 0.975])
        )


def test_exact_fit_draws_match_the_grid(sixteen_studies):
    """iid draws in the DataTree reproduce the grid's moments, and the conjugate study rates have
    the mean E[(mu kappa + y) / (kappa + n)] computed on the grid."""
    model = BetaBinomial(method="exact", sampler=FAST_NUTS)
    tree = model.fit(sixteen_studies, random_seed=11)
    exact = model.exact_posterior(sixteen_studies)
    draws = tree["posterior"]["mu"].values.ravel()
    assert abs(draws.mean() - exact.mean("mu")) < 4 * exact.sd("mu") / math.sqrt(draws.size)
    y, n = sixteen_studies.events, sixteen_studies.n
    for i in (0, 7, 15):
        expected = exact.grid.expect(
            lambda u, v, i=i: (expit(u) * np.exp(v) + y[i]) / (np.exp(v) + n[i])
        )
        rates = tree["posterior"]["study_rate"].values[..., i].ravel()
        assert abs(rates.mean() - expected) < 4 * rates.std() / math.sqrt(rates.size)
    q = np.quantile(tree["posterior"]["icc"].values, [0.1, 0.5, 0.9])
    np.testing.assert_allclose(q, exact.quantile("icc", [0.1, 0.5, 0.9]), rtol=0.06)


def test_exact_fits_are_reproducible(zero_event_data):
    a = BetaBinomial(method="exact", sampler=FAST_NUTS).fit(zero_event_data, random_seed=5)
    b = BetaBinomial(method="exact", sampler=FAST_NUTS).fit(zero_event_data, random_seed=5)
    c = BetaBinomial(method="exact", sampler=FAST_NUTS).fit(zero_event_data, random_seed=6)
    for group in ("posterior", "posterior_predictive", "log_likelihood"):
        assert a[group].to_dataset().identical(b[group].to_dataset())
    assert not np.array_equal(a["posterior"]["mu"].values, c["posterior"]["mu"].values)


def _prob_greater_closed_form(a1, b1, a2, b2) -> float:
    """P(p1 > p2) for integer a1: sum_{i < a1} B(a2 + i, b1 + b2) / ((b1 + i) B(1 + i, b1) B(a2,
    b2))
    (the classical finite sum for independent Beta rates)."""
    total = 0.0
    for i in range(int(a1)):
        total += math.exp(
            betaln(a2 + i, b1 + b2) - math.log(b1 + i) - betaln(1 + i, b1) - betaln(a2, b2)
        )
    return total


@pytest.mark.parametrize(
    ("a1", "b1", "a2", "b2"), [(6, 9, 2, 16), (1, 1, 1, 1), (13, 40, 9, 45), (3, 2.5, 4, 1.5)]
)
def test_prob_greater_against_closed_form(a1, b1, a2, b2):
    p = prob_greater(BetaPosterior(a1, b1), BetaPosterior(a2, b2))
    assert p == pytest.approx(_prob_greater_closed_form(a1, b1, a2, b2), abs=1e-9)


def test_difference_quantiles_against_simulation():
    exact = TwoArmExact(("a", "b"), (BetaPosterior(6, 9), BetaPosterior(2, 16)))
    rng = np.random.default_rng(0)
    d = rng.beta(6, 9, 400_000) - rng.beta(2, 16, 400_000)
    q = exact.difference_quantile([0.025, 0.5, 0.975])
    np.testing.assert_allclose(q, np.quantile(d, [0.025, 0.5, 0.975]), atol=3e-3)
    assert exact.difference_mean() == pytest.approx(6 / 15 - 2 / 18)
    assert exact.ratio_mean() == pytest.approx(
        np.mean(rng.beta(6, 9, 400_000) / rng.beta(2, 16, 400_000)), rel=0.02
    )
    table = exact.to_frame()
    assert list(table["quantity"]) == ["rate[a]", "rate[b]", "difference", "prob_superior"]


def test_two_arm_exact_uses_the_conjugate_update():
    data = make_binary([1, 5], [16, 13], arm=["alone", "chemo"])
    exact = TwoArm(arms=["chemo", "alone"]).exact(data)
    assert exact.arms == ("chemo", "alone")
    assert (exact.posteriors[0].alpha, exact.posteriors[0].beta) == (6.0, 9.0)
    assert (exact.posteriors[1].alpha, exact.posteriors[1].beta) == (2.0, 16.0)
    tree = TwoArm(method="exact", sampler=FAST_NUTS, arms=["chemo", "alone"]).fit(
        data, random_seed=2
    )
    p = float((tree["posterior"]["difference"] > 0).mean())
    assert abs(p - exact.prob_superior) < 4 * math.sqrt(
        exact.prob_superior * (1 - exact.prob_superior) / 2000
    )


def test_logit_normal_exact_on_sixteen_studies_is_proper(sixteen_studies):
    exact = logit_normal_exact(sixteen_studies.events, sixteen_studies.n, LogitNormalPriors())
    q = exact.quantile("pooled_rate", [0.025, 0.975])
    pooled = sixteen_studies.events.sum() / sixteen_studies.n.sum()
    assert q[0] < pooled < q[1]


def test_exact_engine_respects_prior_support():
    """A Pareto(0.5, 1) prior restricts kappa >= 1: the grid never goes below log kappa = 0."""
    y, n = simulate_beta_binomial(8, 0.3, 2.0, seed=4)
    exact = beta_binomial_exact(y, n, BetaBinomialPriors.named("bda_proper"))
    assert exact.grid.y_edges[0] >= 0.0
    assert exact.quantile("kappa", 0.001) >= 1.0
    other = beta_binomial_exact(y, n, BetaBinomialPriors(mu=Beta(2, 2), kappa=LogNormal(1, 0.5)))
    assert other.log_evidence != exact.log_evidence
