"""Comparisons of two proportions ``e1/n1`` against ``e2/n2``.

* :func:`fisher_exact`   Fisher's exact test (two-sided p as R ``fisher.test``: sum of tables no
  more probable than the observed one), with the conditional-MLE-free sample odds ratio.
* :func:`chi_square`     Pearson chi-square on the 2x2 table, with or without Yates' correction
  (R ``chisq.test(correct=TRUE/FALSE)``).
* :func:`risk_difference` ``e1/n1 - e2/n2`` with a Wald interval (R ``prop.test`` reports the same
  interval when ``correct=FALSE``) or a Newcombe hybrid-score interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayes_anlo.frequentist.distributions import chi2_sf, norm_ppf


@dataclass(frozen=True)
class TestResult:
    method: str
    statistic: float
    p_value: float
    df: int | None = None


@dataclass(frozen=True)
class RiskDifference:
    method: str
    estimate: float
    ci_low: float
    ci_high: float
    level: float


def _table(e1: int, n1: int, e2: int, n2: int) -> np.ndarray:
    for name, (e, n) in {"group 1": (e1, n1), "group 2": (e2, n2)}.items():
        if int(n) < 1 or not 0 <= int(e) <= int(n):
            raise ValueError(f"{name}: need 0 <= events <= n and n >= 1, got {e}/{n}")
    return np.array([[e1, n1 - e1], [e2, n2 - e2]], dtype=np.int64)


def fisher_exact(e1: int, n1: int, e2: int, n2: int, alternative: str = "two-sided") -> TestResult:
    """Fisher's exact test; ``statistic`` is the sample odds ratio (inf/nan where undefined)."""
    table = _table(e1, n1, e2, n2)
    from scipy import stats  # here: scipy.stats costs about a second to import

    res = stats.fisher_exact(table, alternative=alternative)
    return TestResult("fisher", float(res.statistic), float(res.pvalue))


def chi_square(e1: int, n1: int, e2: int, n2: int, correction: bool = False) -> TestResult:
    """Pearson's chi-square test of independence on the 2x2 table.

    With ``correction=True`` Yates' continuity correction is applied as R does: the absolute
    deviation is reduced by ``min(0.5, |O - E|)``. Returns NaN when a margin is zero.
    """
    table = _table(e1, n1, e2, n2)
    rows, cols, total = table.sum(1), table.sum(0), table.sum()
    if np.any(cols == 0):
        return TestResult(
            "chi-square" + (" (Yates)" if correction else ""), float("nan"), float("nan"), 1
        )
    expected = np.outer(rows, cols) / total
    dev = np.abs(table - expected)
    if correction:
        dev = dev - np.minimum(0.5, dev)
    statistic = float(np.sum(dev**2 / expected))
    return TestResult(
        "chi-square (Yates)" if correction else "chi-square",
        statistic,
        float(chi2_sf(statistic, 1)),
        1,
    )


def risk_difference(
    e1: int, n1: int, e2: int, n2: int, level: float = 0.95, method: str = "wald"
) -> RiskDifference:
    """Difference of proportions ``p1 - p2`` with a Wald or Newcombe (hybrid Wilson score) CI."""
    _table(e1, n1, e2, n2)
    p1, p2 = e1 / n1, e2 / n2
    z = norm_ppf(1 - (1 - level) / 2)
    diff = p1 - p2
    if method == "wald":
        half = z * np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        low, high = diff - half, diff + half
    elif method == "newcombe":
        from bayes_anlo.frequentist.intervals import proportion_ci

        w1 = proportion_ci(e1, n1, "wilson", level)
        w2 = proportion_ci(e2, n2, "wilson", level)
        l1, u1, l2, u2 = w1.ci_low[0], w1.ci_high[0], w2.ci_low[0], w2.ci_high[0]
        low = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    else:
        raise ValueError("method must be 'wald' or 'newcombe'")
    return RiskDifference(method, float(diff), float(max(low, -1.0)), float(min(high, 1.0)), level)
