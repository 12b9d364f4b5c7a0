"""Reading user CSV files as text, and typed parsing of their cells with located errors.

Every loader in :mod:`bayes_anlo.data` reads through :func:`read_text_table` (all cells as strings,
nothing evaluated) and converts columns with the ``parse_*`` helpers, which record a
:class:`~bayes_anlo.errors.Problem` for each bad cell instead of raising at the first one.

What is read, and the limits (each refused with a located message, never a crash or a hang):

* a **regular file** only: a FIFO, socket or device (``/dev/zero``) is refused before it is
  opened, since reading one can block forever or never end;
* at most :data:`MAX_FILE_BYTES` (256 MiB; a million patients of patient data take about 20 MiB),
  so a mistaken input cannot exhaust memory;
* UTF-8 text; one or more leading byte-order marks (Excel writes one; files joined together can
  carry two) are dropped; a byte-order mark anywhere else, an undecodable byte, a NUL or another
  control character (other than tab) is reported at its row and column;
* line endings ``\\n``, ``\\r\\n`` and ``\\r`` (classic Mac / old Excel), also mixed; rows are the
  line numbers an editor shows (a quoted cell may span lines; a row is numbered by its first line);
* RFC 4180 quoting: a quote left open at the end of the file, or text after a closing quote, is
  an error at the row and column where it happens;
* cells of at most :data:`MAX_CELL_CHARS` characters (10,000: far longer than any label, source
  or quote a paper gives);
* the header is the first line; empty columns at the end of the header (as spreadsheets write)
  are dropped when no row has anything in them; rows in which every cell is empty are ignored;
* at most :data:`MAX_ROWS` data rows (two million) unless a loader sets a lower limit.

Numbers (:func:`number_from_text`, :func:`count_from_text`) are plain ASCII decimals: ``12``,
``-0.5``, ``30.0``, ``1.5e3``. Digit separators (``1_0``, ``1,000``), non-ASCII digits (``١٠``),
``nan`` and ``inf`` are refused; magnitudes above :data:`MAX_MAGNITUDE` (1e9) are refused as
beyond any clinical quantity (and so that unit conversions stay finite); counts are whole numbers
of at most :data:`MAX_COUNT` (ten million patients per row: larger than any study, and the bound
keeps exact tests, sums and the audit's searches fast and exact in floating point).
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_anlo.errors import InputError, Problem, ProblemCollector

#: Row number of the first data row as an editor shows it (the header is row 1).
FIRST_DATA_ROW = 2
#: Largest input file read, in bytes.
MAX_FILE_BYTES = 256 * 2**20
#: Longest cell, in characters.
MAX_CELL_CHARS = 10_000
#: Most data rows a file may have (loaders may set a lower limit).
MAX_ROWS = 2_000_000
#: Largest count (patients or events in one row).
MAX_COUNT = 10_000_000
#: Largest magnitude of any number in a data file.
MAX_MAGNITUDE = 1e9

_BOM = "\ufeff"
#: Characters refused anywhere in a file: NUL and the other C0 controls except tab, line feed
#: and carriage return; DEL; a byte-order mark past the start; undecodable bytes (kept as lone
#: surrogates by the ``surrogateescape`` decoding).
_BAD_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\udc80-\udcff]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: Line numbers of a table's data rows (set by :func:`read_text_table`, used by :func:`row_number`).
ROWS_ATTR = "bayes_anlo_rows"


def read_text_table(
    source: str | Path | pd.DataFrame,
    required: list[str],
    *,
    label: str | None = None,
    max_rows: int = MAX_ROWS,
) -> tuple[pd.DataFrame, str]:
    """Read a CSV (or take a DataFrame) with every cell as a string.

    Returns the table and the label used in error messages (the file path, or ``label``).
    The limits and rules are in this module's docstring (regular files only, at most
    :data:`MAX_FILE_BYTES`, UTF-8, cells of at most :data:`MAX_CELL_CHARS` characters, at most
    ``max_rows`` data rows). Column names are stripped of spaces, cells of surrounding spaces.
    Raises :class:`InputError` for a missing, unreadable or empty file, a file that is not CSV,
    bad characters, bad quoting, rows of the wrong width, or missing required columns.
    """
    if isinstance(source, pd.DataFrame):
        name = label or "<DataFrame>"
        table = source.copy()
        table.columns = [str(c).strip() for c in table.columns]
        table = table.astype(object).where(table.notna(), "")
        table = table.map(lambda v: "" if v is None else str(v))
        if table.empty:
            raise InputError(Problem(name, None, None, "has a header but no data rows"))
        if len(table) > max_rows:
            raise InputError(
                Problem(name, None, None, f"has {len(table)} rows; at most {max_rows:,} are read")
            )
        lines = np.arange(len(table)) + FIRST_DATA_ROW
    else:
        name = label or str(source)
        text = _read_text(Path(source), name)
        header, records, lines = _split_records(text, name, max_rows)
        table = (
            pd.DataFrame(records, columns=header, dtype=object)
            if records
            else pd.DataFrame(columns=header)
        )
        if table.empty:
            raise InputError(Problem(name, None, None, "has a header but no data rows"))
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(
            [
                Problem(
                    name,
                    1,
                    c,
                    f"required column is missing (header has: {', '.join(table.columns)})",
                )
                for c in missing
            ]
        )
    table = table.map(lambda v: v.strip() if isinstance(v, str) else v).reset_index(drop=True)
    table.attrs[ROWS_ATTR] = np.asarray(lines, dtype=np.int64)
    return table, name


def _read_text(path: Path, name: str) -> str:
    """The file's text, after refusing what is not a regular, readable, bounded file."""
    try:
        if not path.exists():
            raise InputError(Problem(name, None, None, "file does not exist"))
        if path.is_dir():
            raise InputError(Problem(name, None, None, "is a directory, expected a CSV file"))
        if not path.is_file():
            raise InputError(
                Problem(
                    name,
                    None,
                    None,
                    "is not a regular file (a FIFO, socket or device?); expected a CSV file",
                )
            )
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(
                Problem(
                    name,
                    None,
                    None,
                    f"is larger than {MAX_FILE_BYTES / 2**20:g} MiB, the largest data file read",
                )
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(
            Problem(name, None, None, f"cannot be read ({exc.strerror or exc})")
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(
            Problem(name, None, None, f"is larger than {MAX_FILE_BYTES / 2**20:g} MiB")
        )
    text = raw.decode("utf-8", errors="surrogateescape")
    while text.startswith(_BOM):
        text = text[1:]
    if not text.strip():
        raise InputError(
            Problem(name, None, None, "file is empty; expected a header row and data rows")
        )
    return text


def _split_records(
    text: str, name: str, max_rows: int
) -> tuple[list[str], list[list[str]], list[int]]:
    """Parse CSV text into (header, data records, line number of each record).

    Rejects what pandas or the csv module would silently misread: another delimiter, a blank first
    line, unnamed or duplicate column names, bad quoting, bad characters, overlong cells and rows
    with more or fewer fields than the header (every such row reported)."""
    old_limit = csv.field_size_limit(MAX_CELL_CHARS)
    rows: list[list[str]] = []
    starts: list[int] = []
    end = 0
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        if '"' not in text:  # no cell can span lines: record k is line k + 1 (blank lines included)
            rows = list(reader)
            starts = list(range(1, len(rows) + 1))
        else:
            for record in reader:
                starts.append(end + 1)
                end = reader.line_num
                rows.append(record)
        if len(rows) > max_rows + 1 and sum(1 for r in rows[1:] if r) > max_rows:
            raise InputError(
                Problem(
                    name,
                    None,
                    None,
                    f"has more than {max_rows:,} data rows, the most this input may have",
                )
            )
    except csv.Error as exc:
        line = end + 1 if '"' in text else reader.line_num  # (without quotes, a record is one line)
        header = rows[0] if rows else _first_record(text)
        raise InputError(_quoting_problem(text, name, line, str(exc), header)) from None
    finally:
        csv.field_size_limit(old_limit)
    header = [h.strip() for h in rows[0]]
    if not any(header):
        raise InputError(
            Problem(name, 1, "1", "the first line is blank; the header must be the first line")
        )
    if len(header) == 1:
        for delimiter, shown in ((";", "semicolon"), ("\t", "tab")):
            if delimiter in header[0]:
                raise InputError(
                    Problem(
                        name,
                        1,
                        "1",
                        f"header is separated by {delimiter!r} ({shown}s); "
                        "bayes_anlo reads comma-separated files",
                    )
                )
    data = [
        (line, rec) for line, rec in zip(starts[1:], rows[1:], strict=True) if "".join(rec).strip()
    ]
    width = len(header)
    while (
        width > 1
        and header[width - 1] == ""
        and all(len(r) < width or not r[width - 1].strip() for _, r in data)
    ):
        width -= 1  # empty trailing header columns with nothing below them (as spreadsheets write)
    header = header[:width]
    problems = _character_problems(text, name, header, rows[0], data)
    if problems:  # names with bad characters must not be printed in the messages that follow
        raise InputError(problems)
    for k, column in enumerate(header):
        if column == "":
            problems.append(
                Problem(name, 1, str(k + 1), f"column {k + 1} has no name in the header")
            )
        elif column in header[:k]:
            problems.append(
                Problem(name, 1, column, "column name appears more than once in the header")
            )
    records = []
    for line, record in data:
        if len(record) > width and not any(c.strip() for c in record[width:]):
            record = record[:width]  # empty cells past the last column
        if len(record) > width:
            hint = " (a comma inside a number? use a point, or quote the cell)"
            problems.append(
                Problem(
                    name,
                    line,
                    str(width + 1),
                    f"row has {len(record)} fields but the header has {width}{hint}",
                )
            )
        elif len(record) < width:
            problems.append(
                Problem(
                    name,
                    line,
                    header[len(record)] or str(len(record) + 1),
                    f"row has {len(record)} fields but the header has {width}; "
                    f"this and later columns are missing",
                )
            )
        records.append(record)
    if problems:
        raise InputError(problems)
    return header, records, [line for line, _ in data]


def _first_record(text: str) -> list[str]:
    """The header's cells, or ``[]`` when the header itself cannot be parsed."""
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        return []


def _column_label(header: list[str], k: int) -> str:
    """The column's name, or its 1-based number when it has no printable name."""
    if k < len(header) and header[k] and not _BAD_CHARACTER.search(header[k]):
        return header[k]
    return str(k + 1)


def _character_problems(
    text: str,
    name: str,
    header: list[str],
    header_record: list[str],
    data: list[tuple[int, list[str]]],
) -> list[Problem]:
    """Bad characters, each at its row and column (the header is row 1)."""
    if not _BAD_CHARACTER.search(text):
        return []
    problems = []
    for line, record in [(1, header_record), *data]:
        for k, cell in enumerate(record):
            where = (name, line, _column_label(header, k))
            bad = _BAD_CHARACTER.search(cell)
            if bad is None:
                continue
            char = bad.group()
            if "\udc80" <= char <= "\udcff":
                reason = (
                    f"is not UTF-8 text (byte 0x{ord(char) - 0xDC00:02X}); "
                    "save the file as UTF-8 CSV"
                )
            elif char == _BOM:
                reason = (
                    "contains a byte-order mark (U+FEFF) inside the file; were two files joined?"
                )
            elif char == "\x00":
                reason = "contains a NUL byte; is this a binary file (a spreadsheet, not CSV)?"
            else:
                reason = f"contains the control character U+{ord(char):04X}"
            problems.append(Problem(*where, reason))
            if len(problems) >= 100:
                return problems
    return problems


def _quoting_problem(
    text: str, name: str, first_line: int, reason: str, header: list[str]
) -> Problem:
    """Locate an error the csv module raised for the record starting at ``first_line``: a cell
    over :data:`MAX_CELL_CHARS`, a quote never closed, or text after a closing quote."""
    offsets = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
    start = offsets[min(first_line - 1, len(offsets) - 1)]
    field, quoted, opened_line, opened_field, line = 0, False, first_line, 0, first_line
    field_start, field_line = start, first_line
    overlong = "field limit" in reason
    names = [h.strip() for h in header]

    def label(k: int) -> str:
        return _column_label(names, k) if first_line > 1 else str(k + 1)

    i = start
    while i < len(text):
        char = text[i]
        if overlong and i - field_start >= MAX_CELL_CHARS:  # the first character past the limit
            return Problem(
                name,
                field_line,
                label(field),
                f"cell has more than {MAX_CELL_CHARS:,} characters; "
                f"at most {MAX_CELL_CHARS:,} are allowed",
            )
        if quoted:
            if char == '"':
                if text.startswith('"', i + 1):
                    i += 1
                else:
                    quoted = False
                    nxt = text[i + 1 : i + 2]
                    if nxt not in ("", ",", "\r", "\n"):
                        return Problem(
                            name,
                            line,
                            label(field),
                            f"text after the closing quote of a quoted cell ({reason}); "
                            'quote the whole cell and double any quote inside it ("")',
                        )
            elif char in "\r\n":
                if not (char == "\r" and text.startswith("\n", i + 1)):
                    line += 1
        elif char == '"' and i == field_start:
            quoted, opened_line, opened_field = True, line, field
        elif char == ",":
            field, field_start, field_line = field + 1, i + 1, line
        elif char in "\r\n":
            break
        i += 1
    if quoted or "end of data" in reason:
        return Problem(
            name,
            opened_line,
            label(opened_field),
            "a quote opened here is never closed (the rest of the file would be one cell)",
        )
    return Problem(name, first_line, label(field), f"malformed CSV quoting ({reason})")


def row_number(index: int, table: pd.DataFrame | None = None) -> int:
    """Editor row number of the ``index``-th data row: its line in the file when ``table`` came
    from :func:`read_text_table` (blank lines and cells spanning lines counted), else
    ``index + 2``."""
    if table is not None:
        rows = table.attrs.get(ROWS_ATTR)
        if rows is not None and index < len(rows):
            return int(rows[index])
    return index + FIRST_DATA_ROW


def _quoted(text: str, limit: int = 40) -> str:
    """A cell's text for a message: quoted, escapes shown, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_INTEGER = re.compile(r"\+?[0-9]+\Z")


def number_from_text(text: str, *, maximum: float = MAX_MAGNITUDE) -> float:
    """A plain ASCII decimal number (``12``, ``-0.5``, ``1.5e3``) of magnitude at most ``maximum``;
    raises ``ValueError`` with the reason otherwise (digit separators, non-ASCII digits, NaN,
    infinity, comma decimals, percent signs, too large)."""
    if not _DECIMAL.match(text):
        if any(c.isdigit() and not c.isascii() for c in text) or any(
            c.isdecimal() and not c.isascii() for c in text
        ):
            raise ValueError(f"{_quoted(text)} contains non-ASCII digits; write the digits 0-9")
        if "_" in text and _DECIMAL.match(text.replace("_", "")):
            raise ValueError(f"{_quoted(text)} has a digit separator ('_'); write the plain number")
        if text.strip().lower().lstrip("+-") in (
            "nan",
            "inf",
            "infinity",
            "na",
            "n/a",
            "none",
            "null",
        ):
            raise ValueError(f"{_quoted(text)} is not a number (a finite value is needed)")
        raise ValueError(f"{_quoted(text)} is not a number{_number_hint(text)}")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{_quoted(text)} is too large to represent as a number")
    if abs(value) > maximum:
        raise ValueError(
            f"{_quoted(text)} is too large; numbers of magnitude above {maximum:g} are refused"
        )
    return value


def count_from_text(text: str, *, maximum: int = MAX_COUNT) -> int:
    """A whole number in [0, ``maximum``] written as an ASCII integer (``30``) or a whole decimal
    (``30.0``, ``3e1``); raises ``ValueError`` with the reason otherwise."""
    if _INTEGER.match(text):
        if len(text.lstrip("+0")) > 15:  # (int() of a very long text is itself refused by Python)
            raise ValueError(
                f"{_quoted(text)} is larger than {maximum:,}, the largest count accepted"
            )
        value = int(text)
    else:
        x = number_from_text(text, maximum=float("inf"))
        if x < 0:
            raise ValueError(f"{_quoted(text)} is negative; counts must be >= 0")
        if x > maximum:
            raise ValueError(
                f"{_quoted(text)} is larger than {maximum:,}, the largest count accepted"
            )
        if x != int(x):
            raise ValueError(f"{_quoted(text)} is not a whole number; counts must be integers")
        value = int(x)
    if value > maximum:
        raise ValueError(f"{_quoted(text)} is larger than {maximum:,}, the largest count accepted")
    return value


def _number_hint(text: str) -> str:
    if "," in text and text.replace(",", "", 1).replace("-", "", 1).isdigit():
        return " (comma as decimal separator? use a point)"
    if text.endswith("%"):
        return " (a percentage sign? give the number without it)"
    return ""


def parse_count(
    table: pd.DataFrame,
    column: str,
    problems: ProblemCollector,
    *,
    allow_missing: bool = False,
    positive: bool = False,
    maximum: int = MAX_COUNT,
) -> pd.Series:
    """Parse a column of whole numbers in [0, ``maximum``] (:func:`count_from_text`); bad cells
    become NA and are reported."""
    out = []
    for i, text in enumerate(table[column]):
        if text == "":
            if not allow_missing:
                problems.add(row_number(i, table), column, "missing value")
            out.append(pd.NA)
            continue
        try:
            value = count_from_text(text, maximum=maximum)
        except ValueError as exc:
            problems.add(row_number(i, table), column, str(exc))
            out.append(pd.NA)
            continue
        if positive and value == 0:
            problems.add(row_number(i, table), column, "is 0; a study needs at least one patient")
            out.append(pd.NA)
        else:
            out.append(value)
    return pd.Series(out, index=table.index, dtype="Int64")


def parse_float(
    table: pd.DataFrame,
    column: str,
    problems: ProblemCollector,
    *,
    allow_missing: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> pd.Series:
    """Parse a column of finite real numbers (:func:`number_from_text`) within optional bounds;
    bad cells are reported."""
    out = []
    for i, text in enumerate(table[column]):
        if text == "":
            if not allow_missing:
                problems.add(row_number(i, table), column, "missing value")
            out.append(math.nan)
            continue
        try:
            value = number_from_text(text)
        except ValueError as exc:
            problems.add(row_number(i, table), column, str(exc))
            out.append(math.nan)
            continue
        if minimum is not None and value < minimum:
            problems.add(
                row_number(i, table), column, f"{text!r} is below the allowed minimum {minimum:g}"
            )
            out.append(math.nan)
        elif maximum is not None and value > maximum:
            problems.add(
                row_number(i, table), column, f"{text!r} is above the allowed maximum {maximum:g}"
            )
            out.append(math.nan)
        else:
            out.append(value)
    return pd.Series(out, index=table.index, dtype=float)


def require_text(table: pd.DataFrame, column: str, problems: ProblemCollector) -> None:
    """Report every empty cell of a required text column."""
    for i, text in enumerate(table[column]):
        if text == "":
            problems.add(row_number(i, table), column, "missing value")


def rows_matching(table: pd.DataFrame, equals: dict, source: str) -> pd.Series:
    """Boolean mask of the rows whose columns equal the given values (a value or a list of values
    per column); an unknown column is an error located at the header row."""
    mask = pd.Series(True, index=table.index)
    for column, value in equals.items():
        if column not in table.columns:
            raise InputError(
                Problem(
                    source,
                    1,
                    column,
                    f"no column {column!r} to select on (has: "
                    f"{', '.join(map(str, table.columns))})",
                )
            )
        values = [value] if isinstance(value, str) else list(value)
        mask &= table[column].isin(values)
    return mask
