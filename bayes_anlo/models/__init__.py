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

# ruff: noqa: F401  (the imports under TYPE_CHECKING are for static checkers only)
from __future__ import annotations

from typing import TYPE_CHECKING

from bayes_anlo.lazy_import import lazy_package

#: Public name -> the module defining it, imported on first access (PEP 562), so that a caller of
#: one module (``bayes-anlo rates`` reads the prior sets) does not import every family, PyMC's
#: front ends, xarray and the registry.
_NAMES = {
    "BetaBinomial": "bayes_anlo.models.beta_binomial",
    "BetaBinomialPriors": "bayes_anlo.models.priors",
    "BinaryModel": "bayes_anlo.models.binary",
    "build_beta_binomial": "bayes_anlo.models.beta_binomial",
    "build_complete_pooling": "bayes_anlo.models.beta_binomial",
    "build_exnex": "bayes_anlo.models.exnex",
    "build_logit_normal": "bayes_anlo.models.logit_normal",
    "build_meta_regression": "bayes_anlo.models.meta_regression",
    "build_nested_beta_binomial": "bayes_anlo.models.nested_beta_binomial",
    "build_two_arm": "bayes_anlo.models.two_arm",
    "CompletePooling": "bayes_anlo.models.beta_binomial",
    "CompletePoolingPriors": "bayes_anlo.models.priors",
    "exceedance": "bayes_anlo.models.binary",
    "exchangeability_table": "bayes_anlo.models.exnex",
    "Exnex": "bayes_anlo.models.exnex",
    "ExnexPriors": "bayes_anlo.models.exnex",
    "FAMILIES": "bayes_anlo.models.registry",
    "LogitNormal": "bayes_anlo.models.logit_normal",
    "LogitNormalPriors": "bayes_anlo.models.priors",
    "MetaRegression": "bayes_anlo.models.meta_regression",
    "MetaRegressionPriors": "bayes_anlo.models.meta_regression",
    "Model": "bayes_anlo.models.contract",
    "NestedBetaBinomial": "bayes_anlo.models.nested_beta_binomial",
    "NestedBetaBinomialPriors": "bayes_anlo.models.priors",
    "PiecewiseExponential": "bayes_anlo.models.piecewise_exponential",
    "PiecewiseExponentialPriors": "bayes_anlo.models.piecewise_exponential",
    "prob_superior": "bayes_anlo.models.binary",
    "SamplerSettings": "bayes_anlo.models.sampling",
    "slope_table": "bayes_anlo.models.meta_regression",
    "two_arm_exact": "bayes_anlo.models.two_arm",
    "TwoArm": "bayes_anlo.models.two_arm",
    "TwoArmPriors": "bayes_anlo.models.priors",
}
#: Modules of the package reachable as attributes (``ba.models.priors.Beta``).
_SUBMODULES = frozenset(
    {
        "beta_binomial",
        "binary",
        "compile_cache",
        "contract",
        "exnex",
        "logit_normal",
        "meta_regression",
        "nested_beta_binomial",
        "options",
        "piecewise_exponential",
        "priors",
        "registry",
        "sampling",
        "two_arm",
    }
)

__all__ = sorted([*(name for name in _NAMES if name != "FAMILIES"), "MODELS"])

if TYPE_CHECKING:  # static checkers and IDEs see the eager imports
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
    from bayes_anlo.models.nested_beta_binomial import (
        NestedBetaBinomial,
        build_nested_beta_binomial,
    )
    from bayes_anlo.models.piecewise_exponential import (
        PiecewiseExponential,
        PiecewiseExponentialPriors,
    )
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


_lazy_getattr, __dir__ = lazy_package(__name__, _NAMES, _SUBMODULES)


def __getattr__(name: str):
    if name == "MODELS":  # the registry (spec name -> family class), ``registry.FAMILIES``
        value = globals()["MODELS"] = _lazy_getattr("FAMILIES")
        return value
    return _lazy_getattr(name)
