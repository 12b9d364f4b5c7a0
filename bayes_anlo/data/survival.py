"""Time-to-event inputs: patient data, digitised Kaplan-Meier curves and published summaries.

Three documented CSV formats, each with one validating loader. Every bad cell of a file is
reported at once as ``file:row:column: message`` (rows as an editor shows them, header = row 1).
Times are in **months** throughout the package (1 month = 365.25 / 12 days).

Individual patient data (:func:`load_survival` -> :class:`SurvivalData`)::

    study,time,event[,arm,subgroup,...]

* ``time``  follow-up in months, > 0
* ``event`` 1 = event (progression or death), 0 = censored

Digitised Kaplan-Meier curve (:func:`load_digitised_km` -> :class:`DigitisedKM`)::

    coordinates:   study,arm,time,survival          (one row per clicked point; arm may be empty)
    risk table:    study,arm,time,n_risk            (optional; the numbers printed under the plot)
    totals:        study,arm,total_events[,n_patients]   (optional)

``survival`` is a proportion in [0, 1] or a percentage in [0, 100] (``scale="fraction"`` /
``"percent"``, or ``"auto"``: percent when any value exceeds 1.5). A Kaplan-Meier curve cannot rise:
after sorting each curve by time, a point that lies above the lowest earlier point by at most
``tolerance`` (default 0.01 on the proportion scale) is digitisation noise and is lowered to that
level; a larger rise is an error naming both rows, unless ``on_rise="monotonise"`` (then it is
lowered too, with a warning). A point ``(0, 1)`` is added to each curve that lacks one.

Published summaries (:func:`load_summaries` -> :class:`SurvivalSummaries`)::

    study,arm,endpoint,quantity,value,ci_low,ci_high,time,unit,source[,subgroup,...]

* ``endpoint`` ``PFS`` or ``OS``; may be empty for ``patients`` and ``median_followup`` rows,
  which then apply to every endpoint of the study and arm.
* ``quantity`` one of

  - ``median``           median survival; ``ci_low``/``ci_high`` its confidence interval
    (``ci_high`` may be empty when the paper prints "not reached"); unit months/weeks/days/years
  - ``landmark``         survival probability at ``time`` months; unit ``%`` (or ``percent``) or
    ``proportion`` (empty = proportion); CI optional
  - ``events``           number of patients with the event (whole number)
  - ``patients``         number of patients analysed (whole number >= 1)
  - ``median_followup``  median follow-up; ``ci_low``/``ci_high`` hold the printed *range*
    (minimum, maximum) when there is one

* ``time`` only for landmark rows (months, > 0); ``source`` where the number was read.

Checks: the CI must contain the estimate, landmarks lie in [0, 1] and do not rise with time
(within a study, arm, subgroup and endpoint), times and medians are > 0, events do not exceed
patients, and a (study, arm, subgroup, endpoint, quantity, time) key appears once. Values in
weeks, days or years are converted to months.

Limits (refused with a located message): patient data up to two million rows
(:data:`bayes_anlo.data.csv_reader.MAX_ROWS`; the piecewise-exponential model collapses patients to
events and exposure, so its cost does not grow with them); digitised coordinates up to
:data:`MAX_KM_POINTS` (50,000: a curve is digitised with tens to hundreds of points), risk tables
and totals up to :data:`MAX_TABLE_ROWS` and summaries up to :data:`MAX_TABLE_ROWS` rows (10,000);
numbers of magnitude at most 1e9 and counts of at most ten million; the file-level limits
(regular files, size, characters, quoting) are those of :mod:`bayes_anlo.data.csv_reader`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_anlo.data._table import HashedTable, table_hash
from bayes_anlo.data.csv_reader import (
    parse_count,
    parse_float,
    read_text_table,
    require_text,
    row_number,
    rows_matching,
)
from bayes_anlo.errors import InputError, Problem, ProblemCollector

DAYS_PER_MONTH = 365.25 / 12
#: Factors converting a duration unit to months.
MONTHS_PER_UNIT = {
    "": 1.0,
    "month": 1.0,
    "months": 1.0,
    "mo": 1.0,
    "week": 7 / DAYS_PER_MONTH,
    "weeks": 7 / DAYS_PER_MONTH,
    "wk": 7 / DAYS_PER_MONTH,
    "day": 1 / DAYS_PER_MONTH,
    "days": 1 / DAYS_PER_MONTH,
    "year": 12.0,
    "years": 12.0,
    "yr": 12.0,
}
PROPORTION_UNITS = {"": 1.0, "proportion": 1.0, "fraction": 1.0, "%": 0.01, "percent": 0.01}
COUNT_UNITS = {"", "patients", "events", "n", "count"}
QUANTITIES = ("median", "landmark", "events", "patients", "median_followup")
ENDPOINTS = ("PFS", "OS")
GROUP_COLUMNS = ["study", "arm", "subgroup"]
#: Most rows of a digitised-coordinates file, and of a risk table, totals or summaries file.
MAX_KM_POINTS = 50_000
MAX_TABLE_ROWS = 10_000


def _fill_optional(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    table = table.copy()
    for column in columns:
        if column not in table.columns:
            table[column] = ""
    return table


def _order(table: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    return table[first + [c for c in table.columns if c not in first]]


# ------------------------------------------------------------------------------------------
# individual patient data
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SurvivalData(HashedTable):
    """Validated individual (or reconstructed pseudo-individual) time-to-event data.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per patient: ``study, arm, subgroup`` (strings, empty where absent), ``time``
        (float, months, > 0), ``event`` (int 0/1), extra columns kept.
    source : str
        File path or dataset name.
    sha256 : str
        Hash of the validated table, recorded in every run.
    """

    @property
    def time(self) -> np.ndarray:
        return self.table["time"].to_numpy(dtype=float)

    @property
    def event(self) -> np.ndarray:
        return self.table["event"].to_numpy(dtype=np.int64)

    @property
    def arms(self) -> list[str]:
        return list(dict.fromkeys(self.table["arm"]))

    @property
    def subgroups(self) -> list[str]:
        return list(dict.fromkeys(self.table["subgroup"]))

    def select(self, **equals: str | list[str]) -> SurvivalData:
        """Patients whose columns equal the given values (a value or a list of values)."""
        mask = rows_matching(self.table, equals, self.source)
        if not mask.any():
            raise InputError(f"no patients match {equals}", file=self.source)
        return SurvivalData(self.table[mask].reset_index(drop=True), source=self.source)

    @classmethod
    def from_arrays(
        cls,
        time,
        event,
        *,
        study: str | list[str] = "study",
        arm: str | list[str] = "",
        subgroup: str | list[str] = "",
        source: str = "<arrays>",
    ) -> SurvivalData:
        """Build from arrays (validated with the same rules as :func:`load_survival`)."""
        time = np.asarray(time, dtype=float)
        frame = pd.DataFrame(
            {
                "study": study,
                "arm": arm,
                "subgroup": subgroup,
                "time": time,
                "event": np.asarray(event),
            },
            index=range(len(time)),
        )
        return load_survival(frame, label=source)


def load_survival(source: str | Path | pd.DataFrame, *, label: str | None = None) -> SurvivalData:
    """Load and validate individual patient data (``study, time, event[, arm, subgroup]``).

    Every bad cell is collected and raised together as one :class:`InputError`.
    """
    raw, name = read_text_table(source, ["study", "time", "event"], label=label)
    problems = ProblemCollector(name)
    require_text(raw, "study", problems)
    time = parse_float(raw, "time", problems)
    for i, value in enumerate(time):
        if not math.isnan(value) and value <= 0:
            problems.add(
                row_number(i, raw),
                "time",
                f"{raw['time'].iloc[i]!r} is not > 0; times are months since start",
            )
    event = parse_count(raw, "event", problems)
    for i, value in enumerate(event):
        if value is not pd.NA and value not in (0, 1):
            problems.add(
                row_number(i, raw),
                "event",
                f"{raw['event'].iloc[i]!r} is not 0 or 1 (1 = event, 0 = censored)",
            )
    problems.raise_if_any()
    table = _fill_optional(raw, ["arm", "subgroup"])
    table.attrs.clear()  # row numbers were only needed for the messages
    table["time"] = time.to_numpy(dtype=float)
    table["event"] = event.astype(np.int64).to_numpy()
    return SurvivalData(_order(table, GROUP_COLUMNS + ["time", "event"]), source=name)


# ------------------------------------------------------------------------------------------
# digitised Kaplan-Meier curves
# ------------------------------------------------------------------------------------------
class RisingCurveWarning(UserWarning):
    """A digitised curve rose by more than the tolerance and was lowered
    (``on_rise="monotonise"``)."""


@dataclass(frozen=True)
class DigitisedKM:
    """Digitised Kaplan-Meier coordinates with optional numbers at risk and totals.

    Attributes
    ----------
    coordinates : DataFrame
        ``study, arm, time, survival, row``: per curve sorted by time (ties by decreasing
        survival), survival a non-increasing proportion starting at ``(0, 1)``; ``row`` is the CSV
        row the point came from (0 for an added origin).
    risk_table : DataFrame
        ``study, arm, time, n_risk`` (possibly empty), sorted by time.
    totals : DataFrame
        ``study, arm, total_events, n_patients`` (nullable integers; possibly empty).
    """

    coordinates: pd.DataFrame
    risk_table: pd.DataFrame
    totals: pd.DataFrame
    source: str = "<DataFrame>"
    sha256: str = field(default="")

    def __post_init__(self):
        if not self.sha256:
            object.__setattr__(
                self, "sha256", table_hash(self.coordinates, self.risk_table, self.totals)
            )

    @property
    def curves(self) -> list[tuple[str, str]]:
        """The (study, arm) pairs, in order of first appearance."""
        return list(
            dict.fromkeys(zip(self.coordinates["study"], self.coordinates["arm"], strict=True))
        )

    def curve(self, study: str, arm: str = "") -> dict:
        """Arrays for one curve: ``time, survival, risk_time, n_risk, total_events, n_patients``."""
        if (study, arm) not in self.curves:
            raise InputError(
                f"no digitised curve for study={study!r} arm={arm!r}", file=self.source
            )
        c = self.coordinates[
            (self.coordinates["study"] == study) & (self.coordinates["arm"] == arm)
        ]
        r = self.risk_table[(self.risk_table["study"] == study) & (self.risk_table["arm"] == arm)]
        t = self.totals[(self.totals["study"] == study) & (self.totals["arm"] == arm)]
        total_events = n_patients = None
        if len(t):
            if t["total_events"].iloc[0] is not pd.NA:
                total_events = int(t["total_events"].iloc[0])
            if t["n_patients"].iloc[0] is not pd.NA:
                n_patients = int(t["n_patients"].iloc[0])
        return {
            "time": c["time"].to_numpy(dtype=float),
            "survival": c["survival"].to_numpy(dtype=float),
            "risk_time": r["time"].to_numpy(dtype=float),
            "n_risk": r["n_risk"].to_numpy(dtype=np.int64),
            "total_events": total_events,
            "n_patients": n_patients,
        }

    def to_frame(self) -> pd.DataFrame:
        return self.coordinates.copy()


def _load_coordinates(
    source, label, scale: str, on_rise: str, tolerance: float
) -> tuple[pd.DataFrame, str]:
    raw, name = read_text_table(
        source, ["study", "arm", "time", "survival"], label=label, max_rows=MAX_KM_POINTS
    )
    problems = ProblemCollector(name)
    require_text(raw, "study", problems)
    time = parse_float(raw, "time", problems, minimum=0.0)
    surv = parse_float(raw, "survival", problems)
    problems.raise_if_any()
    if scale == "auto":
        scale = "percent" if np.nanmax(surv.to_numpy()) > 1.5 else "fraction"
    factor = 0.01 if scale == "percent" else 1.0
    upper = 1 + tolerance
    for i, value in enumerate(surv):
        p = value * factor
        if p < -tolerance or p > upper:
            shown = "[0, 100]" if scale == "percent" else "[0, 1]"
            problems.add(
                row_number(i, raw),
                "survival",
                f"{raw['survival'].iloc[i]!r} is outside {shown} (scale={scale})",
            )
    problems.raise_if_any()
    table = pd.DataFrame(
        {
            "study": raw["study"],
            "arm": raw["arm"],
            "time": time.to_numpy(),
            "survival": np.clip(surv.to_numpy() * factor, 0.0, 1.0),
            "row": [row_number(i, raw) for i in range(len(raw))],
        }
    )
    pieces = []
    rises = []
    for (study, arm), curve in table.groupby(["study", "arm"], sort=False):
        curve = curve.sort_values(["time", "survival"], ascending=[True, False], kind="stable")
        if curve["time"].iloc[0] > 0 or curve["survival"].iloc[0] < 1:
            origin = pd.DataFrame(
                {"study": [study], "arm": [arm], "time": [0.0], "survival": [1.0], "row": [0]}
            )
            curve = pd.concat([origin, curve], ignore_index=True)
        s = curve["survival"].to_numpy().copy()
        rows = curve["row"].to_numpy()
        low, low_row = s[0], rows[0]
        for k in range(1, len(s)):
            if s[k] > low + tolerance:
                rises.append((rows[k], low_row, low, s[k], study, arm))
            if s[k] > low:
                s[k] = low
            else:
                low, low_row = s[k], rows[k]
        curve = curve.assign(survival=s)
        pieces.append(curve)
    if rises and on_rise == "error":
        for row, low_row, low, value, study, arm in rises:
            where = "the added origin" if low_row == 0 else f"row {low_row}"
            problems.add(
                row,
                "survival",
                f"curve {study}/{arm or '-'} rises to {value:.4g} after falling to {low:.4g} "
                f"({where}); more than the digitisation tolerance {tolerance:g}. Re-digitise, "
                "or pass on_rise='monotonise' to lower it",
            )
        problems.raise_if_any()
    if rises:
        warnings.warn(
            f"{name}: {len(rises)} point(s) rising more than {tolerance:g} were lowered to the "
            f"preceding level (rows {', '.join(str(r[0]) for r in rises)})",
            RisingCurveWarning,
            stacklevel=3,
        )
    return pd.concat(pieces, ignore_index=True), name


def _load_risk_table(source, label) -> tuple[pd.DataFrame, str]:
    raw, name = read_text_table(
        source, ["study", "arm", "time", "n_risk"], label=label, max_rows=MAX_TABLE_ROWS
    )
    problems = ProblemCollector(name)
    require_text(raw, "study", problems)
    time = parse_float(raw, "time", problems, minimum=0.0)
    n_risk = parse_count(raw, "n_risk", problems)
    problems.raise_if_any()
    table = pd.DataFrame(
        {
            "study": raw["study"],
            "arm": raw["arm"],
            "time": time.to_numpy(),
            "n_risk": n_risk.astype(np.int64).to_numpy(),
            "row": [row_number(i, raw) for i in range(len(raw))],
        }
    )
    pieces = []
    for (study, arm), part in table.groupby(["study", "arm"], sort=False):
        part = part.sort_values("time", kind="stable")
        t, n, rows = part["time"].to_numpy(), part["n_risk"].to_numpy(), part["row"].to_numpy()
        if t[0] != 0:
            problems.add(
                rows[0],
                "time",
                f"risk table of {study}/{arm or '-'} does not start at time 0 "
                "(the number of patients at the start is needed)",
            )
        for k in range(1, len(t)):
            if t[k] == t[k - 1]:
                problems.add(
                    rows[k],
                    "time",
                    f"time {t[k]:g} appears twice for {study}/{arm or '-'} (row {rows[k - 1]})",
                )
            elif n[k] > n[k - 1]:
                problems.add(
                    rows[k],
                    "n_risk",
                    f"number at risk rises from {n[k - 1]} (time {t[k - 1]:g}, row "
                    f"{rows[k - 1]}) to {n[k]}; it can only fall",
                )
        pieces.append(part)
    problems.raise_if_any()
    return pd.concat(pieces, ignore_index=True).drop(columns="row"), name


def _load_totals(source, label) -> tuple[pd.DataFrame, str]:
    raw, name = read_text_table(
        source, ["study", "arm", "total_events"], label=label, max_rows=MAX_TABLE_ROWS
    )
    problems = ProblemCollector(name)
    require_text(raw, "study", problems)
    events = parse_count(raw, "total_events", problems, allow_missing=True)
    raw = _fill_optional(raw, ["n_patients"])
    n = parse_count(raw, "n_patients", problems, allow_missing=True, positive=True)
    for i in range(len(raw)):
        if events.iloc[i] is not pd.NA and n.iloc[i] is not pd.NA and events.iloc[i] > n.iloc[i]:
            problems.add(
                row_number(i, raw),
                "total_events",
                f"total events ({events.iloc[i]}) exceed n_patients ({n.iloc[i]})",
            )
    keys = list(zip(raw["study"], raw["arm"], strict=True))
    for i, key in enumerate(keys):
        if key in keys[:i]:
            problems.add(row_number(i, raw), "study", f"{key[0]}/{key[1] or '-'} appears twice")
    problems.raise_if_any()
    return pd.DataFrame(
        {"study": raw["study"], "arm": raw["arm"], "total_events": events, "n_patients": n}
    ), name


def load_digitised_km(
    coordinates,
    risk_table=None,
    totals=None,
    *,
    scale: str = "auto",
    on_rise: str = "error",
    tolerance: float = 0.01,
    label: str | None = None,
) -> DigitisedKM:
    """Load digitised Kaplan-Meier coordinates with an optional risk table and totals.

    Parameters
    ----------
    coordinates, risk_table, totals : path or DataFrame
        The three CSV formats of this module's docstring (risk table and totals optional).
    scale : {"auto", "fraction", "percent"}
        Scale of the ``survival`` column; ``"auto"`` detects percent when any value exceeds 1.5.
    on_rise : {"error", "monotonise"}
        What to do with a point lying more than ``tolerance`` above an earlier point of its curve.
    tolerance : float
        Rises up to this size (proportion scale) are digitisation noise, lowered silently.

    Each curve must have either a risk table or ``n_patients`` in the totals (the Guyot
    reconstruction needs the number at the start); ``n_risk`` at time 0 must equal
    ``n_patients`` when both are given.
    """
    if scale not in ("auto", "fraction", "percent"):
        raise ValueError("scale must be 'auto', 'fraction' or 'percent'")
    if on_rise not in ("error", "monotonise"):
        raise ValueError("on_rise must be 'error' or 'monotonise'")
    if not 0 <= tolerance < 0.5:
        raise ValueError("tolerance must lie in [0, 0.5)")
    coords, name = _load_coordinates(coordinates, label, scale, on_rise, tolerance)
    empty_risk = pd.DataFrame(
        {
            "study": pd.Series(dtype=str),
            "arm": pd.Series(dtype=str),
            "time": pd.Series(dtype=float),
            "n_risk": pd.Series(dtype=np.int64),
        }
    )
    empty_totals = pd.DataFrame(
        {
            "study": pd.Series(dtype=str),
            "arm": pd.Series(dtype=str),
            "total_events": pd.Series(dtype="Int64"),
            "n_patients": pd.Series(dtype="Int64"),
        }
    )
    risk, risk_name = (
        (empty_risk, None) if risk_table is None else _load_risk_table(risk_table, None)
    )
    tot, tot_name = (empty_totals, None) if totals is None else _load_totals(totals, None)
    curves = set(zip(coords["study"], coords["arm"], strict=True))
    problems = []
    for table, tname in ((risk, risk_name), (tot, tot_name)):
        if tname is None:
            continue
        collector = ProblemCollector(tname)
        seen = set()
        for key in zip(table["study"], table["arm"], strict=True):
            if key not in curves and key not in seen:
                collector.add(
                    None,
                    "study",
                    f"{key[0]}/{key[1] or '-'} has no digitised coordinates in {name}",
                )
            seen.add(key)
        problems.extend(collector.problems)
    collector = ProblemCollector(name)
    for study, arm in dict.fromkeys(zip(coords["study"], coords["arm"], strict=True)):
        rows = coords.loc[
            (coords["study"] == study) & (coords["arm"] == arm) & (coords["row"] > 0), "row"
        ]
        first = (
            int(rows.min()) if len(rows) else None
        )  # the curve's first row in the coordinates file
        r = risk[(risk["study"] == study) & (risk["arm"] == arm)]
        t = tot[(tot["study"] == study) & (tot["arm"] == arm)]
        n_pat = t["n_patients"].iloc[0] if len(t) else pd.NA
        if r.empty and n_pat is pd.NA:
            collector.add(
                first,
                "study",
                f"curve {study}/{arm or '-'} has neither a risk table nor n_patients "
                "in the totals; the number of patients at the start is needed",
            )
        if len(r) and n_pat is not pd.NA and int(r["n_risk"].iloc[0]) != int(n_pat):
            collector.add(
                first,
                "study",
                f"curve {study}/{arm or '-'}: n_risk at time 0 ({int(r['n_risk'].iloc[0])}) "
                f"differs from n_patients ({int(n_pat)})",
            )
        ev = t["total_events"].iloc[0] if len(t) else pd.NA
        n0 = int(r["n_risk"].iloc[0]) if len(r) else (None if n_pat is pd.NA else int(n_pat))
        if ev is not pd.NA and n0 is not None and ev > n0:
            collector.add(
                first,
                "study",
                f"curve {study}/{arm or '-'}: total events ({ev}) exceed the {n0} patients",
            )
    problems.extend(collector.problems)
    if problems:
        raise InputError(problems)
    return DigitisedKM(coords, risk, tot, source=name)


# ------------------------------------------------------------------------------------------
# published summaries
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SurvivalSummaries(HashedTable):
    """Validated published survival summaries (medians, landmarks, counts, follow-up).

    Attributes
    ----------
    table : DataFrame
        ``study, arm, subgroup, endpoint, quantity, value, ci_low, ci_high, time, unit, source``
        with durations converted to months (``unit == "months"``), landmarks to proportions
        (``unit == "proportion"``), counts as floats holding whole numbers (``unit == "count"``);
        empty CI cells and times are NaN.
    """

    @property
    def endpoints(self) -> list[str]:
        return [e for e in dict.fromkeys(self.table["endpoint"]) if e != ""]

    def select(self, endpoint: str | None = None, **equals: str | list[str]) -> SurvivalSummaries:
        """Rows of one endpoint (plus the endpoint-free ``patients``/``median_followup`` rows)
        and/or
        rows where columns equal the given values."""
        mask = pd.Series(True, index=self.table.index)
        if endpoint is not None:
            endpoint = endpoint.upper()
            if endpoint not in self.endpoints:
                raise InputError(
                    f"endpoint {endpoint!r} not in the summaries (has: "
                    f"{', '.join(self.endpoints)})",
                    file=self.source,
                )
            mask &= self.table["endpoint"].isin([endpoint, ""])
        mask &= rows_matching(self.table, equals, self.source)
        if not mask.any():
            raise InputError(
                f"no summary rows match endpoint={endpoint!r} {equals}", file=self.source
            )
        return SurvivalSummaries(self.table[mask].reset_index(drop=True), source=self.source)


def load_summaries(
    source: str | Path | pd.DataFrame, *, label: str | None = None
) -> SurvivalSummaries:
    """Load and validate published survival summaries (format in this module's docstring)."""
    raw, name = read_text_table(
        source, ["study", "endpoint", "quantity", "value"], label=label, max_rows=MAX_TABLE_ROWS
    )
    raw = _fill_optional(raw, ["arm", "subgroup", "ci_low", "ci_high", "time", "unit", "source"])
    problems = ProblemCollector(name)
    require_text(raw, "study", problems)
    value = parse_float(raw, "value", problems)
    lo = parse_float(raw, "ci_low", problems, allow_missing=True)
    hi = parse_float(raw, "ci_high", problems, allow_missing=True)
    time = parse_float(raw, "time", problems, allow_missing=True)
    quantity = raw["quantity"].str.lower()
    endpoint = raw["endpoint"].str.upper()
    unit_out = []
    factor = np.ones(len(raw))
    for i in range(len(raw)):
        row, q, e, unit = (
            row_number(i, raw),
            quantity.iloc[i],
            endpoint.iloc[i],
            raw["unit"].iloc[i].lower(),
        )
        if q not in QUANTITIES:
            problems.add(
                row,
                "quantity",
                f"{raw['quantity'].iloc[i]!r} is not one of {', '.join(QUANTITIES)}",
            )
            unit_out.append("")
            continue
        if e == "" and q not in ("patients", "median_followup"):
            problems.add(
                row,
                "endpoint",
                f"missing value; a {q} row needs the endpoint ({' or '.join(ENDPOINTS)})",
            )
        elif e not in ENDPOINTS + ("",):
            problems.add(
                row, "endpoint", f"{raw['endpoint'].iloc[i]!r} is not one of {', '.join(ENDPOINTS)}"
            )
        v, a, b, t = value.iloc[i], lo.iloc[i], hi.iloc[i], time.iloc[i]
        if q in ("median", "median_followup"):
            if unit not in MONTHS_PER_UNIT:
                problems.add(
                    row, "unit", f"{unit!r} is not a time unit (months, weeks, days, years)"
                )
                unit_out.append("")
                continue
            factor[i] = MONTHS_PER_UNIT[unit]
            unit_out.append("months")
            if not math.isnan(v) and v <= 0:
                problems.add(row, "value", f"{q} must be > 0")
            for col, x in (("ci_low", a), ("ci_high", b)):
                if not math.isnan(x) and x < 0:
                    problems.add(row, col, "must be >= 0")
        elif q == "landmark":
            if unit not in PROPORTION_UNITS:
                problems.add(
                    row,
                    "unit",
                    f"{unit!r} is not a unit for a survival probability (%, proportion)",
                )
                unit_out.append("")
                continue
            factor[i] = PROPORTION_UNITS[unit]
            unit_out.append("proportion")
            for col, x in (("value", v), ("ci_low", a), ("ci_high", b)):
                if not math.isnan(x) and not 0 <= x * factor[i] <= 1:
                    hint = (
                        " (a percentage? set unit to %)" if factor[i] == 1 and 1 < x <= 100 else ""
                    )
                    problems.add(
                        row, col, f"{x:g} is outside [0, 1] as a survival probability{hint}"
                    )
            if math.isnan(t):
                if raw["time"].iloc[i] == "":
                    problems.add(row, "time", "missing value; a landmark needs its time in months")
            elif t <= 0:
                problems.add(row, "time", "landmark time must be > 0 months")
        else:  # events, patients
            unit_out.append("count")
            if unit not in COUNT_UNITS:
                problems.add(
                    row, "unit", f"{unit!r} is not a unit for a count (patients, events or empty)"
                )
            if not math.isnan(v) and (v != int(v) or v < 0 or (q == "patients" and v < 1)):
                problems.add(
                    row,
                    "value",
                    f"{v:g} is not a whole number{' >= 1' if q == 'patients' else ' >= 0'}",
                )
            for col, x in (("ci_low", a), ("ci_high", b)):
                if not math.isnan(x):
                    problems.add(row, col, f"a {q} row has no confidence interval; leave it empty")
        if q != "landmark" and not math.isnan(t):
            problems.add(row, "time", f"time is only used by landmark rows, not by {q}")
        what = "range" if q == "median_followup" else "CI"
        if not math.isnan(a) and not math.isnan(b) and a >= b and q != "median_followup":
            problems.add(
                row, "ci_low", f"{what} lower limit {a:g} is not below the upper limit {b:g}"
            )
        if not math.isnan(v):
            if not math.isnan(a) and a > v:
                problems.add(row, "ci_low", f"{what} lower limit {a:g} exceeds the estimate {v:g}")
            if not math.isnan(b) and b < v:
                problems.add(
                    row, "ci_high", f"{what} upper limit {b:g} is below the estimate {v:g}"
                )
        if q == "median" and math.isnan(a) and not math.isnan(b):
            problems.add(row, "ci_low", "missing while ci_high is given")
    table = pd.DataFrame(
        {
            "study": raw["study"],
            "arm": raw["arm"],
            "subgroup": raw["subgroup"],
            "endpoint": endpoint,
            "quantity": quantity,
            "value": value.to_numpy() * factor,
            "ci_low": lo.to_numpy() * factor,
            "ci_high": hi.to_numpy() * factor,
            "time": time.to_numpy(),
            "unit": unit_out,
            "source": raw["source"],
        }
    )
    extra = [c for c in raw.columns if c not in table.columns]
    for c in extra:
        table[c] = raw[c]
    key_cols = ["study", "arm", "subgroup", "endpoint", "quantity", "time"]
    seen: dict[tuple, int] = {}
    for i, key in enumerate(table[key_cols].astype(str).itertuples(index=False, name=None)):
        if key in seen:
            problems.add(
                row_number(i, raw),
                "quantity",
                f"duplicate {key[4]} for {key[0]}/{key[1] or '-'}/"
                f"{key[2] or '-'}/{key[3] or '-'}; first on row {seen[key]}",
            )
        else:
            seen[key] = row_number(i, raw)
    # events cannot exceed the patients of the same study/arm/subgroup
    counts = table[table["quantity"].isin(["events", "patients"])]
    for i, r in counts[counts["quantity"] == "events"].iterrows():
        same = counts[
            (counts["quantity"] == "patients")
            & (counts["study"] == r["study"])
            & (counts["arm"] == r["arm"])
            & (counts["subgroup"] == r["subgroup"])
            & counts["endpoint"].isin([r["endpoint"], ""])
        ]
        if len(same) and r["value"] > same["value"].max():
            problems.add(
                row_number(i, raw),
                "value",
                f"{r['value']:g} events exceed the {same['value'].max():g} patients",
            )
    _check_landmarks_fall(table, raw, problems)
    problems.raise_if_any()
    return SurvivalSummaries(table, source=name)


def _check_landmarks_fall(
    table: pd.DataFrame, raw: pd.DataFrame, problems: ProblemCollector
) -> None:
    """A survival function cannot rise: landmark rates of one study/arm/subgroup/endpoint must not
    increase with time (equal printed values are allowed: rounding)."""
    marks = table[
        (table["quantity"] == "landmark") & table["time"].notna() & table["value"].notna()
    ]
    for _, group in marks.groupby(["study", "arm", "subgroup", "endpoint"], sort=False):
        ordered = group.sort_values("time", kind="stable")
        best_value, best_time, best_row = math.inf, math.nan, 0
        for i, r in ordered.iterrows():
            row = row_number(i, raw)
            if r["value"] > best_value:
                problems.add(
                    row,
                    "value",
                    f"landmark survival rises from {best_value:.4g} at {best_time:g} months "
                    f"(row {best_row}) to {r['value']:.4g} at {r['time']:g} months; "
                    "a survival curve cannot rise",
                )
            else:
                best_value, best_time, best_row = r["value"], r["time"], row


# ------------------------------------------------------------------------------------------
# single-file validation (used by `bayes-anlo validate --kind km|risk`)
# ------------------------------------------------------------------------------------------
def load_km_coordinates(
    source: str | Path | pd.DataFrame,
    *,
    scale: str = "auto",
    on_rise: str = "error",
    tolerance: float = 0.01,
    label: str | None = None,
) -> pd.DataFrame:
    """Validate a digitised-coordinates file on its own (the checks of :func:`load_digitised_km`
    for the coordinates: times >= 0, survival in [0, 1] or percent, no rise beyond
    ``tolerance``)."""
    table, _ = _load_coordinates(source, label, scale, on_rise, tolerance)
    return table


def load_numbers_at_risk(
    source: str | Path | pd.DataFrame, *, label: str | None = None
) -> pd.DataFrame:
    """Validate a numbers-at-risk file on its own (the checks of :func:`load_digitised_km`)."""
    table, _ = _load_risk_table(source, label)
    return table


def load_totals(source: str | Path | pd.DataFrame, *, label: str | None = None) -> pd.DataFrame:
    """Validate an event-totals file on its own (``study, arm, total_events[, n_patients]``: whole
    numbers, events not above patients, one row per curve); used by ``validate --kind totals``."""
    table, _ = _load_totals(source, label)
    return table


# ------------------------------------------------------------------------------------------
# one survival input of a spec: the file's kind decides the loader
# ------------------------------------------------------------------------------------------
#: The survival kinds of data a spec or ``validate`` names: (description, required columns, all
#: columns).
SURVIVAL_KINDS = {
    "ipd": ("patient data", ("study", "time", "event"), "study, time, event[, arm, subgroup]"),
    "km": (
        "digitised Kaplan-Meier coordinates",
        ("study", "arm", "time", "survival"),
        "study, arm, time, survival (with risk_table = study, arm, time, n_risk and totals = "
        "study, arm, total_events[, n_patients])",
    ),
    "summaries": (
        "published summaries",
        ("study", "endpoint", "quantity", "value"),
        "study, arm, endpoint, quantity, value, ci_low, ci_high, time, unit, source[, subgroup]",
    ),
}


def header_columns(path: str | Path) -> list[str] | None:
    """Column names of a CSV file's header row (None if it cannot be read as UTF-8 CSV; the
    loader then reports why)."""
    import csv

    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            row = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None if row is None else [c.strip() for c in row]


def kinds_matching(columns) -> list[str]:
    """The survival kinds whose required columns are all in ``columns`` (most specific first)."""
    have = set(columns)
    return [k for k in ("summaries", "km", "ipd") if set(SURVIVAL_KINDS[k][1]) <= have]


def survival_kind_problem(file: str, kind: str | None, columns: list[str]) -> InputError | None:
    """An error naming the kind and its columns when ``columns`` do not fit ``kind`` (or, with
    ``kind=None``, fit no kind); None when they fit."""
    fits = kinds_matching(columns)
    if kind is None:
        if fits:
            return None
        wanted = "; ".join(
            f'kind = "{k}" ({d}): {cols}' for k, (d, _, cols) in SURVIVAL_KINDS.items()
        )
        return InputError(
            Problem(
                file,
                1,
                None,
                f"the header ({', '.join(columns)}) fits no kind of survival data; "
                f"expected one of: {wanted}",
            )
        )
    description, required, all_columns = SURVIVAL_KINDS[kind]
    missing = [c for c in required if c not in columns]
    if not missing:
        return None
    hint = f'; it looks like {SURVIVAL_KINDS[fits[0]][0]} (kind = "{fits[0]}")' if fits else ""
    return InputError(
        Problem(
            file,
            1,
            None,
            f'kind = "{kind}" ({description}) needs the columns {all_columns}; '
            f"missing: {', '.join(missing)} (header has: {', '.join(columns)}){hint}",
        )
    )


def load_survival_input(
    file: str | Path,
    kind: str | None = None,
    *,
    risk_table: str | Path | None = None,
    totals: str | Path | None = None,
    label: str | None = None,
):
    """Load one survival input by its kind: ``"ipd"`` -> :class:`SurvivalData`, ``"km"`` ->
    :class:`DigitisedKM` (with the optional risk table and totals files), ``"summaries"`` ->
    :class:`SurvivalSummaries`. ``kind=None`` reads the kind off the header (summaries, then
    digitised coordinates, then patient data). A file whose columns do not fit the kind is an
    error naming the kind and the columns it needs.

    Returns ``(kind, container)``.
    """
    if kind is not None and kind not in SURVIVAL_KINDS:
        raise InputError(
            f"unknown kind of survival data {kind!r}; choose one of {', '.join(SURVIVAL_KINDS)}",
            file=str(label or file),
        )
    columns = (
        header_columns(file)
        if not isinstance(file, pd.DataFrame)
        else [str(c).strip() for c in file.columns]
    )
    if columns is not None:
        problem = survival_kind_problem(str(label or file), kind, columns)
        if problem is not None:
            raise problem
        if kind is None:
            kind = kinds_matching(columns)[0]
    if (risk_table is not None or totals is not None) and kind != "km":
        raise InputError(
            'a risk table or totals file is only read with kind = "km" (digitised curves)',
            file=str(label or file),
        )
    if kind == "ipd":
        return kind, load_survival(file, label=label)
    if kind == "km":
        return kind, load_digitised_km(file, risk_table, totals, label=label)
    return kind or "summaries", load_summaries(file, label=label)
