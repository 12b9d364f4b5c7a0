"""Sweeps: the same analysis refitted many times (leave-one-study-out, prior sets), serially or on
Dask.

A sweep is a list of :class:`Task` objects, each carrying everything its fit needs (data, priors,
seed), so a task gives the same answer wherever it runs: the serial path and a Dask cluster produce
identical tables for the same seeds (tested with a two-worker ``LocalCluster``).

::

    from bayes_anlo.sweeps import leave_one_out_tasks, run_tasks
    tasks = leave_one_out_tasks(spec_path, "orr")
    table = run_tasks(tasks, scheduler="local")        # or None (serial) or "tcp://host:8786"

``bayes-anlo sweep SPEC --analysis ID --kind loo|priors [--scheduler ADDRESS]`` runs the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_anlo.errors import InputError
from bayes_anlo.models.sampling import derived_seed


@dataclass(frozen=True)
class Task:
    """One refit: a model (by spec name) on a data table, with priors, settings and a seed."""

    label: str
    model: str
    table: pd.DataFrame
    seed: int
    method: str = "auto"
    priors: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    sampler: dict = field(default_factory=dict)

    def config(self) -> dict:
        """The model configuration of this task (:meth:`bayes_anlo.models.Model.from_config`)."""
        return {
            "model": self.model,
            "priors": self.priors or None,
            "method": self.method,
            "sampler": dict(self.sampler),
            "options": dict(self.options),
        }


def fit_task(task: Task) -> dict:
    """Fit one task and return its summary row (pooled and predictive rate, heterogeneity)."""
    import warnings

    from bayes_anlo.data.binary import load_binary
    from bayes_anlo.models.contract import Model

    model = Model.from_config(task.config())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = model.fit(load_binary(task.table, label=task.label), random_seed=task.seed)
    row = {"label": task.label, "k": len(task.table), "seed": task.seed}
    row.update(summary_row(tree, task.options.get("arms")))
    return row


def summary_row(tree, arms=None) -> dict:
    """The summary of one fitted tree: pooled and predictive rate (median, interval), the
    heterogeneity medians, divergences, and for two arms the comparison of ``arms``."""
    from bayes_anlo.report.tables import summarise_variable

    post = tree["posterior"].to_dataset()
    row: dict = {}
    if "rate" in post and "arm" in post["rate"].dims:
        row.update(_two_arm_summary(post, arms))
    for name in ("pooled_rate", "predictive_rate"):
        if name in post:
            s = summarise_variable(post, name).iloc[0]
            row.update(
                {
                    f"{name}_median": s["median"],
                    f"{name}_low": s["ci_low"],
                    f"{name}_high": s["ci_high"],
                }
            )
    for name in ("kappa", "tau"):
        if name in post:
            row[f"{name}_median"] = float(np.median(post[name].values))
    if "diverging" in tree.get("sample_stats", {}):
        row["divergences"] = int(tree["sample_stats"]["diverging"].values.sum())
    return row


def _two_arm_summary(post, arms) -> dict:
    """P(p1 > p2) and the difference, with the arms picked by label (``arms``, else the fit's
    order), so that every refit of a sweep compares the same arms in the same direction."""
    from bayes_anlo.report.tables import summarise_variable

    first, second = (list(arms) if arms else [str(a) for a in post["arm"].values])[:2]
    p1, p2 = post["rate"].sel(arm=first), post["rate"].sel(arm=second)
    diff = (p1 - p2).rename("difference_by_label").to_dataset()
    s = summarise_variable(diff, "difference_by_label").iloc[0]
    return {
        "arm_1": first,
        "arm_2": second,
        "prob_arm_1_greater": float((p1 > p2).mean()),
        "difference_median": s["median"],
        "difference_low": s["ci_low"],
        "difference_high": s["ci_high"],
    }


def run_tasks(
    tasks: list[Task],
    scheduler: str | None = None,
    n_workers: int = 2,
    timeout: float | None = None,
) -> pd.DataFrame:
    """Run tasks serially (``scheduler=None``), on a local Dask cluster (``"local"``, ``n_workers``
    >= 1 processes) or on an existing cluster (its address, e.g. ``"tcp://10.0.0.5:8786"``; one
    that does not answer within ``timeout`` seconds, default
    :data:`bayes_anlo.runner.execute.SCHEDULER_TIMEOUT`, is an
    InputError). Rows come back in task order."""
    if int(n_workers) < 1:
        raise InputError(f"workers must be at least 1, not {n_workers}", file="command line")
    if scheduler is None:
        return pd.DataFrame([fit_task(t) for t in tasks])
    from bayes_anlo.runner.execute import dask_client

    with dask_client(scheduler, int(n_workers), timeout) as client:
        return pd.DataFrame(client.gather(client.map(fit_task, tasks, pure=False)))


def _entry_and_data(spec_path: str | Path, analysis_id: str, method: str | None = None):
    import dataclasses

    from bayes_anlo.pipeline.binary import load_entry_data
    from bayes_anlo.spec import load_spec

    spec = load_spec(spec_path)
    for index, entry in enumerate(spec.analyses):
        if entry.id == analysis_id:
            if entry.model == "piecewise_exponential":
                raise InputError(
                    f"sweeps support response-rate analyses; {analysis_id!r} is a survival analysis"
                )
            if method is not None:
                if method not in ("auto", "nuts", "exact"):
                    raise InputError(f"method must be 'auto', 'nuts' or 'exact', not {method!r}")
                entry = dataclasses.replace(entry, method=method)
            return spec, index, entry, load_entry_data(entry)
    raise InputError(
        f"no analysis {analysis_id!r} in the spec (has: {', '.join(a.id for a in spec.analyses)})",
        file=str(spec_path),
    )


def _sampler(spec, entry, overrides: dict | None) -> dict:
    return {**spec.sampler, **entry.sampler, **(overrides or {})}


def _options(entry, data) -> dict:
    """The model options of every task: the spec's, its ``by`` column, and for two arms the arm
    order of the full data fixed by label (leaving a study out must not swap arm 1 and arm 2)."""
    options = dict(entry.options)
    if entry.by is not None:
        options["by"] = entry.by
    if entry.model == "two_arm" and not options.get("arms"):
        column = options.get("by", "arm")
        if column in data.table.columns:
            options["arms"] = [str(v) for v in dict.fromkeys(data.table[column])]
    return options


def leave_one_out_tasks(
    spec_path: str | Path, analysis_id: str, sampler: dict | None = None, method: str | None = None
) -> list[Task]:
    """The full fit plus one fit per left-out study (Bayesian leave-one-study-out); ``method``
    overrides the spec's ("auto", "exact" or "nuts")."""
    spec, index, entry, data = _entry_and_data(spec_path, analysis_id, method)
    base = derived_seed(spec.seed, 1000 + index)
    table = data.table
    if len(table) < 3:
        raise InputError(
            f"leave-one-out needs at least 3 studies; {analysis_id!r} has {len(table)}"
        )
    options = _options(entry, data)
    tasks = [
        Task(
            "all studies",
            entry.model,
            table,
            base,
            entry.method,
            entry.priors,
            options,
            _sampler(spec, entry, sampler),
        )
    ]
    for i, label in enumerate(data.labels):
        tasks.append(
            Task(
                f"without {label}",
                entry.model,
                table.drop(index=table.index[i]).reset_index(drop=True),
                derived_seed(base, i + 1),
                entry.method,
                entry.priors,
                options,
                _sampler(spec, entry, sampler),
            )
        )
    return tasks


def prior_tasks(
    spec_path: str | Path, analysis_id: str, sampler: dict | None = None, method: str | None = None
) -> list[Task]:
    """One fit per prior set: the spec's priors and each of the model's named alternatives."""
    from bayes_anlo.models.registry import family

    spec, index, entry, data = _entry_and_data(spec_path, analysis_id, method)
    priors_class = family(entry.model).priors_class
    base = derived_seed(spec.seed, 2000 + index)
    options = _options(entry, data)
    tasks = [
        Task(
            "spec priors",
            entry.model,
            data.table,
            base,
            entry.method,
            entry.priors,
            options,
            _sampler(spec, entry, sampler),
        )
    ]
    for i, name in enumerate(priors_class.alternatives(), start=1):
        tasks.append(
            Task(
                f"prior set {name}",
                entry.model,
                data.table,
                derived_seed(base, i),
                entry.method,
                {"set": name},
                options,
                _sampler(spec, entry, sampler),
            )
        )
    return tasks
