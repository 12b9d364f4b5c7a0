"""Default cut points and horizon from the data's follow-up (issue 12 item 3, issue 18 item 3), the
automatic refit before the convergence gate fails, and the extrapolation flags. No sampling here:
the model's fits are replaced by hand-made stand-ins where a fit is needed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_anlo.data.survival import SurvivalData, load_summaries
from bayes_anlo.models.piecewise_exponential import (
    PiecewiseExponential,
    annotate_time,
    default_time_grid,
    extrapolation_flags,
    fit_attempts,
    fit_with_retry,
    retry_note,
    time_notes,
)
from bayes_anlo.models.sampling import SamplerSettings
from bayes_anlo.survival.simulate import (
    PiecewiseExponentialTruth,
    paper_summaries,
    simulate_patients,
)
from bayes_anlo.survival.time_grid import (
    MIN_EVENTS_PER_INTERVAL,
    patient_time_grid,
    summary_time_grid,
)

SPARSE = Path(__file__).parent / "files" / "sparse_summaries.csv"


def long_follow_up(seed: int = 3, n: int = 400) -> SurvivalData:
    """A trial followed for about 9 years (as R's `colon`: 109 months)."""
    rng = np.random.default_rng(seed)
    truth = PiecewiseExponentialTruth((0.0, 12.0, 36.0), (0.04, 0.02, 0.01))
    return simulate_patients(rng, n, truth, accrual=24, followup=85, study="long")


def test_patient_grid_follows_the_follow_up_and_every_interval_holds_events():
    data = long_follow_up()
    grid = patient_time_grid(data.time, data.event)
    last = float(data.time.max())
    assert grid.informed_until == pytest.approx(last)
    assert last - 0.1 <= grid.horizon <= last  # not the old 36 months
    assert grid.cuts[-1] > 24 and grid.cuts[-1] < last  # hazard may change after 24 months
    # each interval, the open last one included, holds enough events (counted here directly)
    upper = np.append(grid.cuts[1:], np.inf)
    event_times = data.time[data.event == 1]
    for lo, hi in zip(grid.cuts, upper, strict=True):
        assert np.sum((event_times > lo) & (event_times <= hi)) >= MIN_EVENTS_PER_INTERVAL


def test_patient_grid_merges_sparse_intervals():
    time = np.array([1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16, 30.0] * 2)
    event = np.ones_like(time, dtype=int)
    grid = patient_time_grid(time, event, min_events=8)
    counts = [
        np.sum((time > lo) & (time <= hi))
        for lo, hi in zip(grid.cuts, np.append(grid.cuts[1:], np.inf), strict=True)
    ]
    assert min(counts) >= 8 and sum(counts) == time.size
    assert grid.cuts[0] == 0 and len(grid.cuts) < 7


def test_summary_grid_drops_a_landmark_cut_nothing_reaches_beyond():
    # medians below 12 and a 12-month landmark: the interval after 12 would be prior only
    grid = summary_time_grid(
        [0.0, 12.0], median_months=[9.8, 8.7], landmark_months=[12, 12, 12], followup_months=[]
    )
    assert grid.cuts.tolist() == [0.0] and grid.informed_until == 12 and grid.horizon == 12
    # events observed over an 18-month median follow-up inform the time after 12 months
    grid = summary_time_grid(
        [0.0, 12.0], median_months=[9.8], landmark_months=[12], followup_months=[18.0]
    )
    assert grid.cuts.tolist() == [0.0, 12.0] and grid.informed_until == 18


def test_sparse_summaries_of_the_issue_get_an_informed_grid():
    summaries = load_summaries(SPARSE)
    os_grid = default_time_grid(summaries, endpoint="OS")
    assert os_grid.cuts.tolist() == [0.0] and os_grid.horizon == 12.0
    pfs_grid = default_time_grid(summaries, endpoint="PFS")
    assert pfs_grid.informed_until == pytest.approx(7.3) and pfs_grid.horizon == pytest.approx(7.3)
    model = PiecewiseExponential(endpoint="OS")
    inputs = model.prepare(summaries)
    assert model.smooth_for(inputs) and model.horizon_for(inputs) == 12.0
    assert not PiecewiseExponential(smooth=False).smooth_for(inputs)
    # with patient data, smoothing stays off by default
    assert not PiecewiseExponential().smooth_for(
        PiecewiseExponential().prepare(long_follow_up(n=60))
    )


def test_summaries_with_events_and_follow_up_reach_the_follow_up():
    rng = np.random.default_rng(5)
    truth = PiecewiseExponentialTruth((0.0,), (0.05,))
    s = paper_summaries(simulate_patients(rng, 80, truth, study="S"), landmarks=(6.0, 12.0))
    t = s.table.set_index("quantity")
    grid = default_time_grid(s)
    expected = max(float(t.loc["median", "value"]), 12.0, float(t.loc["median_followup", "value"]))
    assert grid.informed_until == pytest.approx(expected)
    assert grid.cuts.tolist() == [0.0, 6.0, 12.0]


class _StubModel:
    """Stands in for PiecewiseExponential: fit returns an empty tree, records target_accept."""

    def __init__(self, sampler):
        self.sampler = sampler
        self.seen = []

    def prepare(self, data):
        return data

    def fit(self, data, random_seed=0):
        tree = xr.DataTree()
        tree.attrs["target_accept"] = self.sampler.target_accept
        self.seen.append(random_seed)
        return tree


def test_retry_raises_target_accept_until_the_gate_passes():
    model = _StubModel(SamplerSettings(target_accept=0.9))

    def gate(tree):
        ok = tree.attrs["target_accept"] >= 0.95
        return ok, [] if ok else ["3 divergent transition(s)"]

    tree = fit_with_retry(model, object(), 1, gate)
    attempts = fit_attempts(tree)
    assert [a["target_accept"] for a in attempts] == [0.9, 0.95]
    assert [a["converged"] for a in attempts] == [False, True]
    assert model.sampler.target_accept == 0.9  # the caller's model is not changed
    assert model.seen == [1, 1]  # the refit (on a shallow copy) used the same seed
    note = retry_note(tree)
    assert "target_accept 0.95" in note and "passed" in note and "3 divergent" in note

    never = fit_with_retry(model, object(), 1, lambda tree: (False, ["R-hat"]))
    assert [a["target_accept"] for a in fit_attempts(never)] == [0.9, 0.95, 0.99]
    assert [a["draws"] for a in fit_attempts(never)] == [
        1000,
        1000,
        2000,
    ]  # the last refit is longer
    assert [a["tune"] for a in fit_attempts(never)] == [1000, 1000, 2000]
    assert "still failed" in retry_note(never)
    first_time = fit_with_retry(model, object(), 1, lambda tree: (True, []))
    assert len(fit_attempts(first_time)) == 1 and retry_note(first_time) is None


def _tree(informed: float, horizon: float, options: dict | None = None) -> xr.DataTree:
    tree = xr.DataTree()
    tree.attrs.update(
        {
            "informed_until": informed,
            "horizon_used": horizon,
            "time_grid_basis": "test",
            "options": json.dumps(options or {"horizon": None, "smooth": True}),
        }
    )
    return tree


def test_extrapolation_flags_in_posterior_and_comparison_tables():
    tree = _tree(24.0, 30.0)
    posterior = pd.DataFrame(
        {
            "variable": [
                "median",
                "median",
                "predictive_median",
                "landmark",
                "landmark",
                "rmst",
                "hazard",
            ],
            "label": ["", "arm B", "", "12.0", "arm B | 36.0", "", "0-3"],
            "median": [101.0, 14.0, 20.0, 0.5, 0.3, 20.0, 0.1],
            "ci_low": [50.0, 10.0, 8.0, 0.4, 0.2, 18.0, 0.05],
            "ci_high": [300.0, 19.0, 40.0, 0.6, 0.4, 22.0, 0.2],
        }
    )
    flags = extrapolation_flags(posterior, tree)
    assert flags.str.startswith("extrapolated").tolist() == [
        True,
        False,
        False,
        False,
        True,
        True,
        False,
    ]
    assert flags[2].startswith("upper limit extrapolated") and flags[1] == ""
    comparison = pd.DataFrame(
        {
            "quantity": ["median (months)", "median (months)", "survival at 36 months"],
            "source": ["posterior, typical study", "reported: A", "posterior, typical study"],
            "estimate": [101.0, 101.0, 0.3],
            "ci_low": [50, 80, 0.2],
            "ci_high": [300, 120, 0.4],
        }
    )
    assert extrapolation_flags(comparison, tree).str.startswith("extrapolated").tolist() == [
        True,
        False,
        True,
    ]


def test_time_notes_state_the_horizon():
    notes = time_notes(_tree(12.0, 12.0))
    assert "run to 12 months" in notes[0] and "default" in notes[0]
    assert any("up to 12 months" in n for n in notes) and any("random walk" in n for n in notes)
    assert "set in the spec" in time_notes(_tree(12.0, 36.0, {"horizon": 36.0}))[0]


def test_rmst_rows_state_the_horizon():
    table = pd.DataFrame(
        {
            "variable": ["rmst", "rmst", "median"],
            "label": ["", "arm B", ""],
            "median": [9.0, 8.0, 10.0],
            "ci_low": [8, 7, 9],
            "ci_high": [10, 9, 11],
        }
    )
    out = annotate_time(table, _tree(12.0, 12.0))
    assert out["label"].tolist() == ["to 12 months", "arm B | to 12 months", ""]
    assert (out["beyond_data"] == "").all()
    assert annotate_time(table, _tree(12.0, 36.0))["beyond_data"].str.startswith(
        "extrapolated"
    ).tolist() == [True, True, False]
