"""One survival analysis of a spec: published summaries (or patient data) -> piecewise-exponential fit.

Report content: the posterior survival curve with its 95% band and the band for a new study, the
reported medians and landmark rates drawn over it, posterior median / landmark survival / RMST /
hazards, reported beside posterior quantities (with posterior predictive p-values), the published
pooled results when the spec names them, diagnostics and prior sensitivity.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bayes_anlo.errors import InputError
from bayes_anlo.models._sampling import SamplerSettings, derived_seed
from bayes_anlo.pipeline.binary import (
    add_power_scaling,
    describe_priors,
    prior_sensitivity,
    published_table,
)
from bayes_anlo.pipeline.result import AnalysisResult
from bayes_anlo.report import survival_plots, tables
from bayes_anlo.spec import AnalysisEntry

#: Posterior variables summarised in the report (survival-curve grids are plotted, not tabled).
SUMMARY_VARIABLES = ("median", "predictive_median", "landmark", "predictive_landmark", "rmst", "hazard", "study_sd")
#: Variables the convergence gate looks at (parameters and the reported quantities).
GATED_VARIABLES = ("log_hazard", "study_sd", "smooth_sd", "log_hr_arm", "log_hr_subgroup", "median", "landmark", "rmst")
SURVIVAL_OPTIONS = ("cuts", "hierarchical", "smooth", "times", "horizon", "grid_size")
#: Pipeline options (not model options): ``collapse`` lists columns whose labels are descriptions,
#: not groups (e.g. "overall" vs "overall (ITT)"), blanked after filtering so the model pools them.
PIPELINE_OPTIONS = ("collapse",)


def load_survival_entry(entry: AnalysisEntry):
    """The entry's survival summaries (bundled dataset or CSV), filtered by ``where``/``exclude``."""
    from bayes_anlo import datasets
    from bayes_anlo.data.survival import load_summaries

    if entry.data.dataset:
        summaries = load_summaries(datasets.load(entry.data.dataset), label=entry.data.dataset)
    else:
        summaries = load_summaries(entry.data.file)
    if entry.endpoint is None:
        raise InputError(f"analysis {entry.id!r}: `endpoint` (PFS or OS) is required for survival models")
    summaries = summaries.select(endpoint=entry.endpoint, **entry.where)
    if entry.exclude:
        table = summaries.table
        for column, value in entry.exclude.items():
            values = [value] if isinstance(value, str) else list(value)
            table = table[~table[column].isin(values)]
        summaries = type(summaries)(table.reset_index(drop=True), source=summaries.source)
    collapse = entry.options.get("collapse", [])
    if collapse:
        table = summaries.table.copy()
        for column in [collapse] if isinstance(collapse, str) else collapse:
            if column not in table:
                raise InputError(f"analysis {entry.id!r}: options.collapse names no column {column!r}")
            table[column] = ""
        summaries = type(summaries)(table, source=summaries.source)
    return summaries


def make_survival_model(entry: AnalysisEntry, sampler: SamplerSettings, priors=None):
    from bayes_anlo.models.piecewise_exponential import (
        PiecewiseExponential,
        PiecewiseExponentialPriors,
    )

    if priors is None and entry.priors:
        priors = PiecewiseExponentialPriors.from_dict(entry.priors)
    options = {k: v for k, v in entry.options.items() if k in SURVIVAL_OPTIONS}
    return PiecewiseExponential(priors=priors, sampler=sampler, endpoint=entry.endpoint, **options)


def published_survival(entry: AnalysisEntry) -> pd.DataFrame | None:
    table = published_table(entry)
    if table is None:
        return None
    if "endpoint" in table:
        table = table[table["endpoint"].astype(str).str.upper() == entry.endpoint.upper()]
    return table if len(table) else None


def _quantity_label(quantity: str, time) -> str | None:
    """Row label of a reported median or landmark (None for counts and follow-up)."""
    if quantity == "median":
        return "median (months)"
    if quantity == "landmark":
        return f"survival at {float(time):g} months"
    return None


def comparison_rows(tree, summaries, published: pd.DataFrame | None) -> pd.DataFrame:
    """Reported medians and landmark rates beside the posterior for the typical study."""
    post = tree["posterior"].to_dataset()
    rows = []

    def group_of(label: str) -> str:
        return f" ({label})" if label else ""

    for name, source in (("median", "posterior, typical study"), ("predictive_median", "posterior predictive, new study")):
        for r in tables.summarise_variable(post, name).itertuples(index=False):
            rows.append({"quantity": "median (months)", "source": source + group_of(r.label), "estimate": r.median,
                         "ci_low": r.ci_low, "ci_high": r.ci_high})
    for r in tables.summarise_variable(post, "landmark").itertuples(index=False):
        *group, time = str(r.label).split(" | ")
        rows.append({"quantity": f"survival at {float(time):g} months",
                     "source": "posterior, typical study" + group_of(" | ".join(group)),
                     "estimate": r.median, "ci_low": r.ci_low, "ci_high": r.ci_high})
    for r in summaries.table.itertuples(index=False):
        q = _quantity_label(r.quantity, r.time)
        if q is not None:
            label = " | ".join(str(v) for v in (r.study, r.arm, getattr(r, "subgroup", "")) if str(v) not in ("", "nan"))
            rows.append({"quantity": q, "source": f"reported: {label}", "estimate": r.value, "ci_low": r.ci_low,
                         "ci_high": r.ci_high})
    for r in ([] if published is None else published.itertuples(index=False)):
        q = _quantity_label(r.quantity, r.time)
        if q is not None:
            rows.append({"quantity": q, "source": f"published pooled ({r.study})", "estimate": r.value,
                         "ci_low": r.ci_low, "ci_high": r.ci_high})
    out = pd.DataFrame(rows)
    order = out["quantity"].map(lambda q: -1.0 if q.startswith("median") else float(q.split()[2]))
    return out.assign(_order=order).sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def survival_band_table(tree) -> pd.DataFrame:
    """Survival curves of the typical study and of a new study: median and 95% band per time, one
    block of rows per group (``group`` is empty without arm/subgroup levels)."""
    post = tree["posterior"]
    frames = []
    typical, new = post["survival"], post["predictive_survival"]
    group_dims = [d for d in typical.dims if d not in ("chain", "draw", "time")]
    groups = [()] if not group_dims else list(typical.stack(g=group_dims)["g"].values)
    for g in groups:
        sel = dict(zip(group_dims, g if isinstance(g, tuple) else (g,), strict=True))
        out = {"group": " | ".join(str(v) for v in sel.values()), "time": post["time"].values}
        for da, label in ((typical, "typical"), (new, "new_study")):
            draws = da.sel(sel).transpose("chain", "draw", "time").values.reshape(-1, len(out["time"]))
            out[f"{label}_median"] = np.median(draws, axis=0)
            out[f"{label}_low"] = np.quantile(draws, 0.025, axis=0)
            out[f"{label}_high"] = np.quantile(draws, 0.975, axis=0)
        frames.append(pd.DataFrame(out))
    return pd.concat(frames, ignore_index=True)


def reported_points(summaries) -> pd.DataFrame:
    """Reported medians (at survival 0.5) and landmarks, as points to draw over the curve."""
    rows = []
    for r in summaries.table.itertuples(index=False):
        if r.quantity == "median":
            rows.append({"kind": "median", "time": r.value, "time_low": r.ci_low, "time_high": r.ci_high,
                         "survival": 0.5, "survival_low": np.nan, "survival_high": np.nan, "label": r.study})
        elif r.quantity == "landmark":
            rows.append({"kind": "landmark", "time": r.time, "time_low": np.nan, "time_high": np.nan,
                         "survival": r.value, "survival_low": r.ci_low, "survival_high": r.ci_high, "label": r.study})
    return pd.DataFrame(rows, columns=["kind", "time", "time_low", "time_high", "survival", "survival_low", "survival_high", "label"])


def run_survival_analysis(entry: AnalysisEntry, *, seed: int, sampler: SamplerSettings, index: int) -> AnalysisResult:
    from bayes_anlo.checks.diagnostics import convergence, diagnostics_table
    from bayes_anlo.checks.survival_ppc import summary_check
    from bayes_anlo.report.ppc_plots import survival_ppc_plot

    summaries = load_survival_entry(entry)
    analysis_seed = derived_seed(seed, index)
    model = make_survival_model(entry, sampler)
    from bayes_anlo.models import piecewise_exponential as pwe

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*object mode.*")
        tree = pwe.fit_with_retry(model, summaries, analysis_seed, _gate)
    gated = _gated(tree)
    conv = convergence(gated)
    result = AnalysisResult(id=entry.id, title=entry.title, model=entry.model, tree=tree,
                            converged=bool(conv.converged), convergence_reasons=list(conv.reasons),
                            priors_text=describe_priors(model.priors),
                            data_sources=sorted(set(summaries.table["source"]) - {""}))
    if entry.notes:
        result.notes.append(entry.notes)
    from bayes_anlo.models.piecewise_exponential import notes_of

    result.notes.extend(notes_of(tree))
    cuts = tree.attrs.get("cuts", "")
    result.notes.append(f"Endpoint {entry.endpoint}; hazard intervals start at {cuts} months." if cuts else f"Endpoint {entry.endpoint}.")
    result.notes.extend(pwe.time_notes(tree) + [n for n in [pwe.retry_note(tree)] if n])
    if "flag" in summaries.table:
        result.flags = [f"{r.study}: {r.flag}" for r in summaries.table.itertuples() if str(r.flag) not in ("", "nan")]

    result.tables["data"] = summaries.to_frame()
    result.tables["diagnostics"] = diagnostics_table(gated)
    post = tree["posterior"].to_dataset()
    summary = pd.concat([tables.summarise_variable(post, v) for v in SUMMARY_VARIABLES if v in post], ignore_index=True)
    summary.insert(1, "description", summary["variable"].map(tables.DESCRIPTIONS).fillna(""))
    summary = pwe.annotate_time(summary, tree)
    result.tables["posterior"] = summary
    published = published_survival(entry)
    result.tables["comparison"] = comparison_rows(tree, summaries, published)
    result.tables["comparison"]["beyond_data"] = pwe.extrapolation_flags(result.tables["comparison"], tree)
    result.tables["ppc"] = summary_check(tree)
    result.figures["ppc"] = survival_ppc_plot(result.tables["ppc"], title=f"{entry.title}: posterior predictive check",
                                              endpoint=entry.endpoint)
    band = survival_band_table(tree)
    points = reported_points(summaries)
    result.tables["survival_curve"] = band
    result.figures["survival_curve"] = survival_plots.survival_plot(band, points, title=entry.title, endpoint=entry.endpoint,
                                                                    informed_until=pwe.informed_until(tree))
    add_power_scaling(result, model)
    if entry.sensitivity:
        result.tables["sensitivity"] = prior_sensitivity(
            model, summaries, tree, analysis_seed, lambda priors: make_survival_model(entry, sampler, priors=priors),
            _sensitivity_row, gate=lambda fit: convergence(_gated(fit)))
    posterior = result.tables["posterior"]
    meds = posterior[posterior["variable"] == "median"]
    text = "Posterior median " + entry.endpoint + " " + "; ".join(
        (f"{m.label}: " if m.label else "") + f"{m.median:.1f} months (95% CrI {m.ci_low:.1f} to {m.ci_high:.1f})"
        + (f" [{m.beyond_data}]" if m.beyond_data else "")
        for m in meds.itertuples())
    reported = summaries.table[summaries.table["quantity"] == "median"]
    if len(reported) == 1:
        r = reported.iloc[0]
        text += f"; reported {r['value']:g} ({r['ci_low']:g} to {r['ci_high']:g})"
    land = posterior[posterior["variable"] == "landmark"]
    if len(land) and len(meds) == 1:
        text += "; survival " + ", ".join(f"{float(r.label):g} mo {100 * r.median:.0f}%" + (" (extrapolated)" if r.beyond_data else "") for r in land.itertuples())
    if "log_hr_subgroup" in post or "log_hr_arm" in post:
        for name in ("log_hr_subgroup", "log_hr_arm"):
            if name in post:
                hr = np.exp(post[name])
                for label, draws in zip(post[name].coords[post[name].dims[-1]].values,
                                        np.moveaxis(hr.values.reshape(-1, hr.shape[-1]), -1, 0), strict=True):
                    text += (f"; hazard ratio {label}: {np.median(draws):.2f} "
                             f"({np.quantile(draws, 0.025):.2f} to {np.quantile(draws, 0.975):.2f})")
    result.headline = text + "."
    return result


def _gate(tree) -> tuple[bool, list[str]]:
    from bayes_anlo.checks.diagnostics import convergence

    conv = convergence(_gated(tree))
    return bool(conv.converged), list(conv.reasons)


def _gated(tree):
    """The fit with only the variables the convergence gate looks at (parameters and the reported
    summaries; not the draws of every curve point)."""
    gated = tree.copy()
    gated["posterior"] = tree["posterior"].to_dataset()[[v for v in GATED_VARIABLES if v in tree["posterior"]]]
    return gated


def _sensitivity_row(label: str, tree) -> dict:
    s = tables.summarise_variable(tree["posterior"].to_dataset(), "median").iloc[0]
    return {"prior": label, "median_months": s["median"], "median_low": s["ci_low"], "median_high": s["ci_high"]}
