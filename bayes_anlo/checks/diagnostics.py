"""Convergence diagnostics of a fit: a per-variable table and a pass/fail verdict with reasons.

Uses :mod:`arviz_stats` 1.x: rank-normalised split R-hat (``rhat``), bulk and tail effective
sample sizes (``ess(method="bulk"|"tail")``) and Monte Carlo standard errors of the mean and SD
(``mcse(method="mean"|"sd")``) (Vehtari et al. 2021, Bayesian Analysis 16:667). The verdict
(:func:`convergence`) follows the same paper: R-hat below 1.01, bulk and tail ESS above 400 (100 per
chain for 4 chains), and no divergent transitions. Fits from an exact engine (root attr
``method = "exact"``) hold iid draws and are always converged; their table is still computed.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats import ess, mcse, rhat

COLUMNS = ["variable", "r_hat", "ess_bulk", "ess_tail", "mcse_mean", "mcse_sd"]


def flatten_elements(ds: xr.Dataset) -> dict[str, float]:
    """``name[coord, ...] -> value`` for every element of every variable of a reduced Dataset."""
    out = {}
    for name, da in ds.data_vars.items():
        if da.ndim == 0:
            out[name] = float(da)
            continue
        stacked = da.stack(element=list(da.dims))
        for idx, value in zip(stacked["element"].values, stacked.values, strict=True):
            label = ", ".join(map(str, idx)) if isinstance(idx, tuple) else str(idx)
            out[f"{name}[{label}]"] = float(value)
    return out


#: Tables already computed, by ``id`` of the fitted tree: an analysis asks for the table of its
#: fit several times (convergence gate, diagnostics table, first row of the sensitivity table).
_COMPUTED: dict[int, tuple[weakref.ref, tuple, pd.DataFrame]] = {}


def _posterior_key(tree: xr.DataTree, var_names) -> tuple:
    post = tree["posterior"]
    return (
        None if var_names is None else tuple(var_names),
        tuple((name, post[name].shape) for name in post.data_vars),
        divergences(tree),
    )


def diagnostics_table(tree: xr.DataTree, var_names: list[str] | None = None) -> pd.DataFrame:
    """R-hat, bulk/tail ESS and MCSE (mean, SD) for every element of the posterior variables.

    Returns a DataFrame with columns :data:`COLUMNS`, one row per scalar element
    (``study_rate[S01]``). ``attrs["divergences"]`` holds the number of divergent transitions.
    The table of a tree is computed once while the tree lives (a copy is returned each time).
    """
    key = _posterior_key(tree, var_names)
    known = _COMPUTED.get(id(tree))
    if known is not None and known[0]() is tree and known[1] == key:
        return known[2].copy()
    table = _compute_table(tree, var_names)
    _COMPUTED[id(tree)] = (weakref.ref(tree), key, table)
    weakref.finalize(tree, _COMPUTED.pop, id(tree), None)
    return table.copy()


def _compute_table(tree: xr.DataTree, var_names: list[str] | None) -> pd.DataFrame:
    post = tree["posterior"].to_dataset()
    if var_names is not None:
        post = post[list(var_names)]
    post = post[[v for v in post.data_vars if np.issubdtype(post[v].dtype, np.number)]]
    with np.errstate(invalid="ignore", divide="ignore"):
        columns = {
            "r_hat": flatten_elements(rhat(post)),
            "ess_bulk": flatten_elements(ess(post, method="bulk")),
            "ess_tail": flatten_elements(ess(post, method="tail")),
            "mcse_mean": flatten_elements(mcse(post, method="mean")),
            "mcse_sd": flatten_elements(mcse(post, method="sd")),
        }
    names = list(columns["r_hat"])
    table = pd.DataFrame(
        {"variable": names, **{k: [v[n] for n in names] for k, v in columns.items()}}
    )
    table.attrs["divergences"] = divergences(tree)
    return table[COLUMNS]


def divergences(tree: xr.DataTree) -> int:
    """Number of divergent transitions after tuning (0 when there are no sampler statistics)."""
    if "sample_stats" not in tree.children:
        return 0
    stats = tree["sample_stats"]
    for name in ("diverging", "divergent"):
        if name in stats:
            return int(stats[name].values.sum())
    return 0


def _draw_count(tree: xr.DataTree) -> int:
    post = tree["posterior"]
    return int(post.sizes.get("chain", 1) * post.sizes.get("draw", 1))


@dataclass(frozen=True)
class Convergence:
    """Verdict on a fit: ``converged`` and the human-readable ``reasons`` when it is not."""

    converged: bool
    reasons: tuple[str, ...]
    method: str
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    draws: int
    rhat_max: float
    ess_min: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "converged": self.converged,
                    "method": self.method,
                    "max_rhat": self.max_rhat,
                    "min_ess_bulk": self.min_ess_bulk,
                    "min_ess_tail": self.min_ess_tail,
                    "divergences": self.divergences,
                    "draws": self.draws,
                    "reasons": "; ".join(self.reasons),
                }
            ]
        )


def convergence(
    tree: xr.DataTree,
    rhat_max: float = 1.01,
    ess_min: float = 400.0,
    var_names: list[str] | None = None,
) -> Convergence:
    """Whether the fit converged: R-hat <= ``rhat_max``, bulk and tail ESS >= ``ess_min`` for every
    element of every posterior variable, and no divergent transitions. Exact-engine fits (iid
    draws) are always converged. Elements with no variation (R-hat undefined) are skipped."""
    table = diagnostics_table(tree, var_names)
    method = str(tree.attrs.get("method", "nuts"))
    div = divergences(tree)
    finite = table.dropna(subset=["r_hat"])
    max_r = float(finite["r_hat"].max()) if len(finite) else float("nan")
    min_b = float(finite["ess_bulk"].min()) if len(finite) else float("nan")
    min_t = float(finite["ess_tail"].min()) if len(finite) else float("nan")
    reasons: list[str] = []
    if method != "exact":
        bad = finite[finite["r_hat"] > rhat_max]
        if len(bad):
            worst = bad.sort_values("r_hat").iloc[-1]
            reasons.append(
                f"R-hat above {rhat_max:g} for {len(bad)} element(s), worst {worst['variable']} "
                f"({worst['r_hat']:.3f})"
            )
        for column, label in (("ess_bulk", "bulk"), ("ess_tail", "tail")):
            low = finite[finite[column] < ess_min]
            if len(low):
                worst = low.sort_values(column).iloc[0]
                reasons.append(
                    f"{label} ESS below {ess_min:g} for {len(low)} element(s), lowest "
                    f"{worst['variable']} ({worst[column]:.0f})"
                )
        if div:
            reasons.append(
                f"{div} divergent transition(s) in {_draw_count(tree)} draws: the sampler "
                "could not explore part of the posterior (raise target_accept or reparametrise)"
            )
    return Convergence(
        not reasons,
        tuple(reasons),
        method,
        max_r,
        min_b,
        min_t,
        div,
        _draw_count(tree),
        rhat_max,
        ess_min,
    )
