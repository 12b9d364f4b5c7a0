"""Operating characteristics of an EXNEX basket trial by simulation through the sweep runner.

A *scenario* gives the true response rate of every subtype; a trial draws ``y_j ~ Binomial(n_j,
rate_j)`` in each subtype, analyses the outcome vector with the EXNEX model (exactly, by
:class:`~bayes_anlo.exact.exnex_components.ExnexComponentsPosterior`) and decides *go* in subtype
``j`` when ``P(p_j > threshold_j | y) > probability_j`` (and, optionally, the posterior mean of
``p_j`` exceeds ``min_mean_j``, the combined rule of Neuenschwander et al. 2016, section 3.1).
Reported per subtype: the go probability with its Monte Carlo SE, the average posterior mean, its
bias and mean squared error; per scenario: the family-wise error (a go in at least one subtype
whose true rate is at most its threshold) and the probability of any go.

The simulations of each scenario are cut into blocks of ``block`` trials, one runner task each
(:func:`bayes_anlo.runner.execute.run`: serial, a local Dask cluster or a scheduler address, with a
content-addressed cache), seeded by :func:`~bayes_anlo.runner.tasks.task_seeds`. A block analyses
each *distinct* outcome vector once and counts how often it occurred; a worker process also keeps
the vectors it has analysed (for every block and scenario of the same design), so a design of four
subtypes of 20, 20, 10 and 10 patients (53,361 possible outcomes) analyses a few thousand vectors
for tens of thousands of trials. Analyses are deterministic, so the results do not depend on where a
block ran nor on what that worker analysed before.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.exact.exnex_components import ExnexComponentsPosterior, ExnexComponentsPrior
from bayes_anlo.runner import FitTask, run, task_seeds

TASK_KIND = "basket_oc"


@dataclass(frozen=True)
class BasketRule:
    """Go in subtype ``j`` when ``P(p_j > threshold[j]) > probability[j]`` and (if given) the
    posterior mean of ``p_j`` exceeds ``min_mean[j]``."""

    threshold: tuple[float, ...]
    probability: tuple[float, ...]
    min_mean: tuple[float, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "threshold", tuple(float(v) for v in self.threshold))
        object.__setattr__(self, "probability", tuple(float(v) for v in self.probability))
        if self.min_mean is not None:
            object.__setattr__(self, "min_mean", tuple(float(v) for v in self.min_mean))
        sizes = {len(self.threshold), len(self.probability)}
        if self.min_mean is not None:
            sizes.add(len(self.min_mean))
        if len(sizes) != 1:
            raise ValueError("give one threshold, probability (and min_mean) per subtype")
        if not all(0 < t < 1 for t in self.threshold) or not all(
            0 < c < 1 for c in self.probability
        ):
            raise ValueError("thresholds and probabilities lie in (0, 1)")

    def go(self, prob_greater: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """Boolean go decisions (same shape as the posterior summaries, subtypes last)."""
        out = prob_greater > np.asarray(self.probability)
        if self.min_mean is not None:
            out &= mean > np.asarray(self.min_mean)
        return out

    def config(self) -> dict:
        return {
            "threshold": list(self.threshold),
            "probability": list(self.probability),
            "min_mean": None if self.min_mean is None else list(self.min_mean),
        }

    @classmethod
    def from_config(cls, config: dict) -> BasketRule:
        return cls(config["threshold"], config["probability"], config.get("min_mean"))

    def describe(self, j: int) -> str:
        text = f"P(p_{j + 1} > {self.threshold[j]:g}) > {self.probability[j]:g}"
        if self.min_mean is not None:
            text += f" and E(p_{j + 1}) > {self.min_mean[j]:g}"
        return text


@dataclass(frozen=True)
class Scenario:
    """A named set of true subtype response rates."""

    name: str
    rates: tuple[float, ...]

    def __post_init__(self):
        object.__setattr__(self, "rates", tuple(float(r) for r in self.rates))
        if not all(0.0 <= r <= 1.0 for r in self.rates):
            raise ValueError("true rates lie in [0, 1]")


@functools.lru_cache(maxsize=8)
def _engine(key: str) -> ExnexComponentsPosterior:
    """One engine (grid tables, analysed vectors) per design and process."""
    spec = json.loads(key)
    engine = ExnexComponentsPosterior(
        ExnexComponentsPrior.from_config(spec["prior"]),
        spec["n"],
        spec["rule"]["threshold"],
        h_mu=spec["grid"][0],
        h_tau=spec["grid"][1],
    )
    return engine


def simulate_basket_block(task: FitTask) -> dict:
    """Runner task: ``extra["sims"]`` trials of one scenario (``task.data["rate"]``) under one
    seed; counts of go decisions and sums of posterior means (JSON-able)."""
    config = task.config
    rates = np.asarray(task.data["rate"], dtype=float)
    n = np.asarray(config["n"], dtype=np.int64)
    rule = BasketRule.from_config(config["rule"])
    engine = _engine(json.dumps(config, sort_keys=True))
    rng = np.random.default_rng(task.seed)
    sims = int(task.extra["sims"])
    outcomes = rng.binomial(n, rates, size=(sims, n.size))
    distinct, counts = np.unique(outcomes, axis=0, return_counts=True)
    results = [engine.analyse(row) for row in distinct]
    prob = np.array([r["prob_greater"] for r in results])
    mean = np.array([r["mean"] for r in results])
    go = rule.go(prob, mean)
    null = rates <= np.asarray(rule.threshold)
    return {
        "label": task.label,
        "sims": sims,
        "distinct": int(len(distinct)),
        "go": (counts @ go).tolist(),
        "any_go": int(counts @ go.any(axis=1)),
        "any_go_null": int(counts @ (go & null).any(axis=1)),
        "sum_mean": (counts @ mean).tolist(),
        "sum_squared_error": (counts @ np.square(mean - rates)).tolist(),
        "sum_prob_exchangeable": (
            counts @ np.array([r["prob_exchangeable"] for r in results])
        ).tolist(),
    }


def basket_tasks(
    scenarios: Sequence[Scenario],
    n: Sequence[int],
    prior: ExnexComponentsPrior,
    rule: BasketRule,
    *,
    sims: int,
    block: int,
    seed: int,
    grid: tuple[float, float] = (0.2, 0.1),
) -> list[FitTask]:
    """``ceil(sims / block)`` tasks per scenario (the last block takes the remainder), seeds
    spawned from ``seed`` in scenario-then-block order."""
    if sims < 1 or block < 1:
        raise ValueError("sims and block must be positive")
    sizes = [block] * (sims // block) + ([sims % block] if sims % block else [])
    seeds = iter(task_seeds(seed, len(scenarios) * len(sizes)))
    config = {
        "kind": TASK_KIND,
        "prior": prior.config(),
        "n": [int(v) for v in n],
        "rule": rule.config(),
        "grid": [float(grid[0]), float(grid[1])],
    }
    tasks = []
    for scenario in scenarios:
        if len(scenario.rates) != len(config["n"]):
            raise ValueError(f"scenario {scenario.name!r}: one rate per subtype")
        for b, size in enumerate(sizes):
            tasks.append(
                FitTask(
                    f"{scenario.name} block {b + 1}",
                    config,
                    {"rate": list(scenario.rates)},
                    next(seeds),
                    {"sims": size},
                )
            )
    return tasks


def summarise_basket(
    scenarios: Sequence[Scenario], n: Sequence[int], rule: BasketRule, results: Sequence[dict]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per subtype (``go_probability``, ``mcse``, ``mean_estimate``, ``bias``, ``mse``,
    ``prob_exchangeable``) and per scenario (``family_wise_error``, ``any_go``, their MC SEs,
    ``trials``, ``analysed``: distinct vectors of each block, summed over blocks, an upper bound on
    the analyses since a worker analyses a vector once for all its blocks) from the results, in
    the order :func:`basket_tasks` made them."""
    per_scenario = len(results) // len(scenarios)
    subtype_rows, scenario_rows = [], []
    for s, scenario in enumerate(scenarios):
        blocks = results[s * per_scenario : (s + 1) * per_scenario]
        trials = sum(b["sims"] for b in blocks)
        go = np.sum([b["go"] for b in blocks], axis=0) / trials
        mean = np.sum([b["sum_mean"] for b in blocks], axis=0) / trials
        mse = np.sum([b["sum_squared_error"] for b in blocks], axis=0) / trials
        p_ex = np.sum([b["sum_prob_exchangeable"] for b in blocks], axis=0) / trials
        rates = np.asarray(scenario.rates)
        for j in range(len(n)):
            subtype_rows.append(
                {
                    "scenario": scenario.name,
                    "subtype": j + 1,
                    "n": int(n[j]),
                    "rate": rates[j],
                    "rule": rule.describe(j),
                    "go_probability": go[j],
                    "mcse": float(np.sqrt(go[j] * (1 - go[j]) / trials)),
                    "mean_estimate": mean[j],
                    "bias": mean[j] - rates[j],
                    "mse": mse[j],
                    "prob_exchangeable": p_ex[j],
                }
            )
        null = rates <= np.asarray(rule.threshold)
        fwer = sum(b["any_go_null"] for b in blocks) / trials if null.any() else np.nan
        any_go = sum(b["any_go"] for b in blocks) / trials
        scenario_rows.append(
            {
                "scenario": scenario.name,
                "null_subtypes": int(null.sum()),
                "family_wise_error": fwer,
                "family_wise_error_mcse": float(np.sqrt(fwer * (1 - fwer) / trials))
                if null.any()
                else np.nan,
                "any_go": any_go,
                "any_go_mcse": float(np.sqrt(any_go * (1 - any_go) / trials)),
                "trials": trials,
                "analysed": sum(b["distinct"] for b in blocks),
            }
        )
    return pd.DataFrame(subtype_rows), pd.DataFrame(scenario_rows)


def basket_oc(
    scenarios: Sequence[Scenario],
    n: Sequence[int],
    prior: ExnexComponentsPrior,
    rule: BasketRule,
    *,
    sims: int = 10_000,
    block: int = 2_500,
    seed: int = 20261130,
    scheduler: str | None = None,
    workers: int = 2,
    cache_dir=None,
    progress: Callable[[int, int], None] | None = None,
    grid: tuple[float, float] = (0.2, 0.1),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated operating characteristics of the basket design in every scenario (see the
    module docstring); returns the subtype and scenario tables of :func:`summarise_basket`."""
    tasks = basket_tasks(scenarios, n, prior, rule, sims=sims, block=block, seed=seed, grid=grid)
    results = run(
        tasks,
        simulate_basket_block,
        scheduler=scheduler,
        n_workers=workers,
        cache_dir=cache_dir,
        progress=progress,
    )
    return summarise_basket(scenarios, n, rule, results)
