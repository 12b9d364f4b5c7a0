"""Hypothesis strategies for the loader fuzz harness: valid CSV files of every input format, and
corruptions of them.

Every valid generator returns ``(text, n_rows)``: the file as text (written with the csv module,
so any label is quoted correctly) and its number of data rows. Corruptions act on the encoded
bytes and return ``(bytes, what)``, ``what`` naming the corruption for the failure message.
"""

from __future__ import annotations

import csv
import io

from hypothesis import strategies as st

from bayes_anlo.data.binary import KNOWN_OUTCOMES

# Labels: letters, digits, spaces and punctuation (commas and quotes included: the writer quotes
# them), a few non-ASCII letters; never only spaces (a label is stripped and must not be empty).
LABEL_ALPHABET = st.sampled_from(list("abcXYZ019 -_.,;'\"()/éüø中日"))
labels = st.text(LABEL_ALPHABET, min_size=1, max_size=12).filter(lambda s: s.strip() != "")


def to_csv(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@st.composite
def binary_csv(draw):
    k = draw(st.integers(1, 8))
    outcomes = draw(
        st.lists(st.sampled_from(sorted(KNOWN_OUTCOMES)), min_size=1, max_size=2, unique=True)
    )
    rows = []
    for i in range(k):
        study = f"S{i}{draw(labels)}"
        for outcome in outcomes:
            n = draw(st.integers(1, 500))
            events = draw(st.integers(0, n))
            rows.append(
                [study, outcome, events, n, draw(st.sampled_from(["", "bone", "soft tissue"]))]
            )
    return to_csv(["study", "outcome", "events", "n", "subgroup"], rows), len(rows)


def _times(draw, count: int, step: tuple[float, float] = (0.1, 12.0)) -> list[float]:
    t, out = 0.0, []
    for _ in range(count):
        t += draw(st.floats(*step))
        out.append(round(t, 3))
    return out


@st.composite
def ipd_csv(draw):
    count = draw(st.integers(1, 30))
    rows = [
        [
            f"S{draw(st.integers(0, 2))}",
            f"{draw(st.floats(0.01, 120.0)):.3f}",
            draw(st.integers(0, 1)),
            draw(st.sampled_from(["", "A", "B"])),
        ]
        for _ in range(count)
    ]
    return to_csv(["study", "time", "event", "arm"], rows), len(rows)


@st.composite
def km_csv(draw):
    rows = []
    for curve in range(draw(st.integers(1, 3))):
        points = draw(st.integers(1, 12))
        s, percent = 1.0, draw(st.booleans())
        for t in _times(draw, points):
            s = max(0.0, s - draw(st.floats(0.0, 0.15)))
            rows.append([f"S{curve}", "", t, f"{100 * s:.2f}" if percent else f"{s:.4f}"])
    return to_csv(["study", "arm", "time", "survival"], rows), len(rows)


@st.composite
def risk_csv(draw):
    rows = []
    for curve in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 300))
        for t in [0.0, *_times(draw, draw(st.integers(0, 8)), (1.0, 6.0))]:
            rows.append([f"S{curve}", "A", t, n])
            n = draw(st.integers(0, n))
    return to_csv(["study", "arm", "time", "n_risk"], rows), len(rows)


@st.composite
def summaries_csv(draw):
    rows = []
    for i in range(draw(st.integers(1, 3))):
        study = f"S{i}"
        for endpoint in draw(
            st.lists(st.sampled_from(["PFS", "OS"]), min_size=1, max_size=2, unique=True)
        ):
            median = round(draw(st.floats(1.0, 40.0)), 1)
            low = round(median * draw(st.floats(0.4, 1.0)), 1)
            high = max(
                round(median * draw(st.floats(1.0, 2.5)), 1), round(low + 0.1, 1)
            )  # a CI has width
            rows.append([study, "", endpoint, "median", median, low, high, "", "months"])
            s = 100.0
            for t in (6, 12, 24):
                s = round(s * draw(st.floats(0.3, 1.0)), 1)
                rows.append([study, "", endpoint, "landmark", s, "", "", t, "%"])
        patients = draw(st.integers(1, 400))
        rows.append([study, "", "", "patients", patients, "", "", "", ""])
        rows.append([study, "", "PFS", "events", draw(st.integers(0, patients)), "", "", "", ""])
    header = ["study", "arm", "endpoint", "quantity", "value", "ci_low", "ci_high", "time", "unit"]
    return to_csv(header, rows), len(rows)


@st.composite
def audit_csv(draw):
    rows = []
    for i in range(draw(st.integers(1, 6))):
        n = draw(st.integers(1, 300))
        count = draw(st.integers(0, n))
        rows.append(
            [f"item{i}", "Results", f"quantity {i}", "percent", f"{100 * count / n:.1f}", count, n]
        )
    return to_csv(["item_id", "location", "quantity", "check", "value", "count", "n"], rows), len(
        rows
    )


#: kind -> (strategy of valid files, CLI arguments after the file)
FORMATS = {
    "binary": (binary_csv(), ["validate", "{file}", "--kind", "binary"]),
    "ipd": (ipd_csv(), ["validate", "{file}", "--kind", "ipd"]),
    "km": (km_csv(), ["validate", "{file}", "--kind", "km"]),
    "risk": (risk_csv(), ["validate", "{file}", "--kind", "risk"]),
    "summaries": (summaries_csv(), ["validate", "{file}", "--kind", "summaries"]),
    "audit": (audit_csv(), ["audit", "{file}"]),
}

# ------------------------------------------------------------------------------------------
# corruptions
# ------------------------------------------------------------------------------------------
BAD_NUMBERS = [
    "1_0",
    "١٠",
    "１２",
    "1e18",
    "1e400",
    "10" * 16,
    "nan",
    "inf",
    "-inf",
    "-3",
    "2.5",
    "0x1A",
    "1,5",
    "15%",
    " ",
    "NA",
    "1e-400",
    "+",
    ".",
    "e5",
    "٣.٥",
]


@st.composite
def corrupted(draw, data: bytes):
    """One or two corruptions of ``data`` (bytes of a valid file)."""
    what = []
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(CORRUPTIONS))
        data = op(draw, data)
        what.append(op.__name__)
    return data, "+".join(what)


def _position(draw, data: bytes) -> int:
    return draw(st.integers(0, len(data)))


def cr_line_endings(draw, data):
    return data.replace(b"\n", b"\r")


def mixed_line_endings(draw, data):
    lines = data.split(b"\n")
    ends = [draw(st.sampled_from([b"\n", b"\r", b"\r\n"])) for _ in lines[:-1]]
    return b"".join(line + end for line, end in zip(lines, ends, strict=False)) + lines[-1]


def insert_nul(draw, data):
    i = _position(draw, data)
    return data[:i] + b"\x00" + data[i:]


def byte_order_marks(draw, data):
    return b"\xef\xbb\xbf" * draw(st.integers(1, 3)) + data


def bom_inside(draw, data):
    i = _position(draw, data)
    return data[:i] + b"\xef\xbb\xbf" + data[i:]


def bad_number_in_a_cell(draw, data):
    text = data.decode(
        "utf-8", errors="surrogateescape"
    )  # an earlier corruption may have broken it
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:  # e.g. an earlier huge cell: leave the file as it is
        return data
    if len(records) < 2 or not records[0]:
        return data
    r = draw(st.integers(1, len(records) - 1))
    if not records[r]:
        return data
    c = draw(st.integers(0, len(records[r]) - 1))
    records[r][c] = draw(st.sampled_from(BAD_NUMBERS))
    return to_csv(records[0], records[1:]).encode("utf-8", errors="surrogateescape")


def stray_quote(draw, data):
    i = _position(draw, data)
    return data[:i] + b'"' + data[i:]


def truncate(draw, data):
    return data[: _position(draw, data)]


def delete_byte(draw, data):
    if not data:
        return data
    i = draw(st.integers(0, len(data) - 1))
    return data[:i] + data[i + 1 :]


def insert_text(draw, data):
    i = _position(draw, data)
    return data[:i] + draw(st.text(max_size=8)).encode("utf-8", "surrogatepass") + data[i:]


def insert_bytes(draw, data):
    i = _position(draw, data)
    return data[:i] + draw(st.binary(min_size=1, max_size=6)) + data[i:]


def insert_comma(draw, data):
    i = _position(draw, data)
    return data[:i] + b"," + data[i:]


def blank_lines(draw, data):
    lines = data.split(b"\n")
    i = draw(st.integers(0, len(lines)))
    return b"\n".join(lines[:i] + [b""] * draw(st.integers(1, 3)) + lines[i:])


def huge_cell(draw, data):
    i = _position(draw, data)
    return data[:i] + b"7" * draw(st.sampled_from([10_001, 131_073, 200_000])) + data[i:]


def trailing_empty_columns(draw, data):
    head, _, rest = data.partition(b"\n")
    return head + b",," + b"\n" + rest


def semicolons(draw, data):
    return data.replace(b",", b";")


def duplicate_a_row(draw, data):
    lines = data.split(b"\n")
    if len(lines) < 3:
        return data
    i = draw(st.integers(1, len(lines) - 2))
    return b"\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])


def non_utf8_byte(draw, data):
    i = _position(draw, data)
    return data[:i] + draw(st.sampled_from([b"\xfc", b"\xe9", b"\xff", b"\xc3"])) + data[i:]


CORRUPTIONS = [
    cr_line_endings,
    mixed_line_endings,
    insert_nul,
    byte_order_marks,
    bom_inside,
    bad_number_in_a_cell,
    bad_number_in_a_cell,
    stray_quote,
    truncate,
    delete_byte,
    insert_text,
    insert_bytes,
    insert_comma,
    blank_lines,
    huge_cell,
    trailing_empty_columns,
    semicolons,
    duplicate_a_row,
    non_utf8_byte,
]
