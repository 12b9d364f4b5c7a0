"""Nested (overall -> subgroup -> study) model for response rates.

Subgroups are histological subtypes, drugs or treatment lines (``by=`` names the column). Model::

    logit mu_g = logit mu + sigma_subgroup z_g,   z_g ~ Normal(0, 1)        subgroup means, g = 1..G
    within = "beta_binomial":  y_i ~ BetaBinomial(n_i, mu_g[i] kappa, (1 - mu_g[i]) kappa)
    within = "binomial":       y_i ~ Binomial(n_i, mu_g[i])
    mu ~ Beta(1, 1),  sigma_subgroup ~ HalfNormal(1),  kappa ~ LogNormal(3, 1.5)   (defaults)

Subgroup means are partially pooled toward the overall rate on the logit scale (non-centred, so
the funnel between ``sigma_subgroup`` and ``z_g`` does not trouble NUTS with few subgroups);
studies within a subgroup are beta-binomial around their subgroup mean, with one concentration
``kappa`` shared by all subgroups; study rates are integrated out and recovered by conjugacy
(``theta_i | ... ~ Beta(mu_g kappa + y_i, (1 - mu_g) kappa + n_i - y_i)``).

Identifiability (what was chosen, and why)
-------------------------------------------
Between-subgroup variation (``sigma_subgroup``) and within-subgroup variation (``kappa``) are
separated only by subgroups holding several studies. Hence:

* ``kappa`` is *shared* across subgroups, so subgroups with one study borrow the within-subgroup
  variation learnt from the others (a per-subgroup kappa would be unidentified for them);
* with ``within="auto"`` (default), if *every* subgroup has a single row (the sarcoma subtype
  table: one study, one row per subtype) the within level is dropped (``within="binomial"``): the
  row's rate *is* the subgroup rate, and the model is the logit-normal model over subgroups. A
  beta-binomial level there would be identified by the prior alone and only widen every interval
  in a way the data cannot check. Otherwise ``within="beta_binomial"``;
* forcing ``within="beta_binomial"`` with single-row subgroups only is allowed, with a warning;
* at least two subgroups are required (with one, use :class:`~bayes_anlo.models.BetaBinomial`).

``method="exact"`` gives iid draws from a quadrature posterior for every configuration: with a
beta-binomial within level, a 3-D grid over ``(logit mu, sigma_subgroup, log kappa)`` with the
subgroup effects integrated by adaptive Gauss-Hermite (:mod:`bayes_anlo.exact.nested`); with a
binomial one, the logit-normal model over subgroups (subgroup counts pooled, which is exact for a
binomial within level), with the Beta prior on ``mu`` carried to the logit scale: grid quadrature
over ``(logit mu, sigma_subgroup)`` as in :mod:`bayes_anlo.exact.logit_normal`.

Replication (posterior predictive) and log-likelihood draw afresh / integrate out the lowest random
level: a new study in the same subgroup (beta-binomial within), or a new subgroup when every
subgroup is a single row (binomial within; log-likelihood by adaptive Gauss-Hermite over the
subgroup effect); with forced ``within="binomial"`` and shared subgroups, both are conditional on
the subgroup rate.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
from scipy.special import expit, log_expit, logit

from bayes_anlo.data.binary import BinaryData
from bayes_anlo.errors import InputError
from bayes_anlo.exact.logit_normal import logit_normal_exact
from bayes_anlo.exact.nested import NestedExactPosterior, nested_beta_binomial_exact
from bayes_anlo.exact.posterior import ExactPosterior, Parameter
from bayes_anlo.exact.special_functions import (
    betabinom_logpmf,
    binom_logpmf_logit,
    log_binom_coef,
    logit_normal_marginal,
    logit_normal_moments,
    sample_logit_normal_conditional,
)
from bayes_anlo.lazy_import import lazy_module
from bayes_anlo.models.binary import DEFAULT_SAMPLER, BinaryModel, Prepared, dataset, prepare_binary
from bayes_anlo.models.options import NestedOptions
from bayes_anlo.models.priors import NestedBetaBinomialPriors
from bayes_anlo.models.sampling import SamplerSettings

pm = lazy_module("pymc")


_CD = ("chain", "draw")
_CDU = ("chain", "draw", "unit")
_CDG = ("chain", "draw", "subgroup")
WITHIN = ("auto", "beta_binomial", "binomial")


def prepare_nested(data, by: str = "subgroup") -> Prepared:
    """Binary data plus the subgroup index (``index["subgroup"]``, coords ``subgroup``)."""
    if isinstance(data, Prepared):
        return data
    prep = prepare_binary(data)
    if by not in data.table.columns:
        raise InputError(
            f"no column {by!r} to nest by (columns: {', '.join(data.table.columns)})",
            file=data.source,
        )
    codes, levels = data.group_index(by)
    if len(levels) < 2:
        raise InputError(
            f"the nested model needs at least two levels of {by!r}, found {levels}; "
            "use the beta-binomial model for one group",
            file=data.source,
        )
    levels = [str(v) if str(v) != "" else "(blank)" for v in levels]
    return Prepared(
        prep.data,
        prep.outcome,
        prep.labels,
        prep.events,
        prep.n,
        {"unit": prep.labels, "subgroup": levels},
        {"subgroup": codes},
    )


def resolve_within(prep: Prepared, within: str, warn: bool = True) -> str:
    """``"auto"`` -> ``"binomial"`` when every subgroup has one row, else ``"beta_binomial"``."""
    if within not in WITHIN:
        raise ValueError(f"within must be one of {', '.join(WITHIN)}, not {within!r}")
    singletons = bool(np.all(np.bincount(prep.index["subgroup"]) == 1))
    if within == "auto":
        return "binomial" if singletons else "beta_binomial"
    if within == "beta_binomial" and singletons and warn:
        warnings.warn(
            "every subgroup has a single row: kappa (within) and sigma_subgroup (between) "
            "are then separated by their priors only",
            UserWarning,
            stacklevel=3,
        )
    return within


def build_nested_beta_binomial(
    data: BinaryData | Prepared,
    priors: NestedBetaBinomialPriors | None = None,
    *,
    by: str = "subgroup",
    within: str = "auto",
) -> pm.Model:
    """PyMC nested model (pure function); see the module docstring.

    Free variables ``mu``, ``sigma_subgroup``, ``z_subgroup`` (dim ``subgroup``) and, with a
    beta-binomial within level, ``kappa``; deterministics ``pooled_rate`` (= mu),
    ``subgroup_rate`` (dim ``subgroup``) and ``icc``.
    """
    priors = priors or NestedBetaBinomialPriors()
    prep = prepare_nested(data, by)
    within = resolve_within(prep, within)
    idx = prep.index["subgroup"]
    with pm.Model(coords={"unit": prep.labels, "subgroup": prep.coords["subgroup"]}) as model:
        n = pm.Data("n", prep.n, dims="unit")
        events_obs = pm.Data(
            "events_obs", prep.events, dims="unit"
        )  # swappable (compiled-model reuse)
        mu = priors.to_pymc("mu")
        sigma = priors.to_pymc("sigma_subgroup")
        z = pm.Normal("z_subgroup", 0.0, 1.0, dims="subgroup")
        logit_g = pm.math.logit(mu) + sigma * z
        rate_g = pm.Deterministic("subgroup_rate", pm.math.invlogit(logit_g), dims="subgroup")
        pm.Deterministic("pooled_rate", mu)
        if within == "beta_binomial":
            kappa = priors.to_pymc("kappa")
            pm.Deterministic("icc", 1.0 / (1.0 + kappa))
            pm.BetaBinomial(
                "events",
                n=n,
                alpha=rate_g[idx] * kappa,
                beta=(1.0 - rate_g[idx]) * kappa,
                observed=events_obs,
                dims="unit",
            )
        else:
            pm.Binomial("events", n=n, logit_p=logit_g[idx], observed=events_obs, dims="unit")
    return model


class _OnLogitScale:
    """A prior on a rate seen as a density on its logit (Jacobian ``expit(u) expit(-u)``)."""

    def __init__(self, dist):
        self.dist = dist

    def logpdf(self, u):
        return self.dist.logpdf(expit(u)) + log_expit(u) + log_expit(-u)

    def bounds(self):
        lo, hi = self.dist.bounds()
        with np.errstate(divide="ignore"):
            return float(logit(lo)), float(logit(hi))


class _LogitNormalView:
    """The nested priors as the logit-normal engine sees them (mu on the logit scale, tau =
    sigma)."""

    def __init__(self, priors: NestedBetaBinomialPriors):
        self.mu = _OnLogitScale(priors.mu)
        self.tau = priors.sigma_subgroup


def subgroup_counts(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Events and patients summed within each subgroup (subgroup order)."""
    idx = prep.index["subgroup"]
    groups = len(prep.coords["subgroup"])
    return (
        np.bincount(idx, weights=prep.events, minlength=groups).astype(np.int64),
        np.bincount(idx, weights=prep.n, minlength=groups).astype(np.int64),
    )


def nested_exact(prep: Prepared, priors: NestedBetaBinomialPriors) -> ExactPosterior:
    """Grid posterior of ``(logit mu, sigma_subgroup)`` with a binomial within level.

    The model is then the logit-normal model over subgroups (a subgroup's rows pooled: the product
    of its binomial likelihoods is the binomial likelihood of its totals times the constant
    ``prod_i C(n_i, y_i) / C(N_g, Y_g)``, added to the evidence), so the logit-normal engine
    applies (subgroup effects integrated by adaptive Gauss-Hermite), with the Beta prior on ``mu``
    carried to the logit scale with its Jacobian.
    """
    y_g, n_g = subgroup_counts(prep)
    exact = logit_normal_exact(y_g, n_g, _LogitNormalView(priors))
    shift = float(np.sum(log_binom_coef(prep.n, prep.events)) - np.sum(log_binom_coef(n_g, y_g)))
    grid = replace(exact.grid, log_evidence=exact.grid.log_evidence + shift)
    params = {
        "mu": Parameter(0, expit),
        "logit_mu": Parameter(0, lambda m: m),
        "sigma_subgroup": Parameter(1, lambda t: t),
    }
    return ExactPosterior("nested_beta_binomial", grid, params)


def _beta(rng, a, b, size=None):
    tiny = np.finfo(float).tiny
    return rng.beta(np.maximum(a, tiny), np.maximum(b, tiny), size=size)


class NestedBetaBinomial(BinaryModel):
    """Overall -> subgroup -> study model (see :mod:`bayes_anlo.models.nested_beta_binomial`).

    ``logit mu_g ~ Normal(logit mu, sigma_subgroup)``; studies ``BetaBinomial(n_i, mu_g kappa,
    (1 - mu_g) kappa)`` within subgroup (or ``Binomial(n_i, mu_g)`` when every subgroup is one row).

    Default priors (:class:`~bayes_anlo.models.priors.NestedBetaBinomialPriors`):
    ``mu ~ Beta(1, 1)`` (uniform overall rate; Gelman et al., BDA ch. 5),
    ``sigma_subgroup ~ HalfNormal(1)`` (half-normal heterogeneity prior, Roever et al. 2021),
    ``kappa ~ LogNormal(3, 1.5)`` (as in the beta-binomial model). Alternatives:
    ``subgroup_narrow`` (HalfNormal(0.5)), ``subgroup_wide`` (HalfCauchy(1)), ``bda_proper``
    (kappa ~ Pareto(0.5, 1)).

    Posterior variables: ``mu``, ``sigma_subgroup``, ``z_subgroup``, ``kappa``/``icc``
    (beta-binomial within only), ``pooled_rate`` (= mu, the expit of the centre of the logit
    subgroup means), ``mean_rate`` (mean of the subgroup-mean distribution), ``subgroup_rate`` (dim
    ``subgroup``), ``subgroup_predictive_rate`` (dim ``subgroup``: a new study in that subgroup;
    equal to ``subgroup_rate`` without a within level), ``predictive_rate`` (a new study in a new
    subgroup), ``study_rate`` (dim ``unit``).

    Parameters
    ----------
    by : str
        Grouping column of the data (default ``"subgroup"``).
    within : {"auto", "beta_binomial", "binomial"}
        Within-subgroup level (see the module docstring).
    method : {"nuts", "exact"}
        ``"exact"``: iid draws from a grid posterior (3-D with a beta-binomial within level,
        :mod:`bayes_anlo.exact.nested`; the logit-normal engine over subgroups with a binomial one).
    """

    name = "nested_beta_binomial"
    priors_class = NestedBetaBinomialPriors
    methods = ("nuts", "exact")
    grouping = "subgroup"
    options_schema = NestedOptions

    def __init__(
        self,
        priors=None,
        *,
        method: str = "nuts",
        sampler: SamplerSettings = DEFAULT_SAMPLER,
        thresholds=(),
        by: str = "subgroup",
        within: str = "auto",
    ):
        super().__init__(priors, method=method, sampler=sampler, thresholds=thresholds)
        if within not in WITHIN:
            raise ValueError(f"within must be one of {', '.join(WITHIN)}, not {within!r}")
        self.by = by
        self.within = within

    def options(self):
        return {"by": self.by, "within": self.within}

    def _prepare(self, data):
        return prepare_nested(data, self.by)

    def _build(self, prep):
        return build_nested_beta_binomial(prep, self.priors, by=self.by, within=self.within)

    def exact_posterior(self, data) -> ExactPosterior:
        """Grid posterior of the hyperparameters: ``(mu, sigma_subgroup, kappa)`` with a
        beta-binomial within level (:func:`~bayes_anlo.exact.nested.nested_beta_binomial_exact`),
        ``(mu, sigma_subgroup)`` with a binomial one (:func:`nested_exact`)."""
        prep = self._prepare(data)
        if self._scheme(prep)[0] == "beta_binomial":
            return nested_beta_binomial_exact(
                prep.events,
                prep.n,
                prep.index["subgroup"],
                self.priors,
                groups=len(prep.coords["subgroup"]),
            )
        return nested_exact(prep, self.priors)

    def exact_applies(self, prep) -> bool:
        """The grid engines cover every nested configuration: a 3-D grid with a beta-binomial
        within level, a 2-D one with a binomial within level."""
        return True

    def _exact(self, prep, chains, draws, rng):
        exact = self.exact_posterior(prep)
        shape = (chains, draws)
        extra = {}
        if isinstance(exact, NestedExactPosterior):
            m, sigma, v = exact.sample(chains * draws, rng)
            z = exact.sample_effects(m, sigma, v, rng)  # subgroups in index order
            extra["kappa"] = (_CD, np.exp(v).reshape(shape))
        else:
            m, sigma = exact.sample(chains * draws, rng)
            sigma = np.maximum(sigma, 1e-12)
            if self._scheme(prep)[1] == "new_subgroup":  # one row per subgroup, in row order
                y, n, order = prep.events, prep.n, np.argsort(prep.index["subgroup"])
            else:
                (y, n), order = subgroup_counts(prep), slice(None)
            eta = sample_logit_normal_conditional(y, n, m[:, None], sigma[:, None], rng)
            z = ((eta - m[:, None]) / sigma[:, None])[:, order]
        groups = len(prep.coords["subgroup"])
        post = dataset(
            {
                "mu": (_CD, expit(m).reshape(shape)),
                "sigma_subgroup": (_CD, sigma.reshape(shape)),
                "z_subgroup": (_CDG, z.reshape(shape + (groups,))),
                **extra,
            },
            {
                "chain": np.arange(chains),
                "draw": np.arange(draws),
                "subgroup": prep.coords["subgroup"],
            },
        )
        return post, exact.to_dict()

    def _scheme(self, prep) -> tuple[str, str]:
        within = resolve_within(prep, self.within, warn=False)
        singletons = bool(np.all(np.bincount(prep.index["subgroup"]) == 1))
        if within == "beta_binomial":
            return within, "new_study"
        return within, "new_subgroup" if singletons else "conditional"

    def _attrs(self, prep, seed, settings, extra):
        attrs = super()._attrs(prep, seed, settings, extra)
        within, replicate = self._scheme(prep)
        attrs["options"] = json.dumps({"by": self.by, "within": within, "replicate": replicate})
        return attrs

    def _prior_free_draws(self, prep, draws, rng):
        within, _ = self._scheme(prep)
        groups = len(prep.coords["subgroup"])
        free = {
            "mu": ((), self.priors.mu.rvs(draws, rng)),
            "sigma_subgroup": ((), self.priors.sigma_subgroup.rvs(draws, rng)),
            "z_subgroup": (("subgroup",), rng.standard_normal((draws, groups))),
        }
        if within == "beta_binomial":
            free["kappa"] = ((), self.priors.kappa.rvs(draws, rng))
        return free

    def _derive(self, post, prep, rng, conditional):
        within, _ = self._scheme(prep)
        idx = prep.index["subgroup"]
        mu = post["mu"].values
        sigma = post["sigma_subgroup"].values
        rate_g = expit(logit(mu)[..., None] + sigma[..., None] * post["z_subgroup"].values)
        out = post.copy()
        out["pooled_rate"] = (_CD, mu)
        out["mean_rate"] = (_CD, logit_normal_moments(logit(mu), sigma)[0])
        out["subgroup_rate"] = (_CDG, rate_g)
        new_group = expit(logit(mu) + sigma * rng.standard_normal(mu.shape))
        if within == "beta_binomial":
            kappa = post["kappa"].values
            out["icc"] = (_CD, 1.0 / (1.0 + kappa))
            k = kappa[..., None]
            out["subgroup_predictive_rate"] = (_CDG, _beta(rng, rate_g * k, (1 - rate_g) * k))
            out["predictive_rate"] = (_CD, _beta(rng, new_group * kappa, (1 - new_group) * kappa))
            a, b = rate_g[..., idx] * k, (1 - rate_g[..., idx]) * k
            study = (
                _beta(rng, a + prep.events, b + prep.n - prep.events)
                if conditional
                else _beta(rng, a, b)
            )
        else:
            out["subgroup_predictive_rate"] = (_CDG, rate_g)
            out["predictive_rate"] = (_CD, new_group)
            study = rate_g[..., idx]
        out["study_rate"] = (_CDU, study)
        return out.assign_coords(unit=prep.labels, subgroup=prep.coords["subgroup"])

    def _log_likelihood(self, post, prep):
        within, replicate = self._scheme(prep)
        rate_g = post["subgroup_rate"].values[..., prep.index["subgroup"]]
        if within == "beta_binomial":
            k = post["kappa"].values[..., None]
            return betabinom_logpmf(prep.events, prep.n, rate_g * k, (1 - rate_g) * k)
        if replicate == "new_subgroup":
            mu = logit(post["mu"].values)[..., None]
            sigma = np.maximum(post["sigma_subgroup"].values[..., None], 1e-12)
            return logit_normal_marginal(prep.events, prep.n, mu, sigma)
        return binom_logpmf_logit(prep.events, prep.n, logit(rate_g))

    def _replicate(self, post, prep, rng):
        within, replicate = self._scheme(prep)
        rate_g = post["subgroup_rate"].values[..., prep.index["subgroup"]]
        if within == "beta_binomial":
            k = post["kappa"].values[..., None]
            theta = _beta(rng, rate_g * k, (1 - rate_g) * k)
        elif replicate == "new_subgroup":
            mu = logit(post["mu"].values)[..., None]
            sigma = post["sigma_subgroup"].values[..., None]
            theta = expit(mu + sigma * rng.standard_normal(rate_g.shape))
        else:
            theta = rate_g
        return rng.binomial(prep.n, theta)

    @classmethod
    def replication_moments(cls, tree):
        options = json.loads(tree.attrs.get("options", "{}"))
        post = tree["posterior"]
        idx = tree["constant_data"]["subgroup_index"].values
        rate_g = post["subgroup_rate"].values[..., idx]
        replicate = options.get("replicate", "new_study")
        if replicate == "new_study":
            k = post["kappa"].values[..., None]
            return rate_g, rate_g * (1 - rate_g) / (1 + k)
        if replicate == "new_subgroup":
            m, v = logit_normal_moments(logit(post["mu"].values), post["sigma_subgroup"].values)
            shape = rate_g.shape
            return np.broadcast_to(m[..., None], shape), np.broadcast_to(v[..., None], shape)
        return rate_g, np.zeros_like(rate_g)
