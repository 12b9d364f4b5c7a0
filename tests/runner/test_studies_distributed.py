"""The calibration studies on a Dask scheduler and two worker processes that this test starts on
localhost (``dask scheduler`` / ``dask worker``, as on a cluster): a small coverage sweep and a
small SBC give the serial run's bytes, and a sweep resumes from a partial cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bayes_anlo.checks.calibration import run_sbc, sbc_task, sbc_tasks
from bayes_anlo.runner import canonical_json, run
from bayes_anlo.studies.coverage import Cell, coverage_block, coverage_tasks, run_coverage
from bayes_anlo.studies.sbc_runs import BetaBinomialNutsSBC, CompletePoolingExactSBC, NutsSettings

ROOT = Path(__file__).resolve().parents[2]
CELLS = [Cell(3, 10, 50, 0.1, 0.5), Cell(3, 50, 200, 0.03, 0.0)]


def _stop(processes) -> None:
    for proc in reversed(processes):
        if proc.poll() is None:
            proc.terminate()
    for proc in processes:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory):
    """The address of a scheduler with two single-threaded worker processes, all started here on
    127.0.0.1 and stopped at the end of the module."""
    distributed = pytest.importorskip("dask.distributed")
    dask_cli = Path(sys.executable).parent / "dask"
    if not dask_cli.exists():
        pytest.skip("the dask command line is not installed")
    tmp = tmp_path_factory.mktemp("dask")
    info = tmp / "scheduler.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    common = ["--no-dashboard"]
    processes = [
        subprocess.Popen(
            [str(dask_cli), "scheduler", "--host", "127.0.0.1", "--port", "0"]
            + common
            + ["--scheduler-file", str(info), "--idle-timeout", "600s"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 120
        while not info.exists() or not info.read_text().strip():
            if time.monotonic() > deadline or processes[0].poll() is not None:
                pytest.fail("the Dask scheduler did not start")
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        for i in range(2):
            processes.append(
                subprocess.Popen(
                    [str(dask_cli), "worker", address, "--nthreads", "1", "--nworkers", "1"]
                    + common
                    + ["--name", f"w{i}", "--local-directory", str(tmp / f"w{i}")]
                    + ["--death-timeout", "120"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=180)
            assert len(client.scheduler_info()["workers"]) == 2
        yield address
    finally:
        _stop(processes)


def test_coverage_sweep_on_two_worker_processes_matches_serial_byte_for_byte(scheduler_address):
    tasks = coverage_tasks(CELLS, replicates=2, seed=3, block=1)
    assert len(tasks) == 4
    serial = run(tasks, coverage_block)
    remote = run(tasks, coverage_block, scheduler=scheduler_address)
    assert canonical_json(remote) == canonical_json(serial)
    rows = [row for result in serial for row in result["rows"]]
    assert len(rows) == 2 * 2 * 6  # cells x replicates x methods
    assert all(0 <= row[3] <= row[4] <= 1 for row in rows if not isinstance(row[3], str))


def test_coverage_sweep_resumes_from_a_partial_cache_on_the_cluster(scheduler_address, tmp_path):
    cache = tmp_path / "cache"
    full = run_coverage(CELLS, replicates=2, seed=3, block=1, cache_dir=cache)
    files = sorted(cache.glob("*/*.json"))
    assert len(files) == 4
    kept = {path: path.stat().st_mtime_ns for path in files[:2]}
    for path in files[2:]:
        path.unlink()
    resumed = run_coverage(
        CELLS, replicates=2, seed=3, block=1, cache_dir=cache, scheduler=scheduler_address
    )
    assert sorted(cache.glob("*/*.json")) == files  # the two lost blocks were recomputed
    assert {path: path.stat().st_mtime_ns for path in files[:2]} == kept  # the rest were not
    assert resumed.raw.to_csv(float_format="%.17g") == full.raw.to_csv(float_format="%.17g")
    assert resumed.summary.equals(full.summary)


def _without_timing(rows):
    """SBC rows less ``fit_seconds``, the one column that is a measurement, not a result."""
    return [{k: v for k, v in row.items() if k != "fit_seconds"} for row in rows]


def test_exact_sbc_on_two_worker_processes_matches_serial_byte_for_byte(scheduler_address):
    tasks = sbc_tasks(CompletePoolingExactSBC(), 4, seed=13)
    serial = run(tasks, sbc_task)
    remote = run(tasks, sbc_task, scheduler=scheduler_address)
    assert canonical_json(_without_timing(remote)) == canonical_json(_without_timing(serial))
    assert [row["dataset"] for row in remote] == list(range(4))
    assert all(0 <= row["p"] <= 99 for row in remote)


@pytest.mark.slow
def test_nuts_sbc_on_two_worker_processes_matches_serial(scheduler_address, tmp_path):
    """A NUTS set-up (3 datasets, short chains): the ranks, prior draws and diagnostics of the
    cluster run equal the serial run's bytes (each worker compiles the model once)."""
    setup = BetaBinomialNutsSBC(nuts=NutsSettings(draws=100, tune=100, chains=1), n_draws=19)
    serial = run_sbc(setup, 3, seed=5)
    remote = run_sbc(setup, 3, seed=5, scheduler=scheduler_address, cache_dir=tmp_path)
    columns = [c for c in serial.table.columns if c != "fit_seconds"]
    assert serial.table[columns].to_csv() == remote.table[columns].to_csv()
    assert len(list(tmp_path.glob("*/*.json"))) == 3
