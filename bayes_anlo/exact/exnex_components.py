"""Exact EXNEX posterior with one or more exchangeable components, by enumerating assignments.

Model (Neuenschwander, Wandel, Roychoudhury & Bailey 2016, Pharm Stat 15:123; bhmbasket's JAGS
model ``exnex.txt`` has the same structure)::

    y_j ~ Binomial(n_j, expit theta_j),  j = 1..J subtypes
    theta_j ~ Normal(mu_k, tau_k)  with prior probability w_k, k = 1..K  (EX components)
    theta_j ~ Normal(m_j, s_j)     with prior probability w_0            (NEX, per subtype)
    mu_k ~ Normal(mu_mean_k, mu_sd_k),  tau_k ~ HalfNormal(tau_scale_k)

Given the component of every subtype (an *assignment* ``a`` in ``{0..K}^J``), the model factorises:
the subtypes of EX component ``k`` (subset ``S_k``) share ``(mu_k, tau_k)`` and nothing else, so

    p(a, y) = prod_j w_{a_j} * prod_k Z_k(S_k) * prod_{j NEX} L_NEX,j
    Z_k(S) = Int p(mu_k, tau_k) prod_{j in S} L_j(mu_k, tau_k) d mu_k d tau_k

with ``L_j(mu, tau) = Int Binomial(y_j | n_j, expit t) Normal(t | mu, tau) dt``. The posterior is
therefore exact by enumerating the ``(K + 1)^J`` assignments, each ``Z_k(S)`` a 2-D integral over
one shared ``(mu, tau)`` grid (trapezoid: the integrands are smooth, decay like Gaussians in mu and
are even in tau, so the rule converges geometrically; the grid puts a node on each decision
threshold's logit so that the step of ``P(theta > c | mu, tau -> 0)`` is integrated symmetrically).
Posterior quantities of subtype ``j`` under EX component ``k`` are grid averages of
``P(theta_j > c | y_j, mu, tau)`` and ``E(expit theta_j | y_j, mu, tau)`` (1-D Gauss-Legendre
around the mode of ``theta_j``'s conditional density); under NEX they are one 1-D integral. No
sampling anywhere: the same outcome vector always gives the same numbers.

Two uses:

* :meth:`ExnexComponentsPosterior.analyse` - the decision summaries above, no sampling anywhere
  (the same outcome vector always gives the same numbers): the engine of the basket simulations
  (:mod:`bayes_anlo.design.basket_simulation`), where thousands of outcome vectors are analysed;
* :meth:`ExnexComponentsPosterior.sample` - exact posterior draws for the EXNEX model
  (:class:`bayes_anlo.models.exnex.Exnex` with ``K >= 2`` EX components): an assignment from its
  posterior, then each EX component's ``(mu_k, tau_k)`` from its grid posterior given its subset
  (a node by its weight, placed uniformly inside the node's trapezoid cell), then each ``theta_j``
  from its conditional given its component
  (:func:`~bayes_anlo.exact.special_functions.sample_logit_normal_conditional`). The posterior
  probability of each component per subtype is the exact sum over assignments
  (:meth:`ExnexComponentsPosterior.component_probabilities`).

With one EX component the faster (mu, tau) engine of :mod:`bayes_anlo.exact.exnex` fits the model;
the tests check that the two agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit, logsumexp

from bayes_anlo.exact.special_functions import (
    binom_logpmf_logit,
    log_normal_pdf,
    logit_normal_summaries,
    sample_logit_normal_conditional,
)

#: Largest number of subtypes (the assignments number (K + 1)^J).
MAX_SUBTYPES = 12


@dataclass(frozen=True)
class ExComponent:
    """An exchangeable component: ``theta ~ N(mu, tau)``, ``mu ~ N(mu_mean, mu_sd)``,
    ``tau ~ HalfNormal(tau_scale)``, prior probability ``weight`` for each subtype."""

    mu_mean: float
    mu_sd: float
    tau_scale: float
    weight: float


@dataclass(frozen=True)
class ExnexComponentsPrior:
    """EX components, and the NEX prior of each subtype (``nex_mean[j]``, ``nex_sd[j]``, prior
    probability ``nex_weight``); the weights of all components sum to one."""

    ex: tuple[ExComponent, ...]
    nex_mean: tuple[float, ...]
    nex_sd: tuple[float, ...]
    nex_weight: float

    def __post_init__(self):
        object.__setattr__(self, "ex", tuple(self.ex))
        object.__setattr__(self, "nex_mean", tuple(float(v) for v in self.nex_mean))
        object.__setattr__(self, "nex_sd", tuple(float(v) for v in self.nex_sd))
        if not self.ex:
            raise ValueError("an EXNEX prior needs at least one EX component")
        if len(self.nex_mean) != len(self.nex_sd) or not self.nex_mean:
            raise ValueError("give one NEX mean and one NEX sd per subtype")
        weights = [c.weight for c in self.ex] + [self.nex_weight]
        if any(not np.isfinite(w) or w < 0 for w in weights) or abs(sum(weights) - 1) > 1e-9:
            raise ValueError("component weights must be non-negative and sum to 1")
        if self.nex_weight <= 0 or not any(c.weight > 0 for c in self.ex):
            raise ValueError("the NEX weight and at least one EX weight must be positive")
        for c in self.ex:
            if not (c.mu_sd > 0 and c.tau_scale > 0 and np.isfinite(c.mu_mean)):
                raise ValueError("EX components need a finite mean and positive mu_sd, tau_scale")
        if any(not s > 0 for s in self.nex_sd) or not all(np.isfinite(self.nex_mean)):
            raise ValueError("NEX priors need finite means and positive sds")

    @property
    def subtypes(self) -> int:
        return len(self.nex_mean)

    @classmethod
    def common(
        cls,
        ex: Sequence[tuple[float, float, float, float]],
        nex: tuple[float, float],
        nex_weight: float,
        subtypes: int,
    ) -> ExnexComponentsPrior:
        """EX components as ``(mu_mean, mu_sd, tau_scale, weight)`` and one NEX ``(mean, sd)``
        for every subtype."""
        return cls(
            tuple(ExComponent(*map(float, c)) for c in ex),
            (float(nex[0]),) * subtypes,
            (float(nex[1]),) * subtypes,
            float(nex_weight),
        )

    def config(self) -> dict:
        """JSON-able description (part of a runner task's key)."""
        return {
            "ex": [[c.mu_mean, c.mu_sd, c.tau_scale, c.weight] for c in self.ex],
            "nex_mean": list(self.nex_mean),
            "nex_sd": list(self.nex_sd),
            "nex_weight": self.nex_weight,
        }

    @classmethod
    def from_config(cls, config: dict) -> ExnexComponentsPrior:
        return cls(
            tuple(ExComponent(*map(float, c)) for c in config["ex"]),
            tuple(config["nex_mean"]),
            tuple(config["nex_sd"]),
            float(config["nex_weight"]),
        )

    def active_ex(self) -> tuple[ExComponent, ...]:
        """The EX components of positive weight (a zero-weight component changes nothing)."""
        return tuple(c for c in self.ex if c.weight > 0)


# ---- the (mu, tau) grid shared by the EX components ------------------------------------------


@dataclass(frozen=True)
class MuTauGrid:
    """Trapezoid nodes ``mu`` (spacing ``h_mu``) and ``tau`` (from 0, spacing ``h_tau``) shared
    by the EX components."""

    mu: np.ndarray
    tau: np.ndarray
    h_mu: float
    h_tau: float

    @classmethod
    def for_prior(
        cls,
        prior: ExnexComponentsPrior,
        anchor: float = 0.0,
        *,
        h_mu: float = 0.2,
        h_tau: float = 0.1,
    ) -> MuTauGrid:
        """Mu spans every active EX prior's mean +- 6.5 sd, tau 0 .. 5.5 x the largest scale;
        the mu nodes are shifted so that ``anchor`` (the logit of a decision threshold) is a
        node."""
        comps = prior.active_ex()
        low = min(c.mu_mean - 6.5 * c.mu_sd for c in comps)
        high = max(c.mu_mean + 6.5 * c.mu_sd for c in comps)
        k_low = np.floor((low - anchor) / h_mu)
        k_high = np.ceil((high - anchor) / h_mu)
        mu = anchor + h_mu * np.arange(k_low, k_high + 1)
        tau_max = 5.5 * max(c.tau_scale for c in comps)
        tau = h_tau * np.arange(int(np.ceil(tau_max / h_tau)) + 1)
        return cls(mu, tau, h_mu, h_tau)

    def log_prior(self, comp: ExComponent) -> np.ndarray:
        """Log prior density times trapezoid weight at each node (flattened mu-major)."""
        lp_mu = log_normal_pdf(self.mu, comp.mu_mean, comp.mu_sd)
        s = comp.tau_scale
        lp_tau = np.log(2.0) + log_normal_pdf(self.tau, 0.0, s)
        w_tau = np.full(self.tau.size, self.h_tau)
        w_tau[0] *= 0.5  # the integrand is even in tau: the half-line trapezoid starts at 0
        out = lp_mu[:, None] + np.log(self.h_mu) + (lp_tau + np.log(w_tau))[None, :]
        return out.ravel()

    def cell_draws(self, nodes: np.ndarray, rng: np.random.Generator):
        """``(mu, tau)`` draws uniform inside the trapezoid cells of the flattened ``nodes``
        (the first tau cell is ``[0, h_tau / 2]``)."""
        i_mu, i_tau = np.divmod(nodes, self.tau.size)
        mu = self.mu[i_mu] + self.h_mu * (rng.random(nodes.size) - 0.5)
        lo = np.maximum(self.tau[i_tau] - 0.5 * self.h_tau, 0.0)
        hi = self.tau[i_tau] + 0.5 * self.h_tau
        return mu, lo + (hi - lo) * rng.random(nodes.size)


def grid_tables(y: int, n: int, grid: MuTauGrid, threshold: float | None):
    """``log L``, tail probability (None without a threshold) and conditional mean at every grid
    node (flattened), with the ``tau = 0`` column as its limit (the point mass ``theta = mu``)."""
    mu = np.repeat(grid.mu, grid.tau.size - 1)
    tau = np.tile(grid.tau[1:], grid.mu.size)
    log_l, tail, mean = logit_normal_summaries(y, n, mu, tau, threshold)
    shape = (grid.mu.size, grid.tau.size)
    out_l, out_t, out_m = (np.empty(shape) for _ in range(3))
    out_l[:, 1:] = log_l.reshape(shape[0], -1)
    out_m[:, 1:] = mean.reshape(shape[0], -1)
    out_l[:, 0] = binom_logpmf_logit(y, n, grid.mu)
    out_m[:, 0] = expit(grid.mu)
    if threshold is None:
        return out_l.ravel(), None, out_m.ravel()
    out_t[:, 1:] = tail.reshape(shape[0], -1)
    c = float(logit(threshold))
    out_t[:, 0] = np.where(np.isclose(grid.mu, c, atol=1e-12), 0.5, (grid.mu > c).astype(float))
    return out_l.ravel(), out_t.ravel(), out_m.ravel()


def nex_integrals(y: int, n: int, mean: float, sd: float, threshold: float | None):
    """``log L``, tail probability (NaN without a threshold) and mean of a subtype under its NEX
    prior."""
    log_l, tail, m = logit_normal_summaries(y, n, np.array([mean]), np.array([sd]), threshold)
    return float(log_l[0]), np.nan if tail is None else float(tail[0]), float(m[0])


# ---- the engine --------------------------------------------------------------------------------


class ExnexComponentsPosterior:
    """Exact EXNEX posterior for outcome vectors of a design with ``n[j]`` patients.

    ``analyse(events)`` returns per subtype the posterior ``P(p_j > thresholds[j])``, the
    posterior mean of ``p_j`` and ``P(subtype j exchangeable)``; ``sample(events, draws, rng)``
    draws the hyperparameters and subtype effects; ``component_probabilities(events)`` gives
    ``P(C_j = k | y)``. Tables over the grid are built once per (events, patients, threshold) and
    reused for every outcome vector. Without ``thresholds`` (sampling only) no tail
    probabilities are computed and the grid is anchored at 0.
    """

    def __init__(
        self,
        prior: ExnexComponentsPrior,
        n: Sequence[int],
        thresholds: Sequence[float] | None = None,
        *,
        h_mu: float = 0.2,
        h_tau: float = 0.1,
    ):
        self.prior = prior
        self.n = tuple(int(v) for v in n)
        J = len(self.n)
        if thresholds is None:
            self.thresholds = (None,) * J
        else:
            self.thresholds = tuple(float(t) for t in thresholds)
            if len(self.thresholds) != J or not all(0 < t < 1 for t in self.thresholds):
                raise ValueError("give one threshold in (0, 1) per subtype")
        if J != prior.subtypes:
            raise ValueError("give one sample size per subtype of the prior")
        if J > MAX_SUBTYPES:
            raise ValueError(f"at most {MAX_SUBTYPES} subtypes")
        if any(v < 1 for v in self.n):
            raise ValueError("sample sizes must be positive")
        self.comps = prior.active_ex()
        anchor = 0.0 if thresholds is None else float(logit(self.thresholds[0]))
        self.grid = MuTauGrid.for_prior(prior, anchor, h_mu=h_mu, h_tau=h_tau)
        self.log_priors = [self.grid.log_prior(c) for c in self.comps]
        self._tables: dict[tuple, tuple] = {}
        self._nex: dict[tuple, tuple] = {}
        self._analysed: dict[tuple[int, ...], dict[str, np.ndarray]] = {}
        K = len(self.comps)
        self.assignments = np.array(list(itertools.product(range(K + 1), repeat=J)), dtype=int)
        log_w = np.log([c.weight for c in self.comps] + [prior.nex_weight])
        self.assignment_log_w = log_w[self.assignments].sum(axis=1)
        bits = 1 << np.arange(J)
        # subset of subtypes (bit mask) each EX component holds under each assignment
        self.masks = [(self.assignments == k) @ bits for k in range(K)]

    def _table(self, j: int, y: int):
        key = (y, self.n[j], self.thresholds[j])
        if key not in self._tables:
            log_l, tail, mean = grid_tables(y, self.n[j], self.grid, self.thresholds[j])
            scale = float(log_l.max())
            self._tables[key] = (np.exp(log_l - scale), scale, tail, mean)
        return self._tables[key]

    def _nex_terms(self, j: int, y: int):
        key = (y, self.n[j], self.prior.nex_mean[j], self.prior.nex_sd[j], self.thresholds[j])
        if key not in self._nex:
            self._nex[key] = nex_integrals(
                y, self.n[j], self.prior.nex_mean[j], self.prior.nex_sd[j], self.thresholds[j]
            )
        return self._nex[key]

    def _component_subsets(self, tables, log_prior, summaries: bool = True):
        """For every subset S (bit mask) of subtypes: ``log Z(S)`` and, with ``summaries``, for
        each j (meaningful for j in S), the posterior averages of the tail probability and of
        the mean."""
        J = len(tables)
        size = 1 << J
        log_z = np.empty(size)
        tail = np.zeros((size, J))
        mean = np.zeros((size, J))
        if summaries:
            tails = np.stack([t[2] for t in tables])  # (J, G)
            means = np.stack([t[3] for t in tables])
        base = np.exp(log_prior - log_prior.max())
        low_bits = min(J, 6)
        # products over the low subtypes once, then one block per subset of the high ones
        low = np.empty((1 << low_bits, base.size))
        low[0] = base
        for s in range(1, 1 << low_bits):
            top = s.bit_length() - 1
            low[s] = low[s & ~(1 << top)] * tables[top][0]
        low_scale = np.array(
            [sum(tables[i][1] for i in range(low_bits) if s >> i & 1) for s in range(len(low))]
        )
        for high in range(1 << (J - low_bits)):
            factor = np.ones(base.size)
            high_scale = 0.0
            for i in range(low_bits, J):
                if high >> (i - low_bits) & 1:
                    factor = factor * tables[i][0]
                    high_scale += tables[i][1]
            block = low * factor
            z = block.sum(axis=1)
            rows = slice(high << low_bits, (high + 1) << low_bits)
            with np.errstate(divide="ignore", invalid="ignore"):
                log_z[rows] = np.log(z) + low_scale + high_scale + log_prior.max()
                for j in range(
                    J if summaries else 0
                ):  # plain sums, not BLAS: the same bits on every machine
                    has_j = (np.arange(rows.start, rows.stop) >> j & 1).astype(bool)
                    sub = block[has_j]  # only subsets holding j are ever read for j
                    tail[rows, j][has_j] = (sub * tails[j]).sum(axis=1) / z[has_j]
                    mean[rows, j][has_j] = (sub * means[j]).sum(axis=1) / z[has_j]
        return log_z, tail, mean

    def analyse(self, events: Sequence[int]) -> dict[str, np.ndarray]:
        """Posterior ``prob_greater`` (``P(p_j > threshold_j)``), ``mean`` and
        ``prob_exchangeable`` per subtype for one outcome vector (each distinct vector is
        computed once; the engine remembers it)."""
        events = self._check(events)
        if self.thresholds[0] is None:
            raise ValueError("the decision summaries need one threshold per subtype")
        if events not in self._analysed:
            self._analysed[events] = self._analyse(events)
        return self._analysed[events]

    @property
    def analysed(self) -> int:
        """How many distinct outcome vectors this engine has analysed."""
        return len(self._analysed)

    def _check(self, events: Sequence[int]) -> tuple[int, ...]:
        events = tuple(int(v) for v in events)
        if len(events) != len(self.n) or any(
            not 0 <= y <= m for y, m in zip(events, self.n, strict=True)
        ):
            raise ValueError("one count per subtype, each between 0 and its sample size")
        return events

    def _assignment_terms(self, events: tuple[int, ...], summaries: bool):
        """Unnormalised log posterior of every assignment and, with ``summaries``, each
        subtype's tail probability and mean given the assignment (assignment x subtype)."""
        tables = [self._table(j, y) for j, y in enumerate(events)]
        nex = np.array([self._nex_terms(j, y) for j, y in enumerate(events)])  # (J, 3)
        log_p = self.assignment_log_w.copy()
        K = len(self.comps)
        is_nex = self.assignments == K
        log_p += (is_nex * nex[:, 0]).sum(axis=1)
        tail = np.where(is_nex, nex[:, 1], 0.0) if summaries else None
        mean = np.where(is_nex, nex[:, 2], 0.0) if summaries else None
        for k, log_prior in enumerate(self.log_priors):
            log_z, sub_tail, sub_mean = self._component_subsets(tables, log_prior, summaries)
            mask = self.masks[k]
            log_p += log_z[mask] - log_z[0]  # Z(empty) is the prior's total mass, i.e. one
            if summaries:
                in_k = self.assignments == k
                tail = np.where(in_k, sub_tail[mask], tail)
                mean = np.where(in_k, sub_mean[mask], mean)
        return log_p, tail, mean

    def _analyse(self, events: tuple[int, ...]) -> dict[str, np.ndarray]:
        log_p, tail, mean = self._assignment_terms(events, summaries=True)
        post = np.exp(log_p - logsumexp(log_p))
        return {
            "prob_greater": post @ tail,
            "mean": post @ mean,
            "prob_exchangeable": post @ (self.assignments < len(self.comps)).astype(float),
        }

    def assignment_posterior(self, events: Sequence[int]) -> np.ndarray:
        """Posterior probability of each assignment (rows of ``self.assignments``: the active
        EX component 0..K-1 of each subtype, or K for NEX)."""
        log_p, _, _ = self._assignment_terms(self._check(events), summaries=False)
        return np.exp(log_p - logsumexp(log_p))

    def component_probabilities(self, events: Sequence[int]) -> np.ndarray:
        """``P(C_j = k | y)`` (subtype x component: the active EX components, then NEX), the
        exact sum over assignments."""
        post = self.assignment_posterior(events)
        K = len(self.comps)
        return np.stack([post @ (self.assignments == k) for k in range(K + 1)], axis=-1)

    def sample(self, events: Sequence[int], draws: int, rng: np.random.Generator) -> dict:
        """Exact posterior draws: ``assignment`` (draw x subtype), ``mu`` and ``tau`` (active
        component x draw) and ``theta`` (draw x subtype, logit rates). An EX component holding
        no subtype in a draw has its ``(mu, tau)`` from its prior (on the grid)."""
        events = self._check(events)
        post = self.assignment_posterior(events)
        which = rng.choice(post.size, size=draws, p=post)
        assignment = self.assignments[which]
        tables = [self._table(j, y) for j, y in enumerate(events)]
        K, G = len(self.comps), self.grid.mu.size * self.grid.tau.size
        mu, tau = np.empty((K, draws)), np.empty((K, draws))
        for k, log_prior in enumerate(self.log_priors):
            subsets = self.masks[k][which]
            for subset in np.unique(subsets):
                log_w = log_prior.copy()
                with np.errstate(divide="ignore"):
                    for j in range(len(events)):
                        if subset >> j & 1:
                            log_w += np.log(tables[j][0])
                w = np.exp(log_w - log_w.max())
                rows = np.flatnonzero(subsets == subset)
                nodes = rng.choice(G, size=rows.size, p=w / w.sum())
                mu[k, rows], tau[k, rows] = self.grid.cell_draws(nodes, rng)
        nex_mean, nex_sd = np.array(self.prior.nex_mean), np.array(self.prior.nex_sd)
        centre = np.where(assignment == K, nex_mean, 0.0)
        scale = np.where(assignment == K, nex_sd, 1.0)
        for k in range(K):
            centre = np.where(assignment == k, mu[k][:, None], centre)
            scale = np.where(assignment == k, tau[k][:, None], scale)
        theta = sample_logit_normal_conditional(
            np.array(events), np.array(self.n), centre, np.maximum(scale, 1e-12), rng
        )
        return {"assignment": assignment, "mu": mu, "tau": tau, "theta": theta}
