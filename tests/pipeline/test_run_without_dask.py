"""``bayes-anlo run`` hides dask from xarray in its own process and in its posterior.nc writer
(lazy_import.hide_dask): xarray loads dask.array on its first Dataset and dask.distributed on
every to_netcdf whenever dask is installed, about a second of a run that never computes lazily.
These tests need dask installed (the ``dist`` extra), as ``make env`` installs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from click.testing import CliRunner

from bayes_anlo import child_process, cli
from bayes_anlo.report import canvas
from bayes_anlo.report.canvas import recipe
from tests.pipeline.conftest import CSV, SMALL_SPEC
from tests.pipeline.dask_probe import dask_modules_figure

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("dask")
pytest.importorskip("distributed")


def _python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        check=False,
    )


def test_hidden_dask_is_a_missing_optional_dependency_to_xarray(tmp_path):
    code = (
        "import json, sys\n"
        "from bayes_anlo.lazy_import import hide_dask\n"
        "hidden = hide_dask()\n"
        "import xarray as xr\n"
        "ds = xr.Dataset({'x': ('d', [1.0, 2.0])}, coords={'d': ['a', 'b']})\n"
        "ds.to_netcdf(sys.argv[1], engine='h5netcdf')\n"
        "try:\n"
        "    import dask\n"
        "    importable = True\n"
        "except ImportError:\n"
        "    importable = False\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')\n"
        "          and sys.modules[m] is not None]\n"
        "print(json.dumps({'hidden': hidden, 'importable': importable, 'loaded': loaded}))\n"
    )
    proc = _python(code, str(tmp_path / "x.nc"))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"hidden": True, "importable": False, "loaded": []}
    with xr.open_dataset(tmp_path / "x.nc", engine="h5netcdf") as back:  # an ordinary file
        assert back["x"].values.tolist() == [1.0, 2.0]


def test_nothing_is_hidden_once_dask_is_imported():
    code = (
        "import dask, sys\n"
        "from bayes_anlo.lazy_import import hide_dask\n"
        "distributed = sys.modules.get('distributed', 'not imported')\n"
        "print(hide_dask(), sys.modules['dask'] is dask, distributed is not None)\n"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True", "True"]


def test_nothing_is_hidden_once_xarray_is_imported(tmp_path):
    """xarray records at import whether dask is installed (and imports it later regardless), so
    dask is hidden only before xarray is imported (a script importing the pipeline before calling
    the CLI's main, as tests/pipeline/test_run_faults.py does, crashed in xarray)."""
    code = (
        "import sys\n"
        "import xarray as xr\n"
        "from bayes_anlo.lazy_import import hide_dask\n"
        "hidden = hide_dask()\n"
        "xr.Dataset({'x': ('d', [1.0])}, coords={'d': ['a']}).to_netcdf(sys.argv[1])\n"
        "print(hidden, sys.modules.get('dask', 'not imported') is not None)\n"
    )
    proc = _python(code, str(tmp_path / "x.nc"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]


def test_a_figure_worker_warms_up_with_xarray_and_without_dask():
    """A figure worker run on its own (stdin closed at once: it warms up, then ends) imports
    xarray with the report modules but not dask."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-P", "-m", "bayes_anlo.report.figure_pool"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert {"xarray", "matplotlib", "bayes_anlo.report.ppc_plots"} <= imported
    assert not {m for m in imported if m.split(".")[0] in ("dask", "distributed")}


def test_a_figure_worker_builds_datasets_without_loading_dask():
    """A figure worker (spoken to directly: a pool would draw a job here that its worker, still
    warming up, has not taken yet) builds a figure that makes an xarray Dataset, and holds no
    dask module after it."""
    worker = child_process.start("bayes_anlo.report.figure_pool")
    try:
        child_process.send(worker.stdin, (recipe(dask_modules_figure), ("png",), False))
        status, drawn = child_process.receive(worker.stdout)
    finally:
        worker.kill()
        worker.stdin.close()
        worker.stdout.close()
        worker.wait()
    assert status == "ok", drawn
    assert drawn["png"] == canvas.draw(dask_modules_figure("dask modules: 0"))["png"]
    # here, in the test's own process, building a Dataset loads dask (the probe can tell)
    assert canvas.draw(dask_modules_figure())["png"] != drawn["png"]


def _project(tmp_path: Path) -> Path:
    (tmp_path / "studies.csv").write_text(CSV)
    spec = tmp_path / "small.toml"
    spec.write_text(SMALL_SPEC)
    return spec


def test_the_console_run_and_its_writer_load_no_dask_and_write_the_same_posterior(tmp_path):
    """The console script's process (``cli.console_script``) with a tree-writer helper: neither
    loads dask, and posterior.nc holds what an in-process run (dask importable) writes."""
    spec = _project(tmp_path)
    code = (
        "import json, sys\n"
        "from bayes_anlo import cli\n"
        "leave = cli.leave\n"
        "def report(status):\n"  # the process ends in cli.leave, without Python's exit handlers
        "    loaded = [m for m in ('dask', 'dask.array', 'distributed') if sys.modules.get(m)]\n"
        "    print('LOADED ' + json.dumps(loaded))\n"
        "    leave(status)\n"
        "cli.leave = report\n"
        "sys.argv = ['bayes-anlo', 'run', sys.argv[1], '--out', sys.argv[2], '--no-cache']\n"
        "cli.console_script()\n"
    )
    proc = _python(
        code,
        str(spec),
        str(tmp_path / "console"),
        env={"BAYES_ANLO_FIGURE_WORKERS": "1"},  # figure worker and posterior.nc writer
    )
    assert proc.returncode == 0, proc.stderr
    loaded = [line for line in proc.stdout.splitlines() if line.startswith("LOADED ")]
    assert json.loads(loaded[-1][len("LOADED ") :]) == []

    from bayes_anlo.pipeline.run import run_spec

    run_spec(spec, tmp_path / "library", log=None, no_cache=True, figure_workers=0)
    with (
        xr.open_datatree(tmp_path / "console" / "posterior.nc", engine="h5netcdf") as a,
        xr.open_datatree(tmp_path / "library" / "posterior.nc", engine="h5netcdf") as b,
    ):
        for path in ("dcr_single/posterior", "dcr_single/observed_data"):
            assert a[path].to_dataset().identical(b[path].to_dataset())


def test_a_run_invoked_in_a_callers_process_hides_nothing(tmp_path):
    """``app`` called in a process of the caller's (a test, a notebook) leaves dask importable:
    only the console script's own process hides it."""
    spec = _project(tmp_path)
    result = CliRunner().invoke(
        cli.app, ["run", str(spec), "--out", str(tmp_path / "run"), "--no-cache"]
    )
    assert result.exit_code == 0, result.output
    assert sys.modules.get("dask", "not imported") is not None
    assert sys.modules.get("distributed", "not imported") is not None
    import dask  # noqa: F401  (still importable here)
