"""bayes_anlo.audit: recompute what a paper printed and say which method reproduces it.

An *audit extraction* (CSV, format in :mod:`bayes_anlo.audit.extraction`) lists the numbers a
paper prints, each with its location: counts with percentages, confidence intervals of
proportions, p-values of two-group comparisons, totals and their parts, medians with intervals,
heterogeneity statistics. :func:`run_audit` redoes the arithmetic under every method the paper
could have used (Clopper-Pearson, Wilson, Wald, SPSS t, Agresti-Coull, Jeffreys intervals;
Fisher and chi-square tests; other denominators), keeps the methods that reproduce the printing
at its printed precision, compares that with the method the paper names, and compares printings
of the same quantity with each other::

    import bayes_anlo as ba
    result = ba.audit.run_audit("npc_qin2025")     # a bundled audit, or a CSV path
    result.summary()                               # checks per verdict
    result.flagged                                 # True when anything needs a look
    print(result.to_markdown())

Drafting an extraction from a paper's text (:func:`draft_extraction`, after
:func:`read_paper_text` for a text or PDF file) and back-solving which counts and methods
reproduce a printing (:func:`interval_candidates`, :func:`percent_candidates`,
:func:`pvalue_candidates`; the audit fills its ``candidates`` column with them)::

    draft = ba.audit.draft_extraction(ba.audit.read_paper_text("paper.pdf"))
    ba.audit.run_audit(draft)                      # audits as it is

Bundled audits of the seed papers: :func:`list_bundled_audits`, :func:`bundled_audit_path`.
The module itself is callable: ``bayes_anlo.audit(source)`` is ``run_audit(source)``.
"""

import sys as _sys
import types as _types

from bayes_anlo.audit.backsolve import (
    interval_candidates,
    percent_candidates,
    pvalue_candidates,
)
from bayes_anlo.audit.checks import FLAGGED_VERDICTS, VERDICTS
from bayes_anlo.audit.draft import draft_extraction
from bayes_anlo.audit.draft_quality import compare_draft
from bayes_anlo.audit.engine import run_audit
from bayes_anlo.audit.extraction import CHECKS, Extraction, Item, load_extraction
from bayes_anlo.audit.paper_text import read_paper_text
from bayes_anlo.audit.registry import (
    bundled_audit_citation,
    bundled_audit_path,
    list_bundled_audits,
)
from bayes_anlo.audit.result import AuditResult

__all__ = [
    "AuditResult",
    "CHECKS",
    "Extraction",
    "FLAGGED_VERDICTS",
    "Item",
    "VERDICTS",
    "bundled_audit_citation",
    "bundled_audit_path",
    "compare_draft",
    "draft_extraction",
    "interval_candidates",
    "list_bundled_audits",
    "load_extraction",
    "percent_candidates",
    "pvalue_candidates",
    "read_paper_text",
    "run_audit",
]


class _CallableModule(_types.ModuleType):
    """Makes ``bayes_anlo.audit(source)`` a shorthand for :func:`run_audit` while the name stays
    this subpackage (so ``import bayes_anlo.audit`` and ``from bayes_anlo.audit import ...``
    work)."""

    def __call__(self, source):
        return run_audit(source)


_sys.modules[__name__].__class__ = _CallableModule
