"""Regression for issue 12 item 3: survival from sparse published summaries (three single-arm
studies, median PFS/OS and a 12-month OS landmark; tests/survival/files/sparse_summaries.csv,
synthetic numbers shaped like the issue's trial). Before the fix, with default settings, PFS and
OS failed the convergence gate and the OS hazard after the 12-month landmark was the prior's
(95% CrI 0.0017 to 4.3 per month), so the curve fell towards 0 in the month after it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_anlo.data.survival import load_summaries
from bayes_anlo.models.piecewise_exponential import PiecewiseExponential
from bayes_anlo.models.sampling import SamplerSettings
from bayes_anlo.survival import pwexp

SPARSE = Path(__file__).parent / "files" / "sparse_summaries.csv"
SMALL = SamplerSettings(draws=300, tune=400, chains=2, target_accept=0.95)


@pytest.fixture(scope="module")
def os_fit():
    # a horizon past the data on purpose: the curve after 12 months must not be the prior's
    model = PiecewiseExponential(endpoint="OS", horizon=24.0, sampler=SMALL)
    return model.fit(load_summaries(SPARSE), random_seed=3)


def test_defaults_give_an_informed_smoothed_grid(os_fit):
    attrs = os_fit.attrs
    assert attrs["cuts"] == "[0.0]"  # no interval after the 12-month landmark that nothing reaches
    assert float(attrs["informed_until"]) == 12.0 and float(attrs["horizon_used"]) == 24.0
    assert '"smooth": true' in attrs["options"]


def test_curve_after_the_last_landmark_continues_the_informed_hazard(os_fit):
    post = os_fit["posterior"]
    hazard = post["hazard"].values.reshape(-1, post.sizes["interval"])
    cuts = np.asarray(json.loads(os_fit.attrs["cuts"]))
    s12, s13 = pwexp.survival(hazard, cuts, [12.0, 13.0]).T
    one_month = s13 / s12
    # the reported 12-month OS (0.38 to 0.60) is reproduced, and a month later most are alive
    assert 0.3 < np.median(s12) < 0.6
    assert np.quantile(one_month, 0.025) > 0.8
    # the extrapolated range is flagged in the posterior tables
    from bayes_anlo.models.piecewise_exponential import extrapolation_flags
    from bayes_anlo.report import tables

    table = tables.summarise_variable(post.to_dataset(), "landmark")
    table["variable"] = "landmark"
    flags = extrapolation_flags(table, os_fit)
    assert (flags != "").sum() == 0  # default landmarks 3-12 months are all within the data
    table = pd.DataFrame({"variable": ["rmst"], "label": [""], "median": [10.0], "ci_high": [12.0]})
    assert extrapolation_flags(table, os_fit).iloc[0].startswith("extrapolated")  # RMST to 24 > 12


@pytest.mark.slow
def test_default_run_converges_and_states_the_horizon(tmp_path):
    """The issue's set-up with the spec's defaults (4 chains x 1000 draws, automatic refits) passes
    the convergence gate for PFS and OS (exit 0, not 3). Several minutes on a busy machine."""
    from bayes_anlo.pipeline.run import run_spec

    spec = tmp_path / "sparse.toml"
    spec.write_text(f'''[analysis]
name = "sparse"
title = "Sparse summaries"
seed = 1

[data]
file = "{SPARSE.as_posix()}"

[[analyses]]
id = "pfs"
title = "PFS"
model = "piecewise_exponential"
endpoint = "PFS"

[[analyses]]
id = "os"
title = "OS"
model = "piecewise_exponential"
endpoint = "OS"
''')
    outcome = run_spec(spec, tmp_path / "run")
    assert outcome.converged, outcome.unconverged
    report = (tmp_path / "run" / "report.md").read_text()
    assert "NOT CONVERGED" not in report, report[:2000]
    assert "run to 12 months" in report and "run to 7.3 months" in report
    posterior = pd.read_csv(tmp_path / "run" / "tables" / "pfs__posterior.csv")
    flagged = posterior.loc[posterior["variable"] == "landmark", "beyond_data"].fillna("")
    assert flagged.str.startswith("extrapolated").tolist() == [
        False,
        False,
        True,
        True,
    ]  # 9 and 12 > 7.3
