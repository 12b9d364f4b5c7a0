"""Case-deletion diagnostics of a random-effects meta-analysis, as ``metafor::influence.rma.uni``,
with the coordinates of a Baujat plot (``metafor::baujat``).

For each study ``i`` the model is refitted without it (same tau^2 estimator and test), giving
``tau2_(-i)``, ``Q_(-i)``, the deleted prediction ``mu_(-i)`` with variance ``v_(-i)`` and the
Hartung-Knapp factor ``s2_(-i)`` (1 for z tests). Then (Viechtbauer and Cheung 2010):

* studentized deleted residual ``(y_i - mu_(-i)) / sqrt(v_i s2_(-i) + v_(-i) + tau2_(-i) s2_(-i))``;
* DFFITS ``(mu - mu_(-i)) / sqrt(s2_(-i) h_i (tau2_(-i) + v_i))``;
* Cook's distance ``(b - b_(-i))' Var(b)^-1 (b - b_(-i))``;
  COVRATIO ``det Var(b_(-i)) / det Var(b)``;
* DFBETAS ``(b - b_(-i)) / sqrt(s2_(-i) diag (X' W_(-i) X)^-1)`` with all k studies weighted by
  ``1/(v + tau2_(-i))``;
* hat values ``h_i`` and weights (percent) of the full model.

A study is flagged influential, as metafor marks it with ``*``, when ``|DFFITS| > 3 sqrt(p/(k-p))``,
``pchisq(Cook's D, p) > 0.5``, ``h_i > 3p/k`` or any ``|DFBETAS| > 1``.

Baujat (2002) plot: x = ``(y_i - mu)^2 / (tau^2 + v_i)`` (contribution to heterogeneity), y =
``(mu_(-i) - mu)^2 / v_(-i)`` (influence on the pooled result).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.errors import InputError
from bayes_anlo.frequentist.distributions import chi2_cdf
from bayes_anlo.frequentist.effects import model_label, study_effects
from bayes_anlo.frequentist.random_effects import check_test, fit_uni
from bayes_anlo.frequentist.tau2 import check_tau2_method

_COLUMNS = (
    "label",
    "rstudent",
    "dffits",
    "cook_d",
    "cov_r",
    "tau2_del",
    "q_del",
    "hat",
    "weight",
    "dfbetas",
    "influential",
    "baujat_x",
    "baujat_y",
)


@dataclass(frozen=True, eq=False)
class InfluenceResult:
    """Per-study influence diagnostics of one model (see module docstring)."""

    method: str
    transform: str
    tau2_method: str
    test: str
    labels: tuple[str, ...]
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    q_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray
    baujat_x: np.ndarray
    baujat_y: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per study (``dfbetas`` of the intercept)."""
        data = {c: getattr(self, c) for c in _COLUMNS[1:]}
        data["label"] = list(self.labels)
        frame = pd.DataFrame(data, columns=list(_COLUMNS))
        frame.insert(1, "method", self.method)
        return frame

    def to_dict(self) -> dict:
        from bayes_anlo.frequentist.pooling import _jsonable

        return {
            "method": self.method,
            "studies": [
                {key: _jsonable(value) for key, value in row.items()}
                for row in self.to_frame().drop(columns="method").to_dict("records")
            ],
        }


def influence_diagnostics(
    data,
    n=None,
    *,
    transform: str = "logit",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> InfluenceResult:
    """``influence(rma(measure=..., xi, ni, method=..., test=...))`` for single proportions.

    Needs at least 3 studies (each deleted fit estimates tau^2 from the remaining ones).
    """
    method = check_tau2_method(method)
    test = check_test(test)
    eff = study_effects(data, n, transform=transform, labels=labels)
    if eff.k < 3:
        raise InputError("influence diagnostics need at least 3 studies", file=eff.counts.source)
    return influence_from_effects(eff.yi, eff.vi, eff.labels, eff.transform, method, test, level)


def influence_from_effects(
    yi, vi, labels, transform: str, method: str, test: str, level: float = 0.95
) -> InfluenceResult:
    """The diagnostics from transformed effects (any design-free rma.uni model)."""
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k = y.size
    full = fit_uni(y, v, method=method, test=test, level=level)
    X = full.X
    p = full.p
    pred_full = X @ full.beta
    svb = np.linalg.inv(full.vb)
    out = {name: np.full(k, np.nan) for name in ("tau2_del", "q_del", "delpred", "vdelpred")}
    out.update({name: np.full(k, np.nan) for name in ("s2w", "dffits", "cook_d", "cov_r")})
    dfbetas = np.full((k, p), np.nan)
    for i in range(k):
        keep = np.arange(k) != i
        try:
            sub = fit_uni(y[keep], v[keep], X[keep], method=method, test=test, level=level)
        except (ValueError, RuntimeError, np.linalg.LinAlgError):
            continue
        xi = X[i]
        out["tau2_del"][i] = sub.tau2
        out["q_del"][i] = sub.q
        out["delpred"][i] = float(xi @ sub.beta)
        out["vdelpred"][i] = float(xi @ sub.vb @ xi)
        out["s2w"][i] = sub.s2w
        out["dffits"][i] = (pred_full[i] - out["delpred"][i]) / np.sqrt(
            sub.s2w * full.hat[i] * (sub.tau2 + v[i])
        )
        w_del = 1.0 / (v + sub.tau2)
        vb_del = np.linalg.inv(X.T @ (X * w_del[:, None]))
        dfb = full.beta - sub.beta
        dfbetas[i] = dfb / np.sqrt(sub.s2w * np.diag(vb_del))
        out["cook_d"][i] = float(dfb @ svb @ dfb)
        out["cov_r"][i] = np.linalg.det(sub.vb) / np.linalg.det(full.vb)
    resid = y - out["delpred"]
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
    se_resid = np.sqrt(v * out["s2w"] + out["vdelpred"] + out["tau2_del"] * out["s2w"])
    rstudent = resid / se_resid
    with np.errstate(invalid="ignore"):
        influential = (
            (np.abs(out["dffits"]) > 3 * np.sqrt(p / (k - p)))
            | (chi2_cdf(out["cook_d"], p) > 0.5)
            | (full.hat > 3 * p / k)
            | np.any(np.abs(dfbetas) > 1, axis=1)
        )
    baujat_x = (y - pred_full) ** 2 / (full.tau2 + v)
    baujat_y = (out["delpred"] - pred_full) ** 2 / out["vdelpred"]
    return InfluenceResult(
        method=model_label(transform, method, test),
        transform=transform,
        tau2_method=method,
        test=test,
        labels=tuple(labels),
        rstudent=rstudent,
        dffits=out["dffits"],
        cook_d=out["cook_d"],
        cov_r=out["cov_r"],
        tau2_del=out["tau2_del"],
        q_del=out["q_del"],
        hat=full.hat,
        weight=full.weights,
        dfbetas=dfbetas[:, 0],
        influential=np.asarray(influential, dtype=bool),
        baujat_x=baujat_x,
        baujat_y=baujat_y,
    )
