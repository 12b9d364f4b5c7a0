"""The extraction loader: every problem reported at once as file:row:column."""

import pytest

from bayes_anlo.audit import (
    CHECKS,
    bundled_audit_path,
    list_bundled_audits,
    load_extraction,
    run_audit,
)
from bayes_anlo.audit.extraction import ALL_COLUMNS
from bayes_anlo.errors import InputError


def write(tmp_path, lines, name="extraction.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


HEADER = ",".join(ALL_COLUMNS)


def row(**cells):
    return ",".join(str(cells.get(c, "")) for c in ALL_COLUMNS)


def test_valid_file_loads(tmp_path):
    path = write(
        tmp_path,
        [
            HEADER,
            row(
                item_id="a",
                location="Abstract",
                quantity="ORR",
                check="percent",
                value="13.3",
                count=4,
                n=30,
            ),
            row(
                item_id="b",
                location="Abstract",
                quantity="ORR CI",
                check="proportion_ci",
                lower="0.4",
                upper="26.2",
                count=4,
                n=30,
                method="Clopper-Pearson",
            ),
        ],
    )
    ex = load_extraction(path)
    assert (
        len(ex) == 2 and ex.items[1].method == "clopper-pearson" and ex.items[0].value.decimals == 1
    )
    assert ex.items[0].row == 2 and ex.source == str(path) and len(ex.sha256) == 64


def test_minimal_header(tmp_path):
    path = write(
        tmp_path,
        ["item_id,location,quantity,check,value,components", "s,Table 1,total,sum,30,25;5"],
    )
    assert run_audit(path).table.verdict.tolist() == ["ok"]


def test_all_problems_at_once(tmp_path):
    path = write(
        tmp_path,
        [
            HEADER,
            row(
                item_id="a",
                location="Abstract",
                quantity="q",
                check="percentage",
                value="1",
                count=1,
                n=2,
            ),  # row 2 unknown check
            row(
                item_id="b",
                location="Abstract",
                quantity="q",
                check="percent",
                value="13.3%",
                count=4,
                n=30,
            ),  # row 3 percent sign
            row(
                item_id="c", location="", quantity="q", check="percent", value="50", count=6, n=5
            ),  # row 4 missing location; count > n
            row(
                item_id="c",
                location="Table",
                quantity="q",
                check="proportion_ci",
                lower="30",
                upper="20",
                count=1,
                n=5,
            ),  # row 5 duplicate; lower > upper
            row(
                item_id="e",
                location="Table",
                quantity="q",
                check="pvalue",
                value="1.5",
                count=1,
                n=5,
                count2=2,
                n2=5,
            ),  # row 6 p > 1
            row(
                item_id="f",
                location="Table",
                quantity="q",
                check="proportion_ci",
                lower="1",
                upper="2",
                count="x",
                n=5,
                method="bayes",
            ),  # row 7
            row(
                item_id="g", location="Table", quantity="q", check="sum", value="3"
            ),  # row 8 missing components
            row(
                item_id="h",
                location="Table",
                quantity="q",
                check="percent",
                value="10",
                count=1,
                n=10,
                alternatives="enrolled=1-12",
            ),  # row 9
            row(
                item_id="i",
                location="Table",
                quantity="q",
                check="proportion_ci",
                lower="1",
                upper="2",
                count=1,
                n=5,
                level="95",
            ),  # row 10
        ],
    )
    with pytest.raises(InputError) as info:
        load_extraction(path)
    got = {(p.row, p.column) for p in info.value.problems}
    assert {
        (2, "check"),
        (3, "value"),
        (4, "location"),
        (4, "count"),
        (5, "item_id"),
        (5, "upper"),
        (6, "value"),
        (7, "count"),
        (7, "method"),
        (8, "components"),
        (9, "alternatives"),
        (10, "level"),
    } <= got
    text = str(info.value)
    assert f"{path}:2:check: unknown check 'percentage'" in text
    assert "percent sign" in text and "first used on row 4" in text and "write 0.95" in text
    assert all(line.startswith(f"{path}:") for line in text.splitlines())


def test_method_for_check_without_methods(tmp_path):
    path = write(
        tmp_path,
        [
            HEADER,
            row(
                item_id="a",
                location="T",
                quantity="q",
                check="sum",
                value="3",
                components="1;2",
                method="fisher",
            ),
        ],
    )
    with pytest.raises(InputError, match=r":2:method: check 'sum' takes no method"):
        load_extraction(path)


def test_missing_required_column_and_missing_file(tmp_path):
    path = write(tmp_path, ["item_id,location,check", "a,b,percent"])
    with pytest.raises(InputError, match=r":1:quantity: required column is missing"):
        load_extraction(path)
    with pytest.raises(InputError, match="does not exist"):
        load_extraction(tmp_path / "nope.csv")


def test_bound_only_for_p_values(tmp_path):
    path = write(
        tmp_path,
        [
            HEADER,
            row(
                item_id="a", location="T", quantity="q", check="percent", value="<5", count=1, n=30
            ),
        ],
    )
    with pytest.raises(InputError, match=r":2:value: .*only allowed for p-values"):
        load_extraction(path)


def test_check_vocabulary_documented():
    import bayes_anlo.audit.extraction as mod

    for check in CHECKS:
        assert check in mod.__doc__


def test_bundled_names_and_paths():
    names = list_bundled_audits()
    assert names == ["npc_qin2025", "sarcoma_cai2022", "sarcoma_meta_li2025"]
    for name in names:
        assert bundled_audit_path(name).is_file()
        assert load_extraction(name).source == name
    with pytest.raises(KeyError, match="npc_qin2025"):
        bundled_audit_path("nope")


def test_module_is_callable():
    import bayes_anlo
    import bayes_anlo.audit as audit_module
    from bayes_anlo.audit import AuditResult

    result = audit_module("npc_qin2025")
    assert isinstance(result, AuditResult) and result.source == "npc_qin2025"
    assert bayes_anlo.audit is audit_module and callable(bayes_anlo.audit)


# ------------------------------------------------------------------------------------------
# issue 11: huge counts are refused (they used to hang the audit); the hint search is bounded
# ------------------------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bayes_anlo.audit.checks import _percent_hints  # noqa: E402
from bayes_anlo.audit.extraction import Item  # noqa: E402
from bayes_anlo.audit.printed import parse_printed  # noqa: E402


@pytest.mark.parametrize("n", ["1" + "0" * 31, "1e18", "10000001"])
def test_counts_over_the_limit_are_refused(tmp_path, n):
    path = write(
        tmp_path,
        [
            HEADER,
            row(
                item_id="orr",
                location="Abstract",
                quantity="ORR",
                check="percent",
                value="13.3",
                count=2,
                n=n,
            ),
        ],
    )
    with pytest.raises(InputError) as info:
        load_extraction(path)
    assert str(info.value.problems[0]).startswith(f"{path}:2:n: ") and "larger than" in str(
        info.value
    )


def _hints_by_brute_force(value, count: int, n: int) -> tuple[list[int], list[int]]:
    """Every count out of n, and the first three denominators from count up, that print as value."""
    ks = [k for k in range(n + 1) if value.matches(100 * k / n)]
    dens = [m for m in range(max(count, 1), 4 * max(n, 25) + 1) if value.matches(100 * count / m)][
        :3
    ]
    return ks, dens


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(n=st.integers(1, 400), data=st.data())
def test_percent_hints_agree_with_a_brute_force_search(n, data):
    count = data.draw(st.integers(0, n))
    decimals = data.draw(st.integers(0, 2))
    value = parse_printed(f"{data.draw(st.floats(0, 100)):.{decimals}f}")
    item = Item(
        row=2, item_id="x", location="", quantity="", check="percent", value=value, count=count, n=n
    )
    ks, dens = _hints_by_brute_force(value, count, n)
    hint = _percent_hints(item)
    if ks:
        shown = " or ".join(str(k) for k in ks[:5]) + (" ..." if len(ks) > 5 else "")
        assert f"{shown}/{n} would print {value}" in hint
    else:
        assert f"no count out of {n} prints as {value}" in hint
    if count and dens:
        assert f"{count}/{dens[0]} would" in hint
        if len(dens) > 1:
            assert f"(also /{', /'.join(map(str, dens[1:3]))})" in hint
    elif count:
        assert f"no denominator gives {count} -> {value}" in hint


def test_percent_hints_for_ten_million_patients_are_bounded():
    """n at the count limit: the search tries thousands of candidates, not ten million."""
    value = parse_printed("13.3")
    item = Item(
        row=2,
        item_id="x",
        location="",
        quantity="",
        check="percent",
        value=value,
        count=2,
        n=10_000_000,
    )
    hint = _percent_hints(item)
    k_lo = 1_325_000  # 13.25% of 10**7 is the smallest count printing as 13.3
    assert hint.startswith(f"{k_lo} or {k_lo + 1} or") and "..." in hint
    assert "2/15 would" in hint  # 2/15 = 13.33%: the first denominator for count 2
