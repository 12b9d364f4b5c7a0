"""Frequentist comparison of survival arms from (pseudo-)patient data, as a statistician would run
it in R: Kaplan-Meier medians with their 95% CIs per arm (``survfit``, log band), the log-rank
test (``survdiff``) and the Cox hazard ratio of each arm against the reference arm (``coxph``,
Efron ties). Patients of several studies are pooled (unstratified), as a single-trial analysis
would; the table says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.frequentist.cox import CoxResult, arm_levels, cox_ph
from bayes_anlo.frequentist.kaplan_meier import (
    LogRankResult,
    kaplan_meier,
    log_rank,
    reverse_kaplan_meier,
)


@dataclass(frozen=True)
class ArmComparison:
    """Per-arm Kaplan-Meier summaries, the log-rank test and Cox hazard ratios.

    ``arms`` holds one row per arm (``arm, patients, events, median, median_low, median_high,
    median_followup``, NaN = not reached); ``log_rank`` and ``cox`` are None with one arm.
    """

    arms: pd.DataFrame
    log_rank: LogRankResult | None
    cox: CoxResult | None
    reference: str | None
    n_studies: int

    def to_frame(self) -> pd.DataFrame:
        """Long table: a row per arm median, per hazard ratio, and the log-rank test."""
        pooled = " (patients of all studies pooled)" if self.n_studies > 1 else ""
        rows = [
            {
                "quantity": "median (months)",
                "group": a.arm,
                "method": "Kaplan-Meier (log CI)" + pooled,
                "estimate": a.median,
                "ci_low": a.median_low,
                "ci_high": a.median_high,
                "statistic": np.nan,
                "df": np.nan,
                "p_value": np.nan,
            }
            for a in self.arms.itertuples(index=False)
        ]
        if self.cox is not None:
            for k, arm in enumerate(self.cox.arms):
                rows.append(
                    {
                        "quantity": "hazard ratio",
                        "group": f"{arm} vs {self.reference}",
                        "method": "Cox PH (Efron ties), Wald CI" + pooled,
                        "estimate": self.cox.hazard_ratio[k],
                        "ci_low": self.cox.ci_low[k],
                        "ci_high": self.cox.ci_high[k],
                        "statistic": np.nan,
                        "df": np.nan,
                        "p_value": self.cox.p_value[k],
                    }
                )
        if self.log_rank is not None:
            rows.append(
                {
                    "quantity": "equal survival",
                    "group": ", ".join(self.log_rank.groups),
                    "method": "log-rank" + pooled,
                    "estimate": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "statistic": self.log_rank.chisq,
                    "df": self.log_rank.df,
                    "p_value": self.log_rank.p_value,
                }
            )
        return pd.DataFrame(rows)


def compare_arms(data, reference: str | None = None) -> ArmComparison:
    """Kaplan-Meier per arm, log-rank and Cox of a :class:`~bayes_anlo.data.survival.SurvivalData`
    (or reconstructed pseudo-patients). With one arm only the Kaplan-Meier row is given."""
    table = data.table
    arms = [a for a in dict.fromkeys(table["arm"].astype(str))]
    rows = []
    for arm in arm_levels(arms, reference) if len(arms) > 1 else arms:
        part = table[table["arm"].astype(str) == arm]
        km = kaplan_meier(part["time"], part["event"])
        med = km.median()
        follow = reverse_kaplan_meier(part["time"], part["event"]).median().estimate
        rows.append(
            {
                "arm": arm,
                "patients": len(part),
                "events": int(part["event"].sum()),
                "median": med.estimate,
                "median_low": med.lower,
                "median_high": med.upper,
                "median_followup": follow,
                "last_time": float(part["time"].max()),
            }
        )
    if len(arms) < 2:
        return ArmComparison(pd.DataFrame(rows), None, None, None, len(data.studies))
    group = table["arm"].astype(str).to_numpy()
    cox = cox_ph(table["time"], table["event"], group, reference=reference)
    return ArmComparison(
        pd.DataFrame(rows),
        log_rank(table["time"], table["event"], group),
        cox,
        cox.reference,
        len(data.studies),
    )


def km_curves(data) -> pd.DataFrame:
    """The observed Kaplan-Meier step curve of each arm (``group, time, survival, ci_low, ci_high,
    n_risk``), starting at (0, 1): what the report draws under the posterior curve."""
    frames = []
    for arm in dict.fromkeys(data.table["arm"].astype(str)):
        part = data.table[data.table["arm"].astype(str) == arm]
        km = kaplan_meier(part["time"], part["event"])
        frames.append(
            pd.DataFrame(
                {
                    "group": arm,
                    "time": np.r_[0.0, km.time],
                    "survival": np.r_[1.0, km.survival],
                    "ci_low": np.r_[1.0, km.lower],
                    "ci_high": np.r_[1.0, km.upper],
                    "n_risk": np.r_[km.n_risk[0], km.n_risk],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
