"""Tidy tables from fitted models and frequentist results (pandas only; nothing here samples).

Posterior summaries use the variable names every model in :mod:`bayes_anlo.models` shares:
``pooled_rate``, ``predictive_rate``, ``study_rate`` (dim ``unit``), ``subgroup_rate`` (dim
``subgroup``), ``kappa``/``icc``/``tau`` for heterogeneity, and ``rate``/``difference`` for the
two-arm model. Point estimates are posterior medians; intervals are equal-tailed (2.5%, 97.5%),
which are invariant to the scale (probability or logit) on which one reads them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

#: Variables reported as "rates", in the order they appear in tables.
RATE_VARIABLES = (
    "pooled_rate",
    "mean_rate",
    "predictive_rate",
    "subgroup_rate",
    "subgroup_predictive_rate",
    "rate",
    "study_rate",
)
HETEROGENEITY_VARIABLES = ("kappa", "icc", "tau", "sigma_subgroup")
CONTRAST_VARIABLES = ("difference", "ratio", "odds_ratio")

DESCRIPTIONS = {
    "pooled_rate": "Population mean rate (pooled)",
    "mean_rate": "Population mean rate",
    "predictive_rate": "Rate in a new study (predictive)",
    "subgroup_rate": "Subgroup mean rate",
    "subgroup_predictive_rate": "Rate in a new study of the subgroup (predictive)",
    "study_rate": "Shrunken study rate",
    "rate": "Arm rate",
    "kappa": "Concentration kappa (larger = less between-study variation)",
    "icc": "Overdispersion 1/(1+kappa) (intra-class correlation)",
    "tau": "Between-study SD on the logit scale",
    "sigma_subgroup": "Between-subgroup SD on the logit scale",
    "difference": "Rate difference (arm 1 - arm 2)",
    "ratio": "Rate ratio (arm 1 / arm 2)",
    "odds_ratio": "Odds ratio (arm 1 vs arm 2)",
    "median": "Median survival, typical study (months)",
    "predictive_median": "Median survival, new study (months)",
    "landmark": "Survival probability at the landmark time (months), typical study",
    "predictive_landmark": "Survival probability at the landmark time (months), new study",
    "rmst": "Restricted mean survival time to the horizon (months)",
    "hazard": "Hazard per month in each interval, typical study",
    "study_sd": "Between-study SD of log hazards",
}

#: Where ``pooled_rate`` is not the population mean, what it is (the population mean is then
#: ``mean_rate``): one name, "population mean rate", for one quantity in every model.
POOLED_RATE_BY_MODEL = {
    "logit_normal": "Pooled rate expit(mu): the median study rate (as the GLMM estimates it)",
    "nested_beta_binomial": "Overall rate expit(mu): the median of the subgroup means",
}


def describe_variable(name: str, model: str = "") -> str:
    """What a posterior variable is, in words; ``pooled_rate`` depends on the model (for the
    logit-normal and nested models it is a median, and ``mean_rate`` is the population mean)."""
    if name == "pooled_rate" and model in POOLED_RATE_BY_MODEL:
        return POOLED_RATE_BY_MODEL[model]
    return DESCRIPTIONS.get(name, "")


SAMPLE_DIMS = ("chain", "draw")


def _draws(da: xr.DataArray) -> xr.DataArray:
    dims = [d for d in SAMPLE_DIMS if d in da.dims]
    return da.stack(sample=dims) if dims else da.expand_dims(sample=[0])


def summarise_variable(posterior: xr.Dataset, name: str, level: float = 0.95) -> pd.DataFrame:
    """Mean, SD, median and equal-tailed interval for each element of one posterior variable."""
    da = _draws(posterior[name])
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    other = [d for d in da.dims if d != "sample"]
    if not other:
        values = da.values.reshape(1, -1)
        labels = [""]
    else:
        stacked = da.stack(element=other).transpose("element", "sample")
        values = stacked.values
        labels = [
            " | ".join(str(v) for v in (idx if isinstance(idx, tuple) else (idx,)))
            for idx in stacked["element"].values
        ]
    return pd.DataFrame(
        {
            "variable": name,
            "label": labels,
            "mean": values.mean(axis=1),
            "sd": values.std(axis=1, ddof=1),
            "median": np.median(values, axis=1),
            "ci_low": np.quantile(values, lo, axis=1),
            "ci_high": np.quantile(values, hi, axis=1),
        }
    )


def posterior_summary(
    tree: xr.DataTree, variables: tuple[str, ...] | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Summary rows for the reported variables present in the posterior (rates, heterogeneity,
    contrasts)."""
    posterior = tree["posterior"].to_dataset()
    wanted = variables or (RATE_VARIABLES + HETEROGENEITY_VARIABLES + CONTRAST_VARIABLES)
    frames = [summarise_variable(posterior, v, level) for v in wanted if v in posterior]
    if not frames:
        raise ValueError("the posterior has none of the reported variables: " + ", ".join(wanted))
    table = pd.concat(frames, ignore_index=True)
    model = str(tree.attrs.get("model", ""))
    table.insert(1, "description", [describe_variable(v, model) for v in table["variable"]])
    return table


def bayesian_comparison_rows(
    tree: xr.DataTree, model_label: str, level: float = 0.95
) -> pd.DataFrame:
    """The Bayesian pooled estimate as rows shaped like frequentist PooledResult rows.

    ``estimate`` is the posterior median of ``pooled_rate``, ``ci_*`` its equal-tailed credible
    interval and ``pi_*`` the interval of ``predictive_rate`` (the Bayesian analogue of a
    prediction interval). For the logit-normal model, ``tau2`` is the posterior median of tau^2.
    """
    posterior = tree["posterior"].to_dataset()
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    pooled = _draws(posterior["pooled_rate"]).values.ravel()
    row = {
        "paradigm": "Bayesian",
        "method": model_label,
        "estimate": float(np.median(pooled)),
        "ci_low": float(np.quantile(pooled, lo)),
        "ci_high": float(np.quantile(pooled, hi)),
        "pi_low": np.nan,
        "pi_high": np.nan,
        "tau2": np.nan,
        "i2": np.nan,
    }
    if "predictive_rate" in posterior:
        pred = _draws(posterior["predictive_rate"]).values.ravel()
        row["pi_low"], row["pi_high"] = float(np.quantile(pred, lo)), float(np.quantile(pred, hi))
    if "tau" in posterior:
        row["tau2"] = float(np.median(_draws(posterior["tau"]).values.ravel() ** 2))
    return pd.DataFrame([row])


def comparison_table(
    bayesian: list[pd.DataFrame], frequentist: list, published: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Bayesian, frequentist and published pooled estimates on one table, same columns.

    ``frequentist`` holds results with ``to_frame()`` (see :mod:`bayes_anlo.frequentist`) or
    DataFrames with the same columns.
    """
    columns = [
        "paradigm",
        "method",
        "estimate",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "tau2",
        "i2",
    ]
    frames = [b[columns] for b in bayesian]
    for result in frequentist:
        frame = (result if isinstance(result, pd.DataFrame) else result.to_frame()).copy()
        frame["paradigm"] = "frequentist"
        for c in columns:
            if c not in frame:
                frame[c] = np.nan
        frames.append(frame[columns])
    if published is not None and len(published):
        pub = published.copy()
        pub["paradigm"] = "published"
        for c in columns:
            if c not in pub:
                pub[c] = np.nan
        frames.append(pub[columns + [c for c in ("source",) if c in pub]])
    return pd.concat(frames, ignore_index=True)


def study_table(
    labels: list[str],
    events: np.ndarray,
    n: np.ndarray,
    tree: xr.DataTree | None,
    level: float = 0.95,
    groups: list[str] | None = None,
) -> pd.DataFrame:
    """Per-study observed rate with its Clopper-Pearson interval, beside the shrunken estimate.

    ``groups`` (one subgroup label per study) adds a ``subgroup`` column after ``label``.
    """
    from bayes_anlo.frequentist.intervals import proportion_ci

    cp = proportion_ci(events, n, "clopper-pearson", level)
    table = pd.DataFrame(
        {
            "label": labels,
            "events": events,
            "n": n,
            "observed": cp.estimate,
            "cp_low": cp.ci_low,
            "cp_high": cp.ci_high,
        }
    )
    if groups is not None:
        table.insert(1, "subgroup", [str(g) for g in groups])
    if tree is not None and "study_rate" in tree["posterior"]:
        shrunk = summarise_variable(tree["posterior"].to_dataset(), "study_rate", level)
        table["shrunken"] = shrunk["median"].to_numpy()
        table["shrunken_low"] = shrunk["ci_low"].to_numpy()
        table["shrunken_high"] = shrunk["ci_high"].to_numpy()
    return table


def single_study_subgroups(groups) -> list[str]:
    """Subgroup levels holding a single study (in order of first appearance): their pooled
    estimate is that study's, and their between-study spread cannot be estimated from it."""
    counts = pd.Series([str(g) for g in groups]).value_counts(sort=False)
    return [level for level, count in counts.items() if count == 1]


def subgroup_pooled_rows(
    tree: xr.DataTree | None, frequentist=None, model_label: str = "Bayesian", level: float = 0.95
) -> pd.DataFrame:
    """Per-subgroup pooled estimates, Bayesian and frequentist, shaped like comparison rows.

    Bayesian rows: posterior median and equal-tailed CrI of ``subgroup_rate`` (the subgroup's mean
    rate), with the interval of ``subgroup_predictive_rate`` (a new study of that subgroup) as
    ``pi_*`` when it differs from the subgroup rate. Frequentist rows: each subgroup pooled on its
    own (``frequentist`` is a :class:`~bayes_anlo.frequentist.subgroups.SubgroupResult`).
    Columns ``subgroup, paradigm, method, estimate, ci_low, ci_high, pi_low, pi_high, k``.
    """
    rows = []
    posterior = tree["posterior"].to_dataset() if tree is not None else None
    if posterior is not None and "subgroup_rate" in posterior:
        rate = summarise_variable(posterior, "subgroup_rate", level)
        pred = None
        if "subgroup_predictive_rate" in posterior and not np.array_equal(
            posterior["subgroup_predictive_rate"].values, posterior["subgroup_rate"].values
        ):
            pred = summarise_variable(posterior, "subgroup_predictive_rate", level)
        for i, r in rate.iterrows():
            rows.append(
                {
                    "subgroup": r["label"],
                    "paradigm": "Bayesian",
                    "method": f"{model_label}: subgroup mean",
                    "estimate": r["median"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "pi_low": pred["ci_low"].iloc[i] if pred is not None else np.nan,
                    "pi_high": pred["ci_high"].iloc[i] if pred is not None else np.nan,
                    "k": np.nan,
                }
            )
    if frequentist is not None:
        for name, res in frequentist.per_subgroup.items():
            f = res.to_frame().iloc[0]
            rows.append(
                {
                    "subgroup": str(name),
                    "paradigm": "frequentist",
                    "method": str(f["method"]),
                    "estimate": f["estimate"],
                    "ci_low": f["ci_low"],
                    "ci_high": f["ci_high"],
                    "pi_low": f.get("pi_low", np.nan),
                    "pi_high": f.get("pi_high", np.nan),
                    "k": f.get("k", np.nan),
                }
            )
    columns = [
        "subgroup",
        "paradigm",
        "method",
        "estimate",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "k",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    if len(frame):  # subgroup by subgroup, in the posterior's (or the data's) order
        order = {g: i for i, g in enumerate(dict.fromkeys(frame["subgroup"]))}
        frame = frame.sort_values(
            "subgroup", key=lambda s: s.map(order), kind="stable"
        ).reset_index(drop=True)
    return frame


def subgroup_test_text(sub) -> str:
    """The between-subgroup test of a :class:`~bayes_anlo.frequentist.subgroups.SubgroupResult`
    as one line (for a figure)."""
    return (
        f"Test for subgroup differences ({sub.overall.method}, separate tau2): Q = "
        f"{sub.q_between:.2f}, df = {sub.q_between_df}, p = {sub.q_between_p:.3f}"
    )


def subgroup_contrasts(
    tree: xr.DataTree, variable: str = "subgroup_rate", level: float = 0.95
) -> pd.DataFrame:
    """Posterior contrasts between every pair of subgroups A, B (A before B in the subgroup order).

    From the joint posterior draws of ``variable`` (dim ``subgroup``): the difference ``A - B``
    (posterior median and equal-tailed CrI) and P(A > B), the share of draws in which A's rate
    exceeds B's. Columns ``subgroup_a, subgroup_b, difference_median, difference_low,
    difference_high, prob_a_greater``.
    """
    da = tree["posterior"][variable]
    draws = _draws(da).transpose("subgroup", "sample").values
    levels = [str(v) for v in da["subgroup"].values]
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    rows = []
    for i in range(len(levels)):
        for j in range(i + 1, len(levels)):
            diff = draws[i] - draws[j]
            rows.append(
                {
                    "subgroup_a": levels[i],
                    "subgroup_b": levels[j],
                    "difference_median": float(np.median(diff)),
                    "difference_low": float(np.quantile(diff, lo)),
                    "difference_high": float(np.quantile(diff, hi)),
                    "prob_a_greater": float(np.mean(diff > 0)),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "subgroup_a",
            "subgroup_b",
            "difference_median",
            "difference_low",
            "difference_high",
            "prob_a_greater",
        ],
    )


#: Columns of the leave-one-out table in a report: the pooled rate (probability scale) and the
#: heterogeneity of the remaining studies; no transform-scale z test (it tests a 50% rate).
LEAVE_ONE_OUT_COLUMNS = (
    "left_out",
    "method",
    "k",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "i2",
)


def leave_one_out_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """The rate-scale columns of :func:`~bayes_anlo.frequentist.leave_one_out`, with tau^2 named
    by its scale (``tau2_logit`` or ``tau2_pft``)."""
    out = frame[[c for c in LEAVE_ONE_OUT_COLUMNS if c in frame]].copy()
    scale = "pft" if str(frame["method"].iloc[0]).upper().startswith("PFT") else "logit"
    return out.rename(columns={"tau2": f"tau2_{scale}"})


def format_percent(x: float, digits: int = 1) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.{digits}f}%"


def format_interval(low: float, high: float, digits: int = 1) -> str:
    if low is None or (isinstance(low, float) and np.isnan(low)):
        return ""
    return f"{100 * low:.{digits}f} to {100 * high:.{digits}f}%"
