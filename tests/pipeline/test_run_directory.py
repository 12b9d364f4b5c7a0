"""`bayes-anlo run`: the run directory's contents, atomic writing, --force, reproducibility."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from bayes_anlo import frequentist as fq
from bayes_anlo import load_binary
from bayes_anlo.cli import app
from bayes_anlo.errors import InputError
from bayes_anlo.pipeline.run import run_spec


def digest(directory):
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_run_directory_has_every_promised_file(run_dir):
    for name in ("posterior.nc", "report.md", "report.html", "run.json"):
        assert (run_dir / name).is_file(), name
    tables = {p.name for p in (run_dir / "tables").glob("*.csv")}
    for expected in (
        "orr__comparison.csv",
        "orr__diagnostics.csv",
        "orr__posterior.csv",
        "orr__ppc.csv",
        "orr__exceedance.csv",
        "orr__sensitivity.csv",
        "orr__data.csv",
        "dcr_single__posterior.csv",
        "orr__power_scaling.csv",
        "dcr_single__power_scaling.csv",
    ):
        assert expected in tables
    figures = {p.name for p in (run_dir / "figures").glob("*.png")}
    assert {
        "orr__forest.png",
        "orr__prior_posterior.png",
        "orr__exceedance.png",
        "orr__ppc.png",
        "dcr_single__ppc.png",
    } <= figures
    assert not list(run_dir.parent.glob(".out.partial-*")), "temporary directory left behind"


def test_posterior_is_a_datatree_with_one_child_per_analysis(run_dir):
    tree = xr.open_datatree(run_dir / "posterior.nc", engine="h5netcdf")
    assert set(tree.children) == {"orr", "dcr_single"}
    orr = tree["orr"]
    for group in (
        "posterior",
        "log_likelihood",
        "log_prior",
        "posterior_predictive",
        "observed_data",
        "constant_data",
    ):
        assert group in orr.children, group
    assert orr.attrs["model"] == "beta_binomial"
    assert len(orr.attrs["data_sha256"]) == 64
    record = json.loads((run_dir / "run.json").read_text())
    assert record["seed"] == 11 and "pymc" in json.loads(record["versions"])
    assert "[[analyses]]" in record["spec_text"]


def test_comparison_table_puts_bayes_beside_metafor_methods(run_dir, spec_path):
    table = pd.read_csv(run_dir / "tables" / "orr__comparison.csv")
    assert set(table["paradigm"]) == {"Bayesian", "frequentist"}
    assert {"PFT-DL", "PFT-REML", "PLO-DL", "PLO-REML", "GLMM-ML"} <= set(table["method"])
    data = load_binary(spec_path.parent / "studies.csv").select(outcome="ORR")
    direct = fq.pool_proportions(data, transform="pft", method="DL")
    row = table.loc[table["method"] == "PFT-DL"].iloc[0]
    assert np.isclose(row["estimate"], direct.estimate, rtol=1e-9)
    bayes = table.loc[table["paradigm"] == "Bayesian"].iloc[0]
    assert bayes["ci_low"] < bayes["estimate"] < bayes["ci_high"]
    assert bayes["pi_low"] <= bayes["ci_low"] and bayes["pi_high"] >= bayes["ci_high"]


def test_report_has_every_section_and_states_the_priors(run_dir):
    text = (run_dir / "report.md").read_text()
    for heading in (
        "## Summary",
        "## Data and sources",
        "## Model and priors",
        "## Convergence diagnostics",
        "## Results",
        "## Bayesian beside frequentist",
        "## Posterior predictive checks",
        "## Prior sensitivity",
        "## Limitations and data flags",
        "## Reproducibility",
    ):
        assert heading in text, heading
    assert "kappa ~ LogNormal" in text and "mu ~ Beta(1, 1)" in text
    assert "synthetic test data" in text  # the data's sources are printed
    html = (run_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 and "<img src='figures" not in html


def test_same_spec_and_seed_give_identical_tables_and_draws(run_dir, spec_path, tmp_path):
    run_spec(spec_path, tmp_path / "again")
    first, second = digest(run_dir / "tables"), digest(tmp_path / "again" / "tables")
    assert first == second
    a = xr.open_datatree(run_dir / "posterior.nc", engine="h5netcdf")["orr/posterior"].to_dataset()
    b = xr.open_datatree(tmp_path / "again" / "posterior.nc", engine="h5netcdf")[
        "orr/posterior"
    ].to_dataset()
    xr.testing.assert_identical(a, b)


def test_existing_directory_is_kept_without_force_and_a_run_directory_replaced_with_it(
    small_spec_path, tmp_path
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    before = digest(out)
    with pytest.raises(InputError, match="--force"):
        run_spec(small_spec_path, out)
    with pytest.raises(InputError, match="not a bayes_anlo run directory"):
        run_spec(small_spec_path, out, force=True)  # a folder that is not a run is never replaced
    assert digest(out) == before
    run_spec(small_spec_path, tmp_path / "run")
    (tmp_path / "run" / "stale.txt").write_text("from an earlier run")
    run_spec(small_spec_path, tmp_path / "run", force=True)
    assert (
        not (tmp_path / "run" / "stale.txt").exists()
        and (tmp_path / "run" / "report.html").exists()
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".out.", ".run."))]


def test_failure_midway_leaves_no_partial_directory_and_keeps_the_old_one(
    small_spec_path, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    run_spec(small_spec_path, out)
    before = digest(out)
    import bayes_anlo.pipeline.run as run_module

    def explode(*args, **kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C while files were being written

    monkeypatch.setattr(run_module, "compose_report", explode)
    with pytest.raises(KeyboardInterrupt):
        run_spec(small_spec_path, out, force=True)
    assert digest(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    with pytest.raises(KeyboardInterrupt):
        run_spec(small_spec_path, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()


def test_cli_run_prints_where_the_report_is(small_spec_path, tmp_path):
    result = CliRunner().invoke(app, ["run", str(small_spec_path), "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "cli" / "report.html") in result.output


def test_prior_sensitivity_section_has_power_scaling_and_gated_refits(run_dir):
    """Power-scaling for every analysis (kappa scaled, the flat mu prior named as left out; the
    single-study analysis has only flat priors, so prior sensitivity is not computed there), and
    refits that say whether they converged."""
    scaling = pd.read_csv(run_dir / "tables" / "orr__power_scaling.csv").set_index("variable")
    assert {"mu", "kappa", "pooled_rate", "predictive_rate"} <= set(scaling.index)
    assert scaling[["prior", "likelihood"]].notna().all().all()
    assert (scaling[["prior", "likelihood"]] >= 0).all().all()
    single = pd.read_csv(run_dir / "tables" / "dcr_single__power_scaling.csv")
    assert single["prior"].isna().all() and single["likelihood"].gt(0).all()
    refits = pd.read_csv(run_dir / "tables" / "orr__sensitivity.csv")
    assert len(refits) == 5 and set(refits["converged"]) == {
        "yes"
    }  # default + four alternatives, exact engine
    text = (run_dir / "report.md").read_text()
    # one "Prior sensitivity" subsection per analysis, each ending at the next level-2 heading
    section = "".join(part.split("\n## ")[0] for part in text.split("### Prior sensitivity")[1:])
    assert (
        "priors scaled: kappa" in section and "Flat priors left out of the prior scaling" in section
    )
    assert "Every prior is flat (p)" in section
    assert "Power-scaling sensitivity (cumulative Jensen-Shannon distance" in section


# ---- progress, --only, --fast (issue 12 item 4) -------------------------------------------------
def test_run_prints_a_progress_line_per_analysis_and_records_its_seconds(
    two_small_spec_path, tmp_path
):
    result = CliRunner().invoke(
        app, ["run", str(two_small_spec_path), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    for k, analysis in enumerate(("orr", "dcr_single"), start=1):
        assert any(
            line.startswith(f"[{k}/2] {analysis}: done in ") and "elapsed" in line for line in lines
        ), lines
    seconds = json.loads((tmp_path / "out" / "run.json").read_text())["seconds_per_analysis"]
    assert set(seconds) == {"orr", "dcr_single"} and all(s >= 0 for s in seconds.values())


def test_only_runs_the_chosen_analyses(spec_path, tmp_path):
    result = CliRunner().invoke(
        app, ["run", str(spec_path), "--out", str(tmp_path / "out"), "--only", "dcr_single"]
    )
    assert result.exit_code == 0, result.output
    assert {p.name.split("__")[0] for p in (tmp_path / "out" / "tables").glob("*.csv")} == {
        "dcr_single"
    }
    assert set(xr.open_datatree(tmp_path / "out" / "posterior.nc", engine="h5netcdf").children) == {
        "dcr_single"
    }
    assert json.loads((tmp_path / "out" / "run.json").read_text())["only"] == ["dcr_single"]


def test_only_with_an_unknown_id_exits_2_listing_the_known_ids(spec_path, tmp_path):
    result = CliRunner().invoke(
        app, ["run", str(spec_path), "--out", str(tmp_path / "out"), "--only", "orr,nope"]
    )
    assert result.exit_code == 2, result.output
    assert (
        result.stderr.startswith("error: ")
        and "nope" in result.stderr
        and "known ids: orr, dcr_single" in result.stderr
    )
    assert not (tmp_path / "out").exists() and not [
        p for p in tmp_path.iterdir() if p.name.startswith(".out.")
    ]


NUTS_SPEC = """
[analysis]
name = "fast_smoke"
title = "NUTS spec run with --fast"
seed = 3

[data]
file = "studies.csv"

[sampler]
draws = 2000
tune = 2000
chains = 4

[[analyses]]
id = "orr"
outcome = "ORR"
model = "beta_binomial"
sensitivity = false
"""


def test_fast_uses_the_exact_engine_marks_the_report_and_does_not_gate(tmp_path, monkeypatch):
    """--fast on a NUTS spec: the exact engine is used, the report says not for inference, and even
    an unconverged analysis does not fail the run (the gate is not applied, and says so)."""
    from .conftest import CSV

    (tmp_path / "studies.csv").write_text(CSV)
    (tmp_path / "spec.toml").write_text(NUTS_SPEC)
    import bayes_anlo.pipeline.run as run_module

    real = run_module._dispatch

    def unconverged(*args, **kwargs):
        result = real(*args, **kwargs)
        result.converged, result.convergence_reasons = False, ["R-hat 1.2 (made up by the test)"]
        return result

    monkeypatch.setattr(run_module, "_dispatch", unconverged)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(tmp_path / "spec.toml"), "--out", str(out), "--fast"]
    )
    assert result.exit_code == 0, result.output
    assert "FAST MODE" in result.stderr and "convergence gate was not applied" in result.stderr
    tree = xr.open_datatree(out / "posterior.nc", engine="h5netcdf")
    assert tree["orr"].attrs["method"] == "exact"
    for name in ("report.md", "report.html"):
        text = (out / name).read_text()
        assert (
            "FAST MODE: NOT FOR INFERENCE." in text
            and "the convergence gate was not applied" in text
        )
    record = json.loads((out / "run.json").read_text())
    assert record["fast_mode"] is True and record["convergence_gate"] == "not applied (--fast)"
