"""A Ctrl-C is never lost: the command's SIGINT handler remembers it, and the long loops check.

Python raises KeyboardInterrupt wherever the main thread is when the signal is handled. Raised
inside a finalizer or a weakref callback (numba's ``on_disposal`` during a compilation was seen),
it is printed as "Exception ignored in ..." and dropped; a library may also catch it (nutpie and
PyMC return the draws made so far). The command then went on: a ``run`` wrote its directory, a
study kept computing. :func:`remembered` (the console's command line runs in it) makes the handler
also record the signal; :func:`check` raises KeyboardInterrupt again if one was recorded, and the
loops call it between their steps (each analysis and each step of an analysis, each task of a
study, each sampling call). Outside the console (a notebook, a library user) nothing is
installed and :func:`check` does nothing. :func:`not_swallowed` guards the samplers, console or
not."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_RECEIVED = threading.Event()


def _on_interrupt(signum, frame):
    _RECEIVED.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def remembered() -> Iterator[None]:
    """Within the block, remember every SIGINT (main thread only, and only where Python's own
    handler is the one in force: an ignored SIGINT stays ignored); afterwards the handler before
    it is back and nothing is remembered (a script or a notebook that called the command line
    goes on as before)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    signal.signal(signal.SIGINT, _on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _RECEIVED.clear()


def check() -> None:
    """Raise KeyboardInterrupt if a SIGINT was received in :func:`remembered`, whether or not
    its first KeyboardInterrupt reached the command."""
    if _RECEIVED.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def not_swallowed() -> Iterator[None]:
    """Ctrl-C (SIGINT) during the block ends it with KeyboardInterrupt, also where the block's
    code catches it (the samplers: nutpie's blocking ``sample`` and PyMC's samplers and posterior
    predictive return the draws made so far, which suits a notebook; in a command or a study the
    run went on with a truncated posterior). The signal handler in force still runs (it stops the
    sampler); the interrupt is raised again once the block returns, also in place of an error
    the sampler raised while handling it. Only in the main thread, and only where SIGINT has a
    Python handler (not where it is ignored, as in a Dask worker)."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    seen: list[int] = []

    def remember(signum, frame):
        seen.append(signum)
        previous(signum, frame)

    signal.signal(signal.SIGINT, remember)
    try:
        yield
    except Exception:
        if seen:  # the sampler's own error while it handled the interrupt
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if seen:
        raise KeyboardInterrupt
