"""Report blocks for the evidence steps (:mod:`bayes_anlo.pipeline.evidence_steps`): the
publication forest (with its SVG and PDF), small-study diagnostics with their caveat, the
meta-regression slopes of both paradigms, and the LOO model comparison.

:func:`evidence_blocks` takes an analysis result (``tables``, ``figures``, ``id``) and returns
render blocks; it adds nothing when the result has none of these tables, so it can follow every
analysis section.
"""

from __future__ import annotations

from pathlib import Path

from bayes_anlo.report.model_comparison import loo_caveat, loo_report_table
from bayes_anlo.report.render import Block, Figure, Heading, Paragraph, Table, anchor
from bayes_anlo.report.result_blocks import result_table

#: Figures a run directory can also save as SVG and PDF (the spec's ``figure_formats``): the
#: forests, to paste into a paper. PDF (TrueType fonts embedded, as journals ask) costs about 1 s
#: of CPU per figure, so the default is PNG only.
PUBLICATION_FIGURES = ("publication_forest", "survival_forest")
#: Formats a publication figure can be saved in (the report shows the PNG).
FIGURE_FORMATS = ("png", "svg", "pdf")

META_REGRESSION_COLUMNS = (
    "paradigm",
    "method",
    "moderator",
    "median",
    "ci_low",
    "ci_high",
    "odds_ratio",
    "prob_positive",
    "p_value",
    "qm_p",
    "tau2_residual",
    "r2",
)
SMALL_STUDY_COLUMNS = (
    "method",
    "predictor",
    "model",
    "k",
    "statistic",
    "df",
    "p_value",
    "limit_estimate",
    "limit_ci_low",
    "limit_ci_high",
)


def _figure(result, name: str, run_dir: Path, caption: str) -> list[Block]:
    if name not in result.figures:
        return []
    rel = f"figures/{result.id}__{name}.png"
    others = [
        f".{fmt}"
        for fmt in FIGURE_FORMATS[1:]
        if name in PUBLICATION_FIGURES and (run_dir / f"figures/{result.id}__{name}.{fmt}").exists()
    ]
    if others:
        caption += f" Also as {' and '.join(others)} (figures/{result.id}__{name})."
    return [Figure(run_dir / rel, rel, caption)]


def evidence_blocks(result, run_dir: Path, key: str) -> list[Block]:
    """Blocks for whichever evidence tables and figures ``result`` has."""
    blocks: list[Block] = []
    blocks += _figure(
        result,
        "publication_forest",
        run_dir,
        "Forest plot for publication: each study's observed rate (box area proportional to its "
        "weight, exact 95% CI), the frequentist pooled rows with their heterogeneity and the "
        "Bayesian rows.",
    )
    blocks += _figure(
        result,
        "survival_forest",
        run_dir,
        "Published medians (and landmark rates) per study with the Bayesian typical study.",
    )
    if "small_study" in result.tables or "funnel" in result.figures:
        blocks.append(Heading("Small-study effects and influence", 3, anchor=f"small-{key}"))
        caveats = result.tables.get("small_study", {}).get("caveat", [])
        caveat = next((str(c) for c in caveats if str(c) not in ("", "nan")), "")
        if caveat:
            blocks.append(Paragraph(f"Caveat: {caveat}.", css="warning"))
        blocks += result_table(
            result,
            "small_study",
            "Regression tests for funnel-plot asymmetry (metafor regtest: standard error and "
            "1/n as predictors) and the limit estimate as the standard error goes to 0",
            list(SMALL_STUDY_COLUMNS),
        )
        blocks += _figure(
            result,
            "funnel",
            run_dir,
            "Funnel plot (logit scale): studies, pooled estimate and 95% pseudo-confidence "
            "region; hollow points are studies filled by trim and fill.",
        )
        blocks += _figure(
            result,
            "baujat",
            run_dir,
            "Baujat plot: each study's contribution to heterogeneity against its influence on "
            "the pooled result.",
        )
        blocks += result_table(
            result,
            "influence",
            "Influence diagnostics (metafor influence): studentized deleted residuals, DFFITS, "
            "Cook's distance, hat values and weights",
        )
    if "meta_regression" in result.tables:
        blocks.append(Heading("Meta-regression", 3, anchor=f"metareg-{key}"))
        blocks.append(
            Paragraph(
                "Slopes are log odds ratios per unit of each moderator. Bayesian: logit-normal "
                "model with all moderators, posterior median, 95% CrI and P(slope > 0). "
                "Frequentist: rma(mods = ~ moderator), logit, REML, one moderator at a time, "
                "with the 95% CI, the test of the slope and the residual tau^2."
            )
        )
        blocks += result_table(
            result,
            "meta_regression",
            "Meta-regression slopes, Bayesian beside frequentist",
            list(META_REGRESSION_COLUMNS),
            percent=("prob_positive",),
        )
    if "model_comparison" in result.tables:
        table = result.tables["model_comparison"]
        blocks.append(Heading("Model comparison (LOO)", 3, anchor=f"loo-{key}"))
        blocks.append(
            Table(
                loo_report_table(table),
                "Leave-one-study-out predictive accuracy (PSIS-LOO): expected log predictive "
                "density of a left-out study's count, best model first",
                table_id=anchor(f"{result.id}-model_comparison"),
            )
        )
        caveat = loo_caveat(table)
        if caveat:
            blocks.append(Paragraph(caveat))
    return blocks


def figure_formats(name: str, asked: tuple[str, ...] = ("png",)) -> tuple[str, ...]:
    """The formats a run directory writes for the figure ``name``: PNG for every figure, and
    for a publication figure also the other formats ``asked`` (the spec's ``figure_formats``)."""
    if name not in PUBLICATION_FIGURES:
        return ("png",)
    return tuple(fmt for fmt in FIGURE_FORMATS if fmt == "png" or fmt in asked)
