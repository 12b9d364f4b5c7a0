"""Beta mixtures: conjugate updates, predictive counts and quantiles against direct numerical
integration (scipy quadrature), independent of the closed forms under test."""

import numpy as np
import pytest
from scipy import integrate, stats

from bayes_anlo.design.mixtures import BetaMixture, robustify

MIX = BetaMixture.of([0.6, 0.4], [19.0, 3.5], [58.0, 9.5])


def test_of_normalises_weights_and_rejects_bad_parameters():
    m = BetaMixture.of([2, 2], [1, 2], [1, 2])
    assert m.weights == (0.5, 0.5)
    assert m.labels == ("comp1", "comp2")
    with pytest.raises(ValueError):
        BetaMixture.of([1], [0], [1])
    with pytest.raises(ValueError):
        BetaMixture((0.5, 0.6), (1, 1), (1, 1))


def test_single_beta_matches_scipy():
    m = BetaMixture.beta(3.0, 7.0)
    x = np.array([0.05, 0.3, 0.8])
    assert np.allclose(m.pdf(x), stats.beta.pdf(x, 3, 7))
    assert np.allclose(m.cdf(x), stats.beta.cdf(x, 3, 7))
    assert np.allclose(m.sf(x), stats.beta.sf(x, 3, 7))
    assert np.allclose(m.ppf([0.025, 0.5, 0.975]), stats.beta.ppf([0.025, 0.5, 0.975], 3, 7))
    assert m.mean() == pytest.approx(0.3)
    assert m.var() == pytest.approx(stats.beta.var(3, 7))
    assert m.mode() == pytest.approx(2 / 8, abs=1e-6)


def test_mixture_moments_and_quantiles_by_quadrature():
    mean = integrate.quad(lambda t: t * MIX.pdf(t), 0, 1)[0]
    second = integrate.quad(lambda t: t * t * MIX.pdf(t), 0, 1)[0]
    assert MIX.mean() == pytest.approx(mean, rel=1e-8)
    assert MIX.var() == pytest.approx(second - mean**2, rel=1e-7)
    q = MIX.ppf([0.025, 0.5, 0.975])
    for p, x in zip([0.025, 0.5, 0.975], q, strict=True):
        assert integrate.quad(MIX.pdf, 0, x)[0] == pytest.approx(p, abs=1e-9)


@pytest.mark.parametrize(("events", "n"), [(0, 6), (3, 6), (14, 24)])
def test_posterior_is_prior_times_likelihood(events, n):
    post = MIX.posterior(events, n)

    def unnormalised(t):
        return MIX.pdf(t) * stats.binom.pmf(events, n, t)

    z = integrate.quad(unnormalised, 0, 1, points=[0.2, 0.3])[0]
    for x in (0.1, 0.25, 0.4):
        assert post.cdf(x) == pytest.approx(integrate.quad(unnormalised, 0, x)[0] / z, abs=1e-9)


def test_predictive_pmf_by_quadrature():
    n = 10
    pmf = MIX.predictive_pmf(n)
    expected = [
        integrate.quad(lambda t, y=y: MIX.pdf(t) * stats.binom.pmf(y, n, t), 0, 1)[0]
        for y in range(n + 1)
    ]
    assert np.allclose(pmf, expected, atol=1e-10)
    assert pmf.sum() == pytest.approx(1.0)


def test_robustify_adds_a_unit_information_component():
    rob = robustify(MIX, 0.2)  # defaults: mean 1/2, n = 1 -> Beta(1, 1)
    assert rob.labels == ("comp1", "comp2", "robust")
    assert rob.a[-1] == 1.0 and rob.b[-1] == 1.0
    assert np.allclose(rob.weights, [0.48, 0.32, 0.2])
    shifted = robustify(MIX, 0.1, mean=0.25)
    assert (shifted.a[-1], shifted.b[-1]) == (0.5, 1.5)
    with pytest.raises(ValueError):
        robustify(MIX, 1.5)


def test_modes_ignore_flat_stretches_and_find_both_peaks():
    assert robustify(MIX, 0.2).modes().size == 1
    two = BetaMixture.of([0.5, 0.5], [3, 20], [20, 3])
    assert sorted(two.modes()) == pytest.approx([2 / 21, 19 / 21], abs=1e-5)
    assert BetaMixture.beta(0.5, 1).mode() == 0.0
