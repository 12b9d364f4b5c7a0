"""The re-analysis notebooks: committed executed, still importing what exists, and still executable.

* ``test_committed_notebook_is_executed``: the file in ``notebooks/`` holds the outputs of one clean
  top-to-bottom run (every code cell executed, in order, counts 1..N), no error outputs, no
  traceback on stderr, and at least one rendered figure (``image/png``).
* ``test_notebook_code_compiles_and_names_what_the_package_has``: every code cell parses, and every
  name the notebook takes from the package (``from bayes_anlo.x import y``, ``import bayes_anlo.x``,
  ``ba.a.b`` after ``import bayes_anlo as ba``) exists. This is the default suite's cheap guard
  against a renamed or removed API for all notebooks (seconds, no kernel, no fits).
* ``test_notebook_executes_in_fast_mode``: re-executes the notebook with nbclient in fast mode
  (``BAYES_ANLO_FAST=1``: fewer draws, slow extras skipped) through
  ``scripts/execute_notebooks.py``, as CI does; a cell that raises fails the test with the cell's
  traceback. The executed copy is discarded. A kernel start plus the fits cost 10-45 s per
  notebook on the 2-core machine, so the default suite executes the cheapest notebook
  (``01_npc_qin2025``, the whole kernel/nbclient path) and ``make test-slow`` executes the others.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Executed by the default suite; every other notebook is executed under ``-m slow``.
EXECUTED_BY_DEFAULT = "01_npc_qin2025"


def _runner():
    spec = importlib.util.spec_from_file_location(
        "execute_notebooks", ROOT / "scripts" / "execute_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ids(paths):
    return [p.stem for p in paths]


def _execution_params(paths):
    return [
        pytest.param(p, id=p.stem, marks=() if p.stem == EXECUTED_BY_DEFAULT else pytest.mark.slow)
        for p in paths
    ]


def _python_source(cell_source: str) -> str:
    """The cell without IPython magics and shell escapes (``%matplotlib inline``, ``!ls``)."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines()
    )


def _package_names(tree: ast.AST) -> tuple[list[tuple[str, str]], list[tuple[str, ...]]]:
    """``(module, name)`` pairs imported from the package and ``ba.a.b`` attribute chains (with
    the alias ``ba`` replaced by ``bayes_anlo``)."""
    imported: list[tuple[str, str]] = []
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "bayes_anlo":
            imported += [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "bayes_anlo":
                    imported.append((a.name, ""))
                    if a.asname:
                        aliases[a.asname] = a.name
    chains = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts = []
            inner = node
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id in aliases:
                chains.append((aliases[inner.id], *reversed(parts)))
    return imported, chains


def test_notebooks_exist():
    assert NOTEBOOKS, "no notebooks in notebooks/"
    assert EXECUTED_BY_DEFAULT in _ids(NOTEBOOKS)


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
def test_notebook_code_compiles_and_names_what_the_package_has(path: Path):
    nb = nbformat.read(path, as_version=4)
    missing = []
    n_names = 0
    for i, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        try:
            tree = ast.parse(_python_source(cell.source), filename=f"{path.name}, code cell {i}")
        except SyntaxError as exc:
            pytest.fail(f"{path.name}, code cell {i} does not parse: {exc}", pytrace=False)
        imported, chains = _package_names(tree)
        n_names += len(imported) + len(chains)
        for module_name, name in imported:
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                missing.append(f"cell {i}: import {module_name}: {exc}")
                continue
            if name and not hasattr(module, name):
                try:  # `from package import submodule`
                    importlib.import_module(f"{module_name}.{name}")
                except ImportError:
                    missing.append(f"cell {i}: {module_name} has no {name}")
        for chain in chains:
            target = importlib.import_module(chain[0])
            for depth, attr in enumerate(chain[1:], start=1):
                if not hasattr(target, attr):
                    missing.append(f"cell {i}: {'.'.join(chain[: depth + 1])} does not exist")
                    break
                target = getattr(target, attr)
    assert n_names > 0, f"{path.name} takes nothing from bayes_anlo"
    assert not missing, f"{path.name} names what the package lacks:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", _execution_params(NOTEBOOKS))
def test_notebook_executes_in_fast_mode(path: Path):
    from nbclient.exceptions import CellExecutionError

    runner = _runner()
    try:
        seconds = runner.execute(path, fast=True, write=False)
    except CellExecutionError as exc:  # the message holds the failing cell and its traceback
        pytest.fail(f"{path.name} failed in fast mode:\n{str(exc)[:4000]}", pytrace=False)
    assert seconds > 0
