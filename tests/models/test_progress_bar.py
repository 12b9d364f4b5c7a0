"""The sampler's progress bar is drawn on a terminal only (issue 12: `run` says what it is doing)."""

from __future__ import annotations

import io

import pymc as pm

from bayes_anlo.models import sampling
from bayes_anlo.models.sampling import SamplerSettings, sample_model, show_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _captured_progressbar(monkeypatch) -> list:
    seen = []

    def fake_sample(**kwargs):
        seen.append(kwargs["progressbar"])
        raise RuntimeError("stop after the call")

    monkeypatch.setattr(sampling.pm, "sample", fake_sample)
    with pm.Model() as model:
        pm.Normal("x")
    try:
        sample_model(
            model,
            settings=SamplerSettings(),
            random_seed=1,
            attrs={},
            log_likelihood=False,
            posterior_predictive=False,
        )
    except RuntimeError:
        pass
    return seen


def test_progress_bar_on_a_terminal_only(monkeypatch):
    monkeypatch.delenv("BAYES_ANLO_PROGRESS", raising=False)
    monkeypatch.setattr(sampling.sys, "stderr", io.StringIO())
    assert not show_progress()
    assert _captured_progressbar(monkeypatch) == [False]
    monkeypatch.setattr(sampling.sys, "stderr", _Terminal())
    assert show_progress()
    assert _captured_progressbar(monkeypatch) == [True]


def test_progress_bar_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(sampling.sys, "stderr", _Terminal())
    monkeypatch.setenv("BAYES_ANLO_PROGRESS", "0")
    assert not show_progress()
