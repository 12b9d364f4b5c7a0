"""Mixtures of beta densities: the conjugate family that MAP priors, ESS and decision rules use.

A :class:`BetaMixture` is ``sum_k w_k Beta(a_k, b_k)``. Everything a design needs is exact
through conjugacy: the posterior after ``y`` responders out of ``n`` is again a beta mixture (each
component updated, each weight multiplied by its beta-binomial marginal likelihood and
renormalised), and the predictive count of a new trial is a mixture of beta-binomials.

:func:`robustify` adds a weakly informative component (Schmidli et al. 2014, Biometrics 70:1023):
``Beta(m (n + 1), (1 - m)(n + 1))`` of weight ``w``, the mean-``m`` beta worth ``n + 1`` patients;
with the defaults ``m = 1/2, n = 1`` that is ``Beta(1, 1)``, the choice of R RBesT's
``robustify`` for binary endpoints (documented there; this is an independent implementation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

#: Probabilities of the summary quantiles (as RBesT's summary of a mixture prints them).
SUMMARY_QUANTILES = (0.025, 0.5, 0.975)


def _as_tuple(values) -> tuple[float, ...]:
    return tuple(float(v) for v in np.atleast_1d(np.asarray(values, dtype=float)))


@dataclass(frozen=True)
class BetaMixture:
    """``sum_k weights[k] * Beta(a[k], b[k])`` on the unit interval.

    Weights are positive and sum to one (:meth:`of` normalises them); ``labels`` name the
    components (``comp1``, ``comp2`` ... and ``robust`` for a robustifying component).
    """

    weights: tuple[float, ...]
    a: tuple[float, ...]
    b: tuple[float, ...]
    labels: tuple[str, ...] = ()

    def __post_init__(self):
        w, a, b = (np.asarray(v, dtype=float) for v in (self.weights, self.a, self.b))
        if not (w.ndim == a.ndim == b.ndim == 1 and w.size == a.size == b.size >= 1):
            raise ValueError("weights, a and b need one value per component (at least one)")
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and abs(w.sum() - 1.0) < 1e-9):
            raise ValueError(
                "weights must be non-negative and sum to 1 (BetaMixture.of normalises)"
            )
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(a > 0)):
            raise ValueError("beta parameters a and b must be finite and positive")
        if not np.all(b > 0):
            raise ValueError("beta parameters a and b must be finite and positive")
        labels = tuple(self.labels) or tuple(f"comp{k + 1}" for k in range(w.size))
        if len(labels) != w.size:
            raise ValueError("one label per component")
        object.__setattr__(self, "labels", labels)

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def of(cls, weights, a, b, labels: Sequence[str] = ()) -> BetaMixture:
        """A mixture from (possibly unnormalised) weights and the components' ``a`` and ``b``."""
        w = np.asarray(_as_tuple(weights))
        if np.any(w < 0) or not np.isfinite(w.sum()) or w.sum() <= 0:
            raise ValueError("weights must be non-negative with a positive sum")
        return cls(_as_tuple(w / w.sum()), _as_tuple(a), _as_tuple(b), tuple(labels))

    @classmethod
    def beta(cls, a: float, b: float) -> BetaMixture:
        """The single ``Beta(a, b)``."""
        return cls((1.0,), (float(a),), (float(b),))

    @classmethod
    def from_dict(cls, d: dict) -> BetaMixture:
        """Inverse of :meth:`to_dict` (``{"components": [{"label", "weight", "a", "b"}, ...]}``)."""
        comps = d["components"]
        return cls.of(
            [c["weight"] for c in comps],
            [c["a"] for c in comps],
            [c["b"] for c in comps],
            [c.get("label", f"comp{k + 1}") for k, c in enumerate(comps)],
        )

    def to_dict(self) -> dict:
        return {
            "components": [
                {"label": lab, "weight": w, "a": a, "b": b}
                for lab, w, a, b in zip(self.labels, self.weights, self.a, self.b, strict=True)
            ]
        }

    # ---- arrays ---------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self.weights)

    def _wab(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.asarray(self.weights), np.asarray(self.a), np.asarray(self.b)

    # ---- density and distribution ---------------------------------------------------------
    def component_logpdf(self, x) -> np.ndarray:
        """``log w_k + log Beta(x; a_k, b_k)``, shape ``x.shape + (components,)``."""
        w, a, b = self._wab()
        x = np.asarray(x, dtype=float)[..., None]
        with np.errstate(divide="ignore"):
            return np.log(w) + stats.beta.logpdf(x, a, b)

    def logpdf(self, x) -> np.ndarray:
        return special.logsumexp(self.component_logpdf(x), axis=-1)

    def pdf(self, x) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def cdf(self, x) -> np.ndarray:
        w, a, b = self._wab()
        x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)[..., None]
        return np.sum(w * special.betainc(a, b, x), axis=-1)

    def sf(self, x) -> np.ndarray:
        """``P(theta > x)``, computed with the complementary incomplete beta (no cancellation)."""
        w, a, b = self._wab()
        x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)[..., None]
        return np.sum(w * special.betaincc(a, b, x), axis=-1)

    def ppf(self, q) -> np.ndarray:
        """Quantiles (root of the CDF, to about 1e-12)."""
        q = np.atleast_1d(np.asarray(q, dtype=float))
        if np.any((q < 0) | (q > 1)):
            raise ValueError("quantile probabilities lie in [0, 1]")
        out = np.empty_like(q)
        for i, p in enumerate(q):
            if p <= 0.0 or p >= 1.0:
                out[i] = float(p >= 1.0)
                continue
            out[i] = optimize.brentq(lambda x, p=p: float(self.cdf(x)) - p, 0.0, 1.0, xtol=1e-13)
        return out

    def mean(self) -> float:
        w, a, b = self._wab()
        return float(np.sum(w * a / (a + b)))

    def var(self) -> float:
        w, a, b = self._wab()
        m = a / (a + b)
        second = m * (a + 1) / (a + b + 1)
        return float(np.sum(w * second) - self.mean() ** 2)

    def sd(self) -> float:
        return float(np.sqrt(self.var()))

    def summary(self) -> dict[str, float]:
        """Mean, sd, 2.5% quantile, median, 97.5% quantile."""
        q = self.ppf(SUMMARY_QUANTILES)
        return {
            "mean": self.mean(),
            "sd": self.sd(),
            "q2.5": float(q[0]),
            "median": float(q[1]),
            "q97.5": float(q[2]),
        }

    def modes(self) -> np.ndarray:
        """Local maxima of the density, highest first: maxima of the log density on a fine
        logit-spaced grid that rise above both sides by more than rounding (so a flat stretch, such
        as a Beta(1, 1) component's, yields none), each refined by a bounded search; a density
        rising into 0 or 1 has its mode there."""
        x = special.expit(np.linspace(-14, 14, 4001))
        f = self.logpdf(x)
        found = []
        for i in np.flatnonzero((f[1:-1] >= f[:-2]) & (f[1:-1] > f[2:])) + 1:
            if f[i] - f[: i + 1].min() < 1e-9 or f[i] - f[i:].min() < 1e-9:
                continue
            res = optimize.minimize_scalar(
                lambda t: -float(self.logpdf(t)), bounds=(x[i - 1], x[i + 1]), method="bounded"
            )
            found.append((float(-res.fun), float(res.x)))
        if f[0] - f.min() > 1e-9 and f[0] > f[1]:
            found.append((float(f[0]), 0.0))
        if f[-1] - f.min() > 1e-9 and f[-1] > f[-2]:
            found.append((float(f[-1]), 1.0))
        found.sort(reverse=True)
        return np.array([m for _, m in found])

    def mode(self) -> float:
        """The highest mode (ValueError for a flat density, which has none)."""
        modes = self.modes()
        if modes.size == 0:
            raise ValueError("the density is flat: no mode")
        return float(modes[0])

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        w, a, b = self._wab()
        k = rng.choice(w.size, size=int(size), p=w)
        return rng.beta(a[k], b[k])

    # ---- conjugate arithmetic -------------------------------------------------------------
    def posterior(self, events: int, n: int) -> BetaMixture:
        """The posterior after ``events`` responders out of ``n`` (exact, conjugate)."""
        events, n = int(events), int(n)
        if not 0 <= events <= n:
            raise ValueError(f"need 0 <= events <= n, not {events} of {n}")
        w, a, b = self._wab()
        a1, b1 = a + events, b + n - events
        logw = np.log(w) + special.betaln(a1, b1) - special.betaln(a, b)
        logw -= logw.max()
        return BetaMixture.of(np.exp(logw), a1, b1, self.labels)

    def predictive_pmf(self, n: int) -> np.ndarray:
        """``P(Y = y)``, ``y = 0..n``, for ``Y ~ Binomial(n, theta)`` with ``theta`` from this
        mixture."""
        w, a, b = self._wab()
        y = np.arange(int(n) + 1)[:, None]
        logp = (
            special.gammaln(n + 1)
            - special.gammaln(y + 1)
            - special.gammaln(n - y + 1)
            + special.betaln(a + y, b + n - y)
            - special.betaln(a, b)
        )
        pmf = np.exp(logp) @ w
        return pmf / pmf.sum()


def robustify(mixture: BetaMixture, weight: float, mean: float = 0.5, n: float = 1.0):
    """``(1 - weight) * mixture + weight * Beta(mean (n + 1), (1 - mean)(n + 1))``.

    The added component (label ``robust``) is worth ``n + 1`` patients of mean ``mean``; the
    defaults give ``Beta(1, 1)``. Schmidli et al. (2014), Biometrics 70:1023, section 3.
    """
    weight, mean, n = float(weight), float(mean), float(n)
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"robust weight must lie in [0, 1], not {weight:g}")
    if not 0.0 < mean < 1.0:
        raise ValueError(f"robust mean must lie in (0, 1), not {mean:g}")
    if not n >= 0 or not np.isfinite(n):
        raise ValueError("robust n must be finite and >= 0")
    w = [*(np.asarray(mixture.weights) * (1.0 - weight)), weight]
    a = [*mixture.a, mean * (n + 1.0)]
    b = [*mixture.b, (1.0 - mean) * (n + 1.0)]
    return BetaMixture.of(w, a, b, [*mixture.labels, "robust"])
