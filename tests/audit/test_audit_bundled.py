"""The bundled audits of the three seed papers reproduce the findings, checked by hand here.

Each test redoes the arithmetic independently (scipy's t, beta and chi-square quantiles, scipy's
Fisher test, plain sums of numbers read off the papers) and then checks the audit's verdict.
"""

import math

import pytest
from scipy import stats

from bayes_anlo.audit import VERDICTS, list_bundled_audits, load_extraction, run_audit


def half_up(x, d=0):
    """Round half-up at d decimals (independent of the code under test)."""
    scale = 10**d
    return math.floor(x * scale + 0.5 + 1e-9) / scale


@pytest.fixture(scope="module")
def results():
    return {name: run_audit(name) for name in list_bundled_audits()}


def verdict(result, item_id):
    rows = result.table[result.table.item_id == item_id]
    assert len(rows) == 1, item_id
    return rows.iloc[0]


def items(name):
    return {item.item_id: item for item in load_extraction(name).items}


# ============================================================= seed 000: NPC case series (Qin 2025)
def t_interval(k, n):
    """SPSS Explore's CI of the mean of a 0/1 variable: mean +/- t_{n-1} s / sqrt(n), s with n -
    1."""
    x = [1.0] * k + [0.0] * (n - k)
    mean = sum(x) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return 100 * (mean - half), 100 * (mean + half)


def cp_interval(k, n):
    return 100 * stats.beta.ppf(0.025, k, n - k + 1), 100 * stats.beta.ppf(0.975, k + 1, n - k)


@pytest.mark.parametrize(
    ("k", "printed", "clopper_pearson"),
    [(4, ("0.4", "26.2"), ("3.8", "30.7")), (22, ("56.5", "90.1"), ("54.1", "87.7"))],
)
def test_npc_orr_dcr_intervals_are_t_intervals_not_clopper_pearson(
    results, k, printed, clopper_pearson
):
    n = 30
    lo, hi = t_interval(k, n)
    assert (f"{lo:.1f}", f"{hi:.1f}") == printed
    cl, ch = cp_interval(k, n)
    assert (f"{cl:.1f}", f"{ch:.1f}") == clopper_pearson
    ex = items("npc_qin2025")
    key = "orr" if k == 4 else "dcr"
    for place in ("abs", "res", "dis"):
        item = ex[f"{place}-{key}-ci"]
        assert (item.lower.text, item.upper.text, item.count, item.n, item.method) == (
            *printed,
            k,
            n,
            "clopper-pearson",
        )
        row = verdict(results["npc_qin2025"], f"{place}-{key}-ci")
        assert row.verdict == "method_mismatch" and row.matching == "spss-t"
        assert f"{clopper_pearson[0]}–{clopper_pearson[1]}" in row.note


def test_npc_female_percentage_is_truncated(results):
    assert half_up(100 * 5 / 30, 1) == 16.7 and math.floor(1000 * 5 / 30) / 10 == 16.6
    assert verdict(results["npc_qin2025"], "t1-sex-female").verdict == "not_reproduced"


def test_npc_platinum_refractory_abstract_vs_results_and_table(results):
    ex = items("npc_qin2025")
    assert (ex["abs-platinum"].count, ex["res-platinum"].count, ex["t1-platinum-yes"].count) == (
        22,
        16,
        16,
    )
    assert 16 + 14 == 30 and half_up(100 * 22 / 30, 1) == 73.3 and half_up(100 * 16 / 30, 1) == 53.3
    row = verdict(results["npc_qin2025"], "abs-platinum | res-platinum | t1-platinum-yes")
    assert row.verdict == "inconsistent"


def test_npc_follow_up_range_symmetric(results):
    assert (12.5 + 24.1) / 2 == pytest.approx(18.3)
    assert verdict(results["npc_qin2025"], "res-followup").verdict == "implausible"
    # the survival CIs are symmetric too (median +/- 1.96 SE, as SPSS prints): fine for a CI
    for item_id in ("abs-os", "abs-pfs"):
        row = verdict(results["npc_qin2025"], item_id)
        assert row.verdict == "ok" and row.matching == "plain"


# ======================================================= seed 003: sarcoma retrospective (Cai 2022)
@pytest.mark.parametrize(
    ("item_id", "printed", "parts"),
    [
        ("res-recurrence", 25, [8, 21]),  # Table 1 Recurrence Yes
        ("res-metastasis", 23, [8, 0, 2, 10, 3, 2]),  # Table 1 Distant metastases
        ("res-alone-sum", 24, [7, 16]),  # Table 1 Anlotinib alone
        ("res-plus-chemo-sum", 18, [6, 13]),  # Table 1 Anlotinib plus chemotherapy
        ("res-line3", 26, [3, 5]),  # Table 1 Beyond second line
        ("res-lines-total", 44, [10, 26, 26]),  # the text's own three line counts
        ("res-sts-alone-bor", 16, [4, 11, 4]),  # text PR/SD/PD against Table 5 n = 16
    ],
)
def test_cai_text_totals_that_do_not_add_up(results, item_id, printed, parts):
    assert sum(parts) != printed
    assert verdict(results["sarcoma_cai2022"], item_id).verdict == "sum_mismatch"


def test_cai_table_totals_that_do_add_up(results):
    assert 9 + 12 == 21 and 10 + 20 == 30 and 11 + 25 == 36 and 2 + 8 == 10 and 8 + 18 == 26
    for item_id in (
        "res-male",
        "res-ecog01",
        "res-surgery-sum",
        "res-line1",
        "res-line2",
        "t3-colsum-n",
        "t5-col-total-patients",
    ):
        assert verdict(results["sarcoma_cai2022"], item_id).verdict == "ok"


@pytest.mark.parametrize(
    ("item_ids", "table", "printed"),
    [
        (["res-os-dcr-p"], (4, 7, 3, 6), "0.617"),
        (["abs-sts-orr-p", "res-sts-orr-p", "dis-sts-orr-p"], (1, 16, 5, 13), "0.047"),
        (["res-sts-dcr-p"], (12, 16, 9, 13), "0.526"),
        (["res-sts-dcr-line-p"], (8, 8, 14, 23), "0.041"),
    ],
)
def test_cai_p_values_are_one_sided_fisher(results, item_ids, table, printed):
    e1, n1, e2, n2 = table
    t = [[e1, n1 - e1], [e2, n2 - e2]]
    two = stats.fisher_exact(t).pvalue
    one = min(
        stats.fisher_exact(t, alternative="less").pvalue,
        stats.fisher_exact(t, alternative="greater").pvalue,
    )
    chi = stats.chi2_contingency(t, correction=False)[1]
    yates = stats.chi2_contingency(t, correction=True)[1]
    assert f"{one:.3f}" == printed
    assert printed not in {f"{two:.3f}", f"{chi:.3f}", f"{yates:.3f}"}
    for item_id in item_ids:
        row = verdict(results["sarcoma_cai2022"], item_id)
        assert row.verdict == "method_mismatch" and row.matching == "fisher-one-sided"


def test_cai_first_line_orr_p_is_two_sided_fisher(results):
    t = [[4, 4], [2, 21]]
    assert f"{stats.fisher_exact(t).pvalue:.3f}" == "0.026"
    assert verdict(results["sarcoma_cai2022"], "res-sts-orr-line-p").verdict == "ok"


def test_cai_sts_dcr_52_is_sd_only(results):
    assert half_up(100 * 16 / 31) == 52 and half_up(100 * 22 / 31) == 71
    row = verdict(results["sarcoma_cai2022"], "res-sts-dcr")
    assert row.verdict == "method_mismatch" and row.matching == "SD only"
    group = [i for i in results["sarcoma_cai2022"].table.item_id if i.startswith("abs-sts-dcr |")]
    assert verdict(results["sarcoma_cai2022"], group[0]).verdict == "inconsistent"


def test_cai_table1_ecog_percentages(results):
    assert half_up(100 * 20 / 31) == 65 and half_up(100 * 11 / 31) == 35  # printed 64 and 36
    for item_id in ("t1-ecog-performance-status-01-sts", "t1-ecog-performance-status-23-sts"):
        assert verdict(results["sarcoma_cai2022"], item_id).verdict == "not_reproduced"


def test_cai_other_findings(results):
    r = results["sarcoma_cai2022"]
    # 35 patients with grade 1-2 AEs, but AEs in 12/23 + 10/19 (+ 2 radiotherapy patients at most)
    assert 12 + 10 + 2 < 35
    assert verdict(r, "res-ae12-bound").verdict == "inconsistent"
    # ... and 35 is the sum of Table 7's grade 1-2 column (events, not patients)
    assert (
        12 + 8 + 7 + 4 + 3 + 0 + 1 + 0 + 0 == 35 and verdict(r, "res-ae12-events").verdict == "ok"
    )
    # dose reduction in 2 (45.5%) and 1 (22.7%) of 3: ten times 2/44 and 1/44
    assert (
        half_up(100 * 2 / 3, 1) == 66.7
        and half_up(1000 * 2 / 44, 1) == 45.5
        and half_up(1000 * 1 / 44, 1) == 22.7
    )
    assert (
        verdict(r, "res-dose-red10").verdict == "not_reproduced"
        and verdict(r, "res-dose-red8").verdict == "not_reproduced"
    )
    # the Discussion's CR for ASPS and CCS against Table 3's PR
    assert verdict(r, "t3-asps-cr | dis-asps-cr").verdict == "inconsistent"
    # 5/8 = 62.5% printed 63: a rounding tie, accepted
    assert 100 * 5 / 8 == 62.5 and verdict(r, "t2-second-line-total").verdict == "ok"
    # 0 (0/0) cells
    assert verdict(r, "t2-first-line-anlotinib").verdict == "not_reproduced"


# ================================================================ seed 004: meta-analysis (Li 2025)
# Table 1 Male/Female and median age, read off the paper again for this test
TABLE1 = [
    (100, 66, 45.5),
    (24, 16, 57.5),
    (16, 12, 39.8),
    (17, 32, 49),
    (25, 17, 28),
    (18, 16, 13),
    (19, 30, 50),
    (29, 19, 24),
    (65, 59, 48.5),
    (29, 16, 43),
    (12, 9, 46),
    (9, 8, 56),
    (16, 19, 65),
    (9, 6, 15.2),
    (13, 19, 44),
    (5, 8, 20.5),
    (15, 14, 42),
]


def test_li_sex_ratio_is_inverted(results):
    men, women = sum(r[0] for r in TABLE1), sum(r[1] for r in TABLE1)
    assert men + women == 787
    assert (
        round(men / women, 2) == 1.15 and round(women / men, 2) == 0.87
    )  # printed "1:1.15" (male:female)
    row = verdict(results["sarcoma_meta_li2025"], "res-sex-ratio")
    assert row.verdict == "method_mismatch" and row.matching == "male per female"
    assert verdict(results["sarcoma_meta_li2025"], "res-n").verdict == "ok"


def test_li_mean_median_age(results):
    ages = [r[2] for r in TABLE1]
    assert f"{sum(ages) / len(ages):.1f}" == "40.4" and (min(ages), max(ages)) == (13, 65)
    assert verdict(results["sarcoma_meta_li2025"], "res-age").verdict == "ok"


def test_li_minors_totals_miss_item_a(results):
    assert 2 + 2 + 2 + 2 + 1 + 2 + 0 == 11  # items B-H as printed; Total 13
    for study in ("chi2018", "li2024", "liu2018", "xu2023", "tang2022", "lu2025"):
        assert verdict(results["sarcoma_meta_li2025"], f"t2-{study}").verdict == "sum_mismatch"


@pytest.mark.parametrize(
    ("item_id", "i2", "k", "printed"),
    [("t5-orr-sts-het", 0.38, 9, "0.12"), ("t5-dcr-bone-het", 0.703, 4, "0.02")],
)
def test_li_heterogeneity_p_matches_i2(results, item_id, i2, k, printed):
    q = (k - 1) / (1 - i2)  # I2 = (Q - df) / Q
    assert f"{stats.chi2.sf(q, k - 1):.2f}" == printed
    assert verdict(results["sarcoma_meta_li2025"], item_id).verdict == "ok"


# ================================================================ all three
EXPECTED_FLAGGED = {
    "npc_qin2025": {
        "abs-orr-ci",
        "abs-dcr-ci",
        "res-orr-ci",
        "res-dcr-ci",
        "dis-orr-ci",
        "dis-dcr-ci",
        "res-followup",
        "t1-sex-female",
        "abs-platinum | res-platinum | t1-platinum-yes",
    },
    "sarcoma_cai2022": {
        "t1-ecog-performance-status-01-sts",
        "t1-ecog-performance-status-23-sts",
        "res-recurrence",
        "res-metastasis",
        "res-alone-sum",
        "res-plus-chemo-sum",
        "res-line3",
        "res-lines-total",
        "res-os-dcr-p",
        "t2-first-line-anlotinib",
        "t2-beyond-second-line-anlotinib-plus-chemotherapy",
        "res-sts-dcr",
        "t3-asps-cr | dis-asps-cr",
        "t3-ccs-cr | dis-ccs-cr",
        "res-sts-alone-bor",
        "abs-sts-orr-p",
        "res-sts-orr-p",
        "dis-sts-orr-p",
        "res-sts-dcr-p",
        "res-sts-dcr-line-p",
        "t5-second-line-anlotinib-plus-radiotherapy-orr",
        "t5-second-line-anlotinib-plus-radiotherapy-dcr",
        "res-sts-alone-pr | abs-sts-orr-alone | res-sts-orr-alone | dis-sts-orr-alone | "
        "t5-total-anlotinib-orr",
        "abs-sts-dcr | res-sts-dcr | dis-sts-dcr | t3-total-dcr | t5-total-total-dcr",
        "res-ae12-bound",
        "res-dose-red10",
        "res-dose-red8",
        "t7-pneumothorax-g34 | res-g34-pneumothorax | abs-g34-pneumothorax | "
        "dis-severe-pneumothorax",
    },
    "sarcoma_meta_li2025": {
        "res-sex-ratio",
        "t2-chi2018",
        "t2-li2024",
        "t2-liu2018",
        "t2-xu2023",
        "t2-tang2022",
        "t2-lu2025",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED_FLAGGED))
def test_flagged_items_are_the_documented_findings(results, name):
    result = results[name]
    assert set(result.flagged_table.item_id) == EXPECTED_FLAGGED[name]
    assert result.flagged and result.exit_status == 1
    assert result.summary().sum() == len(result.table) and set(result.table.verdict) <= set(
        VERDICTS
    )
    md = result.to_markdown()
    assert md.startswith(f"## Audit of reported statistics: {name}")
