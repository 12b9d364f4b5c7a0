"""EXNEX: exchangeability-nonexchangeability model for response rates across subtypes.

Model (Neuenschwander, Wandel, Roychoudhury & Bailey 2016, Pharm Stat 15:123, section 2), one
exchangeable (EX) component as implemented here::

    theta_j = logit p_j,  j = 1..J subtypes (one row of the data per subtype)
    with prior probability w:      theta_j ~ Normal(mu, tau)      (EX: borrows across subtypes)
    with prior probability 1 - w:  theta_j ~ Normal(m, s)         (NEX: the subtype on its own)
    y_j ~ Binomial(n_j, p_j)
    mu ~ Normal(-1.735, 2.617),  tau ~ HalfNormal(1),  (m, s) = (-1.734, 2.795)   (ExnexPriors)

The mixture indicator is marginalised in the graph: the prior density of ``theta_j`` is
``log(w N(theta_j | mu, tau) + (1 - w) N(theta_j | m, s))`` (a logsumexp), so NUTS samples only
``mu``, ``tau`` and ``theta`` (centred: a mixture prior has no non-centred form).

``method="exact"`` (what ``auto`` takes) integrates each ``theta_j`` out under both components
and ``(mu, tau)`` on a 2-D grid, then draws the subtype effects exactly
(:mod:`bayes_anlo.exact.exnex`); NUTS on the graph is the check.

The posterior probability that subtype j is exchangeable is the posterior mean over draws of
``P(EX_j | y_j, mu, tau) = w L_EX / (w L_EX + (1 - w) L_NEX)``, with ``L_EX`` and ``L_NEX`` the
subtype's marginal likelihoods under each component (``theta_j`` integrated out by adaptive
Gauss-Hermite, :func:`~bayes_anlo.exact.special_functions.logit_normal_marginal`); given ``mu``
and ``tau`` subtype j is independent of the others, so this average is the exact posterior
probability with less Monte Carlo noise than averaging the indicator.

The default priors are those of the paper's sarcoma example as R bhmbasket's vignette
"reproduceExNex" sets them (mu: mean -1.735, precision 0.146; NEX: mean -1.734, precision 0.128;
tau HalfNormal(1); the paper's second EX component there has weight 0 and so is left out).
Several EX components and subtype-specific NEX priors are not implemented yet.

Posterior variables: ``mu``, ``tau``, ``theta`` (dim ``unit``), ``study_rate`` (= expit(theta),
the subtype rates), ``prob_exchangeable`` (dim ``unit``, per draw, see above), ``pooled_rate``
(= expit(mu)), ``predictive_rate`` (a new subtype drawn from the EX component). ``log_likelihood``
is the subtype-level marginal ``log(w L_EX + (1 - w) L_NEX)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import xarray as xr
from scipy.special import expit, logsumexp

from bayes_anlo.exact.exnex import exnex_exact, sample_exnex_effects
from bayes_anlo.exact.special_functions import logit_normal_marginal, logit_normal_moments
from bayes_anlo.lazy_import import lazy_module
from bayes_anlo.models.binary import BinaryModel, Prepared, dataset, prepare_binary
from bayes_anlo.models.contract import DEFAULT_SAMPLER
from bayes_anlo.models.options import ExnexOptions
from bayes_anlo.models.priors import Distribution, HalfNormal, Normal, PriorSet
from bayes_anlo.models.sampling import SamplerSettings

pm = lazy_module("pymc")

_CD = ("chain", "draw")
_CDU = ("chain", "draw", "unit")


@dataclass(frozen=True)
class ExnexPriors(PriorSet):
    """Priors of the EXNEX model (defaults: the sarcoma example of Neuenschwander et al. 2016,
    Appendix 5.3, as bhmbasket's vignette "reproduceExNex" states them).

    * ``mu ~ Normal(-1.735, 2.617)``: EX mean logit rate (precision 0.146; expit(-1.735) = 0.15).
    * ``tau ~ HalfNormal(1)``: EX between-subtype SD of logit rates.
    * ``nex ~ Normal(-1.734, 2.795)``: the prior of a non-exchangeable subtype's logit rate
      (precision 0.128), the same for every subtype.
    """

    mu: Distribution = Normal(-1.735, 0.146**-0.5)
    tau: Distribution = HalfNormal(1.0)
    nex: Distribution = Normal(-1.734, 0.128**-0.5)
    SUPPORT: ClassVar[dict[str, str]] = {"mu": "real", "tau": "positive", "nex": "real"}
    MEANING: ClassVar[dict[str, str]] = {
        "mu": "mean logit rate of the exchangeable subtypes",
        "tau": "between-subtype SD of logit rates in the exchangeable component",
        "nex": "logit rate of a non-exchangeable subtype",
    }

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.nex, Normal):
            raise ValueError(f"the NEX prior must be a Normal, not {self.nex.describe()}")

    @classmethod
    def alternatives(cls) -> dict[str, ExnexPriors]:
        """``tau_narrow``: tau ~ HalfNormal(0.5) (less heterogeneity among EX subtypes)."""
        return {"tau_narrow": cls(tau=HalfNormal(0.5))}


def _check_weight(weight_ex: float) -> float:
    weight_ex = float(weight_ex)
    if not 0.0 < weight_ex < 1.0:
        raise ValueError(f"weight_ex is a probability in (0, 1), not {weight_ex:g}")
    return weight_ex


def build_exnex(data, priors: ExnexPriors | None = None, weight_ex: float = 0.5) -> pm.Model:
    """PyMC EXNEX model with the mixture indicator marginalised (pure function).

    Free variables ``mu``, ``tau``, ``theta`` (dim ``unit``); deterministics ``study_rate`` and
    ``pooled_rate``; data ``n``, ``events_obs``, ``log_weights`` (log w, log(1 - w)) and the prior
    parameters (``prior_<field>_<parameter>``), all swappable in a compiled graph.
    """
    import pytensor.tensor as pt

    priors = priors or ExnexPriors()
    weight_ex = _check_weight(weight_ex)
    prep = data if isinstance(data, Prepared) else prepare_binary(data)
    with pm.Model(coords={"unit": prep.labels}) as model:
        n = pm.Data("n", prep.n, dims="unit")
        events_obs = pm.Data("events_obs", prep.events, dims="unit")
        log_w = pm.Data("log_weights", np.log([weight_ex, 1.0 - weight_ex]))
        nex_mu = pm.Data("prior_nex_mu", priors.nex.mu)
        nex_sigma = pm.Data("prior_nex_sigma", priors.nex.sigma)
        mu = priors.to_pymc("mu")
        tau = priors.to_pymc("tau")
        theta = pm.Flat("theta", dims="unit")
        ex = pm.logp(pm.Normal.dist(mu, tau), theta) + log_w[0]
        nex = pm.logp(pm.Normal.dist(nex_mu, nex_sigma), theta) + log_w[1]
        pm.Potential("exnex_prior", pt.logaddexp(ex, nex).sum())
        pm.Deterministic("pooled_rate", pm.math.invlogit(mu))
        pm.Deterministic("study_rate", pm.math.invlogit(theta), dims="unit")
        pm.Binomial("events", n=n, logit_p=theta, observed=events_obs, dims="unit")
    return model


def component_log_marginals(y, n, mu, tau, nex: Normal) -> tuple[np.ndarray, np.ndarray]:
    """``log L_EX`` and ``log L_NEX`` of each subtype: ``log Int Bin(y | n, expit t) N(t | .) dt``
    under the EX component ``N(mu, tau)`` and under the NEX prior (arrays broadcast)."""
    ex = logit_normal_marginal(y, n, mu, tau)
    nex_ll = logit_normal_marginal(y, n, nex.mu, nex.sigma)
    return ex, np.broadcast_to(nex_ll, ex.shape)


def prob_exchangeable(y, n, mu, tau, nex: Normal, weight_ex: float) -> np.ndarray:
    """``P(EX_j | y_j, mu, tau)`` per draw and subtype (mu, tau shaped ``(..., 1)``)."""
    ex, nex_ll = component_log_marginals(y, n, mu, tau, nex)
    a = np.log(weight_ex) + ex
    b = np.log1p(-weight_ex) + nex_ll
    return np.exp(a - np.logaddexp(a, b))


class Exnex(BinaryModel):
    """EXNEX model for response rates across subtypes (see the module docstring).

    Parameters
    ----------
    priors : ExnexPriors, dict or str, optional
    weight_ex : float
        Prior probability that a subtype is exchangeable (default 0.5, as in the paper's sarcoma
        example).
    method : {"auto", "nuts", "exact"}
        ``exact`` (what ``auto`` takes): a 2-D grid over ``(mu, tau)`` with the subtype effects
        integrated out (:mod:`bayes_anlo.exact.exnex`), then exact draws of the effects.
    sampler, thresholds : as for every binary model.
    """

    name = "exnex"
    priors_class = ExnexPriors
    methods = ("nuts", "exact")
    options_schema = ExnexOptions

    def __init__(
        self,
        priors=None,
        *,
        weight_ex: float = 0.5,
        method: str = "auto",
        sampler: SamplerSettings = DEFAULT_SAMPLER,
        thresholds: Sequence[float] = (),
    ):
        super().__init__(priors, method=method, sampler=sampler, thresholds=thresholds)
        self.weight_ex = _check_weight(weight_ex)

    def options(self) -> dict:
        return {"weight_ex": self.weight_ex}

    def structure_key(self, prep) -> tuple:
        # the weight is data in the graph: fits that differ only in it share a compilation
        return (type(self).__name__, self.priors.structure(), prep.units)

    def data_values(self, prep) -> dict[str, np.ndarray]:
        values = super().data_values(prep)
        values["log_weights"] = np.log([self.weight_ex, 1.0 - self.weight_ex])
        return values

    def _build(self, prep):
        return build_exnex(prep, self.priors, self.weight_ex)

    def exact_posterior(self, data):
        """The grid posterior of ``(mu, tau)`` for ``data``."""
        prep = self._prepare(data)
        return exnex_exact(prep.events, prep.n, self.priors, self.weight_ex)

    def _exact(self, prep, chains, draws, rng):
        exact = exnex_exact(prep.events, prep.n, self.priors, self.weight_ex)
        mu, tau = exact.sample(chains * draws, rng)
        tau = np.maximum(tau, 1e-12)
        nex = self.priors.nex
        p_ex = prob_exchangeable(
            prep.events, prep.n, mu[:, None], tau[:, None], nex, self.weight_ex
        )
        theta = sample_exnex_effects(prep.events, prep.n, mu[:, None], tau[:, None], nex, p_ex, rng)
        shape = (chains, draws)
        post = dataset(
            {
                "mu": (_CD, mu.reshape(shape)),
                "tau": (_CD, tau.reshape(shape)),
                "theta": (_CDU, theta.reshape(shape + (prep.units,))),
            },
            {"chain": np.arange(chains), "draw": np.arange(draws), "unit": prep.labels},
        )
        return post, exact.to_dict()

    def _prior_free_draws(self, prep, draws, rng):
        mu = self.priors.mu.rvs(draws, rng)
        tau = self.priors.tau.rvs(draws, rng)
        ex = rng.random((draws, prep.units)) < self.weight_ex
        z = rng.standard_normal((draws, prep.units))
        nex = self.priors.nex
        theta = np.where(ex, mu[:, None] + tau[:, None] * z, nex.mu + nex.sigma * z)
        return {"mu": ((), mu), "tau": ((), tau), "theta": (("unit",), theta)}

    def _derive(self, post, prep, rng, conditional):
        mu = post["mu"].values
        tau = np.maximum(post["tau"].values, 1e-12)
        theta = post["theta"].values
        out = post.copy()
        out["pooled_rate"] = (_CD, expit(mu))
        out["predictive_rate"] = (_CD, expit(mu + tau * rng.standard_normal(mu.shape)))
        out["study_rate"] = (_CDU, expit(theta))
        out["prob_exchangeable"] = (
            _CDU,
            prob_exchangeable(
                prep.events, prep.n, mu[..., None], tau[..., None], self.priors.nex, self.weight_ex
            ),
        )
        return out.assign_coords(unit=prep.labels)

    def _log_likelihood(self, post, prep):
        mu = post["mu"].values[..., None]
        tau = np.maximum(post["tau"].values[..., None], 1e-12)
        ex, nex = component_log_marginals(prep.events, prep.n, mu, tau, self.priors.nex)
        return logsumexp(
            np.stack([np.log(self.weight_ex) + ex, np.log1p(-self.weight_ex) + nex]), axis=0
        )

    def _replicate(self, post, prep, rng):
        mu = post["mu"].values[..., None]
        tau = post["tau"].values[..., None]
        shape = mu.shape[:-1] + (prep.units,)
        z = rng.standard_normal(shape)
        nex = self.priors.nex
        theta = np.where(rng.random(shape) < self.weight_ex, mu + tau * z, nex.mu + nex.sigma * z)
        return rng.binomial(prep.n, expit(theta))

    @classmethod
    def replication_moments(cls, tree: xr.DataTree):
        """Mean and variance of the mixture rate a subtype is replicated from: with weight w the
        EX logit-normal ``expit(N(mu, tau))``, else the NEX ``expit(N(m, s))``."""
        model = cls.from_tree(tree)
        post = tree["posterior"]
        units = tree["constant_data"]["n"].size
        m_ex, v_ex = logit_normal_moments(post["mu"].values, post["tau"].values)
        m_nex, v_nex = logit_normal_moments(model.priors.nex.mu, model.priors.nex.sigma)
        w = model.weight_ex
        mean = w * m_ex + (1 - w) * m_nex
        var = w * (v_ex + m_ex**2) + (1 - w) * (v_nex + m_nex**2) - mean**2
        shape = mean.shape + (units,)
        return np.broadcast_to(mean[..., None], shape), np.broadcast_to(var[..., None], shape)


def exchangeability_table(tree: xr.DataTree):
    """Per subtype: posterior probability of exchangeability and the rate's posterior mean,
    median and 95% interval. Columns ``unit, prob_exchangeable, mean, median, ci_low,
    ci_high``."""
    import pandas as pd

    post = tree["posterior"]
    rows = []
    for label in post["unit"].values:
        rate = post["study_rate"].sel(unit=label).values.ravel()
        rows.append(
            {
                "unit": str(label),
                "prob_exchangeable": float(post["prob_exchangeable"].sel(unit=label).mean()),
                "mean": float(rate.mean()),
                "median": float(np.median(rate)),
                "ci_low": float(np.quantile(rate, 0.025)),
                "ci_high": float(np.quantile(rate, 0.975)),
            }
        )
    return pd.DataFrame(rows)
