"""Run every check of an extraction and collect the verdicts into an :class:`AuditResult`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bayes_anlo.audit.checks import CheckOutcome, run_check
from bayes_anlo.audit.consistency import check_consistency, consistency_groups
from bayes_anlo.audit.extraction import Extraction, load_extraction
from bayes_anlo.audit.result import DETAIL_COLUMNS, TABLE_COLUMNS, AuditResult


def _row(item_id, location, quantity, check, printed, named, outcome: CheckOutcome) -> dict:
    return {
        "item_id": item_id,
        "location": location,
        "quantity": quantity,
        "check": check,
        "printed": printed,
        "named_method": named,
        "recomputed": outcome.recomputed,
        "matching": ", ".join(outcome.matching),
        "candidates": outcome.candidates,
        "verdict": outcome.verdict,
        "note": outcome.note,
    }


def run_audit(source: str | Path | pd.DataFrame | Extraction) -> AuditResult:
    """Audit the statistics a paper printed.

    Parameters
    ----------
    source : path, DataFrame, bundled audit name, or :class:`Extraction`
        The extraction (format: :mod:`bayes_anlo.audit.extraction`). A string that is not an
        existing file but is a bundled audit name (:func:`list_bundled_audits`) loads that one.

    Returns
    -------
    AuditResult
        One row per item and check, in file order; each group of rows printing the same quantity
        adds a ``consistency`` row after the group's last item.

    Raises
    ------
    bayes_anlo.errors.InputError
        For an extraction that does not validate (every problem, ``file:row:column``).
    """
    extraction = source if isinstance(source, Extraction) else load_extraction(source)
    groups = consistency_groups(extraction.items)
    grouped_ids = {item.item_id for g in groups for item in g}
    last_of_group = {g[-1].item_id: g for g in groups}

    rows, details = [], []

    def add(item_id, location, quantity, check, printed, named, outcome):
        rows.append(_row(item_id, location, quantity, check, printed, named, outcome))
        details.extend({"item_id": item_id, "check": check, **d} for d in outcome.details)

    for item in extraction.items:
        if not (item.check in ("count", "estimate") and item.item_id in grouped_ids):
            add(
                item.item_id,
                item.location,
                item.quantity,
                item.check,
                item.printed_text(),
                item.method,
                run_check(item),
            )
        group = last_of_group.get(item.item_id)
        if group is not None:
            add(
                " | ".join(i.item_id for i in group),
                " | ".join(i.location for i in group),
                group[0].quantity,
                "consistency",
                " | ".join(i.printed_text() for i in group),
                "",
                check_consistency(group),
            )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    detail_frame = pd.DataFrame(details, columns=DETAIL_COLUMNS)
    return AuditResult(table, detail_frame, extraction.source, extraction.sha256)


__all__ = ["run_audit"]
