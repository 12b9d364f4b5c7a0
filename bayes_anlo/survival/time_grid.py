"""Default cut points and horizon of a piecewise-exponential fit, taken from the data's follow-up.

Two rules keep a default fit from drawing the prior as if it were data:

* **every interval is informed.** Patient data (and reconstructed pseudo-patients): the candidate
  cuts 0, 3, 6, 9, 12, 18, 24 months and then every 12 months up to the last follow-up time; an
  interval with fewer than ``min_events`` pooled events is merged into its right neighbour (the
  open last interval into its left one). Published summaries: 0 and the reported landmark times
  (:func:`~bayes_anlo.survival.collapse.summary_cuts`), but a landmark time is a cut only when some
  summary speaks about a later time (a median beyond it, or a follow-up over which reported events
  count); otherwise the interval after it would be informed by the prior alone (issue 12: OS hazard
  after the 12-month landmark with 95% CrI 0.014 to 4.6 per month).
* **the horizon is the follow-up.** ``informed_until`` is the last time the data speak about: the
  longest follow-up time of the patients; for summaries the latest of the landmark times, the
  medians and the median follow-up of cells whose event counts are used (the events after the last
  Kaplan-Meier time are observed over the follow-up). The default horizon of the survival grid
  and of the restricted mean is ``informed_until`` (rounded down to 0.1 month); beyond it a curve,
  a landmark or a median is extrapolated from the last interval's hazard and is flagged as such.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from bayes_anlo.survival.collapse import DEFAULT_CUTS

#: Fewest pooled events an interval of a patient-data fit must hold (else it is merged).
MIN_EVENTS_PER_INTERVAL = 10
#: Yearly cut points after the last of DEFAULT_CUTS, up to the follow-up.
LATE_STEP = 12.0
#: A cut needs at least this much informed time (months) after it to be kept.
MIN_INFORMED_WIDTH = 0.5


class TimeGrid(NamedTuple):
    """Cut points, horizon and the last informed time (months), with how they were chosen."""

    cuts: np.ndarray
    horizon: float
    informed_until: float
    basis: str


def horizon_from(informed_until: float) -> float:
    """The default horizon: the last informed time rounded down to 0.1 month (at least 1), so
    that the default curve and restricted mean never reach past the data."""
    return float(max(1.0, math.floor(informed_until * 10 + 1e-9) / 10))


def patient_time_grid(time, event, *, min_events: int = MIN_EVENTS_PER_INTERVAL) -> TimeGrid:
    """Cut points for patient data: :data:`DEFAULT_CUTS`, then yearly, before the last follow-up
    time, with intervals of fewer than ``min_events`` pooled events merged (module docstring)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    last = float(time.max())
    candidates = list(DEFAULT_CUTS)
    while candidates[-1] + LATE_STEP < last:
        candidates.append(candidates[-1] + LATE_STEP)
    cuts = [c for c in candidates if c == 0 or c < last - MIN_INFORMED_WIDTH]
    event_times = time[event]

    def count(lo: float, hi: float) -> int:
        return int(np.sum((event_times > lo) & (event_times <= hi)))

    while len(cuts) > 1 and count(cuts[-1], np.inf) < min_events:
        cuts.pop()
    k = 0
    while k < len(cuts) - 1:
        if count(cuts[k], cuts[k + 1]) < min_events:
            del cuts[k + 1]
        else:
            k += 1
    basis = (
        f"patient data followed up to {last:.4g} months; cut points every 3 months in the first "
        f"year, then at 18, 24 and yearly, merged so each interval holds >= {min_events} events"
    )
    return TimeGrid(np.asarray(cuts, dtype=float), horizon_from(last), last, basis)


def summary_informed_until(median_months, landmark_months, followup_months) -> float:
    """The latest time published summaries speak about: landmark times, medians and the median
    follow-up of the cells whose events are used (0 when there is nothing)."""
    values = [
        np.asarray(x, dtype=float).ravel()
        for x in (median_months, landmark_months, followup_months)
    ]
    values = np.concatenate(values)
    values = values[np.isfinite(values)]
    return float(values.max()) if values.size else 0.0


def summary_time_grid(candidate_cuts, median_months, landmark_months, followup_months) -> TimeGrid:
    """Cut points for summaries: the candidate cuts (0 and the landmark times) that have informed
    time after them; horizon from :func:`summary_informed_until`."""
    informed = summary_informed_until(median_months, landmark_months, followup_months)
    cuts = [float(c) for c in candidate_cuts if c == 0 or c < informed - MIN_INFORMED_WIDTH]
    dropped = [float(c) for c in candidate_cuts if c > 0 and c >= informed - MIN_INFORMED_WIDTH]
    parts = [
        f"published summaries inform the curve up to {informed:.4g} months (latest landmark, "
        "median or median follow-up with reported events)"
    ]
    if dropped:
        parts.append(
            "no cut at "
            + ", ".join(f"{c:g}" for c in dropped)
            + " months: nothing reported after it"
        )
    return TimeGrid(
        np.asarray(cuts),
        horizon_from(informed) if informed > 0 else 12.0,
        informed,
        "; ".join(parts),
    )


def combine(patients: TimeGrid | None, summaries: TimeGrid | None) -> TimeGrid:
    """Patient data and summaries together: the patients' cuts, the later informed time."""
    grids = [g for g in (patients, summaries) if g is not None]
    if not grids:
        raise ValueError("no data to take a time grid from")
    informed = max(g.informed_until for g in grids)
    cuts = grids[0].cuts
    return TimeGrid(cuts, horizon_from(informed), informed, "; ".join(g.basis for g in grids))
