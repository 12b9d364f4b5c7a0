"""The run's result cache: an analysis whose inputs have not changed is read back, not refitted.

The key of an analysis (:func:`analysis_key`) is the sha256 of everything that decides its
result: the spec entry (with the path and the bytes of every file it names: a project moved or
copied elsewhere is fitted again, even with the same bytes), the spec seed and the entry's
place in the spec (its seed is derived from both), the sampler settings, fast mode, the formats
of the publication figures, the package's source and bundled data
(:func:`bayes_anlo.runner.cache.code_fingerprint`) and the versions of Python and of the
numerical packages (:func:`bayes_anlo.models.sampling.package_versions`). Change any of them and
the analysis is fitted again; edit another analysis of the same spec and this one is reused.

An entry is a directory ``<root>/<key[:2]>/<key>/`` holding ``result.json`` and ``arrays.npz``
(:mod:`bayes_anlo.pipeline.result_codec`: exact, and nothing in it is unpickled or evaluated)
and the figures' bytes as drawn (``figures/<name>.<format>``). It is written to a temporary
directory and renamed into place, so a killed run leaves a whole entry or none; an entry that
cannot be read is a miss (and is written again). A result without an exact stored form is simply
not stored.

The cache lives in :func:`default_directory` (``$BAYES_ANLO_CACHE_DIR``, else
``$XDG_CACHE_HOME/bayes_anlo/results``, else ``~/.cache/bayes_anlo/results``); it is created
private (mode 0700) and tagged (:data:`MARKER`); a directory that another user owns or that others
can write, or a non-empty folder without the tag, is not used (a warning says so): whoever can
write the cache could make a report show other numbers. Every file of an entry carries its sha256
in ``result.json``: an altered or incomplete entry is removed and refitted. A process whose
package files changed after it imported ``bayes_anlo`` neither reads nor stores
(:func:`bayes_anlo.runner.cache.files_changed_since_import`). ``BAYES_ANLO_NO_CACHE=1`` turns the
default cache off, ``bayes-anlo run --no-cache`` any.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bayes_anlo.models.sampling import SamplerSettings, package_versions
from bayes_anlo.pipeline import result_codec
from bayes_anlo.report.result import AnalysisResult
from bayes_anlo.runner.cache import canonical_json, code_fingerprint, files_changed_since_import

#: Environment variable naming the cache directory.
DIRECTORY_ENV = "BAYES_ANLO_CACHE_DIR"
#: Environment variable that turns the cache off when set to anything but ``""`` or ``"0"``.
OFF_ENV = "BAYES_ANLO_NO_CACHE"
#: Version of the key and the entry layout.
CACHE_FORMAT = 1

#: Age after which a half-written entry (a run killed while storing) is removed.
STALE_SECONDS = 3600

#: The cache directory's tag (https://bford.info/cachedir/): backup tools skip the folder, and
#: ``bayes-anlo cache --clear`` removes nothing from a folder without it.
MARKER = "CACHEDIR.TAG"
MARKER_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by bayes-anlo (its result cache).\n"
)

_NAME = re.compile(r"[A-Za-z0-9_]+")  # table and figure names
_FORMATS = ("png", "svg", "pdf")
_FIGURE_FILE = re.compile(r"figures/[A-Za-z0-9_]+\.(png|svg|pdf)")
_KEY = re.compile(r"[0-9a-f]{64}")
_SHARD = re.compile(r"[0-9a-f]{2}")


def default_directory() -> Path | None:
    """The cache directory of this user, or None when :data:`OFF_ENV` turns the cache off."""
    if os.environ.get(OFF_ENV, "").strip() not in ("", "0"):
        return None
    asked = os.environ.get(DIRECTORY_ENV, "").strip()
    if asked:
        return Path(asked).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(base) / "bayes_anlo" / "results"


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _file_digest(path: Path) -> dict:
    try:
        return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    except OSError:
        return {"path": str(path), "sha256": None}


def _described(value):
    """The entry as JSON-able data, each file it names with the sha256 of its bytes."""
    if isinstance(value, Path):
        return _file_digest(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _described(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _described(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_described(v) for v in value]
    return value


def analysis_key(
    entry,
    *,
    seed: int,
    index: int,
    sampler: SamplerSettings,
    fast: bool,
    figure_formats,
) -> str:
    """The cache key (64 hex digits) of one analysis of a spec (see the module docstring)."""
    payload = {
        "format": CACHE_FORMAT,
        "codec": result_codec.CODEC_FORMAT,
        "entry": _described(entry),
        "seed": int(seed),
        "index": int(index),
        "sampler": dict(sampler.__dict__),
        "fast": bool(fast),
        "figure_formats": list(figure_formats),
        "code": code_fingerprint(),
        "versions": package_versions(),
        "figure_stack": {name: _version(name) for name in ("matplotlib", "pillow")},
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class DrawnFigure:
    """A figure already drawn (read from the cache): its bytes by format."""

    files: dict


class ResultCache:
    """The analyses' results under their keys (see the module docstring)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    @classmethod
    def open(cls, directory: str | Path | None, warn=None, *, tidy: bool = False):
        """The cache in ``directory`` (created private, with its :data:`MARKER`, if missing or
        empty), or None (with a line to ``warn``) if it cannot be made, is not this user's alone,
        or is a folder of something else (not empty and without the marker). ``tidy``: remove
        what killed runs left half-written more than an hour ago."""
        if directory is None:
            return None
        path = Path(directory).expanduser()

        def refuse(reason: str) -> None:
            if warn:
                warn(f"result cache {path} not used: {reason}")

        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            info = path.stat()
            if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o022):
                refuse("it must belong to this user and be writable by no one else (chmod go-w)")
                return None
            if not (path / MARKER).is_file():
                if any(path.iterdir()):
                    refuse(f"the folder is not empty and has no {MARKER} (not a result cache)")
                    return None
                (path / MARKER).write_text(MARKER_TEXT, encoding="ascii")
        except OSError as exc:
            refuse(str(exc.strerror or exc))
            return None
        cache = cls(path)
        if tidy:
            cache.clear(stale_only=True)
        return cache

    def entry(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def _folders(self):
        """(folder, half_written) of every entry folder, complete or half-written; symbolic
        links and anything not named as the cache names its folders are never listed."""
        for shard in self.directory.iterdir():
            if not _SHARD.fullmatch(shard.name) or shard.is_symlink() or not shard.is_dir():
                continue
            for folder in shard.iterdir():
                if folder.is_symlink() or not folder.is_dir():
                    continue
                if _KEY.fullmatch(folder.name):
                    yield folder, False
                elif folder.name.startswith(".tmp-"):
                    yield folder, True

    def entries(self) -> list[Path]:
        """Every complete entry (a write in progress is a hidden ``.tmp-`` folder)."""
        return sorted(folder for folder, half in self._folders() if not half)

    def size_bytes(self) -> int:
        return sum(
            f.stat().st_size
            for folder, _ in self._folders()
            for f in folder.rglob("*")
            if f.is_file()
        )

    def clear(self, *, stale_only: bool = False) -> int:
        """Remove every entry (or, with ``stale_only``, only what killed runs left half-written
        more than an hour ago); returns how many folders were removed. Only the cache's own
        folders are touched (see :meth:`_folders`)."""
        cutoff = time.time() - STALE_SECONDS
        removed = 0
        for folder, half_written in list(self._folders()):
            if stale_only and not (half_written and _mtime(folder) < cutoff):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        return removed

    def get(self, key: str) -> AnalysisResult | None:
        """The stored result of ``key`` with its figures as :class:`DrawnFigure`, or None. An
        entry that does not read back whole and unchanged (a missing or altered file: every file
        carries its sha256) is removed, so that this run stores it anew."""
        folder = self.entry(key)
        if not folder.is_dir() or folder.is_symlink():
            return None
        try:
            stored = json.loads((folder / "result.json").read_text(encoding="utf-8"))
            digests = stored["sha256"]
            document = stored["result"]
            if stored.get("key") != key or _digest(_canonical(document)) != digests["result"]:
                raise ValueError("altered")
            if not all(_NAME.fullmatch(name) for name in document["tables"]):
                raise ValueError("a table name the cache never writes")
            files = {}
            for name in ["arrays.npz", *digests["files"]]:
                if name != "arrays.npz" and not _FIGURE_FILE.fullmatch(name):
                    raise ValueError("a file name the cache never writes")
                data = (folder / name).read_bytes()
                expected = digests["arrays"] if name == "arrays.npz" else digests["files"][name]
                if _digest(data) != expected:
                    raise ValueError("altered")
                files[name] = data
            figures: dict[str, dict[str, bytes]] = {}
            for name, data in files.items():
                if name != "arrays.npz":
                    stem, fmt = name.removeprefix("figures/").rsplit(".", 1)
                    figures.setdefault(stem, {})[fmt] = data
            if sorted(figures) != sorted(document["figures"]):
                raise ValueError("figures missing")
            with np.load(io.BytesIO(files["arrays.npz"]), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            return result_codec.decode(
                document,
                _Slots(arrays),
                figures={name: DrawnFigure(figures[name]) for name in document["figures"]},
            )
        except Exception:  # noqa: BLE001 (a missing, damaged or altered file: whatever it raises)
            shutil.rmtree(folder, ignore_errors=True)
            return None

    def put(self, key: str, document: dict, arrays: dict, figures: dict[str, dict]) -> bool:
        """Store an encoded result (:func:`result_codec.encode`) and its drawn figures
        (``{name: {format: bytes}}``) under ``key``, every file with its sha256 and synced to
        disk before the entry is renamed into place; False if it was not stored (another run
        stored it first, or the disk refused)."""
        final = self.entry(key)
        if final.exists():
            return False
        if any(not _NAME.fullmatch(n) or not set(f) <= set(_FORMATS) for n, f in figures.items()):
            return False
        buffer = io.BytesIO()
        np.savez(buffer, **{_slot_file(s): a for s, a in arrays.items()})
        files = {
            f"figures/{name}.{fmt}": data
            for name, drawn in figures.items()
            for fmt, data in drawn.items()
        }
        stored = {
            "key": key,
            "result": document,
            "sha256": {
                "result": _digest(_canonical(document)),
                "arrays": _digest(buffer.getvalue()),
                "files": {name: _digest(data) for name, data in files.items()},
            },
        }
        try:
            final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".tmp-"))
        except OSError:
            return False
        try:
            (tmp / "figures").mkdir()
            for name, data in [
                *files.items(),
                ("arrays.npz", buffer.getvalue()),
                ("result.json", json.dumps(stored).encode("utf-8")),
            ]:
                with open(tmp / name, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            os.rename(tmp, final)  # atomic; fails if another run put the same key meanwhile
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            return False
        return True


def _canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()


def _slot_file(slot: str) -> str:
    return "v" + slot.replace("/", "_")


class _Slots:
    """Arrays of ``arrays.npz`` looked up by the codec's slot names."""

    def __init__(self, arrays: dict):
        self._arrays = arrays

    def __getitem__(self, slot: str) -> np.ndarray:
        return self._arrays[_slot_file(slot)]


#: Added to the notes of a result read from the cache (shown under its analysis in the report).
REUSED_NOTE = (
    "Read from the result cache (entry {key}): the spec entry, its data, the seed, the sampler "
    "settings, the package's code and the versions of its numerical packages are those of the run "
    "that fitted it, so these are that run's numbers and figures. `bayes-anlo run --no-cache` "
    "fits it again."
)


class StoredResults:
    """The result cache as one run uses it: :meth:`get` an analysis before fitting it,
    :meth:`keep` what was fitted (encoded at once, before any later step adds to the result), and
    :meth:`put_kept` once its figures are drawn. With no cache every call does nothing."""

    def __init__(self, cache: ResultCache | None, spec, sampler: SamplerSettings, fast: bool):
        self.cache = cache
        self._spec, self._sampler, self._fast = spec, sampler, fast
        self._keys: dict[str, str] = {}
        self._reused: list[str] = []
        self._kept: list[tuple[str, str, dict, dict]] = []
        self._stored: list[str] = []
        self._not_stored: dict[str, str] = {}

    @classmethod
    def open(cls, directory, spec, sampler, fast, log, *, enabled: bool = True) -> StoredResults:
        """The run's view of the cache in ``directory`` (default :func:`default_directory`)."""
        cache = None
        if enabled:
            where = directory if directory is not None else default_directory()
            cache = ResultCache.open(where, warn=log, tidy=True)
            changed = files_changed_since_import() if cache is not None else []
            if changed:
                log(
                    f"result cache not used: {changed[0]} (and {len(changed) - 1} more package "
                    "files) changed after this process imported bayes_anlo, so the code running "
                    "may not be the code on disk; start a new process to use the cache"
                )
                cache = None
        return cls(cache, spec, sampler, fast)

    def _key(self, entry, index: int) -> str:
        if entry.id not in self._keys:
            self._keys[entry.id] = analysis_key(
                entry,
                seed=self._spec.seed,
                index=index,
                sampler=self._sampler,
                fast=self._fast,
                figure_formats=self._spec.figure_formats,
            )
        return self._keys[entry.id]

    def get(self, entry, index: int) -> AnalysisResult | None:
        """The stored result of ``entry`` (the ``index``-th analysis of the spec), or None."""
        if self.cache is None:
            return None
        key = self._key(entry, index)
        result = self.cache.get(key)
        if result is None or result.id != entry.id:
            return None
        result.notes.append(REUSED_NOTE.format(key=key[:12]))
        self._reused.append(entry.id)
        return result

    def reused(self, entry) -> bool:
        return entry.id in self._reused

    def keep(self, entry, result: AnalysisResult, log) -> None:
        """Encode the freshly fitted ``result`` for :meth:`put_kept` (a result without an exact
        stored form is not stored; ``log`` says why)."""
        if self.cache is None or entry.id not in self._keys:
            return
        try:
            document, arrays = result_codec.encode(result)
        except result_codec.CodecError as exc:
            self._not_stored[entry.id] = str(exc)
            log(f"{entry.id}: not stored in the result cache ({exc})")
            return
        self._kept.append((entry.id, self._keys[entry.id], document, arrays))

    def put_kept(self, drawn: dict[str, dict[str, dict[str, bytes]]], log) -> None:
        """Store the kept results with their figures (``drawn[id][name][format]``); nothing if a
        package file changed while the run went on (the results may come from either code)."""
        if self._kept and files_changed_since_import():
            log("results not stored in the result cache: package files changed during the run")
            self._not_stored.update(
                {a: "package files changed during the run" for a, *_ in self._kept}
            )
            self._kept = []
        for analysis, key, document, arrays in self._kept:
            figures = {name: drawn[analysis][name] for name in document["figures"]}
            if self.cache.put(key, document, arrays, figures):
                self._stored.append(analysis)
        self._kept = []

    def record(self) -> dict:
        """What the run's ``run.json`` says of the cache."""
        if self.cache is None:
            return {"directory": None}
        return {
            "directory": str(self.cache.directory),
            "keys": dict(self._keys),
            "reused": list(self._reused),
            "stored": list(self._stored),
            "not_stored": dict(self._not_stored),
        }
