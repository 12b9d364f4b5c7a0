"""Forest tables (see :mod:`bayes_anlo.report.forest_figure`) from counts, frequentist results and
fits.

Nothing here fits a model: the builders take what was computed (``PooledResult``,
``SubgroupResult``, Bayesian comparison rows from :func:`~bayes_anlo.report.tables.
bayesian_comparison_rows` / :func:`~bayes_anlo.report.tables.subgroup_pooled_rows`) and lay it out
as printed lines, both paradigms side by side: study rows (observed rate, Clopper-Pearson interval,
weight of the first frequentist result, optional shrunken Bayesian rate), then the frequentist
pooled rows with their heterogeneity line, then the Bayesian pooled rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes_anlo.frequentist.intervals import proportion_ci

#: Columns every forest table has (further columns are optional, see report.forest_figure).
TABLE_COLUMNS = (
    "kind",
    "label",
    "paradigm",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "weight",
)
INTERVAL_NOTE = (
    "Studies: observed rate, Clopper-Pearson 95% CI; frequentist rows: 95% CI; Bayesian rows: "
    "posterior median, 95% equal-tailed credible interval; dotted: 95% prediction interval."
)
SHRUNKEN_NOTE = "Circles under a box: the study's shrunken rate (posterior median, 95% CrI)."


def _p_text(p: float) -> str:
    if not math.isfinite(p):
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def heterogeneity_text(result) -> str:
    """``Heterogeneity (PLO-REML): I² = 42.0%, τ² = 0.123, Q = 8.61 (df = 5), p = 0.126``.

    For a GLMM result the statistic is the likelihood-ratio test of tau^2 = 0 (named ``LRT``)."""
    statistic = "LRT" if str(result.method).upper().startswith("GLMM") else "Q"
    return (
        f"Heterogeneity ({result.method}): I\u00b2 = {result.i2:.1f}%, "
        f"\u03c4\u00b2 = {result.tau2:.3g}, {statistic} = {result.q:.2f} (df = {result.q_df}), "
        f"{_p_text(result.q_p)}"
    )


def subgroup_difference_text(sub) -> str:
    """The test for subgroup differences of a ``SubgroupResult``, as printed under a forest."""
    return (
        f"Test for subgroup differences ({sub.overall.method}, random effects): "
        f"Q = {sub.q_between:.2f}, df = {sub.q_between_df}, {_p_text(sub.q_between_p)}"
    )


def study_rows(
    labels: Sequence[str],
    events,
    n,
    *,
    weights=None,
    extra: pd.DataFrame | None = None,
    shrunken: pd.DataFrame | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """One ``study`` row per study: observed rate with its Clopper-Pearson interval.

    ``weights`` are percent weights (e.g. ``PooledResult.weights``); ``extra`` holds label
    columns (one row per study, same order); ``shrunken`` has ``median``, ``ci_low``, ``ci_high``
    (e.g. :func:`~bayes_anlo.report.tables.summarise_variable` of ``study_rate``).
    """
    events = np.asarray(events, dtype=int)
    n = np.asarray(n, dtype=int)
    cp = proportion_ci(events, n, "clopper-pearson", level)
    frame = pd.DataFrame(
        {
            "kind": "study",
            "label": [str(v) for v in labels],
            "paradigm": "observed",
            "estimate": cp.estimate,
            "ci_low": cp.ci_low,
            "ci_high": cp.ci_high,
            "pi_low": np.nan,
            "pi_high": np.nan,
            "weight": np.nan if weights is None else np.asarray(weights, dtype=float),
            "events": events,
            "n": n,
        }
    )
    if shrunken is not None:
        frame["shrunken"] = shrunken["median"].to_numpy(dtype=float)
        frame["shrunken_low"] = shrunken["ci_low"].to_numpy(dtype=float)
        frame["shrunken_high"] = shrunken["ci_high"].to_numpy(dtype=float)
    if extra is not None:
        if len(extra) != len(frame):
            raise ValueError(f"extra has {len(extra)} rows for {len(frame)} studies")
        for column in extra.columns:
            if column not in frame:
                frame[column] = extra[column].to_numpy()
    return frame


def _pooled_row(paradigm: str, label: str, source) -> dict:
    get = source.get if isinstance(source, dict | pd.Series) else lambda k, d: getattr(source, k, d)
    return {
        "kind": "pooled",
        "label": label,
        "paradigm": paradigm,
        **{
            c: float(get(c, np.nan)) for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")
        },
        "weight": np.nan,
    }


def pooled_rows(
    frequentist: Sequence = (),
    bayesian: Sequence[pd.DataFrame] = (),
    *,
    heterogeneity: bool = True,
    prefix: str = "",
) -> pd.DataFrame:
    """Pooled rows, frequentist first (each followed by its heterogeneity ``note`` line), then the
    Bayesian rows (``bayesian_comparison_rows`` frames). ``prefix`` is prepended to the labels
    (e.g. an indent inside a subgroup block)."""
    out = []
    for res in frequentist:
        label = f"{prefix}{res.method} random effects" if res.tau2_method != "FE" else res.method
        if res.method.startswith("GLMM"):
            label = f"{prefix}{res.method} (logit GLMM)"
        out.append(_pooled_row("frequentist", label, res))
        if heterogeneity and res.k >= 2:
            out.append(_note(f"{prefix}  {heterogeneity_text(res)}"))
    for frame in bayesian:
        for _, r in frame.iterrows():
            out.append(_pooled_row("Bayesian", f"{prefix}{r['method']} (Bayesian)", r))
    return _frame(out)


def _note(text: str) -> dict:
    return {"kind": "note", "label": text, "paradigm": ""}


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for c in TABLE_COLUMNS:
        if c not in frame:
            frame[c] = np.nan
    return frame


def binary_forest_table(
    labels: Sequence[str],
    events,
    n,
    *,
    frequentist: Sequence = (),
    bayesian: Sequence[pd.DataFrame] = (),
    extra: pd.DataFrame | None = None,
    shrunken: pd.DataFrame | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Studies, a gap, then the pooled rows of both paradigms (see :func:`pooled_rows`).

    The weights column holds the percent weights of the first frequentist result that has them.
    """
    weights = next((r.weights for r in frequentist if r.weights is not None), None)
    studies = study_rows(
        labels, events, n, weights=weights, extra=extra, shrunken=shrunken, level=level
    )
    gap = _frame([{"kind": "gap", "label": ""}])
    return pd.concat(
        [studies, gap, pooled_rows(frequentist, bayesian)], ignore_index=True, sort=False
    )


def weight_header(frequentist: Sequence) -> str:
    """The weights column's header, naming the model whose weights it prints."""
    first = next((r for r in frequentist if r.weights is not None), None)
    return "Weight" if first is None else f"Weight ({first.method})"


def subgroup_forest_table(
    labels: Sequence[str],
    events,
    n,
    groups: Sequence[str],
    subgroups,
    *,
    overall_bayesian: Sequence[pd.DataFrame] = (),
    subgroup_bayesian: pd.DataFrame | None = None,
    extra: pd.DataFrame | None = None,
    shrunken: pd.DataFrame | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """One block per subgroup (header, studies weighted within the subgroup, the subgroup's pooled
    rows of both paradigms and its heterogeneity), then the overall pooled rows.

    ``subgroups`` is a :class:`~bayes_anlo.frequentist.subgroups.SubgroupResult` for the same
    studies; ``subgroup_bayesian`` has the Bayesian rows of
    :func:`~bayes_anlo.report.tables.subgroup_pooled_rows` (column ``subgroup``). The test for
    subgroup differences is :func:`subgroup_difference_text` (printed as a note under the figure).
    """
    groups = np.asarray([str(g) for g in groups])
    events, n = np.asarray(events), np.asarray(n)
    labels = np.asarray([str(v) for v in labels], dtype=object)
    blocks = []
    for level_name in subgroups.levels:
        mask = groups == level_name
        res = subgroups.per_subgroup[level_name]
        single = " (single study)" if mask.sum() == 1 else ""
        blocks.append(_frame([{"kind": "header", "label": f"{level_name}{single}"}]))
        blocks.append(
            study_rows(
                labels[mask],
                events[mask],
                n[mask],
                weights=res.weights,
                extra=None if extra is None else extra.loc[mask].reset_index(drop=True),
                shrunken=None if shrunken is None else shrunken.loc[mask].reset_index(drop=True),
                level=level,
            )
        )
        bayes = []
        if subgroup_bayesian is not None and len(subgroup_bayesian):
            part = subgroup_bayesian[
                (subgroup_bayesian["subgroup"].astype(str) == level_name)
                & (subgroup_bayesian["paradigm"] == "Bayesian")
            ]
            bayes = [part] if len(part) else []
        blocks.append(pooled_rows([res], bayes, heterogeneity=mask.sum() >= 2, prefix="  "))
    blocks.append(_frame([{"kind": "gap", "label": ""}]))
    blocks.append(_frame([{"kind": "header", "label": "Overall"}]))
    blocks.append(pooled_rows([subgroups.overall], overall_bayesian, prefix="  "))
    return pd.concat(blocks, ignore_index=True, sort=False)


# ---- survival ------------------------------------------------------------------------------


def survival_forest_table(
    summaries: pd.DataFrame,
    *,
    endpoint: str,
    landmark_time: float | None = None,
    tolerance: float = 0.05,
    label_columns: Sequence[str] = ("drug", "line"),
) -> pd.DataFrame:
    """One row per study: its median (months) with CI, and its landmark rate at ``landmark_time``.

    ``summaries`` is long, as the bundled ``sarcoma_literature_survival`` dataset: columns
    ``study``, ``endpoint``, ``quantity`` (``median``, ``landmark``, ``patients`` ...), ``value``,
    ``ci_low``, ``ci_high``, ``time`` (landmark time in months), optional ``arm`` and
    ``subgroup`` (one row per study, arm and subgroup, labelled ``study: arm: subgroup`` with
    only the parts that vary between rows, never empty or ``overall``) and label columns.
    A landmark row is used when its time is within ``tolerance`` months of ``landmark_time``.
    Columns: the forest-table columns for the medians, ``landmark_estimate``/``_ci_low``/
    ``_ci_high`` for the landmark panel, ``n`` (patients) and the label columns.
    """
    ends = summaries["endpoint"].astype(str).str.upper()
    part = summaries[(ends == endpoint.upper()) | (ends == "")]  # "" rows: patients, follow-up
    keys = ["study"] + [c for c in ("arm", "subgroup") if c in part]
    varies = [part[c].astype(str).nunique() > 1 for c in keys]
    rows = []
    for key, block in part.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        parts = [str(key[0])] + [
            str(v)
            for v, shown in zip(key[1:], varies[1:], strict=True)
            if shown and str(v) not in ("", "nan", "overall", "all")
        ]
        row = {
            "kind": "study",
            "label": ": ".join(parts),
            "paradigm": "observed",
            "estimate": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "landmark_estimate": np.nan,
            "landmark_ci_low": np.nan,
            "landmark_ci_high": np.nan,
            "n": np.nan,
        }
        for c in label_columns:
            row[c] = str(block[c].iloc[0]) if c in block else ""
        median = block[block["quantity"] == "median"]
        if len(median):
            m = median.iloc[0]
            row.update(estimate=m["value"], ci_low=m["ci_low"], ci_high=m["ci_high"])
        if landmark_time is not None:
            lm = block[
                (block["quantity"] == "landmark")
                & ((block["time"].astype(float) - landmark_time).abs() <= tolerance)
            ]
            if len(lm):
                m = lm.iloc[0]
                row.update(
                    landmark_estimate=m["value"],
                    landmark_ci_low=m["ci_low"],
                    landmark_ci_high=m["ci_high"],
                )
        patients = block[block["quantity"].isin(["patients", "n"])]
        if len(patients):
            row["n"] = float(patients["value"].iloc[0])
        if len(median) or np.isfinite(row["landmark_estimate"]):
            rows.append(row)
    frame = _frame(rows)
    for c in ("estimate", "ci_low", "ci_high", "landmark_estimate", "landmark_ci_low"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    frame["landmark_ci_high"] = pd.to_numeric(frame["landmark_ci_high"], errors="coerce")
    return frame
