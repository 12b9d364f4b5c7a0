"""Fast tests of the SBC machinery (bayes_anlo.checks.calibration) and of the SBC set-ups
(bayes_anlo.studies.sbc_runs). The full SBC runs are in tests/studies (slow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes_anlo.checks.calibration import (
    bin_probabilities,
    chi_square_uniformity,
    ecdf_uniformity,
    plot_sbc,
    rank_statistic,
    run_sbc,
    thin,
    uniformity_table,
)
from bayes_anlo.studies.sbc_runs import CompletePoolingExactSBC


# ---- ranks ----------------------------------------------------------------------------------
def test_rank_counts_draws_below_truth():
    rng = np.random.default_rng(0)
    draws = np.array([0.1, 0.5, 0.3, 0.9])
    assert rank_statistic(0.4, draws, rng) == 2
    assert rank_statistic(-1.0, draws, rng) == 0
    assert rank_statistic(2.0, draws, rng) == 4


def test_rank_vectorised_over_parameters():
    rng = np.random.default_rng(0)
    draws = np.arange(10.0)[:, None] * np.array([1.0, -1.0])
    np.testing.assert_array_equal(rank_statistic(np.array([4.5, -4.5]), draws, rng), [5, 5])


def test_ties_are_broken_uniformly():
    # truth equal to every draw: the rank must be uniform on 0..L
    rng = np.random.default_rng(1)
    ranks = np.array([rank_statistic(1.0, np.ones(4), rng) for _ in range(5000)])
    counts = np.bincount(ranks, minlength=5)
    assert stats.chisquare(counts).pvalue > 0.001


def test_ranks_of_exact_posterior_draws_are_uniform():
    # conjugate normal model: theta ~ N(0, 1), y ~ N(theta, 1) => theta | y ~ N(y/2, 1/2)
    rng = np.random.default_rng(2)
    L = 49
    ranks = []
    for _ in range(400):
        theta = rng.standard_normal()
        y = theta + rng.standard_normal()
        ranks.append(rank_statistic(theta, y / 2 + np.sqrt(0.5) * rng.standard_normal(L), rng))
    assert chi_square_uniformity(ranks, L, bins=10).p_value > 0.001
    assert ecdf_uniformity(ranks, L).p_value > 0.001


def test_thin_takes_evenly_spaced_draws():
    np.testing.assert_array_equal(thin(np.arange(10), 5), [0, 2, 4, 6, 8])
    with pytest.raises(ValueError):
        thin(np.arange(3), 5)


# ---- uniformity tests ----------------------------------------------------------------------------
def test_bin_probabilities_sum_to_one_and_are_exact():
    p = bin_probabilities(199, 20)
    assert p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p, 0.05)
    p = bin_probabilities(9, 3)  # 10 values into 3 bins: 4, 3, 3 (floor(r * 3 / 10))
    np.testing.assert_allclose(p, [0.4, 0.3, 0.3])


def test_chi_square_matches_scipy():
    rng = np.random.default_rng(3)
    ranks = rng.integers(0, 200, size=300)
    res = chi_square_uniformity(ranks, 199, bins=20)
    ref = stats.chisquare(np.bincount(ranks // 10, minlength=20))
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)


def test_uniform_ranks_pass_and_non_uniform_ranks_fail():
    rng = np.random.default_rng(4)
    L, n = 99, 200
    uniform = rng.integers(0, L + 1, size=n)
    assert chi_square_uniformity(uniform, L).p_value > 0.01
    assert ecdf_uniformity(uniform, L).p_value > 0.01
    # too narrow a posterior: ranks pile up at both ends (U shape)
    u_shape = np.where(rng.random(n) < 0.5, rng.integers(0, 10, n), rng.integers(L - 9, L + 1, n))
    assert chi_square_uniformity(u_shape, L).p_value < 1e-6
    assert ecdf_uniformity(u_shape, L).p_value < 0.01
    # biased posterior: ranks shifted upward (truth above most draws)
    tilted = np.minimum(L, (L + 1) * rng.beta(2.0, 1.0, n)).astype(int)
    assert ecdf_uniformity(tilted, L).p_value < 0.01


def test_ecdf_test_has_its_nominal_level():
    # the simultaneous band rejects uniform samples at about its level alpha = 0.05
    rng = np.random.default_rng(5)
    L, n = 49, 60
    rejections = [ecdf_uniformity(rng.integers(0, L + 1, n), L).p_value < 0.05 for _ in range(300)]
    rate = np.mean(rejections)
    assert 0.01 < rate < 0.10  # 0.05 +/- ~3.5 binomial SE


def test_uniformity_table_uses_bonferroni_threshold():
    rng = np.random.default_rng(6)
    ranks = pd.DataFrame({"a": rng.integers(0, 100, 100), "b": np.zeros(100, dtype=int)})
    table = uniformity_table(ranks, 99, bins=10, alpha=0.01)
    assert table["threshold"].iloc[0] == pytest.approx(0.01 / 4)
    assert table.set_index("parameter").loc["b", "flagged"]
    assert not table.set_index("parameter").loc["a", "flagged"]


# ---- SBC runs ---------------------------------------------------------------------------------
def test_sbc_flags_a_too_narrow_posterior():
    # conjugate complete pooling with every draw shrunk to 30% of its distance from the mean
    res = run_sbc(CompletePoolingExactSBC(narrow=0.3), 20, seed=11)
    table = res.uniformity(bins=10)
    assert table["flagged"].all()
    r = res.table["p"]
    assert ((r <= 9) | (r >= 90)).mean() > 0.5  # U shape: most truths outside the central draws


def test_sbc_passes_the_exact_conjugate_model():
    res = run_sbc(CompletePoolingExactSBC(), 40, seed=12)
    assert res.passes(bins=10)
    assert res.n_draws == 99 and len(res.table) == 40


def test_sbc_is_reproducible_and_resumes_from_the_runner_cache(tmp_path):
    """Same seed, same ranks; a run over more datasets re-uses the cached ones and its first
    rows equal the shorter run (dataset i has its own seed). Serial vs Dask workers:
    tests/runner/test_studies_distributed.py."""
    serial = run_sbc(CompletePoolingExactSBC(), 6, seed=13)
    again = run_sbc(CompletePoolingExactSBC(), 4, seed=13, cache_dir=tmp_path / "cache")
    longer = run_sbc(CompletePoolingExactSBC(), 6, seed=13, cache_dir=tmp_path / "cache")
    cols = ["dataset", "p", "truth_p"]
    pd.testing.assert_frame_equal(serial.table[cols].iloc[:4], again.table[cols])
    pd.testing.assert_frame_equal(serial.table[cols], longer.table[cols])
    # the cached rows keep their first fit times: nothing was refitted for datasets 0-3
    assert list(longer.table["fit_seconds"].iloc[:4]) == list(again.table["fit_seconds"])
    assert len(list((tmp_path / "cache").glob("*/*.json"))) == 6
    fig_path = tmp_path / "sbc.png"
    plot_sbc(serial, fig_path, bins=5)
    assert fig_path.stat().st_size > 5000


# ---- the NUTS set-ups fit the package's own graphs ----------------------------------------------
def test_nuts_set_ups_fit_the_package_model_through_the_one_compile_cache(empty_compile_cache):
    """No mirror graphs: the SBC set-up samples the package's BetaBinomial graph, compiled once
    for every dataset of its design (the cache counts compilations)."""
    from bayes_anlo.studies.sbc_runs import BetaBinomialNutsSBC, NutsSettings

    compile_cache = empty_compile_cache
    setup = BetaBinomialNutsSBC(nuts=NutsSettings(draws=60, tune=60, chains=1), n_draws=19)
    before = compile_cache.compilations()
    rng = np.random.default_rng(3)
    for seed in (1, 2):
        truth, data = setup.simulate(rng)
        draws, diag = setup.fit(data, seed)
        assert set(draws) == set(setup.parameters) and len(draws["mu"]) == 19
    assert compile_cache.compilations() == before + 1


# ---- coverage study machinery (bayes_anlo.studies.coverage; the study itself is slow) ----------
def test_coverage_targets_match_numerical_integration():
    from scipy import integrate
    from scipy.special import expit, logit

    from bayes_anlo.studies.coverage import Cell

    cell = Cell(5, 10, 50, 0.1, 0.5)
    t = cell.targets()
    f = lambda z, g: g(expit(logit(0.1) + 0.5 * z)) * stats.norm.pdf(z)  # noqa: E731
    mean = integrate.quad(f, -12, 12, args=(lambda x: x,))[0]
    centre = integrate.quad(f, -12, 12, args=(lambda x: np.arcsin(np.sqrt(x)),))[0]
    assert t["median_rate"] == 0.1
    assert t["mean_rate"] == pytest.approx(mean, rel=1e-8)
    assert t["arcsine_centre"] == pytest.approx(np.sin(centre) ** 2, rel=1e-8)
    assert Cell(5, 10, 50, 0.1, 0.0).targets()["mean_rate"] == pytest.approx(0.1)


def test_coverage_intervals_and_summary():
    from bayes_anlo.frequentist import pool_proportions
    from bayes_anlo.studies.coverage import METHODS, Cell, intervals, summarise

    y, n = np.array([3, 5, 2, 8]), np.array([30, 41, 25, 60])
    out = intervals(y, n)
    assert list(out) == list(METHODS)
    ref = pool_proportions(y, n, transform="pft", method="DL")
    assert out["PFT-DL"] == pytest.approx((ref.ci_low, ref.ci_high))
    for lo, hi in out.values():
        assert 0 < lo < hi < 1
    # every study with 0 events: the GLMM has no estimate -> (nan, nan), counted as a failure
    assert np.isnan(
        intervals(np.zeros(3, dtype=int), np.array([10, 12, 9]), methods=["GLMM"])["GLMM"]
    ).all()
    # summary: coverage, misses and failures counted by hand
    cells = [Cell(3, 10, 50, 0.2, 0.0)]
    raw = pd.DataFrame(
        {
            "cell": 0,
            "replicate": range(5),
            "method": "GLMM",
            "low": [0.1, 0.25, 0.05, np.nan, 0.15],
            "high": [0.3, 0.4, 0.15, np.nan, 0.2],
            "zero_events": 0,
        }
    )
    row = summarise(raw, cells).iloc[0]
    assert (row["n_ok"], row["n_failed"]) == (4, 1)
    # target 0.2: [0.1, 0.3] and [0.15, 0.2] cover, [0.25, 0.4] misses high, [0.05, 0.15] misses low
    assert row["coverage"] == pytest.approx(0.5)
    assert (row["miss_low"], row["miss_high"]) == (pytest.approx(0.25), pytest.approx(0.25))
    assert row["median_width"] == pytest.approx(0.125)
    assert row["mcse"] == pytest.approx(np.sqrt(0.25 / 4))
