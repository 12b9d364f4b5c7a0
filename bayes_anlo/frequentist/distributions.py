"""Quantiles and tail areas of the normal, t, chi-square, F and beta distributions, from
``scipy.special``.

``scipy.stats`` takes about a second to import (its distribution classes pull in scipy.optimize,
scipy.interpolate, scipy.spatial ...); the frequentist pooling code needs a dozen of its functions,
which are thin wrappers over the ``scipy.special`` ufuncs used here (``norm.ppf`` is ``ndtri``,
``t.sf(x, df)`` is ``stdtr(df, -x)``, ``chi2.sf(x, df)`` is ``chdtrc(df, x)`` ...). Each function
below returns what its ``scipy.stats`` namesake returns, bit for bit, including outside the
support (``chi2.sf`` of a negative value is 1) and for invalid degrees of freedom (NaN);
tests/frequentist/test_distributions.py compares them.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def _nan_unless(valid, value):
    """``value`` where ``valid``, NaN elsewhere (scalars stay scalars)."""
    valid = np.asarray(valid)
    if valid.all():
        return value
    return np.where(valid, value, np.nan)[()]


def _quantile(q, value, at_zero: float, at_one: float):
    """A quantile as scipy.stats returns it: the support's ends at ``q`` = 0 and 1 (``at_zero``,
    ``at_one``; swapped for upper-tail quantiles) and ``+ 0.0`` (its ``loc``), which turns -0.0
    into 0.0."""
    q = np.asarray(q, dtype=float)
    return np.where(q == 0, at_zero, np.where(q == 1, at_one, value))[()] + 0.0


def norm_ppf(q):
    """``scipy.stats.norm.ppf(q)``."""
    return _quantile(q, special.ndtri(q), -np.inf, np.inf)


def norm_isf(q):
    """``scipy.stats.norm.isf(q)``."""
    return _quantile(q, -special.ndtri(q), np.inf, -np.inf)


def norm_sf(x):
    """``scipy.stats.norm.sf(x)``."""
    return special.ndtr(-np.asarray(x, dtype=float))[()]


def t_ppf(q, df):
    """``scipy.stats.t.ppf(q, df)``: NaN unless ``df > 0``."""
    value = _quantile(q, special.stdtrit(df, q), -np.inf, np.inf)
    return _nan_unless(np.asarray(df) > 0, value)


def t_isf(q, df):
    """``scipy.stats.t.isf(q, df)``: NaN unless ``df > 0``."""
    value = _quantile(q, -special.stdtrit(df, q), np.inf, -np.inf)
    return _nan_unless(np.asarray(df) > 0, value)


def t_sf(x, df):
    """``scipy.stats.t.sf(x, df)``."""
    return special.stdtr(df, -np.asarray(x, dtype=float))[()]


def chi2_sf(x, df):
    """``scipy.stats.chi2.sf(x, df)``: 1 below the support, NaN unless ``df > 0``."""
    x = np.asarray(x, dtype=float)
    df = np.asarray(df, dtype=float)
    value = np.where(x < 0, 1.0, special.chdtrc(df, np.maximum(x, 0.0)))[()]
    return _nan_unless(df > 0, value)


def chi2_cdf(x, df):
    """``scipy.stats.chi2.cdf(x, df)``: 0 below the support, NaN unless ``df > 0``."""
    x = np.asarray(x, dtype=float)
    df = np.asarray(df, dtype=float)
    value = np.where(x < 0, 0.0, special.chdtr(df, np.maximum(x, 0.0)))[()]
    return _nan_unless(df > 0, value)


def chi2_isf(q, df):
    """``scipy.stats.chi2.isf(q, df)``: NaN unless ``df > 0``."""
    value = _quantile(q, special.chdtri(df, q), np.inf, 0.0)
    return _nan_unless(np.asarray(df) > 0, value)


def chi2_ppf(q, df):
    """``scipy.stats.chi2.ppf(q, df)``: NaN unless ``df > 0``."""
    df = np.asarray(df, dtype=float)
    value = _quantile(q, 2 * special.gammaincinv(df / 2, q), 0.0, np.inf)
    return _nan_unless(df > 0, value)


def f_sf(x, dfn, dfd):
    """``scipy.stats.f.sf(x, dfn, dfd)``: 1 below the support."""
    x = np.asarray(x, dtype=float)
    return np.where(x < 0, 1.0, special.fdtrc(dfn, dfd, np.maximum(x, 0.0)))[()]


def beta_ppf(q, a, b):
    """``scipy.stats.beta.ppf(q, a, b)``: NaN unless ``a > 0`` and ``b > 0``."""
    value = _quantile(q, special.betaincinv(a, b, q), 0.0, 1.0)
    return _nan_unless((np.asarray(a) > 0) & (np.asarray(b) > 0), value)
