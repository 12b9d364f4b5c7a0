"""Posterior predictive checks for the binary models, with posterior predictive p-values.

Each test statistic ``T`` is computed on the observed counts and on every replicated data set
(``posterior_predictive/events``; the models replicate with the lowest random effect drawn afresh,
a new study of the same size, see :mod:`bayes_anlo.models.binary`). The posterior predictive
p-value is the mid-p ``P(T_rep > T_obs) + 0.5 P(T_rep = T_obs)`` (the half-weight on ties keeps
discrete statistics such as the minimum of a table with zero-event studies from sitting at 1).

Statistics on the observed proportions ``r_i = y_i / n_i``:

* ``variance``: the sample variance of ``r_i`` (between-study dispersion);
* ``chi2_homogeneity``: Pearson's ``X^2 = sum (y_i - n_i rbar)^2 / (n_i rbar (1 - rbar))`` with
  ``rbar = sum y / sum n``, the classical test statistic of a common rate (dispersion relative to
  the binomial); a small p-value means the data are more dispersed than the model predicts;
* ``min_rate``, ``max_rate``: the extreme proportions;
* ``chi2_discrepancy``: the realised discrepancy ``T(y, theta) = sum (y_i - E_i)^2 / V_i`` with the
  replicating distribution's mean ``E_i = n_i m_i`` and variance ``V_i = n_i m_i (1 - m_i) +
  n_i (n_i - 1) v_i`` computed per draw from the parameters (Gelman, Meng & Stern 1996,
  Statistica Sinica 6:733); p-value ``P(T(y_rep, theta) >= T(y, theta))`` over draws;
* per unit (``statistic = "unit_tail"``): the tail probability of each observed count among its
  replicates, mid-p as above (small: fewer events than the model expects; near 1: more).

A row is flagged when its p-value is below 0.05 or above 0.95.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

COLUMNS = [
    "statistic",
    "unit",
    "observed",
    "replicated_mean",
    "replicated_q05",
    "replicated_q95",
    "p_value",
    "flag",
]
GLOBAL_STATISTICS = ("variance", "chi2_homogeneity", "min_rate", "max_rate")


def _mid_p(rep: np.ndarray, obs) -> np.ndarray:
    obs = np.asarray(obs)
    return (rep > obs).mean(axis=0) + 0.5 * (rep == obs).mean(axis=0)


def _statistics(y: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    """Global statistics for counts ``y`` of shape ``(..., unit)``."""
    r = y / n
    out = {"min_rate": r.min(axis=-1), "max_rate": r.max(axis=-1)}
    if y.shape[-1] >= 2:
        out["variance"] = r.var(axis=-1, ddof=1)
        pbar = y.sum(axis=-1, keepdims=True) / n.sum()
        denom = n * pbar * (1 - pbar)
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = np.where(denom > 0, (y - n * pbar) ** 2 / np.where(denom > 0, denom, 1.0), 0.0)
        out["chi2_homogeneity"] = terms.sum(axis=-1)
    return out


def _replicates(tree: xr.DataTree) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    rep = tree["posterior_predictive"]["events"]
    units = rep["unit"].values.tolist()
    y = tree["observed_data"]["events"].values.astype(float)
    n = tree["constant_data"]["n"].values.astype(float)
    flat = rep.transpose(..., "unit").values.reshape(-1, len(units)).astype(float)
    return flat, y, n, units


def ppc_replicated(tree: xr.DataTree) -> dict[str, np.ndarray]:
    """The replicated draws of each global statistic (for plots), keyed like the table rows."""
    flat, _, n, _ = _replicates(tree)
    out = _statistics(flat, n)
    disc = chi2_discrepancy(tree)
    if disc is not None:
        out["chi2_discrepancy"] = disc[1]
    return out


def chi2_discrepancy(tree: xr.DataTree) -> tuple[np.ndarray, np.ndarray] | None:
    """``(T(y, theta), T(y_rep, theta))`` per draw, or None when the model is unknown."""
    from bayes_anlo.models import MODELS

    cls = MODELS.get(str(tree.attrs.get("model", "")))
    if cls is None:
        return None
    m, v = cls.replication_moments(tree)
    rep = tree["posterior_predictive"]["events"].transpose(..., "unit").values.astype(float)
    y = tree["observed_data"]["events"].values.astype(float)
    n = tree["constant_data"]["n"].values.astype(float)
    mean = n * m
    var = np.maximum(n * m * (1 - m) + n * (n - 1) * v, 1e-12)
    t_obs = ((y - mean) ** 2 / var).sum(axis=-1).ravel()
    t_rep = ((rep - mean) ** 2 / var).sum(axis=-1).ravel()
    return t_obs, t_rep


def _row(statistic, unit, observed, rep, p) -> dict:
    return {
        "statistic": statistic,
        "unit": unit,
        "observed": float(observed),
        "replicated_mean": float(np.mean(rep)),
        "replicated_q05": float(np.quantile(rep, 0.05)),
        "replicated_q95": float(np.quantile(rep, 0.95)),
        "p_value": float(p),
        "flag": bool(p < 0.05 or p > 0.95),
    }


def ppc_statistics(tree: xr.DataTree, *, units: bool = True) -> pd.DataFrame:
    """Tidy table of posterior predictive checks (see the module docstring).

    Parameters
    ----------
    tree : DataTree
        A fit of a binary model (``posterior_predictive``, ``observed_data``, ``constant_data``).
    units : bool
        Include the per-unit tail probabilities.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`; ``unit`` is empty for global statistics. For
        ``chi2_discrepancy``, ``observed`` is the posterior mean of ``T(y, theta)``.
    """
    flat, y, n, labels = _replicates(tree)
    observed = _statistics(y[None, :], n)
    replicated = _statistics(flat, n)
    rows = [
        _row(
            name,
            "",
            observed[name][0],
            replicated[name],
            _mid_p(replicated[name], observed[name][0]),
        )
        for name in GLOBAL_STATISTICS
        if name in observed
    ]
    disc = chi2_discrepancy(tree)
    if disc is not None:
        t_obs, t_rep = disc
        p = float(np.mean(t_rep > t_obs) + 0.5 * np.mean(t_rep == t_obs))
        rows.append(_row("chi2_discrepancy", "", t_obs.mean(), t_rep, p))
    if units:
        tails = _mid_p(flat, y)
        for j, label in enumerate(labels):
            rows.append(_row("unit_tail", str(label), y[j], flat[:, j], tails[j]))
    return pd.DataFrame(rows, columns=COLUMNS)
