"""Frequentist comparators for published proportions, matched to R ``metafor`` and ``stats``.

* :func:`pool_proportions`  random-effects (DL, REML) or common-effect pooling on the double arcsine
  (PFT) or logit scale, as ``metafor::rma``; :class:`PooledResult`.
* :func:`glmm_logit`        random-intercept logistic model, as
  ``metafor::rma.glmm(measure="PLO")``.
* :func:`pool_summary`      PFT/logit x DL/REML and the GLMM side by side, one row each.
* :func:`subgroup_analysis` per-subgroup pooling and tests for subgroup differences;
  :func:`leave_one_out`     ``metafor::leave1out``.
* :func:`proportion_ci`     per-study intervals (Clopper-Pearson, Wilson, Wald, SPSS t, ...).
* :func:`fisher_exact`, :func:`chi_square`, :func:`risk_difference`  two-group comparisons.

Survival (as R ``survival``): :func:`~bayes_anlo.frequentist.kaplan_meier.kaplan_meier` and
:func:`~bayes_anlo.frequentist.kaplan_meier.log_rank` (survfit, survdiff), :func:`cox_ph` (coxph,
Efron ties) and :func:`compare_arms` (all three per arm of patient data).
"""

from bayes_anlo.frequentist.cox import CoxResult, cox_ph
from bayes_anlo.frequentist.glmm import glmm_logit
from bayes_anlo.frequentist.intervals import ProportionInterval, proportion_ci
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
from bayes_anlo.frequentist.subgroups import (
    ModeratorTest,
    SubgroupResult,
    leave_one_out,
    subgroup_analysis,
)
from bayes_anlo.frequentist.survival_arms import ArmComparison, compare_arms
from bayes_anlo.frequentist.two_group import (
    RiskDifference,
    TestResult,
    chi_square,
    fisher_exact,
    risk_difference,
)

__all__ = [
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
