"""Test-wide settings: figures are drawn with the non-interactive Agg backend; runs use no result
cache unless a test gives one (a test that runs a spec twice, or fails a fit on purpose, must see
the fit happen: tests/pipeline/test_result_cache.py passes its own cache directory); and under
``pytest -n N`` (``make test``) a run draws its figures in its own process: the suite's worker
processes already use every CPU, so figure workers (report/figure_pool.py) would only add their
start-up cost. tests/report/test_figure_pool.py and tests/pipeline/test_run_figures.py ask for
workers explicitly; a serial ``pytest`` run keeps the default."""

import os
import signal

import matplotlib
import pytest

matplotlib.use("Agg")

os.environ["BAYES_ANLO_NO_CACHE"] = "1"  # inherited by the CLI processes the tests start

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("BAYES_ANLO_FIGURE_WORKERS", "0")


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
