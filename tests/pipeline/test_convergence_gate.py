"""The convergence gate end to end: a run whose sampler is starved (20 draws) is marked NOT
CONVERGED in the report and makes the CLI exit 3, unless --allow-unconverged."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bayes_anlo.cli import EXIT_UNCONVERGED, app

from .conftest import CSV

STARVED = """
[analysis]
name = "starved"
title = "A sampler starved of draws"
seed = 3

[data]
file = "studies.csv"

[sampler]
draws = 20
tune = 20
chains = 2

[[analyses]]
id = "orr"
outcome = "ORR"
model = "beta_binomial"
method = "nuts"   # the default, "auto", would use the exact engine, which needs no gate
sensitivity = false
"""


def test_unconverged_run_is_flagged_and_exits_3(tmp_path):
    (tmp_path / "studies.csv").write_text(CSV)
    spec = tmp_path / "starved.toml"
    spec.write_text(STARVED)
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == EXIT_UNCONVERGED == 3, result.output
    report = (tmp_path / "out" / "report.md").read_text()
    assert "**NOT CONVERGED.**" in report and "ESS" in report
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["converged"] == {"orr": False}
    allowed = runner.invoke(
        app, ["run", str(spec), "--out", str(tmp_path / "out"), "--force", "--allow-unconverged"]
    )
    assert allowed.exit_code == 0, allowed.output
