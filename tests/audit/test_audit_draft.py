"""Drafting an audit extraction from a paper's text (bayes_anlo.audit.draft) and the CLI
``bayes-anlo audit draft``: abstracts the drafter was not developed on (tests/audit/fixtures, with
their sources), the issue's two printings end to end, and hostile inputs."""

import csv
import math
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure
from scipy import stats

from bayes_anlo.audit import run_audit
from bayes_anlo.audit.draft import draft_extraction, word_count
from bayes_anlo.audit.extraction import ALL_COLUMNS, load_extraction
from bayes_anlo.audit.paper_text import clean_text, read_paper_text
from bayes_anlo.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def drafted(name: str) -> pd.DataFrame:
    return draft_extraction(read_paper_text(FIXTURES / name))


def printed_set(frame: pd.DataFrame) -> set[tuple]:
    return {
        (r.check, r.value, r.lower, r.upper, r.count, r.n) for r in frame.itertuples(index=False)
    }


# Hand extractions of the fixtures (what each abstract prints), written from the texts.
KEYNOTE = {
    ("estimate_ci", "6.0", "4.2", "6.2", "", ""),
    ("estimate_ci", "0.50", "0.37", "0.68", "", ""),
    ("estimate_ci", "0.60", "0.41", "0.89", "", ""),
    ("pvalue", "<0.001", "", "", "", ""),
    ("pvalue", "0.005", "", "", "", ""),
    *{("percent", v, "", "", "", "") for v in ("80.2", "72.4", "44.8", "27.8", "73.4", "90.0")},
    ("percent", "26.6", "", "", "", ""),
    ("percent", "53.3", "", "", "", ""),
}
ALTER = {
    ("estimate_ci", "9.6", "8.2", "10.6", "", ""),
    ("estimate_ci", "6.3", "5.0", "8.1", "", ""),
    ("estimate_ci", "0.25", "0.19", "0.31", "", ""),
    ("estimate_ci", "0.68", "0.54", "0.87", "", ""),
    ("estimate_ci", "5.4", "4.4", "5.6", "", ""),
    ("estimate_ci", "1.4", "1.1", "1.5", "", ""),
    ("pvalue", ".002", "", "", "", ""),
    ("pvalue", "<.001", "", "", "", ""),
    *{("percent", v, "", "", "", "") for v in ("9.18", "0.70", "80.95", "37.06")},
}
SHARP = {
    ("estimate_ci", "0.69", "0.55", "0.87", "", ""),
    ("pvalue", "<0.001", "", "", "", ""),
    ("pvalue", "0.77", "", "", "", ""),
    ("percent", "2", "", "", "7", ""),
    ("percent", "1", "", "", "2", ""),
}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("keynote024_reck2016.txt", KEYNOTE),
        ("alter0303_han2018.txt", ALTER),
        ("sharp_llovet2008.txt", SHARP),
    ],
)
def test_abstracts_draft_every_printed_statistic(name, expected):
    frame = drafted(name)
    got = printed_set(frame)
    assert expected <= got, sorted(expected - got)
    assert len(got - expected) <= max(1, len(got) // 10), sorted(got - expected)  # <= 10% extra
    result = run_audit(frame)  # audits as it is: no input error
    assert not result.flagged  # nothing in these abstracts contradicts itself
    assert set(result.table.verdict) <= {"ok", "unverifiable"}


def test_issue_examples_end_to_end_from_text(tmp_path):
    out = tmp_path / "draft.csv"
    res = runner.invoke(
        app, ["audit", "draft", str(FIXTURES / "issue16_examples.txt"), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ALL_COLUMNS
    ci = frame[frame.check == "proportion_ci"]
    assert ci[["value", "lower", "upper", "count", "n"]].values.tolist() == [
        ["13", "7.6", "18", "22", "166"],
        ["37.0", "22.4", "61.2", "10", "27"],
    ]
    audit_out = tmp_path / "audit.csv"
    res = runner.invoke(app, ["audit", str(out), "--out", str(audit_out)])
    assert res.exit_code == 1, res.output  # both intervals are flagged
    table = pd.read_csv(audit_out, dtype=str, keep_default_na=False)
    notes = table[table.check == "proportion_ci"].note.tolist()
    assert "the printed interval is wald on 21/166, not the stated 22/166" in notes[0]
    assert "the printed interval is clopper-pearson on 11/27, not the stated 10/27" in notes[1]
    # independent: Clopper-Pearson of 11/27 by scipy's beta quantiles prints 22.4-61.2
    lo, hi = stats.beta.ppf(0.025, 11, 17), stats.beta.ppf(0.975, 12, 16)
    assert (f"{100 * lo:.1f}", f"{100 * hi:.1f}") == ("22.4", "61.2")


def test_counts_and_denominators_filled_from_the_sentence():
    text = (
        "## Results\n\nAmong the 30 evaluable patients, 8/49 was not used; "
        "PR in 4 patients (13.3%)."
        "\n\nEleven of 35 patients (31.4%) responded. Toxicity included HFS (n = 15; 50.0%).\n"
        "\nThe ORR was 82% (36/44). A total of 44 patients, including 13 with osteosarcoma and "
        "31 with soft tissue sarcoma, were analysed.\n"
    )
    got = printed_set(draft_extraction(clean_text(text)))
    assert ("percent", "31.4", "", "", "11", "35") in got
    assert ("percent", "50.0", "", "", "15", "") in got
    assert ("percent", "82", "", "", "36", "44") in got
    frame = draft_extraction(clean_text(text))
    total = frame[frame.check == "sum"]
    assert total[["value", "components"]].values.tolist() == [
        ["44", "osteosarcoma=13;soft tissue sarcoma=31"]
    ]


def test_table_cells_column_n_and_category_sums():
    text = (
        "TABLE 1: Characteristics.\n\n"
        "Characteristic\tGroup A (n = 13)\tGroup B (n = 31)\n"
        "Sex, n (%)\t\t\n"
        "Male\t9 (69)\t12 (39)\n"
        "Female\t4 (31)\t19 (61)\n"
        "Sites, n (%)\t\t\n"
        "Lung\t8 (62)\t20 (65)\n"
        "Liver\t6 (46)\t15 (48)\n"
        "\nText after the table.\n"
    )
    frame = draft_extraction(clean_text(text))
    pct = frame[frame.check == "percent"]
    assert pct[["value", "count", "n"]].values.tolist()[:2] == [
        ["69", "9", "13"],
        ["39", "12", "31"],
    ]
    sums = frame[frame.check == "sum"]
    # Sex is a partition (69 + 31 = 100%): its counts must add to n; sites are not (one patient
    # may have several), so no sum is drafted for them
    assert sums[["value", "components"]].values.tolist() == [
        ["13", "Male=9;Female=4"],
        ["31", "Male=12;Female=19"],
    ]
    assert not run_audit(frame).flagged


def test_word_numbers():
    assert [word_count(w) for w in ("Twenty-two", "seven", "13", "ninety nine", "lots")] == [
        22,
        7,
        13,
        99,
        None,
    ]


# --- hostile inputs ---------------------------------------------------------------------------
HOSTILE = (
    "## Results\n\n<script>alert('x')</script> 5 (50%) of <b>10</b> patients; "
    '=HYPERLINK("http://x") 7 (70.0%) responded | a | b |.\n\n'
    "Of 99999999999999999999 patients, 123456789012345 (50%) and 3 (250%) and 4 (1e308%) and "
    "2 (12.12345678901234567890%); P = 0.04; I2 = 99.99999%, P = 1.5; ratio of 1:1e999; "
    "1 (0.5%) of 0 patients; 1.5 (95% CI, 1e400-2).\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"], ids=str)
def test_hostile_text_in_any_encoding_drafts_a_loadable_extraction(tmp_path, encoding):
    path = tmp_path / "paper.txt"
    path.write_bytes(HOSTILE.replace("'", "’").encode(encoding, errors="replace") + b"\x00\x1b")
    out = tmp_path / "draft.csv"
    res = runner.invoke(app, ["audit", "draft", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    frame = load_extraction(out)  # the draft always loads
    cells = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert (
        not cells.map(lambda c: c.startswith(("=", "+", "@"))).any().any()
    )  # formulas neutralised
    assert not cells.printed.str.contains("<script|<b>", regex=True).any()  # markup dropped
    for item in frame.items:
        for n in (item.count, item.n):
            assert n is None or n <= 10_000_000
        if item.value is not None:
            assert math.isfinite(item.value.value)
    res = runner.invoke(app, ["audit", str(out)])
    assert res.exit_code in (0, 1), res.output
    assert "<script" not in res.output


def test_markdown_output_escapes_table_pipes(tmp_path):
    frame = draft_extraction(clean_text("## R | x\n\n7 (70.0%) of 10 | patients | responded.\n"))
    md = run_audit(frame).to_markdown(include_all=True)
    body = [line for line in md.splitlines() if line.startswith("| d")]
    assert body and all(line.count(" | ") == 7 for line in body)  # 8 columns, pipes escaped


def test_pdf_with_text_layer(tmp_path):
    fig = Figure(figsize=(6, 2))
    fig.text(0.05, 0.5, "The ORR was 13.3% (95% CI, 0.4-26.2%) and 8 (26.7%) had PD.", fontsize=9)
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        fig.savefig(tmp_path / "paper.pdf")
    frame = draft_extraction(read_paper_text(tmp_path / "paper.pdf"))
    assert ("proportion_ci", "13.3", "0.4", "26.2", "", "") in printed_set(frame)
    # the audit back-solves the interval from the text alone: the SPSS t-interval of 4/30
    table = run_audit(frame).table
    assert table.candidates[0] == "spss-t on 4/30"


@pytest.mark.parametrize("content", [b"%PDF-1.4 not really a pdf", None])
def test_unreadable_or_image_only_pdf_is_an_input_error(tmp_path, content):
    path = tmp_path / "scan.pdf"
    if content is None:
        fig = Figure(figsize=(2, 2))
        fig.add_subplot().axis("off")
        fig.savefig(path)
    else:
        path.write_bytes(content)
    res = runner.invoke(app, ["audit", "draft", str(path), "--out", str(tmp_path / "d.csv")])
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and str(path) in res.output
    assert "Traceback" not in res.output


def test_missing_text_file_is_an_input_error(tmp_path):
    res = runner.invoke(
        app, ["audit", "draft", str(tmp_path / "none.txt"), "--out", str(tmp_path / "d.csv")]
    )
    assert res.exit_code == 2 and "no such file" in res.output


def test_audit_of_a_file_still_works_through_the_group(tmp_path):
    res = runner.invoke(app, ["audit", "npc_qin2025"])
    assert res.exit_code == 1 and "spss-t on 4/30" in res.output
    text = tmp_path / "plain.txt"
    text.write_text("No numbers here at all.\n")
    res = runner.invoke(app, ["audit", "draft", str(text), "--out", str(tmp_path / "d.csv")])
    assert res.exit_code == 0 and "nothing recognised" in res.output
    with open(tmp_path / "d.csv", newline="") as handle:
        assert list(csv.reader(handle)) == [ALL_COLUMNS]
