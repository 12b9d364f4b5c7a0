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
from typer.testing import CliRunner

from bayes_anlo.cli import app

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
DATASETS = json.loads((REFERENCE / "proportions_datasets.json").read_text())["datasets"]
POOLING = json.loads((REFERENCE / "proportions_pooling.json").read_text())["results"]
GLMM = json.loads((REFERENCE / "proportions_glmm.json").read_text())["results"]
KEYS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2")
#: method label in the JSON -> (transform, tau2 estimator) in the reference file
METHODS = {"PFT-DL": ("pft", "DL"), "PFT-REML": ("pft", "REML"), "PLO-DL": ("logit", "DL"), "PLO-REML": ("logit", "REML")}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_rates_json_reproduces_metafor(name, tmp_path):
    ds = DATASETS[name]
    path = tmp_path / f"{name}.csv"
    pd.DataFrame({"study": ds["study"], "outcome": "ORR", "events": ds["events"], "n": ds["n"]}).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["rates", str(path), "--outcome", "ORR", "--json", "--threshold", "0.2"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    by_method = {row["method"]: row for row in out["frequentist"]}
    for label, (transform, tau_method) in METHODS.items():
        ref = POOLING[name][transform][tau_method]
        for key in KEYS:
            assert np.isclose(by_method[label][key], ref[key], rtol=1e-4, atol=1e-10), (name, label, key)
    glmm_ref = GLMM[name]["default"]
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"):
        # rma.glmm's default lme4 convergence is itself only accurate to ~1e-5 (see test_glmm_logit.py)
        assert np.isclose(by_method["GLMM-ML"][key], glmm_ref[key], rtol=1e-4, atol=2e-5), (name, key)
    bayes = out["bayesian"]
    assert 0 < bayes["pooled_rate"]["ci_low"] < bayes["pooled_rate"]["median"] < bayes["pooled_rate"]["ci_high"] < 1
    assert {e["threshold"] for e in bayes["exceedance"]} == {0.2}
    assert len(bayes["study_rates"]) == len(ds["n"])
