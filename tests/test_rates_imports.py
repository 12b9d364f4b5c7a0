"""`bayes-anlo rates` imports only what it uses: no xarray, PyMC, matplotlib, ArviZ, model registry,
report or pipeline, and scipy.stats only where the GLMM still imports it.

Each check runs the CLI in a fresh interpreter (a subprocess), so modules imported by other tests
do not count; ``builtins.__import__`` is wrapped there to record which module asked for scipy.stats.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Never imported by `rates`.
FORBIDDEN = (
    "xarray",
    "pymc",
    "pytensor",
    "matplotlib",
    "arviz_base",
    "arviz_stats",
    "arviz_plots",
    "pydantic",  # the spec schema's; typer built a pydantic validator per parameter (0.2 s)
    "pydantic_settings",
    "typer",
    "bayes_anlo.models.registry",
    "bayes_anlo.models.binary",
    "bayes_anlo.report",
    "bayes_anlo.pipeline",
)
#: Modules of the package allowed to import scipy.stats on the `rates` path: the GLMM
#: (frequentist/glmm.py: chi2.sf and norm.sf; bayes_anlo.frequentist.distributions has both).

SCRIPT = r"""
import builtins, contextlib, io, json, sys

askers = set()
real_import = builtins.__import__


def recording_import(name, globals=None, locals=None, fromlist=(), level=0):
    wanted = {name, *(f"{name}.{item}" for item in (fromlist or ()) if isinstance(item, str))}
    if any(w == "scipy.stats" or w.startswith("scipy.stats.") for w in wanted):
        askers.add((globals or {}).get("__name__", "?"))
    return real_import(name, globals, locals, fromlist, level)


builtins.__import__ = recording_import
from bayes_anlo.cli import app
from bayes_anlo.lazy_import import is_loaded

out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = app(sys.argv[2:], prog_name="bayes-anlo", standalone_mode=False)
json.loads(out.getvalue())  # the command did run and print its JSON
loaded = sorted(name for name in list(sys.modules) if is_loaded(name))
with open(sys.argv[1], "w") as fh:
    json.dump({"code": code, "loaded": loaded, "scipy_stats_askers": sorted(askers)}, fh)
"""

COMMANDS = {
    "six_studies": ["examples/my_studies.csv", "--outcome", "ORR"],
    "by_subgroup": ["examples/my_studies.csv", "--outcome", "ORR", "--by", "subgroup"],
    "bundled_moderator": [
        "sarcoma_literature_abstracts",
        "--outcome",
        "ORR",
        "--tau2",
        "DL,REML,PM",
        "--moderator",
        "year",
        "--cumulative-by",
        "year",
    ],
    "one_study": ["qin2025_npc_response", "--outcome", "DCR", "--threshold", "70%"],
}


def _run(tmp_path, args) -> dict:
    report = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(report), "rates", *args, "--json"],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(report.read_text())


@pytest.mark.parametrize("case", sorted(COMMANDS))
def test_rates_path_imports_only_what_it_uses(case, tmp_path):
    result = _run(tmp_path, COMMANDS[case])
    assert result["code"] in (0, None)
    loaded = set(result["loaded"])
    assert "bayes_anlo.quick" in loaded and "numpy" in loaded  # the recording saw the run
    heavy = sorted(
        name for name in loaded for f in FORBIDDEN if name == f or name.startswith(f + ".")
    )
    assert heavy == []
    askers = {a for a in result["scipy_stats_askers"] if a.startswith("bayes_anlo")}
    assert askers == set() and "scipy.stats" not in loaded
    assert "scipy.interpolate" not in loaded  # nor the exact engine's quantiles (PCHIP)


def test_package_surfaces_import_nothing_heavy(tmp_path):
    """``import bayes_anlo.frequentist`` / ``.models`` / ``.exact`` (lazy surfaces) load no
    submodule, and the modules the rates path reads load no scipy.stats, xarray or PyMC."""
    code = (
        "import sys, json\n"
        "from bayes_anlo.lazy_import import is_loaded\n"
        "import bayes_anlo.frequentist, bayes_anlo.models, bayes_anlo.exact\n"
        "surface = sorted(m for m in sys.modules if m.count('.') == 2"
        " and m.split('.')[1] in ('frequentist', 'models', 'exact'))\n"
        "import bayes_anlo.quick, bayes_anlo.quick_diagnostics, bayes_anlo.models.priors\n"
        "import bayes_anlo.frequentist.pooling, bayes_anlo.frequentist.random_effects\n"
        "import bayes_anlo.frequentist.tau2, bayes_anlo.frequentist.small_study\n"
        "import bayes_anlo.frequentist.influence, bayes_anlo.frequentist.subgroups\n"
        "import bayes_anlo.frequentist.meta_regression, bayes_anlo.frequentist.cumulative\n"
        "import bayes_anlo.exact.beta_binomial, bayes_anlo.exact.conjugate\n"
        "heavy = sorted(m for m in ('scipy.stats', 'xarray', 'pymc', 'matplotlib',"
        " 'scipy.optimize', 'scipy.interpolate') if is_loaded(m))\n"
        "print(json.dumps({'surface': surface, 'heavy': heavy}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {"surface": [], "heavy": []}
