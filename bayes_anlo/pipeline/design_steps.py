"""The spec's ``[design]`` step: design the next trial from one response-rate analysis of the run.

:func:`add_design` takes the fitted results of a run and, when the spec has a ``[design]`` table,
builds the MAP prior from the named analysis's fitted tree (its ``predictive_rate`` draws,
:func:`bayes_anlo.design.map_from_tree`), robustifies it, computes the effective sample sizes,
the decision rule's boundary, its operating characteristics and the probability of success
(:func:`bayes_anlo.design.commands.run_design`, exact conjugate arithmetic), and adds them to that
analysis's result: tables ``design_map``, ``design_mixture``, ``design_boundary``,
``design_oc`` (one sample) or ``design_type1`` and ``design_power`` (two samples),
``design_pos``; the figure ``design_oc``; and the paragraphs of the report's "Designing the
next trial" part (``sections["design"]``, written by :mod:`bayes_anlo.report.design_section`).
Nothing is sampled here beyond the analysis's own draws.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from bayes_anlo.design import (
    Criterion,
    OneSampleRule,
    ess_all,
    map_from_tree,
    oc_one_sample,
    pos_one_sample,
)
from bayes_anlo.design.commands import run_design
from bayes_anlo.design.figures import oc_figure
from bayes_anlo.design.mixtures import BetaMixture
from bayes_anlo.report.canvas import recipe
from bayes_anlo.report.design_section import SECTION, design_paragraphs

#: True rates of the operating characteristics when the spec gives none.
DEFAULT_RATES = np.round(np.arange(0.01, 1.0, 0.01), 2)


def _criteria(design) -> list[Criterion]:
    return [Criterion(c.threshold, c.probability, c.direction) for c in design.criteria]


def _summary_row(label: str, summary: dict, ess: dict | None) -> dict:
    row = {"prior": label, **{k: summary[k] for k in ("mean", "sd", "q2.5", "median", "q97.5")}}
    for method in ("elir", "moment", "morita"):
        row[f"ess_{method}"] = np.nan if ess is None or ess[method] is None else ess[method]
    return row


def _components(label: str, mixture: BetaMixture) -> list[dict]:
    return [
        {"prior": label, "component": lab, "weight": w, "a": a, "b": b}
        for lab, w, a, b in zip(mixture.labels, mixture.weights, mixture.a, mixture.b, strict=True)
    ]


def design_next_trial(design, tree) -> tuple[dict, dict[str, pd.DataFrame], BetaMixture]:
    """The numbers, tables and robust prior of a ``[design]`` table given the source fit."""
    prior = map_from_tree(tree)
    robust = prior.robust(design.robust_weight, design.robust_mean)
    criteria = _criteria(design)
    rates = np.asarray(design.rates or DEFAULT_RATES, dtype=float)
    control = design.control
    kwargs = {}
    if control is not None:
        kwargs = {
            "control_prior": BetaMixture.beta(control.a, control.b),
            "n_control": control.n,
            "interim_control": (
                (control.interim.events, control.interim.patients) if control.interim else (0, 0)
            ),
        }
    interim = (design.interim.events, design.interim.patients) if design.interim else (0, 0)
    result, tables = run_design(
        prior=robust, n=design.n, criteria=criteria, rates=rates, interim=interim, **kwargs
    )
    ess_map, ess_robust = ess_all(prior.mixture), ess_all(robust)
    out = {
        "analysis": design.analysis,
        "title": design.title or "",
        "model": prior.model,
        "studies": int(tree["observed_data"]["events"].size),
        "map": prior.summary,
        "map_draws": prior.draws,
        "mixture": prior.mixture.summary(),
        "components": prior.mixture.size,
        "criterion": prior.fit.criterion,
        "accuracy": prior.accuracy,
        "ess": ess_map,
        "robust_weight": design.robust_weight,
        "robust_mean": design.robust_mean,
        "robust_component": [robust.a[-1], robust.b[-1]],
        "robust": robust.summary(),
        "robust_ess": ess_robust,
        "design": result,
    }
    frames = {
        "design_map": pd.DataFrame(
            [
                _summary_row("MAP (predictive draws)", prior.summary, None),
                _summary_row("MAP (beta mixture)", prior.mixture.summary(), ess_map),
                _summary_row("robust MAP", robust.summary(), ess_robust),
            ]
        ),
        "design_mixture": pd.DataFrame(
            _components("MAP", prior.mixture) + _components("robust MAP", robust)
        ),
    }
    if control is None:
        rule = OneSampleRule(criteria)
        quoted = sorted({c.threshold for c in criteria} | {design.target_rate or 0.0} - {0.0})
        out["quoted_oc"] = [
            {
                "rate": r,
                "probability_of_success": float(oc_one_sample(rule, robust, design.n, [r])[0]),
            }
            for r in quoted
        ]
        out["pos_under_map"] = pos_one_sample(rule, robust, design.n, belief=prior.mixture)
        pos_rows = [
            {
                "belief": "robust MAP",
                "data": "none",
                "probability_of_success": result["probability_of_success"],
            },
            {"belief": "MAP", "data": "none", "probability_of_success": out["pos_under_map"]},
        ]
        frames["design_oc"] = tables["oc"]
        frames["design_boundary"] = tables["boundary"]
    else:
        pos_rows = [
            {
                "belief": "robust MAP (treatment), control prior",
                "data": "none",
                "probability_of_success": result["probability_of_success"],
            }
        ]
        frames["design_type1"] = tables["type1"]
        frames["design_power"] = tables["power"]
        frames["design_boundary"] = tables["boundary"]
    if "interim" in result:
        it = result["interim"]
        seen = f"{it['events']}/{it['patients']}"
        if control is not None:
            seen += f" treatment, {it['control_events']}/{it['control_patients']} control"
        pos_rows.append(
            {
                "belief": "robust MAP updated by the interim data",
                "data": seen,
                "probability_of_success": it["probability_of_success"],
            }
        )
    frames["design_pos"] = pd.DataFrame(pos_rows)
    return out, frames, robust


def add_design(spec, results, log: Callable[[str], None] = lambda line: None) -> None:
    """Add the ``[design]`` part to the result of the analysis it names (nothing without a
    ``[design]`` table; a note in ``log`` when that analysis was not run, e.g. ``--only``)."""
    design = getattr(spec, "design", None)
    if design is None:
        return
    source = next((r for r in results if r.id == design.analysis), None)
    if source is None:
        log(f"design: analysis {design.analysis!r} was not run; no design part")
        return
    numbers, frames, _ = design_next_trial(design, source.tree)
    source.tables.update(frames)
    title = f"Next trial: success if {numbers['design']['rule']}"
    if not source.converged:
        title = f"NOT CONVERGED: {title}"
    oc_tables = (
        {"oc": frames["design_oc"]}
        if "design_oc" in frames
        else {"type1": frames["design_type1"], "power": frames["design_power"]}
    )
    source.figures["design_oc"] = recipe(oc_figure, oc_tables, title=title)
    source.sections[SECTION] = design_paragraphs(numbers)
