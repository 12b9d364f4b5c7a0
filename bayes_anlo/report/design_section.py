"""The report part "Designing the next trial" (a spec's ``[design]`` table).

:func:`design_paragraphs` writes the prose a statistician can quote from the numbers of
:func:`bayes_anlo.pipeline.design_steps.design_next_trial` (the pipeline stores it in the source
analysis's ``sections["design"]``); :func:`design_blocks` lays out the part: heading, prose, the
MAP and robust MAP summaries with their effective sample sizes, the mixture components, the
probability of success, the operating-characteristic figure and tables, and the decision
boundary. Rates are printed as percentages with one decimal, probabilities with three.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_anlo.report.render import Block, Figure, Heading, Paragraph, Table, anchor
from bayes_anlo.report.result import AnalysisResult
from bayes_anlo.report.result_blocks import result_table

#: Key of the design's paragraphs in the source analysis's ``sections``.
SECTION = "design"
HEADING = "Designing the next trial"
MODEL_NAMES = {"logit_normal": "logit-normal", "beta_binomial": "beta-binomial"}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def prob(x: float) -> str:
    return f"{x:.3f}"


def _ess(ess: dict) -> str:
    def one(v):
        return "undefined" if v is None else f"{v:.1f}"

    return f"{one(ess['elir'])} (ELIR; moment {one(ess['moment'])}, Morita {one(ess['morita'])})"


def _map_paragraph(d: dict) -> str:
    m, acc = d["map"], d["accuracy"]
    return (
        f"**MAP prior.** The meta-analytic-predictive (MAP) prior of the response rate of a new "
        f"study is the predictive distribution of the {MODEL_NAMES.get(d['model'], d['model'])} "
        f"fit of analysis "
        f"`{d['analysis']}` ({d['studies']} studies; Neuenschwander et al. 2010, Schmidli et al. "
        f"2014): over its {d['map_draws']} predictive draws it has mean {pct(m['mean'])}, median "
        f"{pct(m['median'])} and 95% interval {pct(m['q2.5'])} to {pct(m['q97.5'])}. A mixture "
        f"of {d['components']} beta densities (number chosen by the {d['criterion']} criterion) "
        f"approximates the draws with Kolmogorov-Smirnov distance {acc['ks_distance']:.4f} "
        f"(97.5% quantile off by {100 * acc['q97.5_difference']:+.2f} percentage points). Its "
        f"effective sample size is {_ess(d['ess'])} patients."
    )


def _robust_paragraph(d: dict) -> str:
    r = d["robust"]
    a, b = d["robust_component"]
    return (
        f"**Robust MAP prior.** Mixed with a weakly informative Beta({a:g}, {b:g}) component "
        f"(mean {pct(d['robust_mean'])}) of weight {d['robust_weight']:g}, which lets the new "
        f"trial's data override the historical studies when they conflict, the prior has mean "
        f"{pct(r['mean'])} and 95% interval {pct(r['q2.5'])} to {pct(r['q97.5'])}; its effective "
        f"sample size is {_ess(d['robust_ess'])} patients. The next trial is analysed with this "
        "prior."
    )


def _one_sample_paragraph(d: dict) -> str:
    res = d["design"]
    n, k = res["n"], res["min_success_events"]
    if k is not None:
        need = f"at least {k} responders of {n} (an observed rate of {pct(k / n)} or more)"
    elif res["success_events"]:
        need = f"{', '.join(map(str, res['success_events']))} responders of {n}"
    else:
        need = f"no outcome of {n} patients (the rule can never be met)"
    oc = "; ".join(
        f"{prob(q['probability_of_success'])} if the true rate is {pct(q['rate'])}"
        for q in d["quoted_oc"]
    )
    what = f" ({d['title']})" if d["title"] else ""
    return (
        f"**Decision rule.** The next single-arm trial{what} of {n} patients succeeds if "
        f"{res['rule']} under the robust MAP prior, that is with {need}. The probability of "
        f"success is {oc} (exact binomial sums; the operating characteristics below cover the "
        f"whole grid). Before the trial, the probability of success is "
        f"{prob(res['probability_of_success'])} averaged over the robust MAP prior and "
        f"{prob(d['pos_under_map'])} over the MAP prior (the chance of success if the new "
        "trial's rate is like the historical studies')."
    )


def _two_sample_paragraph(d: dict) -> str:
    res = d["design"]
    key = next(k for k in res if k.startswith("difference_for_power_"))
    power = key.rsplit("_", 1)[1]
    delta = res[key]
    what = f" ({d['title']})" if d["title"] else ""
    reach = (
        f"a difference of {100 * delta:.1f} percentage points is needed for power {power}"
        if delta is not None
        else f"power {power} is not reached"
    )
    worst = max(res["type1"], key=lambda row: row["probability_of_success"])
    return (
        f"**Decision rule.** The next randomised trial{what} of {res['n_treatment']} treatment "
        f"and {res['n_control']} control patients succeeds if {res['rule']} (treatment analysed "
        "with the robust MAP prior, control with its own beta prior). At a control rate of "
        f"{pct(res['control_rate'])}, {reach}. With equal rates in both arms the probability "
        f"of success is at most {prob(worst['probability_of_success'])} over the rates of the "
        f"grid (at {pct(worst['rate'])}). Before the trial, the probability of success is "
        f"{prob(res['probability_of_success'])}."
    )


def _interim_paragraph(d: dict) -> str | None:
    it = d["design"].get("interim")
    if it is None:
        return None
    seen = f"{it['events']} responders of {it['patients']} patients"
    if "control_events" in it:
        seen += f" on treatment and {it['control_events']} of {it['control_patients']} on control"
    return (
        f"**Interim.** Given {seen} observed so far, the predictive probability that the "
        f"completed trial succeeds is {prob(it['probability_of_success'])}."
    )


def design_paragraphs(numbers: dict) -> list[str]:
    """The quotable paragraphs of the design part, from the design's numbers."""
    rule = (
        _one_sample_paragraph(numbers)
        if numbers["design"]["design"] == "one-sample"
        else _two_sample_paragraph(numbers)
    )
    out = [_map_paragraph(numbers), _robust_paragraph(numbers), rule]
    interim = _interim_paragraph(numbers)
    return out + ([interim] if interim else [])


def design_blocks(results: list[AnalysisResult], run_dir: Path) -> list[Block]:
    """The "Designing the next trial" part (nothing when no result carries a design)."""
    source = next((r for r in results if r.sections.get(SECTION)), None)
    if source is None:
        return []
    blocks: list[Block] = [Heading(HEADING, 2, anchor="design")]
    blocks += [Paragraph(text) for text in source.sections[SECTION]]
    blocks += result_table(
        source,
        "design_map",
        "MAP prior of a new study's rate (predictive draws, its beta-mixture approximation) and "
        "the robust MAP prior: summaries and effective sample size (ESS) by each method",
        percent=("mean", "sd", "q2.5", "median", "q97.5"),
    )
    blocks += result_table(source, "design_mixture", "Beta-mixture components of both priors")
    blocks += result_table(source, "design_pos", "Probability of success of the next trial")
    if "design_oc" in source.figures:
        rel = f"figures/{source.id}__design_oc.png"
        blocks.append(
            Figure(
                run_dir / rel,
                rel,
                "Operating characteristics: probability of success against the true rate (exact).",
            )
        )
    blocks += _excerpt(
        source,
        "design_oc",
        _on_coarse_grid,
        "Operating characteristics: probability of success by true response rate",
        percent=("rate",),
    )
    blocks += result_table(
        source,
        "design_type1",
        "Probability of success with equal rates in both arms",
        percent=("rate",),
    )
    blocks += _excerpt(
        source,
        "design_power",
        lambda frame: _on_coarse_grid(frame, "difference"),
        "Probability of success against the difference",
        percent=("difference", "treatment_rate", "control_rate"),
    )
    boundary = (
        "Decision boundary: the posterior probability of each criterion and the decision, by "
        "number of responders"
        if "design_oc" in source.tables
        else "Decision boundary: for each number of responders on control, the fewest on "
        "treatment that succeed (min_treatment_events); for each number on treatment, the most "
        "on control that still succeed (max_control_events); empty where none does"
    )
    blocks += _excerpt(source, "design_boundary", _near_boundary, boundary)
    return blocks


def _on_coarse_grid(frame: pd.DataFrame, column: str = "rate") -> pd.Series:
    """Rows whose ``column`` lies on a 5-point grid (all rows when there are few)."""
    if len(frame) <= 40:
        return pd.Series(True, index=frame.index)
    cents = (frame[column] * 100).round(6)
    return (cents % 5).abs() < 1e-6


def _near_boundary(frame: pd.DataFrame) -> pd.Series:
    """Outcomes within 3 of a change of decision (all rows when there are few)."""
    if len(frame) <= 25 or "success" not in frame:
        return pd.Series(True, index=frame.index)
    success = frame["success"].astype(bool).to_numpy()
    changes = np.flatnonzero(success[1:] != success[:-1])
    keep = np.zeros(len(frame), dtype=bool)
    for c in changes:
        keep[max(0, c - 2) : c + 4] = True
    return pd.Series(keep if keep.any() else np.ones(len(frame), bool), index=frame.index)


def _excerpt(source, name: str, rows, caption: str, percent: tuple[str, ...] = ()) -> list[Block]:
    """A table of some rows of ``source.tables[name]`` (the CSV file holds every row)."""
    if name not in source.tables:
        return []
    frame = source.tables[name]
    keep = rows(frame)
    if not keep.all():
        caption += f" (excerpt; every row in tables/{source.id}__{name}.csv)"
    frame = frame.astype(object).where(frame.notna(), None)  # integer NA: an empty cell
    return [
        Table(
            frame[keep.to_numpy()].reset_index(drop=True),
            caption,
            table_id=anchor(f"{source.id}-{name}"),
            percent_columns=tuple(c for c in percent if c in frame),
        )
    ]
