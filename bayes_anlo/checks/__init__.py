"""Checks of fitted models: convergence diagnostics and posterior predictive checks."""

from bayes_anlo.checks.diagnostics import Convergence, convergence, diagnostics_table, divergences
from bayes_anlo.checks.ppc import chi2_discrepancy, ppc_replicated, ppc_statistics

__all__ = [
    "Convergence",
    "chi2_discrepancy",
    "convergence",
    "diagnostics_table",
    "divergences",
    "ppc_replicated",
    "ppc_statistics",
]
