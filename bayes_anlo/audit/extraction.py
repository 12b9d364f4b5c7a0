"""The audit extraction format: one CSV row per number a paper prints, and its loader.

Columns (``item_id, location, quantity, check`` are required; the others are used by the checks
that need them and may be left out of the header when no row uses them)::

    item_id,location,quantity,check,printed,value,lower,upper,count,n,count2,n2,
    components,alternatives,method,level,statistic,note

* ``item_id``   unique label of the row (text).
* ``location``  where the number is printed: ``Abstract``, ``Results (Treatment efficacy)``,
  ``Table 1, Female``...
* ``quantity``  what the number is. Rows with the same ``quantity`` are the same quantity printed
  in several places (text and table) and are compared with each other (check ``consistency``).
* ``check``     which arithmetic to redo (the vocabulary is :data:`CHECKS`).
* ``printed``   optional verbatim text from the paper, shown in the report.
* ``value``, ``lower``, ``upper``, ``statistic``  printed numbers, written exactly as printed
  (``13.3``, ``0.4``, ``<0.01``): the number of decimals is the printed precision.
  Percentages are written without the ``%`` sign.
* ``count``, ``n``, ``count2``, ``n2``  whole numbers: events and denominator (second group for
  p-values).
* ``components`` the parts of a total or the values of a mean: ``9;19`` or
  ``Stage III=9;Stage IV=19``.
* ``alternatives`` other count/denominator pairs the number could have been computed from:
  ``enrolled=20/47;evaluable=20/44``.
* ``method``    the method the paper names, when it names one (vocabulary per check in
  :data:`METHODS`).
* ``level``     confidence level of an interval, default 0.95.
* ``note``      free text kept in the output.

Counts and denominators (``count``, ``n``, ``count2``, ``n2``) may be left empty even where a check
needs them: the paper did not print them. Such a row is ``unverifiable``; for a percentage or an
interval the audit back-solves which counts would print it (:mod:`bayes_anlo.audit.backsolve`).

Limits (refused with a located message, exit 2): at most :data:`MAX_ITEMS` rows (10,000);
counts are whole numbers of at most ten million (``bayes_anlo.data.csv_reader.MAX_COUNT``: the exact
tests and the searches for other counts and denominators stay fast); printed numbers use ASCII
digits, have magnitude at most 1e9 and at most 15 decimals. A percentage of ``0/0`` is not an
input error: the paper printed it, and the audit flags it as not reproduced (exit 1). File-level
rules are those of :mod:`bayes_anlo.data.csv_reader`.

Checks (see :mod:`bayes_anlo.audit.checks` for the arithmetic):

===============  ===================================  ====================================
check            required columns                     what is recomputed
===============  ===================================  ====================================
percent          value, count, n                      ``100 count / n`` (and alternatives)
ratio            value, count, n                      ``count / n`` (and alternatives)
proportion_ci    lower, upper, count, n               the interval by six methods
pvalue           value, count, n, count2, n2          Fisher (two- and one-sided), chi-square
sum              value, components                    the sum of the components
at_most          value, components                    value <= sum of components
at_least         value, components                    value >= sum of components
mean             value, components                    the mean (lower/upper: min and max)
estimate_ci      value, lower, upper                  estimate inside, symmetry of the interval
heterogeneity    value (p of Q), statistic (I2, %)    p of Cochran's Q from I2 and k (= n)
estimate         value                                nothing (compared with other rows)
count            value                                nothing (compared with other rows)
note             note                                 nothing (recorded as unverifiable)
===============  ===================================  ====================================
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bayes_anlo.audit.printed import Printed, parse_printed
from bayes_anlo.data.csv_reader import (
    MAX_COUNT,
    MAX_MAGNITUDE,
    count_from_text,
    number_from_text,
    read_text_table,
    row_number,
)
from bayes_anlo.errors import ProblemCollector
from bayes_anlo.frequentist.intervals import METHODS as INTERVAL_METHODS

REQUIRED_COLUMNS = ["item_id", "location", "quantity", "check"]
OPTIONAL_COLUMNS = [
    "printed",
    "value",
    "lower",
    "upper",
    "count",
    "n",
    "count2",
    "n2",
    "components",
    "alternatives",
    "method",
    "level",
    "statistic",
    "note",
]
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: Most rows an extraction may have (a paper prints hundreds of numbers, not tens of thousands).
MAX_ITEMS = 10_000

#: p-value methods: the tests a two-group comparison of proportions is recomputed with.
PVALUE_METHODS = ("fisher", "fisher-one-sided", "chi-square", "chi-square-yates")
#: Names a paper may give that stand for a family of p-value methods.
PVALUE_FAMILIES = {
    "two-sided": ("fisher", "chi-square", "chi-square-yates"),
    "one-sided": ("fisher-one-sided",),
}
#: Interval shapes an estimate's CI can have; ``range`` is a minimum-maximum, not a CI.
ESTIMATE_CI_METHODS = ("plain", "transformed", "range")

#: Accepted method names per check ("" = the paper names none).
METHODS: dict[str, tuple[str, ...]] = {
    "proportion_ci": INTERVAL_METHODS,
    "pvalue": PVALUE_METHODS + tuple(PVALUE_FAMILIES),
    "estimate_ci": ESTIMATE_CI_METHODS,
}

_METHOD_ALIASES = {
    "exact": "clopper-pearson",
    "cp": "clopper-pearson",
    "score": "wilson",
    "t": "spss-t",
    "t-interval": "spss-t",
    "spss": "spss-t",
    "ac": "agresti-coull",
    "fisher-exact": "fisher",
    "chi2": "chi-square",
    "chisq": "chi-square",
    "pearson": "chi-square",
    "yates": "chi-square-yates",
    "chi-square-corrected": "chi-square-yates",
    "fisher-1-sided": "fisher-one-sided",
    "ci": "",
    "95-ci": "",
    "linear": "plain",
    "log": "transformed",
    "log-log": "transformed",
    "arcsine": "transformed",
}

#: Required columns per check (beyond the four always required).
CHECKS: dict[str, tuple[str, ...]] = {
    "percent": ("value", "count", "n"),
    "ratio": ("value", "count", "n"),
    "proportion_ci": ("lower", "upper", "count", "n"),
    "pvalue": ("value", "count", "n", "count2", "n2"),
    "sum": ("value", "components"),
    "at_most": ("value", "components"),
    "at_least": ("value", "components"),
    "mean": ("value", "components"),
    "estimate_ci": ("value", "lower", "upper"),
    "heterogeneity": ("value", "statistic"),
    "estimate": ("value",),
    "count": ("value",),
    "note": ("note",),
}


#: Counts a paper may not print beside a number (a drafted extraction leaves them empty). A row
#: whose check needs one of them and lacks it is audited as ``unverifiable`` (with the back-solved
#: candidates where the printing allows: :mod:`bayes_anlo.audit.backsolve`), not refused.
COUNT_COLUMNS = ("count", "n", "count2", "n2")


def _split_label(part: str, default: str) -> tuple[str, str]:
    """``"label=number"`` -> (label, number); the label may itself contain ``=`` (``">= 2=9"``)."""
    if "=" in part:
        label, num = part.rsplit("=", 1)
        return label.strip() or default, num.strip()
    return default, part.strip()


@dataclass(frozen=True)
class Item:
    """One validated extraction row, with its printed numbers parsed."""

    row: int
    item_id: str
    location: str
    quantity: str
    check: str
    printed: str = ""
    value: Printed | None = None
    lower: Printed | None = None
    upper: Printed | None = None
    statistic: Printed | None = None
    count: int | None = None
    n: int | None = None
    count2: int | None = None
    n2: int | None = None
    components: tuple[tuple[str, Printed], ...] = ()
    alternatives: tuple[tuple[str, int, int], ...] = ()
    method: str = ""
    level: float = 0.95
    note: str = ""

    def printed_text(self) -> str:
        """The verbatim printing when given, else a text built from the printed numbers."""
        if self.printed:
            return self.printed
        v, lo, hi = self.value, self.lower, self.upper
        c = self.check
        if c == "percent":
            return f"{self.count}/{self.n} ({v}%)"
        if c == "proportion_ci":
            head = f"{v}% " if v is not None else ""
            return f"{head}({lo}–{hi}%) of {self.count}/{self.n}"
        if c == "pvalue":
            return f"P = {v} ({self.count}/{self.n} vs {self.count2}/{self.n2})"
        if c in ("sum", "at_most", "at_least", "mean"):
            parts = " + ".join(str(p) for _, p in self.components)
            return f"{v} [{parts}]"
        if c == "estimate_ci":
            return f"{v} ({lo}–{hi})"
        if c == "heterogeneity":
            return f"I2 = {self.statistic}%, P = {v}"
        if c == "ratio":
            return f"{v} ({self.count}/{self.n})"
        return "" if v is None else str(v)


@dataclass(frozen=True)
class Extraction:
    """A validated audit extraction.

    Attributes
    ----------
    items : tuple of Item
        The rows in file order.
    table : pandas.DataFrame
        The text table as read (all cells strings), for display and hashing.
    source : str
        File path, bundled audit name or ``"<DataFrame>"``.
    sha256 : str
        Hash of the text table (canonical CSV).
    """

    items: tuple[Item, ...]
    table: pd.DataFrame
    source: str
    sha256: str

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __len__(self) -> int:
        return len(self.items)


def normalise_method(text: str) -> str:
    """Lower-case, hyphenated method name with common aliases resolved (``""`` = none named)."""
    key = re.sub(r"[\s_]+", "-", text.strip().lower())
    return _METHOD_ALIASES.get(key, key)


def _parse_components(text: str) -> tuple[tuple[str, Printed], ...]:
    parts = [p.strip() for p in re.split(r";" if ";" in text else r"\+", text) if p.strip()]
    if not parts:
        raise ValueError("no components given")
    out = []
    for i, part in enumerate(parts, start=1):
        label, num = _split_label(part, f"#{i}")
        try:
            out.append((label, _parse_printed_number(num)))
        except ValueError as exc:
            raise ValueError(f"component {part!r}: {exc}") from None
    return tuple(out)


def _parse_alternatives(text: str) -> tuple[tuple[str, int, int], ...]:
    parts = [p.strip() for p in text.split(";") if p.strip()]
    out = []
    for i, part in enumerate(parts, start=1):
        label, frac = _split_label(part, f"alternative {i}")
        if frac.count("/") != 1:
            raise ValueError(f"alternative {part!r} is not of the form label=count/denominator")
        num, den = (s.strip() for s in frac.split("/"))
        try:
            count, denominator = _parse_int(num), _parse_int(den)
        except ValueError as exc:
            raise ValueError(
                f"alternative {part!r}: {exc}; count and denominator must be whole numbers"
            ) from None
        if denominator == 0:
            raise ValueError(f"alternative {part!r}: denominator is 0")
        out.append((label, count, denominator))
    return tuple(out)


def _parse_int(text: str) -> int:
    """A count: a whole number in [0, MAX_COUNT] (the bound keeps the audit's exact tests and its
    searches over counts and denominators fast)."""
    return count_from_text(text, maximum=MAX_COUNT)


#: Most decimals a printed number may have (beyond double precision there is nothing to compare).
MAX_PRINTED_DECIMALS = 15


def _parse_printed_number(text: str, *, allow_relation: bool = False) -> Printed:
    """:func:`parse_printed` plus the rules of every data file: ASCII digits only, magnitude at most
    ``MAX_MAGNITUDE``, at most ``MAX_PRINTED_DECIMALS`` decimals."""
    if any(c.isdecimal() and not c.isascii() for c in text):
        raise ValueError(f"{text!r} contains non-ASCII digits; write the digits 0-9")
    printed = parse_printed(text, allow_relation=allow_relation)
    if not math.isfinite(printed.value) or abs(printed.value) > MAX_MAGNITUDE:
        raise ValueError(
            f"{text!r} is too large; numbers of magnitude above {MAX_MAGNITUDE:g} are refused"
        )
    if printed.decimals > MAX_PRINTED_DECIMALS:
        raise ValueError(f"{text!r} has more than {MAX_PRINTED_DECIMALS} decimals")
    return printed


def load_extraction(source: str | Path | pd.DataFrame, *, label: str | None = None) -> Extraction:
    """Read and validate an audit extraction (format in the module docstring).

    ``source`` is a CSV path, a DataFrame, or the name of a bundled audit (see
    :func:`bayes_anlo.audit.list_bundled_audits`). Every problem in the file is collected and
    raised together as :class:`~bayes_anlo.errors.InputError` with ``file:row:column`` locations.
    """
    if isinstance(source, str) and not Path(source).exists():
        from bayes_anlo.audit.registry import BUNDLED_AUDITS, bundled_audit_path

        if source in BUNDLED_AUDITS:
            label = label or source
            source = bundled_audit_path(source)
    table, name = read_text_table(source, REQUIRED_COLUMNS, label=label, max_rows=MAX_ITEMS)
    problems = ProblemCollector(name)
    for column in OPTIONAL_COLUMNS:
        if column not in table.columns:
            table[column] = ""
    items = []
    first_row: dict[str, int] = {}
    for i, rec in enumerate(table.to_dict("records")):
        row = row_number(i, table)
        item = _parse_row(rec, row, problems, first_row)
        if item is not None:
            items.append(item)
    problems.raise_if_any()
    canonical = table[ALL_COLUMNS + [c for c in table.columns if c not in ALL_COLUMNS]]
    sha = hashlib.sha256(canonical.to_csv(index=False).encode()).hexdigest()
    table.attrs.clear()  # row numbers were only needed for the messages
    return Extraction(tuple(items), table, name, sha)


def _parse_row(
    rec: dict, row: int, problems: ProblemCollector, first_row: dict[str, int]
) -> Item | None:
    start = len(problems.problems)
    for column in REQUIRED_COLUMNS:
        if rec[column] == "":
            problems.add(row, column, "missing value")
    item_id = rec["item_id"]
    if item_id:
        if item_id in first_row:
            problems.add(
                row,
                "item_id",
                f"duplicate item_id {item_id!r} (first used on row {first_row[item_id]})",
            )
        else:
            first_row[item_id] = row
    check = rec["check"].strip().lower()
    if check and check not in CHECKS:
        problems.add(
            row, "check", f"unknown check {rec['check']!r}; choose from {', '.join(CHECKS)}"
        )
    for column in CHECKS.get(check, ()):
        if rec[column] == "" and column not in COUNT_COLUMNS:
            problems.add(
                row, column, f"missing value; check {check!r} needs {', '.join(CHECKS[check])}"
            )

    fields: dict = {}
    relation_ok = check in ("pvalue", "heterogeneity")
    for column in ("value", "lower", "upper", "statistic"):
        if rec[column] == "":
            continue
        if check == "note" and column == "value":
            continue  # a note's value is free text
        try:
            fields[column] = _parse_printed_number(
                rec[column], allow_relation=relation_ok and column == "value"
            )
        except ValueError as exc:
            problems.add(row, column, str(exc))
    for column in ("count", "n", "count2", "n2"):
        if rec[column] == "":
            continue
        try:
            fields[column] = _parse_int(rec[column])
        except ValueError as exc:
            problems.add(row, column, str(exc))
    if rec["components"]:
        try:
            fields["components"] = _parse_components(rec["components"])
        except ValueError as exc:
            problems.add(row, "components", str(exc))
    if rec["alternatives"]:
        try:
            fields["alternatives"] = _parse_alternatives(rec["alternatives"])
        except ValueError as exc:
            problems.add(row, "alternatives", str(exc))
    method = normalise_method(rec["method"]) if rec["method"] else ""
    if method and check in CHECKS:
        allowed = METHODS.get(check)
        if allowed is None:
            problems.add(row, "method", f"check {check!r} takes no method (got {rec['method']!r})")
        elif method not in allowed:
            problems.add(
                row,
                "method",
                f"unknown method {rec['method']!r} for check {check!r}; choose from "
                f"{', '.join(allowed)}",
            )
    level = 0.95
    if rec["level"]:
        try:
            level = number_from_text(rec["level"])
            if not 0 < level < 1:
                hint = " (write 0.95, not 95)" if 1 < level < 100 else ""
                problems.add(
                    row, "level", f"{rec['level']!r} must lie strictly between 0 and 1{hint}"
                )
        except ValueError as exc:
            problems.add(row, "level", str(exc))
    _check_ranges(check, fields, row, problems)
    if len(problems.problems) > start:
        return None
    return Item(
        row=row,
        item_id=item_id,
        location=rec["location"],
        quantity=rec["quantity"],
        check=check,
        printed=rec["printed"],
        method=method,
        level=level,
        note=rec["note"],
        **fields,
    )


def _check_ranges(check: str, f: dict, row: int, problems: ProblemCollector) -> None:
    """Cross-field checks that need parsed values (count <= n, lower <= upper, ranges)."""
    count, n = f.get("count"), f.get("n")
    if (
        check in ("percent", "proportion_ci", "pvalue")
        and count is not None
        and n is not None
        and count > n
    ):
        problems.add(row, "count", f"count {count} exceeds n {n}")
    if (
        check in ("proportion_ci", "pvalue", "ratio") and n == 0
    ):  # a percent of 0/0 is a finding (exit 1)
        problems.add(row, "n", "is 0; a denominator must be >= 1")
    if check == "pvalue":
        c2, n2 = f.get("count2"), f.get("n2")
        if c2 is not None and n2 is not None and c2 > n2:
            problems.add(row, "count2", f"count2 {c2} exceeds n2 {n2}")
        if n2 == 0:
            problems.add(row, "n2", "is 0; a denominator must be >= 1")
    if check == "heterogeneity" and n is not None and n < 2:
        problems.add(row, "n", "the number of studies must be >= 2 for a heterogeneity test")
    lo, hi = f.get("lower"), f.get("upper")
    if lo is not None and hi is not None and lo.value > hi.value:
        problems.add(row, "upper", f"upper bound {hi} is below lower bound {lo}")
    if check == "proportion_ci":
        for column in ("lower", "upper"):
            p = f.get(column)
            if p is not None and not 0 <= p.value <= 100:
                problems.add(
                    row, column, f"{p} is outside 0-100; give interval bounds as percentages"
                )
    if check in ("percent", "proportion_ci"):
        p = f.get("value")
        if p is not None and not 0 <= p.value <= 100:
            problems.add(
                row, "value", f"{p} is outside 0-100; give percentages, e.g. 13.3 not 0.133"
            )
    if check in ("pvalue", "heterogeneity"):
        p = f.get("value")
        if p is not None and not 0 <= p.value <= 1:
            problems.add(row, "value", f"p-value {p} is outside 0-1")
    if check == "heterogeneity":
        s = f.get("statistic")
        if s is not None and not 0 <= s.value < 100:
            problems.add(row, "statistic", f"I2 {s} must lie in [0, 100) percent")
    if check == "count":
        v = f.get("value")
        if v is not None and (v.decimals > 0 or v.value < 0):
            problems.add(
                row, "value", f"{v} is not a whole number >= 0; a count check takes a count"
            )
