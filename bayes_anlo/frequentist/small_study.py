"""Small-study effects: regression tests, trim-and-fill and funnel-plot data, as metafor does them.

Regression tests (``metafor::regtest``, default ``model="rma"``): the meta-analytic model is
refitted with one study-level predictor added, ``y_i ~ N(b0 + b1 x_i, v_i + tau^2)``, with the
same tau^2 estimator and test, and the test of ``b1 = 0`` is reported (z, or t with k-2 df under
Hartung-Knapp). ``b0`` is the "limit estimate" (the effect as the predictor goes to 0).

* ``predictor="sei"``: Egger et al. (1997) regression on the standard error (metafor's default);
* ``predictor="ninv"``: the sample-size variant on ``1/n`` (Peters et al. 2006), which avoids
  the built-in correlation between a proportion's transform and its standard error.

Trim and fill (Duval and Tweedie 2000; ``metafor::trimfill`` defaults): estimator L0; the side
with missing studies is the opposite of the sign of the Egger slope (fitted with the model's
tau^2 estimator); iterate "trim the k0 most extreme studies, refit, re-estimate k0" until k0 is
stable (at most 100 rounds); fill the k0 mirror images ``2 mu - y_i`` with the same variances
and refit the model (z test, as metafor does) on all k + k0 values.

Funnel plot data (``metafor::funnel``): each study's effect and standard error, the pooled
effect as reference line and the pseudo-confidence region ``mu +/- z_(1-alpha/2) se``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.errors import InputError
from bayes_anlo.frequentist.distributions import norm_isf
from bayes_anlo.frequentist.effects import model_label, study_effects, to_rate
from bayes_anlo.frequentist.random_effects import check_test, fit_uni
from bayes_anlo.frequentist.tau2 import check_tau2_method

PREDICTORS = {
    "sei": "Egger regression test (standard error as predictor)",
    "ninv": "sample-size regression test (1/n as predictor, Peters-type)",
}
#: Below this many studies the tests and trim-and-fill have little power (Sterne et al. 2011,
#: BMJ 343:d4002, recommend at least 10 studies); results then carry a caveat.
MIN_STUDIES = 10
SMALL_K_CAVEAT = (
    f"fewer than {MIN_STUDIES} studies: small-study tests and trim-and-fill have little power "
    "and should not be read as evidence for or against publication bias (Sterne et al. 2011)"
)


@dataclass(frozen=True)
class SmallStudyTest:
    """A regression test for funnel-plot asymmetry (``regtest``)."""

    method: str
    predictor: str
    model: str
    k: int
    statistic: float
    df: int | None
    p_value: float
    slope: float
    slope_se: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    caveat: str = ""

    @property
    def z(self) -> float:
        """The test statistic (a t statistic under Hartung-Knapp; see ``df``)."""
        return self.statistic

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict:
        from bayes_anlo.frequentist.pooling import _jsonable

        out = {name: _jsonable(getattr(self, name)) for name in self.__dataclass_fields__}
        out["z"] = _jsonable(self.statistic)
        return out


def regression_test(
    data,
    n=None,
    *,
    predictor: str = "sei",
    transform: str = "logit",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> SmallStudyTest:
    """``regtest(rma(measure=..., xi, ni, method=..., test=...), predictor=...)``."""
    if predictor not in PREDICTORS:
        raise ValueError(f"unknown predictor {predictor!r}; choose from {', '.join(PREDICTORS)}")
    method = check_tau2_method(method)
    test = check_test(test)
    eff = study_effects(data, n, transform=transform, labels=labels)
    if eff.k < 3:
        raise InputError("a regression test needs at least 3 studies", file=eff.counts.source)
    x = np.sqrt(eff.vi) if predictor == "sei" else 1.0 / eff.counts.n.astype(float)
    X = np.column_stack([np.ones(eff.k), x])
    fit = fit_uni(eff.yi, eff.vi, X, method=method, test=test, level=level)
    return SmallStudyTest(
        method=PREDICTORS[predictor],
        predictor=predictor,
        model=model_label(eff.transform, method, test),
        k=eff.k,
        statistic=float(fit.zval[1]),
        df=fit.ddf,
        p_value=float(fit.pval[1]),
        slope=float(fit.beta[1]),
        slope_se=float(fit.se[1]),
        limit_estimate=float(fit.beta[0]),
        limit_ci_low=float(fit.ci_low[0]),
        limit_ci_high=float(fit.ci_high[0]),
        caveat=SMALL_K_CAVEAT if eff.k < MIN_STUDIES else "",
    )


@dataclass(frozen=True, eq=False)
class TrimFillResult:
    """Trim and fill: the number of filled studies and the model refitted with them."""

    method: str
    side: str
    k0: int
    se_k0: float
    k: int
    estimate: float
    ci_low: float
    ci_high: float
    theta: float
    theta_se: float
    theta_ci_low: float
    theta_ci_high: float
    tau2: float
    labels: tuple[str, ...]
    yi: np.ndarray
    vi: np.ndarray
    filled: np.ndarray
    caveat: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One row per study, observed and filled (``filled`` True), on the transform scale."""
        return pd.DataFrame(
            {
                "label": list(self.labels),
                "yi": self.yi,
                "vi": self.vi,
                "sei": np.sqrt(self.vi),
                "filled": self.filled,
            }
        )

    def to_dict(self) -> dict:
        from bayes_anlo.frequentist.pooling import _jsonable

        keys = (
            "method",
            "side",
            "k0",
            "se_k0",
            "k",
            "estimate",
            "ci_low",
            "ci_high",
            "theta",
            "theta_se",
            "theta_ci_low",
            "theta_ci_high",
            "tau2",
            "caveat",
        )
        out = {key: _jsonable(getattr(self, key)) for key in keys}
        out["filled_yi"] = [_jsonable(v) for v in self.yi[self.filled]]
        return out


def _l0(y_sorted: np.ndarray, beta: float) -> tuple[float, float]:
    k = y_sorted.size
    centred = y_sorted - beta
    ranks = np.empty(k)
    ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)  # ties: "first"
    sr = float(np.sum((np.sign(centred) * ranks)[centred > 0]))
    k0 = (4 * sr - k * (k + 1)) / (2 * k - 1)
    var_sr = (
        k * (k + 1) * (2 * k + 1)
        + 10 * k0**3
        + 27 * k0**2
        + 17 * k0
        - 18 * k * k0**2
        - 18 * k * k0
        + 6 * k**2 * k0
    ) / 24
    return k0, 4 * math.sqrt(max(var_sr, 0.0)) / (2 * k - 1)


def trim_and_fill(
    data,
    n=None,
    *,
    transform: str = "logit",
    method: str = "REML",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    maxiter: int = 100,
) -> TrimFillResult:
    """``trimfill(rma(measure=..., xi, ni, method=...))`` with metafor's defaults (L0)."""
    method = check_tau2_method(method)
    eff = study_effects(data, n, transform=transform, labels=labels)
    k = eff.k
    if k < 3:
        raise InputError("trim and fill needs at least 3 studies", file=eff.counts.source)
    X = np.column_stack([np.ones(k), np.sqrt(eff.vi)])
    slope = fit_uni(eff.yi, eff.vi, X, method=method).beta[1]
    side = "right" if slope < 0 else "left"
    sign = -1.0 if side == "right" else 1.0
    y = sign * eff.yi
    ix = np.argsort(y, kind="stable")
    y, v = y[ix], eff.vi[ix]
    k0, k0_prev, rounds, se_k0, beta = 0, -1, 0, 0.0, 0.0
    while k0 != k0_prev:
        k0_prev = k0
        rounds += 1
        if rounds > maxiter:
            raise RuntimeError("trim and fill did not converge (as metafor would stop)")
        beta = float(fit_uni(y[: k - k0], v[: k - k0], method=method).beta[0])
        k0_raw, se_k0 = _l0(y, beta)
        k0 = max(0, int(np.round(k0_raw)))  # R rounds half to even, as numpy does
        se_k0 = max(0.0, se_k0)
    if k0 > 0:
        # mirror images 2 mu - y of the k0 most extreme studies (computed on the flipped scale)
        mirrored = sign * (2 * beta - y[k - k0 :])
        yi_all = np.concatenate([eff.yi, mirrored])
        vi_all = np.concatenate([eff.vi, v[k - k0 :]])
    else:
        yi_all, vi_all = eff.yi.copy(), eff.vi.copy()
    filled = np.r_[np.zeros(k, dtype=bool), np.ones(k0, dtype=bool)]
    fit = fit_uni(yi_all, vi_all, method=method, level=level)
    pred, se, lo, hi, _, _ = fit.prediction()
    n_back = (
        np.concatenate([eff.counts.n, eff.counts.n[ix][k - k0 :]])
        if eff.transform == "pft"
        else None
    )
    est, r_lo, r_hi = to_rate([pred, lo, hi], eff.transform, n_back)
    return TrimFillResult(
        method=model_label(eff.transform, method, "z"),
        side=side,
        k0=k0,
        se_k0=se_k0,
        k=k + k0,
        estimate=float(est),
        ci_low=float(r_lo),
        ci_high=float(r_hi),
        theta=pred,
        theta_se=se,
        theta_ci_low=lo,
        theta_ci_high=hi,
        tau2=fit.tau2,
        labels=tuple(eff.labels) + tuple(f"Filled {j + 1}" for j in range(k0)),
        yi=yi_all,
        vi=vi_all,
        filled=filled,
        caveat=SMALL_K_CAVEAT if k < MIN_STUDIES else "",
    )


@dataclass(frozen=True, eq=False)
class FunnelData:
    """What a funnel plot draws: study effects against standard errors, the pooled line and the
    pseudo-confidence region (``metafor::funnel`` with ``yaxis="sei"``)."""

    method: str
    transform: str
    labels: tuple[str, ...]
    yi: np.ndarray
    sei: np.ndarray
    n: np.ndarray
    theta: float
    level: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"label": list(self.labels), "yi": self.yi, "sei": self.sei, "n": self.n}
        )

    def region(self, n_points: int = 50) -> pd.DataFrame:
        """The pseudo-confidence region ``theta +/- z se`` for se from 0 to the largest se."""
        crit = float(norm_isf((1 - self.level) / 2))
        se = np.linspace(0.0, float(self.sei.max()), n_points)
        return pd.DataFrame(
            {"sei": se, "low": self.theta - crit * se, "high": self.theta + crit * se}
        )


def funnel_data(
    data,
    n=None,
    *,
    transform: str = "logit",
    method: str = "REML",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> FunnelData:
    """Funnel-plot coordinates for the model ``rma(measure=..., method=...)``."""
    method = check_tau2_method(method)
    eff = study_effects(data, n, transform=transform, labels=labels)
    fit = fit_uni(eff.yi, eff.vi, method=method, level=level)
    return FunnelData(
        method=model_label(eff.transform, method, "z"),
        transform=eff.transform,
        labels=tuple(eff.labels),
        yi=eff.yi,
        sei=np.sqrt(eff.vi),
        n=eff.counts.n,
        theta=float(fit.beta[0]),
        level=level,
    )
