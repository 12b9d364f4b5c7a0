"""The order in which ``make test`` hands modules to its workers (tests/conftest.py) and the record
it reads (tests/module_seconds.json, written by scripts/module_seconds.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location(
    "module_seconds", ROOT / "scripts" / "module_seconds.py"
)
module_seconds = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(module_seconds)  # scripts/ is not a package; sys.path stays as it is


def _item(path: str, name: str):
    return SimpleNamespace(path=ROOT / path, name=name)


def test_longest_recorded_modules_first_unrecorded_after_each_module_in_its_order(monkeypatch):
    record = {"tests/b.py": 5.0, "tests/c.py": 20.0}
    monkeypatch.setattr(
        conftest,
        "MODULE_SECONDS",
        SimpleNamespace(exists=lambda: True, read_text=lambda: json.dumps(record)),
    )
    items = [
        _item("tests/a.py", "a1"),
        _item("tests/b.py", "b1"),
        _item("tests/a.py", "a2"),
        _item("tests/c.py", "c1"),
        _item("tests/d.py", "d1"),
        _item("tests/b.py", "b2"),
        _item("tests/c.py", "c2"),
    ]
    conftest.pytest_collection_modifyitems(SimpleNamespace(rootpath=ROOT), items)
    assert [i.name for i in items] == ["c1", "c2", "b1", "b2", "a1", "a2", "d1"]


def test_the_record_names_test_modules_of_this_repository():
    record = json.loads(conftest.MODULE_SECONDS.read_text())
    assert record and all(seconds >= 0 for seconds in record.values())
    existing = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("test_*.py")}
    gone = sorted(set(record) - existing)
    assert not gone, (
        f"{gone} no longer exist: run scripts/module_seconds.py (its docstring says how)"
    )


def test_junit_class_names_map_to_module_paths(tmp_path):
    junit = tmp_path / "suite.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.models.test_x" name="test_a" time="1.25"/>'
        '<testcase classname="tests.models.test_x.TestGroup" name="test_b" time="0.5"/>'
        '<testcase classname="tests.test_y" name="test_c" time="2"/>'
        "</testsuite></testsuites>"
    )
    assert module_seconds.module_seconds(junit) == {
        "tests/models/test_x.py": 1.8,
        "tests/test_y.py": 2.0,
    }
