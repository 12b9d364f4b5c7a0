"""Exact (quadrature) posterior of the logit-normal random-effects model's hyperparameters.

Model: ``y_i ~ Binomial(n_i, expit(eta_i))``, ``eta_i ~ Normal(mu, tau)``, ``mu ~ p_mu``,
``tau ~ p_tau``. Each study's random effect is integrated out by adaptive Gauss-Hermite
quadrature (:func:`~bayes_anlo.exact.special_functions.logit_normal_marginal`, 32 nodes centred and
scaled at the integrand's mode), and the two hyperparameters by a 2-D grid directly over ``(mu,
tau)`` (no transformation, so no Jacobian; the grid starts at tau = 0 where the half-normal prior
puts positive density):

    log p_mu(mu) + log p_tau(tau) + sum_i log Int Binomial(y_i | n_i, expit eta) N(eta | mu, tau) d
    eta

Study rates given ``(mu, tau)`` are drawn from their exact conditional
``p(eta_i | y_i, mu, tau)`` by inverse CDF on a fine 1-D grid
(:func:`~bayes_anlo.exact.special_functions.sample_logit_normal_conditional`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from bayes_anlo.exact.grid import adaptive_grid
from bayes_anlo.exact.posterior import ExactPosterior, Parameter
from bayes_anlo.exact.special_functions import logit_normal_marginal

#: Hard limits of the grid on (mu, tau).
LIMITS = (-40.0, 40.0, 0.0, 30.0)


def logit_normal_log_joint(events, n, priors, nodes: int = 32):
    """``(mu, tau) -> log joint`` (study effects integrated out), vectorised over arrays."""
    pairs, counts = np.unique(np.column_stack([events, n]), axis=0, return_counts=True)

    def log_joint(mu, tau):
        out = priors.mu.logpdf(mu) + priors.tau.logpdf(tau)
        for (yi, ni), ci in zip(pairs, counts, strict=True):
            out = out + ci * logit_normal_marginal(yi, ni, mu, tau, nodes=nodes)
        return out

    return log_joint


def logit_normal_exact(
    events, n, priors, *, n_fine: int = 100, n_coarse: int = 40, drop: float = 25.0, nodes: int = 32
) -> ExactPosterior:
    """Grid posterior of ``(mu, tau)`` for the logit-normal model.

    Returns
    -------
    ExactPosterior
        Parameters ``mu`` (logit scale), ``pooled_rate`` (= expit(mu)) and ``tau``; grid
        coordinates ``("mu", "tau")``.
    """
    events = np.asarray(events, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    return mu_tau_posterior(
        "logit_normal",
        logit_normal_log_joint(events, n, priors, nodes),
        events,
        n,
        priors,
        n_fine=n_fine,
        n_coarse=n_coarse,
        drop=drop,
    )


def mu_tau_posterior(
    name: str, log_joint, events, n, priors, *, n_fine: int, n_coarse: int, drop: float
) -> ExactPosterior:
    """Grid posterior of ``(mu, tau)`` from ``log_joint`` (any model whose hyperparameters are a
    logit-scale centre ``mu`` and a spread ``tau`` with priors ``priors.mu``, ``priors.tau``):
    the grid starts around the pooled logit of the counts and stays inside :data:`LIMITS` and the
    priors' supports. Parameters ``mu``, ``pooled_rate`` (= expit(mu)) and ``tau``."""
    centre = float(logit((events.sum() + 0.5) / (n.sum() + 1.0)))
    mu_lo, mu_hi = priors.mu.bounds()
    tau_lo, tau_hi = priors.tau.bounds()
    limits = (
        max(LIMITS[0], mu_lo),
        min(LIMITS[1], mu_hi),
        max(LIMITS[2], tau_lo),
        min(LIMITS[3], tau_hi),
    )
    box = [centre - 3.0, centre + 3.0, 0.0, 3.0]
    grid = adaptive_grid(
        log_joint,
        box,
        limits,
        names=("mu", "tau"),
        n_coarse=n_coarse,
        n_fine=n_fine,
        drop=drop,
    )
    params = {
        "mu": Parameter(0, lambda m: m),
        "pooled_rate": Parameter(0, expit),
        "tau": Parameter(1, lambda t: t),
    }
    return ExactPosterior(name, grid, params)
