"""Confidence intervals for a single proportion ``events / n``.

Methods (``method=``):

``"clopper-pearson"``
    Exact interval from beta quantiles; what R ``binom.test`` prints.
``"wilson"``
    Score interval without continuity correction; R ``prop.test(correct=FALSE)``.
``"wald"``
    ``p +/- z sqrt(p(1-p)/n)``, truncated to [0, 1].
``"spss-t"``
    What SPSS "Explore" prints for the mean of a 0/1 variable: ``p +/- t_{n-1} s / sqrt(n)`` with
    ``s`` the sample standard deviation (divisor ``n - 1``), truncated to [0, 1]. Papers often label
    it "95% CI" of a rate without saying so.
``"agresti-coull"``, ``"jeffreys"``
    Adjusted Wald and equal-tailed Jeffreys (Beta(1/2, 1/2) posterior) intervals.

Every function is vectorised over arrays of events and n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.frequentist.distributions import beta_ppf, norm_ppf, t_ppf

METHODS = ("clopper-pearson", "wilson", "wald", "spss-t", "agresti-coull", "jeffreys")


@dataclass(frozen=True)
class ProportionInterval:
    """Point estimates and interval bounds for one or more proportions."""

    method: str
    level: float
    events: np.ndarray
    n: np.ndarray
    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray

    def to_frame(self, labels: list[str] | None = None) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "method": self.method,
                "events": self.events,
                "n": self.n,
                "estimate": self.estimate,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )
        if labels is not None:
            frame.insert(0, "label", labels)
        return frame


def _check(events, n):
    events = np.atleast_1d(np.asarray(events, dtype=np.int64))
    n = np.atleast_1d(np.asarray(n, dtype=np.int64))
    events, n = np.broadcast_arrays(events, n)
    if np.any(n < 1):
        raise ValueError("n must be >= 1")
    if np.any((events < 0) | (events > n)):
        raise ValueError("events must lie in [0, n]")
    return events, n


def proportion_ci(
    events, n, method: str = "clopper-pearson", level: float = 0.95
) -> ProportionInterval:
    """Confidence interval(s) for ``events / n`` by the named method (see module docstring)."""
    if method not in METHODS:
        raise ValueError(f"unknown interval method {method!r}; choose from {', '.join(METHODS)}")
    if not 0 < level < 1:
        raise ValueError("level must lie in (0, 1)")
    events, n = _check(events, n)
    alpha = 1 - level
    p = events / n
    z = norm_ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "clopper-pearson":
            low = np.where(events == 0, 0.0, beta_ppf(alpha / 2, events, n - events + 1))
            high = np.where(events == n, 1.0, beta_ppf(1 - alpha / 2, events + 1, n - events))
        elif method == "wilson":
            centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
            half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
            low, high = centre - half, centre + half
        elif method == "wald":
            half = z * np.sqrt(p * (1 - p) / n)
            low, high = p - half, p + half
        elif method == "spss-t":
            t = t_ppf(1 - alpha / 2, np.maximum(n - 1, 1))
            sd = np.sqrt(np.where(n > 1, p * (1 - p) * n / np.maximum(n - 1, 1), 0.0))
            half = np.where(n > 1, t * sd / np.sqrt(n), np.nan)
            low, high = p - half, p + half
        elif method == "agresti-coull":
            n_t = n + z**2
            p_t = (events + z**2 / 2) / n_t
            half = z * np.sqrt(p_t * (1 - p_t) / n_t)
            low, high = p_t - half, p_t + half
        else:  # jeffreys
            low = np.where(events == 0, 0.0, beta_ppf(alpha / 2, events + 0.5, n - events + 0.5))
            high = np.where(
                events == n, 1.0, beta_ppf(1 - alpha / 2, events + 0.5, n - events + 0.5)
            )
    low = np.clip(np.asarray(low, dtype=float), 0.0, 1.0)
    high = np.clip(np.asarray(high, dtype=float), 0.0, 1.0)
    return ProportionInterval(method, level, events, n, p.astype(float), low, high)
