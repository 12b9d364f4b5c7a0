"""The result of an audit: a table of checks with verdicts, and its views (summary, CSV,
Markdown)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bayes_anlo.audit.checks import FLAGGED_VERDICTS, VERDICTS

#: Columns of :attr:`AuditResult.table`, in order.
TABLE_COLUMNS = [
    "item_id",
    "location",
    "quantity",
    "check",
    "printed",
    "named_method",
    "recomputed",
    "matching",
    "candidates",
    "verdict",
    "note",
]
#: Columns of :attr:`AuditResult.details` (one row per item x check x method).
DETAIL_COLUMNS = [
    "item_id",
    "check",
    "method",
    "value",
    "low",
    "high",
    "recomputed",
    "match",
]


@dataclass(frozen=True)
class AuditResult:
    """What an audit found.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per item and check (:data:`TABLE_COLUMNS`): where the number is printed, what it
        is, the check, the printing, the method the paper names, the recomputed values per method
        (as text at the printed precision), the methods that reproduce the printing, the
        back-solved ``candidates`` (count, n and method that reproduce a printing the stated numbers
        do not, most plausible first: :mod:`bayes_anlo.audit.backsolve`), the verdict
        (vocabulary :data:`bayes_anlo.audit.checks.VERDICTS`) and a short note.
    details : pandas.DataFrame
        Tidy long table (:data:`DETAIL_COLUMNS`): every recomputed value per method, unrounded,
        with whether it reproduces the printing. :attr:`wide` pivots it.
    source : str
        The extraction audited (file path or bundled name).
    sha256 : str
        Hash of the extraction table.
    """

    table: pd.DataFrame
    details: pd.DataFrame
    source: str = "<DataFrame>"
    sha256: str = ""

    # --- views -------------------------------------------------------------------------------
    @property
    def flagged(self) -> bool:
        """True when any check has a flagging verdict (all but ``ok`` and ``unverifiable``)."""
        return bool(self.table["verdict"].isin(FLAGGED_VERDICTS).any())

    @property
    def exit_status(self) -> int:
        """The CLI convention: 1 when anything is flagged, 0 otherwise."""
        return 1 if self.flagged else 0

    @property
    def flagged_table(self) -> pd.DataFrame:
        """The rows of :attr:`table` with a flagging verdict."""
        return self.table[self.table["verdict"].isin(FLAGGED_VERDICTS)].reset_index(drop=True)

    @property
    def wide(self) -> pd.DataFrame:
        """One row per item and check, one column per method: the recomputed text.

        Methods are interval and test names, ``stated`` and alternative labels for percentages,
        ``sum``/``mean``/bounds, and facet names for ``consistency`` rows (pairs joined by ``; ``).
        """
        if self.details.empty:
            return pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=["item_id", "check"]))
        wide = self.details.pivot_table(
            index=["item_id", "check"],
            columns="method",
            values="recomputed",
            aggfunc="; ".join,
            sort=False,
        )
        wide.columns.name = None
        return wide

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> pd.Series:
        """Number of checks per verdict (every verdict of the vocabulary, zeros included)."""
        counts = self.table["verdict"].value_counts()
        return pd.Series({v: int(counts.get(v, 0)) for v in VERDICTS}, name="checks", dtype=int)

    def to_csv(self, path: str | Path) -> Path:
        """Write :attr:`table` as CSV (UTF-8, no index, formulas neutralised); returns the path."""
        from bayes_anlo.outputs import write_csv

        return write_csv(self.table, path)

    def to_markdown(
        self, *, heading: str | None = None, level: int = 2, include_all: bool = False
    ) -> str:
        """A Markdown section for a report: a summary line and the table of flagged checks.

        ``include_all`` appends every check, not only the flagged ones.
        """
        title = heading or f"Audit of reported statistics: {self.source}"
        hashes = "#" * level
        summary = self.summary()
        counts = ", ".join(f"{n} {v}" for v, n in summary.items() if n)
        lines = [f"{hashes} {title}", ""]
        status = "flagged" if self.flagged else "nothing flagged"
        lines.append(f"{len(self.table)} checks: {counts} ({status}).")
        lines.append("")
        cols = ["item_id", "location", "check", "printed", "matching", "candidates", "verdict"]
        cols.append("note")
        flagged = self.flagged_table
        if len(flagged):
            lines += [f"{hashes}# Flagged", "", _markdown_table(flagged[cols]), ""]
        if include_all:
            lines += [f"{hashes}# All checks", "", _markdown_table(self.table[cols]), ""]
        lines.append(
            "Verdicts: ok = reproduced by the named (or an accepted) method; method_mismatch = "
            "reproduced only by another method, count or denominator; not_reproduced = no method "
            "reproduces it; inconsistent = disagrees with another printing or a bound; "
            "sum_mismatch = parts do not add to the total; implausible = possible but suspect; "
            "unverifiable = not checkable from what is printed."
        )
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        counts = ", ".join(f"{v}={n}" for v, n in self.summary().items() if n)
        return (
            f"AuditResult(source={self.source!r}, checks={len(self.table)}, {counts}, "
            f"flagged={self.flagged})"
        )


def _cell(x) -> str:
    text = "" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x)
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])
