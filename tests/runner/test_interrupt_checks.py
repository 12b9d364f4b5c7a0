"""A Ctrl-C that Python or a library dropped still ends the command (bayes_anlo/interrupt.py).

A KeyboardInterrupt raised inside a finalizer or a weakref callback is printed as "Exception
ignored in ..." and dropped (numba's ``on_disposal`` during a compilation: ``run`` then went on
and wrote its directory). The console's SIGINT handler remembers the signal and the loops check
between their steps."""

from __future__ import annotations

import os
import signal
import time

import pytest

from bayes_anlo import interrupt
from bayes_anlo.runner import FitTask
from bayes_anlo.runner.execute import run

CALLS: list[int] = []


def record_task(task) -> dict:
    CALLS.append(task.extra["i"])
    return {"i": task.extra["i"]}


def _tasks(n: int) -> list:
    return [FitTask(f"t{i}", {"test": "interrupt"}, {}, 1, {"i": i}) for i in range(n)]


def _dropped_interrupt() -> None:
    """A SIGINT whose KeyboardInterrupt is lost, as in a weakref callback."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        pass


def test_a_dropped_interrupt_stops_a_serial_study_before_its_next_task(python_sigint_handler):
    CALLS.clear()
    with interrupt.remembered():
        assert run(_tasks(2), record_task) == [{"i": 0}, {"i": 1}]  # nothing received yet
        _dropped_interrupt()
        with pytest.raises(KeyboardInterrupt):
            run(_tasks(3), record_task)
    assert CALLS == [0, 1]  # none of the second study's tasks ran


def test_after_the_block_the_handler_is_back_and_nothing_is_remembered(python_sigint_handler):
    with interrupt.remembered():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        _dropped_interrupt()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    interrupt.check()  # does not raise
    CALLS.clear()
    assert run(_tasks(1), record_task) == [{"i": 0}]


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupt.remembered():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
