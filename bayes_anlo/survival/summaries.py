"""Published survival summaries as likelihood terms of a piecewise-exponential model.

Each summary row of a study/arm/subgroup cell ``g`` is a noisy observation of a function of that
cell's hazards ``lambda_g`` (closed forms in :mod:`bayes_anlo.survival.pwexp`). A paper's median,
landmark rates and event count come from the *same* patients, so treating them as independent
would count the information twice (in simulation that gave 75-84% coverage of nominal 90%
intervals). The terms therefore model their dependence.

**Kaplan-Meier summaries of a cell** (medians and landmarks) form one multivariate normal::

    y_g ~ MvNormal(mu_g(lambda_g), Sigma_g)

* median ``m`` with 95% CI ``(l, u)``: ``y = log m``, ``mu = log median(lambda_g)``, marginal
  ``se = (log u - log l) / (2 * 1.959964)`` (CI taken as symmetric on the log scale; with the
  upper limit not reached ``se = (log m - log l) / 1.96``; with the lower limit printed as 0, a
  natural-scale symmetric interval cut at 0 as SPSS prints, ``se = (u - m) / (1.96 m)`` by the
  delta method). Without a usable CI: ``se = 1/sqrt(D)`` from the reported events ``D`` (the
  large-sample se of a log median under a constant hazard), else ``sqrt(2 / n)`` from the
  patients (only the ``n/2`` events up to the median; a note says so);
* landmark ``s`` at ``t`` months with 95% CI ``(l, u)``: ``y = log(-log s)``, ``mu = log H_g(t)``,
  ``se = |g(l) - g(u)| / (2 * 1.959964)`` with ``g = log(-log .)`` (symmetric on that scale, as R's
  ``conf.type = "log-log"``; for "log" intervals the width is close); a limit at 0 or 1 is
  replaced by the one-sided width of the other; without a CI the binomial se with the reported
  patients ``n``, ``sqrt((1 - s) / (n s)) / |log s|`` (ignores censoring before ``t``, so too
  small when there was any). Values of 0 or 1 are moved ``0.5 / n`` (0.001 without ``n``) inside.
* correlations from the independent increments of the Nelson-Aalen/Kaplan-Meier cumulative
  hazard: with ``sigma_i`` the se of ``H^(t_i)`` (``se * H^`` for a landmark; ``se * m * h^(m)``
  for a median, ``h^`` the slope of the cumulative hazard interpolated through ``(0, 0)``, the
  landmarks and ``(m, log 2)``), ``corr = min(sigma_i, sigma_j) / max(sigma_i, sigma_j)``, negative
  between a median and a landmark (a longer median goes with a smaller cumulative hazard); capped
  at 0.95 in absolute value.

**Events** ``D`` among ``n`` patients with the median follow-up ``f`` and its range ``(a, b)``
enter *after* the last Kaplan-Meier time ``t_L`` of the cell (0 without medians or landmarks),
where they carry information the curve summaries do not::

    D_after ~ Binomial(n_L, 1 - E[S_g(C) / S_g(t_L) | C > t_L])

``C`` is the potential follow-up (start to data cut) with half its mass uniform on ``[a, f]`` and
half on ``[f, b]`` (``a = 0, b = 2f`` without a range; a missing end mirrors the other about
``f``); ``n_L = round(n S^(t_L) P(C > t_L))`` are those still at risk at ``t_L`` and ``D_after = D
- round(n sum_j (S^(t_{j-1}) - S^(t_j)) P(C > (t_{j-1} + t_j) / 2))`` the events after it, with
``S^`` the reported values (cut to ``[0, n_L]``). Assumes no loss to follow-up, follow-up
independent of the event time, and that the printed median follow-up describes the potential
follow-up (the reverse Kaplan-Meier median). Events without a patients or a median_followup row
are not used (a note says so).

**Patients** enter only as denominators. The coverage study in
``tests/survival/test_summary_coverage.py`` checks the calibration of the whole construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes_anlo.data.survival import SurvivalSummaries
from bayes_anlo.errors import ProblemCollector
from bayes_anlo.survival import pwexp

Z95 = 1.959963984540054
LIKELIHOOD_QUANTITIES = ("median", "landmark", "events")
MAX_CORRELATION = 0.95
_EDGE = 1e-3
_LOG2 = math.log(2.0)


def cloglog(s):
    """``log(-log s)``."""
    return np.log(-np.log(s))


@dataclass(frozen=True)
class SummaryTerms:
    """Arrays of the likelihood terms built from one endpoint's summaries.

    Kaplan-Meier rows are the median rows followed by the landmark rows (``km_*``); ``*_group``
    index the model's cells; ``km_cov`` is the block-diagonal covariance of all KM rows.
    """

    median_group: np.ndarray
    median_log: np.ndarray
    median_se: np.ndarray
    median_label: list[str]
    landmark_group: np.ndarray
    landmark_time: np.ndarray
    landmark_cloglog: np.ndarray
    landmark_se: np.ndarray
    landmark_label: list[str]
    km_cov: np.ndarray
    events_group: np.ndarray
    events: np.ndarray  # events after start
    events_patients: np.ndarray  # at risk at start
    events_start: np.ndarray  # t_L
    events_followup: np.ndarray  # (rows, 3): low, median, high
    events_label: list[str]
    events_reported: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return self.median_group.size + self.landmark_group.size + self.events_group.size

    @property
    def km_observed(self) -> np.ndarray:
        return np.concatenate([self.median_log, self.landmark_cloglog])

    @property
    def km_label(self) -> list[str]:
        return [f"{x} median" for x in self.median_label] + list(self.landmark_label)

    @property
    def km_group(self) -> np.ndarray:
        return np.concatenate([self.median_group, self.landmark_group])

    def to_frame(self) -> pd.DataFrame:
        """One row per term: the observed value on the model's scale and its standard error."""
        km = pd.DataFrame(
            {
                "term": ["median"] * self.median_group.size
                + ["landmark"] * self.landmark_group.size,
                "label": self.km_label,
                "observed_scale": ["log"] * self.median_group.size
                + ["cloglog"] * self.landmark_group.size,
                "observed": self.km_observed,
                "se": np.sqrt(np.diag(self.km_cov)),
            }
        )
        ev = pd.DataFrame(
            {
                "term": "events_after",
                "label": self.events_label,
                "observed_scale": "count",
                "observed": self.events,
                "se": np.nan,
                "at_risk": self.events_patients,
                "start": self.events_start,
            }
        )
        return pd.concat([km, ev], ignore_index=True)


def cell_label(key: tuple[str, str, str]) -> str:
    return " | ".join(v for v in key if v != "") or "-"


def summary_cells(summaries: SurvivalSummaries) -> list[tuple[str, str, str]]:
    """The study/arm/subgroup cells that carry a median, landmark or events row."""
    t = summaries.table
    rows = t[t["quantity"].isin(LIKELIHOOD_QUANTITIES)]
    return list(dict.fromkeys(zip(rows["study"], rows["arm"], rows["subgroup"], strict=True)))


def _find(t: pd.DataFrame, key, quantity: str, endpoint: str, *, study_fallback: bool = False):
    same = t[
        (t["study"] == key[0])
        & (t["arm"] == key[1])
        & (t["subgroup"] == key[2])
        & (t["quantity"] == quantity)
        & t["endpoint"].isin([endpoint, ""])
    ]
    if same.empty and study_fallback:
        same = t[
            (t["study"] == key[0])
            & (t["arm"] == "")
            & (t["subgroup"] == "")
            & (t["quantity"] == quantity)
            & t["endpoint"].isin([endpoint, ""])
        ]
    if same.empty:
        return None
    same = same.assign(_pref=(same["endpoint"] == "").astype(int)).sort_values(
        "_pref", kind="stable"
    )
    return same.iloc[0]


def followup_bounds(f: float, a: float, b: float) -> tuple[float, float, float]:
    """``(low, median, high)`` of the two-piece uniform follow-up (module docstring)."""
    if math.isnan(a) and math.isnan(b):
        a, b = 0.0, 2 * f
    elif math.isnan(a):
        a = max(0.0, 2 * f - b)
    elif math.isnan(b):
        b = 2 * f - a
    return float(a), float(f), float(b)


def prob_followup_beyond(t, low: float, mid: float, high: float) -> np.ndarray:
    """``P(C > t)`` for the two-piece uniform follow-up."""
    t = np.asarray(t, dtype=float)

    def half(lo, hi):
        if hi - lo <= 1e-9:
            return (t < hi).astype(float)
        return np.clip((hi - t) / (hi - lo), 0.0, 1.0)

    return 0.5 * half(low, mid) + 0.5 * half(mid, high)


def _km_block(points: list[dict]) -> np.ndarray:
    """Covariance of one cell's KM rows (``points`` with kind, time, value, se; see docstring)."""
    # cumulative-hazard knots through the origin, the landmarks and (median, log 2)
    knots = sorted([(0.0, 0.0)] + [(p["time"], p["cumhaz"]) for p in points])
    times = np.array([k[0] for k in knots])
    cum = np.array([k[1] for k in knots])
    sig = []
    for p in points:
        if p["kind"] == "landmark":
            sig.append(p["se"] * p["cumhaz"])
            continue
        i = int(np.nonzero(times == p["time"])[0][0])
        slopes = []
        if i > 0 and times[i] > times[i - 1]:
            slopes.append((cum[i] - cum[i - 1]) / (times[i] - times[i - 1]))
        if i + 1 < times.size and times[i + 1] > times[i]:
            slopes.append((cum[i + 1] - cum[i]) / (times[i + 1] - times[i]))
        slopes = [s for s in slopes if s > 0] or [_LOG2 / p["time"]]
        sig.append(p["se"] * p["time"] * float(np.mean(slopes)))
    sig = np.asarray(sig)
    se = np.array([p["se"] for p in points])
    k = len(points)
    corr = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            r = min(sig[i], sig[j]) / max(sig[i], sig[j])
            sign = (
                -1.0 if (points[i]["kind"] == "median") != (points[j]["kind"] == "median") else 1.0
            )
            corr[i, j] = corr[j, i] = sign * min(r, MAX_CORRELATION)
    return corr * np.outer(se, se)


def prepare_terms(
    summaries: SurvivalSummaries, cells: dict[tuple[str, str, str], int], endpoint: str
) -> SummaryTerms:
    """Build the term arrays of one endpoint (formulas and assumptions in the module docstring).

    Parameters
    ----------
    summaries : SurvivalSummaries
    cells : dict
        Index of each (study, arm, subgroup) cell in the model.
    endpoint : str
        ``"PFS"`` or ``"OS"``; rows of other endpoints are ignored.
    """
    t = summaries.table
    t = t[t["endpoint"].isin([endpoint, ""])]
    problems = ProblemCollector(summaries.source)
    notes: list[str] = []
    km_points: dict[tuple, list[dict]] = {}
    events_rows = []
    for _, r in t.iterrows():
        q = r["quantity"]
        if q not in LIKELIHOOD_QUANTITIES:
            continue
        key = (r["study"], r["arm"], r["subgroup"])
        where = f"{cell_label(key)} ({endpoint} {q})"
        patients = _find(t, key, "patients", endpoint)
        n_pat = None if patients is None else float(patients["value"])
        if q == "median":
            m, lo, hi = r["value"], r["ci_low"], r["ci_high"]
            se = math.nan
            if lo > 0 and hi > 0 and hi > lo:
                se = (math.log(hi) - math.log(lo)) / (2 * Z95)
            elif lo > 0 and math.isnan(hi) and m > lo:
                se = (math.log(m) - math.log(lo)) / Z95
            elif lo == 0 and hi > m:
                se = (hi - m) / (Z95 * m)
                notes.append(
                    f"{where}: CI lower limit printed as 0 (a symmetric interval cut at 0); se of "
                    f"the log median from the upper half-width by the delta method = {se:.3g}"
                )
            if not se > 0:
                events = _find(t, key, "events", endpoint)
                if events is not None and events["value"] > 0:
                    se = 1 / math.sqrt(events["value"])
                    notes.append(f"{where}: no usable CI; se = 1/sqrt(events) = {se:.3g}")
                elif n_pat:
                    se = math.sqrt(2 / n_pat)
                    notes.append(
                        f"{where}: no CI and no events; se = sqrt(2 / patients) = {se:.3g} (the "
                        "n/2 events up to the median only)"
                    )
            if not se > 0:
                problems.add(
                    None,
                    "ci_low",
                    f"{where}: the median needs a CI, an events or a patients row to be weighted",
                )
                continue
            km_points.setdefault(key, []).append(
                {
                    "kind": "median",
                    "time": float(m),
                    "value": math.log(m),
                    "se": se,
                    "cumhaz": _LOG2,
                    "surv": 0.5,
                    "label": cell_label(key),
                }
            )
        elif q == "landmark":
            edge = 0.5 / n_pat if n_pat else _EDGE
            s = min(max(r["value"], edge), 1 - edge)
            lo, hi = r["ci_low"], r["ci_high"]
            lo_ok = not math.isnan(lo) and 0 < lo < 1
            hi_ok = not math.isnan(hi) and 0 < hi < 1
            if lo_ok and hi_ok and hi > lo:
                se = abs(cloglog(lo) - cloglog(hi)) / (2 * Z95)
            elif lo_ok and lo < s:
                se = abs(cloglog(lo) - cloglog(s)) / Z95
            elif hi_ok and hi > s:
                se = abs(cloglog(hi) - cloglog(s)) / Z95
            elif n_pat:
                se = math.sqrt((1 - s) / (n_pat * s)) / abs(math.log(s))
                notes.append(
                    f"{where} at {r['time']:g}: no CI; binomial se with n = {n_pat:g} patients"
                )
            else:
                problems.add(
                    None,
                    "ci_low",
                    f"{where} at {r['time']:g} months: a landmark needs a CI or a "
                    "patients row to be weighted",
                )
                continue
            km_points.setdefault(key, []).append(
                {
                    "kind": "landmark",
                    "time": float(r["time"]),
                    "value": float(cloglog(s)),
                    "se": se,
                    "cumhaz": -math.log(s),
                    "surv": s,
                    "label": f"{cell_label(key)} @ {r['time']:g}",
                }
            )
        else:
            events_rows.append((key, r, n_pat, where))
    problems.raise_if_any()

    # KM rows: medians first, then landmarks; covariance block per cell
    med = [(k, p) for k, pts in km_points.items() for p in pts if p["kind"] == "median"]
    lmk = [(k, p) for k, pts in km_points.items() for p in pts if p["kind"] == "landmark"]
    ordered = med + lmk
    cov = np.zeros((len(ordered), len(ordered)))
    for key in km_points:
        idx = [i for i, (k, _) in enumerate(ordered) if k == key]
        cov[np.ix_(idx, idx)] = _km_block([ordered[i][1] for i in idx])

    ev = {"g": [], "d": [], "n": [], "start": [], "fu": [], "label": [], "reported": []}
    for key, r, n_pat, where in events_rows:
        fu = _find(t, key, "median_followup", endpoint, study_fallback=True)
        if n_pat is None or fu is None:
            missing = " and ".join(
                x for x, v in (("patients", n_pat), ("median_followup", fu)) if v is None
            )
            notes.append(f"{where}: not used, no {missing} row")
            continue
        low, mid, high = followup_bounds(float(fu["value"]), fu["ci_low"], fu["ci_high"])
        pts = sorted(km_points.get(key, []), key=lambda p: p["time"])
        start = pts[-1]["time"] if pts else 0.0
        beyond = float(prob_followup_beyond(start, low, mid, high))
        if beyond <= 0:
            notes.append(
                f"{where}: not used, the follow-up ends before the last reported time {start:g}"
            )
            continue
        surv = [1.0] + [p["surv"] for p in pts]
        times = [0.0] + [p["time"] for p in pts]
        before = sum(
            (surv[j - 1] - surv[j])
            * float(prob_followup_beyond(0.5 * (times[j - 1] + times[j]), low, mid, high))
            for j in range(1, len(surv))
            if surv[j] < surv[j - 1]
        )
        at_risk = int(round(n_pat * surv[-1] * beyond))
        after = int(min(max(round(r["value"] - n_pat * before), 0), at_risk))
        if at_risk < 1:
            notes.append(f"{where}: not used, nobody left at risk after {start:g} months")
            continue
        ev["g"].append(cells[key])
        ev["d"].append(after)
        ev["n"].append(at_risk)
        ev["start"].append(start)
        ev["fu"].append((low, mid, high))
        ev["label"].append(cell_label(key))
        ev["reported"].append(int(r["value"]))
    return SummaryTerms(
        median_group=np.array([cells[k] for k, _ in med], dtype=np.int64),
        median_log=np.array([p["value"] for _, p in med], dtype=float),
        median_se=np.array([p["se"] for _, p in med], dtype=float),
        median_label=[p["label"] for _, p in med],
        landmark_group=np.array([cells[k] for k, _ in lmk], dtype=np.int64),
        landmark_time=np.array([p["time"] for _, p in lmk], dtype=float),
        landmark_cloglog=np.array([p["value"] for _, p in lmk], dtype=float),
        landmark_se=np.array([p["se"] for _, p in lmk], dtype=float),
        landmark_label=[p["label"] for _, p in lmk],
        km_cov=cov,
        events_group=np.asarray(ev["g"], dtype=np.int64),
        events=np.asarray(ev["d"], dtype=np.int64),
        events_patients=np.asarray(ev["n"], dtype=np.int64),
        events_start=np.asarray(ev["start"], dtype=float),
        events_followup=np.asarray(ev["fu"], dtype=float).reshape(-1, 3),
        events_label=ev["label"],
        events_reported=np.asarray(ev["reported"], dtype=np.int64),
        notes=notes,
    )


def term_means(hazard, cuts, terms: SummaryTerms, xp=np, data: dict | None = None) -> dict:
    """Model-implied means of each term given cell hazards (``(..., cells, intervals)``).

    Returns ``km`` (log medians then cloglog landmarks, per KM row) and ``event_prob`` (per
    events row: ``1 - E[S(C) / S(t_L) | C > t_L]``), rows on the last axis, as NumPy arrays or
    PyTensor tensors. ``data`` may replace the landmark times (``landmark_time``), the events'
    start (``events_start``) and follow-up bounds (``followup_low``, ``followup_median``,
    ``followup_high``) by tensors; the row-to-cell indices come from ``terms``.
    """
    data = data or {}
    axis = hazard.ndim - 2
    out = {}
    km = []
    if terms.median_group.size:
        km.append(xp.log(pwexp.median(xp.take(hazard, terms.median_group, axis=axis), cuts, xp)))
    if terms.landmark_group.size:
        times = data.get("landmark_time", terms.landmark_time)
        e = pwexp.exposure_rows(cuts, times, xp)
        km.append(xp.log(xp.sum(xp.take(hazard, terms.landmark_group, axis=axis) * e, axis=-1)))
    if km:
        out["km"] = km[0] if len(km) == 1 else xp.concatenate(km, axis=-1)
    if terms.events_group.size:
        start = data.get("events_start", terms.events_start)
        low = data.get("followup_low", terms.events_followup[:, 0])
        mid = data.get("followup_median", terms.events_followup[:, 1])
        high = data.get("followup_high", terms.events_followup[:, 2])
        rows = xp.take(hazard, terms.events_group, axis=axis)
        out["event_prob"] = 1 - pwexp.conditional_mean_survival(
            rows, cuts, start, low, mid, high, xp
        )
    return out
