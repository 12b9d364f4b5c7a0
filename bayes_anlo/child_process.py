"""Helper processes of a run, and the one way the run talks to them.

A helper is ``python -P -m <module>`` started by :func:`start`: not by :mod:`multiprocessing`, so
it never re-imports the caller's ``__main__`` (a script without an ``if __name__ == "__main__"``
guard would otherwise start a run in every helper) and never inherits the caller's threads
(``fork``); ``-P`` keeps the current directory off its path (a ``matplotlib.py`` or ``pickle.py``
lying there is never imported). Messages are pickled objects, each prefixed by its length
(:func:`send`, :func:`receive`): the run's own data to its own children and their answers back,
over pipes; nothing is read from a file or from input. The helpers: the figure workers
(:mod:`bayes_anlo.report.figure_pool`) and the writer of ``posterior.nc``
(:mod:`bayes_anlo.pipeline.tree_writer`).
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

_LENGTH = 8  # bytes of the length prefix of each message


def start(module: str) -> subprocess.Popen | None:
    """``python -P -m module`` with pipes for stdin and stdout and this package on its path, in a
    process group of its own; None if no process can be started here.

    Its own group: a Ctrl-C in the terminal reaches the run alone, which ends its helpers. In
    the run's group, a helper still importing its stack (before :func:`serve` ignores SIGINT)
    printed a KeyboardInterrupt traceback of its own."""
    package_root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    try:
        return subprocess.Popen(
            [sys.executable, "-P", "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
            process_group=0,
        )
    except OSError:
        return None


def message(value) -> bytes:
    """``value`` as a message (pickled): :func:`send` takes either."""
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def send(stream, value) -> None:
    """Write ``value`` (or a :func:`message` made of it beforehand) as one message."""
    payload = value if isinstance(value, bytes) else message(value)
    stream.write(len(payload).to_bytes(_LENGTH, "big"))
    stream.write(payload)
    stream.flush()


def receive(stream):
    """The next message's object, or None at the end of the stream (the other side is gone)."""
    head = stream.read(_LENGTH)
    if len(head) < _LENGTH:
        return None
    size = int.from_bytes(head, "big")
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return pickle.loads(payload)  # noqa: S301 (a message of this run or of its own helper)


def serve(handle: Callable, *, once: bool = False) -> None:
    """The body of a helper: answer each message (only the first with ``once``) with
    ``("ok", handle(message))``, ``("oserror", (errno, strerror, filename))`` for an OSError
    (a disk error the run raises as its own) or ``("error", traceback)``, until stdin closes or
    the run is gone. SIGINT is ignored (Ctrl-C is the run's to handle), and anything the helper
    prints goes to stderr, never into the answers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    while (job := receive(sys.stdin.buffer)) is not None:
        try:
            answer = ("ok", handle(job))
        except OSError as exc:
            answer = ("oserror", (exc.errno, exc.strerror, exc.filename))
        except Exception:  # the run does this job itself (and raises its error, if any)
            answer = ("error", traceback.format_exc())
        try:
            send(answers, answer)
        except OSError:  # the run is gone (killed): nobody to answer
            return
        if once:
            return
