"""Ctrl-C during sampling ends the fit (bayes_anlo/interrupt.py: not_swallowed).

nutpie's blocking ``sample`` and PyMC's samplers catch KeyboardInterrupt and return the draws made
so far. A study or a run then went on with a truncated posterior, and the Ctrl-C was lost."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from bayes_anlo.interrupt import not_swallowed
from bayes_anlo.models import BetaBinomial, compile_cache
from bayes_anlo.models.sampling import SamplerSettings
from tests.models._data import make_binary


def _interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_an_interrupt_a_block_swallowed_is_raised_when_it_ends(python_sigint_handler):
    swallowed = []
    with pytest.raises(KeyboardInterrupt), not_swallowed():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:  # what a sampler does
            swallowed.append(True)
    assert swallowed == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_error_raised_while_handling_an_interrupt_is_the_interrupt(python_sigint_handler):
    """nutpie, interrupted while it collected its results, raised "Sampler has no results to
    take" from its own KeyboardInterrupt handler; the user pressed Ctrl-C, and that is what ends
    the block."""
    with pytest.raises(KeyboardInterrupt), not_swallowed():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            raise ValueError("Sampler has no results to take") from None


def test_an_error_without_an_interrupt_is_raised_as_it_is(python_sigint_handler):
    with pytest.raises(ValueError, match="no results"), not_swallowed():
        raise ValueError("no results")


def test_a_block_without_an_interrupt_returns_its_value(python_sigint_handler):
    with not_swallowed():
        value = 3
    assert value == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_sigint_stays_ignored():
    """A Dask worker ignores SIGINT (runner/dask_plugin.py); the guard must not install a handler
    that would turn the terminal's Ctrl-C into an error in the worker."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with not_swallowed():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_while_nutpie_samples_ends_the_fit(python_sigint_handler, empty_compile_cache):
    """The real sampler, compiled first so that the signal arrives while it samples: on the
    previous code nutpie returned the draws made so far and the fit ended normally."""
    model = BetaBinomial(sampler=SamplerSettings(draws=2_000_000, tune=500, chains=2))
    prep = model.prepare(make_binary([3, 8, 0, 12, 5], [30, 41, 18, 52, 25]))
    key = model.structure_key(prep)
    compile_cache.compiled_model(key, lambda: model._build(prep))
    timer = _interrupt_after(1.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            compile_cache.sample_cached(
                key, lambda: model._build(prep), model.data_values(prep), model.sampler, 1
            )
    finally:
        timer.cancel()
