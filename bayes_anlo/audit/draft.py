"""Draft an audit extraction from a paper's text: one row per printed statistic it recognises.

``draft_extraction(text)`` reads the text paragraph by paragraph (and tables row by row) and
writes rows in the extraction format (:mod:`bayes_anlo.audit.extraction`), each with its
location (section or table and line) and the verbatim text it was read from:

==============================================  ================  ==============================
printed                                         check             filled
==============================================  ================  ==============================
``10 (33.3%)``, ``Thirteen patients (43.3%)``,  ``percent``       value, count; n when printed
``(n = 15; 50.0%)``, ``(12, 27%)``, ``82%                           in the sentence ("of 30",
(36/44)``, table cells ``25 (83.3)``,                              "n = 30", "30 patients") or
``57 (4/7)``                                                       the table column / caption
``13.3% (95% CI, 0.4–26.2%)``                   ``proportion_ci`` value, lower, upper (+ count, n)
``11.5 months (95% CI, 7.5–15.5)``, ``28        ``estimate_ci``   value, lower, upper; method
(8–62)``, ``(range, 12.5–24.1)``, table                            ``range`` for a range
median and CI cells
``P = 0.047``, ``p < 0.01``                     ``pvalue``        value (the groups are left empty)
``I2 = 38%, P = 0.12``                          ``heterogeneity`` statistic, value
``ratio of 1:1.15``                             ``ratio``         value
``A total of 44 patients, including 13 with     ``sum``           value, components
X and 31 with Y``; a table's categories whose
percentages add to 100
a percentage alone (``13.3%``)                  ``percent``       value only
==============================================  ================  ==============================

What the text does not say stays empty, and the extraction loader accepts the empty counts: the
draft audits as it is, and a row without what its check needs comes out ``unverifiable`` (with
back-solved candidates for percentages and intervals). Sections named Introduction, References,
Acknowledgements and the like are skipped (their numbers are other papers' results). The draft is
a start for a hand extraction, not a replacement: check the counts it attaches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from bayes_anlo.audit.extraction import (
    ALL_COLUMNS,
    COUNT_COLUMNS,
    MAX_ITEMS,
    load_extraction,
)
from bayes_anlo.errors import InputError

# --- numbers -------------------------------------------------------------------------------------
_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70}
_TENS |= {"eighty": 80, "ninety": 90}
_WORD_NUMBER = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|"
    r"five|six|seven|eight|nine))?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
)
NUM = r"\d+(?:\.\d+)?"
DASH = r"\s*(?:[-–—]|to)\s*"
REL = r"(?:<=|>=|≤|≥|<|>|=)"


def word_count(text: str) -> int | None:
    """``"Twenty-two"`` -> 22, ``"13"`` -> 13; ``None`` when it is not a whole number."""
    t = text.strip().lower()
    if t.isdigit():
        return int(t)
    if t in _WORDS:
        return _WORDS[t]
    parts = re.split(r"[- ]", t)
    if parts[0] in _TENS and (len(parts) == 1 or (len(parts) == 2 and parts[1] in _WORDS)):
        return _TENS[parts[0]] + (_WORDS[parts[1]] if len(parts) == 2 else 0)
    return None


# --- patterns in running text ---------------------------------------------------------------
_CI_LEAD = r"(?:(?:\d{2}\s?%\s*)?(?:CI|confidence interval)s?\s*[:,=]?\s*)"
_RANGE_LEAD = r"(?:(?:range|IQR|interquartile range)\s*[:,=]?\s*)"
_UNIT = r"(?:\s*(?:%|months?|mo|years?|weeks?|days?))?"
INTERVAL = re.compile(
    rf"(?P<value>{NUM})(?P<vpct>\s?%)?(?:\s*(?:months?|mo|years?|weeks?|days?))?"
    rf"\s*(?:\(|[,;]\s*|\[)\s*(?P<lead>{_CI_LEAD}|{_RANGE_LEAD})?"
    rf"(?P<lower>{NUM})(?P<lpct>\s?%)?{DASH}(?P<upper>{NUM})(?P<upct>\s?%)?{_UNIT}\s*[);\]]"
)
#: "(3.0%, 95%CI: 1.1% - 5.6%)": the estimate inside the parentheses
INNER_INTERVAL = re.compile(
    rf"\(\s*(?P<value>{NUM})(?P<vpct>\s?%)\s*[,;]\s*(?P<lead>{_CI_LEAD})"
    rf"(?P<lower>{NUM})(?P<lpct>\s?%)?{DASH}(?P<upper>{NUM})(?P<upct>\s?%)?\s*\)"
)
K_OF_N = re.compile(
    rf"(?<![\d.])(?P<count>\d+|{_WORD_NUMBER})\s*(?:of|out of|/)\s*(?:the\s+)?(?P<n>\d+)(?![\d.])",
    re.IGNORECASE,
)
K_OF_N_PERCENT = re.compile(
    rf"(?<![\d.])(?P<count>\d+|{_WORD_NUMBER})\s+(?:of|out of)\s+(?:the\s+)?(?P<n>\d+)"
    rf"(?:\s+[A-Za-z-]+){{0,2}}\s*\(\s*(?P<value>{NUM})\s?%\s*\)",
    re.IGNORECASE,
)
PERCENT_OF = re.compile(rf"(?P<value>{NUM})\s?%\s*\(\s*(?P<count>\d+)\s*/\s*(?P<n>\d+)\s*\)")
COUNT_PERCENT = re.compile(
    rf"(?<![\d.])(?P<count>\d+|{_WORD_NUMBER})(?:\s+(?!(?:{_WORD_NUMBER}|and|or)\b)[A-Za-z-]+){{0,5}}\s*"
    rf"\(\s*(?P<value>{NUM})\s?%\s*\)",
    re.IGNORECASE,
)
N_PERCENT = re.compile(
    rf"\(\s*(?:n\s*=\s*)?(?P<count>\d+)(?:\s+[A-Za-z]+)?\s*[;,]\s*(?P<value>{NUM})\s?%\s*\)",
    re.IGNORECASE,
)
BARE_PERCENT = re.compile(rf"(?<![\d.\-–])(?P<value>{NUM})\s?%")
PVALUE = re.compile(
    rf"(?<![A-Za-z])[Pp](?:\s*-?\s*value)?\s*(?P<rel>{REL})\s*(?P<value>0?\.\d+|[01](?:\.0+)?)"
    rf"(?![\d.])"
)
I2 = re.compile(
    rf"I\s?(?:2|²|\^2)\s*(?:\(%\))?\s*(?:=|:|of|was)?\s*(?P<stat>{NUM})\s?%"
    rf"[^.;()]{{0,40}}?[Pp](?:\s*-?\s*value)?\s*(?P<rel>{REL})?\s*(?P<value>0?\.\d+|[01])(?![\d.])"
)
RATIO = re.compile(rf"ratio\s+(?:of\s+|was\s+|=\s*)?(?P<a>{NUM})\s*:\s*(?P<b>{NUM})(?![\d.eE])")
TOTAL_PARTS = re.compile(
    rf"(?P<total>\d+|{_WORD_NUMBER})\s+(?:patients|participants|subjects|cases|studies|trials)"
    rf"[^.;]{{0,30}}?(?:including|comprising|of whom|of which|consisting of)\s+"
    rf"(?P<parts>(?:(?:\d+|{_WORD_NUMBER})\s+[^,;.]{{1,60}}?(?:,\s*|\s+and\s+|,\s+and\s+))+"
    rf"(?:\d+|{_WORD_NUMBER})\s+[^,;.]{{1,60}})",
    re.IGNORECASE,
)
PART = re.compile(rf"(?P<count>\d+|{_WORD_NUMBER})\s+(?P<label>[^,;.]+?)(?=,|\s+and\s+|$)", re.I)
N_IN_TEXT = re.compile(
    rf"(?:\bn\s*=\s*(?P<n1>\d+)(?!\s*[;,]\s*\d))|"
    rf"(?:\b(?:of|among|in|for)\s+(?:the|all|these)\s+"
    rf"(?P<n2>\d+|{_WORD_NUMBER})\s+(?:\w+\s+)?(?:patients|participants|subjects|cases))",
    re.IGNORECASE,
)

_SKIP_SECTIONS = re.compile(
    r"^(introduction|background|references?|acknowledge?ments?|funding|author contributions|"
    r"conflicts? of interest|data availability|ethics|supplementary|abbreviations|"
    r"publisher'?s note|generative ai)",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s*#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_NUMBERED_HEADING = re.compile(r"^\s*(?P<title>\d+(?:\.\d+)*\.?\s+[A-Z][^.]{2,60})\.?\s*$")
_INLINE_NUMBERED = re.compile(r"^\s*(?P<title>\d+\.\d+(?:\.\d+)*\.\s+[A-Z][^.]{2,60})\.\s")
_BOLD_LEAD = re.compile(r"^\s*\*\*(?P<title>[^*]{2,60}?)\.?\*\*")
_TABLE_CAPTION = re.compile(
    r"^\s*(?:\*\*)?(?P<title>table\s+(?:\d+|[IVX]+)|supplementary table\s+\d+)\b",
    re.IGNORECASE,
)
_PLAIN_HEADING = re.compile(
    r"^\s*(?P<title>abstract|introduction|background|methods?|materials and methods|patients and "
    r"methods|results?|discussion|conclusions?|references?|acknowledge?ments?|funding|"
    r"data availability statement|author contributions|conflicts? of interest)\s*$",
    re.IGNORECASE,
)


@dataclass
class _Draft:
    rows: list[dict] = field(default_factory=list)

    def add(self, location: str, check: str, printed: str, **cells) -> None:
        if len(self.rows) >= MAX_ITEMS:
            return  # an extraction holds at most MAX_ITEMS rows
        row = {c: "" for c in ALL_COLUMNS}
        row.update(
            item_id=f"d{len(self.rows) + 1}",
            location=location,
            # a draft cannot know which printings are the same quantity: one per row
            quantity=f"d{len(self.rows) + 1}: {' '.join(printed.split())[:80]}",
            check=check,
            printed=" ".join(printed.split())[:300],
        )
        row.update({k: "" if v is None else str(v) for k, v in cells.items()})
        self.rows.append(row)


def _n_in(text: str) -> int | None:
    """A denominator printed in a sentence or heading ("n = 30", "of the 30 patients")."""
    found = set()
    for m in N_IN_TEXT.finditer(text):
        value = word_count(m.group("n1") or m.group("n2"))
        if value:
            found.add(value)
    return found.pop() if len(found) == 1 else None


def _sentences(paragraph: str) -> list[tuple[int, str]]:
    """Sentences of a paragraph with their start offsets (split at '. ' before a capital)."""
    out, start = [], 0
    for m in re.finditer(r"(?<=[.!?])\s+(?=[A-Z(])", paragraph):
        out.append((start, paragraph[start : m.start()]))
        start = m.end()
    out.append((start, paragraph[start:]))
    return [(s, t) for s, t in out if t.strip()]


def _draft_sentence(sentence: str, location: str, context_n: int | None, draft: _Draft) -> None:
    taken = bytearray(len(sentence) + 1)  # characters already read as part of a statistic

    def free(m) -> bool:
        return not any(taken[m.start() : m.end()])

    def take(m) -> None:
        mark(m.start(), m.end())

    def mark(start: int, end: int) -> None:
        taken[start:end] = b"\x01" * (end - start)

    n = _n_in(sentence) or context_n
    pairs = [(word_count(m.group("count")), int(m.group("n"))) for m in K_OF_N.finditer(sentence)]
    pairs = [(k, m) for k, m in pairs if k is not None and k <= m]
    only_pair = pairs[0] if len(set(pairs)) == 1 else (None, None)
    for m in I2.finditer(sentence):
        rel = m.group("rel") or ""
        value = (rel if rel not in ("", "=") else "") + m.group("value")
        draft.add(location, "heterogeneity", m.group(0), value=value, statistic=m.group("stat"))
        take(m)
    for m in INNER_INTERVAL.finditer(sentence):
        draft.add(
            location,
            "proportion_ci",
            m.group(0),
            value=m.group("value"),
            lower=m.group("lower"),
            upper=m.group("upper"),
            count=only_pair[0],
            n=only_pair[1],
        )
        take(m)
    for m in INTERVAL.finditer(sentence):
        if not free(m) or _is_not_interval(sentence, m):
            continue
        lead = (m.group("lead") or "").lower()
        is_pct = bool(m.group("vpct") or m.group("lpct") or m.group("upct"))
        method = "range" if lead.startswith(("range", "iqr", "interquartile")) else ""
        if not lead and not is_pct:
            method = "range" if re.search(r"range|median\s*\(", sentence[: m.start()], re.I) else ""
            if not method and not re.search(r"\bCI\b|confidence", sentence, re.I):
                continue  # "3 (8-62)" without a label: not known to be an interval
        check = "proportion_ci" if is_pct and not method else "estimate_ci"
        cells = {"value": m.group("value"), "lower": m.group("lower"), "upper": m.group("upper")}
        if check == "estimate_ci":
            cells["method"] = method
        else:  # "10 of 27 patients responded: 37.0% (95% CI ...)": the one pair in the sentence
            cells["count"], cells["n"] = only_pair
        draft.add(location, check, m.group(0), **cells)
        take(m)
    for m in PERCENT_OF.finditer(sentence):
        if free(m):
            draft.add(
                location, "percent", m.group(0), value=m.group("value"), count=m.group("count"),
                n=m.group("n"),
            )  # fmt: skip
            take(m)
    for m in K_OF_N_PERCENT.finditer(sentence):
        count = word_count(m.group("count"))
        if free(m) and count is not None and count <= int(m.group("n")):
            draft.add(
                location, "percent", m.group(0), value=m.group("value"), count=count,
                n=m.group("n"),
            )  # fmt: skip
            take(m)
    for pattern in (N_PERCENT, COUNT_PERCENT):
        for m in pattern.finditer(sentence):
            count = word_count(m.group("count"))
            if not free(m) or count is None:
                continue
            value_start = m.start("value")
            if re.search(r"\d\s*$", sentence[max(0, m.start() - 2) : m.start()]):
                continue
            shown_n = n if n is not None and count <= n else None
            draft.add(
                location, "percent", m.group(0), value=m.group("value"), count=count, n=shown_n
            )
            mark(m.start("count"), min(len(sentence), value_start + len(m.group("value")) + 1))
    for m in PVALUE.finditer(sentence):
        if free(m):
            rel = m.group("rel")
            value = ("" if rel == "=" else rel) + m.group("value")
            draft.add(location, "pvalue", m.group(0), value=value)
            take(m)
    for m in RATIO.finditer(sentence):
        if free(m):
            a, b = float(m.group("a")), float(m.group("b"))
            shown = m.group("b") if a == 1 else m.group("a") if b == 1 else ""
            if shown:
                draft.add(location, "ratio", m.group(0), value=shown)
            take(m)
    for m in TOTAL_PARTS.finditer(sentence):
        total = word_count(m.group("total"))
        parts = []
        for p in PART.finditer(m.group("parts")):
            count = word_count(p.group("count"))
            if count is not None:
                parts.append(f"{_label(p.group('label'))}={count}")
        if total is not None and len(parts) >= 2:
            draft.add(location, "sum", m.group(0), value=total, components=";".join(parts))
    for m in BARE_PERCENT.finditer(sentence):
        if free(m) and not _is_threshold(sentence, m):
            draft.add(location, "percent", m.group(0), value=m.group("value"))
            take(m)


def _label(text: str) -> str:
    text = re.sub(r"^(?:with|had|in|were|was|for|of)\s+", "", " ".join(text.split()), flags=re.I)
    return re.sub(r"[=;]", " ", text)[:60] or "part"


def _is_not_interval(sentence: str, m) -> bool:
    """Dates, versions, grades and reference lists look like intervals and are not."""
    lower, upper = float(m.group("lower")), float(m.group("upper"))
    if lower > upper:
        return True
    value = float(m.group("value"))
    if 1900 <= lower <= 2100 and 1900 <= upper <= 2100:
        return True
    before = sentence[max(0, m.start() - 12) : m.start()].lower()
    return bool(re.search(r"grade|version|stage|figure|table|ref", before)) and not (
        lower <= value <= upper
    )


def _is_threshold(sentence: str, m) -> bool:
    """'more than 20%', '< 10%', '95% CI', '5% significance': not a printed estimate."""
    before = sentence[max(0, m.start() - 16) : m.start()].lower()
    after = sentence[m.end() : m.end() + 12].lower()
    if re.search(r"(?:than|over|under|exceed\w*|below|above|[<>≤≥]|least|most|to)\s*$", before):
        return True
    if re.match(r"\s*(?:ci\b|confidence|significan|level|of the (?:dose|drug))", after):
        return True
    return bool(re.search(r"[-–]\s*$", before))


# --- tables --------------------------------------------------------------------------------------
CELL_PERCENT_OF = re.compile(rf"(?P<value>{NUM})\s?%?\s*\(\s*(?P<count>\d+)\s*/\s*(?P<n>\d+)\s*\)")
CELL_COUNT_PERCENT = re.compile(rf"^\s*(?P<count>\d+)\s*\(\s*(?P<value>{NUM})\s?%?\s*\)\s*$")
CELL_RANGE = re.compile(
    rf"^\s*(?P<value>{NUM})\s*\(\s*(?P<lower>{NUM}){DASH}(?P<upper>{NUM})\s*\)$"
)
CELL_BOUNDS = re.compile(rf"^\s*(?P<lower>{NUM})\s*[-–—]\s*(?P<upper>{NUM})\s*$")
CELL_NUMBER = re.compile(rf"^\s*(?P<value>{NUM})\s*$")
COLUMN_N = re.compile(r"\(?\s*\bn\s*=\s*(?P<n>\d+)\s*\)?", re.IGNORECASE)
CAPTION_N = re.compile(
    r"\b(?:of|in|for)\s+(?:the\s+)?(?P<n>\d+)\s+(?:\w+\s+)?(?:patients|participants|subjects)",
    re.IGNORECASE,
)


@dataclass
class _Table:
    title: str
    caption_n: int | None
    header: list[str] | None = None
    column_n: dict[int, int] = field(default_factory=dict)
    group: str = ""
    group_parts: dict[int, list[tuple[str, int, str]]] = field(default_factory=dict)
    #: counts per column since the header or the last "Total" row: (row label, count), keyed by
    #: (column, part); part 0 is a cell's count, part 1 its denominator ("57 (4/7)")
    column_counts: dict[tuple[int, int], list[tuple[str, int]]] = field(default_factory=dict)
    total_column: int | None = None
    heterogeneity: bool = False


def _flush_group(table: _Table, draft: _Draft) -> None:
    """A table category whose parts' percentages add to 100: its counts must add to the column n."""
    for col, parts in table.group_parts.items():
        n = table.column_n.get(col, table.caption_n)
        if n is None or len(parts) < 2:
            continue
        pct_total = sum(float(p) for _, _, p in parts)
        if abs(pct_total - 100) > 0.6 * len(parts):
            continue  # not a partition (several sites per patient...)
        where = f"{table.title}: {table.group}".strip(": ")
        components = ";".join(f"{_label(label)}={count}" for label, count, _ in parts)
        draft.add(
            f"{where}, column {col}",
            "sum",
            f"{table.group} ({' + '.join(str(c) for _, c, _ in parts)} = {n})",
            value=n,
            components=components,
        )
    table.group_parts = {}


_TOTAL = re.compile(r"^\s*(?:total|all grades|any grade|overall)\s*$", re.IGNORECASE)
_P_CELL = re.compile(r"^\s*(?:[<>≤≥]\s*)?(?:0?\.\d+|[01])\s*$")


def _cell_counts(cell: str) -> tuple[int, ...] | None:
    """The count (and denominator) a table cell prints: ``"4 (13.3)"`` -> (4,), ``"57 (4/7)"`` ->
    (4, 7), ``"0"`` -> (0,); ``None`` for anything else (several statistics, decimals, text)."""
    stats = [x.strip() for x in cell.split(",")]
    several = [CELL_PERCENT_OF.fullmatch(x) for x in stats]
    if all(several):
        return tuple(int(m.group(g)) for m in several for g in ("count", "n"))
    m = CELL_COUNT_PERCENT.match(cell)
    if m:
        return (int(m.group("count")),)
    if re.fullmatch(r"\s*\d+\s*", cell):
        return (int(cell),)
    return None


def _column_name(table: _Table, i: int) -> str:
    header = table.header or []
    return _label(header[i]) if i < len(header) and header[i].strip() else f"column {i}"


def _draft_totals(cells, table: _Table, where: str, draft: _Draft) -> None:
    """A row's "Total" column against its other count columns, and a "Total" row against the
    rows above it, column by column."""
    label = cells[0].strip()
    counts = {i: _cell_counts(c) for i, c in enumerate(cells[1:], start=1)}
    t = table.total_column
    if t is not None and counts.get(t) is not None:
        others = [(i, c) for i, c in counts.items() if i != t and c is not None]
        for part in range(len(counts[t])):
            parts = [(i, c[part]) for i, c in others if len(c) > part]
            if len(parts) >= 2:
                shown = " + ".join(str(c) for _, c in parts)
                draft.add(
                    f"{where}, row total",
                    "sum",
                    f"{label}: {shown} = {counts[t][part]}",
                    value=counts[t][part],
                    components=";".join(f"{_column_name(table, i)}={c}" for i, c in parts),
                )
    if _TOTAL.match(label):
        for i, c in counts.items():
            for part in range(len(c or ())):
                parts = table.column_counts.get((i, part), [])
                if len(parts) >= 2:
                    draft.add(
                        f"{where}, column {i} total",
                        "sum",
                        f"{label}: {' + '.join(str(x) for _, x in parts)} = {c[part]}",
                        value=c[part],
                        components=";".join(f"{_label(lab) or 'row'}={x}" for lab, x in parts),
                    )
        table.column_counts = {}
        return
    for i, c in counts.items():
        for part, x in enumerate(c or ()):
            table.column_counts.setdefault((i, part), []).append((label, x))


def _draft_table_row(cells: list[str], table: _Table, line_no: int, draft: _Draft) -> None:
    label = cells[0].strip()
    body = cells[1:]
    if re.search(r"[Il]\s?(?:2|²)\s*\(%\)|heterogen", " ".join(cells), re.IGNORECASE):
        table.heterogeneity = True
    if table.header is None:
        table.header = cells
        for i, cell in enumerate(body, start=1):
            m = COLUMN_N.search(cell)
            if m:
                table.column_n[i] = int(m.group("n"))
            if _TOTAL.match(cell):
                table.total_column = i
        return
    if not any(re.search(r"\d", c) for c in body):
        for i, cell in enumerate(body, start=1):
            if _TOTAL.match(cell):
                table.total_column = i  # a header on a second line
        if any(_TOTAL.match(c) for c in body):
            table.header = cells
            return
        _flush_group(table, draft)
        table.group = label
        return
    where = f"{table.title}: {', '.join(x for x in (table.group, label) if x)} (line {line_no})"
    _draft_totals(cells, table, where, draft)
    for i, cell in enumerate(body, start=1):
        loc = f"{where}, column {i}"
        if CELL_PERCENT_OF.search(cell):
            for m in CELL_PERCENT_OF.finditer(cell):
                draft.add(
                    loc, "percent", m.group(0), value=m.group("value"), count=m.group("count"),
                    n=m.group("n"),
                )  # fmt: skip
            continue
        m = CELL_COUNT_PERCENT.match(cell)
        if m:
            n = table.column_n.get(i, table.caption_n)
            draft.add(loc, "percent", cell, value=m.group("value"), count=m.group("count"), n=n)
            table.group_parts.setdefault(i, []).append(
                (label, int(m.group("count")), m.group("value"))
            )
            continue
        m = CELL_RANGE.match(cell)
        if m:
            method = "range" if re.search(r"range", " ".join(cells + [table.group]), re.I) else ""
            draft.add(loc, "estimate_ci", cell, method=method, **m.groupdict())
            continue
        m = CELL_BOUNDS.match(cell)
        if m and i >= 2 and CELL_NUMBER.match(body[i - 2]):
            value = CELL_NUMBER.match(body[i - 2]).group("value")
            lo, hi = float(m.group("lower")), float(m.group("upper"))
            if lo <= float(value) <= hi:
                draft.add(
                    loc, "estimate_ci", f"{body[i - 2]} ({cell})", value=value, **m.groupdict()
                )
                rest = body[i : i + 2]
                if (
                    table.heterogeneity
                    and len(rest) == 2
                    and CELL_NUMBER.match(rest[0])
                    and float(rest[0]) < 100
                    and _P_CELL.match(rest[1])
                ):
                    draft.add(
                        loc,
                        "heterogeneity",
                        f"I2 {rest[0].strip()}%, P {rest[1].strip()}",
                        value=re.sub(r"\s+", "", rest[1]),
                        statistic=rest[0].strip(),
                    )
    text = " ".join(cells)
    for m in I2.finditer(text):
        draft.add(
            where, "heterogeneity", m.group(0), value=m.group("value"), statistic=m.group("stat")
        )


# --- the whole text -------------------------------------------------------------------------------
def _is_own_line(line: str) -> bool:
    """Table rows, captions and headings stand alone; other lines are joined into paragraphs."""
    stripped = line.strip()
    return bool(
        "\t" in line
        or _TABLE_CAPTION.match(stripped)
        or _HEADING.match(stripped)
        or _PLAIN_HEADING.match(stripped)
        or _NUMBERED_HEADING.match(stripped)
    )


def _blocks(text: str):
    """(first line number, text) of each table row, caption, heading and paragraph; the lines of
    a paragraph (wrapped text, a PDF's lines) are joined, a hyphen at a line end kept."""
    para: list[str] = []
    start = 0
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or _is_own_line(line):
            if para:
                yield start, " ".join(para)
                para = []
            if line.strip():
                yield line_no, line
            continue
        if not para:
            start = line_no
        para.append(line.strip())
    if para:
        yield start, " ".join(para)


def draft_extraction(text: str) -> pd.DataFrame:
    """Draft an audit extraction from a paper's (cleaned) text; see the module docstring.

    Returns a DataFrame with the extraction columns
    (:data:`~bayes_anlo.audit.extraction.ALL_COLUMNS`), cells as strings, one row per
    recognised printed statistic, in reading order.
    """
    draft = _Draft()
    section, skipping = "Text", False
    table: _Table | None = None
    for line_no, line in _blocks(text):
        stripped = line.strip()
        caption = _TABLE_CAPTION.match(stripped)
        if caption and "\t" not in line:
            if table is not None:
                _flush_group(table, draft)
            m = CAPTION_N.search(stripped)
            title = " ".join(caption.group("title").split()).title()
            table = _Table(title, int(m.group("n")) if m else None)
            continue
        if table is not None and "\t" in line:
            if not skipping:
                _draft_table_row(line.split("\t"), table, line_no, draft)
            continue
        if table is not None and table.header is not None:
            _flush_group(table, draft)
            table = None
        heading = (
            _HEADING.match(stripped)
            or _PLAIN_HEADING.match(stripped)
            or _NUMBERED_HEADING.match(stripped)
        )
        if heading:
            section = " ".join(heading.group("title").strip("*# ").split())
            skipping = bool(_SKIP_SECTIONS.match(re.sub(r"^[\d.\s]+", "", section)))
            continue
        lead = _BOLD_LEAD.match(stripped) or _INLINE_NUMBERED.match(stripped)
        if lead:
            section = " ".join(lead.group("title").strip("*# ").split())
            skipping = bool(_SKIP_SECTIONS.match(re.sub(r"^[\d.\s]+", "", section))) and not (
                section.lower().startswith("background") and "abstract" not in section.lower()
            )
            if section.lower().startswith("background"):
                skipping = False  # a structured abstract's Background paragraph
        if skipping:
            continue
        context_n = _n_in(section)
        for _, sentence in _sentences(stripped):
            _draft_sentence(sentence, f"{section} (line {line_no})", context_n, draft)
    if table is not None:
        _flush_group(table, draft)
    return loadable(pd.DataFrame(draft.rows[:MAX_ITEMS], columns=ALL_COLUMNS))


def loadable(frame: pd.DataFrame) -> pd.DataFrame:
    """The draft with what the extraction loader would refuse taken out, so that it audits as it
    is: a count or denominator it refuses (too large, above its n) is emptied, a row with a printed
    number it refuses (a percentage above 100, a number too large or too precise) is dropped."""
    for _ in range(5):
        try:
            load_extraction(frame, label="<draft>")
            return frame
        except InputError as exc:
            drop = set()
            for problem in exc.problems:
                if not isinstance(problem.row, int):
                    return frame.iloc[0:0]  # a whole-file problem: nothing safe to keep
                index = problem.row - 2
                if problem.column == "count" and "exceeds" in problem.message:
                    frame.loc[index, "n"] = ""
                elif problem.column in COUNT_COLUMNS:
                    frame.loc[index, problem.column] = ""
                else:
                    drop.add(index)
            frame = frame.drop(index=sorted(drop)).reset_index(drop=True)
    return frame.iloc[0:0]


__all__ = ["draft_extraction", "word_count"]
