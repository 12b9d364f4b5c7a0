"""Pseudo-patient data from digitised Kaplan-Meier curves (Guyot et al. 2012).

Written from the description in Guyot P, Ades AE, Ouwens MJNM, Welton NJ. "Enhanced secondary
analysis of survival data: reconstructing the data from published Kaplan-Meier survival curves."
BMC Med Res Methodol 2012;12:9.

Inputs per curve: points ``(T_k, S_k)`` read off the plot (sorted, non-increasing, starting at
``(0, 1)``), the numbers at risk ``n_i`` at the times ``t_i`` printed under the plot (``t_0 = 0``),
and optionally the total number of events ``D``.

Algorithm, interval by interval of the risk table (``[t_i, t_{i+1})``):

1. Number censored in the interval, first guess: ``c = round(n_i S(t_{i+1}-) / S(t_i-) - n_{i+1})``
   (survivors expected without censoring minus those printed as still at risk).
2. The ``c`` censorings are spread evenly over the interval. Walking over the points of the
   interval with ``m_k`` at risk, the deaths at ``T_k`` are ``d_k = round(m_k (1 - S_k / K))``
   where ``K`` is the reconstructed KM at the last point with deaths; then ``K <- K (1 - d_k /
   m_k)`` and ``m`` drops by ``d_k`` and by the censorings up to the next point.
3. If the number left at ``t_{i+1}`` differs from ``n_{i+1}``, ``c`` is corrected by the difference
   and step 2 repeated until they agree (or no longer change; the closest is kept).

The last interval (after the last printed time) has no count at its end: the censorings there
are chosen so that the total number of deaths equals ``D`` when it is given (the censor count
is searched, deaths falling as it grows); otherwise the censoring rate per month of the earlier
intervals is assumed to continue, lowered as far as needed so that someone is still at risk at
every later fall of the curve (the rate of the busy early follow-up otherwise censors the last
few patients before their visible deaths). Patients still at risk at the end of the curve are
censored at its last time.

Fallback without a risk table (documented, as in the paper): the whole curve is one "last"
interval starting with ``n_patients``; with ``D`` the censor count matches ``D``, without it no
one is censored before the end of the curve (which overstates the number at risk late, and so the
deaths at late drops).

Flat stretches: deaths are assigned at a point only when the digitised curve has fallen more
than ``flat_tolerance`` (default 0.002, below one pixel of a typical plot) below its level at the
last point with deaths, so that noise on a plateau is not turned into deaths. Intervals where the
curve does not fall (the plateau of a cure fraction, heavy late censoring after the last drop)
therefore get censorings only: the risk table's fall is all censoring. Caveat (seen in
simulation): with hundreds at risk one death moves the curve by less than the digitisation noise,
so a late small drop may be placed a few points later, and a noisy plateau clicked densely can
still yield an odd single death; raising ``flat_tolerance`` to the noise spread removes those at
the price of delaying genuine small drops.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes_anlo.data.survival import DigitisedKM, SurvivalData, table_hash
from bayes_anlo.frequentist.kaplan_meier import kaplan_meier

_MIN_TIME = 1e-4  # months; deaths digitised at time 0 are moved here (times must be > 0)
#: Totals "contradict" a curve when the events its curve and risk table imply without them differ
#: from the given total by more than this many events and this fraction of the total (a heuristic:
#: digitisation and the censoring guess move the implied count by a few events, not by a fifth).
CONTRADICTION_EVENTS, CONTRADICTION_FRACTION = 5, 0.2
#: What each accuracy diagnostic measures (shown beside the diagnostics table in reports).
DIAGNOSTIC_DESCRIPTIONS = {
    "n_patients": "patients at the start (risk table at 0, or n_patients of the totals)",
    "events": "events of the reconstructed pseudo-patients",
    "total_events_given": "total events given in the totals file (empty: none given)",
    "events_implied": "events reconstructed from the curve and risk table alone, without the total",
    "max_events_possible": (
        "most events the curve allows: n_patients x (1 - last survival), plus the digitisation "
        "tolerance"
    ),
    "risk_table_rows": "rows of the risk table used",
    "risk_rows_past_curve": (
        "risk-table rows with patients still at risk after the end of the digitised curve (not "
        "used: the curve was cut short or the table belongs to another curve)"
    ),
    "risk_table_mismatch": "largest |reconstructed - printed| number at risk at a printed time",
    "n_points": "digitised points",
    "max_abs_diff": (
        "largest vertical distance between a digitised point and the reconstructed KM: the fit to "
        "the clicks, not the accuracy against the unknown true data"
    ),
    "rmse": "root mean square of the same distances (fit to the clicks, not to the truth)",
    "median_reconstructed": "median of the reconstructed KM (months)",
    "median_printed": "median printed in the paper, when given",
    "median_diff": "reconstructed minus printed median",
}


class ReconstructionWarning(UserWarning):
    """A reconstruction did not honour its inputs: event total not matched, totals that contradict
    the curve, or risk-table rows past the end of the curve."""


@dataclass(frozen=True)
class CurveFit:
    """Reconstructed pseudo-patients of one curve with accuracy diagnostics."""

    time: np.ndarray
    event: np.ndarray
    diagnostics: dict


def _walk(t_pts, s_pts, n_start, km_start, cens_times, end_time, flat_tolerance):
    """Step 2 for one interval: deaths at each point given censoring times.

    ``km_start`` is (reconstructed KM, digitised level) at the last point with deaths; a point
    gets deaths only when the digitised curve has fallen more than ``flat_tolerance`` below that
    level. Returns (number left, deaths per point, new km state, censor times applied, number of
    falls met with nobody left at risk)."""
    m = n_start
    km, level = km_start
    deaths = np.zeros(t_pts.size, dtype=np.int64)
    applied = []
    bounds = np.append(t_pts[1:], end_time)
    cens_times = np.sort(cens_times)
    missed = 0
    for k in range(t_pts.size):
        if m == 0 and level - s_pts[k] > flat_tolerance:
            missed += 1
        if m > 0 and km > 0 and level - s_pts[k] > flat_tolerance:
            d = int(np.floor(m * (1.0 - s_pts[k] / km) + 0.5))
            d = min(max(d, 0), m)
            if d > 0:
                deaths[k] = d
                km *= 1.0 - d / m
                level = s_pts[k]
                m -= d
        lo = np.searchsorted(cens_times, t_pts[k], side="left")
        hi = np.searchsorted(cens_times, bounds[k], side="left")
        if k == t_pts.size - 1:
            hi = cens_times.size
        c = min(hi - lo, m)
        applied.extend(cens_times[lo : lo + c])
        m -= c
    return m, deaths, (km, level), np.asarray(applied, dtype=float), missed


def _spread(c: int, start: float, end: float) -> np.ndarray:
    return start + (end - start) * np.arange(1, c + 1) / (c + 1)


def reconstruct_curve(
    time,
    survival,
    risk_time=None,
    n_risk=None,
    *,
    total_events: int | None = None,
    n_patients: int | None = None,
    flat_tolerance: float = 0.002,
) -> CurveFit:
    """Guyot reconstruction of one curve (see module docstring).

    Parameters
    ----------
    time, survival : arrays
        Digitised points, survival as proportions (non-increasing after sorting by time).
    risk_time, n_risk : arrays, optional
        Numbers at risk; the first time must be 0.
    total_events : int, optional
        Total number of events of the curve.
    n_patients : int, optional
        Patients at the start; needed without a risk table.
    flat_tolerance : float
        Falls up to this size below the reconstructed level are noise, not deaths.
    """
    t = np.asarray(time, dtype=float)
    s = np.asarray(survival, dtype=float)
    order = np.lexsort((-s, t))
    t, s = t[order], s[order]
    original = np.ones(t.size, dtype=bool)
    if t[0] > 0 or s[0] < 1:  # the origin is not a digitised point
        t, s = np.concatenate([[0.0], t]), np.concatenate([[1.0], s])
        original = np.concatenate([[False], original])
    s = np.minimum.accumulate(np.clip(s, 0, 1))
    end_time = float(t[-1])
    past_times = np.zeros(0)
    if risk_time is None or len(risk_time) == 0:
        if n_patients is None:
            raise ValueError("without a risk table n_patients is needed")
        r_t, r_n = np.array([0.0]), np.array([int(n_patients)])
    else:
        r_t = np.asarray(risk_time, dtype=float)
        r_n = np.asarray(n_risk, dtype=np.int64)
        if r_t[0] != 0:
            raise ValueError("the risk table must start at time 0")
        if n_patients is not None and int(n_patients) != int(r_n[0]):
            raise ValueError("n_patients differs from the number at risk at time 0")
        keep = r_t <= end_time
        past_times = r_t[
            ~keep & (r_n > 0)
        ]  # rows printing 0 at risk after the curve's end are consistent
        r_t, r_n = r_t[keep], r_n[keep]
    # a point at each printed time carrying the level just before it (sorted before any drop there)
    ins_t, ins_s = [], []
    for ti in r_t[1:]:
        before = s[t < ti]
        ins_t.append(ti)
        ins_s.append(before[-1] if before.size else 1.0)
    if ins_t:
        t = np.concatenate([t, ins_t])
        s = np.concatenate([s, ins_s])
        original = np.concatenate([original, np.zeros(len(ins_t), dtype=bool)])
        order = np.lexsort((-s, t))
        t, s, original = t[order], s[order], original[order]

    n_int = r_t.size
    deaths = np.zeros(t.size, dtype=np.int64)
    censor_times: list[np.ndarray] = []
    km = (1.0, 1.0)  # reconstructed KM and digitised level at the last deaths
    m = int(r_n[0])
    censored_before = 0
    mismatch = 0
    for i in range(n_int):
        start = r_t[i]
        last = i == n_int - 1
        stop = end_time if last else r_t[i + 1]
        idx = np.nonzero((t >= start) & ((t <= stop) if last else (t < stop)))[0]
        tp, sp = t[idx], s[idx]
        if last:
            if total_events is not None:
                target = int(total_events) - int(deaths.sum())

                def run(c, tp=tp, sp=sp, start=start, stop=stop, m=m, km=km):
                    return _walk(tp, sp, m, km, _spread(c, start, stop), stop, flat_tolerance)

                lo_c, hi_c = 0, m
                if run(0)[1].sum() <= target:
                    c = 0
                else:  # smallest c with deaths(c) <= target, then the closer of c - 1 and c
                    while lo_c < hi_c:
                        mid = (lo_c + hi_c) // 2
                        if run(mid)[1].sum() <= target:
                            hi_c = mid
                        else:
                            lo_c = mid + 1
                    c = lo_c
                    if c > 0 and abs(run(c - 1)[1].sum() - target) < abs(run(c)[1].sum() - target):
                        c -= 1
            else:
                rate = censored_before / start if start > 0 else 0.0
                c = min(int(np.floor(rate * (stop - start) + 0.5)), m)
                # fewer censorings if the assumed rate leaves nobody at risk for a later fall
                if c > 0 and _walk(tp, sp, m, km, _spread(c, start, stop), stop, flat_tolerance)[4]:
                    lo_c, hi_c = 0, c
                    while lo_c < hi_c:  # largest c without missed falls
                        mid = (lo_c + hi_c + 1) // 2
                        if _walk(tp, sp, m, km, _spread(mid, start, stop), stop, flat_tolerance)[4]:
                            hi_c = mid - 1
                        else:
                            lo_c = mid
                    c = lo_c
            m_end, d, km, applied, _ = _walk(
                tp, sp, m, km, _spread(c, start, stop), stop, flat_tolerance
            )
        else:
            n_next = int(r_n[i + 1])
            s_from = sp[0] if sp.size else 1.0
            s_to = s[np.nonzero(t >= stop)[0][0]]
            ratio = s_to / s_from if s_from > 0 else 0.0
            c = int(np.floor(m * ratio - n_next + 0.5))
            c = min(max(c, 0), max(m - n_next, 0))
            tried: dict[int, tuple] = {}
            for _ in range(100):
                result = _walk(tp, sp, m, km, _spread(c, start, stop), stop, flat_tolerance)
                tried[c] = result
                diff = result[0] - n_next
                if diff == 0:
                    break
                c_new = min(max(c + diff, 0), m)
                if c_new in tried:
                    break
                c = c_new
            c = min(tried, key=lambda x: (abs(tried[x][0] - n_next), x))
            m_end, d, km, applied, _ = tried[c]
            mismatch = max(mismatch, abs(m_end - n_next))
            censored_before += applied.size
        deaths[idx] += d
        censor_times.append(applied)
        m = m_end
    censor_all = np.concatenate(censor_times + [np.full(m, end_time)])
    death_times = np.repeat(t, deaths)
    times = np.maximum(np.concatenate([death_times, censor_all]), _MIN_TIME)
    events = np.concatenate(
        [np.ones(death_times.size, dtype=np.int64), np.zeros(censor_all.size, dtype=np.int64)]
    )
    order = np.argsort(times, kind="stable")
    times, events = times[order], events[order]

    km_fit = kaplan_meier(times, events)
    t_orig, s_orig = t[original], s[original]
    right = km_fit.step(t_orig)
    left = km_fit.step(np.nextafter(t_orig, -np.inf))
    dist = np.maximum.reduce([np.zeros_like(s_orig), s_orig - left, right - s_orig])
    n0 = int(r_n[0])
    diagnostics = {
        "n_patients": n0,
        "events": int(events.sum()),
        "total_events_given": np.nan if total_events is None else int(total_events),
        "events_implied": np.nan,
        "max_events_possible": int(math.floor(n0 * (1 - s[-1] + 0.01) + 1e-9)),
        "risk_table_rows": int(n_int if risk_time is not None and len(risk_time) else 0),
        "risk_rows_past_curve": int(past_times.size),
        "risk_times_past_curve": [float(x) for x in past_times],
        "end_time": end_time,
        "risk_table_mismatch": int(mismatch),
        "n_points": int(original.sum()),
        "max_abs_diff": float(dist.max()),
        "rmse": float(np.sqrt(np.mean(dist**2))),
        "median_reconstructed": km_fit.median().estimate,
    }
    if total_events is not None:
        implied = reconstruct_curve(
            time,
            survival,
            risk_time,
            n_risk,
            total_events=None,
            n_patients=n_patients,
            flat_tolerance=flat_tolerance,
        )
        diagnostics["events_implied"] = implied.diagnostics["events"]
    return CurveFit(times, events, diagnostics)


def reconstruction_warnings(label: str, diagnostics: dict) -> list[str]:
    """Sentences for what a curve's reconstruction could not honour (empty when all is well):

    * the reconstructed events differ from the given total (short of it, or above it);
    * the given total contradicts the curve: above the most events the curve allows, or far
      (:data:`CONTRADICTION_EVENTS` and :data:`CONTRADICTION_FRACTION`) from the events the curve
      and risk table imply without it;
    * risk-table rows with patients at risk lie past the end of the digitised curve (not used).
    """
    out = []
    given = diagnostics.get("total_events_given")
    events = diagnostics["events"]
    if given is not None and not (isinstance(given, float) and math.isnan(given)):
        given = int(given)
        implied = diagnostics.get("events_implied")
        most = diagnostics.get("max_events_possible")
        if most is not None and given > most:
            out.append(
                f"{label}: the totals give {given} events but the curve allows at most {most} "
                f"({diagnostics['n_patients']} patients, falling to its last level); the totals "
                "contradict the curve"
            )
        elif (
            implied is not None
            and not (isinstance(implied, float) and math.isnan(implied))
            and abs(int(implied) - given)
            > max(CONTRADICTION_EVENTS, CONTRADICTION_FRACTION * given)
        ):
            out.append(
                f"{label}: the totals give {given} events but the curve and risk table imply "
                f"{int(implied)}; the totals contradict the curve (check that they describe the "
                "same endpoint and arm)"
            )
        if events != given:
            gap = given - events
            what = f"{gap} short of" if gap > 0 else f"{-gap} more than"
            out.append(
                f"{label}: the reconstruction has {events} events, {what} the {given} given in the "
                "totals"
            )
    past = diagnostics.get("risk_times_past_curve") or []
    if past:
        out.append(
            f"{label}: {len(past)} risk-table row(s) at {', '.join(f'{t:g}' for t in past)} "
            "months, with patients still at risk, lie past the end of the digitised curve "
            f"({diagnostics['end_time']:g} months) and were not used"
        )
    return out


@dataclass(frozen=True)
class Reconstruction:
    """Pseudo-patient data of every digitised curve, with per-curve accuracy diagnostics.

    Attributes
    ----------
    ipd : SurvivalData
        ``study, arm, subgroup, time, event`` pseudo-patients (usable wherever patient data are).
    diagnostics : DataFrame
        One row per curve: ``n_patients, events, total_events_given, risk_table_rows,
        risk_table_mismatch`` (largest |reconstructed - printed| number at risk), ``n_points``,
        ``max_abs_diff`` and ``rmse`` (vertical distance of each digitised point from the
        reconstructed KM step curve, whose vertical segments count as part of the curve),
        ``median_reconstructed``, ``median_printed``, ``median_diff``.
    """

    ipd: SurvivalData
    diagnostics: pd.DataFrame
    source: str = "<digitised>"
    sha256: str = field(default="")
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.sha256:
            object.__setattr__(self, "sha256", self.ipd.sha256)

    def to_frame(self) -> pd.DataFrame:
        return self.diagnostics.copy()


def reconstruct(
    km: DigitisedKM, *, printed_medians: dict | None = None, flat_tolerance: float = 0.002
) -> Reconstruction:
    """Reconstruct pseudo-patients for every curve of a :class:`DigitisedKM`.

    Parameters
    ----------
    km : DigitisedKM
        From :func:`bayes_anlo.data.survival.load_digitised_km`.
    printed_medians : dict, optional
        ``{(study, arm): median}`` as printed in the paper, compared with the reconstructed median.
    flat_tolerance : float
        See the module docstring.
    """
    printed_medians = printed_medians or {}
    frames, rows, messages = [], [], []
    for study, arm in km.curves:
        curve = km.curve(study, arm)
        fit = reconstruct_curve(
            curve["time"],
            curve["survival"],
            curve["risk_time"],
            curve["n_risk"],
            total_events=curve["total_events"],
            n_patients=curve["n_patients"],
            flat_tolerance=flat_tolerance,
        )
        frames.append(
            pd.DataFrame(
                {"study": study, "arm": arm, "subgroup": "", "time": fit.time, "event": fit.event}
            )
        )
        printed = printed_medians.get((study, arm), np.nan)
        messages.extend(reconstruction_warnings(f"curve {study}/{arm or '-'}", fit.diagnostics))
        diag = {
            k: v
            for k, v in fit.diagnostics.items()
            if k not in ("risk_times_past_curve", "end_time")
        }
        rows.append(
            {
                "study": study,
                "arm": arm,
                **diag,
                "median_printed": printed,
                "median_diff": fit.diagnostics["median_reconstructed"] - printed,
            }
        )
    for message in messages:
        warnings.warn(message, ReconstructionWarning, stacklevel=2)
    table = pd.concat(frames, ignore_index=True)
    ipd = SurvivalData(table, source=f"reconstructed from {km.source}", sha256=table_hash(table))
    return Reconstruction(
        ipd, pd.DataFrame(rows), source=ipd.source, sha256=ipd.sha256, warnings=tuple(messages)
    )
