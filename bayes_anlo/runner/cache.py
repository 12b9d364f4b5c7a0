"""Content-addressed, on-disk result cache of the runner: one JSON file per task.

The key of a task is the sha256 of the canonical JSON of its model configuration, data, seed,
the task function's qualified name and a fingerprint of the package's source and bundled data,
so a result made by other code, another model or other data is never re-used. Files are written
to a temporary name in the same directory and renamed (atomic on POSIX), so an interrupted run
leaves either a whole result or none; an unreadable file counts as missing.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

import bayes_anlo


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # "nan", "inf", "-inf": JSON has no such numbers
    return value


def canonical_json(value) -> str:
    """Sorted keys, no spaces, numpy values as Python values, floats by shortest round-trip repr
    and non-finite floats as strings: equal values give equal bytes."""
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _package_files() -> list[Path]:
    root = Path(bayes_anlo.__file__).resolve().parent
    return [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]


def files_changed_since_import() -> list[str]:
    """Package files modified after this process imported the package: the code on disk may
    then differ from the code running (a ``git pull`` or an edit during a run or a notebook
    session), and :func:`code_fingerprint` would not describe what computed a result."""
    from bayes_anlo.lazy_import import PACKAGE_IMPORTED_AT

    root = Path(bayes_anlo.__file__).resolve().parent
    return [
        path.relative_to(root).as_posix()
        for path in _package_files()
        if path.stat().st_mtime > PACKAGE_IMPORTED_AT
    ]


@functools.cache
def code_fingerprint() -> str:
    """sha256 of every file of the installed ``bayes_anlo`` package, its source and its bundled
    data (path and bytes, in sorted order; compiled ``__pycache__`` files left out): any change
    to the code or to a bundled dataset invalidates every cached result."""
    root = Path(bayes_anlo.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in _package_files():
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _module_path(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin else None


def _package_imports(path: Path) -> set[str]:
    """Names of the ``bayes_anlo`` modules imported anywhere in the file (also inside functions):
    ``import a.b``, ``from a.b import c`` (``a.b`` and, if it is a module, ``a.b.c``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in found if n == "bayes_anlo" or n.startswith("bayes_anlo.")}


#: Not followed by :func:`import_closure`: the package's top-level ``__init__`` (it only names
#: subpackages to import lazily) and the runner, which carries results but decides none.
CLOSURE_STOPS = ("bayes_anlo", "bayes_anlo.runner")


def import_closure(modules: Iterable[str]) -> list[str]:
    """``modules`` and every ``bayes_anlo`` module they import, directly or through others
    (found by reading their source, so nothing is imported), sorted; :data:`CLOSURE_STOPS` and
    what is under them are left out."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        stopped = any(name == s or name.startswith(s + ".") for s in CLOSURE_STOPS[1:])
        if name in seen or name == CLOSURE_STOPS[0] or stopped:
            continue
        path = _module_path(name)
        if path is None:  # ``from package import function``: not a module
            continue
        seen.add(name)
        todo.extend(_package_imports(path))
    return sorted(seen)


def modules_fingerprint(modules: Iterable[str]) -> str:
    """sha256 of the source of ``modules`` and of everything they import from ``bayes_anlo``
    (:func:`import_closure`): a workload whose numbers are decided by those modules keeps its
    cached results across edits elsewhere in the package."""
    digest = hashlib.sha256()
    for name in import_closure(modules):
        digest.update(name.encode() + b"\0" + _module_path(name).read_bytes() + b"\0")
    return digest.hexdigest()


def function_name(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def task_key(task, fn, fingerprint: str | None = None) -> str:
    """The cache key (64 hex digits) of ``task`` run by ``fn``."""
    payload = {
        "task": task.identity(),
        "function": function_name(fn),
        "code": code_fingerprint() if fingerprint is None else fingerprint,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


class ResultCache:
    """A directory of results, ``<dir>/<key[:2]>/<key>.json``."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The stored result of ``key``, or None if it is absent or unreadable."""
        try:
            text = self.path(key).read_text(encoding="utf-8")
            stored = json.loads(text)
        except (OSError, ValueError):
            return None
        if not isinstance(stored, dict) or stored.get("key") != key:
            return None
        result = stored.get("result")
        return result if isinstance(result, dict) else None

    def put(self, key: str, result: dict) -> Path:
        """Store ``result`` under ``key`` (atomically: write a temporary file, then rename)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = canonical_json({"key": key, "result": result})
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def files(self) -> list[Path]:
        return sorted(self.directory.glob("*/*.json"))
