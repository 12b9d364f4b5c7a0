"""Closed forms of the piecewise-exponential distribution and the collapse to events/exposure,
checked against quadrature, root finding, brute-force loops and simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, optimize, stats

from bayes_anlo.data.survival import SurvivalData
from bayes_anlo.survival import pwexp
from bayes_anlo.survival.collapse import DEFAULT_CUTS, collapse, interval_labels, quantile_cuts

CUTS = np.array([0.0, 3.0, 6.0, 9.0, 12.0, 18.0, 24.0])
HAZ = np.array(
    [[0.12, 0.20, 0.05, 0.30, 0.02, 0.08, 0.04], [0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06]]
)


def hazard_fn(h):
    return lambda t: h[np.searchsorted(CUTS, t, side="right") - 1]


def surv_quad(h, t):
    return np.exp(-integrate.quad(hazard_fn(h), 0, t, points=CUTS[1:], limit=200)[0])


@pytest.mark.parametrize("row", [0, 1])
def test_survival_median_and_rmst_match_quadrature(row):
    h = HAZ[row]
    times = [0.0, 1.0, 3.0, 7.5, 12.0, 20.0, 40.0]
    np.testing.assert_allclose(
        pwexp.survival(h, CUTS, times), [surv_quad(h, t) for t in times], rtol=1e-10
    )
    med = optimize.brentq(lambda t: surv_quad(h, t) - 0.5, 1e-6, 500, xtol=1e-12)
    assert pwexp.median(h, CUTS) == pytest.approx(med, rel=1e-9)
    q25 = optimize.brentq(lambda t: surv_quad(h, t) - 0.75, 1e-6, 500, xtol=1e-12)
    assert pwexp.quantile_time(h, CUTS, 0.25) == pytest.approx(q25, rel=1e-9)
    for tau in (5.0, 20.0, 36.0):
        expected = integrate.quad(lambda t: surv_quad(h, t), 0, tau, points=CUTS[1:], limit=200)[0]
        assert pwexp.restricted_mean(h, CUTS, [tau])[0] == pytest.approx(expected, rel=1e-8)


def test_follow_up_averages_match_monte_carlo():
    rng = np.random.default_rng(11)
    h = HAZ[0]
    low, mid, high = 10.0, 16.0, 30.0
    n = 400_000
    c = np.where(rng.random(n) < 0.5, rng.uniform(low, mid, n), rng.uniform(mid, high, n))
    s = pwexp.survival(h, CUTS, c)
    got = pwexp.mean_survival_over(h, CUTS, low, mid, high)
    assert got == pytest.approx(s.mean(), abs=4 * s.std() / np.sqrt(n))
    start = 13.0
    keep = c > start
    ratio = s[keep] / pwexp.survival(h, CUTS, [start])[0]
    got = pwexp.conditional_mean_survival(h, CUTS, start, low, mid, high)
    assert got == pytest.approx(ratio.mean(), abs=4 * ratio.std() / np.sqrt(keep.sum()))


def test_numpy_and_pytensor_versions_agree():
    x = pt.matrix("x")
    h = pt.exp(x)
    f = pytensor.function(
        [x],
        [
            pwexp.median(h, CUTS, pt),
            pwexp.survival(h, CUTS, [4.0, 13.0], pt),
            pwexp.restricted_mean(h, CUTS, [30.0], pt),
            pwexp.conditional_mean_survival(h, CUTS, 2.0, 1.0, 12.0, 20.0, pt),
        ],
    )
    out = f(np.log(HAZ))
    np.testing.assert_allclose(out[0], pwexp.median(HAZ, CUTS), rtol=1e-12)
    np.testing.assert_allclose(out[1], pwexp.survival(HAZ, CUTS, [4.0, 13.0]), rtol=1e-12)
    np.testing.assert_allclose(out[2], pwexp.restricted_mean(HAZ, CUTS, [30.0]), rtol=1e-12)
    np.testing.assert_allclose(
        out[3], pwexp.conditional_mean_survival(HAZ, CUTS, 2.0, 1.0, 12.0, 20.0), rtol=1e-12
    )


def test_simulated_times_follow_the_distribution():
    rng = np.random.default_rng(5)
    h = HAZ[0]
    t = pwexp.simulate_times(rng, h, CUTS, 20_000)
    cdf = lambda x: 1 - pwexp.survival(h, CUTS, np.atleast_1d(x))  # noqa: E731
    assert stats.kstest(t, cdf).pvalue > 0.01


def test_collapse_matches_a_patient_by_patient_loop():
    rng = np.random.default_rng(2)
    n = 500
    table = pd.DataFrame(
        {
            "study": rng.choice(["A", "B"], n),
            "arm": rng.choice(["x", "y"], n),
            "subgroup": "",
            "time": np.round(rng.exponential(10, n), 1) + 0.1,
            "event": rng.integers(0, 2, n),
        }
    )
    table.loc[0, "time"] = 3.0  # an event exactly at a cut belongs to the interval ending there
    table.loc[0, "event"] = 1
    data = SurvivalData(table)
    col = collapse(data, CUTS)
    upper = np.append(CUTS[1:], np.inf)
    for g, (study, arm, _) in enumerate(col.groups.itertuples(index=False, name=None)):
        part = table[(table["study"] == study) & (table["arm"] == arm)]
        events = np.zeros(CUTS.size)
        exposure = np.zeros(CUTS.size)
        for t, e in zip(part["time"], part["event"], strict=True):
            for k in range(CUTS.size):
                exposure[k] += max(0.0, min(t, upper[k]) - CUTS[k])
                if e and CUTS[k] < t <= upper[k]:
                    events[k] += 1
        np.testing.assert_allclose(col.events[g], events)
        np.testing.assert_allclose(col.exposure[g], exposure, rtol=1e-12)
        assert col.n_patients[g] == len(part)
    assert (
        col.events[
            col.groups.index[
                (col.groups["study"] == table.loc[0, "study"])
                & (col.groups["arm"] == table.loc[0, "arm"])
            ][0],
            0,
        ]
        >= 1
    )
    frame = col.to_frame()
    assert len(frame) == len(col.groups) * CUTS.size
    assert frame["interval"].tolist()[: CUTS.size] == interval_labels(CUTS)


def test_poisson_on_collapsed_data_equals_the_exponential_likelihood_up_to_a_constant():
    rng = np.random.default_rng(9)
    t = rng.exponential(8, 300) + 0.01
    e = rng.integers(0, 2, 300)
    data = SurvivalData(
        pd.DataFrame({"study": "s", "arm": "", "subgroup": "", "time": t, "event": e})
    )
    col = collapse(data, CUTS)
    k = np.searchsorted(CUTS, t, side="left") - 1

    def exact(h):  # sum_i [d_i log h(t_i) - H(t_i)]
        return np.sum(e * np.log(h[k])) - np.sum(pwexp.cumulative_hazard(h, CUTS, t))

    def poisson(h):
        return stats.poisson.logpmf(col.events[0], h * col.exposure[0]).sum()

    diffs = [exact(h) - poisson(h) for h in HAZ]
    assert diffs[0] == pytest.approx(diffs[1], rel=1e-10)


def test_quantile_cuts_split_events_evenly():
    rng = np.random.default_rng(4)
    t = rng.exponential(10, 2000) + 0.01
    data = SurvivalData(
        pd.DataFrame({"study": "s", "arm": "", "subgroup": "", "time": t, "event": 1})
    )
    cuts = quantile_cuts(data, 4)
    counts = collapse(data, cuts).events[0]
    assert cuts[0] == 0 and cuts.size == 4
    assert counts.min() > 0.22 * t.size
    assert tuple(DEFAULT_CUTS) == (0, 3, 6, 9, 12, 18, 24)


def test_summary_cuts_end_intervals_at_reported_landmarks():
    from bayes_anlo.data.survival import load_summaries
    from bayes_anlo.survival.collapse import summary_cuts

    frame = pd.DataFrame(
        {
            "study": ["A", "A", "B", "B", "C"],
            "endpoint": "PFS",
            "quantity": ["landmark", "landmark", "landmark", "median", "landmark"],
            "value": ["0.7", "0.4", "0.72", "6", "0.5"],
            "ci_low": ["", "", "", "5", ""],
            "ci_high": ["", "", "", "7", ""],
            "time": ["2.7598", "12", "3", "", "6"],
            "unit": ["", "", "", "months", ""],
        }
    )
    # 12 weeks (2.76 months) and 3 months are closer than half a month: one cut
    np.testing.assert_allclose(summary_cuts(load_summaries(frame)), [0.0, 2.8, 6.0, 12.0])
    only_median = load_summaries(frame[frame["quantity"] == "median"])
    np.testing.assert_allclose(summary_cuts(only_median), [0.0])
