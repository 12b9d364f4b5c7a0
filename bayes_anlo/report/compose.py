"""The structure of a run report: which sections, in which order, saying what.

Level-2 sections (the HTML contents bar lists them, so the report is navigable per analysis):
summary; how to read this report; one section per analysis ("Analysis: <title>", anchor
``analysis-<id>``) holding its data and sources, model and priors, convergence diagnostics,
results, Bayesian beside frequentist, posterior predictive checks and prior sensitivity;
limitations and data flags; audit; reproducibility. Anchors are made of ``[A-Za-z0-9_-]`` only
(:func:`anchor`). An analysis that did not pass the convergence gate is marked in its heading, in
the summary, and in the caption of every one of its tables and figures (and in its figures'
titles, which the pipeline sets).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bayes_anlo.report.design_section import design_blocks
from bayes_anlo.report.evidence_sections import evidence_blocks
from bayes_anlo.report.exnex_section import exnex_blocks
from bayes_anlo.report.render import Block, Bullets, Figure, Heading, Paragraph, Table, anchor
from bayes_anlo.report.result import AnalysisResult
from bayes_anlo.report.result_blocks import result_table

#: Columns that hold proportions (shown as percentages) in the tables where they appear.
RATE_COLUMNS = (
    "observed",
    "cp_low",
    "cp_high",
    "shrunken",
    "shrunken_low",
    "shrunken_high",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "pooled_median",
    "pooled_low",
    "pooled_high",
    "predictive_low",
    "predictive_high",
    "proportion",
    "threshold",
    "probability",
    "difference_median",
    "difference_low",
    "difference_high",
)
#: Posterior variables on the probability scale (their summaries are shown as percentages).
PERCENT_VARIABLES = (
    "pooled_rate",
    "mean_rate",
    "predictive_rate",
    "subgroup_rate",
    "subgroup_predictive_rate",
    "study_rate",
    "rate",
    "difference",
    "survival",
    "landmark",
    "predictive_survival",
    "predictive_landmark",
)


def _fig(result: AnalysisResult, name: str, run_dir: Path, caption: str) -> list[Block]:
    if name not in result.figures:
        return []
    rel = f"figures/{result.id}__{name}.png"
    return [Figure(run_dir / rel, rel, caption)]


def _survival_comparison_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Medians in months, hazard ratios plain, survival as a percentage, probabilities to 3 d.p."""
    out = frame.copy()
    kind = [
        "median" if q.startswith("median") else "hr" if q.startswith("hazard") else "survival"
        for q in frame["quantity"]
    ]
    formats = {"median": "{:.1f}", "hr": "{:.3f}"}
    for column in ("estimate", "ci_low", "ci_high"):
        out[column] = [
            "" if pd.isna(v) else (f"{100 * v:.1f}%" if k == "survival" else formats[k].format(v))
            for v, k in zip(frame[column], kind, strict=True)
        ]
    for column in ("p_value", "p_hr_below_1"):
        if column in frame:
            out[column] = ["" if pd.isna(v) else f"{v:.3g}" for v in frame[column]]
    return out.rename(columns={"p_hr_below_1": "P(HR < 1)"})


def _contrast_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Two-arm contrast rows: differences as percentage points, ratios plain, p-values to 3 d.p."""
    out = frame.copy()

    def value(row, column):
        v = row[column]
        if pd.isna(v):
            return ""
        if row["method"] == "P(p1 > p2)":
            return f"{v:.3f}"
        if "ratio" in row["method"] or "p1 / p2" in row["method"]:
            return f"{v:.3g}"
        return (
            f"{100 * v:+.1f} pp"
            if "difference" in row["method"] or "p1 - p2" in row["method"]
            else f"{v:.3g}"
        )

    for column in ("estimate", "ci_low", "ci_high"):
        out[column] = [value(r, column) for _, r in frame.iterrows()]
    out["p_value"] = ["" if pd.isna(v) else f"{v:.3f}" for v in frame["p_value"]]
    return out


def _power_scaling_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("prior", "likelihood"):
        out[column] = [
            "not computed (flat prior)" if pd.isna(v) else f"{v:.3f}" for v in frame[column]
        ]
    if "prior_percentile" in frame:
        out["prior_percentile"] = [
            "" if pd.isna(v) else f"{v:.1f}%" for v in frame["prior_percentile"]
        ]
    return out


def _posterior_table(result: AnalysisResult) -> list[Block]:
    """Posterior summaries with rates as percentages and other parameters as plain numbers."""
    if "posterior" not in result.tables:
        return []
    frame = result.tables["posterior"].copy()
    value_columns = ["median", "ci_low", "ci_high", "mean", "sd"]
    is_rate = frame["variable"].isin(PERCENT_VARIABLES)
    for c in value_columns:
        frame[c] = [
            f"{100 * v:.1f}%" if rate else f"{v:.3g}"
            for v, rate in zip(frame[c], is_rate, strict=True)
        ]
    extra = ["p_hr_below_1"] if "p_hr_below_1" in frame else []  # survival: P(hazard ratio < 1)
    if extra:
        frame["p_hr_below_1"] = ["" if pd.isna(v) else f"{v:.3f}" for v in frame["p_hr_below_1"]]
    frame = frame[["variable", "label", "description"] + value_columns + extra].rename(
        columns={"p_hr_below_1": "P(HR < 1)"}
    )
    return [
        Table(
            frame,
            "Posterior summaries (median and 95% equal-tailed credible interval)",
            table_id=anchor(f"{result.id}-posterior"),
        )
    ]


def audit_blocks(audits: dict) -> list[Block]:
    """The audit section: per audited paper, the verdict counts and every flagged number."""
    blocks: list[Block] = [
        Heading("Audit of the printed numbers", 2, anchor="audit"),
        Paragraph(
            "Before re-analysing a paper, its printed statistics were recomputed under the methods "
            "it could have used (bayes-anlo audit). Flagged rows are numbers that no method "
            "reproduces, that only a method other than the one named reproduces, that disagree "
            "with another printing of the same quantity, or whose parts do not sum to their total. "
            "Candidates are the counts, denominators and methods that do reproduce a flagged "
            "number, most plausible first."
        ),
    ]
    for name, audit in audits.items():
        counts = audit.summary()
        blocks.append(Heading(f"Audit: {name}", 3, anchor=anchor(f"audit-{name}")))
        blocks.append(
            Paragraph(
                f"{int(counts.sum())} checks: "
                + ", ".join(f"{int(v)} {k}" for k, v in counts.items() if v)
                + f". Full table: `tables/audit__{name}.csv`."
            )
        )
        flagged = audit.flagged_table
        if len(flagged):
            blocks.append(
                Table(
                    flagged[
                        ["location", "printed", "named_method", "matching", "candidates"]
                        + ["verdict", "note"]
                    ],
                    "Flagged numbers",
                    table_id=anchor(f"audit-{name}-flagged"),
                )
            )
    return blocks


def _mark(result: AnalysisResult, caption: str) -> str:
    """A caption of ``result``'s table or figure, marked when the analysis did not converge."""
    return caption if result.converged else f"NOT CONVERGED: {caption}"


def _marked(result: AnalysisResult, blocks: list[Block]) -> list[Block]:
    """Every table and figure caption of ``result`` marked when it did not converge."""
    if result.converged:
        return blocks
    out = []
    for b in blocks:
        if isinstance(b, Table):
            b = Table(
                b.frame, _mark(result, b.caption), anchor(b.table_id), b.percent_columns, b.digits
            )
        elif isinstance(b, Figure):
            b = Figure(b.path, b.relative, _mark(result, b.caption))
        out.append(b)
    return out


def _subgroup_blocks(r: AnalysisResult) -> list[Block]:
    blocks: list[Block] = []
    if "subgroup_pooled" in r.tables:
        frame = r.tables["subgroup_pooled"].copy()
        frame["k"] = ["" if pd.isna(k) else str(int(k)) for k in frame["k"]]
        blocks.append(
            Table(
                frame[
                    [
                        c
                        for c in [
                            "subgroup",
                            "paradigm",
                            "method",
                            "k",
                            "estimate",
                            "ci_low",
                            "ci_high",
                            "pi_low",
                            "pi_high",
                            "note",
                        ]
                        if c in frame
                    ]
                ],
                f"Pooled estimate of each subgroup ({r.by or 'subgroup'}): Bayesian subgroup mean "
                "(posterior median, 95% CrI) and each subgroup pooled on its own (frequentist); "
                "pi_*: 95% interval for a new study of the subgroup",
                table_id=anchor(f"{r.id}-subgroup_pooled"),
                percent_columns=tuple(c for c in RATE_COLUMNS if c in frame),
            )
        )
    if "subgroup_contrasts" in r.tables:
        frame = r.tables["subgroup_contrasts"].rename(columns={"prob_a_greater": "P(A > B)"})
        blocks.append(
            Table(
                frame,
                "Posterior contrasts between subgroups: difference of subgroup mean rates A - B "
                "(posterior median, 95% CrI) and the posterior probability that A's rate exceeds "
                "B's",
                table_id=anchor(f"{r.id}-subgroup_contrasts"),
                percent_columns=("difference_median", "difference_low", "difference_high"),
            )
        )
    blocks += result_table(
        r,
        "subgroups_frequentist",
        "Frequentist subgroup analysis (logit, REML)",
        [
            "subgroup",
            "method",
            "k",
            "total_events",
            "total_n",
            "estimate",
            "ci_low",
            "ci_high",
            "tau2",
            "i2",
        ],
        percent=RATE_COLUMNS,
    )
    blocks += result_table(r, "subgroup_tests", "Tests for subgroup differences")
    return blocks


SURVIVAL_READING_NOTE = (
    "**Survival beside frequentist.** Posterior rows are the typical study's median (months), "
    "landmark survival and hazard ratio of each arm against the reference arm, with 95% credible "
    "intervals and P(HR < 1). With patient data or reconstructed pseudo-patients, the frequentist "
    "rows follow R's survival package: Kaplan-Meier medians with the Brookmeyer-Crowley 95% CI "
    "(survfit, log band; empty = not reached), the log-rank test (survdiff) and the Cox "
    "proportional-hazards hazard ratio with its Wald 95% CI (coxph, Efron ties)."
)

READING_NOTES = (
    "**Bayesian beside frequentist.** Each comparison row is a pooled estimate of the same "
    "quantity on the same data. Frequentist rows follow R metafor: PFT = Freeman-Tukey double "
    "arcsine (back-transformed with the harmonic-mean n), PLO = logit with 0.5 added to studies "
    "with 0 or n events, DL/REML = tau^2 estimator, GLMM = random-intercept logistic model by ML. "
    "The Freeman-Tukey back-transform can mislead (Schwarzer et al. 2019); read it beside the "
    "logit and GLMM rows. For Bayesian rows, the interval is a 95% credible interval and pi_* the "
    "95% interval of a new study's rate. The population mean rate is `pooled_rate` in the "
    "beta-binomial model and `mean_rate` in the logit-normal and nested models, whose "
    "`pooled_rate` is the median study (or subgroup) rate, the quantity the GLMM estimates.",
    "**Posterior predictive checks.** Posterior predictive p-values near 0 or 1 (flagged) mean the "
    "model does not reproduce that feature of the data.",
    "**Prior sensitivity.** Two checks. Power-scaling (ArviZ) makes each prior, and then the "
    "likelihood, slightly stronger and weaker by importance weighting the draws already made, and "
    "reports how far each posterior moves: it needs no refit, but it cannot perturb a flat prior "
    "and it is local. A quantity whose prior sensitivity exceeds 0.05 while its likelihood "
    "sensitivity does not is *determined mainly by its prior*: with a handful of studies this is "
    "expected of the heterogeneity (kappa, ICC, tau, the between-subgroup SD), and the "
    "prior/posterior figure shows how much the data moved it. When both exceed 0.05, prior and "
    "data both inform the quantity; it is called a *prior-data conflict* only when its posterior "
    "median also lies outside the central 95% of its prior. Refits under the model's named "
    "alternative prior sets (where the spec asks for them) test the flat priors and larger "
    "changes; a refit that did not converge is marked and is no evidence either way. A conclusion "
    "that moves with the prior rests on the prior, not on the data.",
)


def analysis_keys(results: list[AnalysisResult]) -> dict[str, str]:
    """Analysis id -> a unique anchor key made of ``[A-Za-z0-9_-]``."""
    keys: dict[str, str] = {}
    for r in results:
        key, k = anchor(r.id), 2
        while key in keys.values():
            key, k = f"{anchor(r.id)}-{k}", k + 1
        keys[r.id] = key
    return keys


def analysis_blocks(r: AnalysisResult, run_dir: Path, key: str | None = None) -> list[Block]:
    """Every section of one analysis, under one level-2 heading (its entry in the contents)."""
    key = key or anchor(r.id)
    status = "" if r.converged else " (NOT CONVERGED)"
    blocks: list[Block] = [Heading(f"Analysis: {r.title}{status}", 2, anchor=f"analysis-{key}")]
    if not r.converged:
        blocks.append(
            Paragraph(
                "**NOT CONVERGED**: "
                + "; ".join(r.convergence_reasons)
                + ". Every number of this analysis is unreliable.",
                css="warning",
            )
        )
    if r.headline:
        blocks.append(Paragraph(r.headline, css="headline"))

    blocks.append(Heading("Data and sources", 3, anchor=f"data-{key}"))
    data_cols = (
        ["study"]
        + ([r.by] if r.by else [])
        + [
            "subgroup",
            "arm",
            "line",
            "outcome",
            "events",
            "n",
            "proportion",
            "derived",
            "source",
            "endpoint",
            "quantity",
            "value",
            "time",
            "unit",
        ]
    )
    if "data" in r.tables:
        data = r.tables["data"]
        filled = [
            c
            for c in dict.fromkeys(data_cols)
            if c in data and data[c].astype(str).replace("nan", "").ne("").any()
        ]
        blocks += result_table(
            r,
            "data",
            "Data analysed (each number with its source)",
            filled,
            percent=("proportion",),
        )

    blocks.append(Heading("Model and priors", 3, anchor=f"model-{key}"))
    blocks.append(Paragraph(f"Model `{r.model}`. Priors: {r.priors_text}."))
    blocks += [Paragraph(n) for n in r.notes]

    blocks.append(Heading("Convergence diagnostics", 3, anchor=f"convergence-{key}"))
    status = "converged" if r.converged else "NOT CONVERGED: " + "; ".join(r.convergence_reasons)
    blocks.append(
        Paragraph(f"{status[0].upper()}{status[1:]}.", css="" if r.converged else "warning")
    )
    blocks += result_table(
        r, "diagnostics", "R-hat, effective sample sizes and Monte Carlo standard errors"
    )

    blocks.append(Heading("Results", 3, anchor=f"results-{key}"))
    blocks += _posterior_table(r)
    blocks += result_table(
        r,
        "exceedance",
        "Posterior probability that the rate exceeds each threshold",
        percent=("threshold",),
    )
    grouped = "subgroup_pooled" in r.tables
    blocks += _fig(
        r,
        "forest",
        run_dir,
        "Forest plot: observed rates with exact 95% CIs, shrunken posterior rates, and "
        + (
            "each subgroup's pooled rows (Bayesian and frequentist) under its studies, then the "
            "pooled estimates by method, with the test for subgroup differences under the axis."
            if grouped
            else "pooled estimates by method."
        ),
    )
    blocks += _fig(
        r,
        "shrinkage",
        run_dir,
        "Shrinkage: each observed rate moves toward "
        + (
            "its subgroup's mean (solid line, one colour per subgroup)"
            if grouped
            else "the pooled estimate"
        )
        + ", more so for small studies.",
    )
    blocks += _fig(
        r,
        "exceedance",
        run_dir,
        "Posterior probability that the pooled rate (and a new study's rate) exceeds each "
        "threshold.",
    )
    blocks += _fig(
        r,
        "prior_posterior",
        run_dir,
        "Prior (exact density, dashed) and posterior (histogram of draws) of "
        "the parameters a prior can move with few studies: the pooled rate or difference and the "
        "heterogeneity (ICC, tau, between-subgroup SD).",
    )
    blocks += _fig(
        r,
        "survival_curve",
        run_dir,
        "Posterior survival curve of the typical study (median and 95% "
        "band), the 95% band for a new study, and the reported medians and landmark rates.",
    )

    blocks += exnex_blocks(r, key)
    blocks.append(Heading("Bayesian beside frequentist", 3, anchor=f"compare-{key}"))
    if r.model == "piecewise_exponential":
        blocks += [
            Table(
                _survival_comparison_frame(r.tables["comparison"]),
                "Hazard ratios, medians and landmark survival: posterior beside reported or "
                "frequentist values (medians in months; survival as a percentage)",
                table_id=anchor(f"{r.id}-comparison"),
            )
        ]
        if "reconstruction" in r.tables:
            from bayes_anlo.survival.guyot import DIAGNOSTIC_DESCRIPTIONS

            blocks.append(
                Paragraph(
                    "Guyot reconstruction of the digitised curves. "
                    + "; ".join(
                        f"`{k}`: {v}"
                        for k, v in DIAGNOSTIC_DESCRIPTIONS.items()
                        if k in r.tables["reconstruction"]
                    )
                    + "."
                )
            )
            blocks += result_table(
                r, "reconstruction", "Reconstruction diagnostics, one row per digitised curve"
            )
    else:
        blocks += result_table(r, "comparison", "Pooled estimates by method", percent=RATE_COLUMNS)
    if "contrast" in r.tables:
        blocks += [
            Table(
                _contrast_frame(r.tables["contrast"]),
                "Arm 1 against arm 2: Bayesian posterior, "
                "frequentist tests and intervals, and what the paper printed",
                table_id=anchor(f"{r.id}-contrast"),
            )
        ]
    blocks += _subgroup_blocks(r)
    blocks += result_table(
        r,
        "leave_one_out",
        "Leave-one-study-out (logit transform, REML): the pooled rate without each study, with its "
        "95% CI and prediction interval (rate scale), tau^2 (logit scale) and I^2 (%) of the "
        "remaining studies",
        percent=RATE_COLUMNS,
    )

    blocks += evidence_blocks(r, run_dir, key)

    blocks.append(Heading("Posterior predictive checks", 3, anchor=f"ppc-{key}"))
    blocks += result_table(
        r,
        "ppc",
        "Test statistics: observed value, replicated distribution and posterior predictive p-value",
    )
    blocks += result_table(
        r, "ppc_units", "Observed events per study beside the 90% posterior predictive interval"
    )
    blocks += _fig(
        r,
        "ppc",
        run_dir,
        "Posterior predictive check: each observed value (dark square) against the 90% interval of "
        "its replicates (red); orange rows lie outside it. Histograms: each test statistic over "
        "replicated data sets, with the observed value as a dark line.",
    )

    blocks.append(Heading("Prior sensitivity", 3, anchor=f"sens-{key}"))
    blocks += [Paragraph(text) for text in r.sections.get("sensitivity", [])]
    if "power_scaling" in r.tables:
        blocks.append(
            Table(
                _power_scaling_frame(r.tables["power_scaling"]),
                "Power-scaling sensitivity (cumulative Jensen-Shannon distance per unit log2 "
                "scaling; prior_percentile: where the posterior median lies in the prior)",
                table_id=anchor(f"{r.id}-power_scaling"),
            )
        )
    what = {
        "piecewise_exponential": (
            "Median survival by arm (months) and hazard ratios against the reference arm"
        ),
        "two_arm": "Difference p1 - p2 and P(p1 > p2)",
    }
    blocks += result_table(
        r,
        "sensitivity",
        f"{what.get(r.model, 'Pooled rate')} under alternative priors "
        "(posterior median and 95% CrI)",
        percent=RATE_COLUMNS,
    )
    return _marked(r, blocks)


def compose_report(
    spec, results: list[AnalysisResult], record: dict, run_dir: Path, audits: dict | None = None
) -> list[Block]:
    """Blocks of the run report (see module docstring for the sections)."""
    blocks: list[Block] = [Heading(spec.title, 1)]
    if spec.description:
        blocks.append(Paragraph(spec.description))
    unconverged = [r for r in results if not r.converged]
    if unconverged:
        blocks.append(
            Paragraph(
                "**NOT CONVERGED.** "
                + "; ".join(f"{r.id}: {', '.join(r.convergence_reasons)}" for r in unconverged)
                + (
                    ". Estimates from these analyses are not reliable; each of their tables and "
                    "figures is marked."
                ),
                css="warning",
            )
        )
    else:
        blocks.append(
            Paragraph(
                "All analyses passed the convergence gate (R-hat <= 1.01, bulk and tail ESS >= "
                "400, no divergences).",
                css="ok",
            )
        )

    blocks.append(Heading("Summary", 2, anchor="summary"))
    blocks.append(
        Bullets(
            tuple(
                f"**{r.title}** ({r.model}{'' if r.converged else ', NOT CONVERGED'}): {r.headline}"
                for r in results
                if r.headline
            )
        )
    )
    blocks.append(Heading("How to read this report", 2, anchor="reading"))
    binary = any(r.model != "piecewise_exponential" for r in results)
    survival = any(r.model == "piecewise_exponential" for r in results)
    blocks += [
        Paragraph(text)
        for text in READING_NOTES
        if binary or not text.startswith("**Bayesian beside")
    ]
    if survival:
        blocks.append(Paragraph(SURVIVAL_READING_NOTE))
    keys = analysis_keys(results)
    for r in results:
        blocks += analysis_blocks(r, run_dir, keys[r.id])

    blocks += design_blocks(results, run_dir)
    blocks.append(Heading("Limitations and data flags", 2, anchor="limitations"))
    items = list(spec.limitations)
    for r in results:
        items += [f"{r.title}: {flag}" for flag in r.flags]
    blocks.append(
        Bullets(tuple(dict.fromkeys(items))) if items else Paragraph("No data flags were raised.")
    )
    if audits:
        blocks += audit_blocks(audits)

    blocks.append(Heading("Reproducibility", 2, anchor="reproducibility"))
    blocks.append(
        Paragraph(
            f"Spec `{record['spec_path']}` (sha256 `{record['spec_sha256'][:16]}`), seed "
            f"{record['seed']}, run at {record['started_at']} in {record['wall_seconds']:.1f} s. "
            f"Re-run with `bayes-anlo run {record['spec_path']} --out DIR`; the same spec and seed "
            "give identical draws and tables on the same machine and package versions (on another "
            "CPU, NUTS draws may differ by Monte Carlo error)."
        )
    )
    blocks.append(
        Table(
            pd.DataFrame(
                [
                    {"analysis": r.id, "data sha256": h[:16]}
                    for r in results
                    for h in [record["data_sha256"].get(r.id, "")]
                ]
            ),
            "Hashes of the data each analysis used",
        )
    )
    blocks.append(
        Paragraph(
            "Software and platform: "
            + ", ".join(f"{k} {v}" for k, v in json.loads(record["versions"]).items())
            + "."
        )
    )
    return blocks
