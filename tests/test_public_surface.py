"""The package's public surface: what ``import bayes_anlo as ba`` reaches, what it costs to import,
and that the package's modules import each other without cycles."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import bayes_anlo

PACKAGE = Path(bayes_anlo.__file__).parent
HEAVY = ("pymc", "pytensor", "arviz_base", "arviz_stats", "arviz_plots", "matplotlib", "numba")


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_import_bayes_anlo_is_light_and_subpackages_load_on_first_use():
    modules = _modules_after("import bayes_anlo as ba")
    assert not {m.split(".")[0] for m in modules} & {*HEAVY, "pandas", "scipy", "xarray"}
    assert "bayes_anlo.models" not in modules


def test_public_names_are_reachable_from_the_package():
    import bayes_anlo as ba

    for name in ("models", "frequentist", "report", "audit", "datasets", "exact", "survival"):
        assert getattr(ba, name).__name__ == f"bayes_anlo.{name}"
    from bayes_anlo.data.binary import load_binary

    assert ba.load_binary is load_binary
    assert ba.models.BetaBinomial().name == "beta_binomial"
    assert callable(ba.frequentist.pool_proportions) and callable(ba.audit.run_audit)
    assert {"models", "load_binary", "report"} <= set(dir(ba))


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = bayes_anlo.nope


def _imports(path: Path) -> set[str]:
    """Every ``bayes_anlo`` module that ``path`` imports, at any depth of the file (deferred
    imports inside functions count: they make a cycle just the same)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bayes_"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bayes_anlo"))
    return found


def _module_graph(subpackage: str) -> dict[str, set[str]]:
    root = PACKAGE / subpackage
    names = {f"bayes_anlo.{subpackage}.{p.stem}": p for p in root.glob("*.py")}
    names.pop(f"bayes_anlo.{subpackage}.__init__")
    return {name: _imports(path) & set(names) for name, path in names.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_frequentist_modules_import_each_other_without_cycles():
    graph = _module_graph("frequentist")
    assert "bayes_anlo.frequentist.pooling" in graph["bayes_anlo.frequentist.glmm"]
    assert _cycle(graph) is None


#: Declared dependencies that the package does not import by name, each with the reason it stays.
USED_WITHOUT_IMPORT = {
    "h5netcdf": "xarray's engine for posterior.nc (to_netcdf(engine='h5netcdf'))",
    "h5py": "the HDF5 library under h5netcdf",
    "arviz-base": "arviz-stats' data layer (DataTree groups); pinned to the 1.x API",
}


def test_every_declared_dependency_is_used():
    import re
    import tomllib

    root = PACKAGE.parent
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    names = [re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower() for d in declared]
    sources = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    unused = []
    for name in names:
        module = name.replace("-", "_")
        if name in USED_WITHOUT_IMPORT:
            continue
        if not re.search(rf"^\s*(import|from) {module}\b", sources, re.M):
            unused.append(name)
    assert not unused, f"declared but never imported: {unused}"
    assert not {"jinja2", "pandera", "arviz-plots"} & set(names)


def test_rates_path_runs_without_pymc_pytensor_arviz_or_matplotlib():
    """`bayes-anlo rates` (frequentist fits + exact beta-binomial) loads none of the sampling or
    plotting stack; PyMC is bound lazily in the model modules and never executed here."""
    code = (
        "from bayes_anlo.lazy_import import is_loaded\n"
        "from click.testing import CliRunner\n"
        "from bayes_anlo.cli import app\n"
        "r = CliRunner().invoke(app, ['rates', 'examples/my_studies.csv', '--outcome', 'ORR'])\n"
        "assert r.exit_code == 0, r.output\n"
        f"print(json.dumps([m for m in {HEAVY!r} if is_loaded(m)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", f"import json\n{code}"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PACKAGE.parent,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_lazy_module_loads_on_first_attribute_access():
    from bayes_anlo.lazy_import import is_loaded, lazy_module

    code = (
        "import sys\nfrom bayes_anlo.lazy_import import lazy_module, is_loaded\n"
        "m = lazy_module('colorsys')\nbefore = is_loaded('colorsys')\n"
        "v = m.rgb_to_hsv(1, 0, 0)\nprint(before, is_loaded('colorsys'), v)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split()[:2] == ["False", "True"]
    assert lazy_module("json") is sys.modules["json"] and is_loaded("json")
