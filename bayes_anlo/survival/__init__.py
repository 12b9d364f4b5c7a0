"""bayes_anlo.survival: piecewise-exponential building blocks for time-to-event evidence.

* :mod:`~bayes_anlo.survival.pwexp`      closed forms (survival, median, RMST, follow-up averages)
* :mod:`~bayes_anlo.survival.collapse`   patient data -> events and exposure per interval; cut
  points
* :mod:`~bayes_anlo.survival.guyot`      pseudo-patients from digitised Kaplan-Meier curves
* :mod:`~bayes_anlo.survival.summaries`  published medians, landmarks and event counts as likelihood
  terms
* :mod:`~bayes_anlo.survival.simulate`   simulated trials, the summaries a paper prints, digitised
  curves

The model is :class:`bayes_anlo.models.piecewise_exponential.PiecewiseExponential`; loaders are in
:mod:`bayes_anlo.data.survival`; the Kaplan-Meier estimator and log-rank test in
:mod:`bayes_anlo.frequentist.kaplan_meier`; predictive checks in
:mod:`bayes_anlo.checks.survival_ppc`.
"""

from bayes_anlo.survival.collapse import (
    DEFAULT_CUTS,
    Collapsed,
    collapse,
    quantile_cuts,
    summary_cuts,
)
from bayes_anlo.survival.guyot import Reconstruction, reconstruct, reconstruct_curve
from bayes_anlo.survival.summaries import SummaryTerms, prepare_terms

__all__ = [
    "DEFAULT_CUTS",
    "Collapsed",
    "Reconstruction",
    "SummaryTerms",
    "collapse",
    "prepare_terms",
    "quantile_cuts",
    "reconstruct",
    "reconstruct_curve",
    "summary_cuts",
]
