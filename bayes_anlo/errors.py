"""User-facing errors.

Every problem with a user's input is reported as ``file:row:column: message`` so a person can go
straight to the cell at fault. Rows are the line numbers an editor shows (the CSV header is row 1,
the first data row is row 2); for TOML specs the "row" is the dotted key path and the column is the
key. Parts that do not apply are left out (``file: message`` for a problem of the whole file),
never printed empty. A validation pass collects *all* problems before raising, so one run lists
every bad row.

The CLI turns :class:`InputError` into a one-line-per-problem message and exit status 2, without a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

#: Characters that would break a problem's one line or act on a terminal: control characters
#: (newline, carriage return, escape ...) and Unicode's line and paragraph separators.
_UNPRINTABLE = ("Cc", "Zl", "Zp")


def one_line(text: str) -> str:
    """``text`` with every control character and line or paragraph separator written as its
    escape (``\\n``, ``\\x1b``, ``\\u2028``): a key, a file name or a cell from the input
    can neither split a problem over lines nor send a terminal a control sequence."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in _UNPRINTABLE
        else ch
        for ch in text
    )


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong."""

    file: str
    row: int | str | None
    column: str | None
    message: str

    def __str__(self) -> str:
        """``file:row:column: message``; parts that do not apply are left out rather than printed
        empty: ``file:row: message`` (a whole row), ``file: column: message`` (a whole column, e.g.
        a command-line option naming it) and ``file: message`` (the whole file). Always one
        line (:func:`one_line`), whatever the input put in a part."""
        file = one_line(self.file or "<input>")
        row = "" if self.row is None else one_line(str(self.row))
        column = "" if self.column is None else one_line(str(self.column))
        message = one_line(self.message)
        if row and column:
            return f"{file}:{row}:{column}: {message}"
        if row:
            return f"{file}:{row}: {message}"
        if column:
            return f"{file}: {column}: {message}"
        return f"{file}: {message}"


class InputError(ValueError):
    """Raised for bad user input (data files, specs, arguments); carries every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str, *, file: str = "<input>"):
        if isinstance(problems, str):
            problems = [Problem(file, None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        if not problems:
            raise ValueError("InputError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProblemCollector:
    """Accumulates problems during one validation pass, then raises them together."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, row: int | str | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, row, column, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)

    def __bool__(self) -> bool:
        return bool(self.problems)
