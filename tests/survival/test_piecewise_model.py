"""The piecewise-exponential model fitted to a mix of patient data, a reconstructed curve and
published summaries: the DataTree's layout, the run record and recovery of a known truth.

One NUTS fit (2 chains x 500 draws) shared by the module's tests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bayes_anlo import InputError
from bayes_anlo.data.survival import load_digitised_km
from bayes_anlo.models.piecewise_exponential import (
    PiecewiseExponential,
    cell_hazard_draws,
    notes_of,
)
from bayes_anlo.models.sampling import SamplerSettings
from bayes_anlo.survival import pwexp
from bayes_anlo.survival.guyot import reconstruct
from bayes_anlo.survival.simulate import (
    PiecewiseExponentialTruth,
    digitise,
    paper_summaries,
    simulate_patients,
)

CUTS = (0.0, 3.0, 6.0, 9.0, 12.0, 18.0, 24.0)
TRUTH = PiecewiseExponentialTruth(CUTS, (0.10, 0.14, 0.10, 0.08, 0.07, 0.06, 0.05))
SMALL = SamplerSettings(draws=500, tune=500, chains=2)


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(2024)
    a = simulate_patients(rng, 250, TRUTH, study="A", accrual=12, followup=18)
    b = simulate_patients(rng, 150, TRUTH, study="B", accrual=12, followup=18)
    c = paper_summaries(
        simulate_patients(rng, 90, TRUTH, study="C", accrual=12, followup=18), endpoint="PFS"
    )
    coords, risk = digitise(
        simulate_patients(rng, 120, TRUTH, study="D", accrual=12, followup=18),
        risk_times=np.arange(0, 31, 6),
        rng=rng,
        survival_noise=0.002,
    )
    d = reconstruct(load_digitised_km(coords, risk))
    model = PiecewiseExponential(
        CUTS, sampler=SMALL, times=(3, 6, 9, 12)
    )  # default cuts: test_time_grid.py
    fit = model.fit([a, b, c, d], random_seed=7)
    return fit, (a, b, c, d)


def expected_horizon(data) -> float:
    """Default horizon: the longest patient follow-up or the latest summary time (median, landmark,
    median follow-up), rounded down to 0.1 month."""
    a, b, c, d = data
    times = [a.time.max(), b.time.max(), d.ipd.time.max()]
    t = c.table
    times += list(t.loc[t["quantity"].isin(["median", "median_followup"]), "value"])
    times += list(t.loc[t["quantity"] == "landmark", "time"])
    return np.floor(10 * max(times)) / 10


def test_tree_groups_dims_and_variables(mixed):
    fit, data = mixed
    assert {
        "posterior",
        "sample_stats",
        "log_likelihood",
        "posterior_predictive",
        "observed_data",
        "constant_data",
    } <= set(fit.children)
    post = fit["posterior"]
    assert post["hazard"].dims == ("chain", "draw", "interval")
    assert post["survival"].dims == ("chain", "draw", "time")
    assert post["landmark"].dims == ("chain", "draw", "landmark_time")
    assert list(post["landmark_time"].values) == [3, 6, 9, 12]
    assert post["median"].dims == ("chain", "draw") and post["rmst"].dims == ("chain", "draw")
    assert post["study_hazard"].dims == ("chain", "draw", "study", "interval")
    assert list(post["study"].values) == [
        "A",
        "B",
        "D",
        "C",
    ]  # patient-level cells first, then summaries
    for name in (
        "predictive_survival",
        "predictive_median",
        "study_sd",
        "study_effect",
        "log_hazard",
    ):
        assert name in post
    assert post["time"].values[0] == 0 and post["time"].values[-1] == pytest.approx(
        expected_horizon(data)
    )
    for group in ("log_likelihood", "posterior_predictive"):
        assert set(fit[group].data_vars) == {"ipd_events", "km_summary", "events_after"}
        for name in fit[group].data_vars:
            assert fit[group][name].dims[2:] == fit["observed_data"][name].dims
    assert fit["sample_stats"]["diverging"].sum() <= 5


def test_run_record(mixed):
    fit, data = mixed
    attrs = fit.attrs
    assert attrs["model"] == "piecewise_exponential" and attrs["random_seed"] == 7
    assert json.loads(attrs["priors"])["log_hazard"] == {"dist": "normal", "mu": -2.5, "sigma": 2.0}
    assert json.loads(attrs["cuts"]) == list(CUTS)
    assert json.loads(attrs["sampler"])["draws"] == 500
    assert attrs["endpoint"] == "PFS"
    assert len(attrs["data_sha256"]) == 64 and "reconstructed from" in attrs["data_source"]
    assert isinstance(notes_of(fit), list)


def test_posterior_recovers_the_truth(mixed):
    fit, _ = mixed
    post = fit["posterior"]
    for t in (6, 12):
        draws = post["landmark"].sel(landmark_time=t).values.ravel()
        lo, hi = np.quantile(draws, [0.005, 0.995])
        assert lo < TRUTH.survival([t])[0] < hi
    med = post["median"].values.ravel()
    assert np.quantile(med, 0.005) < TRUTH.median() < np.quantile(med, 0.995)
    # derived quantities are the closed forms of the sampled hazards
    h = post["hazard"].values[0, :5]
    np.testing.assert_allclose(post["median"].values[0, :5], pwexp.median(h, CUTS))
    horizon = float(fit.attrs["horizon_used"])
    np.testing.assert_allclose(
        post["rmst"].values[0, :5], pwexp.restricted_mean(h, CUTS, [horizon])[:, 0]
    )
    # a new study is less certain than the population mean
    assert post["predictive_median"].std() > post["median"].std()
    # cell hazards of a study are its study effect on the baseline
    a = cell_hazard_draws(fit, "A")
    np.testing.assert_allclose(a, post["study_hazard"].sel(study="A").values)


def test_summary_only_fit_uses_cut_points_at_reported_times(tmp_path):
    rng = np.random.default_rng(5)
    s = paper_summaries(simulate_patients(rng, 80, TRUTH, study="S"), landmarks=(6.0, 12.0))
    model = PiecewiseExponential(hierarchical=False)
    inputs = model.prepare(s)
    np.testing.assert_allclose(inputs.cuts, [0, 6, 12])
    t = s.table
    latest = max(t.loc[t["quantity"].isin(["median", "median_followup"]), "value"].max(), 12.0)
    assert model.horizon_for(inputs) == pytest.approx(np.floor(10 * latest) / 10)
    assert model.smooth_for(inputs)  # summary-only fits are smoothed by default
    assert PiecewiseExponential(cuts=(0, 3, 6)).prepare(s).cuts.tolist() == [0, 3, 6]


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="start at 0"):
        PiecewiseExponential(cuts=(1, 2))
    with pytest.raises(ValueError, match="landmark"):
        PiecewiseExponential(times=(0, 6))
    with pytest.raises(TypeError):
        PiecewiseExponential().prepare("not data")
    with pytest.raises(InputError, match="needs patient data"):
        PiecewiseExponential(cuts="quantiles").prepare(
            paper_summaries(simulate_patients(np.random.default_rng(1), 40, TRUTH))
        )


def test_arm_and_subgroup_dims_from_synthetic_draws():
    """Derived quantities get leading arm/subgroup dims; checked on hand-made draws (no sampling)."""
    import pandas as pd
    import xarray as xr

    from bayes_anlo.data.survival import SurvivalData

    rng = np.random.default_rng(0)
    n = 120
    table = pd.DataFrame(
        {
            "study": "S",
            "arm": np.repeat(["ctl", "trt"], n // 2),
            "subgroup": np.tile(["x", "y", "z"], n // 3),
            "time": rng.exponential(8, n) + 0.1,
            "event": 1,
        }
    )
    model = PiecewiseExponential(CUTS, hierarchical=False)  # explicit: default cuts follow the data
    inputs = model.prepare(SurvivalData(table))
    chains, draws = 2, 3
    lh = rng.normal(-2.5, 0.2, (chains, draws, len(CUTS)))
    hr_arm = rng.normal(0, 0.3, (chains, draws, 1))
    hr_sub = rng.normal(0, 0.3, (chains, draws, 2))
    post = xr.Dataset(
        {
            "log_hazard": (("chain", "draw", "interval"), lh),
            "log_hr_arm": (("chain", "draw", "arm_contrast"), hr_arm),
            "log_hr_subgroup": (("chain", "draw", "subgroup_contrast"), hr_sub),
        },
        coords={"chain": range(chains), "draw": range(draws)},
    )
    groups = model.derive(post, inputs, seed=1)
    out = groups["posterior"]
    assert out["hazard"].dims == ("chain", "draw", "arm", "subgroup", "interval")
    assert out["median"].dims == ("chain", "draw", "arm", "subgroup")
    assert list(out["arm"].values) == ["ctl", "trt"] and list(out["subgroup"].values) == [
        "x",
        "y",
        "z",
    ]
    h = np.exp(lh[0, 1] + hr_arm[0, 1, 0] + hr_sub[0, 1, 1])
    np.testing.assert_allclose(out["hazard"].sel(arm="trt", subgroup="z").values[0, 1], h)
    np.testing.assert_allclose(
        out["median"].sel(arm="trt", subgroup="z").values[0, 1], pwexp.median(h, CUTS)
    )
    # complete pooling: the new-study prediction is the population
    np.testing.assert_allclose(out["predictive_median"].values, out["median"].values)
    assert groups["log_likelihood"]["ipd_events"].dims == ("chain", "draw", "ipd_cell")
