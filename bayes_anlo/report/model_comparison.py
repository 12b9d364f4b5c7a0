"""Leave-one-out comparison of Bayesian models fitted to the same studies (PSIS-LOO, ArviZ).

Every binary model stores in ``log_likelihood/events`` the *study-level marginal* log-likelihood
(the study's own random effect integrated out), so leaving one study out asks each model the
same question: how well does it predict the count of a new study like the one left out? The
elpd (expected log pointwise predictive density) is estimated by Pareto-smoothed importance
sampling (:func:`arviz_stats.loo`; Vehtari, Gelman & Gabry 2017, Stat Comput 27:1413) and the
models are ranked by :func:`arviz_stats.compare` (stacking weights, Yao et al. 2018, Bayesian
Analysis 13:917).

With few studies, read the table with care: the standard errors of elpd differences are
themselves uncertain and the normal approximation behind them is poor when there are few
observations or the models predict alike (Sivula, Magnusson, Matamoros & Vehtari 2020,
arXiv:2008.10296); :func:`loo_caveat` says so in words for a report.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

#: Columns of :func:`loo_table`.
LOO_COLUMNS = (
    "model",
    "rank",
    "elpd_loo",
    "se",
    "p_loo",
    "elpd_diff",
    "dse",
    "weight",
    "max_pareto_k",
    "bad_pareto_k",
    "pareto_k_threshold",
    "k",
)
#: Fewer studies than this and the report prints :func:`loo_caveat`.
FEW_STUDIES = 10


def _observed(tree: xr.DataTree, var_name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    obs = tree["observed_data"][var_name]
    units = [str(u) for u in obs[obs.dims[0]].values]
    n = tree["constant_data"]["n"].values if "n" in tree["constant_data"] else np.array([])
    return units, np.asarray(obs.values), np.asarray(n)


def check_same_data(fits: Mapping[str, xr.DataTree], var_name: str = "events") -> None:
    """Raise ``ValueError`` unless every fit has the same units, counts and sizes (LOO compares
    predictions of the same observations) and a ``log_likelihood`` group."""
    if len(fits) < 2:
        raise ValueError("a LOO comparison needs at least two fitted models")
    reference = None
    for name, tree in fits.items():
        if "log_likelihood" not in tree.children or var_name not in tree["log_likelihood"]:
            raise ValueError(f"model {name!r} has no log_likelihood/{var_name}")
        observed = _observed(tree, var_name)
        if reference is None:
            reference = (name, observed)
            continue
        same = (
            observed[0] == reference[1][0]
            and np.array_equal(observed[1], reference[1][1])
            and np.array_equal(observed[2], reference[1][2])
        )
        if not same:
            raise ValueError(
                f"models {reference[0]!r} and {name!r} were fitted to different data; LOO "
                "compares models on the same observations"
            )


def loo_table(fits: Mapping[str, xr.DataTree], var_name: str = "events") -> pd.DataFrame:
    """PSIS-LOO of each fit and their comparison, best first.

    Parameters
    ----------
    fits : mapping of str to DataTree
        Model label -> fit (each with ``log_likelihood/<var_name>`` and the same observed data).

    Returns
    -------
    DataFrame
        Columns :data:`LOO_COLUMNS`: ``elpd_loo`` and its ``se``, the effective number of
        parameters ``p_loo``, ``elpd_diff`` from the best model with its standard error ``dse``,
        the stacking ``weight``, the largest Pareto k, how many studies exceed the threshold
        ``pareto_k_threshold`` (ArviZ's ``min(1 - 1/log10(S), 0.7)`` for S draws), and ``k``
        the number of studies.
    """
    from arviz_stats import compare, loo

    check_same_data(fits, var_name)
    with warnings.catch_warnings():  # high Pareto k is reported in the table, not warned
        warnings.filterwarnings("ignore", message=".*Pareto distribution.*", category=UserWarning)
        elpd = {name: loo(tree, pointwise=True, var_name=var_name) for name, tree in fits.items()}
        ranked = compare(elpd, round_to="none")
    rows = []
    for name, row in ranked.iterrows():
        e = elpd[name]
        k_values = np.asarray(e.pareto_k).ravel()
        rows.append(
            {
                "model": str(name),
                "rank": int(row["rank"]),
                "elpd_loo": float(e.elpd),
                "se": float(e.se),
                "p_loo": float(e.p),
                "elpd_diff": float(row["elpd_diff"]),
                "dse": float(row["dse"]),
                "weight": float(row["weight"]),
                "max_pareto_k": float(np.max(k_values)),
                "bad_pareto_k": int(np.sum(k_values > e.good_k)),
                "pareto_k_threshold": float(e.good_k),
                "k": int(e.n_data_points),
            }
        )
    return pd.DataFrame(rows, columns=list(LOO_COLUMNS))


def loo_caveat(table: pd.DataFrame) -> str:
    """Sentences to print under a LOO table: few studies, close models, high Pareto k."""
    notes = []
    k = int(table["k"].iloc[0]) if len(table) else 0
    if k < FEW_STUDIES:
        notes.append(
            f"Only {k} studies: each elpd is a sum of {k} terms, and the standard errors of the "
            "differences are rough (Sivula et al. 2020); read differences smaller than about 4 "
            "as no evidence either way."
        )
    close = table[(table["rank"] > 0) & (table["elpd_diff"].abs() < 4)]
    if len(close) and k >= FEW_STUDIES:
        notes.append(
            "Models within 4 elpd of the best predict alike: "
            + ", ".join(close["model"].astype(str))
            + "."
        )
    bad = table[table["bad_pareto_k"] > 0]
    for _, row in bad.iterrows():
        notes.append(
            f"{row['model']}: {row['bad_pareto_k']} of {k} studies have Pareto k above "
            f"{row['pareto_k_threshold']:.2f}; their PSIS estimate is unreliable (refit without "
            "them, or use k-fold cross-validation)."
        )
    return " ".join(notes)


def loo_report_table(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The LOO table as printed in a report: rounded, with readable headers."""
    out = pd.DataFrame(
        {
            "Model": table["model"],
            "elpd_loo (SE)": [
                f"{e:.{digits}f} ({s:.{digits}f})"
                for e, s in zip(table["elpd_loo"], table["se"], strict=True)
            ],
            "p_loo": table["p_loo"].round(digits),
            "elpd difference (SE)": [
                "0 (best)" if r == 0 else f"{d:.{digits}f} ({s:.{digits}f})"
                for r, d, s in zip(table["rank"], table["elpd_diff"], table["dse"], strict=True)
            ],
            "stacking weight": table["weight"].round(3),
            "max Pareto k": table["max_pareto_k"].round(2),
            "studies with high k": table["bad_pareto_k"],
        }
    )
    return out
