"""Exact (quadrature) posterior of the beta-binomial hyperparameters.

Model: ``y_i ~ BetaBinomial(n_i, mu kappa, (1 - mu) kappa)``, ``mu ~ p_mu``, ``kappa ~ p_kappa``.
The grid is over ``u = logit(mu)`` and ``v = log(kappa)``, so the log joint on the grid is

    log p_mu(expit u) + log expit(u) + log expit(-u)      (Jacobian d mu / d u = mu (1 - mu))
  + log p_kappa(exp v) + v                                (Jacobian d kappa / d v = kappa)
  + sum_i log BetaBinomial(y_i | n_i, mu kappa, (1 - mu) kappa)

with every constant (including log C(n_i, y_i)) kept, so the grid's normalising constant is the
evidence ``log p(y)`` and the log joint equals PyMC's ``model.compile_logp()`` at the same point.

:func:`hyperparameter_draws` (iid draws of ``(mu, kappa)`` from the grid) and :func:`rate_draws` (a
new study's rate and the shrunken study rates, by conjugacy) are the two steps by which
``BetaBinomial(method="exact")`` fills its posterior; ``bayes-anlo rates`` calls them directly and
summarises the arrays without building a DataTree.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, logit

from bayes_anlo.exact.conjugate import beta_draws
from bayes_anlo.exact.grid import adaptive_grid
from bayes_anlo.exact.posterior import ExactPosterior, Parameter
from bayes_anlo.exact.special_functions import log_binom_coef, log_rising

#: Hard limits of the grid on (logit mu, log kappa).
LIMITS = (-40.0, 40.0, -12.0, 45.0)


def _unique_counts(events, n):
    pairs, counts = np.unique(np.column_stack([events, n]), axis=0, return_counts=True)
    return pairs[:, 0].astype(float), pairs[:, 1].astype(float), counts.astype(float)


def beta_binomial_log_joint(events, n, priors):
    """``(u, v) -> log joint`` on (logit mu, log kappa), vectorised over arrays of u and v."""
    y, m, counts = _unique_counts(np.asarray(events), np.asarray(n))

    log_coef = float(np.sum(counts * log_binom_coef(m, y)))

    def log_joint(u, v):
        """Broadcasting over u and v; terms in kappa alone are computed once per value of v."""
        mu = expit(u)
        kappa = np.exp(v)
        a = mu * kappa
        b = expit(-u) * kappa
        prior = priors.mu.logpdf(mu) + log_expit(u) + log_expit(-u) + priors.kappa.logpdf(kappa) + v
        kappa_only = log_coef - sum(
            ci * log_rising(kappa, ni) for ni, ci in zip(m, counts, strict=True)
        )
        out = prior + kappa_only
        for yi, ni, ci in zip(y, m, counts, strict=True):
            out = out + ci * (log_rising(a, yi) + log_rising(b, ni - yi))
        return out

    return log_joint


def _limits(priors):
    mu_lo, mu_hi = priors.mu.bounds()
    k_lo, k_hi = priors.kappa.bounds()
    with np.errstate(divide="ignore"):
        u_lo = max(LIMITS[0], float(logit(mu_lo))) if mu_lo > 0 else LIMITS[0]
        u_hi = min(LIMITS[1], float(logit(mu_hi))) if mu_hi < 1 else LIMITS[1]
        v_lo = max(LIMITS[2], float(np.log(k_lo))) if k_lo > 0 else LIMITS[2]
        v_hi = min(LIMITS[3], float(np.log(k_hi))) if np.isfinite(k_hi) else LIMITS[3]
    return (u_lo, u_hi, v_lo, v_hi)


def beta_binomial_exact(
    events, n, priors, *, n_fine: int = 120, n_coarse: int = 48, drop: float = 25.0
) -> ExactPosterior:
    """Grid posterior of ``(mu, kappa)`` for the beta-binomial model.

    Parameters
    ----------
    events, n : array-like of int
        Events and sample sizes per study.
    priors : BetaBinomialPriors
        Any object with ``.mu`` and ``.kappa`` distributions (``logpdf``, ``bounds``).
    n_fine, n_coarse : int
        Cells per axis of the fine and coarse passes (see :func:`adaptive_grid`).

    Returns
    -------
    ExactPosterior
        Parameters ``mu``, ``kappa``, ``log_kappa``, ``icc`` (= 1/(1 + kappa)); grid coordinates
        ``("logit_mu", "log_kappa")``.
    """
    events = np.asarray(events, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    pooled = (events.sum() + 0.5) / (n.sum() + 1.0)
    centre = float(logit(pooled))
    box = [centre - 4.0, centre + 4.0, -1.0, 8.0]
    grid = adaptive_grid(
        beta_binomial_log_joint(events, n, priors),
        box,
        _limits(priors),
        names=("logit_mu", "log_kappa"),
        n_coarse=n_coarse,
        n_fine=n_fine,
        drop=drop,
    )
    params = {
        "mu": Parameter(0, expit),
        "kappa": Parameter(1, np.exp),
        "log_kappa": Parameter(1, lambda v: v),
        "icc": Parameter(1, lambda v: expit(-v), increasing=False),
    }
    return ExactPosterior("beta_binomial", grid, params)


def hyperparameter_draws(
    posterior: ExactPosterior, chains: int, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """iid draws of ``mu`` and ``kappa`` from the grid posterior, each of shape (chains, draws)."""
    u, v = posterior.sample(chains * draws, rng)
    return expit(u).reshape(chains, draws), np.exp(v).reshape(chains, draws)


def rate_draws(
    mu: np.ndarray, kappa: np.ndarray, n, rng: np.random.Generator, events=None
) -> tuple[np.ndarray, np.ndarray]:
    """At each draw of ``(mu, kappa)``: a new study's rate ``Beta(mu kappa, (1 - mu) kappa)`` and
    each study's rate (trailing axis): given the data, by conjugacy,
    ``theta_i ~ Beta(mu kappa + y_i, (1 - mu) kappa + n_i - y_i)``; without ``events``, from the
    population (prior draws). Drawn in that order from ``rng``."""
    a, b = mu * kappa, (1.0 - mu) * kappa
    predictive = beta_draws(rng, a, b)
    if events is None:
        study = beta_draws(rng, a[..., None], b[..., None], size=a.shape + (len(n),))
    else:
        study = beta_draws(rng, a[..., None] + events, b[..., None] + n - events)
    return predictive, study
