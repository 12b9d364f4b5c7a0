"""Logit-normal random-effects model for response rates (the Bayesian GLMM).

Model (non-centred)::

    z_i ~ Normal(0, 1),  logit theta_i = mu + tau z_i      (i.e. logit theta_i ~ Normal(mu, tau))
    y_i ~ Binomial(n_i, theta_i)
    mu ~ Normal(0, 2),  tau ~ HalfNormal(1)                 (defaults, see LogitNormalPriors)

This is the random-intercept logistic model that R ``metafor::rma.glmm(measure="PLO")`` fits by
maximum likelihood (Stijnen, Hamza & Ozdemir 2010, Stat Med 29:3046); its pooled estimate
``expit(mu_hat)`` is the *median* study rate, reported here as ``pooled_rate = expit(mu)``.
``mean_rate = E[expit(mu + tau Z)]`` is the population mean rate (Gauss-Hermite), which is what
the beta-binomial's ``mu`` estimates. The non-centred form avoids the funnel between ``tau`` and
the study effects when few studies inform ``tau``.

``method="exact"`` integrates each study effect by adaptive Gauss-Hermite quadrature inside a 2-D
grid over ``(mu, tau)`` (:mod:`bayes_anlo.exact.logit_normal`) and draws study effects from their
exact conditional posteriors.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from bayes_anlo.exact.logit_normal import logit_normal_exact
from bayes_anlo.exact.special_functions import (
    logit_normal_marginal,
    logit_normal_moments,
    sample_logit_normal_conditional,
)
from bayes_anlo.lazy_import import lazy_module
from bayes_anlo.models.binary import BinaryModel, Prepared, dataset, prepare_binary
from bayes_anlo.models.priors import LogitNormalPriors

pm = lazy_module("pymc")


_CD = ("chain", "draw")
_CDU = ("chain", "draw", "unit")


def build_logit_normal(data, priors: LogitNormalPriors | None = None) -> pm.Model:
    """PyMC logit-normal model, non-centred (pure function).

    Free variables ``mu``, ``tau``, ``z`` (dim ``unit``); deterministics ``study_rate`` (dim
    ``unit``) and ``pooled_rate`` (= expit(mu)); data ``n`` and observed ``events``.
    """
    priors = priors or LogitNormalPriors()
    prep = data if isinstance(data, Prepared) else prepare_binary(data)
    with pm.Model(coords={"unit": prep.labels}) as model:
        n = pm.Data("n", prep.n, dims="unit")
        events_obs = pm.Data(
            "events_obs", prep.events, dims="unit"
        )  # swappable (compiled-model reuse)
        mu = priors.to_pymc("mu")
        tau = priors.to_pymc("tau")
        z = pm.Normal("z", 0.0, 1.0, dims="unit")
        eta = mu + tau * z
        pm.Deterministic("pooled_rate", pm.math.invlogit(mu))
        pm.Deterministic("study_rate", pm.math.invlogit(eta), dims="unit")
        pm.Binomial("events", n=n, logit_p=eta, observed=events_obs, dims="unit")
    return model


class LogitNormal(BinaryModel):
    """Logit-normal random-effects model: ``logit theta_i ~ Normal(mu, tau)``,
    ``y_i ~ Binomial(n_i, theta_i)``.

    Default priors (:class:`~bayes_anlo.models.priors.LogitNormalPriors`):

    * ``mu ~ Normal(0, 2)`` (logit of the median study rate; 95% prior interval of expit(mu)
      0.02 to 0.98, nearly flat where data inform it, so results sit close to the GLMM).
    * ``tau ~ HalfNormal(1)``: half-normal heterogeneity prior (Roever et al. 2021, Res Synth
      Methods 12:448, recommend scales 0.5-1 on log-odds scales); prior median 0.67.

    Alternatives: ``tau_narrow`` (HalfNormal(0.5)), ``tau_wide`` (HalfCauchy(1)), ``uniform_rate``
    (mu ~ Logistic(0, 1), uniform on expit(mu)).

    Posterior variables: ``mu``, ``tau``, ``z`` (dim ``unit``), ``pooled_rate`` (= expit(mu),
    comparable to ``rma.glmm(measure="PLO")``), ``mean_rate`` (= E expit(mu + tau Z)),
    ``predictive_rate`` (expit(mu + tau z_new)), ``study_rate`` (dim ``unit``).
    ``log_likelihood`` holds the study-level marginal likelihood (effect integrated out by
    adaptive Gauss-Hermite), and the posterior predictive draws a new study effect per unit.
    """

    name = "logit_normal"
    priors_class = LogitNormalPriors
    methods = ("nuts", "exact")

    def _build(self, prep):
        return build_logit_normal(prep, self.priors)

    def exact_posterior(self, data):
        """The grid posterior of ``(mu, tau)`` for ``data``."""
        prep = self._prepare(data)
        return logit_normal_exact(prep.events, prep.n, self.priors)

    def _exact(self, prep, chains, draws, rng):
        exact = logit_normal_exact(prep.events, prep.n, self.priors)
        mu, tau = exact.sample(chains * draws, rng)
        tau = np.maximum(tau, 1e-12)
        eta = sample_logit_normal_conditional(prep.events, prep.n, mu[:, None], tau[:, None], rng)
        z = (eta - mu[:, None]) / tau[:, None]
        shape = (chains, draws)
        post = dataset(
            {
                "mu": (_CD, mu.reshape(shape)),
                "tau": (_CD, tau.reshape(shape)),
                "z": (_CDU, z.reshape(shape + (prep.units,))),
            },
            {"chain": np.arange(chains), "draw": np.arange(draws), "unit": prep.labels},
        )
        return post, exact.to_dict()

    def _prior_free_draws(self, prep, draws, rng):
        return {
            "mu": ((), self.priors.mu.rvs(draws, rng)),
            "tau": ((), self.priors.tau.rvs(draws, rng)),
            "z": (("unit",), rng.standard_normal((draws, prep.units))),
        }

    def _derive(self, post, prep, rng, conditional):
        mu = post["mu"].values
        tau = post["tau"].values
        out = post.copy()
        out["pooled_rate"] = (_CD, expit(mu))
        out["mean_rate"] = (_CD, logit_normal_moments(mu, tau)[0])
        out["predictive_rate"] = (_CD, expit(mu + tau * rng.standard_normal(mu.shape)))
        out["study_rate"] = (_CDU, expit(mu[..., None] + tau[..., None] * post["z"].values))
        return out.assign_coords(unit=prep.labels)

    def _log_likelihood(self, post, prep):
        mu = post["mu"].values[..., None]
        tau = np.maximum(post["tau"].values[..., None], 1e-12)
        return logit_normal_marginal(prep.events, prep.n, mu, tau)

    def _replicate(self, post, prep, rng):
        mu = post["mu"].values[..., None]
        tau = post["tau"].values[..., None]
        z = rng.standard_normal(mu.shape[:-1] + (prep.units,))
        return rng.binomial(prep.n, expit(mu + tau * z))

    @classmethod
    def replication_moments(cls, tree):
        post = tree["posterior"]
        m, v = logit_normal_moments(post["mu"].values, post["tau"].values)
        units = tree["constant_data"]["n"].size
        shape = m.shape + (units,)
        return np.broadcast_to(m[..., None], shape), np.broadcast_to(v[..., None], shape)
