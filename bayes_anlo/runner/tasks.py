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
    ``data`` is kept as a plain mapping of column name to list (JSON-able, hashable into the
    cache key, cheap to send to a worker); give a DataFrame and it is converted.
    """

    label: str
    config: dict
    data: Any
    seed: int
    extra: dict = field(default_factory=dict)

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
