"""The runner gives byte-identical results serially and on Dask workers, and resumes from its
cache: a rerun computes nothing, a run after losing cache files or an interruption computes only
what is missing and equals the uninterrupted run."""

from __future__ import annotations

import os
import random

import pytest

from bayes_anlo.errors import InputError
from bayes_anlo.runner import FitTask, canonical_json, run
from tests.runner import _tasks
from tests.runner._tasks import (
    Interrupted,
    cheap,
    counted_fit,
    dies_once,
    exact_tasks,
    interrupting,
)


@pytest.fixture(autouse=True)
def fresh_calls():
    _tasks.CALLS.clear()
    _tasks.STOP_AFTER["calls"] = None
    yield
    _tasks.STOP_AFTER["calls"] = None


def test_external_scheduler_with_two_workers_matches_serial_byte_for_byte(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    tasks = exact_tasks(4)
    serial = run(tasks)
    assert [r["label"] for r in serial] == [t.label for t in tasks]
    assert all(0 < r["pooled_rate_low"] < r["pooled_rate_high"] < 1 for r in serial)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = run(tasks, scheduler=cluster.scheduler_address, compile_root=tmp_path / "compile")
        flags = client.run(os.getenv, "PYTENSOR_FLAGS")
    assert canonical_json(remote) == canonical_json(serial)
    dirs = {value.split("base_compiledir=")[1] for value in flags.values()}
    assert len(dirs) == 2  # one compile directory per worker
    assert all(d.startswith(str(tmp_path / "compile" / "worker-")) for d in dirs)


def test_a_worker_killed_mid_run_is_replaced_and_the_result_is_unchanged(tmp_path):
    pytest.importorskip("dask.distributed")
    flag = tmp_path / "killed"
    tasks = [
        FitTask(t.label, t.config, t.data, t.seed, {"kill_flag": str(flag)}) for t in exact_tasks(6)
    ]
    flag.touch()
    serial = run(tasks, dies_once)  # the flag exists: nobody dies
    flag.unlink()
    remote = run(tasks, dies_once, scheduler="local", n_workers=2, cache_dir=tmp_path / "cache")
    assert flag.exists()  # one worker did die
    assert canonical_json(remote) == canonical_json(serial)


def test_rerun_with_the_cache_computes_nothing(tmp_path):
    tasks = exact_tasks(3)
    first = run(tasks, counted_fit, cache_dir=tmp_path)
    assert len(_tasks.CALLS) == 3
    _tasks.CALLS.clear()
    seen = []
    again = run(tasks, counted_fit, cache_dir=tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert _tasks.CALLS == []
    assert seen == [(3, 3)]
    assert canonical_json(again) == canonical_json(first)


def test_resumed_run_after_losing_half_the_cache_equals_the_full_run(tmp_path):
    tasks = exact_tasks(4)
    full = run(tasks, counted_fit, cache_dir=tmp_path / "cache")
    files = sorted((tmp_path / "cache").glob("*/*.json"))
    assert len(files) == 4
    for path in random.Random(0).sample(files, 2):
        path.unlink()
    _tasks.CALLS.clear()
    resumed = run(tasks, counted_fit, cache_dir=tmp_path / "cache")
    assert len(_tasks.CALLS) == 2
    assert canonical_json(resumed) == canonical_json(full)
    assert canonical_json(resumed) == canonical_json(run(tasks))  # and equals no cache at all


def test_an_interrupted_run_keeps_finished_results_and_resumes(tmp_path):
    tasks = exact_tasks(6)
    uninterrupted = run(tasks, cheap)
    _tasks.CALLS.clear()
    _tasks.STOP_AFTER["calls"] = 4
    with pytest.raises(Interrupted):
        run(tasks, interrupting, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*/*.json"))) == 4
    _tasks.STOP_AFTER["calls"] = None
    _tasks.CALLS.clear()
    resumed = run(tasks, interrupting, cache_dir=tmp_path)
    assert len(_tasks.CALLS) == 2
    assert canonical_json(resumed) == canonical_json(uninterrupted)


def test_identical_tasks_are_computed_once(tmp_path):
    task = exact_tasks(1)[0]
    results = run([task, task], cheap)
    assert len(_tasks.CALLS) == 1
    assert results[0] == results[1]


def test_unreachable_scheduler_and_zero_workers_are_input_errors():
    with pytest.raises(InputError, match="cannot reach"):
        run(exact_tasks(1), cheap, scheduler="tcp://127.0.0.1:9", timeout=1)
    with pytest.raises(InputError, match="at least 1"):
        run(exact_tasks(1), cheap, n_workers=0)


def test_a_local_cluster_that_fails_to_start_is_an_input_error(monkeypatch, tmp_path):
    """Under heavy load Dask's LocalCluster can raise "Nanny failed to start." (seen this round):
    the run reports it as one error naming --workers, not a traceback, and keeps its cache."""
    import dask.distributed

    def refuse(*args, **kwargs):
        raise RuntimeError("Nanny failed to start.")

    cache = tmp_path / "cache"
    run(exact_tasks(2), cheap, cache_dir=cache)  # finished earlier, serially
    monkeypatch.setattr(dask.distributed, "LocalCluster", refuse)
    with pytest.raises(InputError, match=r"--workers 2: could not start .*Nanny failed"):
        run(exact_tasks(3), cheap, scheduler="local", n_workers=2, cache_dir=cache)
    assert len(list(cache.rglob("*.json"))) == 2


@pytest.mark.slow
def test_nuts_tasks_on_a_local_cluster_match_serial_and_compile_per_worker(tmp_path):
    """NUTS (nutpie) fits: two worker processes give the serial run's bytes, and each worker
    compiled into its own directory under ``compile_root`` (about two minutes on two cores)."""
    pytest.importorskip("dask.distributed")
    from bayes_anlo.models import BetaBinomial, SamplerSettings
    from bayes_anlo.runner import task_seeds

    config = BetaBinomial(
        method="nuts", sampler=SamplerSettings(draws=200, tune=200, chains=1)
    ).config()
    data = {
        "study": ["A", "B", "C"],
        "outcome": ["ORR"] * 3,
        "events": [3, 5, 2],
        "n": [20, 25, 15],
    }
    tasks = [FitTask(f"t{i}", config, data, seed) for i, seed in enumerate(task_seeds(3, 2))]
    remote = run(tasks, scheduler="local", n_workers=2, compile_root=tmp_path)
    assert canonical_json(remote) == canonical_json(run(tasks))
    assert all(r["divergences"] == 0 for r in remote)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["worker-0", "worker-1"]
    assert any(any(p.rglob("*")) for p in tmp_path.iterdir())  # PyTensor wrote there
