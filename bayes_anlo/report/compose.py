"""The structure of a run report: which sections, in which order, saying what.

Sections: summary; data and sources; models and priors; convergence diagnostics; results;
Bayesian beside frequentist; posterior predictive checks; prior sensitivity; limitations and data
flags; reproducibility. Each analysis of the spec appears in each section it has content for.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bayes_anlo.pipeline.result import AnalysisResult
from bayes_anlo.report.render import Block, Bullets, Figure, Heading, Paragraph, Table

#: Columns that hold proportions (shown as percentages) in the tables where they appear.
RATE_COLUMNS = ("observed", "cp_low", "cp_high", "shrunken", "shrunken_low", "shrunken_high", "estimate",
                "ci_low", "ci_high", "pi_low", "pi_high", "pooled_median", "pooled_low", "pooled_high",
                "predictive_low", "predictive_high", "proportion", "threshold", "probability",
                "difference_median", "difference_low", "difference_high")
#: Posterior variables on the probability scale (their summaries are shown as percentages).
PERCENT_VARIABLES = ("pooled_rate", "mean_rate", "predictive_rate", "subgroup_rate", "subgroup_predictive_rate",
                     "study_rate", "rate", "difference", "survival", "landmark", "predictive_survival",
                     "predictive_landmark")


def _fig(result: AnalysisResult, name: str, run_dir: Path, caption: str) -> list[Block]:
    if name not in result.figures:
        return []
    rel = f"figures/{result.id}__{name}.png"
    return [Figure(run_dir / rel, rel, caption)]


def _table(result: AnalysisResult, name: str, caption: str, columns: list[str] | None = None,
           percent: tuple[str, ...] = ()) -> list[Block]:
    """A table of the result, with the named columns (that exist) shown as percentages."""
    if name not in result.tables:
        return []
    frame = result.tables[name]
    if columns:
        frame = frame[[c for c in columns if c in frame.columns]]
    return [Table(frame, caption, table_id=f"{result.id}-{name}", percent_columns=tuple(c for c in percent if c in frame))]


def _survival_comparison_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Medians in months, hazard ratios plain, survival as a percentage, probabilities to 3 d.p."""
    out = frame.copy()
    kind = ["median" if q.startswith("median") else "hr" if q.startswith("hazard") else "survival"
            for q in frame["quantity"]]
    formats = {"median": "{:.1f}", "hr": "{:.3f}"}
    for column in ("estimate", "ci_low", "ci_high"):
        out[column] = ["" if pd.isna(v) else (f"{100 * v:.1f}%" if k == "survival" else formats[k].format(v))
                       for v, k in zip(frame[column], kind, strict=True)]
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
        return f"{100 * v:+.1f} pp" if "difference" in row["method"] or "p1 - p2" in row["method"] else f"{v:.3g}"

    for column in ("estimate", "ci_low", "ci_high"):
        out[column] = [value(r, column) for _, r in frame.iterrows()]
    out["p_value"] = ["" if pd.isna(v) else f"{v:.3f}" for v in frame["p_value"]]
    return out


def _power_scaling_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("prior", "likelihood"):
        out[column] = ["not computed (flat prior)" if pd.isna(v) else f"{v:.3f}" for v in frame[column]]
    return out


def _posterior_table(result: AnalysisResult) -> list[Block]:
    """Posterior summaries with rates as percentages and other parameters as plain numbers."""
    if "posterior" not in result.tables:
        return []
    frame = result.tables["posterior"].copy()
    value_columns = ["median", "ci_low", "ci_high", "mean", "sd"]
    is_rate = frame["variable"].isin(PERCENT_VARIABLES)
    for c in value_columns:
        frame[c] = [f"{100 * v:.1f}%" if rate else f"{v:.3g}" for v, rate in zip(frame[c], is_rate, strict=True)]
    extra = ["p_hr_below_1"] if "p_hr_below_1" in frame else []  # survival: P(hazard ratio < 1)
    if extra:
        frame["p_hr_below_1"] = ["" if pd.isna(v) else f"{v:.3f}" for v in frame["p_hr_below_1"]]
    frame = frame[["variable", "label", "description"] + value_columns + extra].rename(
        columns={"p_hr_below_1": "P(HR < 1)"})
    return [Table(frame, "Posterior summaries (median and 95% equal-tailed credible interval)",
                  table_id=f"{result.id}-posterior")]


def audit_blocks(audits: dict) -> list[Block]:
    """The audit section: per audited paper, the verdict counts and every flagged number."""
    blocks: list[Block] = [Heading("Audit of the printed numbers", 2, anchor="audit"), Paragraph(
        "Before re-analysing a paper, its printed statistics were recomputed under the methods it could have "
        "used (bayes-anlo audit). Flagged rows are numbers that no method reproduces, that only a method other "
        "than the one named reproduces, that disagree with another printing of the same quantity, or whose "
        "parts do not sum to their total.")]
    for name, audit in audits.items():
        counts = audit.summary()
        blocks.append(Heading(f"Audit: {name}", 3, anchor=f"audit-{name}"))
        blocks.append(Paragraph(f"{int(counts.sum())} checks: " + ", ".join(f"{int(v)} {k}" for k, v in counts.items() if v)
                                + f". Full table: `tables/audit__{name}.csv`."))
        flagged = audit.flagged_table
        if len(flagged):
            blocks.append(Table(flagged[["location", "printed", "named_method", "matching", "verdict", "note"]],
                                "Flagged numbers", table_id=f"audit-{name}-flagged"))
    return blocks


def compose_report(spec, results: list[AnalysisResult], record: dict, run_dir: Path, audits: dict | None = None) -> list[Block]:
    """Blocks of the run report (see module docstring for the sections)."""
    blocks: list[Block] = [Heading(spec.title, 1)]
    if spec.description:
        blocks.append(Paragraph(spec.description))
    unconverged = [r for r in results if not r.converged]
    if unconverged:
        blocks.append(Paragraph(
            "**NOT CONVERGED.** " + "; ".join(f"{r.id}: {', '.join(r.convergence_reasons)}" for r in unconverged)
            + ". Estimates from these analyses are not reliable.", css="warning"))
    else:
        blocks.append(Paragraph("All analyses passed the convergence gate (R-hat <= 1.01, bulk and tail ESS >= 400, no divergences).", css="ok"))

    blocks.append(Heading("Summary", 2))
    blocks.append(Bullets(tuple(f"**{r.title}** ({r.model}): {r.headline}" for r in results if r.headline)))

    blocks.append(Heading("Data and sources", 2))
    for r in results:
        blocks.append(Heading(r.title, 3, anchor=f"data-{r.id}"))
        data_cols = ["study", "subgroup", "arm", "line", "outcome", "events", "n", "proportion", "derived", "source",
                     "endpoint", "quantity", "value", "time", "unit"]
        blocks += _table(r, "data", "Data analysed (each number with its source)", data_cols, percent=("proportion",))

    blocks.append(Heading("Models and priors", 2))
    for r in results:
        blocks.append(Paragraph(f"**{r.title}**: model `{r.model}`. Priors: {r.priors_text}."))
        blocks += [Paragraph(n) for n in r.notes]

    blocks.append(Heading("Convergence diagnostics", 2))
    for r in results:
        status = "converged" if r.converged else "NOT CONVERGED: " + "; ".join(r.convergence_reasons)
        blocks.append(Paragraph(f"**{r.title}**: {status}.", css="" if r.converged else "warning"))
        blocks += _table(r, "diagnostics", "R-hat, effective sample sizes and Monte Carlo standard errors")

    blocks.append(Heading("Results", 2))
    for r in results:
        blocks.append(Heading(r.title, 3, anchor=f"results-{r.id}"))
        blocks.append(Paragraph(r.headline, css="headline"))
        blocks += _posterior_table(r)
        blocks += _table(r, "exceedance", "Posterior probability that the rate exceeds each threshold",
                         percent=("threshold",))
        blocks += _fig(r, "forest", run_dir, "Forest plot: observed rates with exact 95% CIs, shrunken posterior rates, and pooled estimates by method.")
        blocks += _fig(r, "shrinkage", run_dir, "Shrinkage: each observed rate moves toward the pooled estimate, more so for small studies.")
        blocks += _fig(r, "exceedance", run_dir, "Posterior probability that the pooled rate (and a new study's rate) exceeds each threshold.")
        blocks += _fig(r, "prior_posterior", run_dir, "Prior and posterior of the pooled rate (for two arms: of the difference).")
        blocks += _fig(r, "survival_curve", run_dir, "Posterior survival curve of the typical study (median and 95% "
                       "band), the 95% band for a new study, and the reported medians and landmark rates.")

    blocks.append(Heading("Bayesian beside frequentist", 2))
    if any(r.model != "piecewise_exponential" for r in results):
        blocks.append(Paragraph(
            "Each row is a pooled estimate of the same quantity on the same data. Frequentist rows follow R metafor: "
            "PFT = Freeman-Tukey double arcsine (back-transformed with the harmonic-mean n), PLO = logit with 0.5 added "
            "to studies with 0 or n events, DL/REML = tau^2 estimator, GLMM = random-intercept logistic model by ML. "
            "The Freeman-Tukey back-transform can mislead (Schwarzer et al. 2019); read it beside the logit and GLMM rows. "
            "For Bayesian rows, the interval is a 95% credible interval and pi_* the 95% interval of a new study's rate."))
    if any(r.model == "piecewise_exponential" for r in results):
        blocks.append(Paragraph(
            "Survival: posterior rows are the typical study's median (months), landmark survival and hazard ratio of "
            "each arm against the reference arm, with 95% credible intervals and P(HR < 1). With patient data or "
            "reconstructed pseudo-patients, the frequentist rows follow R's survival package: Kaplan-Meier medians "
            "with the Brookmeyer-Crowley 95% CI (survfit, log band; empty = not reached), the log-rank test (survdiff) "
            "and the Cox proportional-hazards hazard ratio with its Wald 95% CI (coxph, Efron ties)."))
    for r in results:
        blocks.append(Heading(r.title, 3, anchor=f"compare-{r.id}"))
        if r.model == "piecewise_exponential":
            blocks += [Table(_survival_comparison_frame(r.tables["comparison"]), "Hazard ratios, medians and landmark "
                             "survival: posterior beside reported or frequentist values (medians in months; survival "
                             "as a percentage)", table_id=f"{r.id}-comparison")]
            if "reconstruction" in r.tables:
                from bayes_anlo.survival.guyot import DIAGNOSTIC_DESCRIPTIONS

                blocks.append(Paragraph("Guyot reconstruction of the digitised curves. " + "; ".join(
                    f"`{k}`: {v}" for k, v in DIAGNOSTIC_DESCRIPTIONS.items() if k in r.tables["reconstruction"]) + "."))
                blocks += _table(r, "reconstruction", "Reconstruction diagnostics, one row per digitised curve")
        else:
            blocks += _table(r, "comparison", "Pooled estimates by method", percent=RATE_COLUMNS)
        if "contrast" in r.tables:
            blocks += [Table(_contrast_frame(r.tables["contrast"]), "Arm 1 against arm 2: Bayesian posterior, "
                             "frequentist tests and intervals, and what the paper printed", table_id=f"{r.id}-contrast")]
        blocks += _table(r, "subgroups_frequentist", "Frequentist subgroup analysis (logit, REML)",
                         ["subgroup", "method", "k", "total_events", "total_n", "estimate", "ci_low", "ci_high", "tau2", "i2"],
                         percent=RATE_COLUMNS)
        blocks += _table(r, "subgroup_tests", "Tests for subgroup differences")
        blocks += _table(r, "leave_one_out", "Leave-one-study-out (logit, REML)", percent=RATE_COLUMNS)

    blocks.append(Heading("Posterior predictive checks", 2))
    blocks.append(Paragraph("Posterior predictive p-values near 0 or 1 (flagged) mean the model does not reproduce that feature of the data."))
    for r in results:
        blocks.append(Heading(r.title, 3, anchor=f"ppc-{r.id}"))
        blocks += _table(r, "ppc", "Test statistics: observed value, replicated distribution and posterior predictive p-value")
        blocks += _table(r, "ppc_units", "Observed events per study beside the 90% posterior predictive interval")
        blocks += _fig(r, "ppc", run_dir, "Posterior predictive check: each observed value (dark square) against the "
                       "90% interval of its replicates (red); orange rows lie outside it. Histograms: each test statistic "
                       "over replicated data sets, with the observed value as a dark line.")

    blocks.append(Heading("Prior sensitivity", 2))
    blocks.append(Paragraph(
        "Two checks. Power-scaling (ArviZ) makes each prior, and then the likelihood, slightly stronger and weaker "
        "by importance weighting the draws already made, and reports how far each posterior moves: it needs no refit, "
        "but it cannot perturb a flat prior and it is local. Refits under the model's named alternative prior sets "
        "(where the spec asks for them) test the flat priors and larger changes; a refit that did not converge is "
        "marked and is no evidence either way. ArviZ labels a quantity 'potential prior-data conflict' when both "
        "sensitivities exceed 0.05 (prior and data both shape it) and 'potential strong prior / weak likelihood' "
        "when only the prior's does; with a handful of studies the heterogeneity parameter (kappa, tau) is usually "
        "shaped by its prior. A conclusion that moves with the prior rests on the prior, not on the data."))
    for r in results:
        blocks.append(Heading(r.title, 3, anchor=f"sens-{r.id}"))
        blocks += [Paragraph(text) for text in r.sections.get("sensitivity", [])]
        if "power_scaling" in r.tables:
            blocks.append(Table(_power_scaling_frame(r.tables["power_scaling"]),
                                "Power-scaling sensitivity (cumulative Jensen-Shannon distance per unit log2 scaling)",
                                table_id=f"{r.id}-power_scaling"))
        what = {"piecewise_exponential": "Median survival by arm (months) and hazard ratios against the reference arm",
                "two_arm": "Difference p1 - p2 and P(p1 > p2)"}
        blocks += _table(r, "sensitivity", f"{what.get(r.model, 'Pooled rate')} under alternative priors "
                         "(posterior median and 95% CrI)", percent=RATE_COLUMNS)

    blocks.append(Heading("Limitations and data flags", 2))
    items = list(spec.limitations)
    for r in results:
        items += [f"{r.title}: {flag}" for flag in r.flags]
    blocks.append(Bullets(tuple(dict.fromkeys(items))) if items else Paragraph("No data flags were raised."))
    if audits:
        blocks += audit_blocks(audits)

    blocks.append(Heading("Reproducibility", 2))
    blocks.append(Paragraph(
        f"Spec `{record['spec_path']}` (sha256 `{record['spec_sha256'][:16]}`), seed {record['seed']}, run at "
        f"{record['started_at']} in {record['wall_seconds']:.1f} s. Re-run with `bayes-anlo run {record['spec_path']} --out DIR`; "
        "the same spec and seed give identical draws and tables on the same machine and package versions "
        "(on another CPU, NUTS draws may differ by Monte Carlo error)."))
    blocks.append(Table(pd.DataFrame(
        [{"analysis": r.id, "data sha256": h[:16]} for r in results for h in [record["data_sha256"].get(r.id, "")]]),
        "Hashes of the data each analysis used"))
    blocks.append(Paragraph("Software and platform: " + ", ".join(f"{k} {v}" for k, v in json.loads(record["versions"]).items()) + "."))
    return blocks
