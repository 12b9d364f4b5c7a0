"""Synthetic extractions whose right verdict is known by construction.

Every printed number here is made in the test from an independent formula (scipy quantiles,
hand-written interval formulas, scipy's Fisher test), then fed to the audit.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes_anlo.audit import VERDICTS, run_audit
from tests.audit.conftest import make_extraction


def fmt(x, d=1):
    return f"{x:.{d}f}"


Z95 = stats.norm.ppf(0.975)


def wilson(k, n, z=Z95):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return 100 * (centre - half), 100 * (centre + half)


def clopper_pearson(k, n):
    lo = stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    hi = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return 100 * lo, 100 * hi


def spss_t(k, n):
    x = np.r_[np.ones(k), np.zeros(n - k)]
    half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return 100 * max(x.mean() - half, 0), 100 * min(x.mean() + half, 1)


def one(frame):
    result = run_audit(frame)
    return result, result.table.iloc[0]


# --- intervals ------------------------------------------------------------------------------------
def test_wilson_printed_but_labelled_clopper_pearson_is_method_mismatch():
    k, n = 7, 25
    lo, hi = wilson(k, n)
    cp = clopper_pearson(k, n)
    assert (fmt(lo), fmt(hi)) != (fmt(cp[0]), fmt(cp[1]))  # the two methods differ at 1 decimal
    _, row = one(
        make_extraction(
            dict(
                check="proportion_ci",
                count=k,
                n=n,
                lower=fmt(lo),
                upper=fmt(hi),
                method="Clopper-Pearson",
            )
        )
    )
    assert row.verdict == "method_mismatch"
    assert "wilson" in row.matching.split(", ") and "clopper-pearson" not in row.matching
    assert f"{fmt(cp[0])}–{fmt(cp[1])}" in row.note


def test_clopper_pearson_labelled_clopper_pearson_is_ok():
    k, n = 7, 25
    lo, hi = clopper_pearson(k, n)
    _, row = one(
        make_extraction(
            dict(
                check="proportion_ci",
                count=k,
                n=n,
                lower=fmt(lo, 2),
                upper=fmt(hi, 2),
                method="clopper-pearson",
            )
        )
    )
    assert row.verdict == "ok" and "clopper-pearson" in row.matching


def test_unlabelled_t_interval_is_ok_and_identified():
    lo, hi = spss_t(4, 30)
    _, row = one(
        make_extraction(dict(check="proportion_ci", count=4, n=30, lower=fmt(lo), upper=fmt(hi)))
    )
    assert row.verdict == "ok" and row.matching == "spss-t"


def test_interval_no_method_reproduces():
    _, row = one(
        make_extraction(
            dict(check="proportion_ci", count=7, n=25, lower="10.0", upper="60.0", method="wilson")
        )
    )
    assert row.verdict == "not_reproduced" and row.matching == ""


def test_interval_point_estimate_checked():
    lo, hi = wilson(7, 25)
    _, row = one(
        make_extraction(
            dict(
                check="proportion_ci",
                count=7,
                n=25,
                value="30.0",
                lower=fmt(lo),
                upper=fmt(hi),
                method="wilson",
            )
        )
    )
    assert row.verdict == "not_reproduced" and "point estimate" in row.note  # 7/25 = 28.0, not 30.0


def test_interval_level():
    z = stats.norm.ppf(0.95)
    lo, hi = wilson(7, 25, z)
    _, row = one(
        make_extraction(
            dict(
                check="proportion_ci",
                count=7,
                n=25,
                lower=fmt(lo),
                upper=fmt(hi),
                method="wilson",
                level="0.90",
            )
        )
    )
    assert row.verdict == "ok"


# --- percentages ----------------------------------------------------------------------------------
def test_percent_ok_and_wrong():
    frame = make_extraction(
        dict(check="percent", count=5, n=30, value=fmt(500 / 30)),
        dict(check="percent", count=5, n=30, value="16.6"),
    )
    table = run_audit(frame).table
    assert list(table.verdict) == ["ok", "not_reproduced"]
    assert "truncated" in table.note[1]


def test_percent_other_denominator_is_method_mismatch():
    # 20 responders of 47 enrolled, 44 evaluable: the paper says "of evaluable" but divided by
    # enrolled
    printed = fmt(100 * 20 / 47)
    assert printed != fmt(100 * 20 / 44)
    _, row = one(
        make_extraction(
            dict(check="percent", count=20, n=44, value=printed, alternatives="enrolled=20/47")
        )
    )
    assert row.verdict == "method_mismatch" and row.matching == "enrolled"


def test_percent_rounding_tie_either_way():
    frame = make_extraction(
        dict(check="percent", count=5, n=8, value="63"),
        dict(check="percent", count=5, n=8, value="62"),
        dict(check="percent", count=5, n=8, value="61"),
    )
    assert list(run_audit(frame).table.verdict) == ["ok", "ok", "not_reproduced"]


def test_percent_of_zero_denominator():
    _, row = one(make_extraction(dict(check="percent", count=0, n=0, value="0")))
    assert row.verdict == "not_reproduced" and "undefined" in row.note


def test_ratio_inverted():
    men, women = 421, 366
    _, row = one(
        make_extraction(
            dict(
                check="ratio",
                count=women,
                n=men,
                value=fmt(men / women, 2),
                alternatives=f"men per woman={men}/{women}",
            )
        )
    )
    assert row.verdict == "method_mismatch" and row.matching == "men per woman"


# --- p-values -------------------------------------------------------------------------------------
TABLE = (1, 16, 5, 13)


def scipy_p(alternative):
    e1, n1, e2, n2 = TABLE
    return stats.fisher_exact([[e1, n1 - e1], [e2, n2 - e2]], alternative=alternative).pvalue


def test_pvalue_fisher_named_ok():
    e1, n1, e2, n2 = TABLE
    _, row = one(
        make_extraction(
            dict(
                check="pvalue",
                count=e1,
                n=n1,
                count2=e2,
                n2=n2,
                value=fmt(scipy_p("two-sided"), 3),
                method="Fisher",
            )
        )
    )
    assert row.verdict == "ok"


def test_pvalue_one_sided_unstated_is_method_mismatch():
    e1, n1, e2, n2 = TABLE
    one_sided = min(scipy_p("less"), scipy_p("greater"))
    assert fmt(one_sided, 3) != fmt(scipy_p("two-sided"), 3)
    _, row = one(
        make_extraction(
            dict(check="pvalue", count=e1, n=n1, count2=e2, n2=n2, value=fmt(one_sided, 3))
        )
    )
    assert row.verdict == "method_mismatch" and row.matching == "fisher-one-sided"
    # the same printing is ok when the paper says the test is one-sided
    _, row = one(
        make_extraction(
            dict(
                check="pvalue",
                count=e1,
                n=n1,
                count2=e2,
                n2=n2,
                value=fmt(one_sided, 3),
                method="one-sided",
            )
        )
    )
    assert row.verdict == "ok"


def test_pvalue_chi_square_named_but_fisher_printed():
    e1, n1, e2, n2 = TABLE
    _, row = one(
        make_extraction(
            dict(
                check="pvalue",
                count=e1,
                n=n1,
                count2=e2,
                n2=n2,
                value=fmt(scipy_p("two-sided"), 3),
                method="chi-square",
            )
        )
    )
    assert row.verdict == "method_mismatch" and row.matching == "fisher"


def test_pvalue_chi_square_with_and_without_yates():
    # an independent Pearson chi-square on a larger table
    obs = np.array([[30, 70], [45, 55]])
    stat, p, _, _ = stats.chi2_contingency(obs, correction=False)
    stat_y, p_y, _, _ = stats.chi2_contingency(obs, correction=True)
    frame = make_extraction(
        dict(
            check="pvalue", count=30, n=100, count2=45, n2=100, value=fmt(p, 3), method="chi-square"
        ),
        dict(check="pvalue", count=30, n=100, count2=45, n2=100, value=fmt(p_y, 3), method="yates"),
    )
    assert list(run_audit(frame).table.verdict) == ["ok", "ok"]


def test_pvalue_not_reproduced_and_bounds():
    frame = make_extraction(
        dict(check="pvalue", count=1, n=16, count2=5, n2=13, value="0.500"),
        dict(check="pvalue", count=1, n=50, count2=30, n2=50, value="<0.001"),
        dict(check="pvalue", count=1, n=16, count2=5, n2=13, value="<0.01"),
    )
    assert list(run_audit(frame).table.verdict) == ["not_reproduced", "ok", "not_reproduced"]


# --- sums, bounds, means --------------------------------------------------------------------------
def test_sums_and_bounds():
    parts = [8, 21]
    frame = make_extraction(
        dict(check="sum", value=str(sum(parts)), components=";".join(map(str, parts))),
        dict(check="sum", value="25", components="8;21"),
        dict(check="at_most", value="35", components="12;10;2"),
        dict(check="at_most", value="20", components="12;10;2"),
        dict(check="at_least", value="26.5", components="20"),
    )
    table = run_audit(frame).table
    assert list(table.verdict) == ["ok", "sum_mismatch", "inconsistent", "ok", "ok"]
    assert "29" in table.note[1]


def test_mean_with_range():
    values = ["45.5", "57.5", "13", "65", "20.5"]
    mean = np.mean([float(v) for v in values])
    frame = make_extraction(
        dict(check="mean", value=fmt(mean), components=";".join(values), lower="13", upper="65"),
        dict(check="mean", value=fmt(mean + 1), components=";".join(values)),
        dict(check="mean", value=fmt(mean), components=";".join(values), lower="10", upper="65"),
    )
    assert list(run_audit(frame).table.verdict) == ["ok", "not_reproduced", "not_reproduced"]


# --- estimates with intervals ---------------------------------------------------------------------
def test_estimate_intervals():
    frame = make_extraction(
        dict(
            check="estimate_ci", value="18.3", lower="12.5", upper="24.1", method="range"
        ),  # symmetric "range"
        dict(
            check="estimate_ci", value="55", lower="35", upper="76", method="range"
        ),  # an ordinary range
        dict(check="estimate_ci", value="11.5", lower="7.5", upper="15.5"),  # plain CI
        dict(check="estimate_ci", value="4.4", lower="0", upper="9.1"),  # plain CI cut at 0
        dict(
            check="estimate_ci", value="6.0", lower="3.1", upper="14.2", method="plain"
        ),  # asymmetric called plain
        dict(check="estimate_ci", value="9.5", lower="3.1", upper="8.2"),  # outside its interval
    )
    table = run_audit(frame).table
    assert list(table.verdict) == [
        "implausible",
        "ok",
        "ok",
        "ok",
        "method_mismatch",
        "inconsistent",
    ]
    assert table.recomputed[3].startswith("symmetric, cut at 0")


# --- heterogeneity --------------------------------------------------------------------------------
def test_heterogeneity_consistent_and_not():
    k, i2 = 9, 0.38
    q = (k - 1) / (1 - i2)
    p = stats.chi2.sf(q, k - 1)
    frame = make_extraction(
        dict(check="heterogeneity", statistic="38", value=fmt(p, 2), n=k),
        dict(check="heterogeneity", statistic="38", value="0.60", n=k),
        dict(check="heterogeneity", statistic="0", value="0.96", n=4),
        dict(check="heterogeneity", statistic="20", value="0.50"),
    )
    table = run_audit(frame).table
    # I2 = 20% needs p = P(chi2_df > df / 0.8), largest at df = 1 (0.26): p = 0.50 is impossible for
    # any k
    assert max(stats.chi2.sf(d / 0.795, d) for d in range(1, 100)) < 0.495
    assert list(table.verdict) == ["ok", "not_reproduced", "ok", "not_reproduced"]


# --- consistency ----------------------------------------------------------------------------------
def test_text_versus_table():
    frame = make_extraction(
        dict(
            item_id="abs",
            location="Abstract",
            quantity="platinum-refractory",
            check="percent",
            count=22,
            n=30,
            value="73.3",
        ),
        dict(
            item_id="tab",
            location="Table 1",
            quantity="platinum-refractory",
            check="percent",
            count=16,
            n=30,
            value="53.3",
        ),
        dict(
            item_id="a2",
            location="Abstract",
            quantity="ORR",
            check="percent",
            count=4,
            n=30,
            value="13",
        ),
        dict(
            item_id="t2",
            location="Table 2",
            quantity="ORR",
            check="percent",
            count=4,
            n=30,
            value="13.3",
        ),
        dict(item_id="c1", location="Discussion", quantity="ORR", check="count", value="4"),
    )
    table = run_audit(frame).table
    cons = table[table.check == "consistency"].set_index("item_id")
    assert cons.loc["abs | tab", "verdict"] == "inconsistent"
    assert "22" in cons.loc["abs | tab", "note"] and "16" in cons.loc["abs | tab", "note"]
    assert cons.loc["a2 | t2 | c1", "verdict"] == "ok"
    assert "c1" not in set(table.item_id)  # a grouped count row only feeds the comparison


# --- the result object ----------------------------------------------------------------------------
def test_result_views(tmp_path):
    lo, hi = wilson(7, 25)
    frame = make_extraction(
        dict(
            check="proportion_ci",
            count=7,
            n=25,
            lower=fmt(lo),
            upper=fmt(hi),
            method="clopper-pearson",
        ),
        dict(check="percent", count=5, n=30, value=fmt(500 / 30)),
        dict(check="sum", value="25", components="8;21"),
        dict(check="note", note="log-rank P not recomputable"),
    )
    result = run_audit(frame)
    assert result.flagged and result.exit_status == 1
    summary = result.summary()
    assert list(summary.index) == list(VERDICTS)
    assert summary.to_dict() == {
        **{v: 0 for v in VERDICTS},
        "method_mismatch": 1,
        "ok": 1,
        "sum_mismatch": 1,
        "unverifiable": 1,
    }
    path = result.to_csv(tmp_path / "audit.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back.columns) == list(result.table.columns) and list(back.verdict) == list(
        result.table.verdict
    )
    md = result.to_markdown(heading="Audit", level=3)
    assert md.startswith("### Audit") and "| item1 |" in md and "| item2 |" not in md
    assert "| item2 |" in result.to_markdown(include_all=True)
    wide = result.wide
    assert {"wilson", "clopper-pearson", "stated", "sum"} <= set(wide.columns)
    assert set(result.details.item_id) == {"item1", "item2", "item3"}
    with pytest.raises(AttributeError):
        result.table = None  # frozen


def test_clean_extraction_not_flagged():
    lo, hi = clopper_pearson(4, 30)
    result = run_audit(
        make_extraction(
            dict(
                check="proportion_ci",
                count=4,
                n=30,
                lower=fmt(lo),
                upper=fmt(hi),
                method="clopper-pearson",
            ),
            dict(check="note", note="nothing to check"),
        )
    )
    assert not result.flagged and result.exit_status == 0
    assert "nothing flagged" in result.to_markdown()
