"""One runner for repeated-fit workloads (issue 17): SBC, coverage, sweeps.

A workload is a list of :class:`~bayes_anlo.runner.tasks.FitTask` (model configuration, data and
seed, everything a fit needs) and a task function at module level that turns one task into a small
JSON-able result dict. :func:`~bayes_anlo.runner.execute.run` runs them serially, on a local Dask
cluster or on an external scheduler, and with a cache directory stores one file per task under a
content-addressed key (:mod:`bayes_anlo.runner.cache`), so an interrupted run resumes and a rerun
computes nothing::

    from bayes_anlo.runner import FitTask, run, task_seeds
    seeds = task_seeds(20260401, len(tables))
    tasks = [FitTask(f"data {i}", model.config(), table, seed)
             for i, (table, seed) in enumerate(zip(tables, seeds))]
    results = run(tasks, scheduler="local", n_workers=2, cache_dir="runs/cache")
"""

from bayes_anlo.runner.cache import (
    ResultCache,
    canonical_json,
    code_fingerprint,
    import_closure,
    modules_fingerprint,
    task_key,
)
from bayes_anlo.runner.execute import run
from bayes_anlo.runner.progress import progress_printer
from bayes_anlo.runner.tasks import FitTask, describe, fit_summary, task_seeds

__all__ = [
    "FitTask",
    "ResultCache",
    "canonical_json",
    "code_fingerprint",
    "describe",
    "fit_summary",
    "import_closure",
    "modules_fingerprint",
    "progress_printer",
    "run",
    "task_key",
    "task_seeds",
]
