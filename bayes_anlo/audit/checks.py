"""The arithmetic of each audit check, one function per ``check`` of the extraction format.

Every check recomputes the printed number under each method a paper could have used and keeps
the methods whose result *prints* as the paper printed it (same number of decimals; either side
of a rounding tie accepted: see :mod:`bayes_anlo.audit.printed`). The verdict then compares the
matching methods with the method the paper names.

Verdicts (:data:`VERDICTS`):

``ok``               reproduced by the named method (or, when none is named, by an accepted one).
``method_mismatch``  reproduced only by a method other than the one named: another interval
                     method, a one-sided test where none is stated (or a two-sided one is), a
                     percentage of a different count or denominator than the stated one.
``not_reproduced``   no method reproduces the printed number.
``inconsistent``     the number contradicts another printing of itself or a bound it must obey
                     (text against table; an estimate outside its own interval).
``sum_mismatch``     parts do not add up to their printed total.
``implausible``      arithmetic possible but the printing looks wrong: a "range" exactly
                     symmetric about its median (a confidence interval printed as a range?).
``unverifiable``     recorded, but the paper does not print what the check needs (not flagged).

Formulas: proportion intervals as :func:`bayes_anlo.frequentist.intervals.proportion_ci`;
p-values as :mod:`bayes_anlo.frequentist.two_group` (Fisher two-sided as R ``fisher.test``;
the one-sided Fisher p is the smaller tail, what SPSS prints as "Exact Sig. (1-sided)";
Pearson chi-square with and without Yates' correction). Heterogeneity: Cochran's
``Q = (k - 1) / (1 - I2)`` for ``I2 > 0`` (``Q <= k - 1`` for ``I2 = 0``), ``p = P(chi2_{k-1} > Q)``
(Higgins & Thompson 2002, Stat Med 21:1539).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bayes_anlo.audit.backsolve import (
    PLAUSIBLE_N,
    describe_candidates,
    interval_candidates,
    percent_candidates,
    pvalue_candidates,
)
from bayes_anlo.audit.extraction import PVALUE_FAMILIES, PVALUE_METHODS, Item
from bayes_anlo.audit.printed import Printed, format_number
from bayes_anlo.frequentist.distributions import chi2_sf
from bayes_anlo.frequentist.intervals import METHODS as INTERVAL_METHODS
from bayes_anlo.frequentist.intervals import proportion_ci
from bayes_anlo.frequentist.two_group import chi_square, fisher_exact

VERDICTS = (
    "ok",
    "method_mismatch",
    "not_reproduced",
    "inconsistent",
    "sum_mismatch",
    "implausible",
    "unverifiable",
)
#: Verdicts that flag an audit (the CLI exits 1 when any row has one of these).
FLAGGED_VERDICTS = frozenset(
    {"method_mismatch", "not_reproduced", "inconsistent", "sum_mismatch", "implausible"}
)
_SEVERITY = {
    "unverifiable": 0,
    "ok": 1,
    "method_mismatch": 2,
    "implausible": 3,
    "not_reproduced": 4,
    "sum_mismatch": 5,
    "inconsistent": 6,
}


def worst(*verdicts: str) -> str:
    """The most severe of several verdicts."""
    return max(verdicts, key=_SEVERITY.__getitem__)


@dataclass(frozen=True)
class CheckOutcome:
    """What one check found for one item.

    ``details`` is a list of tidy rows ``{method, value, low, high, recomputed, match}``;
    ``candidates`` the back-solved combinations that reproduce the printing
    (:mod:`bayes_anlo.audit.backsolve`), most plausible first, when the stated numbers do not.
    """

    verdict: str
    matching: tuple[str, ...] = ()
    recomputed: str = ""
    note: str = ""
    details: list[dict] = field(default_factory=list)
    candidates: str = ""


def _detail(method, value=math.nan, low=math.nan, high=math.nan, text="", match=False) -> dict:
    return {
        "method": method,
        "value": float(value),
        "low": float(low),
        "high": float(high),
        "recomputed": text,
        "match": bool(match),
    }


def _join(parts) -> str:
    return "; ".join(p for p in parts if p)


# --- percentages and ratios -----------------------------------------------------------------------
def check_percent(item: Item, scale: float = 100.0) -> CheckOutcome:
    """A printed percentage (``scale=100``) or ratio (``scale=1``) of ``count / n``.

    The stated pair ``count / n`` is tried first, then each alternative pair (another count or
    denominator, e.g. enrolled vs evaluable patients).
    """
    v = item.value
    if item.count is None or item.n is None:
        return _percent_without_counts(item, scale)
    candidates = [("stated", item.count, item.n)] + list(item.alternatives)
    details, matching = [], []
    for label, num, den in candidates:
        x = scale * num / den if den else math.nan
        ok = v.matches(x)
        details.append(_detail(label, x, text=f"{v.format(x)} ({num}/{den})", match=ok))
        if ok:
            matching.append(label)
    stated = details[0]
    printed_stated = v.format(stated["value"])
    recomputed = _join(f"{d['method']} {d['recomputed']}" for d in details)
    notes = []
    if stated["match"]:
        verdict = "ok"
        if v.is_tie(stated["value"]):
            notes.append(
                f"{format_number(stated['value'], 6)} is a rounding tie: printed {v} "
                f"(half-up and half-even differ)"
            )
    elif matching:
        verdict = "method_mismatch"
        alt = details[candidates.index(next(c for c in candidates if c[0] == matching[0]))]
        notes.append(
            f"printed {v} is {matching[0]} ({alt['recomputed'].split(' ', 1)[1].strip('()')}), "
            f"not the stated {item.count}/{item.n} ({printed_stated})"
        )
    else:
        verdict = "not_reproduced"
        x = stated["value"]
        if item.n == 0:
            notes.append(f"{item.count}/0 is undefined; printed {v}")
        else:
            notes.append(
                f"{item.count}/{item.n} = {format_number(x, 5)}, which prints as "
                f"{printed_stated}, not {v}"
            )
            if v.is_truncation_of(x):
                notes.append(f"{v} is {format_number(x, 5)} truncated, not rounded")
            if scale == 100.0:
                notes.append(_percent_hints(item))
    found = ""
    if verdict != "ok" and item.n:
        found = describe_candidates(percent_candidates(v, item.count, item.n, scale=scale))
    return CheckOutcome(verdict, tuple(matching), recomputed, _join(notes), details, found)


def _percent_without_counts(item: Item, scale: float) -> CheckOutcome:
    """A percentage printed without its count or denominator (a drafted row): ``unverifiable``,
    with the denominators (or counts) that would print it when one of the two is printed."""
    cands = percent_candidates(item.value, item.count, item.n, scale=scale)
    found = describe_candidates(cands)
    if item.count is None and item.n is None:
        note = "no count or denominator printed"
    elif not cands:
        note = f"no count or denominator printed beside it reproduces {item.value}"
    elif item.n is None:
        dens = ", ".join(str(c.counts[1]) for c in cands[:5])
        note = f"no denominator printed; {item.count}/m prints {item.value} for m = {dens} ..."
    else:
        note = f"no count printed; {found} would print {item.value}"
    return CheckOutcome("unverifiable", (), "", note, [], found)


#: Most candidate counts or denominators _percent_hints tries (its search is bounded whatever n is).
HINT_SEARCH_LIMIT = 2000


def _percent_hints(item: Item) -> str:
    """Counts of the same n, and denominators for the same count, that do print as the value.

    Only counts and denominators near the ones the printing allows are tried (at most
    :data:`HINT_SEARCH_LIMIT` of each), so the search takes the same time for n = 10 or 10**7."""
    v, n, count = item.value, item.n, item.count
    lo, hi = v.bounds
    k_first = max(0, math.floor(lo * n / 100) - 1)
    k_last = min(n, math.ceil(hi * n / 100) + 1, k_first + HINT_SEARCH_LIMIT)
    ks = [k for k in range(k_first, k_last + 1) if v.matches(100 * k / n)]
    hint = []
    if ks:
        shown = " or ".join(str(k) for k in ks[:5]) + (" ..." if len(ks) > 5 else "")
        hint.append(f"{shown}/{n} would print {v}")
    else:
        hint.append(f"no count out of {n} prints as {v}")
    if count:
        m_first = count if hi <= 0 else max(count, math.floor(100 * count / hi) - 1)
        m_last = min(4 * max(n, 25), m_first + HINT_SEARCH_LIMIT)
        dens = []
        for m in range(m_first, m_last + 1):
            if v.matches(100 * count / m):
                dens.append(m)
                if len(dens) == 3:
                    break
        if dens:
            hint.append(
                f"{count}/{dens[0]} would"
                + (f" (also /{', /'.join(map(str, dens[1:3]))})" if len(dens) > 1 else "")
            )
        else:
            hint.append(f"no denominator gives {count} -> {v}")
    return _join(hint)


# --- proportion intervals -------------------------------------------------------------------------
def check_proportion_ci(item: Item) -> CheckOutcome:
    """A printed confidence interval of ``count / n`` (in percent) against six interval methods.

    When the stated count and n do not reproduce it under the named (or, with none named, any)
    method, or are not printed, the counts, denominators and methods that do are back-solved
    (:func:`bayes_anlo.audit.backsolve.interval_candidates`) and named in the note.
    """
    if item.count is None or item.n is None:
        return _interval_without_counts(item)
    lo_p, hi_p = item.lower, item.upper
    details, matching = [], []
    for method in INTERVAL_METHODS:
        r = proportion_ci(item.count, item.n, method, item.level)
        lo, hi = 100 * float(r.ci_low[0]), 100 * float(r.ci_high[0])
        ok = lo_p.matches(lo) and hi_p.matches(hi)
        text = f"{lo_p.format(lo)}–{hi_p.format(hi)}"
        details.append(_detail(method, 100 * float(r.estimate[0]), lo, hi, text, ok))
        if ok:
            matching.append(method)
    recomputed = _join(f"{d['method']} {d['recomputed']}" for d in details)
    printed = f"{lo_p}–{hi_p}"
    by_method = {d["method"]: d for d in details}
    notes = []
    named = item.method
    if named:
        if named in matching:
            verdict = "ok"
        elif matching:
            verdict = "method_mismatch"
            notes.append(
                f"labelled {named} ({by_method[named]['recomputed']}), but the printed "
                f"{printed} is the {' / '.join(matching)} interval"
            )
        else:
            verdict = "not_reproduced"
    else:
        verdict = "ok" if matching else "not_reproduced"
        if matching:
            notes.append(f"no method named; {printed} is the {' / '.join(matching)} interval")
    if verdict == "not_reproduced":

        def miss(d):
            return max(abs(d["low"] - lo_p.value), abs(d["high"] - hi_p.value))

        closest = min(details, key=miss)
        notes.append(
            f"no method gives {printed}; closest is {closest['method']} {closest['recomputed']}"
        )
    found = ""
    if verdict != "ok":
        cands = interval_candidates(
            lo_p, hi_p, count=item.count, n=item.n, named=named, level=item.level
        )
        found = describe_candidates(cands)
        notes.append(_interval_backsolve_note(cands, item, printed))
    if item.value is not None:
        x = 100 * item.count / item.n
        if not item.value.matches(x):
            verdict = worst(verdict, "not_reproduced")
            notes.append(
                f"point estimate {item.value} does not match {item.count}/{item.n} = "
                f"{item.value.format(x)}"
            )
    return CheckOutcome(verdict, tuple(matching), recomputed, _join(notes), details, found)


def _interval_backsolve_note(cands, item: Item, printed: str) -> str:
    """The sentence naming the most plausible back-solved (count, n, method)."""
    stated = (item.count, item.n)
    if not cands:
        return f"no count or n near {item.count}/{item.n} gives {printed} under any method"
    best = cands[0]
    parts = []
    if best.counts != stated:
        parts.append(
            f"the printed interval is {best.method} on {best.describe().split(' on ')[1]}, "
            f"not the stated {item.count}/{item.n}"
        )
    named = item.method
    if named:
        other = next((c for c in cands if c.method == named and c.counts != stated), None)
        if other is not None and other is not best:
            parts.append(f"the named {named} gives it on {other.describe().split(' on ')[1]}")
    return _join(parts)


def _interval_without_counts(item: Item) -> CheckOutcome:
    """An interval printed without count or n: ``unverifiable``, with the (count, n, method)
    combinations in the plausible range that reproduce it."""
    lo_p, hi_p = item.lower, item.upper
    cands = interval_candidates(
        lo_p,
        hi_p,
        value=item.value,
        count=item.count,
        n=item.n,
        named=item.method,
        level=item.level,
    )
    found = describe_candidates(cands)
    missing = "count" if item.n is not None else "n" if item.count is not None else "count or n"
    if cands:
        note = f"no {missing} printed; reproduced by {found}"
    else:
        where = f"n = {item.n}" if item.n is not None else f"n in {PLAUSIBLE_N[0]}-{PLAUSIBLE_N[1]}"
        note = (
            f"no {missing} printed; no binomial interval of a count with {where} gives "
            f"{lo_p}–{hi_p} (not a proportion's interval?)"
        )
    return CheckOutcome("unverifiable", (), "", note, [], found)


# --- two-group p-values ---------------------------------------------------------------------------
def pvalues(e1: int, n1: int, e2: int, n2: int) -> dict[str, float]:
    """p-values of the 2x2 comparison ``e1/n1`` vs ``e2/n2`` by each method of
    :data:`PVALUE_METHODS`."""
    less = fisher_exact(e1, n1, e2, n2, alternative="less").p_value
    greater = fisher_exact(e1, n1, e2, n2, alternative="greater").p_value
    return {
        "fisher": fisher_exact(e1, n1, e2, n2).p_value,
        "fisher-one-sided": min(less, greater, 1.0),
        "chi-square": chi_square(e1, n1, e2, n2, correction=False).p_value,
        "chi-square-yates": chi_square(e1, n1, e2, n2, correction=True).p_value,
    }


def _format_p(p: Printed, x: float) -> str:
    if not math.isfinite(x):
        return "NA"
    return p.format(x) if p.relation == "=" else format_number(x, 3)


def check_pvalue(item: Item) -> CheckOutcome:
    """A printed p-value of a two-group comparison of proportions against four tests.

    When the paper names no test, the two-sided tests are the accepted ones: a p-value that only
    a one-sided test reproduces is a ``method_mismatch`` (one-sidedness must be stated).
    """
    p = item.value
    if None in (item.count, item.n, item.count2, item.n2):
        return CheckOutcome("unverifiable", (), "", "the two groups' counts are not printed")
    values = pvalues(item.count, item.n, item.count2, item.n2)
    details, matching = [], []
    for method in PVALUE_METHODS:
        x = values[method]
        ok = p.matches(x)
        details.append(_detail(method, x, text=_format_p(p, x), match=ok))
        if ok:
            matching.append(method)
    recomputed = _join(f"{d['method']} {d['recomputed']}" for d in details)
    named = item.method
    accepted = PVALUE_FAMILIES.get(named, (named,)) if named else PVALUE_FAMILIES["two-sided"]
    notes = [] if named else ["no test named; two-sided tests assumed"]
    if any(m in accepted for m in matching):
        verdict = "ok"
    elif matching:
        verdict = "method_mismatch"
        alt = ", ".join(f"{m} {_format_p(p, values[m])}" for m in accepted)
        notes.append(f"P = {p} is reproduced only by {' / '.join(matching)}; {alt}")
    else:
        verdict = "not_reproduced"
        notes.append(f"no test gives P = {p}")
    if p.value <= 0.05 and p.relation in ("=", "<", "<=") and verdict != "ok":
        if all(values[m] >= 0.05 for m in accepted if math.isfinite(values[m])):
            notes.append("significant at 0.05 only under " + (" / ".join(matching) or "no test"))
    found = ""
    if verdict != "ok":
        stated = (item.count, item.n, item.count2, item.n2)
        cands = pvalue_candidates(p, *stated, accepted=accepted)
        found = describe_candidates(cands)
        other = next((c for c in cands if c.method in accepted), None)
        if other is not None:
            notes.append(f"an accepted test gives P = {p} for {other.describe()}")
        elif not matching:
            notes.append("no nearby table gives it under any test")
    return CheckOutcome(verdict, tuple(matching), recomputed, _join(notes), details, found)


# --- totals, bounds and means ---------------------------------------------------------------------
def _sum_tolerance(item: Item) -> float:
    v = item.value
    if v.decimals == 0 and all(c.decimals == 0 for _, c in item.components):
        return 1e-9
    return v.half_unit + sum(c.half_unit for _, c in item.components)


def check_sum(item: Item) -> CheckOutcome:
    """A printed total (or bound, for ``at_most`` / ``at_least``) against the sum of its parts."""
    total = sum(c.value for _, c in item.components)
    tol = _sum_tolerance(item)
    v = item.value
    digits = max([v.decimals] + [c.decimals for _, c in item.components])
    parts = " + ".join(str(c) for _, c in item.components)
    text = f"{parts} = {total:.{digits}f}"
    if item.check == "sum":
        ok = abs(total - v.value) <= tol
        verdict = "ok" if ok else "sum_mismatch"
        note = (
            ""
            if ok
            else f"parts add to {total:.{digits}f}, printed total {v} (difference "
            f"{v.value - total:+.{digits}f})"
        )
        label = "sum"
    elif item.check == "at_most":
        ok = v.value <= total + tol
        verdict = "ok" if ok else "inconsistent"
        note = "" if ok else f"{v} exceeds its upper bound {total:.{digits}f}"
        label = "upper bound"
    else:
        ok = v.value >= total - tol
        verdict = "ok" if ok else "inconsistent"
        note = "" if ok else f"{v} is below its lower bound {total:.{digits}f}"
        label = "lower bound"
    return CheckOutcome(
        verdict, (label,) if ok else (), text, note, [_detail(label, total, text=text, match=ok)]
    )


def check_mean(item: Item) -> CheckOutcome:
    """A printed mean of listed values; ``lower``/``upper``, when given, are their min and max."""
    values = np.array([c.value for _, c in item.components])
    mean = float(values.mean())
    tol = item.value.half_unit + float(np.mean([c.half_unit for _, c in item.components]))
    ok = abs(mean - item.value.value) <= tol
    details = [_detail("mean", mean, text=item.value.format(mean), match=ok)]
    notes = (
        []
        if ok
        else [f"mean of the {len(values)} values is {format_number(mean, 5)}, printed {item.value}"]
    )
    verdict = "ok" if ok else "not_reproduced"
    for label, bound, x in (("min", item.lower, values.min()), ("max", item.upper, values.max())):
        if bound is None:
            continue
        good = bound.matches(float(x))
        details.append(_detail(label, x, text=bound.format(float(x)), match=good))
        if not good:
            verdict = worst(verdict, "not_reproduced")
            notes.append(
                f"printed {label} {bound}, the values' {label} is {format_number(float(x), 5)}"
            )
    recomputed = _join(f"{d['method']} {d['recomputed']}" for d in details)
    matching = tuple(d["method"] for d in details if d["match"])
    return CheckOutcome(verdict, matching, recomputed, _join(notes), details)


# --- estimates with intervals ---------------------------------------------------------------------
def interval_shape(value: Printed, lower: Printed, upper: Printed) -> str:
    """``"symmetric"``, ``"symmetric, cut at 0"`` or ``"asymmetric"`` at the printed precision.

    Symmetric means some true values that round to the printings satisfy ``m - l = u - m``:
    ``|(L + U)/2 - M| <= (h_L + h_U)/2 + h_M`` with ``h`` the half-units of the printings.
    "Cut at 0": the lower bound is printed as 0 and the reflected bound ``2M - U`` is clearly below
    0 (a symmetric interval truncated at zero, as SPSS prints for a median survival).
    """
    if lower.value == 0 and 2 * value.value - upper.value < -(
        2 * value.half_unit + upper.half_unit
    ):
        return "symmetric, cut at 0"
    gap = abs((lower.value + upper.value) / 2 - value.value)
    tol = (lower.half_unit + upper.half_unit) / 2 + value.half_unit
    if gap <= tol * (1 + 1e-9):
        return "symmetric"
    return "asymmetric"


def check_estimate_ci(item: Item) -> CheckOutcome:
    """An estimate (median, pooled rate) with a printed interval or range.

    Checks that the estimate lies inside its interval and reports the interval's shape: a plain
    ``estimate +/- z SE`` interval is symmetric (SPSS prints medians this way, cut at 0); a
    transformed (log, log-log, logit, arcsine) interval or a min-max range is in general not.
    A ``range`` whose printed ends are *exactly* symmetric about the printed median (not merely
    within rounding) is ``implausible``: the signature of a plain CI printed as a range.
    """
    v, lo, hi = item.value, item.lower, item.upper
    shape = interval_shape(v, lo, hi)
    matching = ("plain",) if shape.startswith("symmetric") else ("transformed", "range")
    below, above = format_number(v.value - lo.value, 3), format_number(hi.value - v.value, 3)
    text = f"{shape} (below {below}, above {above})"
    details = [
        _detail(m, v.value, lo.value, hi.value, text, m in matching)
        for m in ("plain", "transformed", "range")
    ]
    notes = []
    named = item.method
    if v.value < lo.value or v.value > hi.value:
        verdict = "inconsistent"
        notes.append(f"estimate {v} lies outside its interval {lo}–{hi}")
    elif (
        named == "range"
        and hi.value > lo.value
        and abs(lo.value + hi.value - 2 * v.value) <= 1e-9 * max(1.0, abs(v.value))
    ):
        verdict = "implausible"
        notes.append(
            f"a range exactly symmetric about the median ({lo}–{hi} about {v}), as a plain "
            f"confidence interval is; a confidence interval printed as a range?"
        )
    elif named == "plain" and shape == "asymmetric":
        verdict = "method_mismatch"
        notes.append("a plain (estimate +/- z SE) interval would be symmetric")
    else:
        verdict = "ok"
    return CheckOutcome(verdict, matching, text, _join(notes), details)


# --- heterogeneity --------------------------------------------------------------------------------
def q_pvalue_range(i2: Printed, k: int) -> tuple[float, float]:
    """Range of the Q-test p-values compatible with a printed I2 (percent) and ``k`` studies."""
    df = k - 1
    h = i2.half_unit
    hi_i = min(i2.value + h, 99.9999) / 100
    q_hi = df / (1 - hi_i)
    if i2.value - h <= 0:
        return float(chi2_sf(q_hi, df)), 1.0
    q_lo = df / (1 - (i2.value - h) / 100)
    return float(chi2_sf(q_hi, df)), float(chi2_sf(q_lo, df))


def _p_overlaps(p: Printed, lo: float, hi: float) -> bool:
    a, b = p.bounds
    a, b = max(a, 0.0), min(b, 1.0)
    slack = 1e-12
    if p.relation == "<":
        return lo < b + slack
    if p.relation == ">":
        return hi > a - slack
    return lo <= b + slack and a <= hi + slack


def _ranges(ks: list[int]) -> str:
    out, start = [], None
    for i, k in enumerate(ks):
        if start is None:
            start = k
        if i + 1 == len(ks) or ks[i + 1] != k + 1:
            out.append(str(start) if start == k else f"{start}-{k}")
            start = None
    return ", ".join(out)


def check_heterogeneity(item: Item, k_max: int = 100) -> CheckOutcome:
    """Printed I2 and Q-test p-value against each other, for ``k = n`` studies (or any k)."""
    i2, p = item.statistic, item.value
    if item.n is not None:
        lo, hi = q_pvalue_range(i2, item.n)
        ok = _p_overlaps(p, lo, hi)
        text = f"P in [{format_number(lo, 3)}, {format_number(hi, 3)}] for I2 = {i2}%, k = {item.n}"
        note = (
            ""
            if ok
            else f"I2 = {i2}% with k = {item.n} studies gives P in [{format_number(lo, 3)}, "
            f"{format_number(hi, 3)}], printed {p}"
        )
        return CheckOutcome(
            "ok" if ok else "not_reproduced",
            ("Q test",) if ok else (),
            text,
            note,
            [_detail(f"Q test k={item.n}", math.nan, lo, hi, text, ok)],
        )
    ks = [k for k in range(2, k_max + 1) if _p_overlaps(p, *q_pvalue_range(i2, k))]
    if ks:
        text = f"consistent with k = {_ranges(ks)} studies"
        return CheckOutcome(
            "ok",
            ("Q test",),
            text,
            "number of studies not printed; " + text,
            [_detail("Q test k unknown", text=text, match=True)],
        )
    text = f"no k in 2-{k_max} gives P = {p} with I2 = {i2}%"
    return CheckOutcome("not_reproduced", (), text, text, [_detail("Q test k unknown", text=text)])


# --- records -----------------------------------------------------------------------------------
def check_record(item: Item) -> CheckOutcome:
    """``estimate``, ``count`` and ``note`` rows: nothing to recompute on their own."""
    note = item.note or (
        "recorded for comparison with other printings" if item.check != "note" else ""
    )
    return CheckOutcome("unverifiable", (), "", note, [])


CHECK_FUNCTIONS = {
    "percent": check_percent,
    "ratio": lambda item: check_percent(item, scale=1.0),
    "proportion_ci": check_proportion_ci,
    "pvalue": check_pvalue,
    "sum": check_sum,
    "at_most": check_sum,
    "at_least": check_sum,
    "mean": check_mean,
    "estimate_ci": check_estimate_ci,
    "heterogeneity": check_heterogeneity,
    "estimate": check_record,
    "count": check_record,
    "note": check_record,
}


def run_check(item: Item) -> CheckOutcome:
    """Run the check an item asks for."""
    return CHECK_FUNCTIONS[item.check](item)
