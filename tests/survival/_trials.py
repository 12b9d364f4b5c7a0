"""R's colon trial (death; Obs vs Lev+5FU) as patient data and digitised, for the survival-input
tests
(data from tests/reference/survival_inputs/trials.csv, made by make_reference_survival_inputs.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_anlo.data.survival import SurvivalData
from bayes_anlo.survival.simulate import digitise

REF = Path(__file__).resolve().parents[1] / "reference" / "survival_inputs"


def colon() -> pd.DataFrame:
    d = pd.read_csv(REF / "trials.csv")
    d = d[d["trial"] == "colon_death"].drop(columns="trial")
    return d.assign(study="colon")[["study", "arm", "time", "event"]].reset_index(drop=True)


def digitised(
    tmp_path: Path,
    *,
    totals_events: dict | None = None,
    cut_at: float | None = None,
    risk_until: float = 60.0,
):
    """colon digitised per arm: coordinates, a 6-monthly risk table and totals files."""
    data = SurvivalData(colon())
    rng = np.random.default_rng(5)
    coords, risks, totals = [], [], []
    for arm in ("Obs", "Lev+5FU"):
        part = data.select(arm=arm)
        c, r = digitise(
            part,
            risk_times=np.arange(0, risk_until, 6.0),
            rng=rng,
            survival_noise=0.002,
            study="colon",
            arm=arm,
        )
        if cut_at is not None:
            c = c[c["time"] <= cut_at]
        coords.append(c)
        risks.append(r)
        events = (totals_events or {}).get(arm, int(part.event.sum()))
        totals.append({"study": "colon", "arm": arm, "total_events": events})
    paths = {}
    for name, frames in (("km", coords), ("risk", risks), ("totals", [pd.DataFrame(totals)])):
        paths[name] = tmp_path / f"{name}.csv"
        pd.concat(frames).to_csv(paths[name], index=False)
    return paths
