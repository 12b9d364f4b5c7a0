"""Ending a process of the package's own once its work is done, without tearing Python down.

A normal exit frees every object and unloads every module before the process ends: pandas,
SciPy, matplotlib and xarray make that about 0.3 s of a ``bayes-anlo rates`` of under two
seconds, and about a second of a ``bayes-anlo run`` (measured with ``/usr/bin/time`` on the
bundled examples; ``benchmarks/run.py`` prints the totals). Nothing in that teardown writes
anything: every file of a command is written and closed before it returns. :func:`leave` runs the
exit handlers (``atexit``: logging's shutdown, PyTensor's profile report when profiling is on,
coverage's data file), flushes stdout and stderr, and ends the process with :func:`os._exit`, so
only the teardown is skipped, as mypy does at the end of its own runs.

Only for a process whose owner decides how it ends: the console script
(:func:`bayes_anlo.cli.console_script`; :func:`bayes_anlo.cli.main` raises ``SystemExit`` as
usual, for a caller in its own process) and the run's helper processes
(:mod:`bayes_anlo.child_process`). It falls back to :func:`sys.exit` when something may still need
Python's own exit: another thread that is not a daemon, a child of :mod:`multiprocessing`, dask and
distributed (the ``study`` commands' clusters close at exit), or a Python without
``atexit._run_exitfuncs`` (CPython's; not part of the documented ``atexit`` interface, hence the
check).

:class:`GuardedStdout` is the console script's standard output: a write that fails for a reason
of the destination (a full disk, a quota, an I/O error) raises :class:`StdoutError`, which the
script reports as one ``error:`` line with exit status 2, as it does for a file it cannot write,
instead of a traceback. Its ``buffer`` is guarded too: click writes there itself when the
stream's encoding is ASCII. :func:`console_stdout` makes it: over a buffered writer even when
Python runs unbuffered (``PYTHONUNBUFFERED=1``, common in containers: a text stream straight on
the file then drops what a short write leaves over, so a file-size limit cut the output with exit
status 0), and over a stream whose every write fails when standard output is closed (``>&-``:
Python then has no ``sys.stdout`` and click prints nothing, with exit status 0).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import io
import os
import sys
import threading
from typing import NoReturn

#: How the console writes a character its output's encoding lacks: as an escape (``\u4e2d``), as
#: Python writes stderr, instead of failing the command after its work is done (a study label or
#: file name in Chinese on a terminal whose encoding is Latin-1 or ASCII).
UNENCODABLE = "backslashreplace"

#: Packages whose exit handlers matter (a Dask cluster closes its workers at exit).
_NEEDS_ITS_EXIT = ("dask", "distributed")


class StdoutError(Exception):
    """Standard output could not be written (the destination's error, not the program's)."""

    def __init__(self, error: OSError):
        super().__init__(f"standard output could not be written: {error.strerror or error}")
        self.error = error


@contextlib.contextmanager
def _as_stdout_error():
    """An OSError inside raised as :class:`StdoutError`, except a closed pipe."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise StdoutError(exc) from None


class _Guarded:
    """``stream`` with the errors of its ``write`` and ``flush`` raised as :class:`StdoutError`;
    a closed pipe (``| head``) stays a :class:`BrokenPipeError`. Everything else is the stream's."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, data):
        with _as_stdout_error():
            return self._stream.write(data)

    def flush(self) -> None:
        with _as_stdout_error():
            self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class GuardedStdout(_Guarded):
    """The console's ``sys.stdout`` (text), its binary ``buffer`` guarded the same way."""

    @property
    def buffer(self) -> _Guarded:
        return _Guarded(self._stream.buffer)


class _ClosedOutput(io.RawIOBase):
    """What standard output is when the process was started without one (``>&-``)."""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(errno.EBADF, "Bad file descriptor (standard output is closed)")


def console_stdout(stream) -> GuardedStdout:
    """The console's guarded standard output for ``stream`` (``sys.stdout``; None when closed):
    text on a buffered writer, line-buffered, so a short write is completed or ends in an error
    (see the module docstring)."""
    if stream is None:
        raw, encoding = _ClosedOutput(), "utf-8"
    elif isinstance(getattr(stream, "buffer", None), io.RawIOBase):  # Python runs unbuffered
        raw, encoding = stream.buffer, stream.encoding
    else:
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors=UNENCODABLE)
        return GuardedStdout(stream)
    text = io.TextIOWrapper(
        io.BufferedWriter(raw), encoding=encoding, errors=UNENCODABLE, line_buffering=True
    )
    return GuardedStdout(text)


def exit_status(code: object) -> int:
    """The status :class:`SystemExit` with ``code`` gives: 0 for None, the number itself, else 1
    (Python prints a message code such as ``sys.exit("error")`` to stderr)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def can_leave_at_once() -> bool:
    """Whether nothing in this process still needs Python's exit (see the module docstring)."""
    if any(sys.modules.get(name) is not None for name in _NEEDS_ITS_EXIT):
        return False
    if not callable(getattr(atexit, "_run_exitfuncs", None)):
        return False
    main = threading.main_thread()
    if any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()):
        return False
    multiprocessing = sys.modules.get("multiprocessing")
    return not (multiprocessing is not None and multiprocessing.active_children())


def leave(status: int) -> NoReturn:
    """End the process with ``status``: at once when :func:`can_leave_at_once`, else through
    :func:`sys.exit`."""
    if not can_leave_at_once():
        sys.exit(status)
    atexit._run_exitfuncs()  # the handlers (logging's shutdown among them), not the teardown
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream: nothing to do
            pass
    os._exit(status)
