"""Between-study variance (tau^2) estimators and Q-profile intervals, as ``metafor::rma.uni``.

For effects ``y_i ~ N(x_i' beta, v_i + tau^2)`` with design ``X`` (k x p). Notation:
``W = diag(w)``, ``P(w) = W - W X (X'WX)^-1 X'W``, ``Q(tau^2) = y' P(1/(v + tau^2)) y`` the
generalised Q statistic (``Q(0)`` is Cochran's Q).

* ``"DL"``  DerSimonian and Laird (1986): ``(Q(0) - (k-p)) / tr P(1/v)``.
* ``"HS"``  Hunter and Schmidt (2004): ``(Q(0) - k) / sum(1/v)``.
* ``"SJ"``  Sidik and Jonkman (2005): ``t0 Q_t0 / (k-p)`` where ``t0`` is the variance of ``y``
  with divisor k and ``Q_t0 = y' P(1/(v + t0)) y``.
* ``"PM"``  Paule and Mandel (1982): the root of ``Q(tau^2) = k - p`` (0 if ``Q(0) < k-p``),
  found as metafor does by ``uniroot`` on ``[0, max(100, 10 mad(y)^2)]`` at tolerance
  ``.Machine$double.eps^0.25`` (:mod:`~bayes_anlo.frequentist.root_finding` gives the same
  iterates).
* ``"ML"``, ``"REML"``, ``"EB"`` (Morris 1983 empirical Bayes) by metafor's Fisher scoring from
  the Hedges estimate (truncated at 0): steps ``(y'PPy - sum w)/sum w^2``, ``(y'PPy - tr P)/tr PP``
  and ``(k/(k-p) y'Py - k)/sum w``, halved while they would make ``tau^2 < 0``, stopping when the
  change is <= 1e-5 (at most 100 steps); for ML and REML then metafor's check that the
  likelihood at ``tau^2 = 0`` is not higher (if it is, ``tau^2 = 0``).
* ``"FE"`` a common-effect model, ``tau^2 = 0``.

Every estimate is truncated at 0. Standard errors are metafor's ``se.tau2`` for each estimator.

:func:`q_profile_ci` is ``confint.rma.uni`` (type "QP", Viechtbauer 2007): the tau^2 values where
``Q(tau^2)`` equals the upper and lower ``alpha/2`` quantiles of chi^2 with ``k-p`` df, searched on
``[0, max(100, 10 tau^2)]``; limits for tau, I^2 and H^2 follow from the tau^2 limits with the
model's typical within-study variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.frequentist.distributions import chi2_isf, chi2_ppf
from bayes_anlo.frequentist.root_finding import R_UNIROOT_TOL, RootNotBracketed, r_uniroot

#: The estimators metafor offers that this module reproduces, in the order ``rates`` lists them.
TAU2_METHODS = ("DL", "REML", "PM", "ML", "SJ", "HS", "EB")
COMMON_EFFECT = "FE"
_ALIASES = {"CE": "FE", "EE": "FE", "FIXED": "FE", "COMMON": "FE", "MP": "PM"}

#: metafor's ``rma.uni`` controls: Fisher-scoring threshold and step limit, uniroot tolerance.
THRESHOLD = 1e-5
MAXITER = 100
TOL = R_UNIROOT_TOL
#: Scale factor that makes R's ``mad`` consistent for the normal SD.
MAD_CONSTANT = 1.4826


def check_tau2_method(method: str) -> str:
    """Upper-case metafor name of a tau^2 estimator (``FE``/``CE``/``EE`` = common effect)."""
    key = str(method).strip().upper()
    key = _ALIASES.get(key, key)
    if key == COMMON_EFFECT or key in TAU2_METHODS:
        return key
    raise ValueError(
        f"unknown tau^2 method {method!r}; choose from {', '.join(TAU2_METHODS)} or FE"
    )


@dataclass(frozen=True)
class Tau2Estimate:
    """A tau^2 estimate: value, metafor's standard error and the number of iterations."""

    method: str
    tau2: float
    se_tau2: float
    iterations: int = 0


def p_matrix(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``P = W - W X (X'WX)^-1 X'W`` for ``W = diag(w)``."""
    WX = X * w[:, None]
    return np.diag(w) - WX @ np.linalg.solve(X.T @ WX, WX.T)


@dataclass(frozen=True)
class PStats:
    """``y'Py``, ``Py``, ``tr P`` and ``tr PP`` for ``P = P(w)``, without forming the k x k ``P``.

    With ``A = X'WX`` and the weighted least-squares residual ``r = y - X A^-1 X'W y``:
    ``Py = W r``, ``y'Py = r'W r``, ``tr P = sum w - tr(A^-1 X'W^2 X)`` and
    ``tr PP = sum w^2 - 2 tr(A^-1 X'W^3 X) + tr((A^-1 X'W^2 X)^2)`` (O(k p^2) instead of O(k^2)).
    """

    ypy: float
    py: np.ndarray
    trace: float
    trace_pp: float


def p_stats(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> PStats:
    A_inv = np.linalg.inv(X.T @ (X * w[:, None]))
    r = y - X @ (A_inv @ (X.T @ (w * y)))
    py = w * r
    B = A_inv @ (X.T @ (X * (w**2)[:, None]))
    C = A_inv @ (X.T @ (X * (w**3)[:, None]))
    trace = float(w.sum() - np.trace(B))
    trace_pp = float(np.sum(w**2) - 2 * np.trace(C) + np.trace(B @ B))
    return PStats(float(r @ py), py, trace, trace_pp)


def generalised_q(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """``Q(tau^2) = y' P y`` with weights ``1/(v + tau^2)`` (metafor's ``.QE.func``)."""
    return p_stats(1.0 / (v + tau2), X, y).ypy


def r_mad(x: np.ndarray) -> float:
    """R's ``mad``: median absolute deviation from the median, times 1.4826."""
    x = np.asarray(x, dtype=float)
    return MAD_CONSTANT * float(np.median(np.abs(x - np.median(x))))


def pm_upper_bound(y: np.ndarray) -> float:
    """metafor's search bound for Paule-Mandel: ``max(100, 10 mad(y)^2)``."""
    return max(100.0, 10 * r_mad(y) ** 2)


def _loglik(y, v, X, tau2: float, reml: bool) -> float:
    """metafor's ML or REML log-likelihood at ``tau2`` (as in its tau^2 = 0 check)."""
    k, p = X.shape
    w = 1.0 / (v + tau2)
    WX = X * w[:, None]
    XtWX = X.T @ WX
    b = np.linalg.solve(XtWX, WX.T @ y)
    rss = float(np.sum(w * (y - X @ b) ** 2))
    if reml:
        return (
            -0.5 * (k - p) * math.log(2 * math.pi)
            - 0.5 * float(np.sum(np.log(v + tau2)))
            - 0.5 * np.linalg.slogdet(XtWX)[1]
            - 0.5 * rss
        )
    return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * rss


def _hedges(yc, v, X) -> float:
    k, p = X.shape
    XtX_inv = np.linalg.inv(X.T @ X)
    resid = yc - X @ (XtX_inv @ (X.T @ yc))
    leverage = np.einsum("ij,jk,ik->i", X, XtX_inv, X)
    return (float(resid @ resid) - float(np.sum((1 - leverage) * v))) / (k - p)


def _fisher_scoring(yc, v, X, method: str) -> tuple[float, int]:
    k, p = X.shape
    tau2 = max(0.0, _hedges(yc, v, X))
    iterations = 0
    change = THRESHOLD + 1
    while change > THRESHOLD:
        iterations += 1
        old = tau2
        w = 1.0 / (v + tau2)
        ps = p_stats(w, X, yc)
        if method == "ML":
            adj = (float(ps.py @ ps.py) - float(w.sum())) / float(np.sum(w**2))
        elif method == "REML":
            adj = (float(ps.py @ ps.py) - ps.trace) / ps.trace_pp
        else:  # EB
            adj = (ps.ypy * k / (k - p) - k) / float(w.sum())
        if not np.isfinite(adj):
            adj = 0.0
        while tau2 + adj < 0:
            adj /= 2
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iterations > MAXITER:
            raise RuntimeError(
                f"{method} Fisher scoring did not converge in {MAXITER} iterations "
                "(metafor stops here too)"
            )
    if method in ("ML", "REML"):
        reml = method == "REML"
        ll0 = _loglik(yc, v, X, 0.0, reml)
        ll = _loglik(yc, v, X, tau2, reml)
        if ll0 - ll > TOL and tau2 > THRESHOLD:
            tau2 = 0.0
    return tau2, iterations


def _paule_mandel(yc, v, X, y_raw) -> float:
    k, p = X.shape
    target = k - p
    if generalised_q(0.0, yc, v, X) < target:
        return 0.0
    upper = pm_upper_bound(y_raw)
    if generalised_q(upper, yc, v, X) > target:
        raise RuntimeError(
            f"Paule-Mandel: Q(tau^2) stays above k - p up to tau^2 = {upper:g} "
            "(metafor: 'Value of tau2.max too low')"
        )
    return r_uniroot(lambda t: generalised_q(t, yc, v, X) - target, 0.0, upper, maxiter=MAXITER)


def estimate_tau2(yi, vi, X=None, method: str = "REML") -> Tau2Estimate:
    """tau^2 by ``method`` exactly as ``rma.uni(yi, vi, mods = X, method = method)`` estimates it.

    Parameters
    ----------
    yi, vi : array
        Effects and sampling variances (all ``vi > 0``).
    X : array (k, p), optional
        Design matrix (default: an intercept column).
    method : str
        One of :data:`TAU2_METHODS` or ``"FE"``.
    """
    method = check_tau2_method(method)
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k = y.size
    X = np.ones((k, 1)) if X is None else np.asarray(X, dtype=float)
    p = X.shape[1]
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("every sampling variance must be positive and finite")
    if method == COMMON_EFFECT or k == 1:
        return Tau2Estimate(method, 0.0, float("nan"))
    if k <= p:
        raise ValueError(f"{p} coefficients plus tau^2 cannot be estimated from {k} studies")
    yc = y - y.mean()
    iterations = 0
    w0 = 1.0 / v
    ps0 = p_stats(w0, X, yc)
    q0 = ps0.ypy
    t0 = float("nan")
    if method == "DL":
        tau2 = (q0 - (k - p)) / ps0.trace
    elif method == "HS":
        tau2 = (q0 - k) / float(w0.sum())
    elif method == "SJ":
        t0 = float(np.var(y))  # divisor k, as metafor's var(y) (k-1)/k
        tau2 = t0 * generalised_q(t0, yc, v, X) / (k - p)
    elif method == "PM":
        tau2 = _paule_mandel(yc, v, X, y)
    else:
        tau2, iterations = _fisher_scoring(yc, v, X, method)
    tau2 = max(0.0, float(tau2))
    return Tau2Estimate(method, tau2, _se_tau2(method, tau2, v, X, t0), iterations)


def _se_tau2(method: str, tau2: float, v, X, t0: float) -> float:
    """metafor's ``se.tau2`` for each estimator."""
    k, p = X.shape
    if method in ("DL", "HS"):
        w = 1.0 / v
        ps = p_stats(w, X, np.zeros(k))
        trP = ps.trace
        core = 2 * (k - p) + 4 * tau2 * trP + 2 * tau2**2 * ps.trace_pp
        denom = trP**2 if method == "DL" else float(w.sum()) ** 2
        return math.sqrt(core / denom)
    if method == "SJ":
        P = p_matrix(1.0 / (v + t0), X)
        PV = P * v[None, :]
        core = (
            2 * float(np.sum(PV * PV.T))
            + 4 * tau2 * float(np.sum(PV * P))
            + 2 * tau2**2 * float(np.sum(P * P))
        )
        return math.sqrt(t0**2 / (k - p) ** 2 * core)
    w = 1.0 / (v + tau2)
    if method == "ML":
        return math.sqrt(2 / float(np.sum(w**2)))
    if method == "REML":
        return math.sqrt(2 / p_stats(w, X, np.zeros(k)).trace_pp)
    # EB, PM
    return math.sqrt(2 * k**2 / (k - p) / float(w.sum()) ** 2)


def typical_variance(vi, X=None) -> float:
    """metafor's typical within-study variance ``(k - p) / tr P(1/v)`` (Higgins-Thompson)."""
    v = np.asarray(vi, dtype=float)
    X = np.ones((v.size, 1)) if X is None else np.asarray(X, dtype=float)
    return (X.shape[0] - X.shape[1]) / p_stats(1.0 / v, X, np.zeros(v.size)).trace


@dataclass(frozen=True)
class HeterogeneityCI:
    """Q-profile confidence intervals for tau^2, tau, I^2 (percent) and H^2 (``confint.rma.uni``).

    ``*_low``/``*_high`` are the limits; ``note`` says when a limit sits at the search bound
    (the interval is then open on that side, as metafor marks with ``<`` or ``>``) or when the
    whole interval is empty at 0 (Q below the lower quantile even at tau^2 = 0).
    """

    method: str
    level: float
    tau2: float
    tau2_low: float
    tau2_high: float
    i2: float
    i2_low: float
    i2_high: float
    h2: float
    h2_low: float
    h2_high: float
    note: str = ""

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def tau_low(self) -> float:
        return math.sqrt(self.tau2_low) if math.isfinite(self.tau2_low) else float("nan")

    @property
    def tau_high(self) -> float:
        return math.sqrt(self.tau2_high) if math.isfinite(self.tau2_high) else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """Rows tau^2, tau, I^2(%), H^2 with estimate, ci_low, ci_high (as ``confint`` prints)."""
        return pd.DataFrame(
            {
                "parameter": ["tau2", "tau", "I2", "H2"],
                "estimate": [self.tau2, self.tau, self.i2, self.h2],
                "ci_low": [self.tau2_low, self.tau_low, self.i2_low, self.h2_low],
                "ci_high": [self.tau2_high, self.tau_high, self.i2_high, self.h2_high],
            }
        )

    def to_dict(self) -> dict:
        out = {
            "method": self.method,
            "level": self.level,
            "note": self.note,
        }
        for name in ("tau2", "tau", "i2", "h2"):
            for suffix in ("", "_low", "_high"):
                value = float(getattr(self, name + suffix))
                out[name + suffix] = value if math.isfinite(value) else None
        return out


def q_profile_ci(
    yi, vi, X=None, *, tau2: float, level: float = 0.95, method: str = ""
) -> HeterogeneityCI:
    """Q-profile CI for tau^2 (and I^2, H^2) of a model with estimate ``tau2``, as ``confint``.

    ``method`` only labels the result (the interval does not depend on the estimator, only the
    point estimate and the search bound ``max(100, 10 tau^2)`` do).
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k = y.size
    X = np.ones((k, 1)) if X is None else np.asarray(X, dtype=float)
    p = X.shape[1]
    if k - p < 1:
        raise ValueError("the Q-profile interval needs more studies than coefficients")
    alpha = 1 - level
    crit_u = float(chi2_isf(alpha / 2, k - p))
    crit_l = float(chi2_ppf(alpha / 2, k - p))
    lower_bound = min(0.0, tau2)
    upper_bound = max(100.0, 10 * tau2, 10 * lower_bound)
    q_at_max = generalised_q(upper_bound, y, v, X)
    q_at_min = generalised_q(lower_bound, y, v, X)
    notes = []

    def search(target: float) -> float:
        try:
            return r_uniroot(lambda t: generalised_q(t, y, v, X) - target, lower_bound, upper_bound)
        except (RootNotBracketed, RuntimeError):
            return float("nan")

    if q_at_min < crit_l:
        low = high = lower_bound
        notes.append("Q is below its lower quantile even at tau^2 = 0: the interval is empty")
    else:
        if q_at_max > crit_l:
            high = upper_bound
            notes.append(f"upper limit above the search bound {upper_bound:g}")
        else:
            high = search(crit_l)
        if q_at_max > crit_u:
            low = high = upper_bound
            notes.append(f"both limits above the search bound {upper_bound:g}")
        elif q_at_min < crit_u:
            low = lower_bound
        else:
            low = search(crit_u)
    vt = typical_variance(v, X)

    def i2(t):
        return 100 * t / (vt + t)

    def h2(t):
        return t / vt + 1

    return HeterogeneityCI(
        method=method,
        level=level,
        tau2=tau2,
        tau2_low=low,
        tau2_high=high,
        i2=i2(tau2),
        i2_low=i2(low),
        i2_high=i2(high),
        h2=h2(tau2),
        h2_low=h2(low),
        h2_high=h2(high),
        note="; ".join(notes),
    )
