"""Brent's root finder with the iterates of R's ``uniroot`` (``R_zeroin2``).

metafor finds the Paule-Mandel tau^2 and the Q-profile confidence limits with ``uniroot`` at a
loose tolerance (``.Machine$double.eps^0.25``, about 1.2e-4), so its printed values are the point
where Brent's search stopped, not the exact root. To give metafor's numbers (not merely numbers
within 1e-4 of them) this module follows Brent's (1973, *Algorithms for Minimization without
Derivatives*, ch. 4) method step for step as R runs it: inverse quadratic interpolation when
three distinct points are known, the secant step with two, bisection when interpolation would
leave the bracket or shrink too slowly, and a step of at least the actual tolerance
``2 eps |b| + tol/2``. Convergence when half the bracket is within that tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: ``.Machine$double.eps^0.25``: the default tolerance of ``uniroot`` and of metafor's searches.
R_UNIROOT_TOL = float(np.finfo(float).eps ** 0.25)
_EPS = float(np.finfo(float).eps)


class RootNotBracketed(ValueError):
    """The function has the same sign at both ends of the search interval."""


def r_uniroot(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    *,
    tol: float = R_UNIROOT_TOL,
    maxiter: int = 1000,
) -> float:
    """The root of ``f`` in ``[lower, upper]`` as R's ``uniroot(f, c(lower, upper), tol=tol)``.

    Raises :class:`RootNotBracketed` when ``f(lower)`` and ``f(upper)`` have the same sign and
    ``RuntimeError`` when ``maxiter`` steps do not converge (R warns and returns; metafor treats
    both as a failed search).
    """
    a, b = float(lower), float(upper)
    fa, fb = float(f(a)), float(f(b))
    if math.isnan(fa) or math.isnan(fb):
        raise ValueError("the function is NaN at an end of the search interval")
    if fa * fb > 0:
        raise RootNotBracketed(
            f"f({a:g}) = {fa:g} and f({b:g}) = {fb:g} have the same sign; no root bracketed"
        )
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):  # make b the best approximation so far
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # two distinct points: secant
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # three points: inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < 0.75 * cb * q - abs(tol_act * q) / 2 and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = float(f(b))
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise RuntimeError(f"root search did not converge in {maxiter} iterations")
