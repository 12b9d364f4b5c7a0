"""The report's structure: one contents entry per analysis, anchors restricted to
``[A-Za-z0-9_-]``, a non-converged analysis marked on every table and figure, subgroup tables
where a reader looks, and a leave-one-out table without transform-scale tests."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import xarray as xr

from bayes_anlo.report.compose import compose_report
from bayes_anlo.report.render import Figure, Heading, Table, anchor, to_html, to_markdown
from bayes_anlo.report.result import AnalysisResult

SPEC = SimpleNamespace(title="Report", description="", limitations=[])
RECORD = {
    "spec_path": "spec.toml",
    "spec_sha256": "0" * 64,
    "seed": 1,
    "started_at": "now",
    "wall_seconds": 1.0,
    "data_sha256": {},
    "versions": '{"bayes_anlo": "0"}',
}


def result(rid: str, converged: bool, tmp_path: Path, by: str = "") -> AnalysisResult:
    png = tmp_path / "figures" / f"{rid}__forest.png"
    png.parent.mkdir(exist_ok=True)
    png.write_bytes(b"\x89PNG")
    r = AnalysisResult(
        id=rid,
        title=f"Title of {rid}",
        model="beta_binomial",
        tree=xr.DataTree(),
        converged=converged,
        convergence_reasons=[] if converged else ["R-hat above 1.01"],
        by=by,
    )
    r.headline = "Posterior median pooled ORR 10%."
    r.tables["data"] = pd.DataFrame(
        {
            "study": ["S1", "S2"],
            "drug": ["a", "b"],
            "subgroup": ["", ""],
            "outcome": "ORR",
            "events": [1, 2],
            "n": [10, 12],
        }
    )
    r.tables["diagnostics"] = pd.DataFrame({"variable": ["mu"], "r_hat": [1.0]})
    r.tables["comparison"] = pd.DataFrame(
        {
            "paradigm": ["Bayesian"],
            "method": ["bb"],
            "estimate": [0.1],
            "ci_low": [0.05],
            "ci_high": [0.2],
        }
    )
    r.tables["subgroup_pooled"] = pd.DataFrame(
        {
            "subgroup": ["a", "b"],
            "paradigm": "frequentist",
            "method": "PLO-REML",
            "estimate": 0.1,
            "ci_low": 0.05,
            "ci_high": 0.2,
            "pi_low": np.nan,
            "pi_high": np.nan,
            "k": [1.0, 1.0],
            "note": "single study",
        }
    )
    r.tables["subgroup_contrasts"] = pd.DataFrame(
        {
            "subgroup_a": ["a"],
            "subgroup_b": ["b"],
            "difference_median": [0.01],
            "difference_low": [-0.1],
            "difference_high": [0.1],
            "prob_a_greater": [0.55],
        }
    )
    r.tables["leave_one_out"] = pd.DataFrame(
        {
            "left_out": ["S1"],
            "method": ["PLO-REML"],
            "k": [1],
            "estimate": [0.1],
            "ci_low": [0.05],
            "ci_high": [0.2],
            "tau2_logit": [0.0],
            "i2": [0.0],
        }
    )
    r.figures["forest"] = object()
    return r


def test_contents_lists_each_analysis_with_safe_anchors(tmp_path):
    results = [result("orr", True, tmp_path), result("dcr é'><x", False, tmp_path)]
    blocks = compose_report(SPEC, results, RECORD, tmp_path)
    level2 = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    analyses = [b for b in level2 if b.text.startswith("Analysis: ")]
    assert [b.anchor for b in analyses] == ["analysis-orr", "analysis-dcr-----x"]
    for b in blocks:
        if isinstance(b, Heading) and b.level > 1:
            assert re.fullmatch(r"[A-Za-z0-9_-]+", b.anchor), b
        if isinstance(b, Table) and b.table_id:
            assert re.fullmatch(r"[A-Za-z0-9_-]+", b.table_id), b.table_id
    html = to_html(blocks, "Report")
    nav = html.split("<nav>")[1].split("</nav>")[0]
    assert "#analysis-orr" in nav and "#analysis-dcr-----x" in nav
    assert anchor("a b/ü") == "a-b--"
    twins = compose_report(
        SPEC, [result("a b", True, tmp_path), result("a-b", True, tmp_path)], RECORD, tmp_path
    )
    ids = [b.anchor for b in twins if isinstance(b, Heading) and b.text.startswith("Analysis: ")]
    assert len(set(ids)) == 2


def test_a_non_converged_analysis_is_marked_on_every_table_and_figure(tmp_path):
    good, bad = result("good", True, tmp_path), result("bad", False, tmp_path)
    blocks = compose_report(SPEC, [good, bad], RECORD, tmp_path)
    start = {b.anchor: i for i, b in enumerate(blocks) if isinstance(b, Heading)}
    good_part = blocks[start["analysis-good"] : start["analysis-bad"]]
    bad_part = blocks[start["analysis-bad"] : start["limitations"]]
    captioned = (Table, Figure)
    assert sum(isinstance(b, captioned) for b in bad_part) >= 6
    assert all(b.caption.startswith("NOT CONVERGED") for b in bad_part if isinstance(b, captioned))
    assert not any(
        b.caption.startswith("NOT CONVERGED") for b in good_part if isinstance(b, captioned)
    )
    assert "NOT CONVERGED" in bad_part[0].text and "NOT CONVERGED" not in good_part[0].text
    md = to_markdown(blocks)
    assert "ORR 10%." in md.split("## Summary")[1].split("##")[0]
    assert "(beta_binomial, NOT CONVERGED)" in md


def test_subgroup_column_and_tables_appear_and_leave_one_out_has_no_z_test(tmp_path):
    blocks = compose_report(SPEC, [result("orr", True, tmp_path, by="drug")], RECORD, tmp_path)
    tables = {b.table_id: b for b in blocks if isinstance(b, Table)}
    data = tables["orr-data"].frame
    assert list(data.columns[:2]) == ["study", "drug"]
    assert "subgroup" not in data  # empty everywhere: not shown
    pooled = tables["orr-subgroup_pooled"].frame
    assert pooled["k"].tolist() == ["1", "1"] and pooled["note"].tolist() == ["single study"] * 2
    assert "P(A > B)" in tables["orr-subgroup_contrasts"].frame
    loo = tables["orr-leave_one_out"]
    assert not {"z", "p_value", "theta"} & set(loo.frame.columns)
    assert "rate scale" in loo.caption and {"estimate", "ci_low", "ci_high"} <= set(
        loo.percent_columns
    )
