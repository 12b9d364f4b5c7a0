"""Numerically stable densities shared by the quadrature engines and the models' post-processing.

* :func:`log_rising` - ``log Gamma(a + k) - log Gamma(a)`` without the cancellation that the plain
  difference of ``gammaln`` suffers for large ``a`` (the beta-binomial with a large concentration).
* :func:`betabinom_logpmf` - the beta-binomial log-pmf built from it, exact for any concentration.
* :func:`binom_logpmf_logit` - the binomial log-pmf with the probability given on the logit scale.
* :func:`logit_normal_marginal` - ``log Int Binomial(y | n, expit(eta)) Normal(eta | mu, tau) d
  eta`` by adaptive Gauss-Hermite quadrature (centred and scaled at the integrand's mode, as lme4's
  ``nAGQ`` does), accurate for any ``tau`` including ``tau -> 0`` and for large ``n``.
* :func:`logit_normal_mode_and_scale` - mode and Laplace scale of ``theta``'s conditional density
  given ``y`` and ``N(mu, tau)`` (the centre of every quadrature over a logit rate).
* :func:`logit_normal_summaries` - the same marginal with ``P(eta > c | y)`` and ``E(expit eta |
  y)`` from one set of Gauss-Legendre nodes (the EXNEX decision engine's tables; Gauss-Hermite
  gives no tail probability at an arbitrary ``c``).
* :func:`logit_normal_moments` - mean and variance of ``expit(mu + tau Z)``, ``Z ~ N(0, 1)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, log_expit, logit

#: Gauss-Legendre nodes of the 1-D integrals over a logit rate (:func:`logit_normal_summaries`).
LEGENDRE_NODES = 64
#: Half-width, in Laplace scales, of the interval those nodes span around the mode.
LEGENDRE_HALF_WIDTH = 12.0
_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


def _stirling_tail(x: np.ndarray) -> np.ndarray:
    """The series part of Stirling's formula: 1/(12x) - 1/(360x^3) + 1/(1260x^5) - 1/(1680x^7)."""
    r = 1.0 / x
    r2 = r * r
    return r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 / 1680.0)))


def log_rising(a, k) -> np.ndarray:
    """``log Gamma(a + k) - log Gamma(a)`` (log of the rising factorial), stable for large ``a``.

    For ``a > 10`` Stirling's series is used in the cancellation-free form
    ``(a - 1/2) log1p(k/a) + k log(a + k) - k + S(a + k) - S(a)`` (absolute error below 1e-12);
    otherwise the difference of ``gammaln`` values (which are then small) is exact to rounding.
    """
    a, k = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(k, dtype=float))
    out = np.empty(a.shape)
    big = a > 10.0
    if big.any():
        ab, kb = a[big], k[big]
        out[big] = (
            (ab - 0.5) * np.log1p(kb / ab)
            + kb * np.log(ab + kb)
            - kb
            + _stirling_tail(ab + kb)
            - _stirling_tail(ab)
        )
    small = ~big
    if small.any():
        out[small] = gammaln(a[small] + k[small]) - gammaln(a[small])
    return out


def log_binom_coef(n, y) -> np.ndarray:
    """``log C(n, y)``."""
    n = np.asarray(n, dtype=float)
    y = np.asarray(y, dtype=float)
    return gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)


def betabinom_logpmf(y, n, a, b) -> np.ndarray:
    """Beta-binomial log-pmf ``log C(n,y) + log B(y + a, n - y + b) - log B(a, b)``, broadcasting.

    Written as rising factorials, ``log C(n,y) + log (a)_y + log (b)_(n-y) - log (a+b)_n``, so it
    stays exact as ``a + b -> infinity`` (where it tends to the binomial log-pmf).
    """
    y = np.asarray(y, dtype=float)
    n = np.asarray(n, dtype=float)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return log_binom_coef(n, y) + log_rising(a, y) + log_rising(b, n - y) - log_rising(a + b, n)


def binom_logpmf_logit(y, n, eta) -> np.ndarray:
    """Binomial log-pmf with success probability ``expit(eta)``."""
    y = np.asarray(y, dtype=float)
    n = np.asarray(n, dtype=float)
    return log_binom_coef(n, y) + y * log_expit(eta) + (n - y) * log_expit(-eta)


def logit_normal_mode_and_scale(y, n, mu, tau, iterations: int = 30):
    """Mode and Laplace scale of ``f(eta) = log Binomial(y | n, expit eta) + log N(eta | mu, tau)``.

    ``f`` is strictly concave, so damped Newton iterations from a precision-weighted start converge.
    """
    prec = 1.0 / np.square(tau)
    p0 = (y + 0.5) / (n + 1.0)
    w0 = (n + 1.0) * p0 * (1 - p0)
    eta = (prec * mu + w0 * np.log(p0 / (1 - p0))) / (prec + w0)
    for _ in range(iterations):
        p = expit(eta)
        grad = y - n * p - (eta - mu) * prec
        hess = n * p * (1 - p) + prec
        step = np.clip(grad / hess, -2.0, 2.0)
        eta = eta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    p = expit(eta)
    scale = 1.0 / np.sqrt(n * p * (1 - p) + prec)
    return eta, scale


def log_normal_pdf(x, mu, sigma) -> np.ndarray:
    z = (x - mu) / sigma
    return -0.5 * z * z - np.log(sigma) - _HALF_LOG_2PI


def logit_normal_marginal(y, n, mu, tau, nodes: int = 32) -> np.ndarray:
    """``log Int Binomial(y | n, expit eta) N(eta | mu, tau) d eta`` by adaptive Gauss-Hermite.

    All arguments broadcast. With ``eta_hat`` the integrand's mode and ``s`` its Laplace scale,
    ``Int exp f = sqrt(2) s sum_k w_k exp(f(eta_hat + sqrt(2) s x_k) + x_k^2)`` over the
    Gauss-Hermite nodes ``x_k`` and weights ``w_k``; the sum is taken in log space.
    """
    y, n, mu, tau = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (y, n, mu, tau)))
    eta_hat, scale = logit_normal_mode_and_scale(y, n, mu, tau)
    x, w = np.polynomial.hermite.hermgauss(nodes)
    eta = eta_hat[..., None] + np.sqrt(2.0) * scale[..., None] * x
    f = (
        y[..., None] * log_expit(eta)
        + (n - y)[..., None] * log_expit(-eta)
        + log_normal_pdf(eta, mu[..., None], tau[..., None])
    )
    terms = f + x * x + np.log(w)
    peak = terms.max(axis=-1)
    log_sum = peak + np.log(np.exp(terms - peak[..., None]).sum(axis=-1))
    return log_binom_coef(n, y) + np.log(np.sqrt(2.0) * scale) + log_sum


def sample_logit_normal_conditional(
    y, n, mu, tau, rng: np.random.Generator, half_width: float = 12.0, points: int = 97
) -> np.ndarray:
    """One draw of ``eta`` from ``p(eta | y, mu, tau) ~ Binomial(y | n, expit eta) N(eta | mu,
    tau)``.

    Arrays broadcast; the density is evaluated on ``points`` cells spanning ``eta_hat +- half_width
    * s`` (mode and Laplace scale), a cell is chosen with probability proportional to its density
    and the draw is placed uniformly inside it (a fine piecewise-constant approximation).
    """
    y, n, mu, tau = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (y, n, mu, tau)))
    eta_hat, scale = logit_normal_mode_and_scale(y, n, mu, tau)
    offsets = np.linspace(-half_width, half_width, points)
    width = offsets[1] - offsets[0]
    eta = eta_hat[..., None] + scale[..., None] * offsets
    f = (
        y[..., None] * log_expit(eta)
        + (n - y)[..., None] * log_expit(-eta)
        + log_normal_pdf(eta, mu[..., None], tau[..., None])
    )
    f -= f.max(axis=-1, keepdims=True)
    cdf = np.cumsum(np.exp(f), axis=-1)
    cdf /= cdf[..., -1:]
    u = rng.random(y.shape)
    cell = (cdf < u[..., None]).sum(axis=-1)
    cell = np.minimum(cell, points - 1)
    jitter = rng.random(y.shape) - 0.5
    return eta_hat + scale * (offsets[cell] + jitter * width)


def _legendre_nodes(lo, hi):
    """Gauss-Legendre nodes and weights on ``[lo, hi]`` (arrays broadcast; nodes on a new last
    axis)."""
    x, w = np.polynomial.legendre.leggauss(LEGENDRE_NODES)
    half = 0.5 * (hi - lo)
    return 0.5 * (hi + lo)[..., None] + half[..., None] * x, half[..., None] * w


def logit_normal_summaries(y: int, n: int, mu, tau, threshold: float | None):
    """For ``y`` of ``n`` and ``theta ~ N(mu, tau)`` (arrays, ``tau > 0``): ``log L`` (the
    marginal likelihood), ``P(theta > logit threshold | y)`` (None without a threshold) and
    ``E(expit theta | y)``, all from one set of Gauss-Legendre nodes spanning the conditional
    density's mode +- ``LEGENDRE_HALF_WIDTH`` Laplace scales (the tail from its own nodes on
    ``[logit threshold, upper end]``, so the step at the threshold is integrated exactly)."""
    mu, tau = np.broadcast_arrays(np.asarray(mu, float), np.asarray(tau, float))
    mode, scale = logit_normal_mode_and_scale(y, n, mu, tau, iterations=50)
    lo, hi = mode - LEGENDRE_HALF_WIDTH * scale, mode + LEGENDRE_HALF_WIDTH * scale

    const = log_binom_coef(n, y) - np.log(tau)[..., None] - 0.5 * np.log(2.0 * np.pi)
    mu_, inv_tau = mu[..., None], 1.0 / tau[..., None]

    def log_f(t):  # log Bin(y | n, expit t) + log N(t | mu, tau), one log_expit per node
        z = (t - mu_) * inv_tau
        return n * log_expit(t) - (n - y) * t - 0.5 * z * z + const

    t, w = _legendre_nodes(lo, hi)
    f = log_f(t)
    peak = f.max(axis=-1, keepdims=True)
    e = np.exp(f - peak) * w
    total = e.sum(axis=-1)
    log_l = np.log(total) + peak[..., 0]
    mean = (e * expit(t)).sum(axis=-1) / total
    if threshold is None:
        return log_l, None, mean
    c = float(logit(threshold))
    start = np.clip(c, lo, hi)
    tt, wt = _legendre_nodes(start, hi)
    tail = (np.exp(log_f(tt) - peak) * wt).sum(axis=-1) / total
    return log_l, np.clip(tail, 0.0, 1.0), mean


def logit_normal_moments(mu, tau, nodes: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of ``expit(mu + tau Z)`` with ``Z ~ N(0, 1)`` (Gauss-Hermite,
    broadcast)."""
    mu = np.asarray(mu, dtype=float)
    tau = np.asarray(tau, dtype=float)
    x, w = np.polynomial.hermite.hermgauss(nodes)
    w = w / np.sqrt(np.pi)
    p = expit(mu[..., None] + np.sqrt(2.0) * tau[..., None] * x)
    m1 = (p * w).sum(axis=-1)
    m2 = (p * p * w).sum(axis=-1)
    return m1, np.maximum(m2 - m1 * m1, 0.0)
