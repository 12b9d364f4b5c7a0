"""Bayesian models for response rates (events out of n) across studies, subgroups and arms.

Every model is a thin class over a pure ``build_<model>(data, priors) -> pymc.Model``::

    from bayes_anlo.models import BetaBinomial, exceedance
    fit = BetaBinomial(method="exact", thresholds=(0.1, 0.2)).fit(data, random_seed=1)
    exceedance(fit)                     # P(rate > t) per rate variable and threshold

Every family implements one contract (:class:`~bayes_anlo.models.contract.Model`: ``fit``,
``config``/``from_config``/``from_tree``, ``from_spec``, the exact-engine hook); ``MODELS`` (the
registry, :mod:`bayes_anlo.models.registry`) maps the spec names to the classes. Variable names
shared by all fits (the reporting layer relies on them): ``pooled_rate``, ``predictive_rate``,
``study_rate`` (dim ``unit``), ``subgroup_rate``/``subgroup_predictive_rate`` (dim ``subgroup``),
``kappa``/``icc`` or ``tau``, ``rate`` (dim ``arm``), ``difference``, ``ratio``, ``odds_ratio``;
groups ``log_likelihood``, ``posterior_predictive``, ``observed_data`` (``events``) and
``constant_data`` (``n``).
"""

from bayes_anlo.models.beta_binomial import (
    BetaBinomial,
    CompletePooling,
    build_beta_binomial,
    build_complete_pooling,
)
from bayes_anlo.models.binary import BinaryModel, exceedance, prob_superior
from bayes_anlo.models.contract import Model
from bayes_anlo.models.exnex import Exnex, ExnexPriors, build_exnex, exchangeability_table
from bayes_anlo.models.logit_normal import LogitNormal, build_logit_normal
from bayes_anlo.models.meta_regression import (
    MetaRegression,
    MetaRegressionPriors,
    build_meta_regression,
    slope_table,
)
from bayes_anlo.models.nested_beta_binomial import NestedBetaBinomial, build_nested_beta_binomial
from bayes_anlo.models.piecewise_exponential import PiecewiseExponential, PiecewiseExponentialPriors
from bayes_anlo.models.priors import (
    BetaBinomialPriors,
    CompletePoolingPriors,
    LogitNormalPriors,
    NestedBetaBinomialPriors,
    TwoArmPriors,
)
from bayes_anlo.models.registry import FAMILIES
from bayes_anlo.models.sampling import SamplerSettings
from bayes_anlo.models.two_arm import TwoArm, build_two_arm, two_arm_exact

#: The registry (spec name -> family class); the same dict as ``registry.FAMILIES``.
MODELS = FAMILIES

__all__ = [
    "MODELS",
    "Model",
    "PiecewiseExponential",
    "PiecewiseExponentialPriors",
    "BetaBinomial",
    "BetaBinomialPriors",
    "BinaryModel",
    "CompletePooling",
    "CompletePoolingPriors",
    "Exnex",
    "ExnexPriors",
    "LogitNormal",
    "LogitNormalPriors",
    "MetaRegression",
    "MetaRegressionPriors",
    "NestedBetaBinomial",
    "NestedBetaBinomialPriors",
    "SamplerSettings",
    "TwoArm",
    "TwoArmPriors",
    "build_beta_binomial",
    "build_complete_pooling",
    "build_exnex",
    "build_logit_normal",
    "build_meta_regression",
    "build_nested_beta_binomial",
    "build_two_arm",
    "exceedance",
    "exchangeability_table",
    "prob_superior",
    "slope_table",
    "two_arm_exact",
]
