"""Reading user CSV files as text, and typed parsing of their cells with located errors.

Every loader in :mod:`bayes_anlo.data` reads through :func:`read_text_table` (all cells as strings,
nothing evaluated) and converts columns with the ``parse_*`` helpers, which record a
:class:`~bayes_anlo.errors.Problem` for each bad cell instead of raising at the first one.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pandas as pd

from bayes_anlo.errors import InputError, Problem, ProblemCollector

#: Row number of the first data row as an editor shows it (the header is row 1).
FIRST_DATA_ROW = 2


def read_text_table(
    source: str | Path | pd.DataFrame, required: list[str], *, label: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Read a CSV (or take a DataFrame) with every cell as a string.

    Returns the table and the label used in error messages (the file path, or ``label``).
    A UTF-8 byte-order mark (as Excel writes) is accepted; column names are stripped of spaces.
    Raises :class:`InputError` for a missing file, an empty file, a file that is not CSV, or
    missing required columns.
    """
    if isinstance(source, pd.DataFrame):
        name = label or "<DataFrame>"
        table = source.copy()
        table.columns = [str(c).strip() for c in table.columns]
        table = table.astype(object).where(table.notna(), "")
        table = table.map(lambda v: "" if v is None else str(v))
    else:
        path = Path(source)
        name = label or str(source)
        if not path.exists():
            raise InputError(Problem(name, None, None, "file does not exist"))
        if path.is_dir():
            raise InputError(Problem(name, None, None, "is a directory, expected a CSV file"))
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise InputError(
                Problem(name, line, None, f"is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV")
            ) from None
        if not text.strip():
            raise InputError(Problem(name, None, None, "file is empty; expected a header row and data rows"))
        _check_shape(text, name)
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        table.columns = [str(c).strip() for c in table.columns]
    if table.empty:
        raise InputError(Problem(name, None, None, "has a header but no data rows"))
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(
            [Problem(name, 1, c, f"required column is missing (header has: {', '.join(table.columns)})") for c in missing]
        )
    table = table.map(lambda v: v.strip() if isinstance(v, str) else v)
    return table.reset_index(drop=True), name


def _check_shape(text: str, name: str) -> None:
    """Reject what pandas would silently misread: another delimiter, duplicate column names, and
    rows with more or fewer fields than the header (every such row reported)."""
    records = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in records[0]]
    try:
        delimiter = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    if delimiter != "," and len(header) == 1:
        raise InputError(
            Problem(name, 1, None, f"header is separated by {delimiter!r}; bayes_anlo reads comma-separated files")
        )
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise InputError(Problem(name, 1, column, "column name appears more than once in the header"))
        seen.add(column)
    problems = []
    line = 1
    reader = csv.reader(io.StringIO(text))
    next(reader)
    for record in reader:
        line = reader.line_num
        if not record or all(not cell.strip() for cell in record):
            continue  # blank line
        if len(record) != len(header):
            hint = " (a comma inside a number? use a point, or quote the cell)" if len(record) > len(header) else ""
            problems.append(Problem(name, line, None,
                                    f"row has {len(record)} fields but the header has {len(header)}{hint}"))
    if problems:
        raise InputError(problems)


def row_number(index: int) -> int:
    """Editor row number of the ``index``-th data row."""
    return index + FIRST_DATA_ROW


def _number_hint(text: str) -> str:
    if "," in text and text.replace(",", "", 1).replace("-", "", 1).isdigit():
        return " (comma as decimal separator? use a point)"
    if text.endswith("%"):
        return " (a percentage sign? give the number without it)"
    return ""


def parse_count(table: pd.DataFrame, column: str, problems: ProblemCollector, *, allow_missing: bool = False, positive: bool = False) -> pd.Series:
    """Parse a column of non-negative whole numbers; bad cells become NA and are reported."""
    out = []
    for i, text in enumerate(table[column]):
        row = row_number(i)
        if text == "":
            if not allow_missing:
                problems.add(row, column, "missing value")
            out.append(pd.NA)
            continue
        try:
            value = float(text)
        except ValueError:
            problems.add(row, column, f"{text!r} is not a number{_number_hint(text)}")
            out.append(pd.NA)
            continue
        if not math.isfinite(value) or value != int(value):
            problems.add(row, column, f"{text!r} is not a whole number; counts must be integers")
            out.append(pd.NA)
        elif value < 0:
            problems.add(row, column, f"{text!r} is negative; counts must be >= 0")
            out.append(pd.NA)
        elif positive and value == 0:
            problems.add(row, column, "is 0; a study needs at least one patient")
            out.append(pd.NA)
        else:
            out.append(int(value))
    return pd.Series(out, index=table.index, dtype="Int64")


def parse_float(table: pd.DataFrame, column: str, problems: ProblemCollector, *, allow_missing: bool = False, minimum: float | None = None, maximum: float | None = None) -> pd.Series:
    """Parse a column of finite real numbers within optional bounds; bad cells are reported."""
    out = []
    for i, text in enumerate(table[column]):
        row = row_number(i)
        if text == "":
            if not allow_missing:
                problems.add(row, column, "missing value")
            out.append(math.nan)
            continue
        try:
            value = float(text)
        except ValueError:
            problems.add(row, column, f"{text!r} is not a number{_number_hint(text)}")
            out.append(math.nan)
            continue
        if not math.isfinite(value):
            problems.add(row, column, f"{text!r} is not a finite number")
            out.append(math.nan)
        elif minimum is not None and value < minimum:
            problems.add(row, column, f"{text!r} is below the allowed minimum {minimum:g}")
            out.append(math.nan)
        elif maximum is not None and value > maximum:
            problems.add(row, column, f"{text!r} is above the allowed maximum {maximum:g}")
            out.append(math.nan)
        else:
            out.append(value)
    return pd.Series(out, index=table.index, dtype=float)


def require_text(table: pd.DataFrame, column: str, problems: ProblemCollector) -> None:
    """Report every empty cell of a required text column."""
    for i, text in enumerate(table[column]):
        if text == "":
            problems.add(row_number(i), column, "missing value")


def rows_matching(table: pd.DataFrame, equals: dict, source: str) -> pd.Series:
    """Boolean mask of the rows whose columns equal the given values (a value or a list of values
    per column); an unknown column is an error located at the header row."""
    mask = pd.Series(True, index=table.index)
    for column, value in equals.items():
        if column not in table.columns:
            raise InputError(Problem(source, 1, column,
                                     f"no column {column!r} to select on (has: {', '.join(map(str, table.columns))})"))
        values = [value] if isinstance(value, str) else list(value)
        mask &= table[column].isin(values)
    return mask
