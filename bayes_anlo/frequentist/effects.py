"""Single proportions on a transform scale, ready for :mod:`~bayes_anlo.frequentist.random_effects`:
validated counts with ``yi``/``vi`` (``metafor::escalc``), the row label of a model and the
back-transform to the rate scale. Sits above both :mod:`~bayes_anlo.frequentist.pooling` and
:mod:`~bayes_anlo.frequentist.random_effects` so that neither imports the other's users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayes_anlo.frequentist.pooling import (
    _check_transform,
    back_transform,
    escalc,
    study_counts,
)


@dataclass(frozen=True, eq=False)
class StudyEffects:
    """Validated counts with their transformed proportions ``yi`` and sampling variances ``vi``."""

    counts: object  # pooling.StudyCounts
    transform: str
    yi: np.ndarray
    vi: np.ndarray

    @property
    def labels(self) -> tuple[str, ...]:
        return self.counts.labels

    @property
    def k(self) -> int:
        return int(self.yi.size)


def study_effects(data, n=None, *, transform: str = "logit", labels=None) -> StudyEffects:
    """Counts (a single-outcome BinaryData, or events with n) on the transform scale (escalc)."""
    transform = _check_transform(transform)
    counts = study_counts(data, n, labels=labels)
    yi, vi = escalc(counts.events, counts.n, transform)
    return StudyEffects(counts, transform, np.asarray(yi, float), np.asarray(vi, float))


def model_label(transform: str, method: str, test: str) -> str:
    """``"PLO-REML"``, ``"PFT-DL-HK"``, ...: the row name of a pooled result."""
    measure = {"pft": "PFT", "logit": "PLO"}[transform]
    return f"{measure}-{method}{'-HK' if test == 'knha' else ''}"


def to_rate(theta, transform: str, n) -> np.ndarray:
    """Back to the probability scale (inverse logit, or PFT inverse at the harmonic mean of n)."""
    return back_transform(np.asarray(theta, dtype=float), transform, n)
