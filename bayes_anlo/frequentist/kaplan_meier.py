"""Kaplan-Meier estimation, confidence bands, median with its CI, and the log-rank test.

Conventions follow R ``survival::survfit`` / ``survdiff`` (reference values in
``tests/reference/``, made by ``tests/reference/make_reference_survival.R``):

* The estimate is reported at every distinct time (event or censoring), with the number at risk
  just before it, events and censorings at it. At tied times events precede censorings.
* ``std_err`` is the Greenwood standard error of the cumulative hazard ``-log S``:
  ``sqrt(sum_{t_i <= t} d_i / (n_i (n_i - d_i)))`` (what survfit stores as ``std.err``); the
  standard error of ``S`` itself is ``S * std_err``.
* Pointwise intervals (``conf_type`` as survfit's ``conf.type``), z = Phi^-1(1 - (1-level)/2):

  - ``"log"`` (R default): ``S exp(+-z se)``, upper limit truncated at 1;
  - ``"log-log"``: symmetric on ``log(-log S)`` with standard error ``se / |log S|``; undefined
    where S is 0 or 1;
  - ``"plain"``: ``S +- z S se`` truncated to [0, 1];
  - ``"logit"``: symmetric on ``log(S / (1 - S))`` with se ``se / (1 - S)``;
  - ``"arcsin"``: symmetric on ``arcsin(sqrt S)`` with se ``se sqrt(S / (1 - S)) / 2``.

* Quantiles (the median) and their confidence limits are read off the estimate and the lower
  and upper bands as R's ``quantile.survfit`` does: the time at which ``1 - S`` first reaches
  ``p`` (times compared with a tolerance of ``sqrt(machine eps)``); when the curve sits exactly
  at ``p`` over a stretch, the midpoint of that stretch (the end of follow-up when it never leaves
  ``p``). Reading the median off the pointwise band is the Brookmeyer-Crowley (1982) construction
  of the median's CI as survfit prints it; the limit is missing (NaN) when the band never
  reaches 1/2.
* The log-rank test (``rho = 0``) and the Harrington-Fleming G-rho family use weights
  ``S(t-)^rho`` from the pooled Kaplan-Meier estimate, as ``survdiff``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.frequentist.distributions import chi2_sf, norm_ppf

CONF_TYPES = ("log", "log-log", "plain", "logit", "arcsin")
#: Tolerance R's quantile.survfit uses to decide that the curve equals p.
QUANTILE_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def _as_arrays(time, event) -> tuple[np.ndarray, np.ndarray]:
    time = np.asarray(time, dtype=float).ravel()
    event = np.asarray(event).ravel()
    if time.shape != event.shape:
        raise ValueError("time and event must have the same length")
    if time.size == 0:
        raise ValueError("no observations")
    if not np.all(np.isfinite(time)) or np.any(time < 0):
        raise ValueError("times must be finite and >= 0")
    if not np.all(np.isin(event, (0, 1))):
        raise ValueError("event must be 0 (censored) or 1 (event)")
    return time, event.astype(np.int64)


def risk_table(time, event) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times with the number at risk just before, events and censorings at each."""
    time, event = _as_arrays(time, event)
    times, inverse = np.unique(time, return_inverse=True)
    n_event = np.bincount(inverse, weights=event, minlength=times.size).astype(np.int64)
    n_total = np.bincount(inverse, minlength=times.size).astype(np.int64)
    n_risk = np.cumsum(n_total[::-1])[::-1]
    return times, n_risk, n_event, n_total - n_event


def confidence_band(
    surv: np.ndarray, std_err: np.ndarray, conf_type: str = "log", level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits of S given ``std_err`` of ``-log S`` (formulas in the module docstring)."""
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {', '.join(CONF_TYPES)}")
    if not 0 < level < 1:
        raise ValueError("level must lie in (0, 1)")
    z = norm_ppf(1 - (1 - level) / 2)
    s = np.asarray(surv, dtype=float)
    se = np.asarray(std_err, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ok = (s > 0) & np.isfinite(se)
        if conf_type == "log":
            lower = s * np.exp(-z * se)
            upper = np.minimum(s * np.exp(z * se), 1.0)
        elif conf_type == "plain":
            lower = np.clip(s - z * se * s, 0, 1)
            upper = np.clip(s + z * se * s, 0, 1)
        elif conf_type == "log-log":
            ok &= s < 1
            eta = np.log(-np.log(s))
            half = z * se / np.abs(np.log(s))
            lower = np.exp(-np.exp(eta + half))
            upper = np.exp(-np.exp(eta - half))
        elif conf_type == "logit":
            ok &= s < 1
            eta = np.log(s / (1 - s))
            half = z * se / (1 - s)
            lower = 1 / (1 + np.exp(-(eta - half)))
            upper = 1 / (1 + np.exp(-(eta + half)))
        else:  # arcsin
            ok &= s < 1
            eta = np.arcsin(np.sqrt(s))
            half = z * se * np.sqrt(s / (1 - s)) / 2
            lower = np.sin(np.maximum(0.0, eta - half)) ** 2
            upper = np.sin(np.minimum(np.pi / 2, eta + half)) ** 2
        if conf_type in ("log", "plain"):  # zero standard error: the band is the estimate itself
            lower = np.where(ok, lower, np.nan)
            upper = np.where(ok, upper, np.nan)
        else:
            exact = (s == 1) & (se == 0)
            lower = np.where(ok, lower, np.where(exact, 1.0, np.nan))
            upper = np.where(ok, upper, np.where(exact, 1.0, np.nan))
    return lower, upper


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float) -> float:
    """Time at which the non-decreasing ``y`` (= 1 - S) reaches ``p``, with quantile.survfit's
    conventions (module docstring). ``x[0]`` is the start (0) with ``y[0] = 0``."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return np.nan
    xmax = x[-1]
    # keep the first time of each distinct value (missing values count as one value)
    key = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)
    x, y = x[first], y[first]
    valid = ~np.isnan(y)
    idx = np.arange(y.size)

    def smallest_at_least(values: np.ndarray) -> float:
        # index carried by the smallest value >= p (constant interpolation, right-hand value)
        ok = valid & (values >= p)
        if not ok.any():
            return np.nan
        vals = np.where(ok, values, np.inf)
        return float(idx[np.argmin(vals)])

    i1 = smallest_at_least(y + tol)
    i2 = smallest_at_least(y - tol)
    if p == 0:
        return float(x[0])
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol and not np.isnan(i1):
        return float((x[int(i1)] + xmax) / 2)
    if np.isnan(i1) or np.isnan(i2):
        return np.nan
    return float((x[int(i1)] + x[int(i2)]) / 2)


@dataclass(frozen=True)
class Quantile:
    """A survival-time quantile with its confidence limits (NaN = not reached)."""

    p: float
    estimate: float
    lower: float
    upper: float
    conf_type: str
    level: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "p": self.p,
                    "estimate": self.estimate,
                    "ci_low": self.lower,
                    "ci_high": self.upper,
                    "conf_type": self.conf_type,
                    "level": self.level,
                }
            ]
        )


@dataclass(frozen=True)
class KaplanMeier:
    """A fitted Kaplan-Meier estimate (one row per distinct time, as survfit).

    Attributes
    ----------
    time, n_risk, n_event, n_censor, survival, std_err, lower, upper : numpy arrays
        ``std_err`` is the Greenwood standard error of ``-log S`` (survfit's ``std.err``).
    conf_type, level : the band's construction and level.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    conf_type: str = "log"
    level: float = 0.95

    @property
    def se_survival(self) -> np.ndarray:
        """Greenwood standard error of S (``S * std_err``), as summary.survfit prints it (NaN at S =
        0)."""
        with np.errstate(invalid="ignore"):
            return self.survival * self.std_err

    @property
    def n(self) -> int:
        return int(self.n_risk[0])

    def quantile(self, p: float = 0.5) -> Quantile:
        """Time by which a fraction ``p`` has had the event, with limits from the band."""
        x = np.concatenate([[0.0], self.time])

        def q(s):
            return _findq(x, np.concatenate([[0.0], 1 - s]), p, QUANTILE_TOLERANCE)

        return Quantile(
            p, q(self.survival), q(self.lower), q(self.upper), self.conf_type, self.level
        )

    def median(self) -> Quantile:
        """Median survival with the Brookmeyer-Crowley CI as R's print.survfit shows it."""
        return self.quantile(0.5)

    def survival_at(self, times, *, extend: bool = False) -> pd.DataFrame:
        """Estimate, Greenwood SE and band at given times (summary.survfit(times=...)).

        Before the first time the estimate is 1 with zero SE. Beyond the last observed time the
        values are NaN unless ``extend=True`` (then the last estimate is carried forward).
        ``n_risk`` is the number still under observation at each time.
        """
        t = np.atleast_1d(np.asarray(times, dtype=float))
        k = np.searchsorted(self.time, t, side="right") - 1
        before = k < 0
        kk = np.maximum(k, 0)
        s = np.where(before, 1.0, self.survival[kk])
        se = np.where(before, 0.0, self.std_err[kk])
        lo = np.where(before, 1.0, self.lower[kk])
        hi = np.where(before, 1.0, self.upper[kk])
        idx = np.searchsorted(self.time, t, side="left")
        n_risk = np.where(idx < self.time.size, self.n_risk[np.minimum(idx, self.time.size - 1)], 0)
        if not extend:
            beyond = t > self.time[-1]
            s, se, lo, hi = (np.where(beyond, np.nan, a) for a in (s, se, lo, hi))
        with np.errstate(invalid="ignore"):
            se_s = s * se
        return pd.DataFrame(
            {
                "time": t,
                "n_risk": n_risk,
                "survival": s,
                "std_err": se_s,
                "ci_low": lo,
                "ci_high": hi,
            }
        )

    def step(self, times) -> np.ndarray:
        """The estimate as a right-continuous step function at arbitrary times (last value
        carried)."""
        t = np.asarray(times, dtype=float)
        k = np.searchsorted(self.time, t, side="right") - 1
        return np.where(k < 0, 1.0, self.survival[np.maximum(k, 0)])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "n_censor": self.n_censor,
                "survival": self.survival,
                "std_err": self.std_err,
                "se_survival": self.se_survival,
                "ci_low": self.lower,
                "ci_high": self.upper,
            }
        )


def kaplan_meier(time, event, *, conf_type: str = "log", level: float = 0.95) -> KaplanMeier:
    """Kaplan-Meier estimate with Greenwood standard errors and a pointwise band.

    Parameters
    ----------
    time : array of float
        Follow-up times (>= 0).
    event : array of 0/1
        1 = event, 0 = censored.
    conf_type : {"log", "log-log", "plain", "logit", "arcsin"}
        Band construction (R ``conf.type``); default ``"log"`` as survfit.
    level : float
        Confidence level of the band.
    """
    times, n_risk, n_event, n_censor = risk_table(time, event)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - n_event / n_risk)
        inc = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
        std_err = np.sqrt(np.cumsum(inc))
    lower, upper = confidence_band(surv, std_err, conf_type, level)
    return KaplanMeier(
        times, n_risk, n_event, n_censor, surv, std_err, lower, upper, conf_type, level
    )


def reverse_kaplan_meier(time, event) -> KaplanMeier:
    """Kaplan-Meier estimate of the censoring distribution (event indicator reversed).

    Its median is the "median follow-up" of Schemper and Smith (1996), the figure papers print.
    """
    time, event = _as_arrays(time, event)
    return kaplan_meier(time, 1 - event)


def _reduced_chisq(
    diff: np.ndarray, variance: np.ndarray, expected: np.ndarray
) -> tuple[float, int]:
    """``(O - E)' V^- (O - E)`` as R's survdiff computes it.

    ``V`` is singular by construction (O - E sums to 0 over the groups). Groups with expected 0
    are dropped, then the first remaining group, and the reduced system ``V_r x = (O - E)_r`` is
    solved exactly. A pseudo-inverse of the full ``V`` would instead keep the rounding residue of
    its zero singular value, which changed chi-square by several percent on some data sets.
    """
    used = np.nonzero(expected > 0)[0]
    df = int(used.size - 1)
    if df < 1:
        return 0.0, max(df, 0)
    keep = used[1:]
    reduced = diff[keep]
    chisq = float(reduced @ np.linalg.solve(variance[np.ix_(keep, keep)], reduced))
    return chisq, df


@dataclass(frozen=True)
class LogRankResult:
    """(Weighted) log-rank test of equal survival across groups (R ``survdiff``)."""

    groups: list[str]
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    chisq: float
    df: int
    p_value: float
    rho: float = 0.0

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "group": self.groups,
                "n": self.n,
                "observed": self.observed,
                "expected": self.expected,
                "o_minus_e_sq_over_e": (self.observed - self.expected) ** 2 / self.expected,
                "o_minus_e_sq_over_v": (self.observed - self.expected) ** 2
                / np.diag(self.variance),
            }
        )


def log_rank(time, event, group, *, rho: float = 0.0) -> LogRankResult:
    """Log-rank (``rho = 0``) or Harrington-Fleming G-rho test, as R ``survdiff``.

    At each distinct event time ``t`` with ``n`` at risk and ``d`` events in total, group ``g``
    contributes observed ``w d_g`` and expected ``w n_g d / n``; the covariance of O - E is
    ``sum w^2 d (n - d) / (n - 1) (n_g / n) (delta_gh - n_h / n)``, with ``w = S(t-)^rho`` from the
    pooled Kaplan-Meier estimate. The statistic ``(O - E)' V^- (O - E)`` is chi-square with
    (number of groups with expected > 0) - 1 degrees of freedom; it is computed as survdiff does
    (see :func:`_reduced_chisq`), not with a pseudo-inverse.
    """
    time, event = _as_arrays(time, event)
    group = np.asarray(group).ravel()
    if group.shape != time.shape:
        raise ValueError("group must have the same length as time")
    levels = sorted(
        dict.fromkeys(group.tolist()), key=str
    )  # survdiff orders groups as factor levels (sorted)
    if len(levels) < 2:
        raise ValueError("the log-rank test needs at least two groups")
    position = {g: i for i, g in enumerate(levels)}
    code = np.fromiter((position[g] for g in group.tolist()), dtype=np.int64, count=group.size)
    times, inverse = np.unique(time, return_inverse=True)
    k, m = len(levels), times.size
    d_g = np.zeros((m, k))
    c_g = np.zeros((m, k))
    np.add.at(d_g, (inverse, code), event)
    np.add.at(c_g, (inverse, code), 1)
    n_g = np.cumsum(c_g[::-1], axis=0)[::-1]
    n = n_g.sum(axis=1)
    d = d_g.sum(axis=1)
    surv_left = np.concatenate([[1.0], np.cumprod(1 - d / n)[:-1]])
    w = surv_left**rho
    keep = d > 0
    w, d, n, d_g, n_g = w[keep], d[keep], n[keep], d_g[keep], n_g[keep]
    observed = (w[:, None] * d_g).sum(axis=0)
    expected = (w[:, None] * n_g * (d / n)[:, None]).sum(axis=0)
    factor = np.where(n > 1, w**2 * d * (n - d) / np.maximum(n - 1, 1), 0.0)
    frac = n_g / n[:, None]
    variance = np.einsum("t,tg,gh->gh", factor, frac, np.eye(k)) - np.einsum(
        "t,tg,th->gh", factor, frac, frac
    )
    diff = observed - expected
    chisq, df = _reduced_chisq(diff, variance, expected)
    return LogRankResult(
        levels,
        np.bincount(code, minlength=k),
        observed,
        expected,
        variance,
        chisq,
        df,
        float(chi2_sf(chisq, df)),
        rho,
    )
