"""The HCC PD-1 example (examples/hcc_pd1/, models/hcc_pd1_example.toml) run as a new user runs it:
default settings, no --fast. It must converge, and its key posterior numbers must agree with the
numbers the papers printed (examples/hcc_pd1/README.md gives each source): a posterior median of a
study or arm lies inside the printed 95% CI of that quantity, and the pooled ORR lies between the
smallest and largest observed study rates. Slow: about 10 minutes on the 2-core machine."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from bayes_anlo.cli import app

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "models" / "hcc_pd1_example.toml"

#: printed 95% CIs (months or proportions), from the papers named in examples/hcc_pd1/README.md
PRINTED = {
    # camrelizumab (Qin 2020, Lancet Oncol): ORR 14.7% (10.3-20.2), PFS 2.1 (2.0-3.2), OS 13.8
    # (11.5-16.3), 12-month OS 55.9% (49.0-62.3)
    ("orr", "study_rate", "Camrelizumab (Qin 2020)"): (0.103, 0.202),
    ("pfs", "median", "camrelizumab"): (2.0, 3.2),
    ("os", "median", "camrelizumab"): (11.5, 16.3),
    ("os", "landmark", "camrelizumab | 12.0"): (0.490, 0.623),
    # CheckMate 040 expansion (El-Khoueiry 2017, Lancet): ORR 20% (15-26)
    ("orr", "study_rate", "CheckMate 040 dose expansion (El-Khoueiry 2017)"): (0.15, 0.26),
    # pembrolizumab: KEYNOTE-224 PFS 4.9 (3.4-7.2), OS 12.9 (9.7-15.5), 12-month OS 54% (44-63);
    # KEYNOTE-240 PFS 3.0 (2.8-4.1), OS 13.9 (11.6-16.0): the arm's typical study lies within their
    # span
    ("pfs", "median", "pembrolizumab"): (2.8, 7.2),
    ("os", "median", "pembrolizumab"): (9.7, 16.0),
    ("os", "landmark", "pembrolizumab | 12.0"): (0.44, 0.63),
}


@pytest.mark.slow
def test_hcc_example_runs_with_defaults_converges_and_agrees_with_the_papers(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(SPEC), "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    assert record["fast_mode"] is False and record["convergence_gate"] == "applied"
    assert record["converged"] == {"orr": True, "orr_by_drug": True, "pfs": True, "os": True}

    for (analysis, variable, label), (low, high) in PRINTED.items():
        table = pd.read_csv(out / "tables" / f"{analysis}__posterior.csv")
        row = table[(table["variable"] == variable) & (table["label"] == label)]
        assert len(row) == 1, (analysis, variable, label)
        assert low <= row["median"].item() <= high, (
            analysis,
            variable,
            label,
            row["median"].item(),
        )

    data = pd.read_csv(ROOT / "examples" / "hcc_pd1" / "response.csv").query("outcome == 'ORR'")
    observed = data["events"] / data["n"]
    for analysis in ("orr", "orr_by_drug"):
        table = pd.read_csv(out / "tables" / f"{analysis}__posterior.csv")
        pooled = table[table["variable"] == "pooled_rate"]["median"].item()
        assert observed.min() <= pooled <= observed.max(), (analysis, pooled)
    report = (out / "report.md").read_text()
    assert "All analyses passed the convergence gate" in report and "NOT CONVERGED" not in report
    # the drugs come from different studies: the hazard ratio is named a cross-study comparison
    assert report.count("each hazard ratio compares arms of different studies") == 2
