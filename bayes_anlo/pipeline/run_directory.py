"""Placing a run directory without losing anything: the destination is checked at start, checked
again at the moment of the rename, and never replaced unless it is the run directory that was
checked.

A run writes into a hidden sibling ``.NAME.partial-PID-XXXXXXXX`` (PID = the writing process) and
puts it in place with one rename:

* ``DIR`` missing (or empty) at start: ``rename(partial, DIR)``. The kernel refuses it if a
  non-empty ``DIR`` appeared meanwhile (a second run, a user's folder): nothing is replaced and
  the run ends with one message.
* ``DIR`` a run directory and ``--force``: its identity (device, inode and the hash of its
  ``run.json``) is recorded at start. At the end the partial and ``DIR`` are swapped in one atomic
  step (``renameat2(RENAME_EXCHANGE)``), the displaced directory is checked to be the one recorded
  (swapped back if not), and then deleted. Where the exchange is not supported the old directory
  is first renamed to ``.NAME.old-PID-MS`` and restored if the second rename fails.
* A process killed at any point leaves at worst hidden siblings whose PID is no longer running:
  :func:`recover_stale` (run at every start) deletes stale partials and restores a stale
  ``.old`` backup when ``DIR`` is missing, each with a message.

Only a directory carrying the run marker (``run.json`` with ``"format": RUN_FORMAT``, or a
``run.json`` of an earlier version with its spec hash and text) is ever replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bayes_anlo.errors import InputError, Problem
from bayes_anlo.outputs import current_umask

#: Value of ``run.json``'s ``format`` field: marks a directory as a bayes_anlo run directory.
RUN_FORMAT = "bayes_anlo.run/1"
MARKER = "run.json"


def _problem(path: Path, reason: str) -> InputError:
    return InputError(Problem(str(path), None, None, reason))


def is_run_directory(directory: Path) -> bool:
    """Whether ``directory`` holds this project's run marker (see module docstring)."""
    try:
        record = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict):
        return False
    return record.get("format") == RUN_FORMAT or {"spec_sha256", "spec_text", "versions"} <= set(
        record
    )


@dataclass(frozen=True)
class Identity:
    """What a run checked at start: the directory's device and inode and its marker's hash."""

    device: int
    inode: int
    marker_sha256: str

    @classmethod
    def of(cls, directory: Path) -> Identity | None:
        try:
            st = os.stat(directory, follow_symlinks=False)
            digest = hashlib.sha256((directory / MARKER).read_bytes()).hexdigest()
        except OSError:
            return None
        return cls(st.st_dev, st.st_ino, digest)


def claim_destination(out: Path, force: bool) -> Identity | None:
    """Check ``out`` at start; return the identity of the run directory ``--force`` may replace.

    ``None`` means ``out`` is missing or empty and will only be created, never replaced.
    """
    if not os.path.lexists(out):
        return None
    if out.is_symlink() or not out.is_dir():
        raise _problem(out, "exists and is not a directory")
    if not any(out.iterdir()):
        return None
    if not force:
        raise _problem(out, "run directory already exists; pass --force to replace it")
    if not is_run_directory(out):
        raise _problem(
            out,
            f"is not a bayes_anlo run directory (no {MARKER} written by bayes-anlo run); "
            "--force replaces only run directories, so nothing was changed",
        )
    identity = Identity.of(out)
    if identity is None:
        raise _problem(out, "could not be read")
    return identity


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_pid(name: str, kind: str, out_name: str) -> int | None:
    """PID in ``.OUT.KIND-PID-...`` (None for another pattern or an unparsable PID)."""
    prefix = f".{out_name}.{kind}-"
    if not name.startswith(prefix):
        return None
    head = name[len(prefix) :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def recover_stale(out: Path, log: Callable[[str], None]) -> None:
    """Clean up after a run to ``out`` that was killed: restore or delete its hidden siblings."""
    parent = out.parent
    if not parent.is_dir():
        return
    stale = {"partial": [], "old": []}
    for entry in parent.iterdir():
        for kind in stale:
            pid = _owner_pid(entry.name, kind, out.name)
            if (
                pid is not None
                and not _pid_running(pid)
                and entry.is_dir()
                and not entry.is_symlink()
            ):
                stale[kind].append(entry)
    for backup in sorted(stale["old"], key=lambda p: p.name, reverse=True):
        if not os.path.lexists(out):
            backup.rename(out)
            log(
                f"note: restored {out} from {backup.name}, left by a --force run that was "
                "interrupted"
            )
        else:
            shutil.rmtree(backup, ignore_errors=True)
            log(
                f"note: removed {backup}, the previous run directory left by an interrupted "
                "--force run"
            )
    for partial in stale["partial"]:
        shutil.rmtree(partial, ignore_errors=True)
        log(f"note: removed {partial}, unfinished output of an interrupted run")


def make_partial(out: Path) -> Path:
    """Create the hidden sibling a run writes into, with the permissions the umask gives."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}-", dir=out.parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where that is not supported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _changed(out: Path) -> InputError:
    return _problem(
        out,
        "changed while this run was computing (another run or a new folder); it was left "
        "untouched and this run's results were discarded",
    )


def place(tmp: Path, out: Path, expected: Identity | None) -> None:
    """Put the finished ``tmp`` at ``out`` (see module docstring); ``tmp`` is gone afterwards."""
    if expected is None:
        try:
            os.rename(tmp, out)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                shutil.rmtree(tmp, ignore_errors=True)
                raise _changed(out) from None
            raise
        return
    if Identity.of(out) != expected:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _changed(out)
    if _exchange(tmp, out):
        if Identity.of(tmp) != expected:  # out was swapped between the check and the exchange
            _exchange(tmp, out)
            shutil.rmtree(tmp, ignore_errors=True)
            raise _changed(out)
        shutil.rmtree(tmp, ignore_errors=True)  # the previous run directory
        return
    backup = out.with_name(f".{out.name}.old-{os.getpid()}-{int(time.time() * 1000)}")
    os.rename(out, backup)
    if Identity.of(backup) != expected:
        with contextlib.suppress(OSError):
            os.rename(backup, out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise _changed(out)
    try:
        os.rename(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rename(backup, out)
        raise
    shutil.rmtree(backup, ignore_errors=True)
