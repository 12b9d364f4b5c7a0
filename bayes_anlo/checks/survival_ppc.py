"""Posterior predictive checks of piecewise-exponential fits.

Patient data (:func:`km_check`): for a subset of posterior draws a replicate dataset is drawn
for the patients of one cell (study x arm x subgroup). Event times come from the draw's
piecewise-exponential hazards; a patient censored in the data keeps the observed censoring time;
a patient with an event gets a censoring time drawn from the Kaplan-Meier estimate of the
censoring distribution (reverse KM) conditional on exceeding the event time (the end of
follow-up when no censoring is seen later). The replicates' Kaplan-Meier curves give

* a pointwise predictive band (default 90%) and the share of grid times where the observed KM
  lies inside it (``coverage``);
* the sup distance ``max_t |KM(t) - centre(t)|`` of the observed and of every replicated curve
  from the pointwise median replicate, and the posterior predictive p-value ``P(D_rep >= D_obs)``
  (small when the observed curve is further from the model than replicates usually are).

The grid runs from 0 to the last time with at least ``min_at_risk`` patients at risk.

Events per interval (:func:`events_check`): observed events per cell and interval against the
fit's ``posterior_predictive`` ``ipd_events``, with mid-p values ``P(rep > obs) + P(rep = obs)/2``.

Aggregate data (:func:`summary_check`): each reported median, landmark and post-landmark event
count against its posterior predictive replicate, on the reported scale, with ``P(rep >= obs)``
(mid-p for counts) and the two-sided ``2 min(p, 1 - p)``. Because a cell's median and landmarks
are strongly correlated, a contradiction between them (a short median with a high 6-month rate)
can hide from the one-at-a-time checks; the ``km_joint`` row per cell uses the Mahalanobis
discrepancy ``(y - mu(theta))' Sigma^-1 (y - mu(theta))`` of the cell's KM summaries, observed
against replicated (``p_value`` = ``P(D_rep >= D_obs)``; ``observed``/``predicted_*`` report
its median and range over draws).

Posterior predictive p-values are not uniform under the model (they concentrate near 0.5);
values below 0.05 or above 0.95 flag a misfit worth a look (Gelman et al., BDA3 ch. 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayes_anlo.data.survival import SurvivalData
from bayes_anlo.frequentist.kaplan_meier import kaplan_meier, reverse_kaplan_meier
from bayes_anlo.models.piecewise_exponential import cell_hazard_draws
from bayes_anlo.survival import pwexp


def _cuts(tree: xr.DataTree) -> np.ndarray:
    return np.asarray(tree["constant_data"]["cut"].values, dtype=float)


def _km_on_grid(time: np.ndarray, event: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Kaplan-Meier step function evaluated on ``grid`` (vectorised, no CI)."""
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    times, idx = np.unique(t, return_index=True)
    counts = np.diff(np.append(idx, t.size))
    d = np.add.reduceat(e, idx)
    at_risk = t.size - idx
    s = np.cumprod(1.0 - d / at_risk)
    k = np.searchsorted(times, grid, side="right") - 1
    return np.where(k < 0, 1.0, s[np.maximum(k, 0)]) if counts.size else np.ones_like(grid)


def _censoring_sampler(time: np.ndarray, event: np.ndarray):
    """Draw censoring times C > t from the reverse Kaplan-Meier estimate."""
    rkm = reverse_kaplan_meier(time, event)
    jump_t = rkm.time[rkm.n_event > 0]
    surv = rkm.survival[rkm.n_event > 0]
    left = np.concatenate([[1.0], surv[:-1]])
    mass = left - surv
    end = float(time.max())

    def draw(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
        out = np.full(t.size, end)
        for i, ti in enumerate(t):
            later = jump_t > ti
            w = mass[later]
            total = w.sum()
            tail = surv[later][-1] if later.any() else (surv[-1] if surv.size else 1.0)
            if total <= 0:
                continue
            u = rng.random() * (total + tail)
            if u < total:
                out[i] = jump_t[later][np.searchsorted(np.cumsum(w), u, side="right")]
        return out

    return draw


@dataclass(frozen=True)
class KMCheck:
    """Posterior predictive check of one cell's Kaplan-Meier curve."""

    study: str
    arm: str
    subgroup: str
    grid: np.ndarray
    observed: np.ndarray
    lower: np.ndarray
    centre: np.ndarray
    upper: np.ndarray
    coverage: float
    sup_distance: float
    sup_p_value: float
    level: float
    n_replicates: int
    replicates: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """The band table (one row per grid time) for plotting."""
        return pd.DataFrame(
            {
                "time": self.grid,
                "observed": self.observed,
                "lower": self.lower,
                "centre": self.centre,
                "upper": self.upper,
                "inside": (self.observed >= self.lower) & (self.observed <= self.upper),
            }
        )

    def summary(self) -> dict:
        return {
            "study": self.study,
            "arm": self.arm,
            "subgroup": self.subgroup,
            "coverage": self.coverage,
            "level": self.level,
            "sup_distance": self.sup_distance,
            "sup_p_value": self.sup_p_value,
            "n_replicates": self.n_replicates,
        }


def km_check(
    tree: xr.DataTree,
    data: SurvivalData,
    *,
    study: str | None = None,
    arm: str = "",
    subgroup: str = "",
    draws: int = 200,
    level: float = 0.9,
    grid_size: int = 100,
    min_at_risk: int = 5,
    random_seed: int = 0,
) -> KMCheck:
    """Kaplan-Meier posterior predictive check of one cell (see the module docstring).

    Parameters
    ----------
    tree : DataTree from :meth:`PiecewiseExponential.fit`.
    data : the patient data that were fitted (the cell's patients are selected from it).
    study, arm, subgroup : the cell (default: the first study, arm and subgroup "").
    draws : number of posterior draws replicated (evenly spaced over the chains).
    """
    study = study if study is not None else data.studies[0]
    cell = data.select(study=study, arm=arm, subgroup=subgroup)
    time, event = cell.time, cell.event
    cuts = _cuts(tree)
    hazard = cell_hazard_draws(tree, study, arm, subgroup).reshape(-1, cuts.size)
    rng = np.random.default_rng(random_seed)
    pick = np.linspace(0, hazard.shape[0] - 1, min(draws, hazard.shape[0])).round().astype(int)
    km_obs = kaplan_meier(time, event)
    enough = km_obs.time[km_obs.n_risk >= min_at_risk]
    end = float(enough.max()) if enough.size else float(time.max())
    grid = np.linspace(0.0, end, grid_size)
    observed = km_obs.step(grid)
    censor = _censoring_sampler(time, event)
    reps = np.empty((pick.size, grid.size))
    for r, s in enumerate(pick):
        t_event = pwexp.simulate_times(rng, hazard[s], cuts, time.size)
        c = time.copy()
        had = event == 1
        c[had] = censor(rng, time[had])
        t_rep = np.minimum(t_event, c)
        reps[r] = _km_on_grid(t_rep, (t_event <= c).astype(float), grid)
    alpha = (1 - level) / 2
    lower, centre, upper = np.quantile(reps, [alpha, 0.5, 1 - alpha], axis=0)
    coverage = float(np.mean((observed >= lower - 1e-12) & (observed <= upper + 1e-12)))
    d_rep = np.abs(reps - centre).max(axis=1)
    d_obs = float(np.abs(observed - centre).max())
    return KMCheck(
        study,
        arm,
        subgroup,
        grid,
        observed,
        lower,
        centre,
        upper,
        coverage,
        d_obs,
        float(np.mean(d_rep >= d_obs)),
        level,
        int(pick.size),
        reps,
    )


def _mid_p(rep: np.ndarray, obs: np.ndarray) -> np.ndarray:
    return (rep > obs).mean(axis=0) + 0.5 * (rep == obs).mean(axis=0)


def events_check(tree: xr.DataTree) -> pd.DataFrame:
    """Observed vs replicated events per cell and interval (patient data), with mid-p values."""
    if "ipd_events" not in tree["observed_data"]:
        raise ValueError("the fit has no patient data (no ipd_events)")
    obs = tree["observed_data"]["ipd_events"].values
    rep = tree["posterior_predictive"]["ipd_events"].values.reshape(-1, obs.size)
    p = _mid_p(rep, obs)
    return pd.DataFrame(
        {
            "cell": tree["observed_data"]["ipd_cell"].values,
            "observed": obs,
            "exposure": tree["constant_data"]["exposure"].values,
            "predicted_mean": rep.mean(axis=0),
            "predicted_low": np.quantile(rep, 0.05, axis=0),
            "predicted_high": np.quantile(rep, 0.95, axis=0),
            "p_value": p,
            "p_two_sided": np.minimum(1.0, 2 * np.minimum(p, 1 - p)),
        }
    )


def _joint_rows(tree: xr.DataTree) -> list[dict]:
    """Mahalanobis discrepancy of each cell's KM summaries (two or more rows) from the model."""
    y = tree["observed_data"]["km_summary"].values
    rep = tree["posterior_predictive"]["km_summary"].values.reshape(-1, y.size)
    mean = tree["posterior"]["km_mean"].values.reshape(-1, y.size)
    cov = tree["constant_data"]["km_cov"].values
    cells = tree["constant_data"]["km_cell"].values
    rows = []
    for cell in dict.fromkeys(cells):
        idx = np.nonzero(cells == cell)[0]
        if idx.size < 2:
            continue
        prec = np.linalg.inv(cov[np.ix_(idx, idx)])
        d_obs = np.einsum("si,ij,sj->s", y[idx] - mean[:, idx], prec, y[idx] - mean[:, idx])
        d_rep = np.einsum(
            "si,ij,sj->s", rep[:, idx] - mean[:, idx], prec, rep[:, idx] - mean[:, idx]
        )
        rows.append(
            {
                "term": "km_joint",
                "row": str(cell),
                "time": np.nan,
                "observed": float(np.median(d_obs)),
                "predicted_median": float(np.median(d_rep)),
                "predicted_low": float(np.quantile(d_rep, 0.05)),
                "predicted_high": float(np.quantile(d_rep, 0.95)),
                "p_value": float(np.mean(d_rep >= d_obs)),
            }
        )
    return rows


def summary_check(tree: xr.DataTree, level: float = 0.9) -> pd.DataFrame:
    """Reported medians, landmarks and post-landmark event counts vs their replicates.

    Values are on the reported scale (median in months, landmark as a proportion, events as a
    count after the last reported KM time). ``p_value = P(rep >= obs)`` (mid-p for counts).
    """
    rows = []
    alpha = (1 - level) / 2
    obs_group, rep_group, const = (
        tree["observed_data"],
        tree["posterior_predictive"],
        tree["constant_data"],
    )
    if "km_summary" in obs_group:
        obs = obs_group["km_summary"].values
        rep = rep_group["km_summary"].values.reshape(-1, obs.size)
        kinds = const["km_kind"].values
        months = const["km_month"].values
        for i, label in enumerate(obs_group["km_row"].values):
            if kinds[i] == "median":
                to = np.exp
                quantity = "median"
            else:

                def to(g):
                    return np.exp(-np.exp(g))

                quantity = "landmark"
            o, r = to(obs[i]), to(rep[:, i])
            p = float(np.mean(r >= o))
            rows.append(
                {
                    "term": quantity,
                    "row": str(label),
                    "time": months[i],
                    "observed": float(o),
                    "predicted_median": float(np.median(r)),
                    "predicted_low": float(np.quantile(r, alpha)),
                    "predicted_high": float(np.quantile(r, 1 - alpha)),
                    "p_value": p,
                }
            )
    if "events_after" in obs_group:
        obs = obs_group["events_after"].values
        rep = rep_group["events_after"].values.reshape(-1, obs.size)
        p = _mid_p(rep, obs)
        for i, label in enumerate(obs_group["events_row"].values):
            rows.append(
                {
                    "term": "events_after",
                    "row": str(label),
                    "time": float(const["events_start"].values[i]),
                    "observed": float(obs[i]),
                    "predicted_median": float(np.median(rep[:, i])),
                    "predicted_low": float(np.quantile(rep[:, i], alpha)),
                    "predicted_high": float(np.quantile(rep[:, i], 1 - alpha)),
                    "p_value": float(p[i]),
                }
            )
    if "km_summary" in obs_group and "km_mean" in tree["posterior"]:
        rows.extend(_joint_rows(tree))
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["p_two_sided"] = np.minimum(
            1.0, 2 * np.minimum(frame["p_value"], 1 - frame["p_value"])
        )
        frame = counts_as_integers(frame)
    return frame


COUNT_COLUMNS = ("observed", "predicted_median", "predicted_low", "predicted_high")


def counts_as_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Event counts (``events_after`` rows) as Python ints, so reports print 12, not 12.000; the
    value columns become object columns (``to_numpy(dtype=float)`` still reads them)."""
    return integer_cells(frame, frame["term"] == "events_after", COUNT_COLUMNS)


def integer_cells(frame: pd.DataFrame, rows: pd.Series, columns) -> pd.DataFrame:
    """The finite cells of ``columns`` in the ``rows`` (a boolean mask) as Python ints, rounded;
    other cells unchanged. Those columns become object columns."""
    if not rows.any():
        return frame
    out = frame.copy()
    for column in columns:
        out[column] = pd.Series(
            [
                int(round(v)) if c and np.isfinite(v) else v
                for v, c in zip(out[column], rows, strict=True)
            ],
            index=out.index,
            dtype=object,
        )
    return out
