"""The evidence steps add forest, diagnostics, meta-regression and LOO tables to a result."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bayes_anlo import frequentist as fq
from bayes_anlo.models import BetaBinomial, SamplerSettings
from bayes_anlo.pipeline import evidence_steps
from bayes_anlo.report.canvas import built
from tests.models._data import FAST_NUTS, make_binary
from tests.models.test_meta_regression import EVENTS, YEAR, N

EXACT = SamplerSettings(draws=1000, chains=2)
DRUGS = ["anlotinib"] * 4 + ["anlotinib + chemo"] * 4
LINES = ["first", "second"] * 4


def new_result():
    return SimpleNamespace(tables={}, figures={}, notes=[])


@pytest.fixture(scope="module")
def data():
    return make_binary(EVENTS, N, year=[str(y) for y in YEAR], drug=DRUGS, line=LINES)


@pytest.fixture(scope="module")
def fit(data):
    return BetaBinomial(method="exact", sampler=EXACT).fit(data, random_seed=1)


def test_publication_forest_prints_label_columns_and_both_paradigms(data, fit):
    result = new_result()
    freq = [fq.pool_proportions(data, transform="logit", method="REML")]
    evidence_steps.add_publication_forest(
        result, data, fit, freq, model_label="beta-binomial", title="ORR"
    )
    table = result.tables["forest_table"]
    assert list(table.loc[table["kind"] == "pooled", "paradigm"]) == ["frequentist", "Bayesian"]
    assert list(table.loc[table["kind"] == "study", "drug"]) == DRUGS
    texts = [t.get_text() for t in built(result.figures["publication_forest"]).texts]
    assert "Drug" in texts and "Line" in texts and "anlotinib + chemo" in texts


def test_subgroup_forest_has_a_block_per_level(data, fit):
    result = new_result()
    sub = fq.subgroup_analysis(data, "line", transform="logit", method="REML")
    freq = [fq.pool_proportions(data, transform="logit", method="REML")]
    evidence_steps.add_publication_forest(
        result, data, fit, freq, model_label="bb", title="ORR", subgroups=sub, by="line"
    )
    headers = result.tables["forest_table"].query("kind == 'header'")["label"].tolist()
    assert headers == ["first", "second", "Overall"]


def test_small_study_diagnostics_carry_the_small_k_caveat(data):
    result = new_result()
    evidence_steps.add_small_study_diagnostics(result, data, title="ORR")
    assert set(result.tables) == {"small_study", "influence", "trim_and_fill"}
    assert set(result.figures) == {"funnel", "baujat"}
    assert list(result.tables["small_study"]["predictor"]) == ["sei", "ninv"]
    assert any("fewer than 10 studies" in note for note in result.notes)


def test_meta_regression_and_loo_tables(data, fit):
    result = new_result()
    mr = evidence_steps.add_meta_regression(result, data, ["year"], sampler=FAST_NUTS, seed=7)
    table = result.tables["meta_regression"].set_index("paradigm")
    bayes, freq = table.loc["Bayesian"], table.loc["frequentist"]
    assert bayes["moderator"] == freq["moderator"] == "year"
    assert abs(bayes["median"] - freq["median"]) < 0.02  # per year, both about 0.2
    assert 0.5 < bayes["prob_positive"] <= 1
    evidence_steps.add_model_comparison(
        result, data, {"beta-binomial": fit, "meta-regression": mr}, sampler=EXACT, seed=3
    )
    loo = result.tables["model_comparison"]
    assert sorted(loo["model"]) == sorted(
        ["beta-binomial", "meta-regression", "logit-normal", "complete-pooling"]
    )
    assert np.isfinite(loo["elpd_loo"]).all()
    assert any("Only 8 studies" in note for note in result.notes)


def test_survival_forest_shows_study_medians_landmarks_and_the_bayesian_row():
    import xarray as xr

    from bayes_anlo.datasets import load

    summaries = load("sarcoma_literature_survival")
    overall = summaries[summaries["subgroup"].astype(str).str.startswith("overall")]
    rng = np.random.default_rng(0)
    median = rng.normal(6.0, 0.5, size=(2, 500))
    landmark = rng.beta(60, 30, size=(2, 500, 2))
    posterior = xr.Dataset(
        {
            "median": (("chain", "draw"), median),
            "landmark": (("chain", "draw", "landmark_time"), landmark),
        },
        coords={"landmark_time": [2.7598, 6.0]},
    )
    tree = xr.DataTree.from_dict({"posterior": posterior})
    result = new_result()
    evidence_steps.add_survival_forest(result, overall, tree, endpoint="PFS", title="PFS")
    table = result.tables["survival_forest_table"]
    # 12 weeks (2.76 months) is the landmark most studies report for PFS
    assert evidence_steps.common_landmark_time(overall, "PFS") == pytest.approx(2.76)
    bayes = table[table["kind"] == "pooled"].iloc[0]
    assert bayes["estimate"] == pytest.approx(np.median(median))
    assert bayes["landmark_estimate"] == pytest.approx(np.median(landmark[..., 0]))
    chi = table[table["label"] == "S01_Chi2018"].iloc[0]
    assert chi["estimate"] == 5.6 and chi["landmark_estimate"] == pytest.approx(0.68)
    assert len(built(result.figures["survival_forest"]).axes) == 2
