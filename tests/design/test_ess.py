"""Effective sample size: exact values for single betas, the ELIR quadrature against Monte
Carlo, and R RBesT's published values for its ankylosing-spondylitis MAP mixture."""

import numpy as np
import pytest

from bayes_anlo.design.ess import ess, ess_all, ess_elir, ess_morita, local_information
from bayes_anlo.design.mixtures import BetaMixture, robustify

#: The MAP mixture printed by RBesT's vignette "Getting started with RBesT (binary)" (RBesT
#: 1.8-2, inst/doc/introduction.html, section "Parametric Approximation"), and its ESS as printed
#: there (section "Effective Sample Size": elir 37, moment 26, morita 63; "Robustification":
#: ess(robustify(map, weight = 0.2, mean = 1/2)) = 26), each rounded to an integer by the vignette.
RBEST_AS_MAP = BetaMixture.of(
    [0.6167463, 0.3832537], [19.1916387, 3.5278745], [57.7779318, 9.3735980]
)


@pytest.mark.parametrize(("a", "b"), [(2.0, 5.0), (20.0, 60.0), (1.5, 1.5)])
def test_single_beta_elir_and_moment_are_a_plus_b(a, b):
    m = BetaMixture.beta(a, b)
    assert ess(m, "elir") == pytest.approx(a + b, rel=1e-7)
    assert ess(m, "moment") == pytest.approx(a + b, rel=1e-10)


@pytest.mark.parametrize(("a", "b"), [(2.0, 5.0), (20.0, 60.0)])
def test_single_beta_morita_closed_form(a, b):
    # at the mode t: (D(t) - D0(t)) / E info, worked out by hand for one beta
    t = (a - 1) / (a + b - 2)
    s = 100.0
    num = a / t**2 + b / (1 - t) ** 2 - (1 / (s * t) + 1 / (s * (1 - t)))
    den = (b / (a + b)) / (1 - t) ** 2 + (a / (a + b)) / t**2
    assert ess_morita(BetaMixture.beta(a, b)) == pytest.approx(num / den, rel=1e-6)


def test_local_information_by_finite_differences():
    x, h = 0.3, 1e-4
    lp = RBEST_AS_MAP.logpdf
    second = (lp(x + h) - 2 * lp(x) + lp(x - h)) / h**2
    assert local_information(RBEST_AS_MAP, np.array([x]))[0] == pytest.approx(-second, rel=1e-5)


def test_elir_quadrature_matches_monte_carlo():
    mix = robustify(RBEST_AS_MAP, 0.2)
    t = mix.sample(400_000, np.random.default_rng(11))
    values = local_information(mix, t) * t * (1 - t)
    mc, se = values.mean(), values.std() / np.sqrt(t.size)
    assert abs(ess_elir(mix) - mc) < 4 * se


def test_elir_refuses_components_below_one():
    with pytest.raises(ValueError, match="a >= 1"):
        ess_elir(BetaMixture.beta(0.5, 2.0))


def test_rbest_vignette_ess_of_the_published_mixture():
    values = ess_all(RBEST_AS_MAP)
    assert round(values["elir"]) == 37
    assert round(values["moment"]) == 26
    assert round(values["morita"]) == 63
    assert round(ess(robustify(RBEST_AS_MAP, 0.2, 0.5), "elir")) == 26


def test_robustifying_lowers_the_elir_ess_monotonically():
    values = [ess_elir(robustify(RBEST_AS_MAP, w)) for w in (0.0, 0.1, 0.3, 0.5, 0.9)]
    assert all(x > y for x, y in zip(values[:-1], values[1:], strict=True))


def test_undefined_methods_are_none():
    assert ess_all(BetaMixture.beta(1, 1))["morita"] is None  # flat: no mode
    values = ess_all(BetaMixture.beta(0.5, 1))  # a < 1, mode at 0
    assert values["elir"] is None and values["morita"] is None
    assert values["moment"] == pytest.approx(1.5)


def test_elir_at_a_equal_one_loses_that_side():
    # Beta(1, b): i(t) t (1 - t) = (b - 1) t / (1 - t), whose mean is exactly 1
    assert ess_elir(BetaMixture.beta(1.0, 5.0)) == pytest.approx(1.0, rel=1e-6)
    assert ess_elir(BetaMixture.beta(1.0, 1.0)) == 0.0
