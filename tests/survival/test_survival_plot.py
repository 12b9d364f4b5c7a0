"""The survival-curve figure: observed Kaplan-Meier steps under the posterior band, the
extrapolated range shaded, legend and axis wording (issue 12 item 3, issue 18 item 3)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from bayes_anlo.frequentist.kaplan_meier import kaplan_meier
from bayes_anlo.report.survival_plots import endpoint_axis_label, survival_plot
from bayes_anlo.survival.simulate import PiecewiseExponentialTruth, simulate_patients

TRUTH = PiecewiseExponentialTruth((0.0, 6.0), (0.08, 0.05))


def band_from_truth(horizon: float, group: str = "") -> pd.DataFrame:
    """A band table shaped like the pipeline's (median curve = the true curve, +-0.05)."""
    time = np.linspace(0, horizon, 41)
    s = TRUTH.survival(time)
    return pd.DataFrame(
        {
            "group": group,
            "time": time,
            "typical_median": s,
            "typical_low": s - 0.05,
            "typical_high": s + 0.05,
            "new_study_median": s,
            "new_study_low": s - 0.1,
            "new_study_high": s + 0.1,
        }
    )


def reported(with_ci: bool) -> pd.DataFrame:
    nan = np.nan
    return pd.DataFrame(
        {
            "kind": ["median", "landmark"],
            "time": [10.0, 12.0],
            "time_low": [8.0 if with_ci else nan, nan],
            "time_high": [12.5 if with_ci else nan, nan],
            "survival": [0.5, 0.42],
            "survival_low": [nan, 0.3 if with_ci else nan],
            "survival_high": [nan, 0.55 if with_ci else nan],
            "label": ["A", "A"],
        }
    )


@pytest.fixture
def patients():
    return simulate_patients(
        np.random.default_rng(11), 120, TRUTH, accrual=12, followup=18, study="T"
    )


def test_observed_km_is_drawn_as_steps_under_the_band(patients):
    km = kaplan_meier(patients.time, patients.event).to_frame()
    table = pd.DataFrame({"group": "", "time": km["time"], "survival": km["survival"]})
    last = float(patients.time.max())
    fig = survival_plot(
        band_from_truth(36.0),
        reported(True),
        title="t",
        endpoint="OS",
        informed_until=last,
        observed_km=table,
    )
    ax = fig.axes[0]
    steps = [line for line in ax.get_lines() if line.get_label() == "Kaplan-Meier (data)"]
    assert len(steps) == 1
    x, y = steps[0].get_data()
    assert x[0] == 0 and y[0] == 1
    np.testing.assert_allclose(
        np.unique(y[1:]), np.unique(km["survival"])
    )  # the KM values themselves
    assert steps[0].get_drawstyle() == "steps-post"
    median_curve = [
        line for line in ax.get_lines() if line.get_label() == "posterior median curve"
    ][0]
    assert steps[0].get_zorder() < median_curve.get_zorder()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(
        label.startswith(f"after {last:.3g} months") and "extrapolated" in label for label in labels
    )
    assert "reported median (95% CI)" in labels and "reported landmark (95% CI)" in labels
    assert "alive" in ax.get_ylabel() and "event-free" not in ax.get_ylabel()
    plt.close(fig)


def test_arm_column_and_no_ci_wording(patients):
    km = kaplan_meier(patients.time, patients.event).to_frame()
    table = pd.DataFrame({"arm": "A", "time": km["time"], "survival": km["survival"]})
    band = pd.concat([band_from_truth(20.0, "A"), band_from_truth(20.0, "B")], ignore_index=True)
    fig = survival_plot(
        band, reported(False), title="t", endpoint="PFS", informed_until=25.0, observed_km=table
    )
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "reported median" in labels and "reported landmark" in labels
    assert not any("CI" in label for label in labels)
    assert not any(
        "extrapolated" in label for label in labels
    )  # the data reach past the plotted range
    assert "Kaplan-Meier (data)" in labels
    plt.close(fig)


def test_axis_labels_per_endpoint():
    assert endpoint_axis_label("os") == "overall survival (proportion alive)"
    assert "progression-free" in endpoint_axis_label("PFS")
    assert "TTP" in endpoint_axis_label("TTP")


def test_median_after_the_plotted_range_is_marked():
    band = band_from_truth(8.0)  # S(8) = 0.57 > 0.5: the median lies after the plotted range
    fig = survival_plot(band, reported(True), title="t", endpoint="OS", informed_until=8.0)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("median after 8 months (extrapolated)" in t for t in texts)
    plt.close(fig)
    fig = survival_plot(
        band_from_truth(30.0), reported(True), title="t", endpoint="OS", informed_until=30.0
    )
    assert not any("median after" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_reported_median_ci_past_the_horizon_is_not_cut():
    """A reported median CI reaching past the survival grid (OS 13.8 months, 95% CI 11.5-16.3, with
    a horizon of 13.9 months in the HCC example) was cut at the frame: the x-axis now reaches the
    end of
    every reported median's CI and every reported landmark."""
    rep = reported(True)
    rep.loc[rep["kind"] == "median", ["time", "time_low", "time_high"]] = [13.8, 11.5, 16.3]
    rep.loc[rep["kind"] == "landmark", "time"] = 15.0
    fig = survival_plot(band_from_truth(13.9), rep, title="t", endpoint="OS", informed_until=13.9)
    ax = fig.axes[0]
    assert ax.get_xlim()[1] >= 16.3
    whisker = [
        line
        for line in ax.get_lines()
        if np.allclose(line.get_ydata(), 0.5)
        and len(line.get_xdata()) == 2
        and np.allclose(line.get_xdata(), [11.5, 16.3])
    ]
    assert len(whisker) == 1
    plt.close(fig)
