"""Simulation-based calibration (SBC): does a fitting procedure return the right posterior?

Talts, Betancourt, Simpson, Vehtari & Gelman (2018, arXiv:1804.06788): if ``theta~ ~ p(theta)``
(the prior), ``y ~ p(y | theta~)`` and ``theta_1 .. theta_L`` are draws from the posterior
``p(theta | y)``, then the rank

    r = #{ l : theta_l < theta~ }            (ties broken at random)

is uniform on ``{0, 1, ..., L}``, for every scalar function of the parameters. A fitting procedure
that is biased (histogram tilted), too narrow (U-shaped: the truth often lies outside the draws)
or too wide (hump-shaped) shows up as non-uniform ranks over many simulated datasets. The draws
must be (close to) independent: autocorrelated MCMC draws inflate the spread of the histogram,
so NUTS draws are thinned to about their effective sample size before ranking.

Uniformity is tested two ways, per parameter:

* **chi-square** on the ranks binned into ``B`` bins (Talts et al. 2018, sec. 4.1): ``X^2 =
  sum_b (c_b - N p_b)^2 / (N p_b)`` with ``p_b`` the exact share of the ``L + 1`` rank values in
  bin ``b``, referred to chi-square with ``B - 1`` degrees of freedom;
* **simultaneous ECDF band** (Säilynoja, Bürkner & Vehtari 2022, Stat Comput 32:32): at every
  ``j = 1..L`` the count ``#{r_i < j}`` is Binomial(N, j / (L + 1)) under uniformity. The smallest
  two-sided pointwise tail probability ``m = min_j 2 min(F(x_j), 1 - F(x_j - 1))`` is the test
  statistic; its null distribution is simulated (``n_sim`` uniform rank samples of the same ``N``
  and ``L``, fixed seed), the band level ``gamma`` is its ``alpha`` quantile (so the band
  ``[F^-1(gamma / 2), F^-1(1 - gamma / 2)]`` at every ``j`` holds *simultaneously* with probability
  ``1 - alpha``) and the p-value is ``P_sim(m_0 <= m)``.

A parameter is *flagged* when either p-value falls below ``alpha / (2 P)`` with ``P`` the number of
parameters ranked (Bonferroni over parameters and the two tests), so one SBC run is judged at the
family-wise level ``alpha``.

:func:`run_sbc` runs an SBC set-up (a :class:`SBCSetup`: ``simulate(rng) -> (truth, data)`` and
``fit(data, seed) -> draws``) over ``N`` datasets as tasks of the package's runner
(:mod:`bayes_anlo.runner`: serially, on local Dask workers or on a cluster, with a result cache),
with one seed per dataset, so the ranks are identical wherever it runs.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import stats

#: Default family-wise level of one SBC run.
ALPHA = 0.01
#: Default number of bins of the chi-square test and of the rank histograms.
BINS = 20


# --------------------------------------------------------------------------------------------
# ranks
# --------------------------------------------------------------------------------------------
def rank_statistic(truth, draws, rng: np.random.Generator) -> np.ndarray:
    """Rank of ``truth`` among ``draws``: ``#{draws < truth}`` plus a random share of the ties.

    Parameters
    ----------
    truth : float or array (...)
        The value drawn from the prior.
    draws : array (L, ...)
        Posterior draws (first axis = draws), independent or thinned.
    rng : numpy.random.Generator
        Breaks ties uniformly (a tie count ``t`` adds an integer uniform on ``0..t``), so discrete
        parameters also give uniform ranks.

    Returns
    -------
    ndarray of int, shape (...): ranks in ``0..L``.
    """
    draws = np.asarray(draws, dtype=float)
    truth = np.asarray(truth, dtype=float)
    below = (draws < truth).sum(axis=0)
    ties = (draws == truth).sum(axis=0)
    extra = rng.integers(0, ties + 1) if np.any(ties) else np.zeros_like(below)
    return (below + extra).astype(np.int64)


def thin(draws, size: int) -> np.ndarray:
    """``size`` evenly spaced draws along the first axis (chains already concatenated).

    Used to bring NUTS draws down to roughly independent ones before ranking.
    """
    draws = np.asarray(draws)
    if size > draws.shape[0]:
        raise ValueError(f"cannot thin {draws.shape[0]} draws to {size}")
    idx = np.floor(np.arange(size) * draws.shape[0] / size).astype(int)
    return draws[idx]


# --------------------------------------------------------------------------------------------
# uniformity tests
# --------------------------------------------------------------------------------------------
def bin_probabilities(n_draws: int, bins: int) -> np.ndarray:
    """Share of the ``n_draws + 1`` rank values falling in each of ``bins`` equal-width bins."""
    values = np.arange(n_draws + 1)
    which = (values * bins) // (n_draws + 1)
    return np.bincount(which, minlength=bins) / (n_draws + 1)


def bin_ranks(ranks, n_draws: int, bins: int) -> np.ndarray:
    """Counts of ``ranks`` (in ``0..n_draws``) per bin (bin of rank r: ``floor(r B / (L + 1))``)."""
    ranks = np.asarray(ranks, dtype=np.int64)
    if ranks.size and (ranks.min() < 0 or ranks.max() > n_draws):
        raise ValueError(f"ranks must lie in 0..{n_draws}")
    return np.bincount((ranks * bins) // (n_draws + 1), minlength=bins)


@dataclass(frozen=True)
class ChiSquareTest:
    """Chi-square test of binned ranks against the discrete uniform distribution."""

    statistic: float
    df: int
    p_value: float
    counts: np.ndarray = field(repr=False)
    expected: np.ndarray = field(repr=False)


def chi_square_uniformity(ranks, n_draws: int, bins: int = BINS) -> ChiSquareTest:
    """Pearson's chi-square of ranks in ``0..n_draws`` binned into ``bins`` bins.

    ``bins`` is capped at ``n_draws + 1``; expected counts ``N p_b`` use the exact share of rank
    values per bin (bins differ by one value when ``B`` does not divide ``L + 1``).
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    bins = int(min(bins, n_draws + 1))
    counts = bin_ranks(ranks, n_draws, bins)
    expected = ranks.size * bin_probabilities(n_draws, bins)
    stat = float(np.sum((counts - expected) ** 2 / expected))
    return ChiSquareTest(stat, bins - 1, float(stats.chi2.sf(stat, bins - 1)), counts, expected)


def _pointwise_tail(counts_below: np.ndarray, n: int, probs: np.ndarray) -> np.ndarray:
    """Two-sided binomial tail probability of each ``#{r < j}`` (capped at 1)."""
    lower = stats.binom.cdf(counts_below, n, probs)
    upper = stats.binom.sf(counts_below - 1, n, probs)
    return np.minimum(1.0, 2.0 * np.minimum(lower, upper))


def _ecdf_counts(ranks: np.ndarray, n_draws: int) -> np.ndarray:
    """``#{r_i < j}`` for ``j = 1..L`` (the last axis of the output), ``ranks`` shape (..., N)."""
    hist = (
        np.apply_along_axis(np.bincount, -1, ranks, minlength=n_draws + 1)
        if ranks.ndim > 1
        else np.bincount(ranks, minlength=n_draws + 1)
    )
    return np.cumsum(hist, axis=-1)[..., :-1]


@functools.lru_cache(maxsize=32)
def _null_minima(n: int, n_draws: int, n_sim: int, seed: int) -> np.ndarray:
    """Simulated null distribution of the ECDF statistic for ``n`` uniform ranks (sorted)."""
    rng = np.random.default_rng(seed)
    probs = np.arange(1, n_draws + 1) / (n_draws + 1)
    out = np.empty(n_sim)
    chunk = 500
    for start in range(0, n_sim, chunk):
        m = min(chunk, n_sim - start)
        ranks = rng.integers(0, n_draws + 1, size=(m, n))
        below = _ecdf_counts(ranks, n_draws)
        out[start : start + m] = _pointwise_tail(below, n, probs).min(axis=-1)
    return np.sort(out)


@dataclass(frozen=True)
class ECDFTest:
    """Simultaneous ECDF test of ranks (Säilynoja et al. 2022)."""

    statistic: float
    gamma: float
    p_value: float
    alpha: float


def ecdf_uniformity(
    ranks, n_draws: int, alpha: float = 0.05, n_sim: int = 4000, seed: int = 20220301
) -> ECDFTest:
    """Simultaneous ECDF test (module docstring); ``gamma`` is the pointwise level whose band
    holds simultaneously with probability ``1 - alpha``."""
    ranks = np.asarray(ranks, dtype=np.int64)
    n = ranks.size
    probs = np.arange(1, n_draws + 1) / (n_draws + 1)
    observed = float(_pointwise_tail(_ecdf_counts(ranks, n_draws), n, probs).min())
    null = _null_minima(n, int(n_draws), int(n_sim), int(seed))
    gamma = float(np.quantile(null, alpha))
    p = float((np.searchsorted(null, observed, side="right") + 1) / (null.size + 1))
    return ECDFTest(observed, gamma, min(p, 1.0), alpha)


def ecdf_band(n: int, n_draws: int, gamma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(z, lower, upper)``: the ECDF-difference band ``F^-1(gamma/2)/N - z`` ... at ``z =
    j/(L+1)``."""
    z = np.arange(1, n_draws + 1) / (n_draws + 1)
    lo = stats.binom.ppf(gamma / 2, n, z) / n - z
    hi = stats.binom.ppf(1 - gamma / 2, n, z) / n - z
    return z, lo, hi


def uniformity_table(
    ranks: pd.DataFrame, n_draws: int, *, bins: int = BINS, alpha: float = ALPHA, n_sim: int = 4000
) -> pd.DataFrame:
    """One row per parameter (column of ``ranks``): both tests and the Bonferroni verdict.

    Columns: ``parameter, n_datasets, n_draws, bins, chi2, chi2_df, chi2_p, ecdf_min_tail,
    ecdf_p, threshold, flagged``; ``threshold = alpha / (2 P)``.
    """
    params = list(ranks.columns)
    threshold = alpha / (2 * max(len(params), 1))
    rows = []
    for name in params:
        r = ranks[name].to_numpy(dtype=np.int64)
        chi = chi_square_uniformity(r, n_draws, bins)
        ecdf = ecdf_uniformity(r, n_draws, alpha=0.05, n_sim=n_sim)
        rows.append(
            {
                "parameter": name,
                "n_datasets": r.size,
                "n_draws": n_draws,
                "bins": chi.df + 1,
                "chi2": chi.statistic,
                "chi2_df": chi.df,
                "chi2_p": chi.p_value,
                "ecdf_min_tail": ecdf.statistic,
                "ecdf_p": ecdf.p_value,
                "threshold": threshold,
                "flagged": bool(min(chi.p_value, ecdf.p_value) < threshold),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# running an SBC
# --------------------------------------------------------------------------------------------
class SBCSetup(Protocol):
    """What :func:`run_sbc` needs from a model's SBC set-up (picklable for worker processes).

    * ``name``: label used in tables and file names;
    * ``parameters``: names of the scalar quantities ranked (keys of ``truth`` and of the draws);
    * ``n_draws``: ``L``, the number of (thinned) posterior draws each fit returns;
    * ``simulate(rng) -> (truth, data)``: parameters from the prior and data from the model;
    * ``fit(data, seed) -> (draws, diagnostics)``: ``draws[name]`` of length ``L`` for every
      parameter, ``diagnostics`` a flat dict of numbers (divergences, ESS ...), possibly empty.
    """

    name: str
    parameters: tuple[str, ...]
    n_draws: int

    def simulate(self, rng: np.random.Generator) -> tuple[Mapping[str, float], Any]: ...

    def fit(self, data: Any, seed: int) -> tuple[Mapping[str, np.ndarray], Mapping[str, float]]: ...


def dataset_seeds(seed: int, index: int) -> tuple[np.random.Generator, int, np.random.Generator]:
    """Independent streams of dataset ``index``: simulation, the fit's seed, tie-breaking."""
    ss = np.random.SeedSequence([int(seed), int(index)])
    sim, fit, ties = ss.spawn(3)
    return (np.random.default_rng(sim), int(fit.generate_state(1)[0]), np.random.default_rng(ties))


def sbc_one(setup: SBCSetup, seed: int, index: int) -> dict:
    """Simulate, fit and rank dataset ``index`` (one row of :attr:`SBCResult.ranks`)."""
    sim_rng, fit_seed, tie_rng = dataset_seeds(seed, index)
    truth, data = setup.simulate(sim_rng)
    start = time.perf_counter()
    draws, diagnostics = setup.fit(data, fit_seed)
    seconds = time.perf_counter() - start
    row: dict = {"dataset": index}
    for name in setup.parameters:
        d = np.asarray(draws[name], dtype=float)
        if d.shape != (setup.n_draws,):
            raise ValueError(
                f"{setup.name}: fit returned {d.shape} draws of {name}, expected ({setup.n_draws},)"
            )
        row[name] = int(rank_statistic(truth[name], d, tie_rng))
    row["fit_seconds"] = seconds
    for key, value in diagnostics.items():
        row[f"diag_{key}"] = float(value)
    for name in setup.parameters:
        row[f"truth_{name}"] = float(truth[name])
    return row


def sbc_tasks(setup: SBCSetup, n_datasets: int, seed: int) -> list:
    """Runner tasks of an SBC: one per dataset. The key holds a complete description of the
    set-up (:func:`bayes_anlo.runner.tasks.describe`), the seed and the dataset's index; the
    set-up object itself travels as the task's payload. A worker process compiles each NUTS model
    once (:mod:`bayes_anlo.models.compile_cache`) and re-uses it for every dataset it gets, so
    one task per dataset costs no extra compilation and resumes at the finest grain."""
    from bayes_anlo.runner import FitTask, describe

    if int(n_datasets) < 1:
        raise ValueError("n_datasets must be >= 1")
    config = {"sbc_setup": describe(setup)}
    return [
        FitTask(f"{setup.name} dataset {i}", config, {}, int(seed), {"dataset": i}, payload=setup)
        for i in range(int(n_datasets))
    ]


def sbc_task(task) -> dict:
    """Task function of the runner: :func:`sbc_one` of the task's set-up and dataset."""
    return sbc_one(task.payload, task.seed, task.extra["dataset"])


@dataclass(frozen=True)
class SBCResult:
    """Ranks of one SBC run.

    Attributes
    ----------
    name : str
    parameters : tuple of str
    n_draws : int
        ``L``: ranks lie in ``0..L``.
    table : DataFrame
        One row per dataset: ``dataset``, a rank column per parameter, ``fit_seconds``,
        ``diag_*`` diagnostics and ``truth_*`` prior draws.
    seconds : float
        Compute time: the datasets' fit seconds summed (wherever and whenever they ran; a
        result read back from the cache keeps the time it took when computed).
    workers : int
    """

    name: str
    parameters: tuple[str, ...]
    n_draws: int
    table: pd.DataFrame = field(repr=False)
    seconds: float = 0.0
    workers: int = 1

    @property
    def ranks(self) -> pd.DataFrame:
        return self.table[list(self.parameters)]

    def uniformity(self, *, bins: int = BINS, alpha: float = ALPHA) -> pd.DataFrame:
        """:func:`uniformity_table` of the ranks, with the set-up's name in a first column."""
        out = uniformity_table(self.ranks, self.n_draws, bins=bins, alpha=alpha)
        out.insert(0, "model", self.name)
        return out

    def passes(self, *, bins: int = BINS, alpha: float = ALPHA) -> bool:
        """True when no parameter is flagged at family-wise level ``alpha``."""
        return not bool(self.uniformity(bins=bins, alpha=alpha)["flagged"].any())

    def to_frame(self) -> pd.DataFrame:
        """The per-dataset table with the set-up's name as the first column."""
        out = self.table.copy()
        out.insert(0, "model", self.name)
        return out


def sbc_table(rows: list[dict], parameters: Iterable[str]) -> pd.DataFrame:
    """The per-dataset table from :func:`sbc_one` rows read back from JSON (keys sorted,
    non-finite diagnostics as strings): columns ``dataset``, the ranks in ``parameters`` order,
    ``fit_seconds``, ``diag_*``, ``truth_*``, all numbers."""
    parameters = list(parameters)
    table = pd.DataFrame(rows).sort_values("dataset", ignore_index=True)
    diag = sorted(c for c in table.columns if c.startswith("diag_"))
    table = table[
        ["dataset", *parameters, "fit_seconds", *diag, *(f"truth_{p}" for p in parameters)]
    ]
    for col in table.columns:
        if col.startswith(("diag_", "truth_")) or col == "fit_seconds":
            table[col] = pd.to_numeric(table[col])
    return table


def run_sbc_many(
    setups: Iterable[SBCSetup],
    n_datasets: int,
    *,
    seed: int = 0,
    scheduler: str | None = None,
    workers: int = 1,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, SBCResult]:
    """Run several set-ups over ``n_datasets`` datasets each in one runner call (one cluster for
    all), by set-up name. Arguments as :func:`run_sbc`."""
    from bayes_anlo.runner import run

    setups = list(setups)
    if not setups:
        raise ValueError("no SBC set-up given")
    if scheduler is None and int(workers) > 1:
        scheduler = "local"
    tasks = [t for s in setups for t in sbc_tasks(s, n_datasets, seed)]
    rows = run(
        tasks,
        sbc_task,
        scheduler=scheduler,
        n_workers=workers,
        cache_dir=cache_dir,
        progress=progress,
    )
    out: dict[str, SBCResult] = {}
    for i, setup in enumerate(setups):
        part = rows[i * int(n_datasets) : (i + 1) * int(n_datasets)]
        table = sbc_table(part, setup.parameters)
        out[setup.name] = SBCResult(
            setup.name,
            tuple(setup.parameters),
            int(setup.n_draws),
            table,
            float(table["fit_seconds"].sum()),
            1 if scheduler is None else int(workers),
        )
    return out


def run_sbc(
    setup: SBCSetup,
    n_datasets: int,
    *,
    seed: int = 0,
    scheduler: str | None = None,
    workers: int = 1,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SBCResult:
    """Run ``setup`` over ``n_datasets`` simulated datasets through the package's runner
    (:func:`bayes_anlo.runner.execute.run`, one task per dataset: :func:`sbc_tasks`).

    Parameters
    ----------
    setup : SBCSetup
    n_datasets : int
    seed : int
        Dataset ``i`` draws from ``SeedSequence([seed, i])`` (:func:`dataset_seeds`), so results do
        not depend on where, or in what order, the datasets run.
    scheduler : None, "local" or a Dask scheduler address
        None runs in this process, unless ``workers > 1``, which starts a local Dask cluster of
        that many single-threaded worker processes (keep it at most 2 on a shared two-core
        machine).
    cache_dir : path, optional
        The runner's result cache: finished datasets are stored there and not recomputed by a
        later run with the same set-up, seed and code.
    progress : callable, optional
        ``progress(done, total)`` after each dataset.
    """
    return run_sbc_many(
        [setup],
        n_datasets,
        seed=seed,
        scheduler=scheduler,
        workers=workers,
        cache_dir=cache_dir,
        progress=progress,
    )[setup.name]


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------
def plot_sbc(
    result: SBCResult,
    path: str | Path | None = None,
    *,
    bins: int = BINS,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
):
    """Rank histograms (top row; dashed band: central 99% of each bin count under uniformity) and
    ECDF differences (bottom row; band: simultaneous 95%) for every parameter of ``result``.

    Writes a PNG when ``path`` is given; returns the matplotlib figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = dict(labels or {})
    params = list(result.parameters)
    n = len(result.table)
    L = result.n_draws
    bins = int(min(bins, L + 1))
    probs = bin_probabilities(L, bins)
    fig, axes = plt.subplots(2, len(params), figsize=(2.6 * len(params) + 0.6, 5.0), squeeze=False)
    table = uniformity_table(result.ranks, L, bins=bins)
    for j, name in enumerate(params):
        r = result.table[name].to_numpy(dtype=np.int64)
        counts = bin_ranks(r, L, bins)
        ax = axes[0, j]
        lo = stats.binom.ppf(0.005, n, probs)
        hi = stats.binom.ppf(0.995, n, probs)
        x = np.arange(bins)
        edges = np.append(x, bins) - 0.5
        ax.bar(x, counts, width=1.0, color="#4477aa", edgecolor="white", lw=0.4, alpha=0.85)
        ax.fill_between(
            edges,
            np.append(lo, lo[-1]),
            np.append(hi, hi[-1]),
            step="post",
            color="0.6",
            alpha=0.3,
            lw=0,
        )
        for bound in (lo, hi):
            ax.step(edges, np.append(bound, bound[-1]), where="post", color="0.35", lw=0.7, ls="--")
        ax.axhline(n / bins, color="0.3", lw=0.8)
        row = table.iloc[j]
        ax.set_title(
            f"{labels.get(name, name)}\nchi2 p={row.chi2_p:.2f}, ECDF p={row.ecdf_p:.2f}",
            fontsize=8,
            color="#bb3333" if row.flagged else "black",
        )
        ax.set_xticks([])
        ax.tick_params(labelsize=7)
        ax2 = axes[1, j]
        gamma = ecdf_uniformity(r, L).gamma
        z, blo, bhi = ecdf_band(n, L, gamma)
        below = _ecdf_counts(r, L) / n
        ax2.fill_between(z, blo, bhi, step="mid", color="0.85", lw=0)
        ax2.step(z, below - z, where="mid", color="#4477aa", lw=1.0)
        ax2.axhline(0, color="0.5", lw=0.8)
        ax2.set_xlim(0, 1)
        ax2.tick_params(labelsize=7)
        ax2.set_xlabel("fractional rank", fontsize=7)
    axes[0, 0].set_ylabel("datasets per bin", fontsize=8)
    axes[1, 0].set_ylabel("ECDF - uniform", fontsize=8)
    fig.suptitle(title or f"SBC: {result.name} ({n} datasets, L = {L} draws)", fontsize=10)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def summarise_runs(
    results: Iterable[SBCResult], *, bins: int = BINS, alpha: float = ALPHA
) -> pd.DataFrame:
    """Uniformity tables of several runs stacked, plus each run's summed fit time
    (``fit_seconds_total``), workers and fit diagnostics."""
    frames = []
    for res in results:
        t = res.uniformity(bins=bins, alpha=alpha)
        t["fit_seconds_total"] = res.seconds
        t["workers"] = res.workers
        t["median_fit_seconds"] = float(res.table["fit_seconds"].median())
        for col in res.table.columns:
            if col.startswith("diag_"):
                t[f"mean_{col[5:]}"] = float(res.table[col].mean())
        frames.append(t)
    return pd.concat(frames, ignore_index=True)
