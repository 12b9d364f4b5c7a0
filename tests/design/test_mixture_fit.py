"""EM fit of beta mixtures: recovery of known mixtures from their draws and the choice of the
number of components."""

import numpy as np
import pytest

from bayes_anlo.design.mixture_fit import approximation_accuracy, auto_fit, fit_beta_mixture
from bayes_anlo.design.mixtures import BetaMixture

TRUE = BetaMixture.of([0.6, 0.4], [20.0, 30.0], [60.0, 20.0])


def test_em_recovers_a_two_component_mixture():
    draws = TRUE.sample(3000, np.random.default_rng(1))
    fit = fit_beta_mixture(draws, 2)
    mix = fit.mixture
    assert fit.converged
    assert mix.weights[0] == pytest.approx(0.6, abs=0.04)
    means = sorted(np.array(mix.a) / (np.array(mix.a) + np.array(mix.b)))
    assert means == pytest.approx([0.25, 0.6], abs=0.01)
    # the fit is a maximum: the true parameters have a lower log-likelihood on the same draws
    assert fit.loglik >= float(TRUE.logpdf(draws).sum())


@pytest.mark.parametrize("criterion", ["rbest", "bic", "aic"])
def test_criterion_picks_two_components_for_a_two_component_sample(criterion):
    draws = TRUE.sample(2000, np.random.default_rng(2))
    chosen = auto_fit(draws, max_components=3, criterion=criterion).best
    assert chosen.mixture.size == 2


def test_a_single_beta_sample_keeps_one_component_under_rbest_and_bic():
    draws = np.random.default_rng(3).beta(6.0, 18.0, size=2000)
    for criterion in ("rbest", "bic"):
        fits = auto_fit(draws, max_components=3, criterion=criterion)
        assert fits.best.mixture.size == 1
        assert [row["components"] for row in fits.table()] == [1, 2, 3]
    one = fits.fits[0].mixture
    assert (one.a[0], one.b[0]) == pytest.approx((6.0, 18.0), rel=0.08)


def test_components_are_constrained_to_a_and_b_at_least_one():
    draws = np.random.default_rng(4).beta(0.6, 3.0, size=1000)
    mix = fit_beta_mixture(draws, 1).mixture
    assert mix.a[0] >= 1.0 and mix.b[0] >= 1.0


def test_accuracy_is_small_for_the_true_mixture_and_large_for_a_wrong_one():
    draws = TRUE.sample(4000, np.random.default_rng(5))
    good = approximation_accuracy(TRUE, draws)
    bad = approximation_accuracy(BetaMixture.beta(2, 2), draws)
    assert good["ks_distance"] < 0.03 < bad["ks_distance"]
    assert abs(good["mean_difference"]) < 4 * TRUE.sd() / np.sqrt(draws.size)


def test_bad_draws_are_refused():
    with pytest.raises(ValueError):
        fit_beta_mixture([0.2, 1.3] * 20, 1)
    with pytest.raises(ValueError):
        auto_fit(np.full(100, 0.3), criterion="waic")
