"""Conjugate (closed-form) posteriors: one binomial rate, and two independent rates.

* One rate: ``y_i ~ Binomial(n_i, p)``, ``p ~ Beta(a, b)`` gives
  ``p | y ~ Beta(a + sum y, b + sum (n - y))``.
* Two arms with independent ``Beta(a, b)`` priors: each arm's rate is Beta as above, and

  - ``P(p1 > p2) = Int_0^1 f1(x) F2(x) dx`` (one-dimensional quadrature),
  - the CDF of ``D = p1 - p2`` is ``P(D <= d) = P(p2 >= p1 - d) = Int_0^1 f1(x) (1 - F2(x - d))
    dx``, and its quantiles come from root-finding on that CDF,
  - ``E[p1 - p2] = E p1 - E p2``, ``E[p1 / p2] = E p1 * E[1 / p2] = E p1 * (a2 + b2 - 1) / (a2 -
    1)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# scipy.integrate, scipy.optimize, scipy.stats and pandas are imported where they are used: the
# single-rate update (``bayes-anlo rates`` on one study) needs none of them.


@dataclass(frozen=True)
class BetaPosterior:
    """``Beta(alpha, beta)`` posterior of one rate."""

    alpha: float
    beta: float

    @property
    def dist(self):
        from scipy import stats

        return stats.beta(self.alpha, self.beta)

    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def quantile(self, q) -> np.ndarray:
        return self.dist.ppf(q)

    def sample(self, size, rng: np.random.Generator) -> np.ndarray:
        """iid draws of the rate (``size`` as NumPy takes it, e.g. ``(chains, draws)``)."""
        return rng.beta(self.alpha, self.beta, size=size)


def beta_update(events, n, alpha: float, beta: float) -> BetaPosterior:
    """Posterior of a common rate: ``Beta(alpha + sum y, beta + sum (n - y))``."""
    events = np.asarray(events, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    return BetaPosterior(float(alpha + events.sum()), float(beta + (n - events).sum()))


def beta_draws(rng: np.random.Generator, a, b, size=None) -> np.ndarray:
    """``Beta(a, b)`` draws, guarding against parameters so small that they underflow to 0."""
    tiny = np.finfo(float).tiny
    return rng.beta(np.maximum(a, tiny), np.maximum(b, tiny), size=size)


def _integrand_limits(post: BetaPosterior):
    lo, hi = post.dist.ppf([1e-13, 1 - 1e-13])
    return float(lo), float(hi)


def prob_greater(p1: BetaPosterior, p2: BetaPosterior) -> float:
    """``P(p1 > p2)`` for independent Beta rates, by quadrature of ``f1(x) F2(x)``."""
    from scipy import integrate

    lo, hi = _integrand_limits(p1)
    value, _ = integrate.quad(
        lambda x: p1.dist.pdf(x) * p2.dist.cdf(x), lo, hi, epsabs=1e-12, epsrel=1e-10, limit=200
    )
    return float(value)


@functools.cache
def _gauss_legendre(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [-1, 1], computed on first use (an n x n eigenproblem: not at
    import, which ``bayes-anlo rates`` would pay for without needing it)."""
    return np.polynomial.legendre.leggauss(n)


def difference_cdf(p1: BetaPosterior, p2: BetaPosterior, d) -> np.ndarray:
    """``P(p1 - p2 <= d) = Int f1(x) P(p2 >= x - d) dx`` (400-node Gauss-Legendre over the central
    1 - 2e-13 of p1's distribution; vectorised over ``d``)."""
    lo, hi = _integrand_limits(p1)
    nodes, weights = _gauss_legendre()
    x = 0.5 * (hi - lo) * nodes + 0.5 * (hi + lo)
    w = 0.5 * (hi - lo) * weights * p1.dist.pdf(x)
    d = np.atleast_1d(np.asarray(d, dtype=float))
    return (w * p2.dist.sf(x[None, :] - d[:, None])).sum(axis=1)


def difference_quantile(p1: BetaPosterior, p2: BetaPosterior, q: float) -> float:
    """Quantile of ``p1 - p2`` by root-finding on :func:`difference_cdf`."""
    from scipy import optimize

    return float(optimize.brentq(lambda d: difference_cdf(p1, p2, d)[0] - q, -1.0, 1.0, xtol=1e-10))


@dataclass(frozen=True)
class TwoArmExact:
    """Exact posterior summaries of two independent binomial rates with Beta priors.

    ``difference = rate[arms[0]] - rate[arms[1]]`` and ``prob_superior = P(difference > 0)``.
    """

    arms: tuple[str, str]
    posteriors: tuple[BetaPosterior, BetaPosterior]

    @property
    def prob_superior(self) -> float:
        return prob_greater(*self.posteriors)

    def difference_mean(self) -> float:
        return self.posteriors[0].mean() - self.posteriors[1].mean()

    def difference_quantile(self, q) -> np.ndarray:
        return np.array([difference_quantile(*self.posteriors, float(v)) for v in np.atleast_1d(q)])

    def ratio_mean(self) -> float:
        """``E[p1 / p2] = E p1 * (a2 + b2 - 1) / (a2 - 1)`` (finite when ``a2 > 1``)."""
        a2, b2 = self.posteriors[1].alpha, self.posteriors[1].beta
        return self.posteriors[0].mean() * (a2 + b2 - 1) / (a2 - 1) if a2 > 1 else float("inf")

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = []
        for arm, post in zip(self.arms, self.posteriors, strict=True):
            q = post.quantile([0.025, 0.5, 0.975])
            rows.append(
                {
                    "quantity": f"rate[{arm}]",
                    "alpha": post.alpha,
                    "beta": post.beta,
                    "mean": post.mean(),
                    "q2.5": q[0],
                    "q50": q[1],
                    "q97.5": q[2],
                }
            )
        q = self.difference_quantile([0.025, 0.5, 0.975])
        rows.append(
            {
                "quantity": "difference",
                "mean": self.difference_mean(),
                "q2.5": q[0],
                "q50": q[1],
                "q97.5": q[2],
            }
        )
        rows.append({"quantity": "prob_superior", "mean": self.prob_superior})
        return pd.DataFrame(rows)
