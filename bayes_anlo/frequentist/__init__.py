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

__all__ = [
    "CumulativeResult",
    "FunnelData",
    "HeterogeneityCI",
    "InfluenceResult",
    "MetaRegressionResult",
    "SmallStudyTest",
    "TAU2_METHODS",
    "TrimFillResult",
    "UniFit",
    "cumulative_meta_analysis",
    "fit_uni",
    "funnel_data",
    "influence_diagnostics",
    "meta_regression",
    "q_profile_ci",
    "regression_test",
    "trim_and_fill",
    "ArmComparison",
    "CoxResult",
    "compare_arms",
    "cox_ph",
    "ModeratorTest",
    "PooledResult",
    "ProportionInterval",
    "RiskDifference",
    "SubgroupResult",
    "TestResult",
    "back_transform",
    "chi_square",
    "escalc",
    "fisher_exact",
    "glmm_logit",
    "ipft",
    "ipft_hm",
    "leave_one_out",
    "pft",
    "pool_proportions",
    "pool_summary",
    "proportion_ci",
    "risk_difference",
    "subgroup_analysis",
]
