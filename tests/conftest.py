"""Test-wide settings: figures are drawn with the non-interactive Agg backend; runs use no result
cache unless a test gives one (a test that runs a spec twice, or fails a fit on purpose, must see
the fit happen: tests/pipeline/test_result_cache.py passes its own cache directory); and under
``pytest -n N`` (``make test``) a run draws its figures in its own process: the suite's worker
processes already use every CPU, so figure workers (report/figure_pool.py) would only add their
start-up cost. tests/report/test_figure_pool.py and tests/pipeline/test_run_figures.py ask for
workers explicitly; a serial ``pytest`` run keeps the default."""

import json
import os
import signal
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

os.environ["BAYES_ANLO_NO_CACHE"] = "1"  # inherited by the CLI processes the tests start

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("BAYES_ANLO_FIGURE_WORKERS", "0")


#: Seconds per test module in a recent full run (scripts/module_seconds.py writes it).
MODULE_SECONDS = Path(__file__).with_name("module_seconds.json")


def pytest_collection_modifyitems(config, items):
    """The longest modules first. Under ``make test`` (``pytest -n 2 --dist loadfile
    --no-loadscope-reorder``) each module goes whole to the next free worker in this order, so the
    run no longer ends on a long module that one worker started while the other had nothing left
    (xdist's own order, by number of tests, put one-test modules of 10-20 s last). A module
    missing from the record keeps its place after the recorded ones; the tests of a module keep
    their order."""
    seconds = json.loads(MODULE_SECONDS.read_text()) if MODULE_SECONDS.exists() else {}
    root = Path(str(config.rootpath))

    def module(item) -> str:
        return Path(str(item.path)).relative_to(root).as_posix()

    items.sort(key=lambda item: -seconds.get(module(item), 0.0))


@pytest.fixture
def empty_compile_cache(monkeypatch):
    """The package's compile cache (models/compile_cache.py), empty for this test, as
    ``compile_cache.clear()`` would leave it; the models the process compiled before are its cache
    again after the test (clearing them would make every later test module on this worker compile
    them again)."""
    from bayes_anlo.models import compile_cache

    monkeypatch.setattr(compile_cache, "_COMPILED", {})
    return compile_cache


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler (raise KeyboardInterrupt) for this test, whatever the test
    runner set; the one before is back afterwards."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
