"""Frequentist meta-regression of single proportions on one study-level moderator, as
``metafor::rma(yi, vi, mods = ~ x)``.

The transformed proportions (logit by default, or PFT) are regressed on a moderator taken from a
column of the data: a numeric column enters as it is (one slope); any other column is a factor
with its levels sorted alphabetically ignoring case (as R's ``factor`` sorts them in an English
locale), the first as reference (treatment contrasts,
one coefficient per other level). Fitted by :func:`~bayes_anlo.frequentist.random_effects.fit_uni`
with the chosen tau^2 estimator and test: coefficients with SE, z (or t) and CI, the omnibus test
``QM`` of the moderator (chi^2, or F under Hartung-Knapp) with its p-value, the residual tau^2,
the test for residual heterogeneity ``QE`` and ``R^2`` (percent of tau^2 accounted for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.data.binary import BinaryData
from bayes_anlo.errors import InputError, Problem
from bayes_anlo.frequentist.effects import model_label, study_effects
from bayes_anlo.frequentist.random_effects import UniFit, check_test, fit_uni
from bayes_anlo.frequentist.tau2 import check_tau2_method


@dataclass(frozen=True, eq=False)
class MetaRegressionResult:
    """A meta-regression on one moderator (see module docstring)."""

    method: str
    moderator: str
    kind: str
    levels: tuple[str, ...]
    k: int
    fit: UniFit

    @property
    def coefficients(self) -> pd.DataFrame:
        return self.fit.coefficients_frame()

    @property
    def slope(self) -> float:
        """The moderator's coefficient (numeric moderator; the first contrast for a factor)."""
        return float(self.fit.beta[1])

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient with the model-level statistics repeated."""
        frame = self.coefficients.copy()
        frame.insert(0, "moderator", self.moderator)
        frame.insert(0, "method", self.method)
        for key, value in self._model_stats().items():
            frame[key] = value
        return frame

    def _model_stats(self) -> dict:
        f = self.fit
        return {
            "qm": f.qm,
            "qm_df1": f.qm_df[0],
            "qm_df2": f.qm_df[1],
            "qm_p": f.qm_p,
            "tau2": f.tau2,
            "i2": f.i2,
            "r2": f.r2,
            "qe": f.q,
            "qe_df": f.q_df,
            "qe_p": f.q_p,
        }

    def to_dict(self) -> dict:
        from bayes_anlo.frequentist.pooling import _jsonable

        out = {
            "method": self.method,
            "moderator": self.moderator,
            "kind": self.kind,
            "levels": list(self.levels),
            "k": self.k,
            "coefficients": [
                {key: _jsonable(value) for key, value in row.items()}
                for row in self.coefficients.to_dict("records")
            ],
        }
        out.update({key: _jsonable(value) for key, value in self._model_stats().items()})
        return out


def moderator_design(data: BinaryData, column: str) -> tuple[np.ndarray, tuple, str, tuple]:
    """Design matrix for ``~ column``: names, kind ("numeric"/"categorical") and factor levels.

    Every study needs a value; blanks and non-finite numbers are input errors with their row.
    """
    if column not in data.table.columns:
        raise InputError(
            Problem(
                data.source,
                None,
                column,
                f"no column {column!r} for the moderator "
                f"(has: {', '.join(map(str, data.table.columns))})",
            )
        )
    raw = ["" if v is None else str(v).strip() for v in data.table[column]]
    missing = [i for i, v in enumerate(raw) if v == "" or v.lower() == "nan"]
    if missing:
        raise InputError(
            [
                Problem(
                    data.source,
                    None,
                    column,
                    f"study {data.labels[i]!r} has no {column} value; meta-regression needs "
                    "one for every study",
                )
                for i in missing
            ]
        )
    k = len(raw)
    try:
        values = np.array([float(v) for v in raw])
    except ValueError:
        values = None
    if values is not None and np.all(np.isfinite(values)):
        if np.ptp(values) == 0:
            raise InputError(
                Problem(data.source, None, column, f"{column} takes one value in every study")
            )
        return np.column_stack([np.ones(k), values]), ("intrcpt", column), "numeric", ()
    levels = tuple(sorted(set(raw), key=lambda s: (s.casefold(), s)))
    if len(levels) < 2:
        raise InputError(
            Problem(data.source, None, column, f"{column} has one level among the studies")
        )
    columns = [np.ones(k)] + [np.array([v == lev for v in raw], dtype=float) for lev in levels[1:]]
    names = ("intrcpt", *(f"{column}{lev}" for lev in levels[1:]))
    return np.column_stack(columns), names, "categorical", levels


def meta_regression(
    data: BinaryData,
    moderator: str,
    *,
    transform: str = "logit",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> MetaRegressionResult:
    """``rma(measure=..., xi, ni, mods = ~ moderator, method=..., test=...)`` on a data column."""
    method = check_tau2_method(method)
    test = check_test(test)
    if not isinstance(data, BinaryData):
        raise TypeError("meta_regression takes a BinaryData with the moderator as a column")
    X, names, kind, levels = moderator_design(data, moderator)
    eff = study_effects(data, transform=transform)
    if eff.k < X.shape[1] + 2:
        raise InputError(
            Problem(
                data.source,
                None,
                moderator,
                f"{eff.k} studies are too few for {X.shape[1]} coefficients plus tau^2 and a "
                "residual heterogeneity test",
            )
        )
    fit = fit_uni(eff.yi, eff.vi, X, method=method, test=test, level=level, names=names)
    if not all(math.isfinite(b) for b in fit.beta):
        raise InputError(Problem(data.source, None, moderator, "the model could not be fitted"))
    return MetaRegressionResult(
        method=model_label(eff.transform, method, test),
        moderator=moderator,
        kind=kind,
        levels=levels,
        k=eff.k,
        fit=fit,
    )
