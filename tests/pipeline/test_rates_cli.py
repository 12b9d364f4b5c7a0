"""`bayes-anlo rates --json` on CSV files the project has never seen reproduces R metafor.

The datasets and the reference values come from tests/reference/ (made by
tests/reference/make_reference_proportions.R with R metafor 3.8.1 / lme4); each dataset is written
to a fresh CSV in tmp_path and run through the CLI, and its JSON is compared at rtol 1e-4.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bayes_anlo.cli import app

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
DATASETS = json.loads((REFERENCE / "proportions_datasets.json").read_text())["datasets"]
POOLING = json.loads((REFERENCE / "proportions_pooling.json").read_text())["results"]
GLMM = json.loads((REFERENCE / "proportions_glmm.json").read_text())["results"]
KEYS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2")
#: method label in the JSON -> (transform, tau2 estimator) in the reference file
METHODS = {
    "PFT-DL": ("pft", "DL"),
    "PFT-REML": ("pft", "REML"),
    "PLO-DL": ("logit", "DL"),
    "PLO-REML": ("logit", "REML"),
}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_rates_json_reproduces_metafor(name, tmp_path):
    ds = DATASETS[name]
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(
        {"study": ds["study"], "outcome": "ORR", "events": ds["events"], "n": ds["n"]}
    ).to_csv(path, index=False)
    result = CliRunner().invoke(
        app, ["rates", str(path), "--outcome", "ORR", "--json", "--threshold", "0.2"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    by_method = {row["method"]: row for row in out["frequentist"]}
    for label, (transform, tau_method) in METHODS.items():
        ref = POOLING[name][transform][tau_method]
        for key in KEYS:
            assert np.isclose(by_method[label][key], ref[key], rtol=1e-4, atol=1e-10), (
                name,
                label,
                key,
            )
    glmm_ref = GLMM[name]["default"]
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"):
        # rma.glmm's default lme4 convergence is itself only accurate to ~1e-5 (see
        # test_glmm_logit.py)
        assert np.isclose(by_method["GLMM-ML"][key], glmm_ref[key], rtol=1e-4, atol=2e-5), (
            name,
            key,
        )
    bayes = out["bayesian"]
    assert (
        0
        < bayes["pooled_rate"]["ci_low"]
        < bayes["pooled_rate"]["median"]
        < bayes["pooled_rate"]["ci_high"]
        < 1
    )
    assert {e["threshold"] for e in bayes["exceedance"]} == {0.2}
    assert len(bayes["study_rates"]) == len(ds["n"])


# --- `--by`, thresholds, inputs, one study, failures, messages (issue 12 items 1-2, issue 11) -----

SUBGROUPS = json.loads((REFERENCE / "proportions_subgroups.json").read_text())["results"]


def _strict_json(text: str) -> dict:
    """Parse as strict JSON: NaN/Infinity are not JSON."""

    def refuse(token):
        raise AssertionError(f"non-JSON constant {token} in output")

    return json.loads(text, parse_constant=refuse)


def _invoke(*args: str):
    return CliRunner().invoke(app, ["rates", *map(str, args)])


def _write(
    tmp_path, rows: list[tuple], columns=("study", "outcome", "events", "n"), name="studies.csv"
) -> Path:
    path = tmp_path / name
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name", ["zero_event", "large_het", "sarcoma_dcr"])
def test_by_subgroup_reproduces_metafor_subgroup_test(name, tmp_path):
    """--by: each level's PLO-REML row and the test for subgroup differences (separate tau^2)
    equal R's (tests/reference/proportions_subgroups.json)."""
    ds = DATASETS[name]
    path = _write(
        tmp_path,
        [
            (s, "ORR", e, n, g)
            for s, e, n, g in zip(ds["study"], ds["events"], ds["n"], ds["subgroup"], strict=True)
        ],
        columns=("study", "outcome", "events", "n", "subgroup"),
    )
    result = _invoke(path, "--outcome", "ORR", "--by", "subgroup", "--json")
    assert result.exit_code == 0, result.output
    out = _strict_json(result.output)
    ref = SUBGROUPS[name]["logit"]["REML"]
    assert list(out["subgroups"]) == SUBGROUPS[name]["levels"]
    test = out["subgroup_test"]
    assert test["method"] == "PLO-REML" and test["df"] == ref["q_between_df"]
    assert np.isclose(test["q_between"], ref["q_between"], rtol=1e-5)
    assert np.isclose(test["p"], ref["q_between_p"], rtol=1e-5)
    for level, sub in out["subgroups"].items():
        row = next(r for r in sub["frequentist"] if r["method"] == "PLO-REML")
        for key in ("estimate", "ci_low", "ci_high", "tau2"):
            assert np.isclose(row[key], ref["per_subgroup"][level][key], rtol=1e-4, atol=1e-10), (
                level,
                key,
            )


BY_ROWS = [
    ("S1", "ORR", 3, 30, "STS", 2019),
    ("S2", "ORR", 8, 41, "STS", 2020),
    ("S3", "ORR", 0, 18, "bone", 2019),
    ("S4", "ORR", 12, 52, "bone", 2021),
    ("S5", "ORR", 5, 25, "STS", 2020),
    ("S6", "ORR", 2, 33, "other", 2021),
    ("S7", "ORR", 4, 20, "", 2021),
    ("S1", "DCR", 20, 30, "STS", 2019),
]


@pytest.fixture
def by_csv(tmp_path):
    return _write(
        tmp_path, BY_ROWS, columns=("study", "outcome", "events", "n", "subgroup", "year")
    )


@pytest.mark.parametrize("column", ["subgroup", "year", "n", "study"])
def test_every_by_form_runs(by_csv, column):
    """Single-study levels (other; study), blank cells (S7), numeric columns (year, n): exit 0 and
    one JSON entry per level that holds the level's own analysis."""
    result = _invoke(by_csv, "--outcome", "ORR", "--by", column, "--json")
    assert result.exit_code == 0, result.output
    table = pd.DataFrame(BY_ROWS, columns=["study", "outcome", "events", "n", "subgroup", "year"])
    table = table[table["outcome"] == "ORR"]
    values = table[column].astype(str)
    expected_levels = list(dict.fromkeys(v for v in values if v != ""))
    out = _strict_json(result.output)
    assert list(out["subgroups"]) == expected_levels
    assert out["unassigned"] == (["S7"] if column == "subgroup" else [])
    for level, sub in out["subgroups"].items():
        rows = table[values == level]
        assert sub["k"] == len(rows) and sub["total_events"] == rows["events"].sum()
        assert sub["bayesian"]["model"] == (
            "complete_pooling" if len(rows) == 1 else "beta_binomial"
        )
    test = out["subgroup_test"]
    if column == "study":  # every level a single study: the REML subgroup pools are single studies
        assert test["q_between"] is not None or test["note"].startswith("not computed")
    else:
        assert test["df"] == len(expected_levels) - 1 and 0 <= test["p"] <= 1


@pytest.mark.parametrize("column", ["subgroup", "year"])
def test_by_text_output(by_csv, column):
    result = _invoke(by_csv, "--outcome", "ORR", "--by", column)
    assert result.exit_code == 0, result.output
    assert f"Subgroups by {column}:" in result.output
    assert "Test for subgroup differences (PLO-REML, separate tau2): Q = " in result.output
    if column == "subgroup":
        assert (
            "subgroup = other: k = 1" in result.output
            and "left out of the subgroups): S7" in result.output
        )


def test_by_level_equals_rates_on_that_level_alone(by_csv, tmp_path):
    whole = _strict_json(_invoke(by_csv, "--outcome", "ORR", "--by", "subgroup", "--json").output)
    only = _write(
        tmp_path,
        [r[:5] for r in BY_ROWS if r[4] == "bone" and r[1] == "ORR"],
        columns=("study", "outcome", "events", "n", "subgroup"),
        name="bone.csv",
    )
    alone = _strict_json(_invoke(only, "--outcome", "ORR", "--json").output)
    assert whole["subgroups"]["bone"]["frequentist"] == alone["frequentist"]
    assert whole["subgroups"]["bone"]["bayesian"] == alone["bayesian"]


def test_by_unknown_column_is_an_input_error(by_csv):
    result = _invoke(by_csv, "--outcome", "ORR", "--by", "histology")
    assert result.exit_code == 2
    assert (
        "error:" in result.output
        and "histology" in result.output
        and "Traceback" not in result.output
    )


@pytest.mark.parametrize(
    "bad", ["70", "2", "-0.5", "nan", "inf", "0", "1", "100%", "0%", "abc", "-5%"]
)
def test_threshold_outside_zero_one_is_refused(by_csv, bad):
    result = _invoke(by_csv, "--outcome", "ORR", f"--threshold={bad}", "--json")
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "--threshold" in result.output
    assert "Traceback" not in result.output


def test_threshold_as_percent_equals_proportion(by_csv):
    pct = _strict_json(_invoke(by_csv, "--outcome", "ORR", "--threshold", "20%", "--json").output)
    prop = _strict_json(_invoke(by_csv, "--outcome", "ORR", "--threshold", "0.2", "--json").output)
    assert {e["threshold"] for e in pct["bayesian"]["exceedance"]} == {0.2}
    assert pct["bayesian"]["exceedance"] == prop["bayesian"]["exceedance"]
    text = _invoke(by_csv, "--outcome", "ORR", "--threshold", "12.5%").output
    assert "P(pooled_rate > 12.5%)" in text


def test_bundled_dataset_name_is_accepted():
    result = _invoke("sarcoma_literature_abstracts", "--outcome", "ORR", "--json")
    assert result.exit_code == 0, result.output
    out = _strict_json(result.output)
    from bayes_anlo import datasets

    data = datasets.load("sarcoma_literature_abstracts").select(outcome="ORR")
    assert out["k"] == len(data) and out["total_events"] == int(data.events.sum())
    refused = _invoke("li2025_meta_pooled", "--outcome", "ORR")
    assert refused.exit_code == 2 and "not responders out of n" in refused.output
    missing = _invoke("no_such_file_or_dataset.csv", "--outcome", "ORR")
    assert missing.exit_code == 2 and "nor a bundled binary dataset" in missing.output


def test_one_study_is_the_conjugate_model_as_run_does(tmp_path):
    """One study: Beta(1 + y, 1 + n - y) (checked against scipy), and the same rows as the `run`
    command writes for a one-study analysis (the pipeline's conjugate spec, run here)."""
    from scipy import stats

    from bayes_anlo.pipeline.run import run_spec
    from tests.pipeline.conftest import CSV, SMALL_SPEC

    (tmp_path / "studies.csv").write_text(CSV)
    (tmp_path / "small.toml").write_text(SMALL_SPEC)
    run = run_spec(tmp_path / "small.toml", tmp_path / "run")
    comparison = pd.read_csv(Path(run.report_md).parent / "tables" / "dcr_single__comparison.csv")

    one = _write(tmp_path, [("S1", "DCR", 20, 30)], name="one.csv")
    result = _invoke(one, "--outcome", "DCR", "--threshold", "0.5", "--json")
    assert result.exit_code == 0, result.output
    out = _strict_json(result.output)
    bayes = out["bayesian"]
    assert (
        bayes["model"] == "complete_pooling"
        and bayes["kappa"] is None
        and bayes["predictive_rate"] is None
    )
    exact = stats.beta(1 + 20, 1 + 10)
    pooled = bayes["pooled_rate"]
    assert pooled["median"] == pytest.approx(exact.median(), abs=0.01)
    assert (pooled["ci_low"], pooled["ci_high"]) == pytest.approx(
        exact.ppf([0.025, 0.975]), abs=0.015
    )
    assert bayes["exceedance"][0]["probability"] == pytest.approx(exact.sf(0.5), abs=0.02)

    freq_run = comparison[comparison["paradigm"] == "frequentist"].set_index("method")
    assert [r["method"] for r in out["frequentist"]] == list(freq_run.index)
    for row in out["frequentist"]:
        for key in ("estimate", "ci_low", "ci_high"):
            assert row[key] == pytest.approx(freq_run.loc[row["method"], key], rel=1e-12)
    bayes_run = comparison[comparison["paradigm"] != "frequentist"].iloc[0]
    assert pooled["median"] == pytest.approx(
        bayes_run["estimate"], abs=0.01
    )  # two seeds: MC error only


def test_glmm_that_cannot_be_fitted_keeps_its_row(tmp_path):
    path = _write(tmp_path, [("A", "ORR", 0, 20), ("B", "ORR", 0, 31), ("C", "ORR", 0, 12)])
    result = _invoke(path, "--outcome", "ORR", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["method"]: r for r in _strict_json(result.output)["frequentist"]}
    assert set(rows) == set(METHODS) | {f"{m}-HK" for m in METHODS} | {"GLMM-ML"}
    glmm = rows["GLMM-ML"]
    assert glmm["estimate"] is None and glmm["tau2"] is None and "0 events" in glmm["note"]
    assert rows["PLO-DL"]["note"] is None and rows["PLO-DL"]["estimate"] > 0
    text = _invoke(path, "--outcome", "ORR").output
    assert "GLMM-ML" in text and "not computed" in text


def test_text_reports_q_tau2_scales_heterogeneity_and_shrinkage(tmp_path):
    ds = DATASETS["large_het"]
    path = _write(
        tmp_path,
        [(s, "ORR", e, n) for s, e, n in zip(ds["study"], ds["events"], ds["n"], strict=True)],
    )
    text = _invoke(path, "--outcome", "ORR").output
    q = POOLING["large_het"]["logit"]["DL"]["q"]
    assert f"{q:.2f} ({len(ds['n']) - 1}, p = " in text
    assert "(pft)" in text and "(logit)" in text
    assert "Bayesian heterogeneity: kappa" in text and "ICC" in text
    for study, e, n in zip(ds["study"], ds["events"], ds["n"], strict=True):
        assert f"{e}/{n}" in text and study in text


def test_json_rows_carry_q_and_tau2_scale(tmp_path):
    ds = DATASETS["sarcoma_dcr"]
    path = _write(
        tmp_path,
        [(s, "DCR", e, n) for s, e, n in zip(ds["study"], ds["events"], ds["n"], strict=True)],
    )
    out = _strict_json(_invoke(path, "--outcome", "DCR", "--json").output)
    rows = {r["method"]: r for r in out["frequentist"]}
    for label, (transform, tau_method) in METHODS.items():
        ref = POOLING["sarcoma_dcr"][transform][tau_method]
        assert rows[label]["tau2_scale"] == transform
        assert np.isclose(rows[label]["q"], ref["q"], rtol=1e-6) and np.isclose(
            rows[label]["q_p"], ref["q_p"], rtol=1e-5
        )
    assert rows["GLMM-ML"]["tau2_scale"] == "logit"
    assert np.isclose(rows["GLMM-ML"]["q"], GLMM["sarcoma_dcr"]["default"]["q_lrt"], rtol=1e-6)
    assert set(out["bayesian"]["kappa"]) == {"median", "mean", "ci_low", "ci_high"}


def test_huge_counts_are_refused_not_hung(tmp_path):
    """n = 1e18 is refused with a located message (by the loader, or by `rates` itself), and a
    large n that is accepted gives finite results."""
    huge = _write(
        tmp_path,
        [("A", "ORR", 3, 10**18), ("B", "ORR", 5, 40), ("C", "ORR", 7, 50)],
        name="huge.csv",
    )
    result = _invoke(huge, "--outcome", "ORR")
    assert result.exit_code == 2 and result.output.startswith(f"error: {huge}:"), result.output
    assert "Traceback" not in result.output
    big = _write(
        tmp_path,
        [("A", "ORR", 30, 10**7), ("B", "ORR", 5, 40), ("C", "ORR", 7, 50)],
        name="big.csv",
    )
    result = _invoke(big, "--outcome", "ORR", "--json")
    assert result.exit_code == 0, result.output
    out = _strict_json(result.output)
    assert out["total_n"] == 10**7 + 90
    assert all(r["estimate"] is not None and 0 <= r["estimate"] <= 1 for r in out["frequentist"])


def test_rates_refuses_study_sizes_its_numerics_cannot_hold():
    from bayes_anlo.data.binary import BinaryData
    from bayes_anlo.errors import InputError
    from bayes_anlo.quick import MAX_N, check_study_sizes

    table = pd.DataFrame(
        {
            "study": ["A", "B"],
            "outcome": "ORR",
            "events": [3, 5],
            "n": [MAX_N + 1, MAX_N],
            "subgroup": "",
            "arm": "",
            "line": "",
            "source": "",
        }
    )
    with pytest.raises(InputError, match="study 'A': n above") as info:
        check_study_sizes(BinaryData(table, source="t.csv"), "t.csv")
    assert len(info.value.problems) == 1


def test_methods_are_the_pipelines():
    from bayes_anlo.pipeline import binary
    from bayes_anlo.quick import POOLING_METHODS, SINGLE_STUDY_METHODS

    assert POOLING_METHODS == binary.FREQUENTIST_METHODS
    assert SINGLE_STUDY_METHODS == binary.SINGLE_STUDY_METHODS


@pytest.mark.parametrize(
    "args",
    [
        ["rates", "x.csv"],  # missing option
        ["rates"],  # missing argument
        ["sweep", "spec.toml", "--analysis", "a", "--workers", "0"],  # bad option value
        ["sweep", "spec.toml", "--analysis", "a", "--workers", "two"],
        ["ratez", "x.csv"],  # unknown command
        ["rates", "x.csv", "--outcome", "ORR", "--nope"],  # unknown option
        [],
    ],  # no command
)
def test_usage_errors_are_error_lines_with_exit_2(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines, result.output
    assert not any(box in result.output for box in "╭│╰─"), result.output
    assert "Traceback" not in result.output


def test_help_keeps_brackets():
    result = CliRunner().invoke(app, ["sweep", "--help"])
    assert result.exit_code == 0 and "[[analyses]]" in result.output


def test_text_columns_stay_aligned_with_long_labels_and_small_tau2(tmp_path):
    """Trial names longer than 28 characters and a tau2 printed with 9 characters (0.0006453) used
    to push the following columns out of line: each table's columns now start at the same place in
    every row (found running the HCC PD-1 example, examples/hcc_pd1/)."""
    rows = [
        ("KEYNOTE-240 pembrolizumab arm (Finn 2020)", "ORR", 51, 278),
        ("Camrelizumab (Qin 2020)", "ORR", 32, 217),
        ("CheckMate 040 dose expansion (El-Khoueiry 2017)", "ORR", 42, 214),
        ("RATIONALE-208 (Ren 2023)", "ORR", 32, 249),
    ]
    text = _invoke(_write(tmp_path, rows), "--outcome", "ORR").output
    lines = text.splitlines()
    study_rows = [line for line in lines if any(line.startswith(r[0]) for r in rows)]
    assert len(study_rows) == len(rows)
    # the events/n column ends at the same character in every study row and in its header
    header = next(line for line in lines if line.startswith("study"))
    end = header.index("events/n") + len("events/n")
    for line, r in zip(study_rows, rows, strict=True):
        assert line[:end].endswith(f"{r[2]}/{r[3]}"), line
    # the I2 column of the frequentist table: every method row has its I2 right-aligned under "I2 %"
    method_header = next(line for line in lines if line.startswith("method"))
    i2_end = method_header.index("I2 %") + len("I2 %")
    for line in lines:
        if line.split(" ")[0] in {"PFT-DL", "PFT-REML", "PLO-DL", "PLO-REML", "GLMM-ML"}:
            assert line[i2_end - 1].isdigit() and line[i2_end] == " ", line
