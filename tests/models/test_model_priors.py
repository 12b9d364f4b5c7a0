"""Priors: densities against scipy/quadrature, PyMC parametrisation, specs and their errors."""

from __future__ import annotations

import math

import numpy as np
import pymc as pm
import pytest
from scipy import integrate, stats

from bayes_anlo.errors import InputError
from bayes_anlo.models import (
    MODELS,
    BetaBinomial,
    BetaBinomialPriors,
    CompletePoolingPriors,
    LogitNormalPriors,
    NestedBetaBinomial,
    NestedBetaBinomialPriors,
    TwoArmPriors,
)
from bayes_anlo.models.priors import (
    DISTRIBUTIONS,
    Beta,
    Gamma,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    LogNormal,
    Normal,
    Pareto,
    Uniform,
    distribution_from_dict,
)

EXAMPLES = {
    "beta": Beta(2.0, 5.0),
    "uniform": Uniform(0.1, 0.7),
    "normal": Normal(-1.0, 2.0),
    "logistic": DISTRIBUTIONS["logistic"](0.5, 1.5),
    "halfnormal": HalfNormal(0.7),
    "halfcauchy": HalfCauchy(1.3),
    "halfstudentt": HalfStudentT(4.0, 0.8),
    "lognormal": LogNormal(3.0, 1.5),
    "gamma": Gamma(2.0, 0.1),
    "exponential": DISTRIBUTIONS["exponential"](0.5),
    "pareto": Pareto(0.5, 1.0),
}
PRIOR_SETS = [
    BetaBinomialPriors,
    CompletePoolingPriors,
    LogitNormalPriors,
    NestedBetaBinomialPriors,
    TwoArmPriors,
]


def test_every_family_has_an_example():
    assert set(EXAMPLES) == set(DISTRIBUTIONS)


@pytest.mark.parametrize("family", sorted(EXAMPLES))
def test_density_integrates_to_one(family):
    """The log density is a normalised density on its support (quadrature, not scipy's own cdf)."""
    dist = EXAMPLES[family]
    lo, hi = dist.bounds()
    total, _ = integrate.quad(lambda x: math.exp(dist.logpdf(x)), lo, hi, limit=500)
    assert total == pytest.approx(1.0, abs=2e-6)


def test_densities_against_formulas():
    x = 1.3
    assert HalfNormal(2.0).logpdf(x) == pytest.approx(math.log(2) + stats.norm.logpdf(x, 0, 2))
    assert LogNormal(3.0, 1.5).logpdf(x) == pytest.approx(
        stats.norm.logpdf(math.log(x), 3.0, 1.5) - math.log(x)
    )
    assert Gamma(2.0, 0.1).logpdf(x) == pytest.approx(
        2 * math.log(0.1) + math.log(x) - 0.1 * x - math.lgamma(2)
    )
    assert Pareto(0.5, 1.0).logpdf(4.0) == pytest.approx(math.log(0.5) - 1.5 * math.log(4.0))
    assert Pareto(0.5, 1.0).logpdf(0.5) == -math.inf


@pytest.mark.parametrize("family", sorted(EXAMPLES))
def test_pymc_variable_has_the_same_density(family):
    """``to_pymc`` builds the distribution the scipy density describes (parametrisations agree)."""
    dist = EXAMPLES[family]
    value = float(dist.quantile(0.3))
    with pm.Model() as model:
        dist.to_pymc("x")
    rv = model["x"]
    transform = model.rvs_to_transforms[rv]
    value_var = model.rvs_to_values[rv]
    point_value = (
        transform.forward(value, *rv.owner.inputs).eval() if transform is not None else value
    )
    logp = model.compile_logp(jacobian=False)({value_var.name: point_value})
    assert float(logp) == pytest.approx(float(dist.logpdf(value)), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("family", sorted(EXAMPLES))
def test_rvs_follow_the_distribution(family):
    dist = EXAMPLES[family]
    draws = dist.rvs(4000, np.random.default_rng(1))
    lo, hi = dist.bounds()
    assert np.all((draws >= lo) & (draws <= hi))
    # the sample median matches the distribution's median (binomial 99.9% bound on the rank)
    frac = np.mean(draws <= dist.quantile(0.5))
    assert abs(frac - 0.5) < 3.3 * math.sqrt(0.25 / 4000)


def test_from_dict_reads_spec_and_keeps_defaults():
    priors = BetaBinomialPriors.from_dict(
        {
            "mu": {"dist": "beta", "alpha": 1, "beta": 1},
            "kappa": {"dist": "lognormal", "mu": 2.5, "sigma": 1},
        }
    )
    assert priors == BetaBinomialPriors(mu=Beta(1, 1), kappa=LogNormal(2.5, 1))
    partial = LogitNormalPriors.from_dict({"tau": {"dist": "halfcauchy", "beta": 0.5}})
    assert partial.mu == LogitNormalPriors().mu and partial.tau == HalfCauchy(0.5)


@pytest.mark.parametrize("cls", PRIOR_SETS)
def test_round_trip_through_dict(cls):
    for priors in [cls(), *cls.alternatives().values()]:
        assert cls.from_dict(priors.to_dict()) == priors


@pytest.mark.parametrize("cls", PRIOR_SETS)
def test_alternatives_are_named_and_differ(cls):
    alternatives = cls.alternatives()
    assert len(alternatives) >= 2  # the report refits under at least two alternative priors
    for name, priors in alternatives.items():
        assert isinstance(priors, cls)
        assert priors != cls()
        assert cls.named(name) == priors
        assert cls.from_dict({"set": name}) == priors


def test_errors_are_located_and_collected():
    spec = {
        "mu": {"dist": "betta", "alpha": 1},
        "kapa": {"dist": "lognormal", "mu": 1, "sigma": 1},
        "kappa": {"dist": "lognormal", "mu": 1, "sigma": -1, "scale": 2},
    }
    with pytest.raises(InputError) as info:
        BetaBinomialPriors.from_dict(spec, source="spec.toml", path="analyses.orr.priors")
    text = str(info.value)
    assert "spec.toml:analyses.orr.priors.mu:dist: unknown distribution 'betta'" in text
    assert "spec.toml:analyses.orr.priors:kapa: unknown prior 'kapa'" in text
    assert "spec.toml:analyses.orr.priors.kappa:scale: unknown parameter 'scale'" in text
    assert len(info.value.problems) == 3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kappa": {"dist": "lognormal", "mu": 1, "sigma": 0}}, "must be > 0"),
        ({"kappa": {"dist": "lognormal", "mu": 1}}, "missing parameter 'sigma'"),
        ({"kappa": {"mu": 1, "sigma": 1}}, "missing 'dist'"),
        ({"kappa": {"dist": "lognormal", "mu": "one", "sigma": 1}}, "must be a number"),
        ({"kappa": {"dist": "normal", "mu": 1, "sigma": 1}}, "does not live on (0, inf)"),
        ({"mu": {"dist": "lognormal", "mu": 1, "sigma": 1}}, "does not live on (0, 1)"),
        ({"kappa": 3}, "a prior must be a table"),
        ({"set": "nonexistent"}, "unknown prior set 'nonexistent'"),
    ],
)
def test_bad_specs_raise_input_errors(spec, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        BetaBinomialPriors.from_dict(spec)


def test_direct_construction_checks_support():
    with pytest.raises(ValueError, match="must live on"):
        BetaBinomialPriors(mu=Normal(0, 1))
    with pytest.raises(ValueError, match="must be > 0"):
        HalfNormal(-1.0)
    with pytest.raises(ValueError, match="upper"):
        Uniform(1.0, 0.5)
    assert distribution_from_dict(Beta(2, 2)) == Beta(2, 2)


def test_model_constructors_store_configuration_and_validate():
    model = BetaBinomial(
        {"mu": {"dist": "beta", "alpha": 0.5, "beta": 0.5}}, method="exact", thresholds=[0.1, 0.2]
    )
    assert (
        model.priors.mu == Beta(0.5, 0.5)
        and model.thresholds == (0.1, 0.2)
        and model.method == "exact"
    )
    assert BetaBinomial("bda_proper").priors == BetaBinomialPriors.named("bda_proper")
    with pytest.raises(TypeError):
        BetaBinomial(LogitNormalPriors())
    with pytest.raises(ValueError, match="thresholds"):
        BetaBinomial(thresholds=[1.5])
    with pytest.raises(ValueError, match="method"):
        NestedBetaBinomial(method="laplace")
    with pytest.raises(ValueError, match="within"):
        NestedBetaBinomial(within="poisson")


def test_registry_names_every_model():
    assert {"beta_binomial", "nested_beta_binomial", "logit_normal", "two_arm"} <= set(MODELS)
    for name, cls in MODELS.items():
        assert cls.name == name
        if name == "piecewise_exponential":  # survival: its priors are checked in tests/survival
            continue
        required = {"meta_regression": {"moderators": ["year"]}}  # options without a default
        default = cls(**required.get(name, {}))
        assert isinstance(default.priors, cls.priors_class)
        assert default.priors.describe()  # the line the report prints
        for field_name, _ in default.priors.items():
            assert field_name in cls.priors_class.MEANING
