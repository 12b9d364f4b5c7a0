"""What every validated data container shares: the table, where it came from, and its hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pandas as pd


def table_hash(*tables: pd.DataFrame | None) -> str:
    """SHA-256 of the tables' canonical CSV text (column order and values), joined by NUL bytes;
    ``None`` counts as an empty table. Recorded in every run as the data hash."""
    texts = ["" if t is None else t.to_csv(index=False, lineterminator="\n") for t in tables]
    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()


@dataclass(frozen=True)
class HashedTable:
    """A validated table with a ``study`` column (``table``), the file or dataset it came from
    (``source``, used in messages and run records) and the hash of the table (``sha256``, computed
    when not given)."""

    table: pd.DataFrame
    source: str = "<DataFrame>"
    sha256: str = field(default="")

    def __post_init__(self):
        if not self.sha256:
            object.__setattr__(self, "sha256", table_hash(self.table))

    @property
    def studies(self) -> list[str]:
        """Study labels in order of first appearance."""
        return list(dict.fromkeys(self.table["study"]))

    def __len__(self) -> int:
        return len(self.table)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()
