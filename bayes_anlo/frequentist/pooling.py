"""Random-effects pooling of single proportions, as R ``metafor::rma`` computes it.

Each study ``i`` gives ``x_i`` events out of ``n_i``. The proportion is transformed to ``y_i``
with an approximate sampling variance ``v_i`` (``metafor::escalc``):

``transform="pft"`` (``measure="PFT"``, Freeman and Tukey 1950 double arcsine)
    ``y = 1/2 [asin sqrt(x/(n+1)) + asin sqrt((x+1)/(n+1))]``, ``v = 1/(4n + 2)``; no continuity
    correction. Pooled values are back-transformed with Miller's (1978) inversion evaluated at the
    harmonic mean of the ``n`` (``metafor::transf.ipft.hm``, as Stata ``metaprop`` and
    ``meta::metaprop`` do). Schwarzer et al. (2019, Res Synth Methods 10:476) show this
    back-transform can mislead; report a logit or GLMM result beside it.
``transform="logit"`` (``measure="PLO"``)
    ``y = log(x'/(n'-x'))``, ``v = 1/x' + 1/(n'-x')`` where ``x' = x + 1/2`` and ``n' = n + 1`` only
    for studies with 0 or ``n`` events (metafor's default ``add=1/2, to="only0"``). Back-transform
    with the inverse logit.

The normal-normal model ``y_i ~ N(theta, v_i + tau^2)`` is fitted with weights
``w_i = 1/(v_i + tau^2)``: ``theta_hat = sum w y / sum w``, ``SE = (sum w)^(-1/2)``, a z-based CI
(metafor's default ``test="z"``) and the prediction interval ``theta_hat +/- z sqrt(SE^2 + tau^2)``
of ``predict.rma``. ``tau^2`` by

* ``"DL"``  DerSimonian and Laird (1986): ``max(0, (Q - (k-p)) / tr(P))``;
* ``"REML"`` restricted maximum likelihood by metafor's Fisher scoring: start at the Hedges (HE)
  estimate, step ``(y'PPy - tr P) / tr(PP)`` (halved while it would make ``tau^2 < 0``), stop when
  the change is <= 1e-5, at most 100 steps, then metafor's check that the REML likelihood at
  ``tau^2 = 0`` is not higher;
* ``"PM"``, ``"ML"``, ``"SJ"``, ``"HS"``, ``"EB"`` as metafor computes them
  (:mod:`bayes_anlo.frequentist.tau2`);
* ``"FE"`` (also ``"CE"``/``"EE"``) a common-effect model, ``tau^2 = 0``.

``test="knha"`` gives the Hartung-Knapp (Sidik-Jonkman) interval of metafor's ``test="knha"``:
the variance of ``theta_hat`` times ``sum w (y - theta_hat)^2 / (k - 1)`` and t quantiles with
``k - 1`` df for the CI and the prediction interval
(:mod:`bayes_anlo.frequentist.random_effects`).

Heterogeneity: Cochran's ``Q = y'Py`` with ``P = W - W X (X'WX)^-1 X'W`` at ``W = diag(1/v)``,
``I^2 = 100 tau^2 / (tau^2 + s^2)`` and ``H^2 = tau^2/s^2 + 1`` with metafor's typical
within-study variance ``s^2 = (k-p)/tr(P)`` (Higgins and Thompson 2002); for the common-effect model
``I^2 = max(0, 100 (Q-df)/Q)`` and ``H^2 = Q/df``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from bayes_anlo.data.binary import BinaryData
from bayes_anlo.errors import InputError, ProblemCollector
from bayes_anlo.frequentist.distributions import norm_ppf, norm_sf, t_isf, t_sf

TRANSFORMS = ("pft", "logit")
METHODS = ("DL", "REML", "FE")
_MEASURE = {"pft": "PFT", "logit": "PLO"}
_FE_ALIASES = {"FE": "FE", "CE": "FE", "EE": "FE", "FIXED": "FE", "COMMON": "FE"}


# ------------------------------------------------------------------------------------------------
# Input
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyCounts:
    """Validated per-study counts: events, n, labels and where they came from."""

    events: np.ndarray
    n: np.ndarray
    labels: tuple[str, ...]
    source: str

    @property
    def k(self) -> int:
        return len(self.events)


def study_counts(data, n=None, *, labels: Sequence[str] | None = None) -> StudyCounts:
    """Turn ``data`` (a single-outcome :class:`BinaryData`, or events with ``n``) into counts.

    Every problem (empty input, unequal lengths, non-integer counts, ``n < 1``, events outside
    ``[0, n]``) is collected and raised together as one :class:`InputError` (a ``ValueError``).
    """
    if isinstance(data, BinaryData):
        if n is not None:
            raise InputError(
                "n is taken from the BinaryData; do not pass n as well", file=data.source
            )
        data.require_single_outcome()
        events = data.events
        sizes = data.n
        source = data.source
        default_labels = data.labels
    else:
        source = "<arguments>"
        if n is None:
            raise InputError("n is required when data is an array of event counts", file=source)
        events = _as_count_array(data, "events", source)
        sizes = _as_count_array(n, "n", source)
        if events.size == 0 or sizes.size == 0:
            raise InputError(
                "no studies: events and n must hold at least one value each", file=source
            )
        if events.shape != sizes.shape:
            raise InputError(
                f"events has {events.size} values but n has {sizes.size}; give one pair per study",
                file=source,
            )
        default_labels = [f"study {i + 1}" for i in range(events.size)]
    if len(events) == 0:
        raise InputError("no studies in the data", file=source)
    problems = ProblemCollector(source)
    for i, (x, m) in enumerate(zip(events, sizes, strict=True)):
        if not np.isfinite(x) or x != math.floor(x):
            problems.add(i + 1, "events", f"{x:g} is not a whole number")
        elif x < 0:
            problems.add(i + 1, "events", f"{x:g} is negative; events must lie in [0, n]")
        if not np.isfinite(m) or m != math.floor(m):
            problems.add(i + 1, "n", f"{m:g} is not a whole number")
        elif m < 1:
            problems.add(i + 1, "n", f"{m:g}: each study needs n >= 1")
        elif np.isfinite(x) and x > m:
            problems.add(
                i + 1, "events", f"events ({x:g}) exceed n ({m:g}); events must lie in [0, n]"
            )
    problems.raise_if_any()
    if labels is None:
        labels = default_labels
    labels = tuple(str(s) for s in labels)
    if len(labels) != len(events):
        raise InputError(f"{len(labels)} labels for {len(events)} studies", file=source)
    return StudyCounts(events.astype(np.int64), sizes.astype(np.int64), labels, source)


def _as_count_array(values, name: str, source: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numbers, got {values!r}", file=source) from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {arr.shape}", file=source)
    return arr


# ------------------------------------------------------------------------------------------------
# Transforms
# ------------------------------------------------------------------------------------------------
def pft(events, n) -> np.ndarray:
    """Freeman-Tukey double arcsine of ``events/n`` (metafor ``transf.pft``)."""
    x = np.asarray(events, dtype=float)
    m = np.asarray(n, dtype=float)
    return 0.5 * (np.arcsin(np.sqrt(x / (m + 1))) + np.arcsin(np.sqrt((x + 1) / (m + 1))))


def ipft(t, n) -> np.ndarray:
    """Miller's (1978) inverse of the double arcsine at sample size ``n`` (metafor ``transf.ipft``).

    Values above the transform of ``n/n`` map to 1, below that of ``0/n`` to 0; others where the
    square root is undefined give NaN.
    """
    t = np.asarray(t, dtype=float)
    m = float(n)
    s = np.sin(2 * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = 1 - (s + (s - 1 / s) / m) ** 2
        z = 0.5 * (1 - np.sign(np.cos(2 * t)) * np.sqrt(inner))
    z = np.where(t > pft(m, m), 1.0, z)
    z = np.where(t < pft(0.0, m), 0.0, z)
    return z


def ipft_hm(t, n_all) -> np.ndarray:
    """Inverse double arcsine at the harmonic mean of ``n_all`` (metafor ``transf.ipft.hm``)."""
    return ipft(t, harmonic_mean(n_all))


def harmonic_mean(n) -> float:
    n = np.asarray(n, dtype=float)
    return float(1.0 / np.mean(1.0 / n))


def logit_escalc(events, n, add: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Logit and its variance with metafor's ``add=1/2, to="only0"`` continuity correction."""
    x = np.asarray(events, dtype=float)
    m = np.asarray(n, dtype=float) - x
    zero = (x == 0) | (m == 0)
    x = np.where(zero, x + add, x)
    m = np.where(zero, m + add, m)
    return np.log(x / m), 1 / x + 1 / m


def escalc(events, n, transform: str) -> tuple[np.ndarray, np.ndarray]:
    """Transformed proportions ``y`` and sampling variances ``v`` (metafor ``escalc``)."""
    transform = _check_transform(transform)
    if transform == "pft":
        return pft(events, n), 1.0 / (4.0 * np.asarray(n, dtype=float) + 2.0)
    return logit_escalc(events, n)


def back_transform(t, transform: str, n=None) -> np.ndarray:
    """Back to the probability scale: inverse logit, or the PFT inverse at the harmonic mean
    of n."""
    if transform == "pft":
        return ipft_hm(t, n)
    return expit(np.asarray(t, dtype=float))


def _check_transform(transform: str) -> str:
    key = str(transform).lower()
    if key in ("plo", "logit"):
        return "logit"
    if key in ("pft", "freeman-tukey", "double-arcsine"):
        return "pft"
    raise ValueError(f"unknown transform {transform!r}; choose 'pft' or 'logit'")


def _check_method(method: str) -> str:
    from bayes_anlo.frequentist.tau2 import check_tau2_method

    key = str(method).upper()
    if key in _FE_ALIASES:
        return "FE"
    return check_tau2_method(key)


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), e.g. 0.95; got {level!r}")
    return float(level)


# ------------------------------------------------------------------------------------------------
# The normal-normal (meta-regression) model, as rma.uni fits it
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RmaFit:
    """Internal result of :func:`fit_rma`: coefficients on the transform scale and heterogeneity."""

    method: str
    beta: np.ndarray
    vb: np.ndarray
    tau2: float
    se_tau2: float
    q: float
    q_df: int
    q_p: float
    i2: float
    h2: float
    weights: np.ndarray
    iterations: int
    k: int
    p: int
    test: str = "z"
    crit_df: int | None = None


def fit_rma(yi, vi, X=None, method: str = "DL", test: str = "z") -> RmaFit:
    """Fit ``y ~ N(X beta, diag(v) + tau^2 I)`` the way ``metafor::rma.uni`` does.

    A thin view of :func:`bayes_anlo.frequentist.random_effects.fit_uni`, which holds the model
    (every tau^2 estimator of :data:`bayes_anlo.frequentist.tau2.TAU2_METHODS`, z or
    Hartung-Knapp tests).

    Parameters
    ----------
    yi, vi : array
        Effect sizes and their sampling variances (all ``vi > 0``).
    X : array (k, p), optional
        Design matrix; default an intercept column.
    method : str
        tau^2 estimator (``"DL"``, ``"REML"``, ``"PM"``, ...) or ``"FE"``.
    test : {"z", "knha"}
    """
    from bayes_anlo.frequentist.random_effects import fit_uni

    method = _check_method(method)
    y = np.asarray(yi, dtype=float)
    X = np.ones((y.size, 1)) if X is None else np.asarray(X, dtype=float)
    if method != "FE" and X.shape[1] + 1 > y.size and y.size > 1:
        raise ValueError(
            f"{X.shape[1]} coefficients plus tau^2 cannot be estimated from {y.size} studies"
        )
    u = fit_uni(y, vi, X, method=method, test=test)
    return RmaFit(
        u.method,
        u.beta,
        u.vb,
        u.tau2,
        u.se_tau2,
        u.q,
        u.q_df,
        u.q_p,
        u.i2,
        u.h2,
        u.weights,
        u.iterations,
        u.k,
        u.p,
        test=u.test,
        crit_df=u.ddf,
    )


# ------------------------------------------------------------------------------------------------
# The result
# ------------------------------------------------------------------------------------------------
_FRAME_COLUMNS = (
    "method",
    "transform",
    "tau2_method",
    "k",
    "total_events",
    "total_n",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "tau",
    "i2",
    "h2",
    "q",
    "q_df",
    "q_p",
    "theta",
    "theta_se",
    "theta_ci_low",
    "theta_ci_high",
    "theta_pi_low",
    "theta_pi_high",
    "level",
)


@dataclass(frozen=True, eq=False)
class PooledResult:
    """A pooled proportion with its interval, prediction interval and heterogeneity.

    Attributes
    ----------
    method : str
        Label ``"<transform>-<tau2 method>"``: ``"PFT-DL"``, ``"PFT-REML"``, ``"PLO-PM"``, ...,
        ``"PLO-FE"`` or ``"GLMM-ML"``; Hartung-Knapp results end in ``-HK`` (``"PLO-REML-HK"``,
        with ``extras = {"test": "knha", "df": k - 1}``).
    transform, tau2_method : str
        ``"pft"``/``"logit"`` and ``"DL"``/``"REML"``/``"FE"``/``"ML"``.
    estimate, ci_low, ci_high, pi_low, pi_high : float
        Pooled proportion, its confidence interval and the prediction interval for a new study,
        on the probability scale. For a common-effect model the prediction interval equals the CI.
    tau2, i2, h2, q, q_df, q_p : float
        Between-study variance (transform scale), I^2 in percent, H^2, Cochran's Q (for the GLMM
        the likelihood-ratio statistic), its degrees of freedom and p-value.
    theta, theta_se, theta_ci_low, ... : float
        The same on the transform scale (logit or double arcsine); ``z``, ``p_value`` test theta=0.
    weights : ndarray or None
        Per-study weights in percent (``metafor::weights``); None for the GLMM.
    yi, vi : ndarray
        Per-study transformed proportions and sampling variances.
    """

    method: str
    transform: str
    tau2_method: str
    level: float
    k: int
    total_events: int
    total_n: int
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    theta: float
    theta_se: float
    theta_ci_low: float
    theta_ci_high: float
    theta_pi_low: float
    theta_pi_high: float
    z: float
    p_value: float
    labels: tuple[str, ...]
    events: np.ndarray
    n: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    weights: np.ndarray | None
    se_tau2: float = float("nan")
    harmonic_n: float | None = None
    iterations: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    def to_frame(self) -> pd.DataFrame:
        """One tidy row: method, k, estimate with CI and PI, tau^2, I^2, Q, transform-scale
        values."""
        row = {c: getattr(self, c) for c in _FRAME_COLUMNS}
        return pd.DataFrame([row], columns=list(_FRAME_COLUMNS))

    def studies_frame(self) -> pd.DataFrame:
        """One row per study: counts, observed proportion, transformed value, variance, weight."""
        return pd.DataFrame(
            {
                "label": list(self.labels),
                "events": self.events,
                "n": self.n,
                "proportion": self.events / self.n,
                "yi": self.yi,
                "vi": self.vi,
                "weight": self.weights if self.weights is not None else np.full(self.k, np.nan),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (NaN becomes None) with the summary and the per-study lists."""
        out: dict[str, Any] = {c: _jsonable(getattr(self, c)) for c in _FRAME_COLUMNS}
        out.update(
            se_tau2=_jsonable(self.se_tau2),
            z=_jsonable(self.z),
            p_value=_jsonable(self.p_value),
            harmonic_n=_jsonable(self.harmonic_n),
            iterations=int(self.iterations),
            labels=list(self.labels),
            events=[int(x) for x in self.events],
            n=[int(x) for x in self.n],
            weights=None if self.weights is None else [_jsonable(w) for w in self.weights],
            extras={key: _jsonable(val) for key, val in self.extras.items()},
        )
        return out


def _jsonable(value):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    return value


def z_crit(level: float) -> float:
    return float(norm_ppf(1 - (1 - level) / 2))


# ------------------------------------------------------------------------------------------------
# Public entry point
# ------------------------------------------------------------------------------------------------
def pool_proportions(
    data,
    n=None,
    *,
    transform: str = "pft",
    method: str = "DL",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    test: str = "z",
) -> PooledResult:
    """Pool single proportions with a random-effects (or common-effect) model, as metafor does.

    Parameters
    ----------
    data : BinaryData or array of int
        A single-outcome :class:`~bayes_anlo.data.binary.BinaryData`, or the event counts.
    n : array of int, optional
        Sample sizes, required when ``data`` is an array.
    transform : {"pft", "logit"}
        Freeman-Tukey double arcsine (``escalc(measure="PFT")``) or logit (``measure="PLO"``);
        see the module docstring for formulas and back-transforms.
    method : str
        tau^2 estimator, metafor's names: ``"DL"``, ``"REML"``, ``"PM"``, ``"ML"``, ``"SJ"``,
        ``"HS"``, ``"EB"`` (:mod:`bayes_anlo.frequentist.tau2`), or ``"FE"`` (common effect).
    level : float
        Confidence level of the CI and the prediction interval (default 0.95).
    labels : list of str, optional
        Study labels (default: from the data, or "study 1", ...).
    test : {"z", "knha"}
        z-based intervals (metafor's default) or Hartung-Knapp (``test="knha"``: SE scaled by
        the weighted residual variance, t quantiles with k-1 df for CI and prediction interval);
        a Hartung-Knapp result is labelled ``"<TRANSFORM>-<METHOD>-HK"``.

    Returns
    -------
    PooledResult
        Matches ``rma(measure=..., xi, ni, method=..., test=...)`` and ``predict(..., transf=...)``:
        ``transf.ipft.hm`` with ``targs=list(ni=n)`` for PFT, ``transf.ilogit`` for logit.
    """
    transform = _check_transform(transform)
    method = _check_method(method)
    level = _check_level(level)
    counts = study_counts(data, n, labels=labels)
    yi, vi = escalc(counts.events, counts.n, transform)
    fit = fit_rma(yi, vi, method=method, test=test)
    return _result_from_fit(fit, counts, yi, vi, transform, level)


def _result_from_fit(
    fit: RmaFit, counts: StudyCounts, yi, vi, transform: str, level: float
) -> PooledResult:
    theta = float(fit.beta[0])
    se = math.sqrt(float(fit.vb[0, 0]))
    hk = fit.test == "knha"
    crit = float(t_isf((1 - level) / 2, fit.crit_df)) if hk else z_crit(level)
    ci = (theta - crit * se, theta + crit * se)
    half_pi = crit * math.sqrt(se**2 + fit.tau2)
    pi = (theta - half_pi, theta + half_pi)
    n_for_back = counts.n if transform == "pft" else None
    est, lo, hi, plo, phi = back_transform(
        np.array([theta, ci[0], ci[1], pi[0], pi[1]]), transform, n_for_back
    )
    z = theta / se if se > 0 else float("nan")
    p_value = 2 * (t_sf(abs(z), fit.crit_df) if hk else norm_sf(abs(z)))
    return PooledResult(
        method=f"{_MEASURE[transform]}-{fit.method}{'-HK' if hk else ''}",
        transform=transform,
        tau2_method=fit.method,
        level=level,
        k=counts.k,
        total_events=int(counts.events.sum()),
        total_n=int(counts.n.sum()),
        estimate=float(est),
        ci_low=float(lo),
        ci_high=float(hi),
        pi_low=float(plo),
        pi_high=float(phi),
        tau2=fit.tau2,
        i2=fit.i2,
        h2=fit.h2,
        q=fit.q,
        q_df=fit.q_df,
        q_p=fit.q_p,
        theta=theta,
        theta_se=se,
        theta_ci_low=ci[0],
        theta_ci_high=ci[1],
        theta_pi_low=pi[0],
        theta_pi_high=pi[1],
        z=z,
        p_value=float(p_value),
        labels=counts.labels,
        events=counts.events,
        n=counts.n,
        yi=np.asarray(yi, dtype=float),
        vi=np.asarray(vi, dtype=float),
        weights=fit.weights,
        se_tau2=fit.se_tau2,
        harmonic_n=harmonic_mean(counts.n) if transform == "pft" else None,
        iterations=fit.iterations,
        extras={"test": "knha", "df": fit.crit_df} if hk else {},
    )
