"""Coverage and width of pooled-rate intervals in small meta-analyses of single proportions.

Data-generating process (a random-intercept logistic model, the model the GLMM fits)::

    n_i ~ Uniform{n_lo, ..., n_hi},   logit theta_i = logit(p) + tau z_i,  z_i ~ N(0, 1),
    y_i ~ Binomial(n_i, theta_i),     i = 1..k

over a factorial grid of ``k`` (studies), the range of ``n_i``, the *median* study rate ``p`` and
the between-study SD ``tau`` on the logit scale (``tau = 0``: homogeneous studies).

Each method's 95% interval targets its own population quantity; with ``tau > 0`` these differ, so
each is scored against what it estimates (its *target*) and, for the reader who takes any pooled
rate as "the" response rate, also against the median and the mean rate:

=================  ===================================== ==========================================
method             interval                              target
=================  ===================================== ==========================================
``PFT-DL``         ``rma(measure="PFT", method="DL")``,  arcsine centre ``sin^2(E asin sqrt theta)``
                   back-transformed (Miller, harmonic n) (the double arcsine is ~``asin sqrt theta``
                                                         for large n; its mean is pooled)
``logit-REML``     ``rma(measure="PLO", method="REML")`` median rate ``p`` (= expit of the mean
                                                         logit)
``GLMM``           ``rma.glmm(measure="PLO")`` Wald CI   median rate ``p``
``LN-exact``       logit-normal posterior of expit(mu),  median rate ``p``
                   equal-tailed 95%, grid quadrature
``LN-exact-mean``  logit-normal posterior of the mean    mean rate ``E theta = E expit(logit p + tau
                   rate ``E expit(mu + tau Z)``          Z)``
``BB-exact``       beta-binomial posterior of ``mu``,    mean rate ``E theta``
                   equal-tailed 95%, grid quadrature
=================  ===================================== ==========================================

With ``tau = 0`` the three targets coincide (``= p``) and every model is well specified (the
beta-binomial with kappa -> infinity). With ``tau = 0.5`` the logit-normal models and the GLMM are
well specified; the beta-binomial is not (the study rates are logit-normal, not beta), but its
``mu`` still targets the mean rate; the PFT and logit models are the usual normal approximations.
The Bayesian intervals use the package's default priors (:mod:`bayes_anlo.models.priors`); the
frequentist coverage of a Bayesian interval at fixed parameter values is not guaranteed to be 95%.

A method that returns no interval (the GLMM when every study has 0 events; any numerical
failure) is counted in ``n_failed`` and left out of the coverage of that cell.

Randomness: replicate ``r`` of cell ``c`` draws from ``SeedSequence([seed, c, r])``, so a run gives
the same numbers serially, on local worker processes or on a cluster. The study runs as tasks of
the package's runner (:mod:`bayes_anlo.runner`), one per cell and block of replicates
(:func:`coverage_tasks`), with the runner's result cache for resuming.
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from bayes_anlo.exact import beta_binomial_exact, logit_normal_exact
from bayes_anlo.frequentist import glmm_logit, pool_proportions
from bayes_anlo.models.priors import BetaBinomialPriors, LogitNormalPriors

#: Methods in report order, with the population quantity each interval targets.
METHODS: dict[str, str] = {
    "PFT-DL": "arcsine_centre",
    "logit-REML": "median_rate",
    "GLMM": "median_rate",
    "LN-exact": "median_rate",
    "LN-exact-mean": "mean_rate",
    "BB-exact": "mean_rate",
}
TARGETS = ("median_rate", "mean_rate", "arcsine_centre")
LEVEL = 0.95
#: Grid resolution of the logit-normal engine here (cells per axis, fine and coarse pass; the
#: engine's defaults are 100 and 40): interval limits move by < 1% of their value, and the fit is
#: about three times faster.
LN_GRID = {"n_fine": 60, "n_coarse": 30}


@dataclass(frozen=True)
class Cell:
    """One design point of the study."""

    k: int
    n_lo: int
    n_hi: int
    rate: float
    tau: float

    @property
    def n_range(self) -> str:
        return f"{self.n_lo}-{self.n_hi}"

    def targets(self) -> dict[str, float]:
        """The three population quantities (Gauss-Hermite with 64 nodes over z)."""
        x, w = np.polynomial.hermite_e.hermegauss(64)
        w = w / w.sum()
        theta = expit(logit(self.rate) + self.tau * x)
        return {
            "median_rate": float(self.rate),
            "mean_rate": float(np.sum(w * theta)),
            "arcsine_centre": float(np.sin(np.sum(w * np.arcsin(np.sqrt(theta)))) ** 2),
        }

    def simulate(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        n = rng.integers(self.n_lo, self.n_hi + 1, size=self.k)
        theta = expit(logit(self.rate) + self.tau * rng.standard_normal(self.k))
        return rng.binomial(n, theta), n


def design(
    ks: Sequence[int] = (3, 5, 10, 20),
    n_ranges: Sequence[tuple[int, int]] = ((10, 50), (50, 200)),
    rates: Sequence[float] = (0.03, 0.1, 0.2, 0.4),
    taus: Sequence[float] = (0.0, 0.5),
) -> list[Cell]:
    """The factorial grid (default: 4 x 2 x 4 x 2 = 64 cells)."""
    return [
        Cell(int(k), int(lo), int(hi), float(p), float(t))
        for t, p, (lo, hi), k in itertools.product(taus, rates, n_ranges, ks)
    ]


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q) -> np.ndarray:
    order = np.argsort(values, axis=None)
    v = values.ravel()[order]
    cdf = np.cumsum(weights.ravel()[order])
    cdf = (cdf - 0.5 * weights.ravel()[order]) / cdf[-1]
    return np.interp(q, cdf, v)


def intervals(
    events,
    n,
    *,
    level: float = LEVEL,
    bb_priors: BetaBinomialPriors | None = None,
    ln_priors: LogitNormalPriors | None = None,
    methods: Sequence[str] | None = None,
) -> dict[str, tuple[float, float]]:
    """Every method's interval (or those in ``methods``) for one dataset (``(nan, nan)`` where a
    method fails).

    The exact posteriors give equal-tailed intervals from their marginal CDFs
    (:meth:`~bayes_anlo.exact.posterior.ExactPosterior.quantile`); the logit-normal mean rate
    ``E expit(mu + tau Z)`` is evaluated on every grid cell and its weighted quantiles taken.
    """
    q = np.array([(1 - level) / 2, (1 + level) / 2])
    out: dict[str, tuple[float, float]] = {}

    def attempt(name: str, fn: Callable[[], tuple[float, float]]):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lo, hi = fn()
            out[name] = (
                (float(lo), float(hi)) if np.isfinite(lo) and np.isfinite(hi) else (np.nan, np.nan)
            )
        except (
            ValueError,
            RuntimeError,
            FloatingPointError,
            ArithmeticError,
            np.linalg.LinAlgError,
        ):
            out[name] = (np.nan, np.nan)

    def freq(transform, method):
        r = pool_proportions(events, n, transform=transform, method=method, level=level)
        return r.ci_low, r.ci_high

    def glmm():
        r = glmm_logit(events, n, level=level)
        return r.ci_low, r.ci_high

    ln_state: dict = {}

    def ln():
        ln_state["post"] = logit_normal_exact(
            events, n, ln_priors or LogitNormalPriors(), **LN_GRID
        )
        return tuple(ln_state["post"].quantile("pooled_rate", q))

    def ln_mean():
        post = ln_state.get("post")
        if post is None:
            raise ValueError("no logit-normal posterior")
        g = post.grid
        mu, tau = np.meshgrid(g.x, g.y, indexing="ij")
        x, w = np.polynomial.hermite_e.hermegauss(48)
        w = w / w.sum()
        mean = np.tensordot(expit(mu[..., None] + tau[..., None] * x), w, axes=([-1], [0]))
        return tuple(_weighted_quantile(mean, g.weights, q))

    def bb():
        post = beta_binomial_exact(events, n, bb_priors or BetaBinomialPriors())
        return tuple(post.quantile("mu", q))

    fns = {
        "PFT-DL": lambda: freq("pft", "DL"),
        "logit-REML": lambda: freq("logit", "REML"),
        "GLMM": glmm,
        "LN-exact": ln,
        "LN-exact-mean": ln_mean,
        "BB-exact": bb,
    }
    wanted = set(METHODS if methods is None else methods)
    if "LN-exact-mean" in wanted:
        wanted.add("LN-exact")  # the mean-rate interval reuses the LN-exact grid
    for name in METHODS:
        if name in wanted:
            attempt(name, fns[name])
    return {k: v for k, v in out.items() if methods is None or k in methods}


def replicate_seed(seed: int, cell_index: int, replicate: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence([int(seed), int(cell_index), int(replicate)])
    )


def run_cell(cell: Cell, cell_index: int, replicates: int | range, seed: int) -> pd.DataFrame:
    """Replicates (a count, or a range of replicate numbers) of one cell: one row per replicate
    and method (``low``, ``high``)."""
    rows = []
    reps = range(int(replicates)) if isinstance(replicates, int) else replicates
    for r in reps:
        y, n = cell.simulate(replicate_seed(seed, cell_index, r))
        for method, (lo, hi) in intervals(y, n).items():
            rows.append(
                {
                    "cell": cell_index,
                    "replicate": r,
                    "method": method,
                    "low": lo,
                    "high": hi,
                    "zero_events": int((y == 0).sum()),
                }
            )
    return pd.DataFrame(rows)


def summarise(raw: pd.DataFrame, cells: Sequence[Cell]) -> pd.DataFrame:
    """Coverage (of the method's target, of the median and of the mean rate), its Monte Carlo SE
    ``sqrt(c (1 - c) / R)``, misses below/above, median width and failures, per cell and method."""
    rows = []
    for (ci, method), grp in raw.groupby(["cell", "method"], sort=True):
        cell = cells[int(ci)]
        targets = cell.targets()
        ok = grp.dropna(subset=["low", "high"])
        m = len(ok)
        target = targets[METHODS[method]]
        row = {
            "k": cell.k,
            "n_range": cell.n_range,
            "rate": cell.rate,
            "tau": cell.tau,
            "method": method,
            "target": METHODS[method],
            "target_value": target,
            "replicates": len(grp),
            "n_ok": m,
            "n_failed": len(grp) - m,
        }
        if m:
            cover = (ok["low"] <= target) & (target <= ok["high"])
            c = float(cover.mean())
            row.update(
                coverage=c,
                mcse=float(np.sqrt(c * (1 - c) / m)),
                miss_low=float((ok["high"] < target).mean()),
                miss_high=float((ok["low"] > target).mean()),
                median_width=float((ok["high"] - ok["low"]).median()),
            )
            for name in ("median_rate", "mean_rate"):
                t = targets[name]
                row[f"coverage_{name}"] = float(((ok["low"] <= t) & (t <= ok["high"])).mean())
        else:
            row.update(
                coverage=np.nan,
                mcse=np.nan,
                miss_low=np.nan,
                miss_high=np.nan,
                median_width=np.nan,
                coverage_median_rate=np.nan,
                coverage_mean_rate=np.nan,
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    order = {m: i for i, m in enumerate(METHODS)}
    out["_m"] = out["method"].map(order)
    out = out.sort_values(["tau", "rate", "n_range", "k", "_m"], ignore_index=True).drop(
        columns="_m"
    )
    return out


@dataclass(frozen=True)
class CoverageStudy:
    """Result of :func:`run_coverage`: raw intervals, the summary table and the run record."""

    cells: tuple[Cell, ...]
    replicates: int
    seed: int
    raw: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    seconds: float = 0.0
    workers: int = 1

    def to_frame(self) -> pd.DataFrame:
        return self.summary.copy()


#: Where the code that decides the study's numbers starts (the simulation, every interval method
#: and the priors): cached blocks are keyed by the source of these modules and of every module of
#: the package they import (:func:`bayes_anlo.runner.cache.import_closure`), so an edit elsewhere
#: in the package (reports, CLI, NUTS models) keeps a long sweep's finished blocks.
FINGERPRINTED_MODULES = ("bayes_anlo.studies.coverage",)

#: Columns of the raw table (one row per cell, replicate and method).
RAW_COLUMNS = ("cell", "replicate", "method", "low", "high", "zero_events")


def code_fingerprint() -> str:
    """sha256 of the source that decides a block's numbers (:data:`FINGERPRINTED_MODULES` and the
    package modules they import)."""
    from bayes_anlo.runner.cache import modules_fingerprint

    return modules_fingerprint(FINGERPRINTED_MODULES)


def coverage_tasks(cells: Sequence[Cell], replicates: int, seed: int, block: int = 25) -> list:
    """Runner tasks: one per (cell, block of ``block`` replicates); all cells' first blocks come
    before any second block (heavy cells, large ``k``, first), so an interrupted run has a
    balanced partial result. A task's key holds the design cell, its index, the replicate range
    and the seed; replicate ``r`` of cell ``c`` draws from ``SeedSequence([seed, c, r])`` wherever
    it runs."""
    from dataclasses import asdict

    from bayes_anlo.runner import FitTask

    if int(replicates) < 1 or int(block) < 1:
        raise ValueError("replicates and block must be at least 1")
    order = sorted(range(len(cells)), key=lambda i: -cells[i].k)
    return [
        FitTask(
            f"coverage cell {i} replicates {lo}-{min(lo + block, replicates) - 1}",
            {"study": "coverage", "cell": asdict(cells[i])},
            {},
            int(seed),
            {"cell_index": i, "first": lo, "stop": min(lo + block, replicates)},
        )
        for lo in range(0, int(replicates), int(block))
        for i in order
    ]


def coverage_block(task) -> dict:
    """Task function of the runner: the raw rows of one block (:func:`run_cell`) as lists."""
    cell = Cell(**task.config["cell"])
    extra = task.extra
    raw = run_cell(cell, extra["cell_index"], range(extra["first"], extra["stop"]), task.seed)
    return {"rows": [[row[c] for c in RAW_COLUMNS] for row in raw.to_dict("records")]}


def raw_frame(results: Sequence[dict]) -> pd.DataFrame:
    """The raw table from block results (non-finite limits come back from JSON as strings)."""
    rows = [row for result in results for row in result["rows"]]
    raw = pd.DataFrame(rows, columns=list(RAW_COLUMNS))
    raw = raw.astype({"cell": int, "replicate": int, "low": float, "high": float})
    raw["zero_events"] = raw["zero_events"].astype(int)
    return raw.sort_values(["cell", "replicate", "method"], ignore_index=True)


def run_coverage(
    cells: Sequence[Cell] | None = None,
    *,
    replicates: int = 100,
    seed: int = 20260401,
    block: int = 25,
    scheduler: str | None = None,
    workers: int = 1,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CoverageStudy:
    """Run the study over ``cells`` (default :func:`design`) with ``replicates`` datasets per cell,
    through :func:`bayes_anlo.runner.execute.run` (:func:`coverage_tasks`).

    ``scheduler``: None (serial; a local Dask cluster when ``workers > 1``), ``"local"`` (a local
    Dask cluster of ``workers`` single-threaded processes) or a Dask scheduler address. With
    ``cache_dir`` every finished block is stored there and re-used by a later run with the same
    seed, design cell and code (:func:`code_fingerprint`), so an interrupted run resumes.
    ``progress(done, total)`` counts blocks. The result does not depend on where or in what order
    the blocks ran.
    """
    from bayes_anlo.runner import run

    cells = tuple(cells or design())
    if scheduler is None and int(workers) > 1:
        scheduler = "local"
    start = time.perf_counter()
    results = run(
        coverage_tasks(cells, replicates, seed, block),
        coverage_block,
        scheduler=scheduler,
        n_workers=workers,
        cache_dir=cache_dir,
        progress=progress,
        code_modules=FINGERPRINTED_MODULES,
    )
    raw = raw_frame(results)
    return CoverageStudy(
        cells,
        int(replicates),
        int(seed),
        raw,
        summarise(raw, cells),
        time.perf_counter() - start,
        1 if scheduler is None else int(workers),
    )


def coverage_markdown(summary: pd.DataFrame, *, digits: int = 2) -> str:
    """Compact Markdown table: one row per cell, ``coverage (median width)`` per method."""
    methods = [m for m in METHODS if m in set(summary["method"])]
    header = "| tau | rate | n | k | " + " | ".join(methods) + " |"
    lines = [header, "|" + "---|" * (4 + len(methods))]
    for (tau, rate, n_range, k), grp in summary.groupby(
        ["tau", "rate", "n_range", "k"], sort=False
    ):
        cells = []
        by = grp.set_index("method")
        for m in methods:
            c, w = by.loc[m, "coverage"], by.loc[m, "median_width"]
            txt = "n/a" if not np.isfinite(c) else f"{c:.{digits}f} ({w:.3f})"
            if np.isfinite(c) and c < 0.90:
                txt = f"**{txt}**"
            if by.loc[m, "n_failed"] > 0:
                txt += f" [{int(by.loc[m, 'n_failed'])} fail]"
            cells.append(txt)
        lines.append(f"| {tau:g} | {rate:g} | {n_range} | {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def coverage_overview(summary: pd.DataFrame) -> str:
    """Markdown: per heterogeneity x study size (rows) and method (columns), the mean coverage over
    the cells' rates and k, the lowest cell and where it is (``rate/k``), e.g. ``0.94 (0.81 at
    0.03/20)``."""
    methods = [m for m in METHODS if m in set(summary["method"])]
    lines = ["| tau | n | " + " | ".join(methods) + " |", "|" + "---|" * (2 + len(methods))]
    for (tau, n_range), grp in summary.groupby(["tau", "n_range"], sort=False):
        cells = []
        for m in methods:
            g = grp[grp["method"] == m].dropna(subset=["coverage"])
            worst = g.loc[g["coverage"].idxmin()]
            cells.append(
                f"{g['coverage'].mean():.2f} ({worst['coverage']:.2f} at "
                f"{worst['rate']:g}/{int(worst['k'])})"
            )
        lines.append(f"| {tau:g} | {n_range} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_coverage(summary: pd.DataFrame, path: str | Path | None = None):
    """Coverage vs k per method, faceted by rate (columns) and tau x n range (rows); the grey band
    is 0.95 +/- 2 Monte Carlo SE at the cell's replicate count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = sorted(summary["rate"].unique())
    rows = list(summary[["tau", "n_range"]].drop_duplicates().itertuples(index=False, name=None))
    rows.sort(key=lambda r: (r[0], int(r[1].split("-")[0])))
    methods = [m for m in METHODS if m in set(summary["method"])]
    colours = dict(
        zip(
            METHODS, ["#ee7733", "#009988", "#0077bb", "#cc3311", "#ee3377", "#555555"], strict=True
        )
    )
    markers = dict(zip(METHODS, ["o", "s", "^", "D", "v", "P"], strict=True))
    fig, axes = plt.subplots(
        len(rows),
        len(rates),
        figsize=(3.0 * len(rates), 2.4 * len(rows)),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    reps = float(summary["n_ok"].max())
    half = 2 * np.sqrt(0.95 * 0.05 / reps)
    ks = sorted(summary["k"].unique())
    bottom = min(0.8, float(np.floor(np.nanmin(summary["coverage"]) * 20) / 20))
    for i, (tau, n_range) in enumerate(rows):
        for j, rate in enumerate(rates):
            ax = axes[i, j]
            ax.axhspan(0.95 - half, 0.95 + half, color="0.88", lw=0)
            ax.axhline(0.95, color="0.5", lw=0.8)
            sub = summary[
                (summary["tau"] == tau)
                & (summary["n_range"] == n_range)
                & (summary["rate"] == rate)
            ]
            for m in methods:
                s = sub[sub["method"] == m].sort_values("k")
                ax.plot(
                    s["k"],
                    s["coverage"],
                    marker=markers[m],
                    color=colours[m],
                    lw=1.0,
                    ms=3.5,
                    label=m,
                )
            ax.set_xscale("log")
            ax.set_xticks(ks)
            ax.set_xticklabels([str(k) for k in ks])
            ax.minorticks_off()
            ax.set_ylim(bottom, 1.005)
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(f"median rate {rate:g}", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"tau={tau:g}, n={n_range}\ncoverage", fontsize=8)
            if i == len(rows) - 1:
                ax.set_xlabel("studies k", fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(methods), fontsize=8, frameon=False)
    fig.suptitle(
        "Coverage of 95% intervals for the pooled rate (each against its own target)", fontsize=10
    )
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
