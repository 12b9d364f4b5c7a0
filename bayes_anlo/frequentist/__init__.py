"""Frequentist comparators for published proportions, matched to R ``metafor`` and ``stats``.

* :func:`pool_proportions`  random-effects (DL, REML) or common-effect pooling on the double arcsine
  (PFT) or logit scale, as ``metafor::rma``; :class:`PooledResult`.
* :func:`glmm_logit`        random-intercept logistic model, as
  ``metafor::rma.glmm(measure="PLO")``.
* :func:`pool_summary`      PFT/logit x DL/REML and the GLMM side by side, one row each.
* ``pool_proportions(method=...)`` takes every tau^2 estimator of metafor (DL, REML, PM, ML, SJ, HS,
  EB; :data:`TAU2_METHODS`) and ``test="knha"`` (Hartung-Knapp); :func:`q_profile_ci` (``confint``)
  for tau^2, I^2, H^2; :func:`fit_uni` the ``rma.uni`` model itself.
* :func:`influence_diagnostics` (``influence``, Baujat coordinates),
  :func:`cumulative_meta_analysis` (``cumul``), :func:`regression_test` (``regtest``: Egger,
  sample size), :func:`trim_and_fill`, :func:`funnel_data`, :func:`meta_regression`
  (``rma(mods = ~ x)``).
* :func:`subgroup_analysis` per-subgroup pooling and tests for subgroup differences;
  :func:`leave_one_out`     ``metafor::leave1out``.
* :func:`proportion_ci`     per-study intervals (Clopper-Pearson, Wilson, Wald, SPSS t, ...).
* :func:`fisher_exact`, :func:`chi_square`, :func:`risk_difference`  two-group comparisons.

Survival (as R ``survival``): :func:`~bayes_anlo.frequentist.kaplan_meier.kaplan_meier` and
:func:`~bayes_anlo.frequentist.kaplan_meier.log_rank` (survfit, survdiff), :func:`cox_ph` (coxph,
Efron ties) and :func:`compare_arms` (all three per arm of patient data).
"""

# ruff: noqa: F401  (the imports under TYPE_CHECKING are for static checkers only)
from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from bayes_anlo.lazy_import import lazy_package

#: Public name -> the module defining it; each module is imported on first access (PEP 562), so
#: ``bayes-anlo rates`` does not pay for the survival code (and its scipy.stats) it never calls.
_NAMES = {
    "ArmComparison": "bayes_anlo.frequentist.survival_arms",
    "back_transform": "bayes_anlo.frequentist.pooling",
    "chi_square": "bayes_anlo.frequentist.two_group",
    "compare_arms": "bayes_anlo.frequentist.survival_arms",
    "cox_ph": "bayes_anlo.frequentist.cox",
    "CoxResult": "bayes_anlo.frequentist.cox",
    "cumulative_meta_analysis": "bayes_anlo.frequentist.cumulative",
    "CumulativeResult": "bayes_anlo.frequentist.cumulative",
    "escalc": "bayes_anlo.frequentist.pooling",
    "fisher_exact": "bayes_anlo.frequentist.two_group",
    "fit_uni": "bayes_anlo.frequentist.random_effects",
    "funnel_data": "bayes_anlo.frequentist.small_study",
    "FunnelData": "bayes_anlo.frequentist.small_study",
    "glmm_logit": "bayes_anlo.frequentist.glmm",
    "HeterogeneityCI": "bayes_anlo.frequentist.tau2",
    "influence_diagnostics": "bayes_anlo.frequentist.influence",
    "InfluenceResult": "bayes_anlo.frequentist.influence",
    "ipft": "bayes_anlo.frequentist.pooling",
    "ipft_hm": "bayes_anlo.frequentist.pooling",
    "leave_one_out": "bayes_anlo.frequentist.subgroups",
    "meta_regression": "bayes_anlo.frequentist.meta_regression",
    "MetaRegressionResult": "bayes_anlo.frequentist.meta_regression",
    "ModeratorTest": "bayes_anlo.frequentist.subgroups",
    "pft": "bayes_anlo.frequentist.pooling",
    "pool_proportions": "bayes_anlo.frequentist.pooling",
    "pool_summary": "bayes_anlo.frequentist.pool_table",
    "PooledResult": "bayes_anlo.frequentist.pooling",
    "proportion_ci": "bayes_anlo.frequentist.intervals",
    "ProportionInterval": "bayes_anlo.frequentist.intervals",
    "q_profile_ci": "bayes_anlo.frequentist.tau2",
    "regression_test": "bayes_anlo.frequentist.small_study",
    "risk_difference": "bayes_anlo.frequentist.two_group",
    "RiskDifference": "bayes_anlo.frequentist.two_group",
    "SmallStudyTest": "bayes_anlo.frequentist.small_study",
    "subgroup_analysis": "bayes_anlo.frequentist.subgroups",
    "SubgroupResult": "bayes_anlo.frequentist.subgroups",
    "TAU2_METHODS": "bayes_anlo.frequentist.tau2",
    "TestResult": "bayes_anlo.frequentist.two_group",
    "trim_and_fill": "bayes_anlo.frequentist.small_study",
    "TrimFillResult": "bayes_anlo.frequentist.small_study",
    "UniFit": "bayes_anlo.frequentist.random_effects",
}

#: Modules of the package reachable as attributes (``ba.frequentist.kaplan_meier.log_rank``).
_SUBMODULES = frozenset(
    {
        "cox",
        "cumulative",
        "distributions",
        "effects",
        "glmm",
        "influence",
        "intervals",
        "kaplan_meier",
        "meta_regression",
        "pool_table",
        "pooling",
        "random_effects",
        "root_finding",
        "small_study",
        "subgroups",
        "survival_arms",
        "tau2",
        "two_group",
    }
)

__all__ = sorted(_NAMES)

if TYPE_CHECKING:  # static checkers and IDEs see the eager imports
    from bayes_anlo.frequentist.cox import CoxResult, cox_ph
    from bayes_anlo.frequentist.cumulative import CumulativeResult, cumulative_meta_analysis
    from bayes_anlo.frequentist.glmm import glmm_logit
    from bayes_anlo.frequentist.influence import InfluenceResult, influence_diagnostics
    from bayes_anlo.frequentist.intervals import ProportionInterval, proportion_ci
    from bayes_anlo.frequentist.meta_regression import (
        MetaRegressionResult,
        meta_regression,
    )
    from bayes_anlo.frequentist.pool_table import pool_summary
    from bayes_anlo.frequentist.pooling import (
        PooledResult,
        back_transform,
        escalc,
        ipft,
        ipft_hm,
        pft,
        pool_proportions,
    )
    from bayes_anlo.frequentist.random_effects import UniFit, fit_uni
    from bayes_anlo.frequentist.small_study import (
        FunnelData,
        SmallStudyTest,
        TrimFillResult,
        funnel_data,
        regression_test,
        trim_and_fill,
    )
    from bayes_anlo.frequentist.subgroups import (
        ModeratorTest,
        SubgroupResult,
        leave_one_out,
        subgroup_analysis,
    )
    from bayes_anlo.frequentist.survival_arms import ArmComparison, compare_arms
    from bayes_anlo.frequentist.tau2 import TAU2_METHODS, HeterogeneityCI, q_profile_ci
    from bayes_anlo.frequentist.two_group import (
        RiskDifference,
        TestResult,
        chi_square,
        fisher_exact,
        risk_difference,
    )


__getattr__, __dir__ = lazy_package(__name__, _NAMES, _SUBMODULES)


class _Package(types.ModuleType):
    """The package module: a public function keeps its attribute when the submodule of the same
    name (``meta_regression``) is imported, which would otherwise rebind it to the module."""

    def __setattr__(self, name, value):
        if name in _NAMES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
