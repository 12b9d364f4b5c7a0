"""Simulated patients, the summaries a paper would print about them, and digitised curves.

Used by the tests, the coverage study and the benchmark; every function takes an explicit
``numpy.random.Generator``.

Trial design of :func:`simulate_patients`: entry uniform over ``accrual`` months, analysis
``followup`` months after the last entry, so the potential follow-up (time to the data cut) is
uniform on ``[followup, followup + accrual]``; optional exponential loss to follow-up. Event times
come from a :class:`PiecewiseExponentialTruth` (optionally with a cure fraction that never has the
event) or a :class:`WeibullTruth`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from bayes_anlo.data.survival import SurvivalData, SurvivalSummaries, load_summaries
from bayes_anlo.frequentist.kaplan_meier import kaplan_meier, reverse_kaplan_meier
from bayes_anlo.survival import pwexp


@dataclass(frozen=True)
class PiecewiseExponentialTruth:
    """Piecewise-constant hazard, optionally with a cure fraction ``pi``:
    ``S(t) = pi + (1 - pi) exp(-H(t))``."""

    cuts: tuple
    hazard: tuple
    cure_fraction: float = 0.0

    def survival(self, t) -> np.ndarray:
        s = pwexp.survival(np.asarray(self.hazard, dtype=float), self.cuts, t)
        return self.cure_fraction + (1 - self.cure_fraction) * s

    def quantile(self, p: float = 0.5) -> float:
        if 1 - p <= self.cure_fraction:
            return np.inf
        q = (p) / (1 - self.cure_fraction)
        return float(pwexp.quantile_time(np.asarray(self.hazard, dtype=float), self.cuts, q))

    def median(self) -> float:
        return self.quantile(0.5)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        t = pwexp.simulate_times(rng, self.hazard, self.cuts, n)
        if self.cure_fraction > 0:
            t = np.where(rng.random(n) < self.cure_fraction, np.inf, t)
        return t


@dataclass(frozen=True)
class WeibullTruth:
    """Weibull event times: ``S(t) = exp(-(t / scale)^shape)``."""

    shape: float
    scale: float

    def survival(self, t) -> np.ndarray:
        return np.exp(-((np.asarray(t, dtype=float) / self.scale) ** self.shape))

    def quantile(self, p: float = 0.5) -> float:
        return float(self.scale * (-np.log1p(-p)) ** (1 / self.shape))

    def median(self) -> float:
        return self.quantile(0.5)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, n)


def simulate_patients(
    rng: np.random.Generator,
    n: int,
    truth,
    *,
    accrual: float = 12.0,
    followup: float = 12.0,
    dropout_rate: float = 0.0,
    study: str = "sim",
    arm: str = "",
    subgroup: str = "",
) -> SurvivalData:
    """Patients of a trial with uniform accrual and a fixed data cut (module docstring)."""
    t_event = truth.sample(rng, n)
    potential = followup + accrual * rng.random(n)
    t_out = np.minimum(t_event, potential)
    if dropout_rate > 0:
        t_out = np.minimum(t_out, rng.exponential(1 / dropout_rate, n))
    event = (t_event <= t_out).astype(np.int64)
    t_out = np.maximum(t_out, 1e-6)
    table = pd.DataFrame(
        {"study": study, "arm": arm, "subgroup": subgroup, "time": t_out, "event": event}
    )
    return SurvivalData(table, source=f"simulated n={n}")


def paper_summaries(
    data: SurvivalData,
    *,
    endpoint: str = "PFS",
    landmarks=(6.0, 12.0),
    conf_type: str = "log",
    study: str | None = None,
    arm: str = "",
) -> SurvivalSummaries:
    """The summaries a paper prints about one cohort.

    Median with the Brookmeyer-Crowley 95% CI as survfit prints it (``ci_high`` empty when not
    reached; no row when the median itself is not reached), Kaplan-Meier survival at the
    landmarks with pointwise 95% CIs (``conf_type``), events, patients, and the median follow-up by
    the reverse Kaplan-Meier method with the range (min, max) of the censored patients' times.
    """
    km = kaplan_meier(data.time, data.event, conf_type=conf_type)
    label = study or data.studies[0]
    rows = []

    def add(quantity, value, lo=np.nan, hi=np.nan, time=np.nan, unit=""):
        rows.append(
            {
                "study": label,
                "arm": arm,
                "endpoint": endpoint,
                "quantity": quantity,
                "value": value,
                "ci_low": lo,
                "ci_high": hi,
                "time": time,
                "unit": unit,
                "source": "simulated",
            }
        )

    med = km.median()
    if np.isfinite(med.estimate):
        add("median", med.estimate, med.lower, med.upper, unit="months")
    at = km.survival_at(list(landmarks))
    for _, r in at.iterrows():
        if np.isfinite(r["survival"]) and 0 < r["survival"] < 1:
            add(
                "landmark",
                r["survival"],
                r["ci_low"],
                r["ci_high"],
                time=r["time"],
                unit="proportion",
            )
    add("events", int(data.event.sum()), unit="events")
    add("patients", len(data), unit="patients")
    if (data.event == 0).any():
        fu = reverse_kaplan_meier(data.time, data.event).median().estimate
        cens = data.time[data.event == 0]
        if np.isfinite(fu):
            add("median_followup", fu, min(cens.min(), fu), max(cens.max(), fu), unit="months")
    frame = pd.DataFrame(rows)
    for col in ("value", "ci_low", "ci_high", "time"):
        frame[col] = frame[col].map(lambda v: "" if pd.isna(v) else repr(float(v)))
    return load_summaries(frame.astype(str), label=f"summaries of {data.source}")


def digitise(
    data: SurvivalData,
    *,
    risk_times,
    rng: np.random.Generator | None = None,
    survival_noise: float = 0.0,
    time_noise: float = 0.0,
    decimals: int = 3,
    study: str | None = None,
    arm: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coordinates a careful digitiser would click on the KM plot, plus the printed risk table.

    Points: the top and bottom corner of every drop and the end of the curve, survival rounded
    to ``decimals`` after adding uniform noise of half-width ``survival_noise`` (and
    ``time_noise`` to the times). Risk table: the number with time >= ``t`` at each ``risk_times``.
    """
    km = kaplan_meier(data.time, data.event)
    drop = km.n_event > 0
    t_drop = km.time[drop]
    s_after = km.survival[drop]
    s_before = np.concatenate([[1.0], km.survival])[:-1][drop]
    t = np.concatenate([t_drop, t_drop, [km.time[-1]]])
    s = np.concatenate([s_before, s_after, [km.survival[-1]]])
    if rng is not None and survival_noise > 0:
        s = s + rng.uniform(-survival_noise, survival_noise, s.size)
    if rng is not None and time_noise > 0:
        t = t + rng.uniform(-time_noise, time_noise, t.size)
    s = np.round(np.clip(s, 0, 1), decimals)
    t = np.maximum(t, 0.0)
    label = study or data.studies[0]
    coords = pd.DataFrame({"study": label, "arm": arm, "time": t, "survival": s}).sort_values(
        ["time", "survival"], ascending=[True, False], ignore_index=True
    )
    risk_times = np.asarray(risk_times, dtype=float)
    n_risk = (data.time[None, :] >= risk_times[:, None]).sum(axis=1)
    risk = pd.DataFrame({"study": label, "arm": arm, "time": risk_times, "n_risk": n_risk})
    return coords, risk


def hazard_for_median(median: float) -> float:
    """Constant hazard whose median is ``median`` (``log 2 / median``)."""
    return float(np.log(2) / median)


def weibull_for(median: float, survival_at: tuple[float, float]) -> WeibullTruth:
    """A Weibull with the given median that also passes through ``(t, S(t))``."""
    t, s = survival_at

    def gap(shape):
        scale = median / np.log(2) ** (1 / shape)
        return np.exp(-((t / scale) ** shape)) - s

    shape = optimize.brentq(gap, 0.05, 20)
    return WeibullTruth(shape, median / np.log(2) ** (1 / shape))
