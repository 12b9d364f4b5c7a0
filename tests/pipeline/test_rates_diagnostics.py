"""`bayes-anlo rates`: chosen tau^2 estimators with Hartung-Knapp twins, the diagnostics block
(Q-profile heterogeneity, small-study tests, trim-and-fill, influence, leave-one-out) and the
meta-regression, compared with R metafor 3.8-1 (tests/reference/meta_extended.json, made by
tests/reference/make_reference_meta_extended.R) at rtol 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bayes_anlo.cli import app
from bayes_anlo.frequentist.tau2 import TAU2_METHODS
from bayes_anlo.quick import format_quick_rates, quick_rates

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "meta_extended.json").read_text()
)
RTOL = 1e-6
SARCOMA = "sarcoma_literature_abstracts"  # the reference's sarcoma_orr, outcome ORR


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-10)


@pytest.fixture(scope="module")
def every_estimator():
    return quick_rates(
        SARCOMA,
        outcome="ORR",
        tau2=",".join(TAU2_METHODS),
        moderator="year",
        cumulative_by="year",
    )


def test_every_estimator_has_a_row_and_a_hartung_knapp_twin_matching_metafor(every_estimator):
    rows = {r["method"]: r for r in every_estimator["frequentist"]}
    for transform, measure in (("pft", "PFT"), ("logit", "PLO")):
        for method in TAU2_METHODS:
            for test, suffix in (("z", ""), ("knha", "-HK")):
                row = rows[f"{measure}-{method}{suffix}"]
                ref = REF["pooling"][f"sarcoma_orr/{transform}/{method}/{test}"]
                close(
                    [row[k] for k in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")],
                    [ref[k] for k in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")],
                )
                close([row["tau2"], row["q"], row["q_p"]], [ref["tau2"], ref["q"], ref["q_p"]])
    assert list(rows)[-1] == "GLMM-ML" and len(rows) == 2 * 2 * len(TAU2_METHODS) + 1
    assert every_estimator["rows"]["default"] is False


def test_diagnostics_block_matches_metafor(every_estimator):
    out = every_estimator
    ref = REF["diagnostics"]["sarcoma_orr/logit-REML-z"]
    assert out["diagnostics_model"] == "PLO-REML"
    egger, size = out["small_study"]
    assert egger["predictor"] == "sei" and "Egger" in egger["method"]
    close([egger["z"], egger["p_value"]], [ref["egger"]["statistic"], ref["egger"]["p_value"]])
    close(
        [size["z"], size["p_value"]],
        [ref["sample_size"]["statistic"], ref["sample_size"]["p_value"]],
    )
    tf = out["trim_and_fill"]
    assert tf["k0"] == ref["trimfill"]["k0"] and tf["side"] == ref["trimfill"]["side"]
    close([tf["estimate"], tf["ci_low"]], [ref["trimfill"]["estimate"], ref["trimfill"]["ci_low"]])
    studies = out["influence"]["studies"]
    close([s["rstudent"] for s in studies], ref["influence"]["rstudent"])
    close([s["cook_d"] for s in studies], ref["influence"]["cook_d"])
    assert [s["influential"] for s in studies] == ref["influence"]["influential"]
    pooled = REF["pooling"]["sarcoma_orr/logit/REML/z"]
    close([out["heterogeneity"]["tau2_high"]], [pooled["tau2_high"]])
    assert len(out["leave_one_out"]) == out["k"]
    assert "fewer than 10 studies" in out["caveat"]  # k = 8


def test_meta_regression_key_matches_rma_mods(every_estimator):
    mr = every_estimator["meta_regression"]
    ref = REF["regression"]["sarcoma_orr/year/logit-REML-z"]
    assert mr["moderator"] == "year" and mr["kind"] == "numeric"
    close([c["estimate"] for c in mr["coefficients"]], ref["beta"])
    close([mr["qm"], mr["qm_p"], mr["tau2"]], [ref["qm"], ref["qm_p"], ref["tau2"]])


def test_cumulative_key_matches_cumul(every_estimator):
    cu = every_estimator["cumulative"]
    ref = REF["cumulative"]["sarcoma_orr/logit-REML-z"]
    assert cu["order_by"] == "year" and [r["added"] for r in cu["rows"]] == ref["added"]
    close([r["estimate"] for r in cu["rows"]], ref["estimate"])
    close([r["ci_high"] for r in cu["rows"]], ref["ci_high"])


def test_text_says_which_rows_and_why_and_prints_the_caveat(every_estimator):
    text = format_quick_rates(every_estimator)
    assert "PLO-PM-HK" in text and "Hartung-Knapp" in text
    assert "Egger regression test" in text and "trim and fill" in text
    assert "Caveat: fewer than 10 studies" in text
    assert "Meta-regression on year" in text
    assert "Cumulative meta-analysis by year" in text and "(2018)" in text


def test_default_rows_are_dl_and_reml_with_twins_and_no_caveat_for_18_studies(tmp_path):
    d = REF["datasets"]["large_het"]
    path = tmp_path / "large.csv"
    pd.DataFrame(
        {"study": d["study"], "outcome": "ORR", "events": d["events"], "n": d["n"]}
    ).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["rates", str(path), "--outcome", "ORR", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [r["method"] for r in out["frequentist"]] == [
        "PFT-DL",
        "PFT-DL-HK",
        "PFT-REML",
        "PFT-REML-HK",
        "PLO-DL",
        "PLO-DL-HK",
        "PLO-REML",
        "PLO-REML-HK",
        "GLMM-ML",
    ]
    assert out["rows"]["default"] is True and "Hartung-Knapp" in out["rows"]["why"]
    assert out["caveat"] is None
    ref = REF["diagnostics"]["large_het/logit-REML-z"]["egger"]
    close([out["small_study"][0]["z"]], [ref["statistic"]])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tau2", "DL,XYZ"], "unknown tau^2 estimator 'XYZ'"),
        (["--moderator", "nosuch"], "no column 'nosuch' for the moderator"),
        (["--cumulative-by", "when"], "no column 'when' to order by"),
    ],
)
def test_bad_options_exit_2_with_located_errors(args, message):
    result = CliRunner().invoke(app, ["rates", SARCOMA, "--outcome", "ORR", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert any(line.startswith("error:") and message in line for line in result.output.splitlines())
