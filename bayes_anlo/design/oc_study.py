"""Operating characteristics of one- and two-sample decision rules by simulation, through the sweep
runner: the check of the exact sums of :func:`~bayes_anlo.design.decisions.oc_one_sample` and
:func:`~bayes_anlo.design.decisions.oc_two_sample`, and the way to study a grid on many machines.

For every true rate (one sample) or pair of true rates (two samples) the trials are cut into blocks
of ``block`` simulations, one runner task each, seeded by
:func:`~bayes_anlo.runner.tasks.task_seeds`. A block draws its outcomes, keeps the distinct ones (a
trial of ``n`` patients has at most ``n + 1`` outcomes, a two-sample trial ``(n_T + 1)(n_C + 1)``),
decides each distinct outcome once through the rule's exact posterior and counts the rest. The
simulated probability of success comes with its Monte Carlo standard error
``sqrt(p (1 - p) / trials)`` and the exact value beside it.

Basket (EXNEX) simulations are in :mod:`bayes_anlo.design.basket_simulation`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from bayes_anlo.design.decisions import (
    Criterion,
    OneSampleRule,
    TwoSampleRule,
    oc_one_sample,
    oc_two_sample,
)
from bayes_anlo.design.mixtures import BetaMixture
from bayes_anlo.runner import FitTask, run, task_seeds


def _criteria_config(criteria: Sequence[Criterion]) -> list[dict]:
    return [
        {"threshold": c.threshold, "probability": c.probability, "direction": c.direction}
        for c in criteria
    ]


def _criteria(config: list[dict]) -> list[Criterion]:
    return [Criterion(c["threshold"], c["probability"], c["direction"]) for c in config]


def _block_sizes(sims: int, block: int) -> list[int]:
    if sims < 1 or block < 1:
        raise ValueError("sims and block must be positive")
    return [block] * (sims // block) + ([sims % block] if sims % block else [])


def simulate_one_sample_block(task: FitTask) -> dict:
    """Runner task: ``extra["sims"]`` one-sample trials at the true rate ``data["rate"][0]``."""
    config = task.config
    rule = OneSampleRule(_criteria(config["criteria"]))
    prior = BetaMixture.from_dict(config["prior"])
    n = int(config["n"])
    rng = np.random.default_rng(task.seed)
    events = rng.binomial(n, float(task.data["rate"][0]), size=int(task.extra["sims"]))
    distinct, counts = np.unique(events, return_counts=True)
    success = np.array([rule.decide(prior.posterior(int(y), n)) for y in distinct])
    return {
        "label": task.label,
        "sims": int(task.extra["sims"]),
        "distinct": int(distinct.size),
        "successes": int(counts @ success),
    }


@functools.lru_cache(maxsize=8)
def _two_sample_decider(key: str) -> Callable[[int, int], bool]:
    """``(y_T, y_C) -> decision`` of one design, each outcome decided once per process (a
    decision is a quadrature; blocks and rate pairs of the same design share the outcomes)."""
    config = json.loads(key)
    rule = TwoSampleRule(_criteria(config["criteria"]))
    prior_t = BetaMixture.from_dict(config["prior"])
    prior_c = BetaMixture.from_dict(config["control_prior"])
    n_t, n_c = int(config["n"]), int(config["n_control"])

    @functools.cache
    def decide(y_t: int, y_c: int) -> bool:
        return rule.decide(prior_t.posterior(y_t, n_t), prior_c.posterior(y_c, n_c))

    return decide


def simulate_two_sample_block(task: FitTask) -> dict:
    """Runner task: ``extra["sims"]`` two-sample trials at true rates ``data["rate"]`` =
    ``[treatment, control]``."""
    config = task.config
    decide = _two_sample_decider(json.dumps(config, sort_keys=True))
    n_t, n_c = int(config["n"]), int(config["n_control"])
    rate_t, rate_c = (float(r) for r in task.data["rate"])
    rng = np.random.default_rng(task.seed)
    sims = int(task.extra["sims"])
    outcomes = np.column_stack(
        [rng.binomial(n_t, rate_t, size=sims), rng.binomial(n_c, rate_c, size=sims)]
    )
    distinct, counts = np.unique(outcomes, axis=0, return_counts=True)
    success = np.array([decide(int(yt), int(yc)) for yt, yc in distinct])
    return {
        "label": task.label,
        "sims": sims,
        "distinct": int(len(distinct)),
        "successes": int(counts @ success),
    }


def oc_tasks(
    config: dict, rate_points: Sequence[Sequence[float]], *, sims: int, block: int, seed: int
) -> list[FitTask]:
    """Blocks of ``block`` trials (the last takes the remainder) for every point of true rates,
    seeds spawned from ``seed`` in point-then-block order."""
    sizes = _block_sizes(sims, block)
    seeds = iter(task_seeds(seed, len(rate_points) * len(sizes)))
    tasks = []
    for point in rate_points:
        name = "/".join(f"{r:g}" for r in point)
        for b, size in enumerate(sizes):
            tasks.append(
                FitTask(
                    f"rate {name} block {b + 1}",
                    config,
                    {"rate": [float(r) for r in point]},
                    next(seeds),
                    {"sims": size},
                )
            )
    return tasks


def _collect(results: Sequence[dict], points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    per_point = len(results) // points
    trials, successes, distinct = (np.zeros(points, dtype=np.int64) for _ in range(3))
    for i in range(points):
        blocks = results[i * per_point : (i + 1) * per_point]
        trials[i] = sum(b["sims"] for b in blocks)
        successes[i] = sum(b["successes"] for b in blocks)
        distinct[i] = sum(b["distinct"] for b in blocks)
    return trials, successes, distinct


def _table(columns: dict, trials, successes, distinct, exact) -> pd.DataFrame:
    p = successes / trials
    return pd.DataFrame(
        {
            **columns,
            "trials": trials,
            "successes": successes,
            "probability_of_success": p,
            "mcse": np.sqrt(p * (1 - p) / trials),
            "exact": exact,
            "distinct_outcomes": distinct,
        }
    )


def simulate_oc_one_sample(
    rule: OneSampleRule,
    prior: BetaMixture,
    n: int,
    rates,
    *,
    sims: int = 10_000,
    block: int = 10_000,
    seed: int = 20261130,
    scheduler: str | None = None,
    workers: int = 2,
    cache_dir=None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Simulated ``P(success | rate)`` for each true rate, with MC SE and the exact value.

    Columns ``rate, trials, successes, probability_of_success, mcse, exact,
    distinct_outcomes`` (distinct outcomes decided, summed over the rate's blocks)."""
    rates = np.asarray(rates, dtype=float)
    config = {
        "kind": "one_sample_oc",
        "prior": prior.to_dict(),
        "criteria": _criteria_config(rule.criteria),
        "n": int(n),
    }
    tasks = oc_tasks(config, [[r] for r in rates], sims=sims, block=block, seed=seed)
    results = run(
        tasks,
        simulate_one_sample_block,
        scheduler=scheduler,
        n_workers=workers,
        cache_dir=cache_dir,
        progress=progress,
    )
    trials, successes, distinct = _collect(results, rates.size)
    exact = oc_one_sample(rule, prior, int(n), rates)
    return _table({"rate": rates}, trials, successes, distinct, exact)


def simulate_oc_two_sample(
    rule: TwoSampleRule,
    prior_t: BetaMixture,
    prior_c: BetaMixture,
    n_t: int,
    n_c: int,
    rate_pairs,
    *,
    sims: int = 10_000,
    block: int = 10_000,
    seed: int = 20261130,
    scheduler: str | None = None,
    workers: int = 2,
    cache_dir=None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Simulated ``P(success | rate_T, rate_C)`` for each pair ``(rate_T, rate_C)``, with MC SE
    and the exact value (from the rule's success matrix). Columns ``treatment_rate,
    control_rate`` then as :func:`simulate_oc_one_sample`."""
    pairs = np.asarray(rate_pairs, dtype=float).reshape(-1, 2)
    config = {
        "kind": "two_sample_oc",
        "prior": prior_t.to_dict(),
        "control_prior": prior_c.to_dict(),
        "criteria": _criteria_config(rule.criteria),
        "n": int(n_t),
        "n_control": int(n_c),
    }
    tasks = oc_tasks(config, pairs.tolist(), sims=sims, block=block, seed=seed)
    results = run(
        tasks,
        simulate_two_sample_block,
        scheduler=scheduler,
        n_workers=workers,
        cache_dir=cache_dir,
        progress=progress,
    )
    trials, successes, distinct = _collect(results, len(pairs))
    success = rule.success_matrix(prior_t, prior_c, int(n_t), int(n_c))
    exact = oc_two_sample(success, pairs[:, 0], pairs[:, 1])
    return _table(
        {"treatment_rate": pairs[:, 0], "control_rate": pairs[:, 1]},
        trials,
        successes,
        distinct,
        exact,
    )
