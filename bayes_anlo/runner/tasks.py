"""Tasks of the runner: one fit of a model configuration to a data table under one seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def task_seeds(root: int, count: int) -> list[int]:
    """``count`` independent seeds from ``numpy.random.SeedSequence(root).spawn(count)`` (the
    first 32-bit word of each child's state), so task ``i`` gets the same seed wherever it runs."""
    children = np.random.SeedSequence(int(root)).spawn(int(count))
    return [int(child.generate_state(1)[0]) for child in children]


@dataclass(frozen=True)
class FitTask:
    """A model configuration (:meth:`bayes_anlo.models.Model.config`), a data table, a seed.

    ``extra`` holds any further JSON-able settings a task function reads (part of the key).
    ``payload`` is an optional picklable object the task function uses (say an SBC set-up) that
    is *not* part of the key: whoever makes the task puts a complete JSON description of it in
    ``config`` (e.g. :func:`describe`).
    ``data`` is kept as a plain mapping of column name to list (JSON-able, hashable into the
    cache key, cheap to send to a worker); give a DataFrame and it is converted.
    """

    label: str
    config: dict
    data: Any
    seed: int
    extra: dict = field(default_factory=dict)
    payload: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if isinstance(self.data, pd.DataFrame):
            columns = {
                str(c): [_plain(v) for v in self.data[c].tolist()] for c in self.data.columns
            }
            object.__setattr__(self, "data", columns)
        object.__setattr__(self, "seed", int(self.seed))

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.data)

    def identity(self) -> dict:
        """What decides the result (the cache key hashes this, with the code fingerprint and the
        task function's name). The label is in it too: results carry their task's label."""
        return {
            "label": self.label,
            "config": self.config,
            "data": self.data,
            "seed": self.seed,
            "extra": self.extra,
        }


def describe(value):
    """A JSON-able description of a tree of (frozen) dataclasses, tuples, numbers and strings:
    every field, recursively, with each dataclass's qualified class name, so two objects with the
    same description compute the same thing. Raises TypeError for anything else."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        out = {"class": f"{cls.__module__}.{cls.__qualname__}"}
        for f in dataclasses.fields(value):
            out[f.name] = describe(getattr(value, f.name))
        return out
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): describe(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot describe {type(value).__name__} values as JSON")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def fit_summary(task: FitTask) -> dict:
    """Fit ``task`` and return its summary row (:func:`bayes_anlo.sweeps.summary_row`: pooled and
    predictive rate, heterogeneity, divergences; two arms compared by ``options["arms"]``)."""
    import warnings

    from bayes_anlo.data.binary import load_binary
    from bayes_anlo.models.contract import Model
    from bayes_anlo.sweeps import summary_row

    model = Model.from_config(task.config)
    table = task.table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = model.fit(load_binary(table, label=task.label), random_seed=task.seed)
    row = {"label": task.label, "k": len(table), "seed": task.seed}
    row.update(summary_row(tree, task.config.get("options", {}).get("arms")))
    return row
