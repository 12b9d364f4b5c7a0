"""Small steps of a binary analysis that add publication forests, small-study diagnostics,
meta-regression on moderators and a LOO model comparison to an analysis result.

Each step takes the result being assembled (anything with ``tables``, ``figures`` and ``notes``,
e.g. :class:`~bayes_anlo.report.result.AnalysisResult`), the validated data and what was
already computed, and adds named tables and figures; none reaches into the report.

Tables added: ``forest_table``; ``small_study`` (Egger and sample-size regression tests),
``influence``, ``trim_and_fill``; ``meta_regression`` (Bayesian and frequentist slopes side by
side); ``model_comparison`` (LOO). Figures: ``publication_forest``, ``funnel``, ``baujat``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes_anlo.data.binary import BinaryData
from bayes_anlo.errors import InputError
from bayes_anlo.report.canvas import recipe

#: Extra label columns a publication forest prints when the data have them.
LABEL_COLUMNS = (("drug", "Drug"), ("line", "Line"), ("arm", "Arm"))
#: Fewest studies for funnel, Baujat and the small-study tests to be computed at all.
MIN_DIAGNOSTIC_STUDIES = 3


def _label_columns(data: BinaryData) -> list[tuple[str, str]]:
    table = data.table
    out = [
        (c, h)
        for c, h in LABEL_COLUMNS
        if c in table and table[c].astype(str).str.strip().ne("").any() and table[c].nunique() > 1
    ]
    return out + [("n", "n")]


def add_publication_forest(
    result,
    data: BinaryData,
    tree,
    frequentist: Sequence,
    *,
    model_label: str,
    title: str,
    subgroups=None,
    by: str = "",
) -> None:
    """The paper-ready forest (both paradigms) as ``forest_table`` and ``publication_forest``.

    ``frequentist`` are the pooled results (``PooledResult``; other rows are skipped);
    ``subgroups`` a ``SubgroupResult`` for the column ``by`` (then the forest has subgroup blocks
    and prints the test for subgroup differences).
    """
    from bayes_anlo.frequentist.pooling import PooledResult
    from bayes_anlo.report import forest_figure, forest_tables, tables

    pooled = [r for r in frequentist if isinstance(r, PooledResult)]
    if len(data) < 2 or not pooled:
        return
    columns = _label_columns(data)
    extra = data.table[[c for c, _ in columns if c != "n"]].reset_index(drop=True)
    posterior = tree["posterior"].to_dataset()
    shrunken = (
        tables.summarise_variable(posterior, "study_rate") if "study_rate" in posterior else None
    )
    bayes = [tables.bayesian_comparison_rows(tree, model_label)]
    notes = [forest_tables.INTERVAL_NOTE]
    if shrunken is not None:
        notes.append(forest_tables.SHRUNKEN_NOTE)
    if subgroups is not None and by:
        table = forest_tables.subgroup_forest_table(
            data.labels,
            data.events,
            data.n,
            [str(g) for g in data.table[by]],
            subgroups,
            overall_bayesian=bayes,
            subgroup_bayesian=tables.subgroup_pooled_rows(tree, None, model_label),
            extra=extra,
            shrunken=shrunken,
        )
        notes.insert(0, forest_tables.subgroup_difference_text(subgroups))
        weight_header = "Weight (within subgroup)"
    else:
        table = forest_tables.binary_forest_table(
            data.labels,
            data.events,
            data.n,
            frequentist=pooled,
            bayesian=bayes,
            extra=extra,
            shrunken=shrunken,
        )
        weight_header = forest_tables.weight_header(pooled)
    result.tables["forest_table"] = table
    result.figures["publication_forest"] = recipe(
        forest_figure.forest_plot,
        table,
        columns=columns,
        panels=[forest_figure.Panel(xlabel=f"{data.outcomes[0]} (proportion of patients)")],
        title=title,
        weight_header=weight_header,
        notes=notes,
    )


def small_study_tables(result, data: BinaryData) -> dict | None:
    """Egger (``sei``) and sample-size (``ninv``) regression tests, influence and trim and fill
    (logit, REML, as metafor) as tables, the small-k caveat as a note; returns what the figures
    need (None when not computed)."""
    from bayes_anlo import frequentist as fq

    if len(data) < MIN_DIAGNOSTIC_STUDIES:
        return None
    try:
        tests = [fq.regression_test(data, predictor=p) for p in ("sei", "ninv")]
        influence = fq.influence_diagnostics(data)
        trimfill = fq.trim_and_fill(data)
        funnel = fq.funnel_data(data)
    except (ValueError, RuntimeError, InputError) as exc:
        result.notes.append(f"Small-study diagnostics not computed: {exc}")
        return None
    result.tables["small_study"] = pd.concat([t.to_frame() for t in tests], ignore_index=True)
    result.tables["influence"] = influence.to_frame()
    result.tables["trim_and_fill"] = trimfill.to_frame()
    caveat = tests[0].caveat
    if caveat:
        result.notes.append(f"Small-study diagnostics: {caveat}.")
    return {"funnel": funnel, "trimfill": trimfill, "influence": influence, "caveat": caveat}


def small_study_figures(result, diagnostics: dict | None, *, title: str) -> None:
    """The funnel and Baujat figures of :func:`small_study_tables`' results."""
    from bayes_anlo.report import diagnostic_plots

    if diagnostics is None:
        return
    funnel, trimfill = diagnostics["funnel"], diagnostics["trimfill"]
    influence, caveat = diagnostics["influence"], diagnostics["caveat"]
    studies, region = diagnostic_plots.funnel_tables(funnel, trimfill)
    result.figures["funnel"] = recipe(
        diagnostic_plots.funnel_plot,
        studies,
        theta=funnel.theta,
        region=region,
        adjusted_theta=trimfill.theta if trimfill.k0 > 0 else None,
        title=f"{title}: funnel ({funnel.method})",
        caveat=caveat,
    )
    result.figures["baujat"] = recipe(
        diagnostic_plots.baujat_plot,
        influence.to_frame(),
        title=f"{title}: Baujat ({influence.method})",
        caveat=caveat,
    )


def add_small_study_diagnostics(result, data: BinaryData, *, title: str) -> None:
    """:func:`small_study_tables` then :func:`small_study_figures`."""
    small_study_figures(result, small_study_tables(result, data), title=title)


def add_meta_regression(
    result, data: BinaryData, moderators: Sequence[str], *, sampler, seed: int, thresholds=()
):
    """Bayesian logit-normal meta-regression on all ``moderators`` jointly, beside the frequentist
    ``rma(mods = ~ x)`` on each moderator alone (logit, REML); table ``meta_regression``.
    Returns the Bayesian fit (for the LOO comparison)."""
    from bayes_anlo import frequentist as fq
    from bayes_anlo.models.meta_regression import MetaRegression, slope_table

    model = MetaRegression(moderators=moderators, sampler=sampler, thresholds=thresholds)
    fit = model.fit(data, random_seed=seed)
    bayes = slope_table(fit)
    bayes.insert(0, "paradigm", "Bayesian")
    bayes.insert(1, "method", "logit-normal meta-regression (all moderators)")
    rows = [bayes]
    for moderator in moderators:
        try:
            freq = fq.meta_regression(data, moderator, transform="logit", method="REML")
        except (ValueError, RuntimeError, InputError) as exc:
            result.notes.append(f"Frequentist meta-regression on {moderator} not computed: {exc}")
            continue
        f = freq.fit
        for j, name in enumerate(f.names[1:], start=1):
            rows.append(
                pd.DataFrame(
                    [
                        {
                            "paradigm": "frequentist",
                            "method": f"{freq.method} rma(mods = ~ {moderator})",
                            "moderator": name,
                            "median": float(f.beta[j]),
                            "ci_low": float(f.ci_low[j]),
                            "ci_high": float(f.ci_high[j]),
                            "odds_ratio": float(np.exp(f.beta[j])),
                            "p_value": float(f.pval[j]),
                            "qm_p": float(f.qm_p),
                            "tau2_residual": float(f.tau2),
                            "r2": float("nan") if f.r2 is None else float(f.r2),
                        }
                    ]
                )
            )
    result.tables["meta_regression"] = pd.concat(rows, ignore_index=True, sort=False)
    return fit


def add_model_comparison(
    result,
    data: BinaryData,
    fits: dict,
    *,
    sampler,
    seed: int,
    alternatives: Sequence[str] = ("beta_binomial", "logit_normal", "complete_pooling"),
) -> None:
    """LOO comparison (table ``model_comparison``) of ``fits`` (label -> DataTree, e.g. the
    analysis's own fit and a meta-regression) and the exact-engine fits of ``alternatives`` not
    already among them, all on ``data``; the small-k caveat goes to the notes."""
    from bayes_anlo.models import MODELS
    from bayes_anlo.report.model_comparison import loo_caveat, loo_table

    if len(data) < MIN_DIAGNOSTIC_STUDIES:
        return
    fits = dict(fits)
    present = {str(t.attrs.get("model", "")) for t in fits.values()}
    for name in alternatives:
        if name in present:
            continue
        model = MODELS[name](method="exact", sampler=sampler)
        fits[name.replace("_", "-")] = model.fit(data, random_seed=seed)
    table = loo_table(fits)
    result.tables["model_comparison"] = table
    caveat = loo_caveat(table)
    if caveat:
        result.notes.append(f"Model comparison (LOO): {caveat}")


def common_landmark_time(summaries: pd.DataFrame, endpoint: str) -> float | None:
    """The landmark time (months) reported by the most studies for ``endpoint``, or None."""
    rows = summaries[
        (summaries["endpoint"].astype(str).str.upper() == endpoint.upper())
        & (summaries["quantity"] == "landmark")
    ]
    times = pd.to_numeric(rows["time"], errors="coerce").dropna().round(2)
    if times.empty:
        return None
    counts = rows.assign(_t=times).dropna(subset=["_t"]).groupby("_t")["study"].nunique()
    return float(counts.idxmax())


def _posterior_row(posterior, name: str, label: str, prefix: str, select=None) -> dict | None:
    if name not in posterior:
        return None
    da = posterior[name]
    if select:
        dim, value = select
        if dim not in da.dims:
            return None
        coords = np.asarray(da[dim].values, dtype=float)
        nearest = int(np.argmin(np.abs(coords - value)))
        if abs(coords[nearest] - value) > 0.05:
            return None
        da = da.isel({dim: nearest})
    other = [d for d in da.dims if d not in ("chain", "draw")]
    if other:  # one row per arm or group is beyond this step: take single-element dims only
        if any(da.sizes[d] != 1 for d in other):
            return None
        da = da.isel({d: 0 for d in other})
    draws = da.values.ravel()
    return {
        "kind": "pooled",
        "label": label,
        "paradigm": "Bayesian",
        f"{prefix}estimate": float(np.median(draws)),
        f"{prefix}ci_low": float(np.quantile(draws, 0.025)),
        f"{prefix}ci_high": float(np.quantile(draws, 0.975)),
    }


def add_survival_forest(result, summaries, tree, *, endpoint: str, title: str) -> None:
    """Forest of the published study medians (and the landmark rate most studies report), with
    the Bayesian typical-study median and landmark rows; ``survival_forest_table`` and
    ``survival_forest``. ``summaries`` is a ``SurvivalSummaries`` (or its table)."""
    from bayes_anlo.report import forest_figure, forest_tables

    frame = summaries.table if hasattr(summaries, "table") else summaries
    landmark = common_landmark_time(frame, endpoint)
    table = forest_tables.survival_forest_table(
        frame, endpoint=endpoint, landmark_time=landmark, label_columns=()
    )
    if len(table) < 1:
        return
    posterior = tree["posterior"].to_dataset() if tree is not None else None
    pooled = []
    if posterior is not None:
        row = _posterior_row(posterior, "median", "Bayesian: typical study", "")
        if row is not None:
            if landmark is not None:
                lm = _posterior_row(
                    posterior, "landmark", "", "landmark_", select=("landmark_time", landmark)
                )
                if lm is not None:
                    row.update({k: v for k, v in lm.items() if k.startswith("landmark_")})
            pooled.append(row)
    if pooled:
        gap = pd.DataFrame([{"kind": "gap", "label": ""}])
        table = pd.concat([table, gap, pd.DataFrame(pooled)], ignore_index=True, sort=False)
    panels = [
        forest_figure.Panel(
            xlabel=f"median {endpoint} (months)", percent=False, header="Median [95% CI]"
        )
    ]
    if landmark is not None:
        panels.append(
            forest_figure.Panel(
                prefix="landmark_",
                xlabel=f"{endpoint} at {landmark:g} months",
                header=f"{landmark:g}-month % [95% CI]",
                limits=(0.0, 1.0),
            )
        )
    result.tables["survival_forest_table"] = table
    result.figures["survival_forest"] = recipe(
        forest_figure.forest_plot,
        table,
        columns=[("n", "n")],
        panels=panels,
        title=title,
        notes=[
            "Studies: published median (and landmark rate) with the interval printed in the "
            "paper; Bayesian row: posterior median and 95% credible interval of the typical study."
        ],
    )


def evidence_tables(result, entry, data: BinaryData, tree, *, model_label: str, sampler, seed):
    """The tables step of the evidence a response-rate entry asks for: small-study diagnostics
    (without ``by``), the meta-regression on ``entry.moderators``, the LOO comparison when
    ``entry.compare_models``. Returns what :func:`evidence_figures` needs."""
    from bayes_anlo.models.sampling import derived_seed

    state = {"small_study": small_study_tables(result, data) if entry.by is None else None}
    fits = {model_label: tree}
    if entry.moderators:
        fits["meta-regression"] = add_meta_regression(
            result,
            data,
            entry.moderators,
            sampler=sampler,
            seed=derived_seed(seed, 11),
            thresholds=entry.thresholds,
        )
    if entry.compare_models and "log_likelihood" in tree.children:
        add_model_comparison(result, data, fits, sampler=sampler, seed=derived_seed(seed, 12))
    return state


def evidence_figures(
    result,
    entry,
    data: BinaryData,
    tree,
    frequentist: Sequence,
    subgroups,
    state: dict,
    *,
    model_label: str,
    title: str,
) -> None:
    """The figures step: the publication forest (both paradigms, subgroup blocks with ``by``),
    and the funnel and Baujat figures of the small-study tables."""
    add_publication_forest(
        result,
        data,
        tree,
        frequentist,
        model_label=model_label,
        title=title,
        subgroups=subgroups,
        by=entry.by or "",
    )
    small_study_figures(result, state.get("small_study"), title=title)
