"""Back-solving printed intervals, percentages and p-values (bayes_anlo.audit.backsolve).

The reproducing intervals are recomputed here independently (scipy's beta quantiles for
Clopper-Pearson, the Wald formula written out) rather than taken from the code under test.
"""

import math

import pytest
from scipy import stats

from bayes_anlo.audit import run_audit
from bayes_anlo.audit.backsolve import (
    interval_candidates,
    percent_candidates,
    pvalue_candidates,
)
from bayes_anlo.audit.printed import parse_printed as P
from tests.audit.conftest import make_extraction


def wald(k, n):
    p = k / n
    half = stats.norm.ppf(0.975) * math.sqrt(p * (1 - p) / n)
    return 100 * (p - half), 100 * (p + half)


def clopper_pearson(k, n):
    return 100 * stats.beta.ppf(0.025, k, n - k + 1), 100 * stats.beta.ppf(0.975, k + 1, n - k)


def test_issue_example_wald_on_21_of_166_not_22():
    lo, hi = wald(21, 166)
    assert f"{lo:.1f}" == "7.6" and f"{hi:.0f}" == "18"  # the printed "7.6-18%"
    lo22, hi22 = wald(22, 166)
    assert f"{lo22:.1f}" != "7.6"
    best = interval_candidates(P("7.6"), P("18"), value=P("13"), count=22, n=166)[0]
    assert (best.counts, best.method) == ((21, 166), "wald")


def test_issue_example_exact_interval_of_11_of_27_not_10():
    lo, hi = clopper_pearson(11, 27)
    assert (f"{lo:.1f}", f"{hi:.1f}") == ("22.4", "61.2")
    assert f"{100 * 10 / 27:.1f}" == "37.0"  # the printed percentage is of 10
    stated = interval_candidates(P("22.4"), P("61.2"), value=P("37.0"), count=10, n=27)
    assert [(c.counts, c.method) for c in stated] == [((11, 27), "clopper-pearson")]
    # without any count printed the search over plausible n finds the same and nothing else
    free = interval_candidates(P("22.4"), P("61.2"), value=P("37.0"))
    assert [(c.counts, c.method) for c in free] == [((11, 27), "clopper-pearson")]


def test_verdict_note_names_the_reproducing_count():
    frame = make_extraction(
        {
            "check": "proportion_ci",
            "value": "13",
            "lower": "7.6",
            "upper": "18",
            "count": 22,
            "n": 166,
        },
        {
            "check": "proportion_ci",
            "value": "37.0",
            "lower": "22.4",
            "upper": "61.2",
            "count": 10,
            "n": 27,
            "method": "exact",
        },
    )
    table = run_audit(frame).table
    assert "the printed interval is wald on 21/166, not the stated 22/166" in table.note[0]
    assert table.candidates[0].startswith("wald on 21/166")
    assert "clopper-pearson on 11/27, not the stated 10/27" in table.note[1]
    assert table.verdict.tolist() == ["not_reproduced", "not_reproduced"]


def test_rows_without_counts_are_unverifiable_with_candidates():
    frame = make_extraction(
        {"check": "proportion_ci", "value": "37.0", "lower": "22.4", "upper": "61.2"},
        {"check": "percent", "value": "43.3", "count": 13},
        {"check": "percent", "value": "43.3"},
        {"check": "pvalue", "value": "0.047"},
        {"check": "proportion_ci", "lower": "0.0", "upper": "99.0", "n": 3},
    )
    result = run_audit(frame)
    assert result.table.verdict.tolist() == ["unverifiable"] * 5
    assert not result.flagged
    assert result.table.candidates[0] == "clopper-pearson on 11/27"
    assert "13/30" in result.table.candidates[1]  # 13/30 = 43.33%
    assert "not a proportion's interval" in result.table.note[4]


def test_percent_candidates_are_exact_fractions():
    cands = percent_candidates(P("52"), 16, 31)
    assert cands and all(f"{100 * c.counts[0] / c.counts[1]:.0f}" == "52" for c in cands)
    assert cands[0].counts == (16, 31)  # 16/31 = 51.6%: the stated pair prints 52
    # only a count printed: the smallest denominators first
    dens = [c.counts[1] for c in percent_candidates(P("43.3"), 13, None)]
    assert dens[0] == 30 and dens == sorted(dens)


def test_pvalue_candidates_recomputed_with_scipy():
    # Cai 2022, STS ORR 1/16 vs 5/13 printed P = 0.047: one-sided Fisher on the stated table
    cands = pvalue_candidates(P("0.047"), 1, 16, 5, 13, accepted=("fisher", "chi-square"))
    assert (cands[0].counts, cands[0].method) == ((1, 16, 5, 13), "fisher-one-sided")
    one_sided = stats.fisher_exact([[1, 15], [5, 8]], alternative="less").pvalue
    assert f"{one_sided:.3f}" == "0.047"
    for c in cands:
        e1, n1, e2, n2 = c.counts
        table = [[e1, n1 - e1], [e2, n2 - e2]]
        if c.method == "fisher":
            assert f"{stats.fisher_exact(table).pvalue:.3f}" == "0.047"
        if c.method.startswith("chi-square"):
            yates = c.method == "chi-square-yates"
            p = stats.chi2_contingency(table, correction=yates).pvalue
            assert f"{p:.3f}" == "0.047"


@pytest.mark.parametrize(
    "lower, upper", [("0.0", "0.1"), ("99.9", "100.0"), ("0", "100"), ("50", "50")]
)
def test_extreme_intervals_stay_bounded(lower, upper):
    cands = interval_candidates(P(lower), P(upper))
    for c in cands[:50]:
        k, n = c.counts
        assert 0 <= k <= n <= 10_000


def test_huge_denominators_give_bounded_exact_candidates():
    frame = make_extraction(
        {"check": "percent", "value": "33.3", "n": 10_000_000},
        {"check": "proportion_ci", "lower": "10", "upper": "90", "n": 10_000_000},
        {
            "check": "proportion_ci",
            "lower": "49.9",
            "upper": "50.1",
            "count": 5_000_000,
            "n": 10_000_000,
        },  # fmt: skip
    )
    table = run_audit(frame).table
    first = table.candidates[0].split("; ")[0]
    k, n = (int(x) for x in first.split("/"))
    assert n == 10_000_000 and f"{100 * k / n:.1f}" == "33.3"
    assert table.candidates[1] == ""  # no binomial interval of n = 10^7 is that wide
    assert table.verdict.tolist() == ["unverifiable", "unverifiable", "not_reproduced"]


def test_flagged_rows_show_candidates_in_markdown_and_report():
    from bayes_anlo.report.compose import audit_blocks

    frame = make_extraction(
        {
            "check": "proportion_ci",
            "value": "13",
            "lower": "7.6",
            "upper": "18",
            "count": 22,
            "n": 166,
        },  # fmt: skip
    )
    result = run_audit(frame)
    assert "| wald on 21/166;" in result.to_markdown()
    tables = [b for b in audit_blocks({"x": result}) if hasattr(b, "frame")]
    assert tables and "candidates" in tables[0].frame.columns
    assert tables[0].frame["candidates"].iloc[0].startswith("wald on 21/166")
