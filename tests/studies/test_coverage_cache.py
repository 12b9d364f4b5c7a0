"""The coverage study's block cache: a block is re-used only by a run with the same seed, design
cell and code (the code fingerprint is part of the file name), so a stale block cannot enter new
results."""

from __future__ import annotations

import pandas as pd
import pytest

from bayes_anlo.studies import coverage
from bayes_anlo.studies.coverage import Cell, block_path, run_coverage

CELL = Cell(3, 10, 20, 0.2, 0.0)


def test_blocks_are_reused_only_for_the_same_cell_and_code(tmp_path, monkeypatch):
    first = run_coverage([CELL], replicates=2, seed=5, block=2, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.csv"))
    assert [f.name for f in files] == [block_path(tmp_path, CELL, 0, 0, 2, 5).name]

    def no_compute(*args, **kwargs):
        raise AssertionError("a cached block was recomputed")

    monkeypatch.setattr(coverage, "run_cell", no_compute)
    again = run_coverage([CELL], replicates=2, seed=5, block=2, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first.raw, again.raw)

    # another design cell at the same index, or other code, misses the cache (and computes)
    with pytest.raises(AssertionError, match="recomputed"):
        run_coverage([Cell(3, 10, 20, 0.2, 0.5)], replicates=2, seed=5, block=2, cache_dir=tmp_path)
    monkeypatch.setattr(coverage, "code_fingerprint", lambda: "0" * 12)
    with pytest.raises(AssertionError, match="recomputed"):
        run_coverage([CELL], replicates=2, seed=5, block=2, cache_dir=tmp_path)


def test_fingerprint_covers_the_interval_code():
    assert {
        "bayes_anlo.frequentist.glmm",
        "bayes_anlo.exact.beta_binomial",
        "bayes_anlo.exact.logit_normal",
        "bayes_anlo.frequentist.pooling",
    } <= set(coverage.FINGERPRINTED_MODULES)
    value = coverage.code_fingerprint()
    assert len(value) == 12 and value == coverage.code_fingerprint()
