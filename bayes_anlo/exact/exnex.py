"""Exact (quadrature) posterior of the EXNEX model's hyperparameters.

Model (:mod:`bayes_anlo.models.exnex`): ``y_j ~ Binomial(n_j, expit theta_j)`` with ``theta_j ~
w Normal(mu, tau) + (1 - w) Normal(m, s)``, ``mu ~ p_mu``, ``tau ~ p_tau``. Given ``(mu, tau)`` the
subtypes are independent, so each ``theta_j`` is integrated out under each component by adaptive
Gauss-Hermite quadrature (:func:`~bayes_anlo.exact.special_functions.logit_normal_marginal`) and
the two hyperparameters by a 2-D grid over ``(mu, tau)``, as for the logit-normal model
(:mod:`bayes_anlo.exact.logit_normal`)::

    log p_mu(mu) + log p_tau(tau) + sum_j log(w L_EX,j(mu, tau) + (1 - w) L_NEX,j)

Subtype effects given ``(mu, tau)`` are drawn exactly: the component with probability
``P(EX_j | y_j, mu, tau)``, then ``theta_j`` from that component's conditional posterior
(:func:`~bayes_anlo.exact.special_functions.sample_logit_normal_conditional`).

One EX component only: the model's fast path there. With ``K >= 2`` EX components (or one) the
exact posterior comes from enumerating the assignments of subtypes to components,
:mod:`bayes_anlo.exact.exnex_components` (one fixed (mu, tau) grid shared by all components),
which the tests check against this engine where both apply. With several studies per subtype the
model passes each subtype's pooled count (its sufficient statistic when the studies share the
subtype's rate).
"""

from __future__ import annotations

import numpy as np

from bayes_anlo.exact.logit_normal import mu_tau_posterior
from bayes_anlo.exact.posterior import ExactPosterior
from bayes_anlo.exact.special_functions import (
    logit_normal_marginal,
    sample_logit_normal_conditional,
)


def exnex_log_joint(events, n, priors, weight_ex: float, nodes: int = 32):
    """``(mu, tau) -> log joint`` of the EXNEX model (subtype effects and indicators integrated
    out), vectorised over arrays."""
    pairs, counts = np.unique(np.column_stack([events, n]), axis=0, return_counts=True)
    nex = priors.nex
    log_w, log_1w = np.log(weight_ex), np.log1p(-weight_ex)
    nex_terms = [
        log_1w + float(logit_normal_marginal(yi, ni, nex.mu, nex.sigma, nodes=nodes))
        for yi, ni in pairs
    ]

    def log_joint(mu, tau):
        out = priors.mu.logpdf(mu) + priors.tau.logpdf(tau)
        for (yi, ni), ci, other in zip(pairs, counts, nex_terms, strict=True):
            ex = log_w + logit_normal_marginal(yi, ni, mu, tau, nodes=nodes)
            out = out + ci * np.logaddexp(ex, other)
        return out

    return log_joint


def exnex_exact(
    events,
    n,
    priors,
    weight_ex: float,
    *,
    n_fine: int = 100,
    n_coarse: int = 40,
    drop: float = 25.0,
    nodes: int = 32,
) -> ExactPosterior:
    """Grid posterior of ``(mu, tau)`` for the EXNEX model (parameters ``mu``, ``pooled_rate`` =
    expit(mu), ``tau``; grid coordinates ``("mu", "tau")``)."""
    events = np.asarray(events, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    return mu_tau_posterior(
        "exnex",
        exnex_log_joint(events, n, priors, weight_ex, nodes),
        events,
        n,
        priors,
        n_fine=n_fine,
        n_coarse=n_coarse,
        drop=drop,
    )


def sample_exnex_effects(events, n, mu, tau, nex, prob_ex, rng: np.random.Generator):
    """Subtype effects ``theta`` (draw x subtype) given hyperparameter draws ``mu``, ``tau``
    (shape ``(draws, 1)``) and ``prob_ex`` = ``P(EX_j | y_j, mu, tau)`` (draw x subtype)."""
    exchangeable = rng.random(prob_ex.shape) < prob_ex
    theta_ex = sample_logit_normal_conditional(events, n, mu, tau, rng)
    theta_nex = sample_logit_normal_conditional(
        events, n, np.full_like(theta_ex, nex.mu), np.full_like(theta_ex, nex.sigma), rng
    )
    return np.where(exchangeable, theta_ex, theta_nex)
