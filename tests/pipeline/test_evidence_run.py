"""A spec with ``moderators`` runs end to end: meta-regression, LOO, publication figures, report."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from bayes_anlo.cli import app

CSV = """study,outcome,events,n,year,drug,source
S1,ORR,9,60,2015,anlotinib,synthetic test data
S2,ORR,11,55,2016,anlotinib,synthetic test data
S3,ORR,14,62,2017,anlotinib,synthetic test data
S4,ORR,12,48,2018,anlotinib + chemo,synthetic test data
S5,ORR,20,66,2019,anlotinib + chemo,synthetic test data
S6,ORR,25,70,2020,anlotinib,synthetic test data
S7,ORR,22,58,2021,anlotinib + chemo,synthetic test data
S8,ORR,31,72,2022,anlotinib + chemo,synthetic test data
"""

SPEC = """
[analysis]
name = "evidence_test"
title = "Synthetic response rates rising with the year"
description = "Eight synthetic studies."
seed = 5
figure_formats = ["png", "svg", "pdf"]

[data]
file = "studies.csv"

[sampler]
draws = 500
chains = 2

[[analyses]]
id = "orr"
title = "Synthetic ORR"
outcome = "ORR"
model = "beta_binomial"
method = "exact"
sensitivity = false
moderators = ["year"]
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from bayes_anlo.pipeline.run import run_spec

    base = tmp_path_factory.mktemp("evidence")
    (base / "studies.csv").write_text(CSV)
    (base / "spec.toml").write_text(SPEC)
    run_spec(base / "spec.toml", base / "out")
    return base / "out"


def test_moderators_add_meta_regression_loo_and_publication_figures(run):
    slopes = pd.read_csv(run / "tables" / "orr__meta_regression.csv")
    assert list(slopes["paradigm"]) == ["Bayesian", "frequentist"]
    assert (slopes["moderator"] == "year").all()
    assert (slopes["median"] > 0).all()  # rates rise with the year in both paradigms
    loo = pd.read_csv(run / "tables" / "orr__model_comparison.csv")
    models = set(loo["model"])  # the analysis's own fit is labelled as in the comparison table
    assert len(models) == 4 and {"meta-regression", "logit-normal", "complete-pooling"} < models
    assert any(m.startswith("beta-binomial") for m in models)
    for suffix in ("png", "svg", "pdf"):
        assert (run / "figures" / f"orr__publication_forest.{suffix}").stat().st_size > 0
    assert (run / "figures" / "orr__funnel.png").exists()
    report = (run / "report.md").read_text()
    for heading in ("Meta-regression", "Model comparison (LOO)", "Small-study effects"):
        assert heading in report
    assert "figures/orr__publication_forest.png" in report
    assert "Also as .svg and .pdf (figures/orr__publication_forest)" in report
    assert "Only 8 studies" in report


def test_a_moderator_missing_from_the_data_is_a_located_input_error(tmp_path):
    (tmp_path / "studies.csv").write_text(CSV)
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.replace('moderators = ["year"]', 'moderators = ["dose"]'))
    result = CliRunner().invoke(app, ["run", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no column 'dose'" in result.output
    assert "Traceback" not in result.output
