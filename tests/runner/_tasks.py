"""Small exact-engine tasks and counting task functions shared by the runner tests."""

from __future__ import annotations

import numpy as np

from bayes_anlo.models import BetaBinomial, LogitNormal, SamplerSettings
from bayes_anlo.runner import FitTask, fit_summary, task_seeds

#: Labels of the tasks each counting function was called with (this process only).
CALLS: list[str] = []


def counted_fit(task: FitTask) -> dict:
    CALLS.append(task.label)
    return fit_summary(task)


def cheap(task: FitTask) -> dict:
    """A task function with no fitting: a number decided by the data and the seed."""
    CALLS.append(task.label)
    events = np.asarray(task.data["events"])
    rng = np.random.default_rng(task.seed)
    return {"label": task.label, "value": float(events.sum() + rng.standard_normal())}


class Interrupted(RuntimeError):
    pass


STOP_AFTER = {"calls": None}


def interrupting(task: FitTask) -> dict:
    """:func:`cheap`, raising once ``STOP_AFTER["calls"]`` calls have been made (a killed run)."""
    limit = STOP_AFTER["calls"]
    if limit is not None and len(CALLS) >= limit:
        raise Interrupted(task.label)
    return cheap(task)


def exact_tasks(count: int = 4, root: int = 20261130) -> list[FitTask]:
    """``count`` simulated 4-study data sets, alternately beta-binomial and logit-normal (exact
    engines, 400 draws), with seeds spawned from ``root``."""
    sampler = SamplerSettings(draws=200, chains=2)
    configs = [
        BetaBinomial(method="exact", sampler=sampler).config(),
        LogitNormal(method="exact", sampler=sampler).config(),
    ]
    rng = np.random.default_rng(root)
    tasks = []
    for i, seed in enumerate(task_seeds(root, count)):
        n = rng.integers(10, 40, size=4)
        data = {
            "study": [f"S{j + 1}" for j in range(4)],
            "outcome": ["ORR"] * 4,
            "events": rng.binomial(n, 0.3).tolist(),
            "n": n.tolist(),
        }
        tasks.append(FitTask(f"data set {i}", configs[i % 2], data, seed))
    return tasks


def dies_once(task: FitTask) -> dict:
    """:func:`cheap`, except that the first call anywhere (claiming the flag file named in
    ``task.extra["kill_flag"]``) ends its process at once, as a killed worker would."""
    import os

    try:
        os.close(os.open(task.extra["kill_flag"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return cheap(task)
    os._exit(1)
