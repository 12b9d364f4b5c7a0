"""The normal-normal (meta-regression) model as ``metafor::rma.uni`` fits it, with z or
Hartung-Knapp tests.

``y_i ~ N(x_i' beta, v_i + tau^2)``, tau^2 by any estimator of :mod:`~bayes_anlo.frequentist.tau2`;
``beta = (X'WX)^-1 X'W y`` with ``W = diag(1/(v + tau^2))``.

``test="z"`` (metafor's default): ``Var(beta) = (X'WX)^-1``, z tests, normal quantiles, and the
omnibus test of the moderators ``QM = b' Var(b)^-1 b`` against chi^2 with m df.

``test="knha"`` (Hartung and Knapp 2001; Sidik and Jonkman 2002): ``Var(beta)`` is multiplied by
``s^2 = sum w (y - X beta)^2 / (k - p)`` (0 when that sum is below machine epsilon, as metafor
does), tests and intervals use t with ``k - p`` df, and ``QM / m`` is an F(m, k-p) statistic.
Prediction intervals use the same quantile (``predict.rma``).

Heterogeneity (always from the inverse-variance common-effect fit, metafor's ``QE``): Cochran's
``Q = y'P(1/v)y`` with ``k - p`` df, ``I^2 = 100 tau^2/(vt + tau^2)`` and ``H^2 = tau^2/vt + 1``
with ``vt = (k-p)/tr P(1/v)``; for the common-effect model ``I^2 = max(0, 100 (Q - df)/Q)``,
``H^2 = Q/df``. With moderators, ``R^2 = max(0, (tau2_0 - tau2)/tau2_0)`` in percent, where
``tau2_0`` comes from the intercept-only model with the same estimator (Raudenbush 1994;
metafor's default ``r2def``), 0 when ``tau2_0 = 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.frequentist.distributions import chi2_sf, f_sf, norm_isf, norm_sf, t_isf, t_sf
from bayes_anlo.frequentist.tau2 import (
    COMMON_EFFECT,
    Tau2Estimate,
    check_tau2_method,
    estimate_tau2,
    p_stats,
)

TESTS = ("z", "knha")
_EPS = float(np.finfo(float).eps)


def check_test(test: str) -> str:
    key = str(test).strip().lower()
    if key in ("hk", "knha", "hksj", "hartung-knapp"):
        return "knha"
    if key == "z":
        return "z"
    raise ValueError(f"unknown test {test!r}; choose 'z' or 'knha' (Hartung-Knapp)")


@dataclass(frozen=True, eq=False)
class UniFit:
    """An ``rma.uni`` fit: coefficients with tests and intervals, tau^2 and heterogeneity.

    Attributes
    ----------
    method, test : str
        tau^2 estimator (``"REML"``, ...) and ``"z"`` or ``"knha"``.
    names : tuple of str
        Coefficient names (``"intrcpt"`` first when the model has an intercept).
    beta, se, zval, pval, ci_low, ci_high : ndarray
        Per coefficient; ``zval`` is a t statistic under ``knha``.
    vb : ndarray
        Covariance of ``beta`` (scaled by ``s2w`` under ``knha``).
    ddf : int or None
        t degrees of freedom (``k - p``) under ``knha``, else None.
    crit : float
        The quantile used for CIs and prediction intervals.
    tau2, se_tau2, q, q_df, q_p, i2, h2, vt : float
        Heterogeneity (see module docstring).
    qm, qm_df, qm_p : float, tuple, float
        Omnibus test of the coefficients other than the intercept (of the intercept alone in an
        intercept-only model); ``qm_df = (m, k-p)`` under ``knha`` (F test), ``(m, None)`` else.
    r2 : float or None
        Percent of tau^2 accounted for by the moderators (None without moderators).
    s2w : float
        Hartung-Knapp scale factor (1 under ``z``).
    weights, hat, fitted : ndarray
        ``100 w / sum w``, diagonal of ``X (X'WX)^-1 X'W``, ``X beta``.
    """

    method: str
    test: str
    level: float
    k: int
    p: int
    names: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    vb: np.ndarray
    ddf: int | None
    crit: float
    tau2: float
    se_tau2: float
    iterations: int
    q: float
    q_df: int
    q_p: float
    i2: float
    h2: float
    vt: float
    qm: float
    qm_df: tuple
    qm_p: float
    r2: float | None
    s2w: float
    weights: np.ndarray
    hat: np.ndarray
    fitted: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray

    def prediction(self, x_new=None) -> tuple[float, float, float, float, float, float]:
        """``predict.rma`` at ``x_new`` (default the intercept): pred, se, CI and PI limits."""
        x = np.zeros(self.p) if x_new is None else np.asarray(x_new, dtype=float)
        if x_new is None:
            x[0] = 1.0
        pred = float(x @ self.beta)
        se = math.sqrt(float(x @ self.vb @ x))
        half_pi = self.crit * math.sqrt(se**2 + self.tau2)
        return (
            pred,
            se,
            pred - self.crit * se,
            pred + self.crit * se,
            pred - half_pi,
            pred + half_pi,
        )

    def coefficients_frame(self) -> pd.DataFrame:
        """One row per coefficient: estimate, se, statistic, p-value, CI
        (``coef(summary(res))``)."""
        return pd.DataFrame(
            {
                "term": list(self.names),
                "estimate": self.beta,
                "se": self.se,
                "statistic": self.zval,
                "p_value": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """One row: estimator, test, tau^2 with SE, Q, I^2, H^2, QM, R^2."""
        row = {
            "method": self.method,
            "test": self.test,
            "k": self.k,
            "p": self.p,
            "tau2": self.tau2,
            "se_tau2": self.se_tau2,
            "q": self.q,
            "q_df": self.q_df,
            "q_p": self.q_p,
            "i2": self.i2,
            "h2": self.h2,
            "qm": self.qm,
            "qm_df1": self.qm_df[0],
            "qm_df2": self.qm_df[1],
            "qm_p": self.qm_p,
            "r2": self.r2,
        }
        return pd.DataFrame([row])


def fit_uni(
    yi,
    vi,
    X=None,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    names=None,
    intercept: bool = True,
) -> UniFit:
    """Fit the model as ``rma.uni(yi, vi, mods = X, method=, test=, level=)``.

    ``X`` is the full design matrix (with its intercept column first when ``intercept`` is true;
    default an intercept alone).
    """
    method = check_tau2_method(method)
    test = check_test(test)
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k = y.size
    X = np.ones((k, 1)) if X is None else np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != k:
        raise ValueError(f"the design matrix must have {k} rows")
    p = X.shape[1]
    if p > k:
        raise ValueError(f"{p} coefficients cannot be estimated from {k} studies")
    if k == 1:
        test = "z"  # as metafor: 'Setting argument test="z" since k=1'
    if names is None:
        names = ("intrcpt",) if p == 1 else ("intrcpt", *(f"x{j}" for j in range(1, p)))
    est: Tau2Estimate = estimate_tau2(y, v, X, method)
    tau2 = est.tau2
    w = 1.0 / (v + tau2)
    WX = X * w[:, None]
    vb = np.linalg.inv(X.T @ WX)
    beta = vb @ (WX.T @ y)
    fitted = X @ beta
    s2w = 1.0
    ddf = None
    if test == "knha":
        rss = float(np.sum(w * (y - fitted) ** 2))
        s2w = 0.0 if rss <= _EPS else rss / (k - p) if k > p else float("nan")
        vb = s2w * vb
        ddf = k - p
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    btt = np.arange(1, p) if (intercept and p > 1) else np.arange(p)
    m = len(btt)
    try:
        sub = vb[np.ix_(btt, btt)]
        qm = float(beta[btt] @ np.linalg.solve(sub, beta[btt]))
    except np.linalg.LinAlgError:
        qm = float("nan")
    alpha = 1 - level
    if test == "knha":
        qm = qm / m
        qm_df: tuple = (m, k - p)
        if k > p:
            qm_p = float(f_sf(qm, m, k - p))
            pval = 2 * t_sf(np.abs(zval), k - p)
            crit = float(t_isf(alpha / 2, k - p))
        else:
            qm_p, pval, crit = float("nan"), np.full(p, np.nan), float("nan")
    else:
        qm_df = (m, None)
        qm_p = float(chi2_sf(qm, m))
        pval = 2 * norm_sf(np.abs(zval))
        crit = float(norm_isf(alpha / 2))
    q, q_df, q_p, i2, h2, vt = _heterogeneity(y, v, X, tau2, method)
    r2 = None
    if intercept and p > 1:
        if method == COMMON_EFFECT:
            r2 = None  # metafor uses an adjusted R^2 of a weighted lm here; not reproduced
        else:
            tau2_0 = estimate_tau2(y, v, None, method).tau2
            r2 = 0.0 if tau2_0 == 0 else max(0.0, 100 * (tau2_0 - tau2) / tau2_0)
    W = w
    hat = np.einsum("ij,jk,ik->i", X, np.linalg.inv(X.T @ (X * W[:, None])), X) * W
    return UniFit(
        method=method,
        test=test,
        level=level,
        k=k,
        p=p,
        names=tuple(names),
        beta=beta,
        se=se,
        zval=zval,
        pval=np.asarray(pval, dtype=float),
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        vb=vb,
        ddf=ddf,
        crit=crit,
        tau2=tau2,
        se_tau2=est.se_tau2,
        iterations=est.iterations,
        q=q,
        q_df=q_df,
        q_p=q_p,
        i2=i2,
        h2=h2,
        vt=vt,
        qm=qm,
        qm_df=qm_df,
        qm_p=qm_p,
        r2=r2,
        s2w=s2w,
        weights=100 * w / w.sum(),
        hat=hat,
        fitted=fitted,
        yi=y,
        vi=v,
        X=X,
    )


def _heterogeneity(y, v, X, tau2: float, method: str):
    k, p = X.shape
    if k <= p:
        return 0.0, 0, 1.0, 0.0, 1.0, 0.0
    yc = y - y.mean()  # metafor centres y before every quadratic form
    ps = p_stats(1.0 / v, X, yc)
    q = max(0.0, ps.ypy)
    q_p = float(chi2_sf(q, k - p))
    vt = (k - p) / ps.trace
    if method == COMMON_EFFECT:
        i2 = max(0.0, 100 * (q - (k - p)) / q) if q > 0 else 0.0
        h2 = q / (k - p)
    else:
        i2 = 100 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1
    return q, k - p, q_p, i2, h2, vt
