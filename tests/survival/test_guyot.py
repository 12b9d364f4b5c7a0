"""Guyot reconstruction: simulate patients, compute their true Kaplan-Meier curve, digitise it
like a reader would (corners of every drop, rounding and small noise) with a risk table at
regular times, reconstruct, and compare the reconstructed KM with the true one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_anlo.data.survival import load_digitised_km
from bayes_anlo.frequentist.kaplan_meier import kaplan_meier
from bayes_anlo.survival.guyot import reconstruct, reconstruct_curve
from bayes_anlo.survival.simulate import (
    PiecewiseExponentialTruth,
    WeibullTruth,
    digitise,
    simulate_patients,
)


def true_vs_reconstructed(data, ipd_time, ipd_event, grid_points=3000, min_at_risk=0):
    """Largest |true KM - reconstructed KM| over a fine grid (where >= min_at_risk are at risk)."""
    true = kaplan_meier(data.time, data.event)
    rec = kaplan_meier(ipd_time, ipd_event)
    grid = np.linspace(0, data.time.max(), grid_points)
    at_risk = (data.time[None, :] >= grid[:, None]).sum(axis=1)
    gap = np.abs(true.step(grid) - rec.step(grid))[at_risk >= min_at_risk]
    return gap.max(), true, rec


SCENARIOS = {
    # name: (truth, trial design, n, patients at risk from which the 0.02 bound applies)
    "exponential": (
        PiecewiseExponentialTruth((0,), (0.1,)),
        {"accrual": 12, "followup": 12},
        200,
        0,
    ),
    # plateau at ~40% from ~15 months with many patients at risk
    "cure_fraction_flat_tail": (
        PiecewiseExponentialTruth((0, 6), (0.2, 0.08), cure_fraction=0.4),
        {"accrual": 24, "followup": 36},
        300,
        0,
    ),
    # events in the first 10 months, then almost none while everyone is censored between 10 and 30
    "heavy_late_censoring": (
        PiecewiseExponentialTruth((0, 10), (0.12, 0.002)),
        {"accrual": 20, "followup": 10},
        150,
        0,
    ),
    # the curve runs down to a handful of patients; the bound applies while >= 10 are at risk
    "weibull_with_dropout": (
        WeibullTruth(1.5, 8.0),
        {"accrual": 12, "followup": 12, "dropout_rate": 0.03},
        150,
        10,
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("noise", [0.0, 0.002])
def test_reconstructed_km_matches_the_true_km(tmp_path, name, noise):
    truth, design, n, min_at_risk = SCENARIOS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    data = simulate_patients(rng, n, truth, **design)
    coords, risk = digitise(data, risk_times=np.arange(0, 61, 6), rng=rng, survival_noise=noise)
    coords.to_csv(tmp_path / "coords.csv", index=False)
    risk.to_csv(tmp_path / "risk.csv", index=False)
    km = load_digitised_km(tmp_path / "coords.csv", tmp_path / "risk.csv")
    true_median = kaplan_meier(data.time, data.event).median().estimate
    rec = reconstruct(km, printed_medians={("sim", ""): true_median})
    gap, true, rec_km = true_vs_reconstructed(
        data, rec.ipd.time, rec.ipd.event, min_at_risk=min_at_risk
    )
    assert gap < 0.02
    assert true_vs_reconstructed(data, rec.ipd.time, rec.ipd.event)[0] < 0.05
    diag = rec.diagnostics.iloc[0]
    assert diag["n_patients"] == n
    assert abs(diag["events"] - data.event.sum()) <= max(3, 0.05 * data.event.sum())
    assert diag["max_abs_diff"] < 0.02 and diag["rmse"] < 0.01
    assert diag["risk_table_mismatch"] <= 1
    assert abs(diag["median_diff"]) < 0.5  # months
    # numbers at risk of the pseudo-patients agree with the printed table
    printed = risk[risk["time"] <= data.time.max()]
    at_risk = (rec.ipd.time[None, :] >= printed["time"].to_numpy()[:, None]).sum(axis=1)
    assert np.abs(at_risk - printed["n_risk"].to_numpy()).max() <= 1


def test_flat_tail_and_heavy_late_censoring_get_no_invented_deaths():
    for name in ("cure_fraction_flat_tail", "heavy_late_censoring"):
        truth, design, n, _ = SCENARIOS[name]
        rng = np.random.default_rng(21)
        data = simulate_patients(rng, n, truth, **design)
        coords, risk = digitise(data, risk_times=np.arange(0, 61, 6), rng=rng, survival_noise=0.0)
        fit = reconstruct_curve(coords["time"], coords["survival"], risk["time"], risk["n_risk"])
        last_drop = data.time[data.event == 1].max()
        assert fit.time[fit.event == 1].max() <= last_drop + 1e-9
        # the plateau level after the last drop is reproduced
        true_tail = kaplan_meier(data.time, data.event).survival[-1]
        rec_tail = kaplan_meier(fit.time, fit.event).survival[-1]
        assert rec_tail == pytest.approx(true_tail, abs=0.01)
        # most of the tail's patients are censored, as in the data
        assert (fit.event == 0).sum() == pytest.approx((data.event == 0).sum(), abs=3)


def test_without_a_risk_table_total_events_are_matched():
    rng = np.random.default_rng(8)
    data = simulate_patients(rng, 120, WeibullTruth(1.2, 10.0), accrual=18, followup=6)
    coords, _ = digitise(data, risk_times=[0], rng=rng)
    d_true = int(data.event.sum())
    fit = reconstruct_curve(coords["time"], coords["survival"], n_patients=120, total_events=d_true)
    assert fit.event.sum() == pytest.approx(d_true, abs=1)
    gap, *_ = true_vs_reconstructed(data, fit.time, fit.event)
    assert gap < 0.05
    # without totals nobody is censored before the end: more deaths than the truth (documented)
    naive = reconstruct_curve(coords["time"], coords["survival"], n_patients=120)
    assert naive.event.sum() >= fit.event.sum()
    assert naive.diagnostics["events"] == naive.event.sum()


def test_total_events_with_a_risk_table_fix_the_last_interval():
    rng = np.random.default_rng(13)
    data = simulate_patients(rng, 200, WeibullTruth(1.0, 12.0), accrual=12, followup=12)
    coords, risk = digitise(data, risk_times=[0, 6, 12], rng=rng)
    d_true = int(data.event.sum())
    fit = reconstruct_curve(
        coords["time"], coords["survival"], risk["time"], risk["n_risk"], total_events=d_true
    )
    assert fit.event.sum() == pytest.approx(d_true, abs=1)


def test_reconstruction_feeds_the_same_container_as_patient_data(tmp_path):
    rng = np.random.default_rng(1)
    frames = []
    risks = []
    for arm, scale in (("a", 8.0), ("b", 14.0)):
        data = simulate_patients(rng, 80, WeibullTruth(1.3, scale), arm=arm, study="S")
        c, r = digitise(data, risk_times=np.arange(0, 37, 6), rng=rng, arm=arm)
        frames.append(c)
        risks.append(r)
    km = load_digitised_km(pd.concat(frames), pd.concat(risks))
    rec = reconstruct(km)
    assert rec.ipd.arms == ["a", "b"]
    assert len(rec.ipd) == 160
    assert rec.sha256 == rec.ipd.sha256 and len(rec.to_frame()) == 2
