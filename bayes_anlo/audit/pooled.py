"""Audit of a printed pooled proportion: which pooling method reproduces it?

Given the study counts a meta-analysis pooled and the pooled estimate with its CI as printed
(``"8.8% (6.2-11.7%)"``), every usual method is recomputed: the double arcsine (PFT,
back-transformed at the harmonic mean n) and the logit (PLO), each with the common-effect model
and every tau^2 estimator of metafor (DL, REML, PM, ML, SJ, HS, EB), each random-effects row with
z-based and Hartung-Knapp intervals, and the random-intercept logistic GLMM. A method *reproduces*
the printing when all three numbers round to what is printed, at the printed precision
(:class:`~bayes_anlo.audit.printed.Printed`). Otherwise the distance of a method is how far its
farthest number lies outside the printed rounding interval, in the printed unit (percentage
points for a percentage), and the nearest methods are reported.

The printing is read as ``estimate (low-high)`` with optional ``%`` signs, a ``95% CI`` label and
``-``, ``–``, ``to`` or ``,`` between the limits; a percentage when a ``%`` is present or the
estimate exceeds 1, else a proportion.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bayes_anlo.audit.printed import Printed, parse_printed
from bayes_anlo.errors import InputError, Problem

_NUM = r"\d+(?:\.\d*)?|\.\d+"
_PRINTED = re.compile(
    rf"^\s*(?P<est>{_NUM})\s*(?P<p1>%)?\s*[\(\[]\s*(?:95\s*%\s*CI\s*[:,]?\s*)?"
    rf"(?P<lo>{_NUM})\s*(?P<p2>%)?\s*(?:-|–|—|to|,|;)\s*"
    rf"(?P<hi>{_NUM})\s*(?P<p3>%)?\s*[\)\]]\s*$",
    re.IGNORECASE,
)
CANDIDATE_COLUMNS = (
    "method",
    "estimate",
    "ci_low",
    "ci_high",
    "estimate_matches",
    "ci_low_matches",
    "ci_high_matches",
    "reproduces",
    "distance",
    "note",
)


@dataclass(frozen=True)
class PrintedPooled:
    """A printed pooled estimate with its interval, and the unit (``"%"`` or ``"proportion"``)."""

    text: str
    estimate: Printed
    ci_low: Printed
    ci_high: Printed
    unit: str

    @property
    def scale(self) -> float:
        return 100.0 if self.unit == "%" else 1.0


def parse_pooled_printing(text: str) -> PrintedPooled:
    """``"8.8% (6.2-11.7%)"`` -> its three printed numbers; an InputError when unreadable."""
    match = _PRINTED.match(str(text))
    if not match:
        raise InputError(
            Problem(
                "command line",
                None,
                "--printed",
                f"{text!r} is not read as 'estimate (low-high)', e.g. '8.8% (6.2-11.7%)' or "
                "'0.088 (0.062, 0.117)'",
            )
        )
    est, lo, hi = (parse_printed(match.group(g)) for g in ("est", "lo", "hi"))
    percent = any(match.group(g) for g in ("p1", "p2", "p3")) or est.value > 1
    problems = []
    if not lo.value <= est.value <= hi.value:
        problems.append(f"{text!r}: the estimate is not inside its interval")
    if (hi.value > 100) if percent else (hi.value > 1):
        problems.append(f"{text!r}: a limit is above {'100%' if percent else '1'}")
    if problems:
        raise InputError([Problem("command line", None, "--printed", m) for m in problems])
    return PrintedPooled(str(text).strip(), est, lo, hi, "%" if percent else "proportion")


def _outside(printed: Printed, x: float) -> float:
    """How far ``x`` lies outside the rounding interval of ``printed`` (0 when inside)."""
    if not math.isfinite(x):
        return math.inf
    low, high = printed.bounds
    return max(0.0, low - x, x - high)


@dataclass(frozen=True, eq=False)
class PooledAudit:
    """Every candidate method's pooled result against the printing (see module docstring)."""

    printed: PrintedPooled
    source: str
    outcome: str | None
    k: int
    total_events: int
    total_n: int
    candidates: pd.DataFrame

    @property
    def reproducing(self) -> list[str]:
        return list(self.candidates.loc[self.candidates["reproduces"], "method"])

    @property
    def nearest(self) -> pd.Series:
        return self.candidates.iloc[0]

    @property
    def reproduced(self) -> bool:
        return bool(self.reproducing)

    @property
    def verdict(self) -> str:
        unit = "percentage points" if self.printed.unit == "%" else "(proportion scale)"
        if self.reproduced:
            return (
                f"{self.printed.text} is reproduced (to its printed precision) by "
                f"{', '.join(self.reproducing)}"
            )
        near = self.nearest
        return (
            f"no method reproduces {self.printed.text} from these {self.k} studies; nearest: "
            f"{near['method']} {self._show(near)}, {near['distance']:.2g} {unit} outside the "
            "printed rounding"
        )

    def _show(self, row) -> str:
        p = self.printed
        pct = "%" if p.unit == "%" else ""
        return (
            f"{p.estimate.format(row['estimate'])}{pct} "
            f"({p.ci_low.format(row['ci_low'])}-{p.ci_high.format(row['ci_high'])}{pct})"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate method, reproducing ones first, then by distance."""
        return self.candidates.copy()

    def to_dict(self) -> dict:
        from bayes_anlo.frequentist.pooling import _jsonable

        return {
            "source": self.source,
            "outcome": self.outcome,
            "printed": self.printed.text,
            "unit": self.printed.unit,
            "k": self.k,
            "total_events": self.total_events,
            "total_n": self.total_n,
            "reproduced": self.reproduced,
            "reproducing": self.reproducing,
            "verdict": self.verdict,
            "candidates": [
                {key: _jsonable(value) for key, value in row.items()}
                for row in self.candidates.to_dict("records")
            ],
        }

    def to_text(self) -> str:
        lines = [
            f"{self.source}{': ' + self.outcome if self.outcome else ''}, k = {self.k} studies, "
            f"{self.total_events}/{self.total_n} patients; printed {self.printed.text}",
            "",
            f"{'method':<16}{'recomputed':>24}  {'reproduces':<11}{'distance':>9}",
        ]
        for row in self.candidates.to_dict("records"):
            shown = "not computed" if row["note"] else self._show(row)
            dist = "" if not math.isfinite(row["distance"]) else f"{row['distance']:.3g}"
            lines.append(
                f"{row['method']:<16}{shown:>24}  {'yes' if row['reproduces'] else 'no':<11}"
                f"{dist:>9}"
            )
        lines += ["", f"Verdict: {self.verdict}."]
        return "\n".join(lines)


def _candidate_results(data):
    """(label, estimate, low, high, note) on the proportion scale for every candidate method."""
    from bayes_anlo import frequentist as fq
    from bayes_anlo.frequentist.tau2 import TAU2_METHODS

    out = []
    for transform, measure in (("pft", "PFT"), ("logit", "PLO")):
        for method in ("FE", *TAU2_METHODS):
            for test in ("z",) if method == "FE" else ("z", "knha"):
                label = f"{measure}-{method}{'-HK' if test == 'knha' else ''}"
                try:
                    r = fq.pool_proportions(data, transform=transform, method=method, test=test)
                    out.append((label, r.estimate, r.ci_low, r.ci_high, ""))
                except (ValueError, RuntimeError, ArithmeticError) as exc:
                    out.append((label, math.nan, math.nan, math.nan, str(exc)))
    try:
        g = fq.glmm_logit(data)
        out.append(("GLMM-ML", g.estimate, g.ci_low, g.ci_high, ""))
    except (ValueError, RuntimeError, ArithmeticError) as exc:
        out.append(("GLMM-ML", math.nan, math.nan, math.nan, str(exc)))
    return out


def audit_pooled(
    source: str | Path | pd.DataFrame, printed: str, *, outcome: str | None = None
) -> PooledAudit:
    """Recompute a printed pooled proportion under every method (see module docstring).

    ``source`` is a binary-outcome CSV, a DataFrame or a bundled binary dataset; ``outcome`` is
    required when the data hold more than one.
    """
    from bayes_anlo.quick import check_study_sizes, load_rates_data

    target = parse_pooled_printing(printed)
    data = load_rates_data(source)
    data = data.select(outcome=outcome) if outcome is not None else data
    data.require_single_outcome()
    name = data.source if isinstance(source, pd.DataFrame) else str(source)
    check_study_sizes(data, name)
    if len(data) < 2:
        raise InputError(Problem(name, None, "study", "a pooled result needs at least 2 studies"))
    rows = []
    for label, est, lo, hi, note in _candidate_results(data):
        values = [v * target.scale for v in (est, lo, hi)]
        printings = (target.estimate, target.ci_low, target.ci_high)
        matches = [p.matches(v) for p, v in zip(printings, values, strict=True)]
        rows.append(
            {
                "method": label,
                "estimate": values[0],
                "ci_low": values[1],
                "ci_high": values[2],
                "estimate_matches": matches[0],
                "ci_low_matches": matches[1],
                "ci_high_matches": matches[2],
                "reproduces": all(matches),
                "distance": max(_outside(p, v) for p, v in zip(printings, values, strict=True)),
                "note": note,
            }
        )
    frame = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    frame = frame.sort_values(["reproduces", "distance"], ascending=[False, True], kind="stable")
    return PooledAudit(
        printed=target,
        source=name,
        outcome=outcome or data.outcomes[0],
        k=len(data),
        total_events=int(data.events.sum()),
        total_n=int(data.n.sum()),
        candidates=frame.reset_index(drop=True),
    )
