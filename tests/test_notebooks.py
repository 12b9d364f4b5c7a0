"""The re-analysis notebooks: committed executed, and still executable.

* ``test_committed_notebook_is_executed``: the file in ``notebooks/`` holds the outputs of one clean
  top-to-bottom run (every code cell executed, in order, counts 1..N), no error outputs, no
  traceback on stderr, and at least one rendered figure (``image/png``).
* ``test_notebook_executes_in_fast_mode``: re-executes the notebook with nbclient in fast mode
  (``BAYES_ANLO_FAST=1``: fewer draws, slow extras skipped) through
  ``scripts/execute_notebooks.py``, as CI does; a cell that raises fails the test with the cell's
  traceback. The executed copy is discarded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _runner():
    spec = importlib.util.spec_from_file_location(
        "execute_notebooks", ROOT / "scripts" / "execute_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ids(paths):
    return [p.stem for p in paths]


def test_notebooks_exist():
    assert NOTEBOOKS, "no notebooks in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_is_executed(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code, f"{path.name} has no code cells"
    counts = [c.execution_count for c in code]
    assert None not in counts, f"{path.name}: {counts.count(None)} code cell(s) never executed"
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: not one clean run in order (counts {counts})"
    )
    images = 0
    for i, cell in enumerate(code, start=1):
        for out in cell.get("outputs", []):
            assert out.output_type != "error", (
                f"{path.name}, code cell {i}: {out.get('ename')}: {out.get('evalue')}"
            )
            if out.output_type == "stream" and out.get("name") == "stderr":
                assert "Traceback" not in out.text, (
                    f"{path.name}, code cell {i}: traceback on stderr"
                )
            images += "image/png" in out.get("data", {})
    assert images > 0, f"{path.name}: no rendered figure in the saved outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_executes_in_fast_mode(path: Path):
    from nbclient.exceptions import CellExecutionError

    runner = _runner()
    try:
        seconds = runner.execute(path, fast=True, write=False)
    except CellExecutionError as exc:  # the message holds the failing cell and its traceback
        pytest.fail(f"{path.name} failed in fast mode:\n{str(exc)[:4000]}", pytrace=False)
    assert seconds > 0
