"""The bundled datasets: they load, every row has a source, and the transcriptions agree with
arithmetic that the papers themselves allow (row sums, margins, printed percentages, printed CIs and
P values) - or, where a paper contradicts itself, the row carries the flag that says so.

Independent facts used below are transcribed here from the seed papers (never from the bundled
files), with their place in the paper in a comment.
"""

from __future__ import annotations

import math
import re
import tomllib
import warnings
from decimal import Decimal
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes_anlo import InputError, datasets, load_binary
from bayes_anlo.data.binary import BinaryData, UnknownOutcomeWarning

BUNDLE = Path(str(resources.files("bayes_anlo.data").joinpath("bundled")))
MANIFEST = tomllib.loads((BUNDLE / "manifest.toml").read_text(encoding="utf-8"))["dataset"]
BY_NAME = {d["name"]: d for d in MANIFEST}
BINARY = [d["name"] for d in MANIFEST if d["kind"] == "binary"]
SURVIVAL_FORMAT = [d["name"] for d in MANIFEST if d.get("format", d["kind"]) == "survival_summary"]
SURVIVAL_COLUMNS = [
    "study",
    "arm",
    "endpoint",
    "quantity",
    "value",
    "ci_low",
    "ci_high",
    "time",
    "unit",
    "source",
]
SHARED_EXTRACTION = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "sarcoma_literature_extraction.csv"
)
CODE = re.compile(r"(?:^|; )([A-Z][A-Z0-9_]+):")


def raw(name: str) -> pd.DataFrame:
    """A bundled CSV exactly as written (all cells text)."""
    return pd.read_csv(BUNDLE / BY_NAME[name]["file"], dtype=str, keep_default_na=False)


def codes(text: str) -> set[str]:
    return set(CODE.findall(text))


def manifest_codes(name: str) -> set[str]:
    return {f.split(":", 1)[0] for f in BY_NAME[name]["flags"]}


def rows(name: str, **equals) -> pd.DataFrame:
    table = raw(name)
    for column, value in equals.items():
        table = table[table[column] == value]
    return table


def one(name: str, **equals) -> pd.Series:
    found = rows(name, **equals)
    assert len(found) == 1, f"{name} {equals}: {len(found)} rows"
    return found.iloc[0]


def count(name: str, **equals) -> int:
    return int(one(name, **equals)["events"])


def has_flag(row: pd.Series, code: str) -> bool:
    return code in codes(row["flag"])


# --------------------------------------------------------------------------------------------------
# the manifest, the files and the public functions
# --------------------------------------------------------------------------------------------------
def test_manifest_lists_every_file_once_with_the_required_keys():
    files = sorted(p.name for p in BUNDLE.glob("*.csv"))
    assert sorted(d["file"] for d in MANIFEST) == files
    assert len(BY_NAME) == len(MANIFEST)
    for d in MANIFEST:
        assert d["kind"] in datasets.KINDS
        assert d["title"] and d["description"] and d["source_tables"]
        for key in ("authors", "title", "journal", "year", "seed_file"):
            assert d["citation"][key], (d["name"], key)


def test_list_datasets_counts_rows_and_flags():
    listing = datasets.list_datasets()
    assert list(listing.columns) == ["name", "kind", "title", "rows", "source", "flags"]
    assert listing["name"].tolist() == datasets.names() == [d["name"] for d in MANIFEST]
    for _, r in listing.iterrows():
        assert r["rows"] == len(raw(r["name"])) > 0
        assert r["flags"] == len(BY_NAME[r["name"]]["flags"])


def test_unknown_name_is_an_input_error_naming_the_available_datasets():
    with pytest.raises(InputError) as info:
        datasets.load("no_such_dataset")
    message = str(info.value)
    assert "no_such_dataset" in message
    for name in datasets.names():
        assert name in message
    with pytest.raises(InputError):
        datasets.info("no_such_dataset")


def test_info_gives_title_citation_description_sources_and_flags():
    got = datasets.info("sarcoma_literature_abstracts")
    assert (
        got["kind"] == "binary" and got["title"] == BY_NAME["sarcoma_literature_abstracts"]["title"]
    )
    assert got["citation"]["seed_file"].endswith("sarcoma_literature_extraction.csv")
    assert "S01" in got["description"] and got["source_tables"]
    assert {
        "S01_AMBIGUOUS_ORR",
        "S03_SUBSET_OF_ALTER0203",
        "S08_HISTOTYPES_47_OF_48",
        "S06_N_34_VS_19",
    } <= {f.split(":")[0] for f in got["flags"]}
    got["flags"].append("mutated")  # a copy: the manifest is not changed
    assert "mutated" not in datasets.info("sarcoma_literature_abstracts")["flags"]


@pytest.mark.parametrize("name", BINARY)
def test_binary_datasets_load_through_load_binary_without_warnings(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownOutcomeWarning)
        direct = load_binary(BUNDLE / BY_NAME[name]["file"], label=name)
        data = datasets.load(name)
    assert isinstance(data, BinaryData) and data.source == name
    assert data.sha256 == direct.sha256
    assert len(data) == len(raw(name))


@pytest.mark.parametrize("name", [d["name"] for d in MANIFEST if d["kind"] != "binary"])
def test_other_datasets_load_as_frames_with_numeric_value_columns(name):
    frame = datasets.load(name)
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(raw(name))
    for column in (
        "value",
        "ci_low",
        "ci_high",
        "time",
        "estimate",
        "i2",
        "p_heterogeneity",
        "k",
        "n",
        "p_printed",
    ):
        if column in frame:
            assert pd.api.types.is_numeric_dtype(frame[column]), column


@pytest.mark.parametrize("name", [d["name"] for d in MANIFEST])
def test_every_row_has_a_source_and_its_flag_codes_are_in_the_manifest(name):
    table = raw(name)
    assert (table["source"].str.strip() != "").all()
    used = set().union(*(codes(f) for f in table["flag"])) if "flag" in table else set()
    assert used <= manifest_codes(name), used - manifest_codes(name)
    for flag in BY_NAME[name]["flags"]:
        assert re.match(r"^[A-Z][A-Z0-9_]+: \S", flag), flag


# --------------------------------------------------------------------------------------------------
# printed percentages agree with the counts (to the printed precision)
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BINARY)
def test_printed_percentages_round_to_events_over_n(name):
    table = raw(name)
    checked = 0
    for _, r in table[table["printed_pct"] != ""].iterrows():
        printed = Decimal(r["printed_pct"])
        half_unit = Decimal(1).scaleb(printed.as_tuple().exponent) / 2
        exact = Decimal(int(r["events"]) * 100) / Decimal(int(r["n"]))
        assert abs(exact - printed) <= half_unit, (
            r["study"],
            r["subgroup"],
            r["arm"],
            r["line"],
            r["outcome"],
        )
        checked += 1
    assert checked > 0


# --------------------------------------------------------------------------------------------------
# Qin 2025 (seed 000)
# --------------------------------------------------------------------------------------------------
def test_npc_best_response_sums_to_30_and_defines_orr_and_dcr():
    q = "qin2025_npc_response"
    cr, pr, sd, pd_ = (count(q, outcome=o) for o in ("CR", "PR", "SD", "PD"))
    assert cr + pr + sd + pd_ == 30  # "Among the 30 evaluable patients"
    assert count(q, outcome="ORR") == cr + pr  # Statistical analysis: ORR = CR + PR
    assert count(q, outcome="DCR") == cr + pr + sd  # DCR = CR + PR + SD
    assert set(rows(q)["n"]) == {"30"}


def _spss_t(k: int, n: int) -> tuple[float, float]:
    p = k / n
    half = stats.t.ppf(0.975, n - 1) * math.sqrt(p * (1 - p) / (n - 1))
    return max(0.0, p - half), min(1.0, p + half)


def _clopper_pearson(k: int, n: int) -> tuple[float, float]:
    lo = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    return lo, hi


@pytest.mark.parametrize(
    "outcome, printed", [("ORR", (0.4, 26.2)), ("DCR", (56.5, 90.1))]
)  # Abstract, Results
def test_npc_printed_ci_is_the_spss_t_interval_not_clopper_pearson_and_is_flagged(outcome, printed):
    r = one("qin2025_npc_response", outcome=outcome)
    k, n = int(r["events"]), int(r["n"])
    assert np.allclose(np.round(np.multiply(_spss_t(k, n), 100), 1), printed)
    assert not np.allclose(np.round(np.multiply(_clopper_pearson(k, n), 100), 1), printed, atol=0.5)
    assert has_flag(r, "CI_METHOD")


def test_npc_adverse_event_grades_add_up():
    q = rows("qin2025_npc_adverse_events")
    terms = {o.split(":")[1] for o in q["outcome"]} - {"bleeding"}
    assert len(terms) == 10  # Table 2 has ten rows
    for term in terms:
        g = {
            b: count("qin2025_npc_adverse_events", outcome=f"AE:{term}:{b}")
            for b in ("any", "1", "2", "3", "4", "3+")
        }
        assert g["any"] == g["1"] + g["2"] + g["3"] + g["4"], term
        assert g["3+"] == g["3"] + g["4"], term
    # Toxicity text: grade >= 3 HFS 4, oral mucositis 4, nasal bleeding 3, hypertension 1,
    # arthralgia 1
    text = {
        "hand-foot syndrome": 4,
        "oral mucositis": 4,
        "nasal bleeding": 3,
        "hypertension": 1,
        "arthralgia": 1,
    }
    for term in terms:
        assert count("qin2025_npc_adverse_events", outcome=f"AE:{term}:3+") == text.get(term, 0), (
            term
        )
    # "Bleeding events were observed in seven patients": 4 urinary occult blood + 3 nasal bleeding
    assert count("qin2025_npc_adverse_events", outcome="AE:bleeding:any") == (
        count("qin2025_npc_adverse_events", outcome="AE:positive urinary occult blood:any")
        + count("qin2025_npc_adverse_events", outcome="AE:nasal bleeding:any")
    )


def test_npc_survival_summaries_match_the_paper_and_carry_the_death_count_flag():
    s = datasets.load("qin2025_npc_survival")

    def value(endpoint, quantity):
        hit = s[(s.endpoint == endpoint) & (s.quantity == quantity)]
        assert len(hit) == 1
        return hit.iloc[0]

    assert value("PFS", "median")[["value", "ci_low", "ci_high"]].tolist() == [5.7, 4.7, 6.7]
    assert value("OS", "median")[["value", "ci_low", "ci_high"]].tolist() == [11.5, 7.5, 15.5]
    assert value("PFS", "events").value == 22 and value("OS", "events").value == 20
    assert value("PFS", "patients").value == value("OS", "patients").value == 30
    assert value("OS", "median_followup").value == 18.3
    # "nine patients were still alive" -> 30 - 9 = 21 deaths, not the printed 20
    assert 30 - 9 != value("OS", "events").value and has_flag(value("OS", "events"), "OS_EVENTS")
    # median OS 11.5 < minimum follow-up 12.5: follow-up cannot be time to death or censoring
    fu = value("OS", "median_followup")
    assert value("OS", "median").value < fu.ci_low and "FOLLOWUP_DEFINITION" in codes(fu.flag)


# --------------------------------------------------------------------------------------------------
# Cai 2022 (seed 003)
# --------------------------------------------------------------------------------------------------
TABLE1_STS_ARMS = {
    "anlotinib": 16,
    "anlotinib plus chemotherapy": 13,
    "anlotinib plus radiotherapy": 2,
}  # Table 1
TABLE1_STS_LINES = {"first line": 8, "second line": 18, "beyond second line": 5}  # Table 1
TABLE1_OSTEO_ARMS = {"anlotinib": 7, "anlotinib plus chemotherapy": 6}  # Table 1
TABLE1_OSTEO_LINES = {"first line": 2, "second line": 8, "beyond second line": 3}  # Table 1


def test_sts_subtypes_rows_define_orr_dcr_and_columns_add_to_the_printed_total():
    name = "cai2022_sts_subtypes"
    subtypes = [s for s in dict.fromkeys(raw(name)["subgroup"]) if s != "Total"]
    assert subtypes == ["FS", "SS", "UPS", "LMS", "LPS", "CCS", "ASPS", "Others"]  # Table 3 order
    for sub in subtypes + ["Total"]:
        c = {
            o: count(name, subgroup=sub, outcome=o) for o in ("CR", "PR", "SD", "PD", "ORR", "DCR")
        }
        n = int(one(name, subgroup=sub, outcome="CR")["n"])
        assert c["CR"] + c["PR"] + c["SD"] + c["PD"] == n, sub
        assert c["ORR"] == c["CR"] + c["PR"], sub  # printed ORR column
        assert c["DCR"] == c["CR"] + c["PR"] + c["SD"], sub  # printed DCR column
        if sub != "Total":  # Table 3 prints no n: the derived column must say how n was obtained
            assert "n = CR + PR + SD + PD" in one(name, subgroup=sub, outcome="CR")["derived"]
    for outcome in ("CR", "PR", "SD", "PD", "ORR", "DCR"):
        assert sum(count(name, subgroup=s, outcome=outcome) for s in subtypes) == count(
            name, subgroup="Total", outcome=outcome
        )
    # 44 analysed = 13 osteosarcoma + 31 soft tissue sarcoma (Abstract)
    assert int(one(name, subgroup="Total", outcome="DCR")["n"]) == 44 - 13


def test_sts_subtype_contradictions_are_flagged():
    name = "cai2022_sts_subtypes"
    for sub in ("CCS", "ASPS"):  # Discussion: "Both of them achieved CR"; Table 3: PR
        assert (
            count(name, subgroup=sub, outcome="CR") == 0
            and count(name, subgroup=sub, outcome="PR") == 1
        )
        assert has_flag(one(name, subgroup=sub, outcome="PR"), "CR_VS_PR")
    total = one(name, subgroup="Total", outcome="DCR")
    assert round(100 * int(total["events"]) / int(total["n"])) != 52  # Section 4.2 prints 52%
    assert has_flag(total, "TEXT_DCR")


def _margins_hold(name: str, outcome: str, arms: list[str], lines: list[str]) -> None:
    """Cells add to the printed row and column totals ('0 (0/0)' cells are absent and count 0)."""
    t = rows(name, outcome=outcome)
    get = {(r["line"], r["arm"]): (int(r["events"]), int(r["n"])) for _, r in t.iterrows()}
    for line in lines + ["all"]:
        parts = [get.get((line, a), (0, 0)) for a in arms]
        assert tuple(map(sum, zip(*parts, strict=True))) == get[(line, "all")], (outcome, line)
    for arm in arms + ["all"]:
        parts = [get.get((line, arm), (0, 0)) for line in lines]
        assert tuple(map(sum, zip(*parts, strict=True))) == get[("all", arm)], (outcome, arm)


def test_osteosarcoma_table2_cells_add_to_margins_and_match_table1():
    name = "cai2022_osteosarcoma_response"
    arms, lines = list(TABLE1_OSTEO_ARMS), list(TABLE1_OSTEO_LINES)
    _margins_hold(name, "DCR", arms, lines)
    for arm, n in TABLE1_OSTEO_ARMS.items():
        assert int(one(name, outcome="DCR", line="all", arm=arm)["n"]) == n
    for line, n in TABLE1_OSTEO_LINES.items():
        assert int(one(name, outcome="DCR", line=line, arm="all")["n"]) == n
    c = {o: count(name, outcome=o, line="all", arm="all") for o in ("CR", "PR", "SD", "PD", "DCR")}
    assert c["CR"] + c["PR"] + c["SD"] + c["PD"] == 13 and c["DCR"] == c["CR"] + c["PR"] + c["SD"]
    # Section 4.1: beyond-second-line anlotinib alone 2 SD + 1 PD; Table 2 DCR 2/3
    assert count(name, outcome="SD", line="beyond second line", arm="anlotinib") == count(
        name, outcome="DCR", line="beyond second line", arm="anlotinib"
    )


def test_sts_table5_cells_add_to_margins_and_match_table1():
    name = "cai2022_sts_line_treatment"
    arms, lines = list(TABLE1_STS_ARMS), list(TABLE1_STS_LINES)
    for outcome in ("ORR", "DCR"):
        _margins_hold(name, outcome, arms, lines)
    for arm, n in TABLE1_STS_ARMS.items():
        assert int(one(name, outcome="ORR", line="all", arm=arm)["n"]) == n
    for line, n in TABLE1_STS_LINES.items():
        assert int(one(name, outcome="DCR", line=line, arm="all")["n"]) == n
    # the printed Table 5 totals equal Table 3's totals
    for outcome in ("ORR", "DCR"):
        assert count(name, outcome=outcome, line="all", arm="all") == count(
            "cai2022_sts_subtypes", subgroup="Total", outcome=outcome
        )


def test_sts_text_response_counts_agree_with_table5_except_the_flagged_row():
    name = "cai2022_sts_line_treatment"
    groups = [("all", a) for a in TABLE1_STS_ARMS] + [(line, "all") for line in TABLE1_STS_LINES]
    flagged = []
    for line, arm in groups:
        pr, sd, pd_ = (one(name, outcome=o, line=line, arm=arm) for o in ("PR", "SD", "PD"))
        n = int(pr["n"])
        consistent = (
            int(pr["events"]) + int(sd["events"]) + int(pd_["events"]) == n
            and int(pr["events"]) == count(name, outcome="ORR", line=line, arm=arm)  # no CR in STS
            and int(pr["events"]) + int(sd["events"])
            == count(name, outcome="DCR", line=line, arm=arm)
        )
        if not consistent:
            flagged.append((line, arm))
            assert has_flag(pr, "TEXT_PR"), (line, arm)
    assert flagged == [
        ("all", "anlotinib")
    ]  # "4 patients achieved PR ... in the anlotinib-alone group"


def test_cai_adverse_event_bands_add_up_and_the_35_patients_claim_is_flagged():
    name = "cai2022_adverse_events"
    t = rows(name, arm="all")
    terms = {o.split(":")[1] for o in t["outcome"]} - {"any"}
    assert len(terms) == 9  # Table 7 has nine rows
    for term in terms:
        b = {
            band: count(name, outcome=f"AE:{term}:{band}", arm="all")
            for band in ("1-2", "3-4", "any")
        }
        assert b["1-2"] + b["3-4"] == b["any"], term
    grade12 = sum(count(name, outcome=f"AE:{term}:1-2", arm="all") for term in terms)
    claim = one(name, outcome="AE:any:1-2")
    assert grade12 == int(claim["events"]) == 35  # the column sum equals the "35 patients"
    # ... but 12/23 + 10/19 patients had any AE: fewer than 35 patients
    with_ae = count(name, outcome="AE:any:any", arm="anlotinib") + count(
        name, outcome="AE:any:any", arm="anlotinib plus chemotherapy"
    )
    assert with_ae + 2 < 35 and has_flag(claim, "PATIENTS_VS_EVENTS")
    # the arms (23, 19) are Table 1's 7 + 16 and 6 + 13
    assert (
        int(one(name, outcome="AE:any:any", arm="anlotinib")["n"])
        == TABLE1_OSTEO_ARMS["anlotinib"] + TABLE1_STS_ARMS["anlotinib"]
    )
    chemo = "anlotinib plus chemotherapy"
    assert (
        int(one(name, outcome="AE:any:any", arm=chemo)["n"])
        == TABLE1_OSTEO_ARMS[chemo] + TABLE1_STS_ARMS[chemo]
    )


def test_cai_printed_p_values_are_one_sided_fisher_tests_and_flagged():
    t = datasets.load("published_two_group_tests")
    for _, r in t.iterrows():
        table = [[r.events1, r.n1 - r.events1], [r.events2, r.n2 - r.events2]]
        direction = "greater" if r.events1 / r.n1 > r.events2 / r.n2 else "less"
        one_sided = stats.fisher_exact(table, alternative=direction).pvalue
        two_sided = stats.fisher_exact(table).pvalue
        decimals = len(f"{r.p_printed}".split(".")[1])
        matches_two = round(two_sided, decimals) == r.p_printed
        if has_flag(r, "ONE_SIDED_FISHER"):
            assert round(one_sided, decimals) == r.p_printed and not matches_two, r.comparison
        else:
            assert matches_two, r.comparison
        if has_flag(r, "SIGNIFICANCE_CLAIM"):
            assert r.p_printed > 0.05 and "significant" in r.claim
    assert codes("; ".join(t.flag)) == {"ONE_SIDED_FISHER", "SIGNIFICANCE_CLAIM"}


def test_two_group_test_counts_equal_the_response_tables():
    t = datasets.load("published_two_group_tests")
    sts = t[(t.study == "Cai 2022") & t.comparison.str.contains("anlotinib vs")]
    for _, r in sts[sts.comparison.str.startswith("soft")].iterrows():
        for arm, e, n in ((r.group1, r.events1, r.n1), (r.group2, r.events2, r.n2)):
            hit = one("cai2022_sts_line_treatment", outcome=r.outcome, line="all", arm=arm)
            assert (int(hit["events"]), int(hit["n"])) == (e, n)
    osteo = one("cai2022_osteosarcoma_response", outcome="DCR", line="all", arm="anlotinib")
    r = t[t.comparison.str.startswith("osteosarcoma")].iloc[0]
    assert (int(osteo["events"]), int(osteo["n"])) == (r.events1, r.n1)


@pytest.mark.parametrize("name", ["qin2025_npc_survival", "cai2022_survival"])
def test_printed_survival_cis_are_symmetric_about_the_median_unless_cut_at_zero(name):
    s = datasets.load(name)
    med = s[(s.quantity == "median") & s.ci_low.notna() & s.ci_high.notna()]
    assert len(med) > 0
    for _, r in med.iterrows():
        below, above = r.value - r.ci_low, r.ci_high - r.value
        if has_flag(r, "CI_TRUNCATED"):
            assert r.ci_low == 0 and above > r.value  # the symmetric lower limit would be negative
        else:
            assert abs(above - below) <= 0.1 + 1e-9, (r.subgroup, r.arm, r.endpoint)


def test_cai_survival_group_sizes_match_the_response_tables():
    s = datasets.load("cai2022_survival")
    patients = s[(s.quantity == "patients") & (s.endpoint == "PFS")]
    for sub in ("FS", "SS", "UPS", "LMS"):
        n = patients[patients.subgroup == sub].value.item()
        assert n == int(one("cai2022_sts_subtypes", subgroup=sub, outcome="CR")["n"])
    for arm, n in TABLE1_STS_ARMS.items():
        assert (
            patients[
                (patients.subgroup == "soft tissue sarcoma") & (patients.arm == arm)
            ].value.item()
            == n
        )
    for line, n in TABLE1_STS_LINES.items():
        hit = s[(s.quantity == "patients") & (s.subgroup == f"soft tissue sarcoma, {line}")]
        assert set(hit.value) == {n} and set(hit.line) == {line}


# --------------------------------------------------------------------------------------------------
# survival-summary format
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SURVIVAL_FORMAT)
def test_survival_summaries_follow_the_documented_long_format(name):
    table = raw(name)
    assert list(table.columns[:10]) == SURVIVAL_COLUMNS
    s = datasets.load(name)
    assert set(s.endpoint) <= {"PFS", "OS"}
    assert set(s.quantity) <= {"median", "landmark", "events", "patients", "median_followup"}
    land = s[s.quantity == "landmark"]
    assert land.time.notna().all() and (land.time > 0).all()
    assert land.value.between(0, 1).all() and set(land.unit) <= {"proportion"}
    assert s[s.quantity != "landmark"].time.isna().all()
    assert set(s[s.quantity.isin(["median", "median_followup"])].unit) <= {"months"}
    assert s.value.notna().all()
    with_ci = s[s.ci_low.notna() & s.ci_high.notna()]
    assert ((with_ci.ci_low <= with_ci.value) & (with_ci.value <= with_ci.ci_high)).all()
    key = ["study", "arm", "subgroup", "endpoint", "quantity", "time"]
    assert not table.duplicated(key).any()


@pytest.mark.parametrize("name", SURVIVAL_FORMAT)
def test_survival_summaries_pass_the_package_summary_loader(name):
    survival = pytest.importorskip("bayes_anlo.data.survival")
    if not hasattr(survival, "load_summaries"):
        pytest.skip("bayes_anlo.data.survival.load_summaries not available")
    loaded = survival.load_summaries(BUNDLE / BY_NAME[name]["file"], label=name)
    assert len(loaded.table) == len(raw(name))


# --------------------------------------------------------------------------------------------------
# the literature extraction (shared/data) and the meta-analysis (seed 004)
# --------------------------------------------------------------------------------------------------
def _wald_percent(k: int, n: int) -> tuple[float, float]:
    p = k / n
    half = stats.norm.ppf(0.975) * math.sqrt(p * (1 - p) / n)
    return round(100 * (p - half), 1), round(100 * (p + half), 1)


def test_s01_default_is_21_because_the_printed_ci_is_the_wald_interval_of_21():
    default = one("sarcoma_literature_abstracts", study="S01_Chi2018", outcome="ORR")
    alternative = one("sarcoma_literature_abstracts_s01_22", study="S01_Chi2018", outcome="ORR")
    assert (int(default["events"]), int(alternative["events"])) == (21, 22)
    assert {int(default["n"]), int(alternative["n"])} == {166}
    printed = (float(default["printed_ci_low"]), float(default["printed_ci_high"]))  # "7.6%-18%"
    assert printed == (7.6, 18.0)
    lo21, hi21 = _wald_percent(21, 166)
    lo22, _ = _wald_percent(22, 166)
    assert lo21 == 7.6 and round(hi21) == 18 and lo22 != 7.6
    assert has_flag(default, "S01_AMBIGUOUS_ORR") and has_flag(alternative, "S01_AMBIGUOUS_ORR")
    # apart from S01's ORR the two variants are identical
    a, b = raw("sarcoma_literature_abstracts"), raw("sarcoma_literature_abstracts_s01_22")
    differs = (a != b).any(axis=1)
    assert a[differs][["study", "outcome"]].values.tolist() == [["S01_Chi2018", "ORR"]]


def test_extraction_flags_sit_on_their_studies():
    t = raw("sarcoma_literature_abstracts")
    expected = {
        "S01_Chi2018": "S01_AMBIGUOUS_ORR",
        "S03_LiuJ2018": "S03_SUBSET_OF_ALTER0203",
        "S08_LiuZ2021": "S08_HISTOTYPES_47_OF_48",
    }
    for _, r in t.iterrows():
        want = {expected[r["study"]]} if r["study"] in expected else set()
        assert codes(r["flag"]) == want, r["study"]
    assert "S06_N_34_VS_19" in manifest_codes("sarcoma_literature_abstracts")
    assert set(t["outcome"]) == {"ORR", "DCR"} and set(t["arm"]) == {"anlotinib"}
    studies = sorted(set(t["study"]))  # README: ORR and DCR for 6, ORR only for S01 and S13
    assert [s[:3] for s in studies] == ["S01", "S02", "S03", "S04", "S05", "S08", "S11", "S13"]
    assert sorted(t[t.outcome == "DCR"]["study"].str[:3]) == [
        "S02",
        "S03",
        "S04",
        "S05",
        "S08",
        "S11",
    ]


@pytest.mark.skipif(
    not SHARED_EXTRACTION.exists(), reason="shared/data/ is not beside the repository"
)
def test_extraction_conversion_keeps_every_anlotinib_orr_dcr_count_and_source():
    src = pd.read_csv(SHARED_EXTRACTION, dtype=str, keep_default_na=False)
    src = src[src.outcome.isin(["ORR", "DCR"])]
    ours = raw("sarcoma_literature_abstracts").set_index(["study", "outcome"])
    left_out = []
    for _, r in src.iterrows():
        key = (r.study_id, r.outcome)
        if key not in ours.index or ours.loc[key, "population"] != r.subgroup:
            left_out.append((r.study_id, r.subgroup))
            continue
        mine = ours.loc[key]
        assert mine["source"] == r.source_url and mine["quote"] == r.quote
        assert int(mine["n"]) == int(float(r.n))
        if key == ("S01_Chi2018", "ORR"):
            assert int(float(r.events)) == 22 and int(mine["events"]) == 21  # documented default
        else:
            assert int(mine["events"]) == int(float(r.events)), key
    # only S03's placebo arm and its unlabelled subgroup are left out, and its flag says so
    assert sorted(left_out) == sorted(
        [
            ("S03_LiuJ2018", "placebo arm (PPS)"),
            ("S03_LiuJ2018", next(s for s in src.subgroup if "unlabeled" in s)),
        ]
    )
    flag = ours.loc[("S03_LiuJ2018", "DCR"), "flag"]
    assert "placebo arm DCR 3/11" in flag and "11/14" in flag


def test_meta_study_table_matches_the_papers_own_totals():
    t = datasets.load("li2025_meta_studies")
    assert (t.n == t.n_male + t.n_female).all()
    assert t.n.sum() == 787  # Abstract: "16 studies with 787 participants"
    studies = t.groupby("study_id")
    assert studies.ngroups == 16
    design = studies.design.first().value_counts()
    assert (design["prospective"], design["retrospective"]) == (6, 10)  # Study characteristics
    groups = studies.disease_group.agg(
        lambda g: "bone+STS" if set(g) == {"STS", "bone"} else g.iloc[0]
    ).value_counts()
    assert (groups["STS"], groups["bone"], groups["bone+STS"]) == (
        8,
        3,
        5,
    )  # "Eight ... three ... five"
    assert studies.endpoints.first().str.contains("OS").sum() == 11  # "11 studies also reported OS"
    assert (
        studies.endpoints.first().str.contains("AEs>=3").sum() == 4
    )  # "four ... exclusively ... grade>=3"
    assert round(t.median_age.mean(), 1) == 40.4  # "a mean median age of 40.4 years"
    # the text's "male-to-female ratio of 1:1.15" is inverted: Table 1 gives 1.15:1
    assert round(t.n_male.sum() / t.n_female.sum(), 2) == 1.15
    assert "SEX_RATIO_INVERTED" in manifest_codes("li2025_meta_studies")
    found = t[t.extraction_n.notna()]
    assert (found.extraction_n == found.n).all()  # the extraction's n agree with Table 1
    flagged = {
        code: set(t[t.flag.str.contains(code)].study_id)
        for code in (
            "S01_AMBIGUOUS_ORR",
            "S03_SUBSET_OF_ALTER0203",
            "S06_N_34_VS_19",
            "S08_HISTOTYPES_47_OF_48",
        )
    }
    assert flagged == {
        "S01_AMBIGUOUS_ORR": {"S01_Chi2018"},
        "S03_SUBSET_OF_ALTER0203": {"S03_LiuJ2018"},
        "S06_N_34_VS_19": {"S06_LuS2025"},
        "S08_HISTOTYPES_47_OF_48": {"S08_LiuZ2021"},
    }


def test_meta_pooled_results_are_coherent_and_outside_subgroup_values_are_flagged():
    p = datasets.load("li2025_meta_pooled")
    ci = p[p.ci_low.notna()]
    assert ((ci.ci_low <= ci.estimate) & (ci.estimate <= ci.ci_high)).all()
    assert set(p.model) == {"random", "none"}
    assert set(p.subgroup) == {"all", "STS", "bone"}
    exact_p = p[p.p_heterogeneity.notna()]
    assert (exact_p.p_heterogeneity_printed.astype(float) == exact_p.p_heterogeneity).all()
    # required comparators are present (Abstract / Results)
    printed = {
        ("ORR", "all"): 8.8,
        ("DCR", "all"): 70.7,
        ("median_PFS", "all"): 6.68,
        ("PFS_3m", "all"): 71.1,
        ("PFS_6m", "all"): 48.4,
        ("PFS_9m", "all"): 32.0,
        ("OS_6m", "all"): 85.7,
        ("OS_12m", "all"): 67.8,
    }
    for (outcome, sub), value in printed.items():
        assert p[(p.outcome == outcome) & (p.subgroup == sub)].estimate.item() == value
    band = {"any": "any", "3+": "3-4"}  # Table 5 'Grade>=3' vs Table 4 'Grade 3-4'
    for _, r in p[p.subgroup == "STS"].iterrows():
        outcome = r.outcome
        if outcome.startswith("AE:"):
            term, b = outcome.split(":")[1:]
            outcome = f"AE:{term}:{band[b]}"
        overall = p[(p.outcome == outcome) & (p.subgroup == "all")]
        bone = p[(p.outcome == r.outcome) & (p.subgroup == "bone")].estimate.item()
        if overall.empty:
            continue
        row = overall.iloc[0]
        if row.estimate < min(r.estimate, bone):
            assert "POOLED_OUTSIDE_SUBGROUPS" in codes(row.flag), outcome
        elif row.estimate == min(r.estimate, bone):
            assert "POOLED_AT_SUBGROUP_MINIMUM" in codes(row.flag), outcome
        else:
            assert row.flag == "", outcome


def test_meta_pooled_survival_is_the_pooled_table_on_the_probability_scale():
    p = datasets.load("li2025_meta_pooled")
    s = datasets.load("li2025_meta_pooled_survival")
    assert BY_NAME["li2025_meta_pooled_survival"]["kind"] == "published_pooled"
    labels = {
        ("PFS", "median", None): "median_PFS",
        ("PFS", "landmark", 3): "PFS_3m",
        ("PFS", "landmark", 6): "PFS_6m",
        ("PFS", "landmark", 9): "PFS_9m",
        ("OS", "landmark", 6): "OS_6m",
        ("OS", "landmark", 12): "OS_12m",
    }
    for _, r in s.iterrows():
        t = None if math.isnan(r.time) else int(r.time)
        src = p[
            (p.outcome == labels[(r.endpoint, r.quantity, t)]) & (p.subgroup == r.subgroup)
        ].iloc[0]
        scale = 1 if r.quantity == "median" else 100
        assert math.isclose(r.value * scale, src.estimate)
        for c in ("ci_low", "ci_high"):
            assert (math.isnan(r[c]) and math.isnan(src[c])) or math.isclose(r[c] * scale, src[c])
    assert len(s) == 3 * 6  # overall, STS and bone for each of six quantities
