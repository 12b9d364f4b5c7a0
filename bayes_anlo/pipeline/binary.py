"""One response-rate analysis of a spec: data -> fit -> checks -> comparators -> tables and
figures."""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd

from bayes_anlo.data.binary import BinaryData, load_binary
from bayes_anlo.errors import InputError
from bayes_anlo.models.sampling import SamplerSettings, derived_seed
from bayes_anlo.pipeline import evidence_steps
from bayes_anlo.pipeline.skeleton import Analysis, Steps, run_steps
from bayes_anlo.report import exnex_section, plots, prior_density, tables
from bayes_anlo.report.canvas import recipe
from bayes_anlo.report.result import AnalysisResult
from bayes_anlo.spec import AnalysisEntry

#: Frequentist pooled results computed for every multi-study analysis.
FREQUENTIST_METHODS = (("pft", "DL"), ("pft", "REML"), ("logit", "DL"), ("logit", "REML"))


def load_entry_data(entry: AnalysisEntry) -> BinaryData:
    """The entry's binary data with its outcome, ``where`` and ``exclude`` applied."""
    from bayes_anlo import datasets

    data = datasets.load(entry.data.dataset) if entry.data.dataset else load_binary(entry.data.file)
    if not isinstance(data, BinaryData):
        raise InputError(
            f"analysis {entry.id!r}: {entry.data.describe()} is not binary (events/n) data"
        )
    if entry.outcome is None:
        raise InputError(f"analysis {entry.id!r}: `outcome` is required for model {entry.model!r}")
    data = data.select(outcome=entry.outcome, **entry.where)
    if entry.exclude:
        data = data.exclude(**entry.exclude)
    if len(data) == 0:
        raise InputError(f"analysis {entry.id!r}: no rows left after `where`/`exclude`")
    return data


def describe_priors(priors) -> str:
    if hasattr(priors, "describe"):
        return priors.describe()
    if hasattr(priors, "to_dict"):
        return json.dumps(priors.to_dict())
    return repr(priors)


def frequentist_results(data: BinaryData) -> tuple[list, list[str]]:
    """The frequentist pooled results for ``data``, and notes on any that could not be computed."""
    from bayes_anlo import frequentist as fq

    results, notes = [], []
    if len(data) < 2:
        return [single_study_intervals(data)], [
            "A single study: no pooling; the frequentist rows are its confidence intervals by four "
            "methods."
        ]
    for transform, method in FREQUENTIST_METHODS:
        try:
            results.append(fq.pool_proportions(data, transform=transform, method=method))
        except (ValueError, RuntimeError) as exc:  # e.g. REML not converging
            notes.append(f"{transform.upper()}-{method} not computed: {exc}")
    try:
        results.append(fq.glmm_logit(data))
    except (ValueError, RuntimeError) as exc:
        notes.append(f"GLMM not computed: {exc}")
    return results, notes


SINGLE_STUDY_METHODS = (
    ("clopper-pearson", "Clopper-Pearson (exact)"),
    ("wilson", "Wilson score"),
    ("wald", "Wald"),
    ("spss-t", "SPSS t-interval of a 0/1 variable"),
)


def single_study_intervals(data: BinaryData) -> pd.DataFrame:
    """The 95% CIs a paper could print for one study's rate, one row per method."""
    from bayes_anlo.frequentist import proportion_ci

    rows = []
    for key, label in SINGLE_STUDY_METHODS:
        ci = proportion_ci(data.events, data.n, key)
        rows.append(
            {
                "method": label,
                "estimate": float(ci.estimate[0]),
                "ci_low": float(ci.ci_low[0]),
                "ci_high": float(ci.ci_high[0]),
                "pi_low": np.nan,
                "pi_high": np.nan,
                "tau2": np.nan,
                "i2": np.nan,
            }
        )
    return pd.DataFrame(rows)


def published_table(entry: AnalysisEntry) -> pd.DataFrame | None:
    """The rows of the spec's ``published`` dataset that match its ``where`` (None without one)."""
    if not entry.published:
        return None
    from bayes_anlo import datasets

    return datasets.selected_rows(entry.published["dataset"], entry.published.get("where", {}))


def published_rows(entry: AnalysisEntry) -> pd.DataFrame | None:
    """Pooled results printed by the paper, on the probability scale, with their source."""
    table = published_table(entry)
    if table is None:
        return None
    if table.empty:
        raise InputError(f"analysis {entry.id!r}: no published rows match {entry.published}")
    out = table.copy()
    unit_col = "units" if "units" in out else "unit"
    units = out[unit_col].astype(str) if unit_col in out else pd.Series("", index=out.index)
    scale = np.where(units.str.contains("%"), 100.0, 1.0)
    for c in ("estimate", "ci_low", "ci_high"):
        out[c] = pd.to_numeric(out[c], errors="coerce") / scale

    def label(row) -> str:
        parts = [
            f"{row['model']} effects" if str(row.get("model", "")) not in ("", "nan") else "",
            str(row.get("subgroup", ""))
            if str(row.get("subgroup", "")) not in ("", "nan", "all")
            else "",
            f"k = {int(row['k'])}" if str(row.get("k", "")) not in ("", "nan") else "",
        ]
        return "as published (" + ", ".join(p for p in parts if p) + ")"

    out["method"] = out.apply(label, axis=1)
    if "i2" in out:
        out["i2"] = pd.to_numeric(out["i2"], errors="coerce")
    return out


def ppc_interval_table(tree, labels: list[str], n: np.ndarray, level: float = 0.9) -> pd.DataFrame:
    """Observed events per unit beside the posterior predictive interval of replicated events."""
    rep = tree["posterior_predictive"]["events"].values.reshape(-1, len(labels))
    obs = tree["observed_data"]["events"].values
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    p_upper = (rep >= obs).mean(axis=0)
    p_lower = (rep <= obs).mean(axis=0)
    return pd.DataFrame(
        {
            "label": labels,
            "n": n,
            "observed": obs,
            "replicated_median": np.median(rep, axis=0),
            "replicated_low": np.quantile(rep, lo, axis=0),
            "replicated_high": np.quantile(rep, hi, axis=0),
            "p_two_sided": np.minimum(1.0, 2 * np.minimum(p_upper, p_lower)),
        }
    )


def add_binary_ppc_tables(result: AnalysisResult, tree, labels: list[str], n: np.ndarray) -> None:
    """Posterior predictive checks of a binary fit: the statistics table and the per-unit table."""
    from bayes_anlo.checks.ppc import ppc_statistics

    result.tables["ppc"] = ppc_statistics(tree)
    result.tables["ppc_units"] = ppc_interval_table(tree, labels, n)


def add_binary_ppc_figure(
    result: AnalysisResult, tree, entry: AnalysisEntry, title: str | None = None
) -> None:
    """The figure of the posterior predictive check tables."""
    from bayes_anlo.checks.ppc import ppc_replicated
    from bayes_anlo.report.ppc_plots import binary_ppc_plot

    result.figures["ppc"] = recipe(
        binary_ppc_plot,
        result.tables["ppc"],
        result.tables["ppc_units"],
        ppc_replicated(tree),
        title=f"{title or entry.title}: posterior predictive check",
        outcome=entry.outcome,
    )


def add_subgroup_tables(
    result: AnalysisResult, entry: AnalysisEntry, data: BinaryData, tree
) -> object | None:
    """Frequentist subgroup analysis (per-subgroup pooling and the tests for differences), the
    posterior contrasts between subgroups, and a flag for every subgroup with a single study.
    Returns the frequentist :class:`~bayes_anlo.frequentist.subgroups.SubgroupResult` (or None)."""
    from bayes_anlo import frequentist as fq

    groups = [str(g) for g in data.table[entry.by]]
    for level in tables.single_study_subgroups(groups):
        result.flags.append(
            f"subgroup {level!r} ({entry.by}) has a single study: its estimate rests on that study "
            "alone, and the spread of studies within it cannot be estimated from it"
        )
    sub = None
    if len(set(groups)) >= 2 and len(data) >= 3:
        try:
            sub = fq.subgroup_analysis(data, entry.by, transform="logit", method="REML")
            result.tables["subgroups_frequentist"] = sub.to_frame()
            result.tables["subgroup_tests"] = sub.tests_frame()
        except (ValueError, RuntimeError, InputError) as exc:
            result.notes.append(f"Frequentist subgroup analysis not computed: {exc}")
    if "subgroup_rate" in tree["posterior"] and tree["posterior"].sizes.get("subgroup", 0) >= 2:
        result.tables["subgroup_contrasts"] = tables.subgroup_contrasts(tree)
    return sub


class BinarySteps(Steps):
    """The steps of a response-rate analysis (every binary family but ``two_arm``)."""

    def prepare(self, a: Analysis) -> None:
        a.data = load_entry_data(a.entry)

    def result(self, a: Analysis) -> AnalysisResult:
        from bayes_anlo.checks.diagnostics import convergence

        entry, data = a.entry, a.data
        conv = convergence(a.tree)
        result = AnalysisResult(
            id=entry.id,
            title=entry.title,
            model=entry.model,
            tree=a.tree,
            converged=bool(conv.converged),
            convergence_reasons=list(conv.reasons),
            priors_text=describe_priors(a.model.priors),
            data_sources=sorted(set(data.table["source"]) - {""}),
        )
        result.by = entry.by or ""
        if "flag" in data.table:
            result.flags = [
                f"{r.study}: {r.flag}"
                for r in data.table.itertuples()
                if str(r.flag) not in ("", "nan")
            ]
        if entry.notes:
            result.notes.append(entry.notes)
        return result

    def checks(self, a: Analysis) -> None:
        from bayes_anlo.checks.diagnostics import diagnostics_table

        result, tree, data = a.result, a.tree, a.data
        result.tables["diagnostics"] = diagnostics_table(tree)
        add_binary_ppc_tables(result, tree, data.labels, data.n)
        prior_tree = a.model.sample_prior_predictive(
            data, draws=4000, random_seed=derived_seed(a.seed, 7)
        )
        add_power_scaling(result, a.model, prior=prior_tree["prior"].to_dataset())
        if a.entry.sensitivity:
            result.tables["sensitivity"] = prior_sensitivity(
                a.model, data, tree, a.seed, a.refit_model, _sensitivity_row
            )

    def tables(self, a: Analysis) -> None:
        entry, data, tree, result = a.entry, a.data, a.tree, a.result
        result.tables["data"] = data.to_frame()
        summary = tables.posterior_summary(tree)
        result.tables["posterior"] = summary
        if entry.thresholds:
            from bayes_anlo.models import exceedance

            shown = ("pooled_rate", "predictive_rate", "subgroup_rate")
            result.tables["exceedance"] = exceedance(
                tree, entry.thresholds, var=[v for v in shown if v in tree["posterior"]]
            )
        freq, freq_notes = frequentist_results(data)
        result.notes.extend(freq_notes)
        bayes_rows = [tables.bayesian_comparison_rows(tree, model_label(entry.model, tree))]
        comparison = tables.comparison_table(bayes_rows, freq, published_rows(entry))
        result.tables["comparison"] = comparison
        if len(data) >= 2 and entry.by is None:
            from bayes_anlo import frequentist as fq

            try:
                result.tables["leave_one_out"] = tables.leave_one_out_rates(
                    fq.leave_one_out(data, transform="logit", method="REML")
                )
            except (ValueError, RuntimeError) as exc:
                result.notes.append(f"Leave-one-out not computed: {exc}")
        grouped = entry.by is not None and entry.by in data.table
        sub = add_subgroup_tables(result, entry, data, tree) if grouped else None
        groups = [str(g) for g in data.table[entry.by]] if grouped else None
        result.tables["studies"] = tables.study_table(
            data.labels, data.events, data.n, tree, groups=groups
        )
        if grouped:
            pooled = tables.subgroup_pooled_rows(tree, sub, model_label(entry.model, tree))
            single = set(tables.single_study_subgroups(groups))
            pooled["note"] = ["single study" if g in single else "" for g in pooled["subgroup"]]
            result.tables["subgroup_pooled"] = pooled
        exnex_section.add_exnex_results(result, tree, entry.thresholds)
        a.state.update(grouped=grouped, subgroup_analysis=sub, frequentist=freq)
        a.state["evidence"] = evidence_steps.evidence_tables(
            result,
            entry,
            data,
            tree,
            model_label=model_label(entry.model, tree),
            sampler=a.sampler,
            seed=a.seed,
        )

    def figures(self, a: Analysis) -> None:
        entry, tree, result, title = a.entry, a.tree, a.result, a.title
        outcome, studies = entry.outcome, result.tables["studies"]
        add_binary_ppc_figure(result, tree, entry, title)
        sub = a.state["subgroup_analysis"]
        result.figures["forest"] = recipe(
            plots.forest_plot,
            studies,
            result.tables["comparison"],
            title=title,
            outcome=outcome,
            subgroup_pooled=result.tables.get("subgroup_pooled"),
            subgroup_test=tables.subgroup_test_text(sub) if sub is not None else "",
        )
        evidence_steps.evidence_figures(
            result,
            entry,
            a.data,
            tree,
            a.state["frequentist"],
            sub,
            a.state["evidence"],
            model_label=model_label(entry.model, tree),
            title=title,
        )
        pooled = float(np.median(plots.pooled_draws(tree, "pooled_rate")))
        if "shrunken" in studies and len(studies) >= 2:
            means = None
            if a.state["grouped"] and "subgroup_rate" in tree["posterior"]:
                means = tables.summarise_variable(
                    tree["posterior"].to_dataset(), "subgroup_rate"
                ).rename(columns={"label": "subgroup"})
            result.figures["shrinkage"] = recipe(
                plots.shrinkage_plot,
                studies,
                pooled,
                title=f"{title}: shrinkage",
                outcome=outcome,
                subgroup_means=means,
            )
        add_prior_posterior(result, a.model, tree, title)
        if entry.thresholds:
            series = {"pooled rate": plots.pooled_draws(tree, "pooled_rate")}
            if "predictive_rate" in tree["posterior"]:
                series["rate in a new study"] = plots.pooled_draws(tree, "predictive_rate")
            curve = plots.exceedance_curve(series, np.linspace(0, 1, 201))
            result.figures["exceedance"] = recipe(
                plots.exceedance_plot,
                curve,
                entry.thresholds,
                title=f"{title}: P(rate > t)",
                outcome=outcome,
            )

    def headline(self, a: Analysis) -> str:
        t = a.result.tables
        return _headline(
            a.entry, t["posterior"], t["comparison"], t.get("exceedance"), k=len(a.data)
        )


def run_binary_analysis(
    entry: AnalysisEntry, *, seed: int, sampler: SamplerSettings, index: int
) -> AnalysisResult:
    """Fit one binary analysis and assemble every table and figure of its report section."""
    return run_steps(BinarySteps(), entry, seed=seed, sampler=sampler, index=index)


def add_prior_posterior(result: AnalysisResult, model, tree, title: str) -> None:
    """The prior/posterior figure: each parameter with an exact prior density (pooled rate,
    ICC, tau, between-subgroup SD, difference of two arms) over its posterior histogram."""
    table = prior_density.prior_posterior_table(model.priors, tree)
    if table.empty:
        return
    result.tables["prior_posterior"] = table
    result.figures["prior_posterior"] = recipe(
        plots.prior_posterior_plot, table, title=f"{title}: prior and posterior"
    )


def model_label(model: str, tree) -> str:
    """The model's name for tables, marked "(exact)" when the fit used the exact engine."""
    exact = str(tree.attrs.get("method", "")) == "exact"
    return model.replace("_", "-") + (" (exact)" if exact else "")


def prior_sensitivity(
    model, data, tree, analysis_seed: int, make, summarise, gate=None
) -> pd.DataFrame:
    """One row per prior set: the fit under the model's priors, then a refit under each named
    alternative that changes a prior the fit uses (``make(priors)`` builds the model;
    ``summarise(label, tree)`` makes the row).
    Every row says whether its fit passed the convergence gate (``gate(tree)``, default
    :func:`~bayes_anlo.checks.diagnostics.convergence`): a refit that did not converge is no
    evidence about the prior."""
    gate = gate or sensitivity_gate

    def row(label: str, fit) -> dict:
        conv = gate(fit)
        return {
            **summarise(label, fit),
            "converged": "yes" if conv.converged else "NO: " + "; ".join(conv.reasons),
        }

    posterior = tree["posterior"].to_dataset()
    used = model.prior_terms(posterior)
    rows = [row(f"default ({describe_priors(model.priors)})", tree)]
    for k, (name, priors) in enumerate(type(model.priors).alternatives().items(), start=1):
        alternative = make(priors)
        if alternative.prior_terms(posterior) == used:
            # it changes only priors this fit does not use (e.g. smoothing in an unsmoothed model)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alt_tree = alternative.fit(data, random_seed=derived_seed(analysis_seed, 100 + k))
        rows.append(row(f"{name} ({describe_priors(priors)})", alt_tree))
    return pd.DataFrame(rows)


def sensitivity_gate(fit):
    """The convergence verdict of a sensitivity refit: an exact-engine fit (iid draws) passes by
    definition (:func:`~bayes_anlo.checks.diagnostics.convergence`), so its diagnostics table,
    which no report shows for a refit, is not computed."""
    from bayes_anlo.checks.diagnostics import convergence

    if str(fit.attrs.get("method", "")) == "exact":
        return SimpleNamespace(converged=True, reasons=())
    return convergence(fit)


#: Posterior quantities whose power-scaling sensitivity is reported, besides the model's
#: hyperparameters (functions of the hyperparameters and subgroup effects, not of study rates:
#: the binary log-likelihood integrates study rates out).
POWER_SCALED_QUANTITIES = (
    "pooled_rate",
    "predictive_rate",
    "subgroup_rate",
    "difference",
    "median",
    "hazard_ratio_arm",
    "hazard_ratio_subgroup",
)


def add_power_scaling(result: AnalysisResult, model, prior=None) -> None:
    """Power-scaling prior and likelihood sensitivity of the fit (no refit): the table
    ``power_scaling`` and the sentences of the report's prior-sensitivity section. ``prior``:
    draws from the prior, to tell a prior-data conflict from joint influence."""
    from bayes_anlo.checks.power_scaling import power_scaling

    post = result.tree["posterior"].to_dataset()
    names = list(model.prior_terms(post)) + [v for v in POWER_SCALED_QUANTITIES if v in post]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ps = power_scaling(result.tree, list(dict.fromkeys(names)), prior=prior)
    result.tables["power_scaling"] = ps.table
    result.sections.setdefault("sensitivity", []).extend(ps.describe())


def _sensitivity_row(label: str, tree) -> dict:
    pooled = tables.summarise_variable(tree["posterior"].to_dataset(), "pooled_rate").iloc[0]
    row = {
        "prior": label,
        "pooled_median": pooled["median"],
        "pooled_low": pooled["ci_low"],
        "pooled_high": pooled["ci_high"],
    }
    if "predictive_rate" in tree["posterior"]:
        pred = tables.summarise_variable(tree["posterior"].to_dataset(), "predictive_rate").iloc[0]
        row.update(predictive_low=pred["ci_low"], predictive_high=pred["ci_high"])
    return row


def _headline(entry, summary, comparison, exceedance, k: int) -> str:
    pooled = summary.loc[summary["variable"] == "pooled_rate"].iloc[0]
    noun = "pooled " if k > 1 else ""
    text = (
        f"Posterior median {noun}{entry.outcome} {tables.format_percent(pooled['median'])} "
        f"(95% CrI {tables.format_interval(pooled['ci_low'], pooled['ci_high'])})"
    )
    pred = summary.loc[summary["variable"] == "predictive_rate"]
    if len(pred) and k > 1:  # one study says nothing about the spread of rates between studies
        p = pred.iloc[0]
        text += (
            f"; a new study's rate would lie in {tables.format_interval(p['ci_low'], p['ci_high'])}"
        )
    freq = comparison.loc[comparison["paradigm"] == "frequentist"]
    if len(freq):
        f = freq.iloc[0]
        text += (
            f". {f['method']}: {tables.format_percent(f['estimate'])} "
            f"({tables.format_interval(f['ci_low'], f['ci_high'])})"
        )
    if exceedance is not None and len(exceedance):
        e = exceedance.loc[exceedance["variable"] == "pooled_rate"]
        if len(e):
            text += ". " + "; ".join(
                f"P(pooled > {100 * t:.0f}%) = {p:.2f}"
                for t, p in zip(e["threshold"], e["probability"], strict=True)
            )
    return text + "."
