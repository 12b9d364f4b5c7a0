"""Decision rules, boundaries, operating characteristics and probability of success: exact sums
checked against simulation, and R RBesT's published two-sample results for its
ankylosing-spondylitis design (vignette "Getting started with RBesT (binary)", RBesT 1.8-2,
inst/doc/introduction.html, sections "Operating Characteristics", "Data Scenarios", "Trial
Analysis"), computed here from the MAP mixture the vignette prints."""

import warnings
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from bayes_anlo.design.decisions import (
    Criterion,
    OneSampleRule,
    TwoSampleRule,
    boundary_two_sample,
    critical_events,
    difference_for_power,
    oc_one_sample,
    oc_two_sample,
    pos_one_sample,
    pos_two_sample,
    prob_difference,
)
from bayes_anlo.design.mixtures import BetaMixture, robustify
from tests.design.test_ess import RBEST_AS_MAP

UNIFORM = BetaMixture.beta(1, 1)
TREAT = BetaMixture.beta(0.5, 1)  # the vignette's treatment prior, mixbeta(c(1, 0.5, 1))
SUPERIORITY = TwoSampleRule([Criterion(threshold=0.0, probability=0.95)])


def test_criterion_checks_its_arguments():
    with pytest.raises(ValueError):
        Criterion(0.2, 1.2)
    with pytest.raises(ValueError):
        Criterion(0.2, 0.9, direction="above")
    assert Criterion(0.2, 0.9, "less").met(0.05)


def test_prob_difference_against_monte_carlo():
    post_t, post_c = TREAT.posterior(9, 20), robustify(RBEST_AS_MAP, 0.3).posterior(2, 10)
    rng = np.random.default_rng(5)
    diff = post_t.sample(400_000, rng) - post_c.sample(400_000, rng)
    for d in (-0.1, 0.0, 0.15):
        p = np.mean(diff > d)
        assert prob_difference(post_t, post_c, d) == pytest.approx(
            p, abs=4 * np.sqrt(p * (1 - p) / diff.size)
        )


@pytest.mark.parametrize("d", [0.1, 0.5, -0.3, 0.0])
def test_prob_difference_of_concentrated_posteriors_is_exact_to_1e10(d):
    """Beta(5, 1) against Beta(1, 5): P(p_T - p_C > d) is the integral of a polynomial,
    5 (1 - x)^4 (1 - (x + d)^5) over the x where 0 <= x + d <= 1 (plus P(p_C < -d) for d < 0),
    computed here in exact rational arithmetic. The quadrature used to stall on roundoff at the
    kink where p_C + d reaches 1 (error 8.8e-7 at d = 0.1, with an IntegrationWarning)."""
    dd = Fraction(str(d))

    def times(p, q):  # product of polynomials given by their coefficients, lowest power first
        out = [Fraction(0)] * (len(p) + len(q) - 1)
        for i, pi in enumerate(p):
            for j, qj in enumerate(q):
                out[i + j] += pi * qj
        return out

    density = [Fraction(5)]  # Beta(1, 5): 5 (1 - x)^4
    shifted = [Fraction(1)]  # (x + dd)^5
    for _ in range(4):
        density = times(density, [1, -1])
    for _ in range(5):
        shifted = times(shifted, [dd, 1])
    survival = [1 - shifted[0], *(-c for c in shifted[1:])]  # Beta(5, 1): 1 - (x + dd)^5
    g = times(density, survival)
    lower, upper = max(Fraction(0), -dd), min(Fraction(1), 1 - dd)

    def antiderivative(x):
        return sum(c * x ** (k + 1) / (k + 1) for k, c in enumerate(g))

    exact = antiderivative(upper) - antiderivative(lower)
    if dd < 0:
        exact += 1 - (1 - lower) ** 5  # p_C < -d: then p_T - p_C > d whatever p_T is
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the quadrature converges: no IntegrationWarning
        got = prob_difference(BetaMixture.beta(5, 1), BetaMixture.beta(1, 5), d)
    assert got == pytest.approx(float(exact), abs=1e-10)


def test_one_sample_success_set_and_oc_against_simulation():
    prior = robustify(RBEST_AS_MAP, 0.2)
    rule = OneSampleRule([Criterion(0.2, 0.9), Criterion(0.3, 0.5)])
    success = rule.success(prior, 30)
    crit = critical_events(success)
    assert crit is not None and not success[crit - 1] and success[crit]
    table = rule.boundary(prior, 30)
    assert table["success"].tolist() == success.tolist()
    rng = np.random.default_rng(3)
    for rate in (0.2, 0.3, 0.4):
        y = rng.binomial(30, rate, size=200_000)
        sim = np.mean(success[y])
        exact = float(oc_one_sample(rule, prior, 30, [rate])[0])
        assert exact == pytest.approx(sim, abs=4 * np.sqrt(sim * (1 - sim) / y.size) + 1e-9)
        assert exact == pytest.approx(stats.binom.sf(crit - 1, 30, rate))


def test_one_sample_pos_with_interim_against_simulation():
    prior = BetaMixture.beta(1, 1)
    rule = OneSampleRule([Criterion(0.2, 0.9)])
    exact = pos_one_sample(rule, prior, 20, interim=(6, 20))
    rng = np.random.default_rng(9)
    p = rng.beta(1 + 6, 1 + 14, size=200_000)  # belief after the interim
    y = rng.binomial(20, p)
    final = np.array([rule.decide(prior.posterior(6 + k, 40)) for k in range(21)])
    sim = np.mean(final[y])
    assert exact == pytest.approx(sim, abs=4 * np.sqrt(sim * (1 - sim) / y.size))


def test_two_sample_matrix_and_oc_against_simulation():
    success = SUPERIORITY.success_matrix(TREAT, RBEST_AS_MAP, 24, 6)
    direct = np.array(
        [
            [
                SUPERIORITY.decide(TREAT.posterior(t, 24), RBEST_AS_MAP.posterior(c, 6))
                for c in (0, 3, 6)
            ]
            for t in (5, 12, 15, 20)
        ]
    )
    assert (success[[5, 12, 15, 20]][:, [0, 3, 6]] == direct).all()
    rng = np.random.default_rng(4)
    yt, yc = rng.binomial(24, 0.55, 200_000), rng.binomial(6, 0.25, 200_000)
    sim = np.mean(success[yt, yc])
    exact = float(oc_two_sample(success, 0.55, 0.25))
    assert exact == pytest.approx(sim, abs=4 * np.sqrt(sim * (1 - sim) / yt.size))
    pos = pos_two_sample(success, TREAT, RBEST_AS_MAP)
    pt, pc = TREAT.sample(200_000, rng), RBEST_AS_MAP.sample(200_000, rng)
    sim = np.mean(success[rng.binomial(24, pt), rng.binomial(6, pc)])
    assert pos == pytest.approx(sim, abs=4 * np.sqrt(sim * (1 - sim) / pt.size))


def test_rbest_trial_analysis_probability():
    # vignette: pmixdiff(postmix(treat_prior, r=14, n=24), postmix(map_robust, r=1, n=6), 0,
    # lower.tail=FALSE) = 0.9913233 (printed to 7 digits)
    map_robust = robustify(RBEST_AS_MAP, 0.2, 0.5)
    p = prob_difference(TREAT.posterior(14, 24), map_robust.posterior(1, 6), 0.0)
    assert p == pytest.approx(0.9913233, abs=1e-6)


def test_rbest_data_scenarios():
    # vignette: decision(postmix(treat, n=24, r=15), postmix(map, n=6, r=3)) = 1, and (14, 4) = 0;
    # "the decision will always be negative if there are less than 10 events in the treatment
    # group"
    assert SUPERIORITY.decide(TREAT.posterior(15, 24), RBEST_AS_MAP.posterior(3, 6))
    assert not SUPERIORITY.decide(TREAT.posterior(14, 24), RBEST_AS_MAP.posterior(4, 6))
    success = SUPERIORITY.success_matrix(TREAT, RBEST_AS_MAP, 24, 6)
    assert not success[:10].any() and success[10].any()
    table = boundary_two_sample(success)
    assert table.loc[0, "min_treatment_events"] == 10


@pytest.mark.parametrize(
    ("design", "delta"),
    [("non-robust", 0.298), ("uniform 24:24", 0.341), ("robust", 0.368), ("uniform", 0.529)],
)
def test_rbest_difference_for_80_percent_power(design, delta):
    # vignette table of find_delta(design, mean_control, 0.8), printed to 3 decimals
    priors = {
        "non-robust": (TREAT, RBEST_AS_MAP, 24, 6),
        "uniform 24:24": (UNIFORM, UNIFORM, 24, 24),
        "robust": (TREAT, robustify(RBEST_AS_MAP, 0.2, 0.5), 24, 6),
        "uniform": (UNIFORM, UNIFORM, 24, 6),
    }
    success = SUPERIORITY.success_matrix(*priors[design])
    found = difference_for_power(success, RBEST_AS_MAP.mean(), 0.8)
    assert found == pytest.approx(delta, abs=5e-4)
