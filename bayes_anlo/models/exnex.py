"""EXNEX: exchangeability-nonexchangeability model for response rates across subtypes.

Model (Neuenschwander, Wandel, Roychoudhury & Bailey 2016, Pharm Stat 15:123, section 2) with
``K`` exchangeable (EX) components (``K`` = 1, 2 or 3) and one non-exchangeable (NEX) one::

    theta_j = logit p_j,  j = 1..J subtypes
    with prior probability w_k:    theta_j ~ Normal(mu_k, tau_k)   (EX component k, k = 1..K)
    with prior probability w_NEX:  theta_j ~ Normal(m, s)          (NEX: the subtype on its own)
    y_j ~ Binomial(n_j, p_j)
    mu_1 ~ Normal(-1.735, 2.617),  tau_1 ~ HalfNormal(1),  (m, s) = (-1.734, 2.795)   (ExnexPriors)

Several EX components let subtypes borrow from one of several groups (e.g. one centred on a low
and one on a high rate); the weights ``(w_1, ..., w_K, w_NEX)`` sum to one (``weights``), or
``weight_ex`` gives ``(w, 1 - w)`` for one EX component. The prior of component ``k >= 2`` is the
prior-set fields ``mu_2``/``tau_2`` (``mu_3``/``tau_3``); the NEX prior ``nex`` is the same for
every subtype.

The mixture indicator is marginalised in the graph: the prior density of ``theta_j`` is
``log sum_k w_k N(theta_j | mu_k, tau_k) + w_NEX N(theta_j | m, s)`` (a logsumexp), so NUTS samples
only ``mu``, ``tau`` (``mu_2``, ``tau_2`` ...) and ``theta`` (centred: a mixture prior has no
non-centred form).

``method="exact"`` (what ``auto`` takes where it applies) draws from the posterior exactly; NUTS
on the graph is the check. With one EX component each ``theta_j`` is integrated out under both
components and ``(mu, tau)`` on an adaptive 2-D grid, then the subtype effects are drawn
(:mod:`bayes_anlo.exact.exnex`). With ``K >= 2`` EX components the engine enumerates the
``(K + 1)^J`` assignments of subtypes to components: given an assignment each EX component's
``(mu_k, tau_k)`` is a 2-D grid integral over its own subtypes, so the posterior of every
assignment is exact; draws take an assignment, then each ``(mu_k, tau_k)`` from its grid
posterior, then each ``theta_j`` (:mod:`bayes_anlo.exact.exnex_components`). That engine needs
Normal priors on ``mu_k`` and HalfNormal priors on ``tau_k`` (the defaults) and at most
:data:`MAX_ASSIGNMENTS` assignments (two EX components: up to 11 subtypes); otherwise ``auto``
fits by NUTS and ``method="exact"`` is refused.

Posterior probability of each component per subtype: with ``K >= 2`` and the exact engine, the
exact sum over assignments (the same value in every draw); otherwise the posterior mean over draws
of ``P(C_j = k | y_j, hyper) = w_k L_k,j / sum_l w_l L_l,j`` with ``L_k,j`` subtype j's marginal
likelihood under component k (``theta_j`` integrated out by adaptive Gauss-Hermite,
:func:`~bayes_anlo.exact.special_functions.logit_normal_marginal`); given the hyperparameters the
subtypes are independent, so this average is the exact posterior probability with less Monte
Carlo noise than averaging the indicator. ``prob_exchangeable`` is ``1 - P(C_j = NEX)``.

Several studies per subtype (``by``)
------------------------------------
With ``by`` (a column of the data naming each row's subtype) the rows are studies and the
subtypes are the levels of that column. Studies of one subtype are taken to share the subtype's
rate (no within-subtype study effect): the subtype's likelihood is the product of its studies'
binomials, which as a function of ``theta_j`` is the binomial of the subtype's pooled count
(``sum y_i`` out of ``sum n_i``), so the exact engine runs on pooled counts and the NUTS graph on
the study rows, two computations of the same posterior. The assumption is the one a basket
trial makes (one cohort per subtype); where studies of a subtype differ by more than binomial
noise it understates the subtype's uncertainty, so the report prints a homogeneity test per
subtype with several studies (:mod:`bayes_anlo.report.exnex_section`). A within-subtype random
effect was not chosen: with one to three studies per subtype its SD is identified by its prior
alone (see the nested beta-binomial's discussion of ``kappa``). Then ``theta``, ``subgroup_rate``
and the probabilities have dim ``subgroup``; ``study_rate`` (dim ``unit``) is the rate of the
study's subtype; log-likelihood and replication are conditional on the subtype rate.

The default priors are those of the paper's sarcoma example as R bhmbasket's vignette
"reproduceExNex" sets them (mu: mean -1.735, precision 0.146; NEX: mean -1.734, precision 0.128;
tau HalfNormal(1); the paper's second EX component there has weight 0 and so is left out of the
default). The default priors of components 2 and 3 (``mu_2``, ``mu_3`` ~ Normal(0, 2),
``tau_2``, ``tau_3`` ~ HalfNormal(1)) are this project's weakly informative choice, not the
paper's; set them when using more than one EX component.

Posterior variables: ``mu``, ``tau`` (and ``mu_2``, ``tau_2`` ...), ``theta``, ``study_rate``
(= expit(theta) per row), ``subgroup_rate`` (with ``by``), ``prob_exchangeable``,
``prob_component`` (dims subtype x ``component``: ``EX``/``NEX`` or ``EX1``, ``EX2``, ... ``NEX``),
``pooled_rate`` (= expit(mu) of the first EX component), ``predictive_rate`` (a new subtype drawn
from the EX part, component k with probability ``w_k / sum_EX w``). ``log_likelihood`` is the
subtype-level marginal ``log sum_k w_k L_k`` (conditional on the subtype rate with ``by``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import xarray as xr
from scipy.special import expit, logsumexp

from bayes_anlo.exact.exnex import exnex_exact, sample_exnex_effects
from bayes_anlo.exact.exnex_components import (
    MAX_SUBTYPES,
    ExnexComponentsPosterior,
    ExnexComponentsPrior,
)
from bayes_anlo.exact.special_functions import (
    binom_logpmf_logit,
    logit_normal_marginal,
    logit_normal_moments,
)
from bayes_anlo.lazy_import import lazy_module
from bayes_anlo.models.binary import BinaryModel, Prepared, dataset, prepare_binary
from bayes_anlo.models.contract import DEFAULT_SAMPLER
from bayes_anlo.models.nested_beta_binomial import prepare_nested
from bayes_anlo.models.options import ExnexOptions
from bayes_anlo.models.priors import Distribution, HalfNormal, Normal, PriorSet
from bayes_anlo.models.sampling import SamplerSettings

pm = lazy_module("pymc")

_CD = ("chain", "draw")
_CDU = ("chain", "draw", "unit")
#: Prior-set fields (mean, SD) of EX components 1, 2, 3.
EX_FIELDS = (("mu", "tau"), ("mu_2", "tau_2"), ("mu_3", "tau_3"))
MAX_EX_COMPONENTS = len(EX_FIELDS)
#: Most assignments of subtypes to components the exact engine enumerates with K >= 2.
MAX_ASSIGNMENTS = 3**11
#: Grid spacings of (mu_k, tau_k) for the exact draws with K >= 2 (the trapezoid cells the draws
#: are spread over add about spacing^2 / 12 to a variance).
EXACT_GRID = (0.1, 0.05)


@dataclass(frozen=True)
class ExnexPriors(PriorSet):
    """Priors of the EXNEX model (defaults: the sarcoma example of Neuenschwander et al. 2016,
    Appendix 5.3, as bhmbasket's vignette "reproduceExNex" states them).

    * ``mu ~ Normal(-1.735, 2.617)``: EX mean logit rate (precision 0.146; expit(-1.735) = 0.15).
    * ``tau ~ HalfNormal(1)``: EX between-subtype SD of logit rates.
    * ``nex ~ Normal(-1.734, 2.795)``: the prior of a non-exchangeable subtype's logit rate
      (precision 0.128), the same for every subtype.
    * ``mu_2``, ``tau_2`` (``mu_3``, ``tau_3``): the second (third) EX component, used only when
      the model's ``weights`` name that many EX components (default Normal(0, 2), HalfNormal(1):
      this project's choice).
    """

    mu: Distribution = Normal(-1.735, 0.146**-0.5)
    tau: Distribution = HalfNormal(1.0)
    nex: Distribution = Normal(-1.734, 0.128**-0.5)
    mu_2: Distribution = Normal(0.0, 2.0)
    tau_2: Distribution = HalfNormal(1.0)
    mu_3: Distribution = Normal(0.0, 2.0)
    tau_3: Distribution = HalfNormal(1.0)
    SUPPORT: ClassVar[dict[str, str]] = {
        "mu": "real",
        "tau": "positive",
        "nex": "real",
        "mu_2": "real",
        "tau_2": "positive",
        "mu_3": "real",
        "tau_3": "positive",
    }
    MEANING: ClassVar[dict[str, str]] = {
        "mu": "mean logit rate of the exchangeable subtypes (EX component 1)",
        "tau": "between-subtype SD of logit rates in EX component 1",
        "nex": "logit rate of a non-exchangeable subtype",
        "mu_2": "mean logit rate of EX component 2 (used with two or more EX components)",
        "tau_2": "between-subtype SD of logit rates in EX component 2",
        "mu_3": "mean logit rate of EX component 3 (used with three EX components)",
        "tau_3": "between-subtype SD of logit rates in EX component 3",
    }

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.nex, Normal):
            raise ValueError(f"the NEX prior must be a Normal, not {self.nex.describe()}")

    @classmethod
    def alternatives(cls) -> dict[str, ExnexPriors]:
        """``tau_narrow``: tau ~ HalfNormal(0.5) (less heterogeneity among EX subtypes)."""
        return {"tau_narrow": cls(tau=HalfNormal(0.5))}

    def ex_components(self, k: int) -> list[tuple[Distribution, Distribution]]:
        """The (mean, SD) priors of the first ``k`` EX components."""
        return [(getattr(self, m), getattr(self, t)) for m, t in EX_FIELDS[:k]]


def _check_weight(weight_ex: float) -> float:
    weight_ex = float(weight_ex)
    if not 0.0 < weight_ex < 1.0:
        raise ValueError(f"weight_ex is a probability in (0, 1), not {weight_ex:g}")
    return weight_ex


def check_weights(weights: Sequence[float]) -> tuple[float, ...]:
    """``(w_1, ..., w_K, w_NEX)``: 1 to 3 EX weights then the NEX weight, each in [0, 1], summing
    to one, some EX weight positive."""
    weights = tuple(float(w) for w in weights)
    if not 2 <= len(weights) <= MAX_EX_COMPONENTS + 1:
        raise ValueError(
            f"weights are (EX_1, ..., EX_K, NEX) with 1 <= K <= {MAX_EX_COMPONENTS}, "
            f"got {len(weights)} numbers"
        )
    if any(not 0.0 <= w <= 1.0 for w in weights):
        raise ValueError(f"weights are probabilities in [0, 1], not {list(weights)}")
    if abs(sum(weights) - 1.0) > 1e-6:
        raise ValueError(f"weights must sum to 1, not {sum(weights):g}")
    if sum(weights[:-1]) <= 0.0:
        raise ValueError("some EX component needs a positive weight")
    return weights


def component_labels(k: int) -> list[str]:
    """``["EX", "NEX"]`` for one EX component, ``["EX1", ..., "EXk", "NEX"]`` for more."""
    return ["EX", "NEX"] if k == 1 else [f"EX{i + 1}" for i in range(k)] + ["NEX"]


def _log(weights) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(weights, dtype=float))


def subtype_counts(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Responders and patients per subtype: the rows themselves, or with ``by`` each subtype's
    studies pooled (the subtype's sufficient statistic when its studies share one rate)."""
    if "subgroup" not in prep.index:
        return prep.events, prep.n
    idx, size = prep.index["subgroup"], len(prep.coords["subgroup"])
    events = np.bincount(idx, weights=prep.events, minlength=size).astype(np.int64)
    n = np.bincount(idx, weights=prep.n, minlength=size).astype(np.int64)
    return events, n


def build_exnex(
    data,
    priors: ExnexPriors | None = None,
    weight_ex: float = 0.5,
    *,
    weights: Sequence[float] | None = None,
) -> pm.Model:
    """PyMC EXNEX model with the mixture indicator marginalised (pure function).

    Free variables ``mu``, ``tau`` (``mu_2``, ``tau_2`` ... with several EX components),
    ``theta`` (dim ``unit``, or ``subgroup`` when ``data`` is prepared with a grouping column);
    deterministics ``study_rate`` and ``pooled_rate``; data ``n``, ``events_obs``,
    ``log_weights`` (log of ``weights``, default ``(weight_ex, 1 - weight_ex)``) and the prior
    parameters (``prior_<field>_<parameter>``), all swappable in a compiled graph.
    """
    import pytensor.tensor as pt

    priors = priors or ExnexPriors()
    weights = check_weights(weights) if weights is not None else (_check_weight(weight_ex),)
    weights = weights if len(weights) > 1 else (weights[0], 1.0 - weights[0])
    k = len(weights) - 1
    prep = data if isinstance(data, Prepared) else prepare_binary(data)
    grouped = "subgroup" in prep.index
    dim = "subgroup" if grouped else "unit"
    with pm.Model(coords=prep.coords) as model:
        n = pm.Data("n", prep.n, dims="unit")
        events_obs = pm.Data("events_obs", prep.events, dims="unit")
        log_w = pm.Data("log_weights", _log(weights))
        nex_mu = pm.Data("prior_nex_mu", priors.nex.mu)
        nex_sigma = pm.Data("prior_nex_sigma", priors.nex.sigma)
        hyper = [(priors.to_pymc(m), priors.to_pymc(t)) for m, t in EX_FIELDS[:k]]
        theta = pm.Flat("theta", dims=dim)
        terms = [pm.logp(pm.Normal.dist(m, t), theta) + log_w[i] for i, (m, t) in enumerate(hyper)]
        terms.append(pm.logp(pm.Normal.dist(nex_mu, nex_sigma), theta) + log_w[k])
        pm.Potential("exnex_prior", pt.logsumexp(pt.stack(terms), axis=0).sum())
        pm.Deterministic("pooled_rate", pm.math.invlogit(hyper[0][0]))
        row_theta = theta[prep.index["subgroup"]] if grouped else theta
        pm.Deterministic("study_rate", pm.math.invlogit(row_theta), dims="unit")
        pm.Binomial("events", n=n, logit_p=row_theta, observed=events_obs, dims="unit")
    return model


def component_log_marginals(y, n, mu, tau, nex: Normal) -> tuple[np.ndarray, np.ndarray]:
    """``log L_EX`` and ``log L_NEX`` of each subtype: ``log Int Bin(y | n, expit t) N(t | .) dt``
    under the EX component ``N(mu, tau)`` and under the NEX prior (arrays broadcast)."""
    ex = logit_normal_marginal(y, n, mu, tau)
    nex_ll = logit_normal_marginal(y, n, nex.mu, nex.sigma)
    return ex, np.broadcast_to(nex_ll, ex.shape)


def component_log_terms(y, n, mus, taus, nex: Normal, weights) -> np.ndarray:
    """``log w_k + log L_k`` per component (last axis: EX_1 .. EX_K, NEX) for each draw and
    subtype; ``mus``, ``taus`` are lists of K arrays shaped ``(..., 1)``."""
    log_w = _log(weights)
    terms = [
        log_w[i] + logit_normal_marginal(y, n, m, t)
        for i, (m, t) in enumerate(zip(mus, taus, strict=True))
    ]
    nex_ll = logit_normal_marginal(y, n, nex.mu, nex.sigma)
    terms.append(np.broadcast_to(log_w[-1] + nex_ll, terms[0].shape))
    return np.stack(terms, axis=-1)


def component_probabilities(y, n, mus, taus, nex: Normal, weights) -> np.ndarray:
    """``P(C_j = k | y_j, hyperparameters)`` (last axis: EX_1 .. EX_K, NEX)."""
    terms = component_log_terms(y, n, mus, taus, nex, weights)
    return np.exp(terms - logsumexp(terms, axis=-1, keepdims=True))


def prob_exchangeable(y, n, mu, tau, nex: Normal, weight_ex: float) -> np.ndarray:
    """``P(EX_j | y_j, mu, tau)`` per draw and subtype (mu, tau shaped ``(..., 1)``), one EX
    component with prior weight ``weight_ex``."""
    ex, nex_ll = component_log_marginals(y, n, mu, tau, nex)
    a = np.log(weight_ex) + ex
    b = np.log1p(-weight_ex) + nex_ll
    return np.exp(a - np.logaddexp(a, b))


class Exnex(BinaryModel):
    """EXNEX model for response rates across subtypes (Neuenschwander et al. 2016): each subtype
    is exchangeable with the others (one of 1 to 3 EX components, prior weights `weights` or
    `weight_ex`) or stands on its own (NEX), with the posterior probability of each per subtype.
    Without `by` each row is a subtype (`by` is not filled in by default for this model);
    with `by` the rows are studies and a subtype's studies are taken to share its rate (pooled
    counts). Exact engines (NUTS is the check). The report adds an
    "Exchangeability (EXNEX)" section (see the module docstring).

    Parameters
    ----------
    priors : ExnexPriors, dict or str, optional
    weight_ex : float
        Prior probability that a subtype is exchangeable, one EX component (default 0.5, as in
        the paper's sarcoma example).
    weights : sequence of float, optional
        ``(w_1, ..., w_K, w_NEX)`` for ``K`` = 1 to 3 EX components (overrides ``weight_ex``).
    by : str, optional
        Column naming each row's subtype when rows are studies (several per subtype); default:
        each row is a subtype.
    method : {"auto", "nuts", "exact"}
        ``exact`` (what ``auto`` takes where it applies): one EX component, a 2-D grid over
        ``(mu, tau)`` with the subtype effects integrated out (:mod:`bayes_anlo.exact.exnex`);
        several, an enumeration of the assignments of subtypes to components
        (:mod:`bayes_anlo.exact.exnex_components`); then exact draws.
    sampler, thresholds : as for every binary model.
    """

    name = "exnex"
    priors_class = ExnexPriors
    methods = ("nuts", "exact")
    grouping = "subgroup"
    options_schema = ExnexOptions

    def __init__(
        self,
        priors=None,
        *,
        weight_ex: float = 0.5,
        weights: Sequence[float] | None = None,
        by: str | None = None,
        method: str = "auto",
        sampler: SamplerSettings = DEFAULT_SAMPLER,
        thresholds: Sequence[float] = (),
    ):
        super().__init__(priors, method=method, sampler=sampler, thresholds=thresholds)
        if weights is None:
            self.weights = (_check_weight(weight_ex), 1.0 - float(weight_ex))
        else:
            self.weights = check_weights(weights)
        self.weight_ex = float(sum(self.weights[:-1]))
        self.by = by
        if method == "exact" and self.n_ex > 1 and not self._normal_components():
            raise ValueError(
                "the exact engine with several EX components needs Normal mu and HalfNormal tau "
                "priors (use method 'nuts' or 'auto')"
            )

    @property
    def n_ex(self) -> int:
        """Number of exchangeable components."""
        return len(self.weights) - 1

    def options(self) -> dict:
        out = {"weight_ex": self.weight_ex} if self.n_ex == 1 else {"weights": list(self.weights)}
        if self.by is not None:
            out["by"] = self.by
        return out

    def _prepare(self, data):
        if isinstance(data, Prepared):
            return data
        return prepare_binary(data) if self.by is None else prepare_nested(data, self.by)

    def structure_key(self, prep) -> tuple:
        # the weights are data in the graph: fits that differ only in them share a compilation
        index = tuple(int(i) for i in prep.index.get("subgroup", ()))
        return (type(self).__name__, self.priors.structure(), self.n_ex, prep.units, index)

    def data_values(self, prep) -> dict[str, np.ndarray]:
        values = super().data_values(prep)
        unused = [f"prior_{f}_" for pair in EX_FIELDS[self.n_ex :] for f in pair]
        values = {k: v for k, v in values.items() if not k.startswith(tuple(unused))}
        values["log_weights"] = _log(self.weights)
        return values

    def _active(self) -> list[int]:
        """The EX components of positive weight."""
        return [k for k in range(self.n_ex) if self.weights[k] > 0]

    def _normal_components(self) -> bool:
        return all(
            isinstance(m, Normal) and isinstance(t, HalfNormal)
            for k, (m, t) in enumerate(self.priors.ex_components(self.n_ex))
            if self.weights[k] > 0
        )

    def exact_problem(self, prep) -> str | None:
        """Why no exact engine covers these data (None if one does): with several EX components
        the assignment enumeration needs Normal / HalfNormal priors and few enough subtypes."""
        if self.n_ex == 1:
            return None
        events, n = subtype_counts(prep)
        if not self._normal_components():
            return "it needs Normal mu and HalfNormal tau priors"
        if len(events) > MAX_SUBTYPES or (len(self._active()) + 1) ** len(events) > MAX_ASSIGNMENTS:
            return f"{len(events)} subtypes make too many assignments to enumerate"
        if np.any(n < 1):
            return "every subtype needs at least one patient"
        return None

    def exact_applies(self, prep) -> bool:
        return self.exact_problem(prep) is None

    def _build(self, prep):
        return build_exnex(prep, self.priors, weights=self.weights)

    def exact_posterior(self, data):
        """The grid posterior of ``(mu, tau)`` for ``data`` (one EX component)."""
        prep = self._prepare(data)
        events, n = subtype_counts(prep)
        return exnex_exact(events, n, self.priors, self.weight_ex)

    def _subtype_dim(self, prep) -> str:
        return "subgroup" if "subgroup" in prep.index else "unit"

    def _hyper(self, post) -> tuple[list[np.ndarray], list[np.ndarray]]:
        mus = [post[m].values[..., None] for m, _ in EX_FIELDS[: self.n_ex]]
        taus = [np.maximum(post[t].values[..., None], 1e-12) for _, t in EX_FIELDS[: self.n_ex]]
        return mus, taus

    def components_posterior(self, data) -> ExnexComponentsPosterior:
        """The assignment-enumeration engine for ``data`` (any number of EX components; the one
        ``method="exact"`` uses with two or more)."""
        prep = self._prepare(data)
        problem = self.exact_problem(prep)
        if problem is not None:
            raise ValueError(f"the exact EXNEX engine does not apply: {problem}")
        events, n = subtype_counts(prep)
        nex = self.priors.nex
        total = sum(self.weights)  # check_weights allows a rounding error in the sum
        prior = ExnexComponentsPrior.common(
            [
                (m.mu, m.sigma, t.sigma, w / total)
                for (m, t), w in zip(
                    self.priors.ex_components(self.n_ex), self.weights[:-1], strict=True
                )
            ],
            (nex.mu, nex.sigma),
            self.weights[-1] / total,
            len(events),
        )
        return ExnexComponentsPosterior(prior, n, h_mu=EXACT_GRID[0], h_tau=EXACT_GRID[1])

    def _exact_components(self, prep, chains, draws, rng):
        events, _ = subtype_counts(prep)
        engine = self.components_posterior(prep)
        sample = engine.sample(events, chains * draws, rng)
        active = self._active()
        shape = (chains, draws)
        dim = self._subtype_dim(prep)
        variables = {}
        for k, ((m_field, t_field), (m_prior, t_prior)) in enumerate(
            zip(EX_FIELDS[: self.n_ex], self.priors.ex_components(self.n_ex), strict=True)
        ):
            if k in active:  # a weightless component holds no subtype: its prior
                mu, tau = sample["mu"][active.index(k)], sample["tau"][active.index(k)]
            else:
                mu, tau = m_prior.rvs(chains * draws, rng), t_prior.rvs(chains * draws, rng)
            variables[m_field] = (_CD, mu.reshape(shape))
            variables[t_field] = (_CD, tau.reshape(shape))
        variables["theta"] = ((*_CD, dim), sample["theta"].reshape(shape + (len(events),)))
        exact = engine.component_probabilities(events)  # active EX components, then NEX
        probs = np.zeros((len(events), self.n_ex + 1))
        probs[:, active + [self.n_ex]] = exact
        variables["prob_component"] = (
            (*_CD, dim, "component"),
            np.broadcast_to(probs, shape + probs.shape).copy(),
        )
        post = dataset(
            variables,
            {
                "chain": np.arange(chains),
                "draw": np.arange(draws),
                "component": component_labels(self.n_ex),
                **prep.coords,
            },
        )
        summary = {
            "engine": "assignment enumeration",
            "assignments": int(len(engine.assignments)),
            "grid": ["mu", "tau"],
            "cells": [int(engine.grid.mu.size), int(engine.grid.tau.size)],
            "prob_component": probs.tolist(),
        }
        return post, summary

    def _exact(self, prep, chains, draws, rng):
        if self.n_ex != 1:
            return self._exact_components(prep, chains, draws, rng)
        events, n = subtype_counts(prep)
        exact = exnex_exact(events, n, self.priors, self.weight_ex)
        mu, tau = exact.sample(chains * draws, rng)
        tau = np.maximum(tau, 1e-12)
        nex = self.priors.nex
        p_ex = prob_exchangeable(events, n, mu[:, None], tau[:, None], nex, self.weight_ex)
        theta = sample_exnex_effects(events, n, mu[:, None], tau[:, None], nex, p_ex, rng)
        shape = (chains, draws)
        dim = self._subtype_dim(prep)
        post = dataset(
            {
                "mu": (_CD, mu.reshape(shape)),
                "tau": (_CD, tau.reshape(shape)),
                "theta": ((*_CD, dim), theta.reshape(shape + (len(events),))),
            },
            {"chain": np.arange(chains), "draw": np.arange(draws), **prep.coords},
        )
        return post, exact.to_dict()

    def _prior_free_draws(self, prep, draws, rng):
        events, _ = subtype_counts(prep)
        size = (draws, len(events))
        free = {}
        centres, scales = [], []
        for (m_field, t_field), (m_prior, t_prior) in zip(
            EX_FIELDS[: self.n_ex], self.priors.ex_components(self.n_ex), strict=True
        ):
            free[m_field] = ((), m_prior.rvs(draws, rng))
            free[t_field] = ((), t_prior.rvs(draws, rng))
            centres.append(free[m_field][1][:, None])
            scales.append(free[t_field][1][:, None])
        nex = self.priors.nex
        centres.append(np.full((draws, 1), nex.mu))
        scales.append(np.full((draws, 1), nex.sigma))
        theta = self._mixture_draw(centres, scales, self.weights, size, rng)
        free["theta"] = ((self._subtype_dim(prep),), theta)
        return free

    @staticmethod
    def _mixture_draw(centres, scales, weights, shape, rng) -> np.ndarray:
        """One normal draw per cell from the mixture ``sum_k w_k N(centre_k, scale_k)``."""
        which = rng.choice(len(weights), size=shape, p=np.asarray(weights) / np.sum(weights))
        centre = np.choose(which, [np.broadcast_to(c, shape) for c in centres])
        scale = np.choose(which, [np.broadcast_to(s, shape) for s in scales])
        return centre + scale * rng.standard_normal(shape)

    def _derive(self, post, prep, rng, conditional):
        mus, taus = self._hyper(post)
        theta = post["theta"].values
        events, n = subtype_counts(prep)
        dim = self._subtype_dim(prep)
        out = post.copy()
        out["pooled_rate"] = (_CD, expit(mus[0][..., 0]))
        ex_weights = np.asarray(self.weights[:-1]) / sum(self.weights[:-1])
        new = self._mixture_draw(
            [m[..., 0] for m in mus], [t[..., 0] for t in taus], ex_weights, mus[0].shape[:-1], rng
        )
        out["predictive_rate"] = (_CD, expit(new))
        if dim == "subgroup":
            out["subgroup_rate"] = ((*_CD, dim), expit(theta))
            out["study_rate"] = (_CDU, expit(theta[..., prep.index["subgroup"]]))
        else:
            out["study_rate"] = (_CDU, expit(theta))
        if "prob_component" in post:  # exact over assignments (the enumeration engine)
            probs = post["prob_component"].values
        else:
            probs = component_probabilities(events, n, mus, taus, self.priors.nex, self.weights)
            out["prob_component"] = ((*_CD, dim, "component"), probs)
        out["prob_exchangeable"] = ((*_CD, dim), 1.0 - probs[..., -1])
        coords = {"unit": prep.labels, "component": component_labels(self.n_ex)}
        if dim == "subgroup":
            coords["subgroup"] = prep.coords["subgroup"]
        return out.assign_coords(coords)

    def _log_likelihood(self, post, prep):
        if "subgroup" in prep.index:
            theta = post["theta"].values[..., prep.index["subgroup"]]
            return binom_logpmf_logit(prep.events, prep.n, theta)
        mus, taus = self._hyper(post)
        terms = component_log_terms(prep.events, prep.n, mus, taus, self.priors.nex, self.weights)
        return logsumexp(terms, axis=-1)

    def _replicate(self, post, prep, rng):
        if "subgroup" in prep.index:
            theta = post["theta"].values[..., prep.index["subgroup"]]
            return rng.binomial(prep.n, expit(theta))
        mus, taus = self._hyper(post)
        nex = self.priors.nex
        shape = mus[0].shape[:-1] + (prep.units,)
        theta = self._mixture_draw(
            [*mus, np.full_like(mus[0], nex.mu)],
            [*taus, np.full_like(taus[0], nex.sigma)],
            self.weights,
            shape,
            rng,
        )
        return rng.binomial(prep.n, expit(theta))

    @classmethod
    def replication_moments(cls, tree: xr.DataTree):
        """Mean and variance of the rate a unit is replicated from: the mixture of the EX
        logit-normals ``expit(N(mu_k, tau_k))`` and the NEX ``expit(N(m, s))`` with the prior
        weights; with ``by``, the study's subtype rate (variance 0: replication is conditional)."""
        model = cls.from_tree(tree)
        post = tree["posterior"]
        if "subgroup_rate" in post:
            rate = post["study_rate"].values
            return rate, np.zeros_like(rate)
        units = tree["constant_data"]["n"].size
        moments = [
            logit_normal_moments(post[m].values, post[t].values) for m, t in EX_FIELDS[: model.n_ex]
        ]
        moments.append(logit_normal_moments(model.priors.nex.mu, model.priors.nex.sigma))
        w = model.weights
        mean = sum(wk * mk for wk, (mk, _) in zip(w, moments, strict=True))
        second = sum(wk * (vk + mk**2) for wk, (mk, vk) in zip(w, moments, strict=True))
        var = second - mean**2
        shape = mean.shape + (units,)
        return np.broadcast_to(mean[..., None], shape), np.broadcast_to(var[..., None], shape)


def exchangeability_table(tree: xr.DataTree):
    """Per subtype: posterior probability of exchangeability and the rate's posterior mean,
    median and 95% interval. Columns ``unit, prob_exchangeable, mean, median, ci_low,
    ci_high`` then, when the fit has them, ``prob_<component>`` for each mixture component
    (e.g. ``prob_EX1``, ``prob_EX2``, ``prob_NEX``). With ``by`` the subtypes are the levels of
    the grouping column (``unit`` holds their names)."""
    import pandas as pd

    post = tree["posterior"]
    grouped = "subgroup_rate" in post
    dim, rate_var = ("subgroup", "subgroup_rate") if grouped else ("unit", "study_rate")
    components = [str(c) for c in post["component"].values] if "component" in post.coords else []
    rows = []
    for label in post[dim].values:
        rate = post[rate_var].sel({dim: label}).values.ravel()
        row = {
            "unit": str(label),
            "prob_exchangeable": float(post["prob_exchangeable"].sel({dim: label}).mean()),
            "mean": float(rate.mean()),
            "median": float(np.median(rate)),
            "ci_low": float(np.quantile(rate, 0.025)),
            "ci_high": float(np.quantile(rate, 0.975)),
        }
        for c in components:
            prob = post["prob_component"].sel({dim: label, "component": c})
            row[f"prob_{c}"] = float(prob.mean())
        rows.append(row)
    return pd.DataFrame(rows)
