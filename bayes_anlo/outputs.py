"""Writing output safely: checking a destination before any work, CSV files a spreadsheet cannot
execute, and the errors of a full or read-only disk as plain messages.

* :func:`check_output_path` is the one check of an ``--out`` argument (a run directory for ``run``,
  a file for ``audit`` and ``sweep``): it fails before any fitting, as :class:`InputError`, when the
  destination cannot be written (parent missing or a file, read-only or not writable, name too long)
  or must not be replaced (``.``, the working directory or one of its ancestors, a folder holding
  the spec or its data).
* :func:`write_csv` is the one CSV writer of the project. Text cells (and column names) that a
  spreadsheet would evaluate as a formula, those beginning with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return, get a leading ``'`` (OWASP, "CSV injection"); text that reads as a number
  (``-0.5``, ``+1e3``) and numeric columns are written as they are. The file is written to a
  temporary sibling and renamed into place, so a failed write leaves no half-written file.
* :func:`disk_errors` turns the operating system's "no space left", "read-only file system" and
  "permission denied" while writing into an :class:`InputError` naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

import pandas as pd

from bayes_anlo.errors import InputError, Problem

#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Errors of the destination (not of the program): reported as bad input, exit status 2.
DISK_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EFBIG: "file too large",
    errno.ENAMETOOLONG: "file name too long",
    # a folder of the path cannot be created there (/proc, a path removed meanwhile)
    errno.ENOENT: "no such file or directory, and none can be created there",
}

#: Room kept for the suffix of a temporary sibling (``.NAME.partial-PID-XXXXXXXX``).
TEMP_NAME_ROOM = 40


def _problem(path: Path | str, reason: str) -> InputError:
    return InputError(Problem(str(path), None, None, reason))


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or "/")


def _writable_directory(directory: Path, shown: Path) -> None:
    if not directory.is_dir():
        raise _problem(shown, f"cannot be created: {directory} is a file, not a folder")
    if not os.access(directory, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only(directory) else "permission denied"
        raise _problem(shown, f"cannot be written: {directory} is not writable ({reason})")


def _read_only(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def check_output_path(
    path: str | Path, *, kind: str = "file", protect: tuple[str | Path, ...] = ()
) -> Path:
    """Check that ``path`` can be written as an output ``kind`` ("file" or "directory").

    Raises :class:`InputError` (one problem naming ``path``) when it cannot: an empty name, ``.`` or
    ``..``; the working directory, one of its ancestors, or an ancestor of a ``protect`` path (for a
    directory that could be replaced); a name longer than the file system allows; a parent that is a
    file, missing (for a file), read-only or not writable; an existing directory where a file is
    wanted, or an existing file where a directory is wanted; an existing device, FIFO or socket
    where a file is wanted (the atomic write would replace it). Returns the absolute path.
    """
    if kind not in ("file", "directory"):
        raise ValueError(f"kind must be 'file' or 'directory', not {kind!r}")
    raw = str(path)
    if raw.strip() == "" or Path(raw).name in ("", ".", ".."):
        raise _problem(
            raw or "''",
            "is not a usable output name (give a new folder or file name, not '.' or '..')",
        )
    target = Path(os.path.abspath(raw))
    if kind == "directory":
        cwd = Path.cwd().resolve()
        resolved = target.resolve()
        if resolved == cwd or resolved in cwd.parents:
            raise _problem(
                raw,
                "is the working directory or one of its ancestors; give a new folder for the run",
            )
        for protected in protect:
            p = Path(protected).resolve()
            if resolved == p or resolved in p.parents:
                raise _problem(
                    raw,
                    f"contains {protected}, which a run must not replace; give a new folder for "
                    "the run",
                )
    parent = target.parent
    existing = _nearest_existing(parent)
    limit = _name_max(existing if existing.is_dir() else Path("/"))
    room = TEMP_NAME_ROOM
    if len(os.fsencode(target.name)) + room > limit:
        raise _problem(
            raw,
            f"name is too long ({len(os.fsencode(target.name))} bytes; at most {limit - room} "
            "here)",
        )
    for part in parent.relative_to(existing).parts if existing != parent else ():
        if len(os.fsencode(part)) > limit:
            raise _problem(raw, f"folder name {part[:40]!r}... is too long (at most {limit} bytes)")
    if os.path.lexists(target):
        if kind == "file" and target.is_dir():
            raise _problem(raw, "is a folder; give a file name for the table")
        if kind == "file" and target.exists() and not target.is_file():
            raise _not_a_regular_file(raw)
        if kind == "directory" and not target.is_dir():
            raise _problem(raw, "exists and is not a directory")
    if kind == "file" and existing != parent:
        raise _problem(raw, f"cannot be written: folder {parent} does not exist")
    _writable_directory(existing, Path(raw))
    return target


def neutralise_formula(value):
    """``value`` with a leading ``'`` if it is text a spreadsheet would evaluate (see module
    docs)."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are safe to open in a spreadsheet."""
    out = frame.copy()
    out.columns = [neutralise_formula(c) for c in out.columns]
    for column in range(out.shape[1]):
        values = out.iloc[:, column]
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype | pd.CategoricalDtype):
            out.isetitem(column, values.astype(object).map(neutralise_formula))
    if out.index.dtype == object:
        out.index = out.index.map(neutralise_formula)
    return out


@contextlib.contextmanager
def disk_errors(path: str | Path):
    """Re-raise a destination error (full disk, read-only, no permission) as :class:`InputError`."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in DISK_ERRNOS:
            raise
        raise _problem(
            path,
            f"could not be written: {DISK_ERRNOS[exc.errno]}"
            + (
                f" ({Path(exc.filename).name})"
                if exc.filename and str(exc.filename) != str(path)
                else ""
            ),
        ) from None


def _not_a_regular_file(path) -> InputError:
    """The refusal of an output that exists and is a device (/dev/null), a FIFO or a socket: a
    file is written beside its target and renamed over it, which would replace the device with a
    regular file (:func:`check_output_path` before any work, :func:`write_bytes_atomic` at the
    write)."""
    return _problem(path, "is not a regular file (a device, FIFO or socket); give a file name")


def write_bytes_atomic(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place (no partial
    file)."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise _not_a_regular_file(path)
    with disk_errors(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o666 & ~current_umask())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return path


def write_csv(frame: pd.DataFrame, path: str | Path, *, index: bool = False, **kwargs) -> Path:
    """The project's CSV writer: formula-neutralised text (module docs), UTF-8, atomic."""
    text = neutralised(frame).to_csv(index=index, lineterminator="\n", **kwargs)
    return write_bytes_atomic(text.encode("utf-8"), path)


def current_umask() -> int:
    """The process's umask (read without changing it where /proc allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
