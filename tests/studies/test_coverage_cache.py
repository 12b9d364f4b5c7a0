"""The coverage study on the runner's cache: a block is re-used only by a run with the same seed,
design cell and code, and the code that keys it is the study's own import closure (the interval
methods, the simulation, the priors), not the whole package."""

from __future__ import annotations

import pandas as pd
import pytest

from bayes_anlo.runner import import_closure
from bayes_anlo.studies import coverage
from bayes_anlo.studies.coverage import Cell, coverage_tasks, run_coverage

CELL = Cell(3, 10, 20, 0.2, 0.0)


def no_compute(*args, **kwargs):
    raise AssertionError("a cached block was recomputed")


def test_blocks_are_reused_only_for_the_same_cell_seed_and_code(tmp_path, monkeypatch):
    first = run_coverage([CELL], replicates=2, seed=5, block=2, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*/*.json"))) == 1
    monkeypatch.setattr(coverage, "run_cell", no_compute)
    again = run_coverage([CELL], replicates=2, seed=5, block=2, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first.raw, again.raw)
    pd.testing.assert_frame_equal(first.summary, again.summary)
    # another design cell at the same index, another seed, or other code misses the cache
    with pytest.raises(AssertionError, match="recomputed"):
        run_coverage([Cell(3, 10, 20, 0.2, 0.5)], replicates=2, seed=5, block=2, cache_dir=tmp_path)
    with pytest.raises(AssertionError, match="recomputed"):
        run_coverage([CELL], replicates=2, seed=6, block=2, cache_dir=tmp_path)
    monkeypatch.setattr(coverage, "FINGERPRINTED_MODULES", ("bayes_anlo.exact.grid",))
    with pytest.raises(AssertionError, match="recomputed"):
        run_coverage([CELL], replicates=2, seed=5, block=2, cache_dir=tmp_path)


def test_fingerprint_covers_the_interval_code_and_nothing_unrelated():
    closure = set(import_closure(coverage.FINGERPRINTED_MODULES))
    assert {
        "bayes_anlo.studies.coverage",
        "bayes_anlo.frequentist.glmm",
        "bayes_anlo.frequentist.pooling",
        "bayes_anlo.exact.beta_binomial",
        "bayes_anlo.exact.logit_normal",
        "bayes_anlo.exact.grid",
        "bayes_anlo.exact.special_functions",
        "bayes_anlo.models.priors",
    } <= closure
    # NUTS models, reports and the CLI do not decide the study's numbers
    assert not closure & {"bayes_anlo.models.beta_binomial", "bayes_anlo.cli"}
    assert not any(name.startswith("bayes_anlo.report") for name in closure)
    value = coverage.code_fingerprint()
    assert len(value) == 64 and value == coverage.code_fingerprint()


def test_tasks_are_blocks_of_cells_with_heavy_cells_first():
    cells = [Cell(3, 10, 20, 0.2, 0.0), Cell(20, 10, 20, 0.2, 0.0)]
    tasks = coverage_tasks(cells, replicates=5, seed=1, block=2)
    spans = [(t.extra["cell_index"], t.extra["first"], t.extra["stop"]) for t in tasks]
    assert spans == [(1, 0, 2), (0, 0, 2), (1, 2, 4), (0, 2, 4), (1, 4, 5), (0, 4, 5)]
    assert {t.seed for t in tasks} == {1}
