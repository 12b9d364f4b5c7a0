"""The shared CSV reader and number parsers (bayes_anlo/data/csv_reader.py) and problem locations.

Numbers are checked against Python's own parsing of the same ASCII text (``int``/``float`` of the
``repr``), and against Unicode's digit categories for what must be refused.
"""

from __future__ import annotations

import math
import os
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayes_anlo.data import binary, csv_reader
from bayes_anlo.data.binary import load_binary
from bayes_anlo.data.csv_reader import (
    MAX_COUNT,
    MAX_MAGNITUDE,
    count_from_text,
    number_from_text,
    read_text_table,
)
from bayes_anlo.data.survival import load_summaries
from bayes_anlo.errors import InputError, Problem

FAST = settings(max_examples=100, derandomize=True, deadline=None, database=None)


def write(tmp_path, data: bytes | str, name: str = "input.csv"):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def first(exc: pytest.ExceptionInfo) -> str:
    return str(exc.value.problems[0])


# ------------------------------------------------------------------------------------------
# where a problem prints
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "row, column, shown",
    [
        (3, "events", "f.csv:3:events: bad"),
        (3, None, "f.csv:3: bad"),
        (None, "outcome", "f.csv: outcome: bad"),
        (None, None, "f.csv: bad"),
        ("analyses[1]", "model", "f.csv:analyses[1]:model: bad"),
    ],
)
def test_problem_never_prints_an_empty_location_part(row, column, shown):
    assert str(Problem("f.csv", row, column, "bad")) == shown
    assert "::" not in str(Problem("f.csv", row, column, "bad"))


def test_input_error_from_text_names_a_file():
    assert str(InputError("no rows")) == "<input>: no rows"


@settings(max_examples=300, derandomize=True, deadline=None)
@given(parts=st.lists(st.text(min_size=1), min_size=4, max_size=4))
def test_a_problem_is_one_line_whatever_its_parts_hold(parts):
    """Found by the spec fuzz: a TOML key holding a newline split its error over two lines, the
    second without the ``error:`` prefix (and an escape character would reach the terminal)."""
    file, row, column, message = parts
    shown = str(Problem(file, row, column, message))
    assert len(shown.splitlines()) == 1
    assert all(unicodedata.category(ch) not in ("Cc", "Zl", "Zp") for ch in shown)
    if all(part.isprintable() for part in parts):  # printable text is shown as it is
        assert shown == f"{file}:{row}:{column}: {message}"


def test_control_characters_are_shown_as_their_escapes():
    problem = Problem("a\nb.csv", "x\u2028y", "col\x1b[31m", "bad\rvalue")
    assert str(problem) == "a\\nb.csv:x\\u2028y:col\\x1b[31m: bad\\rvalue"


# ------------------------------------------------------------------------------------------
# numbers: plain ASCII decimals only
# ------------------------------------------------------------------------------------------
@FAST
@given(st.integers(-int(MAX_MAGNITUDE), int(MAX_MAGNITUDE)))
def test_ascii_integers_parse_as_python_does(value):
    assert number_from_text(str(value)) == value


@FAST
@given(st.floats(-MAX_MAGNITUDE, MAX_MAGNITUDE, allow_nan=False))
def test_ascii_decimals_parse_as_python_does(value):
    text = repr(value)  # e.g. '1e-05', '123.5', '-0.0'
    assert number_from_text(text) == float(text)


@FAST
@given(st.integers(0, MAX_COUNT))
def test_counts_up_to_the_limit_parse_exactly(value):
    assert count_from_text(str(value)) == value
    assert count_from_text(f"{value}.0") == value


@FAST
@given(st.integers(MAX_COUNT + 1, 10**40))
def test_counts_over_the_limit_are_refused(value):
    with pytest.raises(ValueError, match="larger than"):
        count_from_text(str(value))


NON_ASCII_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii())


@FAST
@given(st.lists(NON_ASCII_DIGITS, min_size=1, max_size=4), st.sampled_from(["", "1", "2."]))
def test_non_ascii_digits_are_refused(digits, prefix):
    """Python's float() reads any Unicode decimal digit (float('١٠') == 10.0); a data file must
    not."""
    text = prefix + "".join(digits)
    assert all(unicodedata.category(c) == "Nd" for c in digits)
    with pytest.raises(ValueError, match="non-ASCII"):
        number_from_text(text)
    with pytest.raises(ValueError, match="non-ASCII"):
        count_from_text(text)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("1_0", "separator"),
        ("1_000.5", "separator"),
        ("nan", "not a number"),
        ("-inf", "not a number"),
        ("Infinity", "not a number"),
        ("1e400", "too large"),
        ("1e10", "too large"),
        ("0x10", "not a number"),
        ("1,5", "comma"),
        ("15%", "percent"),
        ("²", "non-ASCII"),
        ("", "not a number"),
        (" ", "not a number"),
    ],
)
def test_refused_number_texts(text, reason):
    assert float("1_0") == 10 and math.isnan(float("nan"))  # what Python itself would accept
    with pytest.raises(ValueError, match=reason):
        number_from_text(text)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("2.5", "whole number"),
        ("-3", "negative"),
        ("5e-1", "whole number"),
        ("1e18", "larger than"),
        ("1" + "0" * 5000, "larger than"),
    ],
)
def test_refused_count_texts(text, reason):
    with pytest.raises(ValueError, match=reason):
        count_from_text(text)


# ------------------------------------------------------------------------------------------
# the reader
# ------------------------------------------------------------------------------------------
def test_row_numbers_follow_the_file_lines(tmp_path):
    """Blank lines and a quoted cell spanning two lines do not shift the rows of later errors."""
    text = 'study,outcome,events,n\n\n"two\nlines",ORR,3,20\n\nB,ORR,30,10\r\rC,ORR,1_0,10\n'
    with pytest.raises(InputError) as info:
        load_binary(write(tmp_path, text))
    shown = [str(p).split(": ", 1)[0].rsplit("/", 1)[-1] for p in info.value.problems]
    assert shown == ["input.csv:8:events", "input.csv:6:events"]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_line_endings_load_the_same_table(tmp_path, ending):
    text = "study,outcome,events,n\nA,ORR,3,20\nB,ORR,5,25\n".replace("\n", ending)
    data = load_binary(write(tmp_path, text))
    assert data.table[["study", "events", "n"]].values.tolist() == [["A", 3, 20], ["B", 5, 25]]


def test_leading_byte_order_marks_are_dropped(tmp_path):
    data = load_binary(
        write(tmp_path, b"\xef\xbb\xbf" * 2 + b"study,outcome,events,n\nA,ORR,3,20\n")
    )
    assert list(data.table.columns[:4]) == ["study", "outcome", "events", "n"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening it for reading would block until a writer appears
    with pytest.raises(InputError) as info:
        read_text_table(fifo, ["study"])
    assert (
        first(info)
        == f"{fifo}: is not a regular file (a FIFO, socket or device?); expected a CSV file"
    )


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused():
    with pytest.raises(InputError, match="regular file"):
        read_text_table("/dev/zero", ["study"])


def test_file_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reader, "MAX_FILE_BYTES", 40)
    path = write(tmp_path, "study,outcome,events,n\nA,ORR,3,20\nB,ORR,5,25\n")
    with pytest.raises(InputError, match="larger than"):
        load_binary(path)


def test_row_limit(tmp_path):
    path = write(tmp_path, "study\n" + "".join(f"S{i}\n" for i in range(5)))
    assert len(read_text_table(path, ["study"], max_rows=5)[0]) == 5
    with pytest.raises(InputError, match="more than 4 data rows"):
        read_text_table(path, ["study"], max_rows=4)


def test_rows_per_outcome_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(binary, "MAX_ROWS_PER_OUTCOME", 3)
    rows = "".join(f"S{i},ORR,1,10\nS{i},DCR,2,10\n" for i in range(3))
    load_binary(write(tmp_path, "study,outcome,events,n\n" + rows))  # 3 of each: allowed
    with pytest.raises(InputError) as info:
        load_binary(write(tmp_path, "study,outcome,events,n\n" + rows + "S9,ORR,1,10\n"))
    assert first(info).endswith(
        "input.csv:8:outcome: more than 3 rows of outcome 'ORR', the most one "
        "analysis takes (see the documented limits)"
    )


@pytest.mark.parametrize("size, ok", [(10_000, True), (10_001, False)])
def test_cell_length_limit(tmp_path, size, ok):
    path = write(tmp_path, "study,outcome,events,n,source\nA,ORR,3,20," + "x" * size + "\n")
    if ok:
        assert load_binary(path).table["source"].iloc[0] == "x" * size
    else:
        with pytest.raises(InputError) as info:
            load_binary(path)
        assert (
            first(info)
            == f"{path}:2:source: cell has more than 10,000 characters; at most 10,000 are allowed"
        )


def test_quoted_overlong_cell_with_commas_is_located(tmp_path):
    path = write(
        tmp_path,
        'study,outcome,events,n,quote\nA,ORR,3,20,ok\nB,ORR,3,20,"' + "a, b " * 2500 + '"\n',
    )
    with pytest.raises(InputError) as info:
        load_binary(path)
    assert first(info).startswith(f"{path}:3:quote: cell has more than")


@pytest.mark.parametrize(
    "text, where",
    [
        ('study,outcome,events,n\nA,ORR,3,20\n"B,ORR,3,20\n', "3:study"),
        ('study,outcome,events,n\nA,"ORR"x,3,20\n', "2:outcome"),
        ('study,outcome,events,n\nA,"OR\nR",3,20\nB,"ORR,3,20\n', "4:outcome"),
    ],
)
def test_quoting_errors_are_located(tmp_path, text, where):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_binary(path)
    assert first(info).startswith(f"{path}:{where}: ")


def test_empty_trailing_header_columns_are_dropped_but_named_data_is_kept(tmp_path):
    data = load_binary(write(tmp_path, "study,outcome,events,n,,\nA,ORR,3,20,,\nB,ORR,1,9\n"))
    assert (
        list(data.table.columns[:4]) == ["study", "outcome", "events", "n"]
        and "" not in data.table.columns
    )
    with pytest.raises(InputError) as info:
        load_binary(write(tmp_path, "study,outcome,events,n,,\nA,ORR,3,20,,x\n"))
    assert [str(p).split(".csv", 1)[1] for p in info.value.problems] == [
        ":1:5: column 5 has no name in the header",
        ":1:6: column 6 has no name in the header",
    ]


def test_bad_characters_in_the_header_are_located_by_number_and_not_printed(tmp_path):
    with pytest.raises(InputError) as info:
        load_binary(write(tmp_path, b"study,out\x1bcome,events,n\nA,ORR,3,20\n"))
    assert first(info).endswith(":1:2: contains the control character U+001B")
    assert "\x1b" not in str(info.value)


def test_non_utf8_byte_is_located_at_its_cell(tmp_path):
    with pytest.raises(InputError) as info:
        load_binary(write(tmp_path, b"study,outcome,events,n\nA,ORR,3,20\nB\xfc,ORR,3,20\n"))
    assert first(info).endswith(
        ":3:study: is not UTF-8 text (byte 0xFC); save the file as UTF-8 CSV"
    )


# ------------------------------------------------------------------------------------------
# summaries: a landmark survival cannot rise
# ------------------------------------------------------------------------------------------
HEADER = "study,arm,endpoint,quantity,value,ci_low,ci_high,time,unit\n"


def test_rising_landmark_is_an_error_at_the_later_time(tmp_path):
    text = (
        HEADER + "A,,PFS,landmark,0.5,,,24,\nA,,PFS,landmark,0.7,,,6,\nA,,PFS,landmark,0.45,,,12,\n"
    )
    with pytest.raises(InputError) as info:
        load_summaries(write(tmp_path, text))
    assert [(p.row, p.column) for p in info.value.problems] == [(2, "value")]
    assert "rises from 0.45 at 12 months (row 4) to 0.5 at 24 months" in first(info)


def test_landmarks_of_other_curves_are_independent(tmp_path):
    text = (
        HEADER + "A,,PFS,landmark,40,,,12,%\nA,,OS,landmark,70,,,12,%\nA,x,PFS,landmark,60,,,24,%\n"
        "A,,PFS,landmark,40,,,24,%\n"
    )
    table = load_summaries(write(tmp_path, text)).table
    assert sorted(table["value"].round(2)) == [0.4, 0.4, 0.6, 0.7]


def test_curve_level_problems_are_located_at_the_curve_first_row(tmp_path):
    """A curve without a risk table or patient count is reported at its first coordinates row."""
    from bayes_anlo.data.survival import load_digitised_km

    path = write(tmp_path, "study,arm,time,survival\nA,,0,1\nA,,2,0.8\n\nB,x,3,0.9\nB,x,1,0.95\n")
    with pytest.raises(InputError) as info:
        load_digitised_km(path)
    assert [(p.row, p.column) for p in info.value.problems] == [(2, "study"), (5, "study")]
    assert "curve B/x has neither a risk table nor n_patients" in str(info.value.problems[1])
