"""Closed forms of the piecewise-exponential distribution, for NumPy arrays and PyTensor tensors.

Cut points ``c_0 = 0 < c_1 < ... < c_{J-1}`` define ``J`` intervals ``(c_k, c_{k+1}]``, the last one
open (``c_J = inf``); the hazard is ``lambda_k`` on interval ``k``. With ``e_k(t)`` the time spent
in interval ``k`` up to ``t`` (``min(max(t - c_k, 0), c_{k+1} - c_k)``):

* cumulative hazard ``H(t) = sum_k lambda_k e_k(t)``, survival ``S(t) = exp(-H(t))``;
* quantile: with ``h* = -log(1 - p)``, ``H_k = H(c_k)``, the time is ``c_k + (h* - H_k) / lambda_k``
  in the interval with ``H_k <= h* < H_{k+1}`` (the median is ``p = 1/2``);
* restricted mean ``RMST(tau) = int_0^tau S = sum_k exp(-H_k) (1 - exp(-lambda_k e_k(tau))) /
  lambda_k``.

Every function takes hazards with the interval on the last axis (any leading dims) and a module
``xp`` (``numpy`` or ``pytensor.tensor``); time points are fixed NumPy values, so the exposure
matrices are constants and the expressions stay differentiable in the hazards.
"""

from __future__ import annotations

import numpy as np

#: Length standing in for the open last interval when locating a quantile.
_OPEN_END = 1e12


def check_cuts(cuts) -> np.ndarray:
    """Validate cut points: strictly increasing, first 0, finite."""
    cuts = np.asarray(cuts, dtype=float).ravel()
    if cuts.size < 1 or cuts[0] != 0:
        raise ValueError("cut points must start at 0")
    if not np.all(np.isfinite(cuts)) or np.any(np.diff(cuts) <= 0):
        raise ValueError("cut points must be finite and strictly increasing")
    return cuts


def exposure_matrix(cuts, times) -> np.ndarray:
    """``E[i, k] = e_k(t_i)``: time spent in interval ``k`` up to ``t_i`` (shape times x
    intervals)."""
    cuts = check_cuts(cuts)
    t = np.atleast_1d(np.asarray(times, dtype=float))
    upper = np.append(cuts[1:], np.inf)
    return np.clip(t[:, None] - cuts[None, :], 0.0, upper - cuts)


def _start_matrix(cuts) -> tuple[np.ndarray, np.ndarray]:
    """``L`` with ``H(c_k) = (lambda * widths) @ L`` and the widths (last one = _OPEN_END)."""
    cuts = check_cuts(cuts)
    j = cuts.size
    widths = np.append(np.diff(cuts), _OPEN_END)
    lower = np.triu(np.ones((j, j)), k=1)  # L[i, k] = 1 when i < k
    return lower, widths


def cumulative_hazard(hazard, cuts, times, xp=np):
    """``H(t)`` at fixed times; shape ``hazard.shape[:-1] + (len(times),)``."""
    return xp.dot(hazard, exposure_matrix(cuts, times).T)


def survival(hazard, cuts, times, xp=np):
    """``S(t) = exp(-H(t))`` at fixed times."""
    return xp.exp(-cumulative_hazard(hazard, cuts, times, xp))


def quantile_time(hazard, cuts, p: float = 0.5, xp=np):
    """Time at which ``S`` falls to ``1 - p`` (exact for piecewise-constant hazards)."""
    if not 0 < p < 1:
        raise ValueError("p must lie in (0, 1)")
    lower, widths = _start_matrix(cuts)
    cuts = check_cuts(cuts)
    target = -np.log1p(-p)
    h_start = xp.dot(hazard * widths, lower)
    h_end = h_start + hazard * widths
    inside = xp.where(h_start <= target, 1.0, 0.0) * xp.where(h_end > target, 1.0, 0.0)
    candidate = cuts + (target - h_start) / hazard
    return xp.sum(inside * candidate, axis=-1)


def median(hazard, cuts, xp=np):
    """Median survival time."""
    return quantile_time(hazard, cuts, 0.5, xp)


def restricted_mean(hazard, cuts, taus, xp=np):
    """``RMST(tau) = int_0^tau S(t) dt`` at fixed ``taus``; shape ``hazard.shape[:-1] +
    (len(taus),)``."""
    lower, widths = _start_matrix(cuts)
    h_start = xp.dot(hazard * widths, lower)
    e = exposure_matrix(cuts, taus)  # taus x intervals
    lam = hazard[..., None, :]
    part = -xp.expm1(-lam * e) / lam
    return xp.sum(xp.exp(-h_start)[..., None, :] * part, axis=-1)


def _as_bound(x):
    """Numbers and lists become float arrays; tensors pass through."""
    return (
        np.asarray(x, dtype=float) if isinstance(x, int | float | list | tuple | np.ndarray) else x
    )


def exposure_rows(cuts, times, xp=np):
    """``e_k(t)`` for times that may be tensors: shape ``times.shape + (intervals,)``."""
    cuts = check_cuts(cuts)
    widths = np.append(np.diff(cuts), np.inf)
    return xp.minimum(xp.maximum(times[..., None] - cuts, 0.0), widths)


def restricted_mean_rows(hazard, cuts, exposure, xp=np):
    """``RMST`` of each row of ``hazard`` (..., J) up to the times whose exposures are ``exposure``
    (..., J), row by row."""
    lower, widths = _start_matrix(cuts)
    h_start = xp.dot(hazard * widths, lower)
    return xp.sum(xp.exp(-h_start) * (-xp.expm1(-hazard * exposure)) / hazard, axis=-1)


def mean_survival_over(hazard, cuts, low, mid, high, xp=np):
    """``E[S(C)]`` for ``C`` with half its mass uniform on ``[low, mid]`` and half on ``[mid,
    high]``.

    ``hazard`` (..., J) and the bounds (...) are paired row by row (bounds may be tensors). A
    degenerate half (``mid - low`` or ``high - mid`` below 1e-9 months) contributes ``S(mid)``.
    """
    low, mid, high = (_as_bound(x) for x in (low, mid, high))
    r_low = restricted_mean_rows(hazard, cuts, exposure_rows(cuts, low, xp), xp)
    r_mid = restricted_mean_rows(hazard, cuts, exposure_rows(cuts, mid, xp), xp)
    r_high = restricted_mean_rows(hazard, cuts, exposure_rows(cuts, high, xp), xp)
    s_mid = xp.exp(-xp.sum(hazard * exposure_rows(cuts, mid, xp), axis=-1))
    eps = 1e-9
    first = xp.where(mid - low > eps, (r_mid - r_low) / xp.maximum(mid - low, eps), s_mid)
    second = xp.where(high - mid > eps, (r_high - r_mid) / xp.maximum(high - mid, eps), s_mid)
    return 0.5 * first + 0.5 * second


def conditional_mean_survival(hazard, cuts, start, low, mid, high, xp=np):
    """``E[S(C) / S(t0) | C > t0]`` with ``t0 = start`` and ``C`` the two-piece uniform of
    :func:`mean_survival_over`: the chance of being event-free at the data cut for someone at
    risk at ``t0``. Rows of ``hazard`` (..., J) pair with the bounds (...). Requires
    ``P(C > t0) > 0``; a degenerate half contributes ``S(mid)`` when ``mid > t0``.
    """
    eps = 1e-9
    start, low, mid, high = (_as_bound(x) for x in (start, low, mid, high))

    def rmst(t):
        return restricted_mean_rows(hazard, cuts, exposure_rows(cuts, t, xp), xp)

    def surv(t):
        return xp.exp(-xp.sum(hazard * exposure_rows(cuts, t, xp), axis=-1))

    lo1 = xp.minimum(xp.maximum(low, start), mid)
    lo2 = xp.minimum(xp.maximum(mid, start), high)
    w1 = mid - low
    w2 = high - mid
    after_mid = xp.where(mid > start, 1.0, 0.0)
    e1 = xp.where(w1 > eps, (rmst(mid) - rmst(lo1)) / xp.maximum(w1, eps), surv(mid) * after_mid)
    e2 = xp.where(w2 > eps, (rmst(high) - rmst(lo2)) / xp.maximum(w2, eps), surv(mid) * after_mid)
    p1 = xp.where(w1 > eps, (mid - lo1) / xp.maximum(w1, eps), after_mid)
    p2 = xp.where(w2 > eps, (high - lo2) / xp.maximum(w2, eps), after_mid)
    return (0.5 * e1 + 0.5 * e2) / ((0.5 * p1 + 0.5 * p2) * surv(start))


def simulate_times(rng: np.random.Generator, hazard, cuts, size: int) -> np.ndarray:
    """Draw event times by inverting ``H`` at standard-exponential variates (NumPy only)."""
    hazard = np.asarray(hazard, dtype=float)
    cuts = check_cuts(cuts)
    if hazard.shape != cuts.shape or np.any(hazard <= 0):
        raise ValueError("need one positive hazard per interval")
    h_start = np.concatenate([[0.0], np.cumsum(hazard[:-1] * np.diff(cuts))])
    e = rng.standard_exponential(size)
    k = np.searchsorted(h_start, e, side="right") - 1
    return cuts[k] + (e - h_start[k]) / hazard[k]
