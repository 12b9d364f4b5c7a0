"""Back-solving: which counts, denominators and methods reproduce a printed number?

When a printed percentage, interval or p-value is not reproduced by the counts the paper states
(or the paper states none), the audit searches counts and denominators near the stated ones
under every method it knows and lists the combinations that *print* as the paper printed them
(same decimals, :mod:`bayes_anlo.audit.printed`), most plausible first.

Search ranges (documented in ``docs/audit.md``):

* with a stated count ``k`` and denominator ``n``: counts ``k ± max(3, 10% of k)`` and
  denominators ``n ± max(2, 5% of n)``, each step at most 50 (:func:`near`);
* with a stated ``n`` only: every count ``0..n`` that the interval allows;
* with no denominator: ``n`` implied by the interval's width (``n ≈ z² p(1-p) / half-width²``)
  from a third to three times that value, within :data:`PLAUSIBLE_N` (1 to 10,000 patients);
  for each n the counts within half the interval's half-width (at least 3) of its midpoint;
  a printed percentage beside the interval restricts the counts to those that print as it;
* p-values: the 2x2 tables with each count within ±:data:`PVALUE_COUNT_STEP` of the stated
  ones, and each denominator within ±1 (the stated counts), under each test.

Ranking: the fewest changes from the stated numbers first (``|Δcount| + |Δn|``, summed over both
groups for p-values), then the method the paper names, then the usual method order; without stated
numbers, the candidate whose unrounded result is closest to the printing (in half-units of the
printed precision) comes first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bayes_anlo.audit.printed import Printed
from bayes_anlo.frequentist.distributions import norm_ppf
from bayes_anlo.frequentist.intervals import METHODS as INTERVAL_METHODS
from bayes_anlo.frequentist.intervals import proportion_ci

#: Denominators searched when a paper prints no n (a single-arm oncology study or a pooled
#: analysis of a few of them).
PLAUSIBLE_N = (1, 10_000)
#: Counts of each group tried either side of the stated ones for a p-value.
PVALUE_COUNT_STEP = 2
#: Candidates shown in a note or the ``candidates`` column (the total is always given).
SHOWN = 5
#: Most (count, n) pairs evaluated per interval method (keeps a search fast whatever is printed).
MAX_PAIRS = 50_000
#: Most candidates kept (the most plausible; the total found is still reported).
MAX_CANDIDATES = 200


@dataclass(frozen=True, order=True)
class Candidate:
    """A combination that reproduces a printing.

    ``rank`` orders candidates (smaller is more plausible); ``counts`` is ``(count, n)`` or, for
    a p-value, ``(count, n, count2, n2)``; ``method`` the interval method or test (``""`` for a
    percentage); ``miss`` how far the unrounded result lies from the printed value, in half-units
    of the printed precision (0 = exactly the printed value).
    """

    rank: tuple
    counts: tuple[int, ...]
    method: str
    miss: float

    def describe(self) -> str:
        c = self.counts
        pair = f"{c[0]}/{c[1]}" if len(c) == 2 else f"{c[0]}/{c[1]} vs {c[2]}/{c[3]}"
        return f"{self.method} on {pair}" if self.method else pair


#: Widest step either side of a stated count or denominator (keeps searches small for huge n).
MAX_STEP = 50


def near(stated: int, *, fraction: float, minimum: int) -> range:
    """Whole numbers around ``stated``: ``stated ± max(minimum, ceil(fraction * stated))``, the
    step at most :data:`MAX_STEP`."""
    step = min(MAX_STEP, max(minimum, math.ceil(fraction * stated)))
    return range(max(0, stated - step), stated + step + 1)


def _miss(printed: Printed, x: np.ndarray) -> np.ndarray:
    return np.abs(x - printed.value) / printed.half_unit


def _matches(printed: Printed, x: np.ndarray) -> np.ndarray:
    slack = 1e-9 * np.maximum(1.0, np.abs(x))
    return np.isfinite(x) & (np.abs(x - printed.value) <= printed.half_unit + slack)


def _method_order(named: str, methods) -> dict[str, int]:
    order = {m: i + 1 for i, m in enumerate(methods)}
    if named in order:
        order[named] = 0
    return order


# --- percentages ---------------------------------------------------------------------------------
def percent_candidates(
    value: Printed, count: int | None, n: int | None, *, scale: float = 100.0
) -> list[Candidate]:
    """Pairs ``(k, m)`` near the stated ``count``/``n`` whose ``scale * k / m`` prints as ``value``.

    With only a count, the smallest denominators that reproduce it (``m >= k``, up to
    :data:`PLAUSIBLE_N`); with only ``n``, the counts out of ``n``. Without both there is nothing to
    search (every percentage is some k/m): an empty list.
    """
    if count is None and n is None:
        return []
    if n is not None and count is not None:
        ks, ms = near(count, fraction=0.1, minimum=3), near(n, fraction=0.05, minimum=2)
    elif n is not None:
        lo, hi = value.bounds
        first = max(0, math.floor(max(lo, 0) * n / scale) - 1)
        last = min(n, math.ceil(hi * n / scale) + 1)
        centre = round(value.value * n / scale)
        first, last = max(first, centre - 1000), min(last, centre + 1000)
        ks, ms = range(first, last + 1), range(n, n + 1)
    else:
        lo, hi = value.bounds
        first = count if hi <= 0 else max(count, 1, math.floor(scale * count / hi) - 1)
        ks, ms = range(count, count + 1), range(first, min(first + 2000, PLAUSIBLE_N[1]) + 1)
    k = np.fromiter(ks, float)[:, None]
    m = np.fromiter((m for m in ms if m > 0), float)[None, :]
    if m.size == 0:
        return []
    kk, mm = np.broadcast_arrays(k, m)
    ok = (kk <= mm) & _matches(value, scale * kk / mm)
    out = []
    for ki, mi in zip(kk[ok].astype(int), mm[ok].astype(int), strict=True):
        change = abs(ki - count) if count is not None else 0
        change += abs(mi - n) if n is not None else 0
        miss = float(_miss(value, np.array(scale * ki / mi)))
        out.append(Candidate((change, mi if n is None else 0, miss), (int(ki), int(mi)), "", miss))
    return sorted(out)


# --- intervals of a proportion -------------------------------------------------------------------
def _interval_pairs(
    lower: Printed, upper: Printed, value: Printed | None, count, n, level
) -> tuple[np.ndarray, np.ndarray]:
    """The (k, m) pairs an interval search tries, as two flat integer arrays."""
    lo_frac = max(0.0, (lower.value - 2 * lower.half_unit) / 100)
    hi_frac = min(1.0, (upper.value + 2 * upper.half_unit) / 100)
    if n is not None:
        ms = np.array(list(near(n, fraction=0.05, minimum=2)) if count is not None else [n])
    else:
        z = float(norm_ppf(0.5 + level / 2))
        p = value.value / 100 if value is not None else (lower.value + upper.value) / 200
        p = min(max(p, 1e-3), 1 - 1e-3)
        half = max((upper.value - lower.value) / 200, 1e-4)
        n_hat = z * z * p * (1 - p) / (half * half)
        first = min(max(PLAUSIBLE_N[0], math.floor(n_hat / 3)), PLAUSIBLE_N[1])
        last = min(PLAUSIBLE_N[1], math.ceil(3 * n_hat) + 20)
        ms = np.arange(first, last + 1)
    ms = ms[ms > 0]
    if count is not None:
        ks = np.array(list(near(count, fraction=0.1, minimum=3)))
        kk, mm = (a.ravel() for a in np.meshgrid(ks, ms, indexing="ij"))
        keep = kk <= mm
        return kk[keep], mm[keep]
    # a binomial interval's count lies near its midpoint: within half its half-width (at least
    # 3 counts), and inside the printed bounds
    mid, half = (lo_frac + hi_frac) / 2, (hi_frac - lo_frac) / 2
    reach = np.maximum(3, np.ceil(0.5 * half * ms))
    first = np.maximum(np.floor(lo_frac * ms), np.floor(mid * ms - reach)).astype(int)
    last = np.minimum(np.minimum(ms, np.ceil(hi_frac * ms)), np.ceil(mid * ms + reach)).astype(int)
    sizes = np.minimum(np.maximum(last - first + 1, 0), MAX_PAIRS)
    within = np.cumsum(sizes) <= MAX_PAIRS
    ms, first, sizes = ms[within], first[within], sizes[within]
    mm = np.repeat(ms, sizes)
    kk = (
        np.repeat(first, sizes)
        + np.arange(sizes.sum())
        - np.repeat(np.cumsum(sizes) - sizes, sizes)
    )
    if value is not None and n is None:
        keep = _matches(value, 100 * kk / mm)
        kk, mm = kk[keep], mm[keep]
    return kk.astype(int), mm.astype(int)


def interval_candidates(
    lower: Printed,
    upper: Printed,
    *,
    value: Printed | None = None,
    count: int | None = None,
    n: int | None = None,
    named: str = "",
    level: float = 0.95,
    methods=INTERVAL_METHODS,
) -> list[Candidate]:
    """(count, n, method) combinations whose interval prints as ``lower``-``upper`` (percent).

    ``count``/``n`` are the stated numbers (either may be ``None``: see the module docstring for
    the ranges searched); ``named`` is the method the paper names (ranked first among equals).
    """
    ks, ms = _interval_pairs(lower, upper, value, count, n, level)
    out = _interval_matches(lower, upper, ks, ms, count, n, named, level, methods)
    if not out and value is not None and count is None and n is None:
        # the printed percentage may come from another count than the interval (37.0% of 27 is
        # 10/27, its printed interval the exact one of 11/27): search by the interval alone
        ks, ms = _interval_pairs(lower, upper, None, count, n, level)
        out = _interval_matches(lower, upper, ks, ms, count, n, named, level, methods)
    return out


def _interval_matches(lower, upper, ks, ms, count, n, named, level, methods) -> list[Candidate]:
    if ks.size == 0:
        return []
    order = _method_order(named, methods)
    found = []  # (rank columns..., k, m, method index, miss) per reproducing pair
    for j, method in enumerate(methods):
        r = proportion_ci(ks, ms, method, level)
        lo, hi = 100 * np.asarray(r.ci_low, float), 100 * np.asarray(r.ci_high, float)
        ok = _matches(lower, lo) & _matches(upper, hi)
        k, m = ks[ok], ms[ok]
        miss = (_miss(lower, lo) + _miss(upper, hi))[ok]
        found.append((k, m, np.full(k.size, j), np.full(k.size, order[method]), miss))
    k, m, j, rank_method, miss = (np.concatenate(parts) for parts in zip(*found, strict=True))
    if count is not None or n is not None:
        change = np.zeros(k.size)
        change += np.abs(k - count) if count is not None else 0
        change += np.abs(m - n) if n is not None else 0
        keys = (miss, rank_method, change)  # np.lexsort sorts by the last key first
    else:
        keys = (m, rank_method, miss)
    idx = np.lexsort(keys)
    out = []
    for i in idx[:MAX_CANDIDATES]:
        rank = tuple(float(key[i]) for key in reversed(keys))
        out.append(Candidate(rank, (int(k[i]), int(m[i])), methods[j[i]], float(miss[i])))
    return _Found(out, total=int(k.size))


class _Found(list):
    """A list of the most plausible candidates that remembers how many there were in all."""

    def __init__(self, items, total: int):
        super().__init__(items)
        self.total = total


# --- p-values of 2x2 tables ----------------------------------------------------------------------
def pvalue_candidates(
    p: Printed, e1: int, n1: int, e2: int, n2: int, *, accepted=(), methods=None
) -> list[Candidate]:
    """Nearby 2x2 tables ``e1'/n1' vs e2'/n2'`` whose p-value prints as ``p``, per test.

    Counts vary by up to :data:`PVALUE_COUNT_STEP` with the stated denominators, and the
    denominators by 1 with the stated counts. ``accepted`` tests rank first among equals.
    """
    from bayes_anlo.audit.checks import pvalues
    from bayes_anlo.audit.extraction import PVALUE_METHODS

    methods = methods or PVALUE_METHODS
    order = {m: (0 if m in accepted else 1, i) for i, m in enumerate(methods)}
    step = PVALUE_COUNT_STEP
    tables = {
        (a, n1, b, n2)
        for a in range(max(0, e1 - step), min(n1, e1 + step) + 1)
        for b in range(max(0, e2 - step), min(n2, e2 + step) + 1)
    }
    tables |= {
        (e1, m1, e2, m2)
        for m1 in (n1 - 1, n1, n1 + 1)
        for m2 in (n2 - 1, n2, n2 + 1)
        if m1 >= max(e1, 1) and m2 >= max(e2, 1)
    }
    out = []
    for table in sorted(tables):
        if table[0] + table[2] == 0 or table[0] + table[2] == table[1] + table[3]:
            continue  # no events or no non-events at all: every test is undefined or 1
        values = pvalues(*table)
        change = abs(table[0] - e1) + abs(table[1] - n1) + abs(table[2] - e2) + abs(table[3] - n2)
        for method in methods:
            x = values[method]
            if p.matches(x):
                miss = abs(x - p.value) / p.half_unit if p.relation == "=" else 0.0
                out.append(Candidate((change, *order[method], miss), table, method, miss))
    return sorted(out)


def describe_candidates(candidates: list[Candidate], shown: int = SHOWN) -> str:
    """``"wald on 21/166; wilson on 22/171 (7 combinations)"``: the most plausible few."""
    if not candidates:
        return ""
    text = "; ".join(c.describe() for c in candidates[:shown])
    total = getattr(candidates, "total", len(candidates))
    if total > shown:
        text += f" ({total} combinations)"
    return text


__all__ = [
    "Candidate",
    "PLAUSIBLE_N",
    "PVALUE_COUNT_STEP",
    "describe_candidates",
    "interval_candidates",
    "near",
    "percent_candidates",
    "pvalue_candidates",
]
