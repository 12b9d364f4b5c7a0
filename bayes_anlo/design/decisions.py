"""Bayesian decision rules for one- and two-sample binary trials, their boundaries, operating
characteristics and probability of success, computed exactly through beta-mixture conjugacy.

A rule is one or more :class:`Criterion` that must all hold:

* one sample, on the response rate ``p``: ``P(p > t | data) > c`` (``direction="greater"``) or
  ``P(p < t | data) > c`` (``"less"``);
* two samples, on the difference ``p_T - p_C`` (treatment minus control): ``P(p_T - p_C > d |
  data) > c`` or ``P(p_T - p_C < d | data) > c``.

Posteriors are beta mixtures (:meth:`BetaMixture.posterior`), so a decision for given outcomes is
exact up to one-dimensional quadrature (the probability of a difference, :func:`prob_difference`).
Every possible outcome of the trial is then decided once: a one-sample trial of ``n`` patients has
``n + 1`` outcomes; a two-sample trial has a success matrix over ``(y_T, y_C)``, found per ``y_C``
by bisection over ``y_T`` when the criteria all point the same way (the posterior of ``p_T`` is
stochastically increasing in ``y_T`` for any prior, by the monotone likelihood ratio of the
binomial; the same for ``p_C``), else outcome by outcome. Operating characteristics and
probability of success are sums of binomial or beta-binomial probabilities over the success set,
with no simulation (the tests check them against simulation and against RBesT's published values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from bayes_anlo.design.mixtures import BetaMixture

DIRECTIONS = ("greater", "less")


@dataclass(frozen=True)
class Criterion:
    """``P(quantity > threshold) > probability`` (``greater``) or ``P(quantity < threshold) >
    probability`` (``less``)."""

    threshold: float
    probability: float
    direction: str = "greater"

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'greater' or 'less', not {self.direction!r}")
        if not 0.0 < float(self.probability) < 1.0:
            raise ValueError(f"a criterion's probability lies in (0, 1), not {self.probability:g}")
        if not np.isfinite(self.threshold) or not -1.0 < float(self.threshold) < 1.0:
            raise ValueError(f"a criterion's threshold lies in (-1, 1), not {self.threshold:g}")

    def met(self, prob_greater: float) -> bool:
        """Whether the criterion holds, given ``P(quantity > threshold)``."""
        p = prob_greater if self.direction == "greater" else 1.0 - prob_greater
        return bool(p > self.probability)

    def describe(self, quantity: str) -> str:
        sign = ">" if self.direction == "greater" else "<"
        return f"P({quantity} {sign} {self.threshold:g}) > {self.probability:g}"


def _criteria(criteria: Sequence[Criterion] | Criterion) -> tuple[Criterion, ...]:
    out = (criteria,) if isinstance(criteria, Criterion) else tuple(criteria)
    if not out or not all(isinstance(c, Criterion) for c in out):
        raise ValueError("a rule needs at least one Criterion")
    return out


def prob_difference(post_t: BetaMixture, post_c: BetaMixture, d: float) -> float:
    """``P(p_T - p_C > d)`` for independent ``p_T ~ post_t``, ``p_C ~ post_c``.

    ``sum_j v_j int_0^1 S_T(F_j^{-1}(u) + d) du`` over the control components ``j`` (weights
    ``v_j``, quantile functions ``F_j^{-1}``), with ``S_T`` the survival function of ``p_T``: a
    bounded integrand on the unit interval, integrated adaptively (absolute error < 1e-10). The
    integrand has a kink where ``p_C + d`` leaves the unit interval (``S_T`` is 0 above 1 and 1
    below 0); that point is given to the quadrature, which otherwise stalls on roundoff there
    (an error near 1e-6 for concentrated posteriors).
    """
    total = 0.0
    for v, a, b in zip(post_c.weights, post_c.a, post_c.b, strict=True):

        def integrand(u, a=a, b=b):
            return float(post_t.sf(special.betaincinv(a, b, u) + d))

        edge = 1.0 - d if d > 0 else -d  # where p_C + d reaches 1 (or 0)
        kink = float(special.betainc(a, b, edge)) if 0.0 < edge < 1.0 else None
        points = [kink] if kink is not None and 0.0 < kink < 1.0 else None
        value, _ = integrate.quad(
            integrand, 0.0, 1.0, points=points, limit=200, epsabs=1e-11, epsrel=1e-10
        )
        total += v * value
    return float(min(max(total, 0.0), 1.0))


@dataclass(frozen=True)
class OneSampleRule:
    """All criteria on the response rate ``p`` must hold."""

    criteria: tuple[Criterion, ...]

    def __init__(self, criteria):
        object.__setattr__(self, "criteria", _criteria(criteria))

    def decide(self, posterior: BetaMixture) -> bool:
        return all(c.met(float(posterior.sf(c.threshold))) for c in self.criteria)

    def describe(self) -> str:
        return " and ".join(c.describe("p") for c in self.criteria)

    def success(self, prior: BetaMixture, n: int, *, prior_events: int = 0, prior_n: int = 0):
        """Boolean vector over ``y = 0..n``: the decision after ``prior_events + y`` responders out
        of ``prior_n + n`` (``prior_*``: data already in hand, e.g. at an interim)."""
        return np.array(
            [self.decide(prior.posterior(prior_events + y, prior_n + n)) for y in range(n + 1)]
        )

    def boundary(self, prior: BetaMixture, n: int) -> pd.DataFrame:
        """The decision for every outcome ``y`` of ``n`` patients, and the posterior
        probability of each criterion (one row per outcome)."""
        rows = []
        for y in range(int(n) + 1):
            post = prior.posterior(y, n)
            row = {"events": y}
            for c in self.criteria:
                prob = float(post.sf(c.threshold))
                row[c.describe("p")] = prob if c.direction == "greater" else 1.0 - prob
            row["success"] = self.decide(post)
            rows.append(row)
        return pd.DataFrame(rows)


def critical_events(success: np.ndarray) -> int | None:
    """The smallest number of events with success when successes form an upper set (``y >=
    crit``), else ``None`` if there is none; raises if the success set is not an upper set."""
    idx = np.flatnonzero(success)
    if idx.size == 0:
        return None
    if not np.all(success[idx[0] :]):
        raise ValueError("the success set is not of the form y >= crit")
    return int(idx[0])


def oc_one_sample(rule: OneSampleRule, prior: BetaMixture, n: int, rates) -> np.ndarray:
    """``P(success | p)`` for each true rate in ``rates`` (exact binomial sums)."""
    success = rule.success(prior, int(n))
    rates = np.asarray(rates, dtype=float)
    pmf = stats.binom.pmf(np.arange(int(n) + 1), int(n), rates[..., None])
    return pmf @ success.astype(float)


def pos_one_sample(
    rule: OneSampleRule,
    prior: BetaMixture,
    n: int,
    *,
    belief: BetaMixture | None = None,
    interim: tuple[int, int] = (0, 0),
) -> float:
    """Probability of success of a trial of ``n`` (further) patients analysed with ``prior``.

    ``interim = (events, patients)`` already observed enter the final analysis and update the
    ``belief`` about ``p`` (default: the analysis prior) from which the remaining outcomes are
    predicted; so ``interim=(0, 0)`` is the probability of success given historical data encoded
    in ``belief``, and with interim data it is the predictive probability of success.
    """
    y0, n0 = (int(v) for v in interim)
    belief = (belief or prior).posterior(y0, n0)
    success = rule.success(prior, int(n), prior_events=y0, prior_n=n0)
    return float(belief.predictive_pmf(int(n)) @ success.astype(float))


@dataclass(frozen=True)
class TwoSampleRule:
    """All criteria on the difference ``p_T - p_C`` must hold."""

    criteria: tuple[Criterion, ...]

    def __init__(self, criteria):
        object.__setattr__(self, "criteria", _criteria(criteria))

    def decide(self, post_t: BetaMixture, post_c: BetaMixture) -> bool:
        for c in self.criteria:
            if not c.met(prob_difference(post_t, post_c, c.threshold)):
                return False
        return True

    def describe(self) -> str:
        return " and ".join(c.describe("p_T - p_C") for c in self.criteria)

    def success_matrix(
        self,
        prior_t: BetaMixture,
        prior_c: BetaMixture,
        n_t: int,
        n_c: int,
        *,
        interim_t: tuple[int, int] = (0, 0),
        interim_c: tuple[int, int] = (0, 0),
    ) -> np.ndarray:
        """Boolean ``(n_t + 1, n_c + 1)`` matrix: success for ``y_T`` and ``y_C`` further events
        (added to the ``interim_*`` ``(events, patients)`` in the analysis)."""
        n_t, n_c = int(n_t), int(n_c)
        yt0, nt0 = interim_t
        yc0, nc0 = interim_c
        post_t = [prior_t.posterior(yt0 + y, nt0 + n_t) for y in range(n_t + 1)]
        out = np.zeros((n_t + 1, n_c + 1), dtype=bool)
        directions = {c.direction for c in self.criteria}
        for yc in range(n_c + 1):
            post_c = prior_c.posterior(yc0 + yc, nc0 + n_c)

            def decide(yt, post_c=post_c):
                return self.decide(post_t[yt], post_c)

            if directions == {"greater"}:  # success is y_T >= crit
                out[:, yc] = _upper_set(decide, n_t)
            elif directions == {"less"}:  # success is y_T <= crit
                out[:, yc] = _upper_set(lambda yt, f=decide: f(n_t - yt), n_t)[::-1]
            else:
                out[:, yc] = [decide(yt) for yt in range(n_t + 1)]
        return out


def _upper_set(decide, n: int) -> np.ndarray:
    """``decide`` is monotone (False ... False True ... True) on 0..n: its values, by bisection."""
    out = np.zeros(n + 1, dtype=bool)
    if not decide(n):
        return out
    if decide(0):
        return ~out
    lo, hi = 0, n  # decide(lo) False, decide(hi) True
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if decide(mid):
            hi = mid
        else:
            lo = mid
    out[hi:] = True
    return out


def boundary_two_sample(success: np.ndarray) -> pd.DataFrame:
    """From a success matrix: per control outcome ``y_C``, the fewest treatment events with
    success (``min_treatment_events``), and per treatment outcome ``y_T`` the most control events
    with success (``max_control_events``); empty (NA) where no outcome succeeds."""
    n_t, n_c = success.shape[0] - 1, success.shape[1] - 1
    rows = []
    for y in range(max(n_t, n_c) + 1):
        row = {"events": y}
        if y <= n_c:
            idx = np.flatnonzero(success[:, y])
            row["min_treatment_events"] = int(idx[0]) if idx.size else pd.NA
        if y <= n_t:
            idx = np.flatnonzero(success[y, :])
            row["max_control_events"] = int(idx[-1]) if idx.size else pd.NA
        rows.append(row)
    return pd.DataFrame(rows).astype(
        {"min_treatment_events": "Int64", "max_control_events": "Int64"}
    )


def oc_two_sample(success: np.ndarray, rate_t, rate_c) -> np.ndarray:
    """``P(success | p_T, p_C)`` elementwise over (broadcast) ``rate_t`` and ``rate_c``, from the
    success matrix of a rule (exact double binomial sum)."""
    rate_t, rate_c = np.broadcast_arrays(np.asarray(rate_t, float), np.asarray(rate_c, float))
    n_t, n_c = success.shape[0] - 1, success.shape[1] - 1
    pt = stats.binom.pmf(np.arange(n_t + 1), n_t, rate_t[..., None])
    pc = stats.binom.pmf(np.arange(n_c + 1), n_c, rate_c[..., None])
    return np.sum((pt @ success.astype(float)) * pc, axis=-1)


def pos_two_sample(success: np.ndarray, belief_t: BetaMixture, belief_c: BetaMixture) -> float:
    """Probability of success: the success matrix weighted by the beta-binomial predictive
    probabilities of the outcomes under the beliefs about ``p_T`` and ``p_C`` (for a trial with
    interim data, pass the beliefs updated by it and the matrix made with ``interim_*``)."""
    n_t, n_c = success.shape[0] - 1, success.shape[1] - 1
    return float(
        belief_t.predictive_pmf(n_t) @ success.astype(float) @ belief_c.predictive_pmf(n_c)
    )


def difference_for_power(
    success: np.ndarray, rate_c: float, power: float, *, upper: float | None = None
) -> float:
    """The smallest ``delta`` with ``P(success | p_C + delta, p_C) = power`` (root search;
    RBesT's vignette finds the same with ``uniroot``)."""
    upper = 1.0 - rate_c if upper is None else upper

    def gap(delta):
        return float(oc_two_sample(success, rate_c + delta, rate_c)) - power

    return float(optimize.brentq(gap, 0.0, upper - 1e-12, xtol=1e-10))
