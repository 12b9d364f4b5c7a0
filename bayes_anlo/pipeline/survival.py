"""One survival analysis of a spec: patient data, digitised curves or published summaries ->
piecewise-exponential fit.

Inputs by the spec's ``kind``: ``ipd`` (patient data), ``km`` (digitised Kaplan-Meier curves with
an optional risk table and totals, reconstructed into pseudo-patients by Guyot et al. 2012, with
the reconstruction's diagnostics and warnings in the report) or ``summaries`` (published medians,
landmark rates and counts).

Arms: the reference arm is ``reference_arm`` or, by default, the first arm in sorted order (R's
factor levels), never the row order; the posterior gets ``hazard_ratio`` (dim ``comparison``,
"<arm> vs <reference>"), reported with its 95% CrI and P(HR < 1). With patient data or
pseudo-patients the frequentist comparators sit beside it: Kaplan-Meier medians with their CIs,
the log-rank test and the Cox hazard ratio (Efron ties), as R's survfit, survdiff and coxph.

Report content: the posterior survival curve with its 95% band and the band for a new study, the
reported medians and landmark rates drawn over it, posterior hazard ratios / median / landmark
survival / RMST / hazards, reported or frequentist values beside posterior quantities (with
posterior predictive p-values), the published pooled results when the spec names them,
diagnostics and prior sensitivity (medians by arm and hazard ratios).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.data.survival import SurvivalData, SurvivalSummaries
from bayes_anlo.errors import InputError
from bayes_anlo.models.sampling import SamplerSettings
from bayes_anlo.pipeline import evidence_steps
from bayes_anlo.pipeline.binary import (
    add_power_scaling,
    describe_priors,
    prior_sensitivity,
    published_table,
)
from bayes_anlo.pipeline.skeleton import Analysis, Steps, run_steps
from bayes_anlo.report import survival_plots, tables
from bayes_anlo.report.canvas import recipe
from bayes_anlo.report.result import AnalysisResult
from bayes_anlo.spec import AnalysisEntry

#: Posterior variables summarised in the report (survival-curve grids are plotted, not tabled).
SUMMARY_VARIABLES = (
    "hazard_ratio",
    "median",
    "predictive_median",
    "landmark",
    "predictive_landmark",
    "rmst",
    "hazard",
    "study_sd",
)
#: Variables the convergence gate looks at (parameters and the reported quantities).
GATED_VARIABLES = (
    "log_hazard",
    "study_sd",
    "smooth_sd",
    "log_hr_arm",
    "log_hr_subgroup",
    "median",
    "landmark",
    "rmst",
)
#: Pipeline options (not model options): ``collapse`` lists columns whose labels are descriptions,
#: not groups (e.g. "overall" vs "overall (ITT)"), blanked after filtering so the model pools them.
PIPELINE_OPTIONS = ("collapse",)


@dataclass(frozen=True)
class SurvivalInput:
    """What one survival analysis fits and compares.

    ``data`` goes to the model (patient data, a Guyot reconstruction or published summaries);
    ``patients`` are the patients or reconstructed pseudo-patients behind the frequentist
    comparators (None for summaries); ``reconstruction`` carries the Guyot diagnostics and
    warnings; ``arms`` are the arms in model order, the reference first (empty with one arm).
    """

    kind: str
    data: object
    patients: SurvivalData | None = None
    reconstruction: object = None
    arms: tuple[str, ...] = ()

    @property
    def reference(self) -> str | None:
        return self.arms[0] if self.arms else None

    @property
    def sources(self) -> list[str]:
        table = self.data.table if hasattr(self.data, "table") else None
        if table is not None and "source" in table:
            return sorted(set(table["source"].astype(str)) - {"", "nan"})
        return [self.data.source]


def _filtered(container, entry: AnalysisEntry) -> pd.DataFrame:
    """Rows of a survival container kept by the entry's ``where`` and ``exclude``, with the
    ``options.collapse`` columns blanked (descriptions, not groups)."""
    table = (container.select(**entry.where) if entry.where else container).table
    for column, value in entry.exclude.items():
        if column not in table:
            raise InputError(
                f"analysis {entry.id!r}: `exclude` names no column {column!r}",
                file=container.source,
            )
        table = table[~table[column].isin([value] if isinstance(value, str) else list(value))]
    if len(table) == 0:
        raise InputError(
            f"analysis {entry.id!r}: no rows left after `where` and `exclude`",
            file=container.source,
        )
    collapse = entry.options.get("collapse", [])
    table = table.copy()
    for column in [collapse] if isinstance(collapse, str) else collapse:
        if column not in table:
            raise InputError(f"analysis {entry.id!r}: options.collapse names no column {column!r}")
        table[column] = ""
    return table.reset_index(drop=True)


def arm_order(table: pd.DataFrame, reference: str | None, where: str) -> tuple[str, ...]:
    """Arms in model order: the reference arm, then the other named arms sorted. The default
    reference is the first arm in sorted order (as R's factor levels), never the row order.
    Empty with fewer than two named arms (a one-arm analysis has no comparison)."""
    arms = (
        sorted({a for a in table["arm"].astype(str) if a not in ("", "nan")})
        if "arm" in table
        else []
    )
    if reference is not None and reference not in arms:
        raise InputError(
            f"{where}: reference_arm {reference!r} is not an arm of the data "
            f"(arms: {', '.join(arms) or 'none'})"
        )
    if len(arms) < 2:
        return ()
    reference = reference or arms[0]
    return (reference, *[a for a in arms if a != reference])


def _reference_first(table: pd.DataFrame, arms: tuple[str, ...]) -> pd.DataFrame:
    """Rows reordered (stably) so the model, which takes the first arm it meets as its reference,
    meets the arms in ``arms`` order (rows without an arm last)."""
    if not arms:
        return table
    rank = table["arm"].astype(str).map({a: i for i, a in enumerate(arms)}).fillna(len(arms))
    return table.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)


def load_survival_entry(entry: AnalysisEntry) -> SurvivalInput:
    """The entry's survival input by its kind (patient data, digitised curves reconstructed by
    Guyot, or published summaries), filtered by ``where``/``exclude``, arms in model order."""
    from bayes_anlo import datasets
    from bayes_anlo.data.survival import load_summaries, load_survival_input
    from bayes_anlo.survival.guyot import Reconstruction, reconstruct

    where = f"analysis {entry.id!r}"
    ref = entry.data
    if ref.dataset:
        kind, loaded = "summaries", load_summaries(datasets.load(ref.dataset), label=ref.dataset)
    else:
        kind, loaded = load_survival_input(
            ref.file, ref.kind, risk_table=ref.risk_table, totals=ref.totals
        )
    if kind == "summaries":
        if entry.endpoint is None:
            raise InputError(f"{where}: `endpoint` (PFS or OS) is required for published summaries")
        table = _filtered(loaded.select(endpoint=entry.endpoint), entry)
        arms = arm_order(table, entry.reference_arm, where)
        data = SurvivalSummaries(_reference_first(table, arms), source=loaded.source)
        return SurvivalInput(kind, data, arms=arms)
    reconstruction = None
    if kind == "km":
        reconstruction = reconstruct(loaded)
        patients = reconstruction.ipd
    else:
        patients = loaded
    table = _filtered(patients, entry)
    arms = arm_order(table, entry.reference_arm, where)
    patients = SurvivalData(_reference_first(table, arms), source=patients.source)
    if reconstruction is not None:
        diag = reconstruction.diagnostics
        keep = diag.set_index(["study", "arm"]).index.isin(
            list(zip(table["study"], table["arm"], strict=True))
        )
        reconstruction = Reconstruction(
            patients,
            diag[keep].reset_index(drop=True),
            source=patients.source,
            warnings=reconstruction.warnings,
        )
    return SurvivalInput(
        kind,
        reconstruction if reconstruction is not None else patients,
        patients,
        reconstruction,
        arms,
    )


def published_survival(entry: AnalysisEntry) -> pd.DataFrame | None:
    table = published_table(entry)
    if table is None:
        return None
    if "endpoint" in table and entry.endpoint:
        table = table[table["endpoint"].astype(str).str.upper() == entry.endpoint.upper()]
    return table if len(table) else None


def _quantity_label(quantity: str, time) -> str | None:
    """Row label of a reported median or landmark (None for counts and follow-up)."""
    if quantity == "median":
        return "median (months)"
    if quantity == "landmark":
        return f"survival at {float(time):g} months"
    return None


def comparison_rows(
    tree, summaries, published: pd.DataFrame | None, extra: list[dict] = ()
) -> pd.DataFrame:
    """Reported medians and landmark rates beside the posterior for the typical study, and the
    ``extra`` rows (hazard ratios, Kaplan-Meier medians); ``summaries`` may be None."""
    post = tree["posterior"].to_dataset()
    rows = list(extra)

    def group_of(label: str) -> str:
        return f" ({label})" if label else ""

    for name, source in (
        ("median", "posterior, typical study"),
        ("predictive_median", "posterior predictive, new study"),
    ):
        for r in tables.summarise_variable(post, name).itertuples(index=False):
            rows.append(
                {
                    "quantity": "median (months)",
                    "source": source + group_of(r.label),
                    "estimate": r.median,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                }
            )
    for r in tables.summarise_variable(post, "landmark").itertuples(index=False):
        *group, time = str(r.label).split(" | ")
        rows.append(
            {
                "quantity": f"survival at {float(time):g} months",
                "source": "posterior, typical study" + group_of(" | ".join(group)),
                "estimate": r.median,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
            }
        )
    for r in [] if summaries is None else summaries.table.itertuples(index=False):
        q = _quantity_label(r.quantity, r.time)
        if q is not None:
            label = " | ".join(
                str(v)
                for v in (r.study, r.arm, getattr(r, "subgroup", ""))
                if str(v) not in ("", "nan")
            )
            rows.append(
                {
                    "quantity": q,
                    "source": f"reported: {label}",
                    "estimate": r.value,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                }
            )
    for r in [] if published is None else published.itertuples(index=False):
        q = _quantity_label(r.quantity, r.time)
        if q is not None:
            rows.append(
                {
                    "quantity": q,
                    "source": f"published pooled ({r.study})",
                    "estimate": r.value,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                }
            )
    out = pd.DataFrame(rows)
    for column in ("p_value", "p_hr_below_1"):
        if column not in out:
            out[column] = np.nan
    order = out["quantity"].map(
        lambda q: (
            -2.0
            if q.startswith("hazard")
            else -1.0
            if q.startswith("median")
            else float(q.split()[2])
        )
    )
    return (
        out.assign(_order=order)
        .sort_values("_order", kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


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
            draws = (
                da.sel(sel).transpose("chain", "draw", "time").values.reshape(-1, len(out["time"]))
            )
            out[f"{label}_median"] = np.median(draws, axis=0)
            out[f"{label}_low"] = np.quantile(draws, 0.025, axis=0)
            out[f"{label}_high"] = np.quantile(draws, 0.975, axis=0)
        frames.append(pd.DataFrame(out))
    return pd.concat(frames, ignore_index=True)


def reported_points(summaries) -> pd.DataFrame:
    """Reported medians (at survival 0.5) and landmarks, as points to draw over the curve;
    ``group`` is the arm (as the curves' ``group``), so points can take their arm's colour."""
    rows = []
    for r in [] if summaries is None else summaries.table.itertuples(index=False):
        arm = "" if str(r.arm) == "nan" else str(r.arm)
        label = f"{r.study} | {arm}" if arm else r.study
        if r.quantity == "median":
            rows.append(
                {
                    "kind": "median",
                    "time": r.value,
                    "time_low": r.ci_low,
                    "time_high": r.ci_high,
                    "survival": 0.5,
                    "survival_low": np.nan,
                    "survival_high": np.nan,
                    "label": label,
                    "group": arm,
                }
            )
        elif r.quantity == "landmark":
            rows.append(
                {
                    "kind": "landmark",
                    "time": r.time,
                    "time_low": np.nan,
                    "time_high": np.nan,
                    "survival": r.value,
                    "survival_low": r.ci_low,
                    "survival_high": r.ci_high,
                    "label": label,
                    "group": arm,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "kind",
            "time",
            "time_low",
            "time_high",
            "survival",
            "survival_low",
            "survival_high",
            "label",
            "group",
        ],
    )


def with_hazard_ratio(tree, arms: tuple[str, ...]):
    """A copy of the fit whose posterior also holds ``hazard_ratio`` (dim ``comparison``, labelled
    "<arm> vs <reference>"): ``exp(log_hr_arm)`` of each arm against the reference arm."""
    post = tree["posterior"].to_dataset()
    if "log_hr_arm" not in post or not arms:
        return tree
    contrasts = [str(a) for a in post["log_hr_arm"]["arm_contrast"].values]
    if arms[0] in contrasts:  # the model took another reference arm: a bug, not a user error
        raise RuntimeError(f"the model compared {arms[0]!r} with another reference arm")
    labels = [f"{a} vs {arms[0]}" for a in contrasts]
    hr = (
        np.exp(post["log_hr_arm"])
        .rename({"arm_contrast": "comparison"})
        .assign_coords(comparison=labels)
    )
    hr.attrs = {"description": "hazard ratio of each arm against the reference arm (typical study)"}
    out = tree.copy()
    out["posterior"] = post.assign(hazard_ratio=hr)
    return out


def hazard_ratio_rows(tree) -> list[dict]:
    """Posterior hazard ratios with their 95% CrI and P(HR < 1), as comparison rows."""
    post = tree["posterior"].to_dataset()
    if "hazard_ratio" not in post:
        return []
    rows = []
    for label in post["comparison"].values:
        draws = post["hazard_ratio"].sel(comparison=label).values.ravel()
        rows.append(
            {
                "quantity": f"hazard ratio ({label})",
                "source": "posterior, typical study",
                "estimate": float(np.median(draws)),
                "ci_low": float(np.quantile(draws, 0.025)),
                "ci_high": float(np.quantile(draws, 0.975)),
                "p_hr_below_1": float(np.mean(draws < 1)),
            }
        )
    return rows


def frequentist_rows(comparison, kind: str) -> list[dict]:
    """Kaplan-Meier medians, Cox hazard ratios and the log-rank test as comparison rows."""
    data = "reconstructed pseudo-patients" if kind == "km" else "patient data"
    rows = []
    for r in comparison.to_frame().itertuples(index=False):
        if r.quantity == "median (months)":
            rows.append(
                {
                    "quantity": "median (months)",
                    "source": f"Kaplan-Meier, {data} ({r.group})",
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                }
            )
        elif r.quantity == "hazard ratio":
            rows.append(
                {
                    "quantity": f"hazard ratio ({r.group})",
                    "source": f"Cox PH (Efron), {data}",
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "p_value": r.p_value,
                }
            )
        else:  # beside the hazard ratio with two arms
            cox = comparison.cox
            rows.append(
                {
                    "quantity": f"hazard ratio ({cox.arms[0]} vs {cox.reference})"
                    if len(cox.arms) == 1
                    else "equal survival",
                    "source": f"log-rank chi-square {r.statistic:.3f} on {int(r.df)} df, {data}",
                    "estimate": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "p_value": r.p_value,
                }
            )
    return rows


def patient_summary(data: SurvivalInput, comparison) -> pd.DataFrame:
    """The data table of a patient-data or digitised-curve analysis: one row per arm (patients,
    events, Kaplan-Meier median follow-up, last time) rather than one per patient."""
    arms = comparison.arms.copy()
    source = data.reconstruction.source if data.reconstruction is not None else data.patients.source
    return arms.assign(source=source)


COUNT_QUANTITIES = ("events", "patients")


def counts_as_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Published summaries with event and patient counts (whole numbers, checked at load) as
    integers: the report prints 217, not 217.000. ``value`` becomes an object column."""
    from bayes_anlo.checks.survival_ppc import integer_cells

    return integer_cells(frame, frame["quantity"].isin(COUNT_QUANTITIES), ("value",))


class SurvivalSteps(Steps):
    """The steps of a survival analysis (piecewise-exponential model)."""

    def prepare(self, a: Analysis) -> None:
        a.data = load_survival_entry(a.entry)

    def fit(self, a: Analysis) -> None:
        from bayes_anlo.models import piecewise_exponential as pwe

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*object mode.*")
            tree = pwe.fit_with_retry(a.model, a.data.data, a.seed, _gate)
        a.tree = with_hazard_ratio(tree, a.data.arms)

    def result(self, a: Analysis) -> AnalysisResult:
        from bayes_anlo.checks.diagnostics import convergence
        from bayes_anlo.models import piecewise_exponential as pwe

        entry, data, tree = a.entry, a.data, a.tree
        conv = convergence(_gated(tree))
        result = AnalysisResult(
            id=entry.id,
            title=entry.title,
            model=entry.model,
            tree=tree,
            converged=bool(conv.converged),
            convergence_reasons=list(conv.reasons),
            priors_text=describe_priors(a.model.priors),
            data_sources=data.sources,
        )
        if entry.notes:
            result.notes.append(entry.notes)
        result.notes.extend(pwe.notes_of(tree))
        cuts = tree.attrs.get("cuts", "")
        endpoint = entry.endpoint or "survival"
        result.notes.append(
            f"Endpoint {endpoint}; hazard intervals start at {cuts} months."
            if cuts
            else f"Endpoint {endpoint}."
        )
        result.notes.extend(pwe.time_notes(tree) + [n for n in [pwe.retry_note(tree)] if n])
        result.notes.append(_input_note(data))
        summaries = data.data if data.kind == "summaries" else None
        if summaries is not None and "flag" in summaries.table:
            result.flags = [
                f"{r.study}: {r.flag}"
                for r in summaries.table.itertuples()
                if str(r.flag) not in ("", "nan")
            ]
        a.state["summaries"] = summaries
        return result

    def checks(self, a: Analysis) -> None:
        from bayes_anlo.checks.diagnostics import convergence, diagnostics_table

        result, tree, data = a.result, a.tree, a.data
        result.tables["diagnostics"] = diagnostics_table(_gated(tree))
        _add_ppc(result, tree, data)
        add_power_scaling(result, a.model)
        if a.entry.sensitivity:
            result.tables["sensitivity"] = prior_sensitivity(
                a.model,
                data.data,
                tree,
                a.seed,
                a.refit_model,
                lambda label, fit: _sensitivity_row(label, with_hazard_ratio(fit, data.arms)),
                gate=lambda fit: convergence(_gated(fit)),
            )

    def tables(self, a: Analysis) -> None:
        from bayes_anlo.frequentist.survival_arms import compare_arms, km_curves
        from bayes_anlo.models import piecewise_exponential as pwe

        entry, data, tree, result = a.entry, a.data, a.tree, a.result
        summaries = a.state["summaries"]
        comparison = (
            compare_arms(data.patients, data.reference) if data.patients is not None else None
        )
        a.state["arm_comparison"] = comparison
        if data.reconstruction is not None:
            result.flags.extend(data.reconstruction.warnings)
            result.tables["reconstruction"] = data.reconstruction.diagnostics
        result.tables["data"] = (
            counts_as_integers(summaries.to_frame())
            if summaries is not None
            else patient_summary(data, comparison)
        )
        result.tables["posterior"] = posterior_table(tree)
        extra = hazard_ratio_rows(tree)
        if comparison is not None:
            extra += frequentist_rows(comparison, data.kind)
            result.tables["frequentist"] = comparison.to_frame()
            result.tables["kaplan_meier"] = km_curves(data.patients)
        rows = comparison_rows(tree, summaries, published_survival(entry), extra)
        rows["beyond_data"] = pwe.extrapolation_flags(rows, tree)
        result.tables["comparison"] = rows
        result.tables["survival_curve"] = survival_band_table(tree)

    def figures(self, a: Analysis) -> None:
        from bayes_anlo.models import piecewise_exponential as pwe
        from bayes_anlo.report.ppc_plots import survival_ppc_plot

        result = a.result
        if a.data.kind == "summaries":
            result.figures["ppc"] = recipe(
                survival_ppc_plot,
                result.tables["ppc"],
                title=f"{a.entry.title}: posterior predictive check",
                endpoint=a.entry.endpoint,
            )
        result.figures["survival_curve"] = recipe(
            survival_plots.survival_plot,
            result.tables["survival_curve"],
            reported_points(a.state["summaries"]),
            title=a.entry.title,
            endpoint=a.entry.endpoint or "survival",
            informed_until=pwe.informed_until(a.tree),
            observed_km=result.tables.get("kaplan_meier"),
        )
        if a.state["summaries"] is not None:  # the published medians and landmark rates
            evidence_steps.add_survival_forest(
                result,
                a.state["summaries"],
                a.tree,
                endpoint=a.entry.endpoint or "survival",
                title=a.entry.title,
            )

    def headline(self, a: Analysis) -> str:
        endpoint = a.entry.endpoint or "survival"
        return _headline(a.result, endpoint, a.state["summaries"], a.state["arm_comparison"])


def posterior_table(tree) -> pd.DataFrame:
    """Posterior summaries of the survival quantities (hazard ratios with P(HR < 1)), with the
    times beyond the data marked."""
    from bayes_anlo.models import piecewise_exponential as pwe

    post = tree["posterior"].to_dataset()
    summary = pd.concat(
        [tables.summarise_variable(post, v) for v in SUMMARY_VARIABLES if v in post],
        ignore_index=True,
    )
    summary.insert(1, "description", summary["variable"].map(tables.DESCRIPTIONS).fillna(""))
    if "hazard_ratio" in post:
        summary.loc[summary["variable"] == "hazard_ratio", "description"] = (
            "Hazard ratio against the reference arm"
        )
        below = {
            str(c): float((post["hazard_ratio"].sel(comparison=c) < 1).mean())
            for c in post["comparison"].values
        }
        summary["p_hr_below_1"] = [
            below.get(r.label, np.nan) if r.variable == "hazard_ratio" else np.nan
            for r in summary.itertuples()
        ]
    return pwe.annotate_time(summary, tree)


def run_survival_analysis(
    entry: AnalysisEntry, *, seed: int, sampler: SamplerSettings, index: int
) -> AnalysisResult:
    """Fit one survival analysis and assemble every table and figure of its report section."""
    return run_steps(SurvivalSteps(), entry, seed=seed, sampler=sampler, index=index)


def _input_note(data: SurvivalInput) -> str:
    what = {
        "ipd": "patient data",
        "km": "digitised Kaplan-Meier curves, reconstructed into pseudo-patients by the "
        "Guyot et al. (2012) algorithm",
        "summaries": "published summaries (medians, landmark rates, counts)",
    }
    text = f"Input: {what[data.kind]}."
    if data.arms:
        text += (
            f" Hazard ratios compare each arm with the reference arm {data.reference!r} "
            "(`reference_arm` in the spec; default the first arm in sorted order, as R's factor "
            "levels)."
        )
        if not arms_share_a_study(data):
            text += (
                " No study reports more than one of these arms: each hazard ratio compares arms of "
                "different studies (a cross-study comparison resting on the study-effect model, "
                "not on randomisation), and is confounded with every difference between those "
                "studies."
            )
    return text


def arms_share_a_study(data: SurvivalInput) -> bool:
    """True when some study has rows of two or more arms (the arms are compared within a study);
    True also when the input does not say which study a row belongs to (nothing to warn about)."""
    table = data.patients.table if data.patients is not None else getattr(data.data, "table", None)
    if table is None or "study" not in table or "arm" not in table:
        return True
    rows = table[table["arm"].astype(str).isin(data.arms)]
    return bool((rows.groupby(rows["study"].astype(str))["arm"].nunique() > 1).any())


def _add_ppc(result: AnalysisResult, tree, data: SurvivalInput) -> None:
    """Posterior predictive checks: reported summaries, or events per interval for patient data."""
    from bayes_anlo.checks.survival_ppc import events_check, summary_check

    result.tables["ppc"] = summary_check(tree) if data.kind == "summaries" else events_check(tree)


def _headline(result: AnalysisResult, endpoint: str, summaries, comparison) -> str:
    posterior = result.tables["posterior"]
    meds = posterior[posterior["variable"] == "median"]
    text = (
        "Posterior median "
        + endpoint
        + " "
        + "; ".join(
            (f"{m.label}: " if m.label else "")
            + f"{m.median:.1f} months (95% CrI {m.ci_low:.1f} to {m.ci_high:.1f})"
            + (f" [{m.beyond_data}]" if m.beyond_data else "")
            for m in meds.itertuples()
        )
    )
    if summaries is not None:
        reported = summaries.table[summaries.table["quantity"] == "median"]
        if len(reported) == 1:
            r = reported.iloc[0]
            text += f"; reported {r['value']:g} ({r['ci_low']:g} to {r['ci_high']:g})"
        land = posterior[posterior["variable"] == "landmark"]
        if len(land) and len(meds) == 1:
            text += "; survival " + ", ".join(
                f"{float(r.label):g} mo {100 * r.median:.0f}%"
                + (" (extrapolated)" if r.beyond_data else "")
                for r in land.itertuples()
            )
    for r in posterior[posterior["variable"] == "hazard_ratio"].itertuples():
        text += (
            f"; hazard ratio {r.label}: {r.median:.2f} (95% CrI {r.ci_low:.2f} to "
            f"{r.ci_high:.2f}), P(HR < 1) = {r.p_hr_below_1:.3f}"
        )
    if comparison is not None and comparison.cox is not None:
        cox = comparison.cox
        text += "; Cox " + ", ".join(
            f"{a} vs {cox.reference} {h:.2f} ({lo:.2f} to {hi:.2f})"
            for a, h, lo, hi in zip(
                cox.arms, cox.hazard_ratio, cox.ci_low, cox.ci_high, strict=True
            )
        )
        text += f", log-rank p = {comparison.log_rank.p_value:.3g}"
    if "log_hr_subgroup" in result.tree["posterior"]:
        post = result.tree["posterior"]
        hr = np.exp(post["log_hr_subgroup"])
        for label in hr["subgroup_contrast"].values:
            draws = hr.sel(subgroup_contrast=label).values.ravel()
            text += (
                f"; hazard ratio {label}: {np.median(draws):.2f} "
                f"({np.quantile(draws, 0.025):.2f} to {np.quantile(draws, 0.975):.2f})"
            )
    return text + "."


def _gate(tree) -> tuple[bool, list[str]]:
    from bayes_anlo.checks.diagnostics import convergence

    conv = convergence(_gated(tree))
    return bool(conv.converged), list(conv.reasons)


def _gated(tree):
    """The fit with only the variables the convergence gate looks at (parameters and the reported
    summaries; not the draws of every curve point)."""
    gated = tree.copy()
    gated["posterior"] = tree["posterior"].to_dataset()[
        [v for v in GATED_VARIABLES if v in tree["posterior"]]
    ]
    return gated


def _sensitivity_row(label: str, tree) -> dict:
    """Median of each arm (labelled) and each hazard ratio, posterior median and 95% CrI."""
    post = tree["posterior"].to_dataset()
    row: dict = {"prior": label}
    for s in tables.summarise_variable(post, "median").itertuples(index=False):
        name = f"median {s.label}" if s.label else "median"
        row.update(
            {f"{name} (months)": s.median, f"{name} low": s.ci_low, f"{name} high": s.ci_high}
        )
    if "hazard_ratio" in post:
        for s in tables.summarise_variable(post, "hazard_ratio").itertuples(index=False):
            row.update(
                {
                    f"HR {s.label}": s.median,
                    f"HR {s.label} low": s.ci_low,
                    f"HR {s.label} high": s.ci_high,
                }
            )
    return row
