"""Helpers for the audit tests: build an extraction table from a few dicts."""

import pandas as pd

from bayes_anlo.audit.extraction import ALL_COLUMNS


def make_extraction(*rows: dict) -> pd.DataFrame:
    """An extraction DataFrame with every column, cells as strings ('' where not given)."""
    records = []
    for i, row in enumerate(rows):
        rec = {c: "" for c in ALL_COLUMNS}
        rec.update({"item_id": f"item{i + 1}", "location": "Results", "quantity": f"q{i + 1}"})
        rec.update({k: "" if v is None else str(v) for k, v in row.items()})
        records.append(rec)
    return pd.DataFrame(records, columns=ALL_COLUMNS)
