"""Binary outcomes (responders out of n): the long CSV format, its loader and its container.

Format (one row per study x subgroup x arm x line x outcome)::

    study,outcome,events,n[,subgroup,arm,line,source,...]

* ``study``   study label (text, required)
* ``outcome`` outcome label, e.g. ``ORR``, ``DCR``, ``CR``, ``PR``, ``SD``, ``PD``, or an adverse
  event ``AE:<term>:<grade>`` such as ``AE:hypertension:any`` or ``AE:hypertension:3+``.
  Labels outside this vocabulary give a warning, not an error.
* ``events``  number of patients with the outcome (whole number, 0 <= events <= n)
* ``n``       number of patients evaluated (whole number >= 1)
* ``subgroup``, ``arm``, ``line`` optional grouping columns (histology, drug, treatment line ...)
* ``source``  where the number comes from (seed file and table, or a URL)

Any other column is kept as it is. A row is identified by (study, subgroup, arm, line, outcome);
two rows with the same key are an error.

Limits (each refused with a located message): at most :data:`MAX_ROWS` rows (20,000) in a file
and :data:`MAX_ROWS_PER_OUTCOME` rows (2,000) of one outcome, since an analysis takes one outcome
and its cost grows faster than linearly with the number of studies (`bayes-anlo rates` on 3,000
studies took 106 s and 1.2 GB on this project's 2-core machine; 100,000 studies would need tens of
GiB), while the largest published meta-analyses pool a few hundred studies. Counts are whole
numbers of at most ten million (:data:`bayes_anlo.data.csv_reader.MAX_COUNT`). The file-level limits
(regular files, size, characters, quoting) are those of :mod:`bayes_anlo.data.csv_reader`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_anlo.data._table import HashedTable
from bayes_anlo.data.csv_reader import (
    parse_count,
    read_text_table,
    require_text,
    row_number,
    rows_matching,
)
from bayes_anlo.errors import InputError, Problem, ProblemCollector

REQUIRED_COLUMNS = ["study", "outcome", "events", "n"]
OPTIONAL_COLUMNS = ["subgroup", "arm", "line", "source"]
KEY_COLUMNS = ["study", "subgroup", "arm", "line", "outcome"]
#: Most rows a binary-outcome file may have, and most rows of one outcome (see module docstring).
MAX_ROWS = 20_000
MAX_ROWS_PER_OUTCOME = 2_000
KNOWN_OUTCOMES = frozenset({"ORR", "DCR", "CBR", "CR", "PR", "SD", "PD", "NE", "PFR", "OSR"})
_AE_PATTERN = re.compile(r"^AE:[^:]+(:[^:]+)?$")


class UnknownOutcomeWarning(UserWarning):
    """An outcome label outside the documented vocabulary (the row is still loaded)."""


def is_known_outcome(label: str) -> bool:
    """True for the documented outcome labels and adverse events ``AE:<term>[:<grade>]``."""
    return label in KNOWN_OUTCOMES or bool(_AE_PATTERN.match(label))


@dataclass(frozen=True)
class BinaryData(HashedTable):
    """Validated binary-outcome data: a tidy table plus where it came from.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per study x subgroup x arm x line x outcome, with integer ``events`` and ``n``
        and string grouping columns (empty string where absent); extra columns kept.
    source : str
        File path or dataset name, used in messages and recorded in every run.
    sha256 : str
        Hash of the validated table (canonical CSV), recorded in every run.
    """

    # --- views -------------------------------------------------------------------------------
    @property
    def outcomes(self) -> list[str]:
        return list(dict.fromkeys(self.table["outcome"]))

    @property
    def events(self) -> np.ndarray:
        return self.table["events"].to_numpy(dtype=np.int64)

    @property
    def n(self) -> np.ndarray:
        return self.table["n"].to_numpy(dtype=np.int64)

    @property
    def labels(self) -> list[str]:
        """A unique, readable label per row: the study alone when that is unique, otherwise the
        study plus whichever grouping columns vary (and the outcome when several are present)."""
        if self.table["study"].is_unique:
            return self.table["study"].tolist()
        parts = ["study"] + [c for c in ("subgroup", "arm", "line") if self.table[c].nunique() > 1]
        if len(self.outcomes) > 1:
            parts.append("outcome")
        labels = (
            self.table[parts].apply(lambda r: " | ".join(v for v in r if v != ""), axis=1).tolist()
        )
        if len(set(labels)) != len(labels):  # fall back to the full key
            labels = (
                self.table[KEY_COLUMNS]
                .apply(lambda r: " | ".join(v for v in r if v != ""), axis=1)
                .tolist()
            )
        return labels

    def select(self, outcome: str | None = None, **equals: str | list[str]) -> BinaryData:
        """Rows for one outcome and/or where columns equal given values (a value or a list)."""
        mask = pd.Series(True, index=self.table.index)
        if outcome is not None:
            if outcome not in self.outcomes:
                raise InputError(
                    Problem(
                        self.source,
                        None,
                        "outcome",
                        f"outcome {outcome!r} not in data (has: {', '.join(self.outcomes)})",
                    )
                )
            mask &= self.table["outcome"] == outcome
        mask &= rows_matching(self.table, equals, self.source)
        if not mask.any():
            raise InputError(
                Problem(
                    self.source,
                    None,
                    next(iter(equals), "outcome"),
                    f"no rows match outcome={outcome!r} {equals}",
                )
            )
        return BinaryData(self.table[mask].reset_index(drop=True), source=self.source)

    def exclude(self, **equals: str | list[str]) -> BinaryData:
        """Rows where the given columns do *not* equal the given values."""
        mask = pd.Series(True, index=self.table.index)
        for column, value in equals.items():  # each condition removes its rows
            mask &= ~rows_matching(self.table, {column: value}, self.source)
        return BinaryData(self.table[mask].reset_index(drop=True), source=self.source)

    def group_index(self, column: str) -> tuple[np.ndarray, list[str]]:
        """Integer codes of a grouping column (in order of first appearance) and its levels."""
        levels = list(dict.fromkeys(self.table[column]))
        lookup = {v: i for i, v in enumerate(levels)}
        return np.array([lookup[v] for v in self.table[column]], dtype=np.int64), levels

    def require_single_outcome(self) -> str:
        outs = self.outcomes
        if len(outs) != 1:
            raise InputError(
                f"this analysis needs one outcome but the data hold {', '.join(outs)}; select one",
                file=self.source,
            )
        return outs[0]

    def to_frame(self) -> pd.DataFrame:
        """A copy of the table with the observed proportion added."""
        out = self.table.copy()
        out["proportion"] = out["events"] / out["n"]
        return out


def load_binary(source: str | Path | pd.DataFrame, *, label: str | None = None) -> BinaryData:
    """Load and validate binary-outcome data from a CSV path or a DataFrame.

    Every problem in the file is collected and raised together as one :class:`InputError`
    whose lines read ``file:row:column: message``. Unknown outcome labels only warn.

    Parameters
    ----------
    source : path or DataFrame
        CSV in the long format described in this module's docstring.
    label : str, optional
        Name used in messages instead of the path.
    """
    raw, name = read_text_table(source, REQUIRED_COLUMNS, label=label, max_rows=MAX_ROWS)
    problems = ProblemCollector(name)
    for column in ("study", "outcome"):
        require_text(raw, column, problems)
    per_outcome = raw.groupby("outcome", sort=False).cumcount().to_numpy()
    for i in np.flatnonzero(per_outcome == MAX_ROWS_PER_OUTCOME):
        problems.add(
            row_number(int(i), raw),
            "outcome",
            f"more than {MAX_ROWS_PER_OUTCOME:,} rows of outcome {raw['outcome'].iloc[i]!r}, the "
            "most one analysis takes (see the documented limits)",
        )
    events = parse_count(raw, "events", problems)
    n = parse_count(raw, "n", problems, positive=True)
    for i in range(len(raw)):
        e, m = events.iloc[i], n.iloc[i]
        if e is not pd.NA and m is not pd.NA and e > m:
            problems.add(row_number(i, raw), "events", f"events ({e}) exceed n ({m})")
    table = raw.copy()
    for column in OPTIONAL_COLUMNS:
        if column not in table.columns:
            table[column] = ""
    seen: dict[tuple, int] = {}
    for i, key in enumerate(table[KEY_COLUMNS].itertuples(index=False, name=None)):
        if key in seen:
            described = ", ".join(
                f"{c}={v!r}" for c, v in zip(KEY_COLUMNS, key, strict=True) if v != ""
            )
            problems.add(
                row_number(i, raw),
                "study",
                f"duplicate key ({described}); first seen on row {seen[key]}",
            )
        else:
            seen[key] = row_number(i, raw)
    problems.raise_if_any()
    for i, label_ in enumerate(table["outcome"]):
        if not is_known_outcome(label_):
            warnings.warn(
                f"{name}:{row_number(i, raw)}:outcome: unknown outcome label {label_!r} (loaded as "
                f"given; known: {', '.join(sorted(KNOWN_OUTCOMES))}, AE:<term>:<grade>)",
                UnknownOutcomeWarning,
                stacklevel=2,
            )
    table["events"] = events.astype(np.int64)
    table["n"] = n.astype(np.int64)
    ordered = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    table = table[ordered + [c for c in table.columns if c not in ordered]]
    table.attrs.clear()  # row numbers were only needed for the messages
    return BinaryData(table, source=name)
