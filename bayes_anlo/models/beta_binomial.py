"""Beta-binomial random-effects model for response rates (and its complete-pooling limit).

Model (Gelman et al., *Bayesian Data Analysis*, 3rd ed., ch. 5.3, the rat-tumour example)::

    theta_i ~ Beta(mu kappa, (1 - mu) kappa)          study rates, i = 1..k
    y_i | theta_i ~ Binomial(n_i, theta_i)
    => y_i ~ BetaBinomial(n_i, mu kappa, (1 - mu) kappa)   (theta_i integrated out;
                                                           what NUTS samples)
    mu ~ Beta(1, 1),  kappa ~ LogNormal(3, 1.5)            (defaults, see BetaBinomialPriors)

``mu`` is the population mean rate (``pooled_rate``), ``kappa`` the concentration (larger = less
between-study variation) and ``icc = 1 / (1 + kappa)`` the intra-class correlation of responses
within a study (the overdispersion relative to the binomial: ``Var y_i = n_i mu (1 - mu)
(1 + (n_i - 1) icc)``). After sampling, each study rate is drawn exactly by conjugacy,
``theta_i | mu, kappa, y ~ Beta(mu kappa + y_i, (1 - mu) kappa + n_i - y_i)``, one draw per
posterior draw; ``predictive_rate ~ Beta(mu kappa, (1 - mu) kappa)`` is the rate of a new study.

``method="exact"`` computes the posterior of ``(mu, kappa)`` by grid quadrature
(:func:`bayes_anlo.exact.beta_binomial.beta_binomial_exact`) and returns iid draws.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayes_anlo.exact.beta_binomial import beta_binomial_exact, hyperparameter_draws, rate_draws
from bayes_anlo.exact.conjugate import beta_draws, beta_update
from bayes_anlo.exact.special_functions import betabinom_logpmf, binom_logpmf_logit
from bayes_anlo.lazy_import import lazy_module
from bayes_anlo.models.binary import BinaryModel, Prepared, dataset, prepare_binary
from bayes_anlo.models.priors import Beta, BetaBinomialPriors, CompletePoolingPriors

pm = lazy_module("pymc")


_CD = ("chain", "draw")
_CDU = ("chain", "draw", "unit")


def build_beta_binomial(data, priors: BetaBinomialPriors | None = None) -> pm.Model:
    """PyMC beta-binomial model with the study rates integrated out (pure function).

    Free variables ``mu``, ``kappa``; deterministics ``pooled_rate`` (= mu) and ``icc``; data
    ``n`` and observed ``events``, dim ``unit`` (coords: ``data.labels``).
    """
    priors = priors or BetaBinomialPriors()
    prep = data if isinstance(data, Prepared) else prepare_binary(data)
    with pm.Model(coords={"unit": prep.labels}) as model:
        n = pm.Data("n", prep.n, dims="unit")
        events_obs = pm.Data(
            "events_obs", prep.events, dims="unit"
        )  # swappable (compiled-model reuse)
        mu = priors.to_pymc("mu")
        kappa = priors.to_pymc("kappa")
        pm.Deterministic("pooled_rate", mu)
        pm.Deterministic("icc", 1.0 / (1.0 + kappa))
        pm.BetaBinomial(
            "events",
            n=n,
            alpha=mu * kappa,
            beta=(1.0 - mu) * kappa,
            observed=events_obs,
            dims="unit",
        )
    return model


def _ab(post: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    mu = post["mu"].values
    kappa = post["kappa"].values
    return mu * kappa, (1.0 - mu) * kappa


class BetaBinomial(BinaryModel):
    """Beta-binomial model of response rates across studies.

    Likelihood ``y_i ~ BetaBinomial(n_i, mu kappa, (1 - mu) kappa)`` (study rates
    ``theta_i ~ Beta(mu kappa, (1 - mu) kappa)`` integrated out, recovered by conjugacy).

    Default priors (:class:`~bayes_anlo.models.priors.BetaBinomialPriors`):

    * ``mu ~ Beta(1, 1)``: uniform population mean rate (Gelman et al., BDA 3rd ed., ch. 5.3).
    * ``kappa ~ LogNormal(3, 1.5)``: a proper stand-in for BDA's improper
      ``p(alpha, beta) ~ (alpha + beta)^(-5/2)``; median kappa 20 (ICC 0.047, between-study SD 0.087
      at a 20% rate), 95% prior interval 1.1 to 380 (ICC 0.003 to 0.48), from near-homogeneity to
      extreme heterogeneity; the Gaussian tail on log kappa keeps posterior moments finite when
      the data cannot rule out homogeneity.

    Alternatives (``BetaBinomialPriors.alternatives()``): ``bda_proper`` (kappa ~ Pareto(0.5, 1),
    BDA's prior made proper by kappa >= 1), ``jeffreys_mean`` (mu ~ Beta(0.5, 0.5)),
    ``low_heterogeneity`` (kappa ~ LogNormal(4.6, 1)), ``high_heterogeneity`` (kappa ~
    LogNormal(1.6, 1)).

    Posterior variables: ``mu``, ``kappa``, ``pooled_rate`` (= mu), ``icc`` (= 1/(1 + kappa)),
    ``predictive_rate`` (a new study's rate), ``study_rate`` (dim ``unit``, shrunken rates).

    Parameters
    ----------
    priors : BetaBinomialPriors or dict, optional
    method : {"nuts", "exact"}
        ``"exact"``: grid quadrature over (logit mu, log kappa), iid draws (see
        :mod:`bayes_anlo.exact.beta_binomial`).
    sampler : SamplerSettings
        Chains and draws (also the shape of exact draws).
    thresholds : sequence of float
        Rates for ``P(rate > t)`` (:func:`bayes_anlo.models.exceedance`).
    """

    name = "beta_binomial"
    priors_class = BetaBinomialPriors
    methods = ("nuts", "exact")

    def _build(self, prep):
        return build_beta_binomial(prep, self.priors)

    def exact_posterior(self, data):
        """The grid posterior (:class:`~bayes_anlo.exact.posterior.ExactPosterior`) for ``data``."""
        prep = self._prepare(data)
        return beta_binomial_exact(prep.events, prep.n, self.priors)

    def _exact(self, prep, chains, draws, rng):
        exact = beta_binomial_exact(prep.events, prep.n, self.priors)
        mu, kappa = hyperparameter_draws(exact, chains, draws, rng)
        post = dataset(
            {"mu": (_CD, mu), "kappa": (_CD, kappa)},
            {"chain": np.arange(chains), "draw": np.arange(draws)},
        )
        return post, exact.to_dict()

    def _prior_free_draws(self, prep, draws, rng):
        return {
            "mu": ((), self.priors.mu.rvs(draws, rng)),
            "kappa": ((), self.priors.kappa.rvs(draws, rng)),
        }

    def _derive(self, post, prep, rng, conditional):
        mu, kappa = post["mu"].values, post["kappa"].values
        out = post.copy()
        out["pooled_rate"] = (_CD, mu)
        out["icc"] = (_CD, 1.0 / (1.0 + kappa))
        predictive, study = rate_draws(
            mu, kappa, prep.n, rng, events=prep.events if conditional else None
        )
        out["predictive_rate"] = (_CD, predictive)
        out["study_rate"] = (_CDU, study)
        return out.assign_coords(unit=prep.labels)

    def _log_likelihood(self, post, prep):
        a, b = _ab(post)
        return betabinom_logpmf(prep.events, prep.n, a[..., None], b[..., None])

    def _replicate(self, post, prep, rng):
        a, b = _ab(post)
        theta = beta_draws(rng, a[..., None], b[..., None], size=a.shape + (prep.units,))
        return rng.binomial(prep.n, theta)

    @classmethod
    def replication_moments(cls, tree):
        post = tree["posterior"]
        mu = post["mu"].values[..., None]
        kappa = post["kappa"].values[..., None]
        units = tree["constant_data"]["n"].size
        m = np.broadcast_to(mu, mu.shape[:-1] + (units,))
        return m, m * (1.0 - m) / (1.0 + kappa)


def build_complete_pooling(data, priors: CompletePoolingPriors | None = None) -> pm.Model:
    """PyMC complete-pooling model: ``y_i ~ Binomial(n_i, p)``, one common rate ``p``."""
    priors = priors or CompletePoolingPriors()
    prep = data if isinstance(data, Prepared) else prepare_binary(data)
    with pm.Model(coords={"unit": prep.labels}) as model:
        n = pm.Data("n", prep.n, dims="unit")
        events_obs = pm.Data(
            "events_obs", prep.events, dims="unit"
        )  # swappable (compiled-model reuse)
        p = priors.to_pymc("p")
        pm.Deterministic("pooled_rate", p)
        pm.Binomial("events", n=n, p=p, observed=events_obs, dims="unit")
    return model


class CompletePooling(BinaryModel):
    """Complete pooling: every study has the same rate (the beta-binomial with kappa -> infinity).

    Likelihood ``y_i ~ Binomial(n_i, p)``; prior ``p ~ Beta(1, 1)`` (uniform; alternative
    ``jeffreys``: Beta(0.5, 0.5)). Conjugate: ``p | y ~ Beta(1 + sum y, 1 + sum (n - y))``, which
    ``method="exact"`` draws from directly. Mainly a foil for the posterior predictive checks: on
    overdispersed studies its dispersion statistic is flagged.

    Posterior variables: ``p``, ``pooled_rate`` = ``predictive_rate`` = p, ``study_rate`` = p for
    every unit. The posterior predictive replicates ``y_i ~ Binomial(n_i, p)``.
    """

    name = "complete_pooling"
    priors_class = CompletePoolingPriors
    methods = ("nuts", "exact")

    def _build(self, prep):
        return build_complete_pooling(prep, self.priors)

    def exact_applies(self, prep) -> bool:
        """Conjugacy needs a Beta prior on ``p``."""
        return isinstance(self.priors.p, Beta)

    def _exact(self, prep, chains, draws, rng):
        if not isinstance(self.priors.p, Beta):
            raise ValueError("the exact complete-pooling posterior needs a Beta prior on p")
        post = beta_update(prep.events, prep.n, self.priors.p.alpha, self.priors.p.beta)
        p = post.sample((chains, draws), rng)
        summary = {"p": {"alpha": post.alpha, "beta": post.beta, "mean": post.mean()}}
        return dataset(
            {"p": (_CD, p)}, {"chain": np.arange(chains), "draw": np.arange(draws)}
        ), summary

    def _prior_free_draws(self, prep, draws, rng):
        return {"p": ((), self.priors.p.rvs(draws, rng))}

    def _derive(self, post, prep, rng, conditional):
        p = post["p"].values
        out = post.copy()
        out["pooled_rate"] = (_CD, p)
        out["predictive_rate"] = (_CD, p)
        out["study_rate"] = (_CDU, np.repeat(p[..., None], prep.units, axis=-1))
        return out.assign_coords(unit=prep.labels)

    def _log_likelihood(self, post, prep):
        p = post["p"].values[..., None]
        with np.errstate(divide="ignore"):
            return binom_logpmf_logit(prep.events, prep.n, np.log(p) - np.log1p(-p))

    def _replicate(self, post, prep, rng):
        return rng.binomial(
            prep.n, post["p"].values[..., None], size=post["p"].shape + (prep.units,)
        )

    @classmethod
    def replication_moments(cls, tree):
        p = tree["posterior"]["p"].values[..., None]
        units = tree["constant_data"]["n"].size
        m = np.broadcast_to(p, p.shape[:-1] + (units,))
        return m, np.zeros_like(m)
