"""Printed numbers: precision, rounding ties, truncation, bounds."""

import math

import pytest

from bayes_anlo.audit.printed import parse_printed, printings_agree


@pytest.mark.parametrize(
    ("text", "value", "decimals", "relation"),
    [
        ("13.3", 13.3, 1, "="),
        ("16", 16.0, 0, "="),
        ("0.047", 0.047, 3, "="),
        ("<0.01", 0.01, 2, "<"),
        ("< 0.001", 0.001, 3, "<"),
        ("≤0.05", 0.05, 2, "<="),
        (">0.05", 0.05, 2, ">"),
        ("-0.3", -0.3, 1, "="),
    ],
)
def test_parse(text, value, decimals, relation):
    p = parse_printed(text, allow_relation=True)
    assert p.value == pytest.approx(value) and p.decimals == decimals and p.relation == relation


@pytest.mark.parametrize("text", ["13,3", "13.3%", "abc", "", "1.2.3"])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        parse_printed(text)


def test_bound_only_when_allowed():
    with pytest.raises(ValueError, match="bound"):
        parse_printed("<0.01")


def test_matches_at_printed_precision():
    p = parse_printed("13.3")
    assert p.matches(4 / 30 * 100)  # 13.333...
    assert not p.matches(13.36)
    assert parse_printed("13").matches(13.333)
    assert not parse_printed("13.33").matches(13.3)


def test_rounding_tie_both_conventions():
    # 5/8 = 62.5%: half-up prints 63, half-even (Python's round) prints 62; both accepted
    x = 5 / 8 * 100
    assert round(x) == 62  # half-even, independent of the code under test
    assert math.floor(x + 0.5) == 63  # half-up
    assert parse_printed("63").matches(x) and parse_printed("62").matches(x)
    assert parse_printed("63").is_tie(x)
    assert not parse_printed("61").matches(x)


def test_truncation_detected():
    x = 5 / 30 * 100  # 16.666...
    assert parse_printed("16.6").is_truncation_of(x)
    assert not parse_printed("16.6").matches(x)
    assert not parse_printed("16.7").is_truncation_of(x)


def test_bounds():
    p = parse_printed("<0.01", allow_relation=True)
    assert p.matches(0.0013) and not p.matches(0.02)
    q = parse_printed(">0.05", allow_relation=True)
    assert q.matches(0.2) and not q.matches(0.01)


def test_printings_agree():
    assert printings_agree(parse_printed("13.3"), parse_printed("13"))
    assert printings_agree(parse_printed("9"), parse_printed("9.0"))
    assert not printings_agree(parse_printed("73.3"), parse_printed("53.3"))
    assert not printings_agree(parse_printed("13.3"), parse_printed("13.4"))
