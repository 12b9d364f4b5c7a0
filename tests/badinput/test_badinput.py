"""The bad-input corpus (issue 4, "Trust"): every malformed input gets a clear, located error.

Each case of ``cases.toml`` names a corpus file under ``files/``, the CLI command to run on it and
where the first error must point. For every case the CLI must

* exit with status 2 (user error; 0 for the few inputs that are valid or only warn),
* print no traceback (in-process: raise nothing but ``SystemExit``),
* print only lines starting with ``error:`` or ``warning:`` on stderr, one line per problem,
* start the first error line with ``error: FILE:ROW:COLUMN: `` (the file as given on the command
  line, the editor row or TOML table, the column or key) and give a word of the reason.

Most cases run in-process through :class:`click.testing.CliRunner`; the cases marked
``subprocess = true`` also run through the installed console script to prove it behaves the same.
Further tests: ``run`` never overwrites a run directory without ``--force``; a failed run leaves
no partial or temporary directory; the library never evaluates input text or pickles results.
No case reaches model fitting, so the module runs in seconds.
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
import tomllib
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from bayes_anlo.cli import app

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
PACKAGE = HERE.parents[1] / "bayes_anlo"
CASES: list[dict] = tomllib.loads((HERE / "cases.toml").read_text(encoding="utf-8"))["case"]
SUBPROCESS_CASES = [c for c in CASES if c.get("subprocess")]
CONSOLE_SCRIPT = Path(sys.executable).with_name("bayes-anlo")

runner = CliRunner()


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def corpus_path(relative: str) -> str:
    return str(FILES / relative)


def command(case: dict, out: Path) -> list[str]:
    return [
        a.replace("{file}", corpus_path(case["file"])).replace("{out}", str(out))
        for a in case["args"]
    ]


def _alternatives(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _reasons(case: dict) -> list[str]:
    reason = case.get("reason", [])
    return [reason] if isinstance(reason, str) else list(reason)


def located_prefix(file: str, row: str, column: str) -> str:
    """How a problem's location prints: ``file:row:column: ``, leaving out the parts that do not
    apply (``file:row: ``, ``file: column: ``, ``file: ``), never an empty ``::``."""
    if row and column:
        return f"{file}:{row}:{column}: "
    if row:
        return f"{file}:{row}: "
    if column:
        return f"{file}: {column}: "
    return f"{file}: "


def check_output(case: dict, exit_code: int, stdout: str, stderr: str, workdir: Path) -> None:
    """The assertions shared by the in-process and the subprocess runs (see module docstring)."""
    expected_exit = case.get("exit", 2)
    shown = f"\n--- exit {exit_code}\n--- stderr:\n{stderr}\n--- stdout:\n{stdout[-2000:]}"
    assert "Traceback" not in stderr and "Traceback" not in stdout, f"traceback printed{shown}"
    assert exit_code == expected_exit, f"exit status {exit_code}, expected {expected_exit}{shown}"
    lines = stderr.splitlines()
    for line in lines:
        assert line.startswith(("error: ", "warning: ")), (
            "stderr line does not start with 'error:'/'warning:' (one line per problem): "
            f"{line!r}{shown}"
        )
    for text in case.get("absent", []):
        assert text not in stderr, f"{text!r} appears in stderr{shown}"
    if case.get("sentinel"):
        assert not (workdir / case["sentinel"]).exists(), "spec text was executed as code"
    if "row" not in case:  # a valid input: nothing to locate
        assert not [ln for ln in lines if ln.startswith("error:")], (
            f"valid input reported an error{shown}"
        )
        return
    prefix = case.get("prefix", "error")
    located = [ln for ln in lines if ln.startswith(f"{prefix}: ")]
    assert located, f"no '{prefix}:' line{shown}"
    first = located[0]
    file = corpus_path(case.get("expect_file", case["file"]))
    starts = [
        f"{prefix}: {located_prefix(file, row, column)}"
        for row in _alternatives(case["row"])
        for column in _alternatives(case["column"])
    ]
    assert first.startswith(tuple(starts)), (
        f"first {prefix} line should start with {' or '.join(repr(s) for s in starts)}, got "
        f"{first!r}{shown}"
    )
    assert "::" not in first.replace(file, "<file>", 1), (
        f"an empty location part printed as '::'{shown}"
    )
    message = first[len(prefix) + 2 + len(file) :]
    for fragment in _reasons(case):
        assert fragment.lower() in message.lower(), (
            f"reason {fragment!r} missing from {first!r}{shown}"
        )


def invoke(args: list[str]):
    result = runner.invoke(app, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(result.exception))
        pytest.fail(
            f"uncaught {type(result.exception).__name__} (the CLI would print a traceback):\n{tb}\n"
            f"--- stderr:\n{result.stderr}"
        )
    return result


def tree_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file below ``root`` (relative path -> hash), plus the directories."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return out


def make_run_directory(out: Path) -> None:
    """A stand-in for a finished run directory with a few files in it."""
    (out / "tables").mkdir(parents=True)
    (out / "figures").mkdir()
    (out / "report.md").write_text("# an earlier run\n", encoding="utf-8")
    (out / "run.json").write_text('{"seed": 1}\n', encoding="utf-8")
    (out / "tables" / "orr__posterior.csv").write_text(
        "variable,median\npooled_rate,0.2\n", encoding="utf-8"
    )
    (out / "posterior.nc").write_bytes(bytes(range(256)))


# ------------------------------------------------------------------------------------------
# the corpus itself
# ------------------------------------------------------------------------------------------
def test_corpus_is_complete():
    """At least 200 cases spread over every format; every case file exists (``no_such*`` must
    not)."""
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case id"
    assert len(CASES) >= 200
    per_group = {}
    for case in CASES:
        per_group[case["id"][0]] = per_group.get(case["id"][0], 0) + 1
    minimum = {"b": 70, "s": 25, "k": 20, "r": 15, "m": 25, "i": 20, "a": 30}
    for group, n in minimum.items():
        assert per_group.get(group, 0) >= n, (
            f"group {group!r} has {per_group.get(group, 0)} cases, need {n}"
        )
    assert per_group["k"] + per_group["r"] >= 6
    for case in CASES:
        path = FILES / case["file"]
        meant_missing = path.name.startswith("no_such")
        assert path.exists() != meant_missing, f"{case['id']}: {path} exists={path.exists()}"
    assert 2 <= len(SUBPROCESS_CASES) <= 4


def test_readme_lists_every_case():
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    missing = [c["id"] for c in CASES if f"`{c['id']}`" not in readme]
    assert not missing, f"README.md does not list {missing}"


def test_bom_file_really_has_a_bom():
    """Guard the corpus: the BOM cases start with the UTF-8 byte-order mark; the non-UTF-8 cases are
    not UTF-8."""
    for name in ("binary/bom_valid.csv", "binary/bom_missing_study.csv"):
        assert (FILES / name).read_bytes().startswith(b"\xef\xbb\xbf")
    for name in (
        "binary/double_bom_valid.csv",
        "km/double_bom_valid.csv",
        "audit/double_bom_valid.csv",
    ):
        assert (FILES / name).read_bytes().startswith(b"\xef\xbb\xbf" * 2)
    for name in ("binary/cr_only_valid.csv", "ipd/cr_only_valid.csv", "km/cr_only_valid.csv"):
        data = (FILES / name).read_bytes()
        assert b"\r" in data and b"\n" not in data, f"{name} must have CR-only line endings"
    for name in ("binary/nul_in_cell.csv", "ipd/nul_byte.csv", "audit/nul_byte.csv"):
        assert b"\x00" in (FILES / name).read_bytes()
    for name in (
        "binary/field_over_131072.csv",
        "ipd/field_over_131072.csv",
        "audit/field_over_131072.csv",
    ):
        assert len((FILES / name).read_bytes()) > 131_072
    for name in ("binary/non_utf8.csv", "spec/non_utf8.toml"):
        with pytest.raises(UnicodeDecodeError):
            (FILES / name).read_bytes().decode("utf-8")


# ------------------------------------------------------------------------------------------
# every case, in-process
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_gives_one_located_error(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a sentinel written by evaluated spec text would land here
    result = invoke(command(case, tmp_path / "run"))
    check_output(case, result.exit_code, result.stdout, result.stderr, tmp_path)
    if case.get("exit", 2) != 0:
        assert not (tmp_path / "run").exists(), "a failed command left a run directory"


# ------------------------------------------------------------------------------------------
# a few cases through the real console script
# ------------------------------------------------------------------------------------------
@pytest.mark.skipif(
    not CONSOLE_SCRIPT.exists(), reason="console script bayes-anlo is not installed"
)
@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[c["id"] for c in SUBPROCESS_CASES])
def test_console_script_behaves_the_same(case, tmp_path):
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [str(CONSOLE_SCRIPT), *command(case, tmp_path / "run")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    check_output(case, proc.returncode, proc.stdout, proc.stderr, tmp_path)


# ------------------------------------------------------------------------------------------
# run directories: never overwritten without --force, never left half-written
# ------------------------------------------------------------------------------------------
def test_run_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "run"
    make_run_directory(out)
    before = tree_hashes(out)
    result = invoke(["run", corpus_path("spec/valid.toml"), "--out", str(out)])
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {out}:") and "--force" in first, first
    assert tree_hashes(out) == before, "the existing run directory was modified"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"], (
        "something was left beside the run directory"
    )


def test_run_refuses_a_file_as_run_directory(tmp_path):
    out = tmp_path / "report.txt"
    out.write_text("not a run directory\n", encoding="utf-8")
    result = invoke(["run", corpus_path("spec/valid.toml"), "--out", str(out), "--force"])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines()[0].startswith(f"error: {out}:")
    assert out.read_text(encoding="utf-8") == "not a run directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]


def test_failed_run_leaves_no_partial_or_temporary_directory(tmp_path):
    """The spec's first analysis names a survival dataset for a response-rate model: the run fails
    at data loading (before any fit) and must leave the parent directory exactly as it was."""
    parent = tmp_path / "runs"
    parent.mkdir()
    result = invoke(["run", corpus_path("spec/fail_midway.toml"), "--out", str(parent / "run")])
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert all(line.startswith(("error: ", "warning: ")) for line in result.stderr.splitlines()), (
        result.stderr
    )
    assert list(parent.iterdir()) == [], f"left behind: {[p.name for p in parent.iterdir()]}"


def test_failed_forced_run_keeps_the_previous_run(tmp_path):
    """``--force`` replaces a run directory only when the new run succeeds."""
    parent = tmp_path / "runs"
    out = parent / "run"
    make_run_directory(out)
    before = tree_hashes(out)
    result = invoke(["run", corpus_path("spec/fail_midway.toml"), "--out", str(out), "--force"])
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert tree_hashes(out) == before, "the previous run directory was modified"
    assert sorted(p.name for p in parent.iterdir()) == ["run"], (
        f"left behind: {sorted(p.name for p in parent.iterdir())}"
    )


# ------------------------------------------------------------------------------------------
# input is data: nothing evaluated, nothing pickled
# ------------------------------------------------------------------------------------------
_EVAL_BUILTINS = {"eval", "exec", "compile", "__import__"}
_CODE_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "dill",
    "cloudpickle",
    "joblib",
    "marshal",
    "shelve",
    "yaml",
}
_CODE_METHODS = {"read_pickle", "to_pickle", "query", "import_module"}
#: Reviewed exceptions: the package's lazy attribute loader imports only the module names of its
#: own fixed tables (``_SUBMODULES``, ``_NAMES``); an unknown name is an AttributeError
#: (tests/test_public_surface.py::test_unknown_attribute_is_an_attribute_error).
# Lazy imports of the package's own modules and of its dependencies: lazy_import.py imports names
# from the literal tables of the package surfaces (lazy_package: their _NAMES / _SUBMODULES) or
# given in code (lazy_module("pymc")), study_cli.py from its literal LAZY_COMMANDS; never a name
# read from input.
_ALLOWED_SITES = {
    (f"bayes_anlo/{path}", "import_module") for path in ("lazy_import.py", "study_cli.py")
}
# child_process.py pickles what a run sends, over a pipe, to the helper processes it started itself
# (figure recipes to report/figure_pool.py's workers, which send back PNG/SVG/PDF bytes; the
# finished tree to pipeline/tree_writer.py, which writes posterior.nc); nothing is read from a
# file or from input, and no result is stored pickled (the result cache is JSON and .npz).
_ALLOWED_IMPORTS = {("bayes_anlo/child_process.py", "pickle")}


def _code_execution_sites(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = str(path.relative_to(PACKAGE.parent))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in _EVAL_BUILTINS:
                found.append(f"{name}:{node.lineno}: {func.id}()")
            if (
                isinstance(func, ast.Attribute)
                and func.attr in _CODE_METHODS
                and (name, func.attr) not in _ALLOWED_SITES
            ):
                found.append(f"{name}:{node.lineno}: .{func.attr}()")
            # DataFrame.eval / pandas.eval take an expression string; pytensor's var.eval() and
            # var.eval({x: value}) do not, and are allowed.
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "eval"
                and node.args
                and not isinstance(node.args[0], ast.Dict)
            ):
                found.append(f"{name}:{node.lineno}: .eval(<expression>)")
            for kw in node.keywords:
                if kw.arg == "allow_pickle" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    found.append(f"{name}:{node.lineno}: allow_pickle")
        elif isinstance(node, ast.Import):
            found += [
                f"{name}:{node.lineno}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] in _CODE_MODULES and (name, a.name) not in _ALLOWED_IMPORTS
            ]
        elif (
            isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _CODE_MODULES
        ):
            found.append(f"{name}:{node.lineno}: from {node.module} import")
    return found


def test_library_never_evaluates_input_or_pickles_results():
    """No eval/exec/compile/__import__, no DataFrame.query/eval of expression strings, no dynamic
    imports, no pickle-family modules (results are written as CSV, netCDF, Markdown, HTML, JSON)."""
    sites = [s for path in sorted(PACKAGE.rglob("*.py")) for s in _code_execution_sites(path)]
    assert not sites, "code paths that could execute input or pickle results:\n" + "\n".join(sites)


def test_spec_strings_that_look_like_code_stay_strings(tmp_path, monkeypatch):
    """The parsed spec holds the `__import__(...)` text verbatim as a (rejected) model name."""
    from bayes_anlo.errors import InputError
    from bayes_anlo.spec import load_spec

    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        load_spec(FILES / "spec" / "import_as_model.toml")
    (problem,) = [p for p in info.value.problems if p.column == "model"]
    assert "__import__('os').system('touch bayes_anlo_pwned_model')" in problem.message
    assert problem.message.startswith("unknown model")
    assert list(tmp_path.iterdir()) == []
