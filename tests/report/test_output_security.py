"""Hostile text in every field that reaches the outputs (issue 11 item 5): markup and script in
study and subgroup labels, the spec's title, description, analysis title, notes and limitations, an
audit file's name and its labels; spreadsheet formulas in labels. Checked in the files (HTML parsed
for any element, attribute or URL the report does not make itself; Markdown for raw HTML and links;
every CSV cell for a formula) and in headless Chromium (no payload runs: each would set the page
title to a word that appears in no file, only as the result of running the payload's script).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from html import unescape as html_unescape
from html.parser import HTMLParser

import pandas as pd
import pytest
from click.testing import CliRunner

from bayes_anlo.cli import app
from bayes_anlo.outputs import neutralise_formula, write_csv
from bayes_anlo.report.render import (
    Heading,
    Paragraph,
    Table,
    anchor,
    md_text,
    to_html,
    to_markdown,
)

#: Running any payload sets document.title to "PW" + "NED"; the joined word is in no input.
RAN = "PW" + "NED"
JS = "document.title='PW'+'NED'"
SCRIPT = f"<script>{JS}</script>"
IMG = f'<img src=x onerror="{JS}">'
ATTR_BREAK = f"x'><img src=x onerror={JS}>"
QUOTE_BREAK = f'y"><svg onload={JS}>'
LINK = f"[click me](javascript:{JS})"
AUTOLINK = f"<javascript:{JS}>"
FORMULAS = [
    '=HYPERLINK("http://example.invalid","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd",
    "@SUM(1,1)",
    "\tTAB=1+1",
    "\r=1+1",
]
MARKUP = [SCRIPT, IMG, ATTR_BREAK, QUOTE_BREAK, LINK, AUTOLINK]

AUDIT_NAME = f"x'><img src=x onerror={JS}>"  # the extraction's file name (without .csv)

CSV_ROWS = [  # study, subgroup, events, n: every hostile label, with plausible numbers
    (IMG, ATTR_BREAK, 3, 30),
    (SCRIPT, QUOTE_BREAK, 8, 41),
    (LINK, LINK, 2, 18),
    (AUTOLINK, "plain", 12, 52),
    *[(f, f, 5 + i, 25 + i) for i, f in enumerate(FORMULAS)],
]


def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string for these characters


def hostile_spec(directory) -> str:
    return f"""
[analysis]
name = "hostile"
title = {toml_string("Report " + SCRIPT + " " + IMG)}
description = {toml_string("Description " + LINK + " " + ATTR_BREAK + " " + AUTOLINK)}
seed = 5
limitations = [{toml_string("Limitation " + QUOTE_BREAK)}, {toml_string(FORMULAS[0])}]
audit = [{toml_string(AUDIT_NAME + ".csv")}]

[data]
file = "studies.csv"

[sampler]
draws = 200
chains = 2

[[analyses]]
id = "orr"
title = {toml_string("Analysis " + IMG + " " + LINK)}
outcome = "ORR"
model = "beta_binomial"
method = "exact"
sensitivity = false
notes = {toml_string("Note " + SCRIPT + " " + FORMULAS[3])}
"""


AUDIT_CSV = (
    "item_id,location,quantity,check,printed,value,lower,upper,count,n,count2,n2,components,"
    "alternatives,method,level,statistic,note\n"
)


def audit_rows() -> str:
    rows = [
        ["a1", IMG, SCRIPT, "percent", LINK, "50.0", "", "", "13", "30"] + [""] * 7 + [ATTR_BREAK],
        ["a2", FORMULAS[0], FORMULAS[2], "percent", FORMULAS[3], "43.3", "", "", "13", "30"]
        + [""] * 7
        + [FORMULAS[1]],
    ]
    lines = []
    for row in rows:
        lines.append(",".join('"' + cell.replace('"', '""') + '"' for cell in row))
    return AUDIT_CSV + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    from bayes_anlo.pipeline.run import run_spec

    base = tmp_path_factory.mktemp("hostile")
    frame = pd.DataFrame(CSV_ROWS, columns=["study", "subgroup", "events", "n"]).assign(
        outcome="ORR", source="test"
    )
    frame.to_csv(
        base / "studies.csv", index=False, quoting=csv.QUOTE_NONNUMERIC
    )  # the attacker's file
    (base / f"{AUDIT_NAME}.csv").write_text(audit_rows(), encoding="utf-8")
    (base / "spec.toml").write_text(hostile_spec(base), encoding="utf-8")
    run_spec(base / "spec.toml", base / "out", log=None)
    return base


class Elements(HTMLParser):
    """Every start tag and its attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


REPORT_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "h1",
    "h2",
    "h3",
    "h4",
    "nav",
    "a",
    "p",
    "ul",
    "li",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "figure",
    "img",
    "figcaption",
    "strong",
    "em",
    "code",
}
SAFE_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def test_hostile_inputs_reach_the_report_as_text(hostile_run):
    """Guard: the payloads really are in the report (escaped), so the checks below test
    something."""
    page = (hostile_run / "out" / "report.html").read_text()
    assert (
        "&lt;script&gt;" in page
        and "&lt;img src=x onerror=" in page
        and "javascript:document" in page
    )
    md = (hostile_run / "out" / "report.md").read_text()
    assert "&lt;script>" in md and "javascript:document" in md
    assert (hostile_run / "out" / "tables" / f"audit__{AUDIT_NAME}.csv").is_file()


def test_html_report_has_only_the_elements_and_attributes_the_report_makes(hostile_run):
    parser = Elements()
    parser.feed((hostile_run / "out" / "report.html").read_text())
    tags = {tag for tag, _ in parser.tags}
    assert tags <= REPORT_TAGS, tags - REPORT_TAGS
    for tag, attrs in parser.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert set(attrs) <= {"id", "href", "class", "alt", "src", "lang", "charset"}, (tag, attrs)
        for key in ("id", "class"):
            if key in attrs:
                assert SAFE_TOKEN.fullmatch(attrs[key]), (tag, attrs)
        if "href" in attrs:
            assert attrs["href"].startswith("#") and SAFE_TOKEN.fullmatch(attrs["href"][1:]), attrs
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,"), attrs["src"][:80]
    assert any(attrs.get("id", "").startswith("audit-x---img") for _, attrs in parser.tags)


def test_markdown_report_has_no_raw_html_and_no_links(hostile_run):
    md = (hostile_run / "out" / "report.md").read_text()
    assert not re.search(r"<[A-Za-z/!?]", md), re.search(r".{30}<[A-Za-z/!?].{30}", md)
    assert not re.search(r"(?<!\\)\]\(javascript", md) and not re.search(
        r"(?<!\\)\[[^\]]*(?<!\\)\]\(", md.replace("![", "  ")
    )
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").render(md)  # a viewer that passes HTML through
    parser = Elements()
    parser.feed(rendered)
    assert {tag for tag, _ in parser.tags} <= {
        "h1",
        "h2",
        "h3",
        "p",
        "ul",
        "li",
        "em",
        "strong",
        "code",
        "img",
    }
    hrefs = [attrs.get("href", "") + attrs.get("src", "") for _, attrs in parser.tags]
    assert all(h.startswith("figures/") or h == "" for h in hrefs), hrefs


def test_every_csv_cell_is_safe_in_a_spreadsheet_and_numbers_stay_numbers(hostile_run):
    tables = sorted((hostile_run / "out" / "tables").glob("*.csv"))
    assert len(tables) >= 4
    seen = set()
    for path in tables:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    seen.add(cell)
                    if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
                        float(cell)  # only a number may start like a formula
    assert "'" + FORMULAS[0] in seen and "'@SUM(1,1)" in seen and "'-2+3+cmd" in seen
    data = pd.read_csv(hostile_run / "out" / "tables" / "orr__data.csv")
    assert pd.api.types.is_numeric_dtype(data["events"]) and pd.api.types.is_numeric_dtype(
        data["proportion"]
    )


def test_audit_out_csv_neutralises_formulas(hostile_run, tmp_path):
    out = tmp_path / "audit.csv"
    result = CliRunner().invoke(
        app, ["audit", str(hostile_run / f"{AUDIT_NAME}.csv"), "--out", str(out)]
    )
    assert result.exit_code in (0, 1), result.output
    cells = [cell for row in csv.reader(out.open(newline="", encoding="utf-8")) for cell in row]
    assert "'" + FORMULAS[0] in cells and "'" + FORMULAS[3] in cells
    assert not [c for c in cells if c.startswith(("=", "+", "@")) and not _is_number(c)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "+1"),
        ("-0.5", "-0.5"),
        ("-1e-3", "-1e-3"),
        ("-", "'-"),
        ("@x", "'@x"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("a=1", "a=1"),
        (-0.5, -0.5),
        (None, None),
    ],
)
def test_neutralise_formula_prefixes_only_text_a_spreadsheet_would_evaluate(value, written):
    assert neutralise_formula(value) == written


def test_write_csv_keeps_numeric_columns_and_neutralises_headers(tmp_path):
    frame = pd.DataFrame({"=label": ["=cmd", "S1"], "estimate": [-0.5, 0.25], "count": [-3, 4]})
    path = write_csv(frame, tmp_path / "t.csv")
    assert path.read_text() == "'=label,estimate,count\n'=cmd,-0.5,-3\nS1,0.25,4\n"
    assert not list(tmp_path.glob(".t.csv.*")), "temporary file left behind"


def test_anchor_keeps_only_safe_characters():
    assert anchor("audit-" + ATTR_BREAK) == "audit-x---img-src-x-onerror-document-title--PW---NED--"
    assert SAFE_TOKEN.fullmatch(anchor("ünïcödé <>'\" "))


def test_renderers_escape_headings_paragraphs_tables_and_ids():
    blocks = [
        Heading(IMG, 1),
        Heading("Section " + ATTR_BREAK, 2, anchor="s-" + ATTR_BREAK),
        Paragraph(SCRIPT, css="x' onclick='y"),
        Table(pd.DataFrame({IMG: [LINK]}), caption=QUOTE_BREAK, table_id=ATTR_BREAK),
    ]
    page = to_html(blocks, IMG)
    parser = Elements()
    parser.feed(page)
    assert {tag for tag, _ in parser.tags} <= REPORT_TAGS - {"img", "figure"}
    md = to_markdown(blocks)
    assert not re.search(r"<[A-Za-z/!?]", md)
    assert md_text(LINK).startswith("\\[click me\\](javascript")
    assert (
        md_text("\\[x\\](javascript:y)") == "\\\\\\[x\\\\\\](javascript:y)"
    )  # no link via an escaped escape


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=3000",
]


def dump_dom(page, tmp_path) -> str:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert "<body" in done.stdout, done.stderr[-2000:]
    return done.stdout


@pytest.mark.browser
@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)"
)
def test_no_payload_runs_in_chromium_in_the_html_or_the_rendered_markdown(hostile_run, tmp_path):
    from markdown_it import MarkdownIt

    canary = tmp_path / "canary.html"  # proves the check can fail: the same payload, unescaped
    canary.write_text(f"<html><head><title>t</title></head><body>{IMG}</body></html>")
    assert f"<title>{RAN}</title>" in dump_dom(canary, tmp_path)

    dom = dump_dom(hostile_run / "out" / "report.html", tmp_path)
    assert RAN not in dom and "<table" in dom
    md_page = tmp_path / "report_md.html"
    md_page.write_text(
        "<html><head><title>md</title></head><body>"
        + MarkdownIt("commonmark").render((hostile_run / "out" / "report.md").read_text())
        + "</body></html>"
    )
    dom = dump_dom(md_page, tmp_path)
    assert RAN not in dom and "<h2>" in dom


def test_markdown_table_cells_show_inline_marks_literally():
    """A study label such as ``**Zhu** $x^2$ `code` ~~old~~ _it_`` rendered bold, italic, as code
    and struck through in a Markdown viewer (found trying the HCC example with hostile labels).
    Rendered by markdown-it (CommonMark + tables + strikethrough), the cell shows the label's
    characters and
    no element; a column name like ``ci_low`` is left as it is."""
    from markdown_it import MarkdownIt

    label = "**Zhu** $x^2$ `code` ~~old~~ _it_ *a*"
    md = to_markdown([Table(pd.DataFrame({"study": [label], "ci_low": ["x"]}))])
    assert "| ci_low |" in md
    page = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md)
    assert not re.search(r"<(strong|em|code|s|del)>", page), page
    assert html_unescape(re.sub(r"<[^>]+>", "", page)).count(label) == 1
    unescaped = (
        MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md.replace("\\", ""))
    )
    assert re.search(
        r"<(strong|em|code|s)>", unescaped
    )  # the same cell without the escapes is markup
