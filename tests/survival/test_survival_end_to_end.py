"""Survival end to end from specs with default settings (issue 18, item 6): R's colon trial (death,
Obs vs Lev+5FU), which the project does not ship, as patient data, as the same trial digitised
(coordinates, a 6-monthly risk table and event totals) and as the summaries a paper would print
(landmark survival with Greenwood CIs, patients and events per arm). Each runs through
``bayes-anlo run`` (CLI) and must converge; the hazard ratio and medians are set against R
``coxph``/``survfit`` (tests/reference/survival_inputs, made by make_reference_survival_inputs.R).
Slow (three NUTS fits with prior-sensitivity refits): ``make test-slow``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bayes_anlo.cli import app
from bayes_anlo.frequentist.kaplan_meier import kaplan_meier
from tests.survival._trials import colon, digitised

pytestmark = pytest.mark.slow

REF = Path(__file__).resolve().parents[1] / "reference" / "survival_inputs"
COX = pd.read_csv(REF / "trials_cox.csv").query("name == 'colon_death' and ties == 'efron'").iloc[0]
MEDIANS = pd.read_csv(REF / "trials_median.csv").query("name == 'colon_death'").set_index("arm")
HR_LABEL = (
    "hazard ratio (Obs vs Lev+5FU)"  # default reference: Lev+5FU (first in sorted order, as R)
)


def _run(tmp_path: Path, data: str, name: str) -> Path:
    spec = tmp_path / f"{name}.toml"
    spec.write_text(f"""[analysis]
name = "{name}"
title = "colon {name}"
seed = 18
[data]
{data}
[[analyses]]
id = "os"
title = "Overall survival"
model = "piecewise_exponential"
endpoint = "OS"
""")
    out = tmp_path / f"run_{name}"
    result = CliRunner().invoke(app, ["run", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output  # 3 would mean not converged
    return out


def _comparison(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "tables" / "os__comparison.csv")


def _row(table: pd.DataFrame, quantity: str, source_start: str) -> pd.Series:
    rows = table[(table["quantity"] == quantity) & table["source"].str.startswith(source_start)]
    assert len(rows) == 1, (quantity, source_start, table)
    return rows.iloc[0]


def _posterior_hr_covers_r(table: pd.DataFrame) -> pd.Series:
    post = _row(table, HR_LABEL, "posterior")
    assert post["ci_low"] < COX.hr < post["ci_high"]
    assert post["p_hr_below_1"] < 0.05  # Obs worse than Lev+5FU, as coxph says (HR 1.45)
    return post


def test_patient_data_spec(tmp_path):
    colon().to_csv(tmp_path / "colon.csv", index=False)
    out = _run(tmp_path, 'file = "colon.csv"\nkind = "ipd"', "ipd")
    table = _comparison(out)
    cox = _row(table, HR_LABEL, "Cox PH")
    np.testing.assert_allclose(
        cox[["estimate", "ci_low", "ci_high"]].to_numpy(dtype=float),
        [COX.hr, COX.hr_low, COX.hr_high],
        rtol=1e-6,
    )
    post = _posterior_hr_covers_r(table)
    assert (
        abs(math.log(post["estimate"]) - COX.coef) < 0.1
    )  # piecewise-exponential vs Cox: same data, close
    km = _row(table, "median (months)", "Kaplan-Meier, patient data (Obs)")
    np.testing.assert_allclose(
        km[["estimate", "ci_low", "ci_high"]].to_numpy(dtype=float),
        MEDIANS.loc["Obs", ["median", "lower", "upper"]].to_numpy(dtype=float),
        rtol=1e-6,
    )
    obs = _row(table, "median (months)", "posterior, typical study (Obs)")
    assert obs["ci_low"] < MEDIANS.loc["Obs", "median"] < obs["ci_high"]
    report = (out / "report.md").read_text()
    assert "PFT" not in report and "Obs vs Lev+5FU" in report
    assert (out / "tables" / "os__kaplan_meier.csv").exists()


def test_digitised_spec(tmp_path):
    digitised(tmp_path)
    out = _run(
        tmp_path,
        'file = "km.csv"\nkind = "km"\nrisk_table = "risk.csv"\ntotals = "totals.csv"',
        "km",
    )
    table = _comparison(out)
    cox = _row(table, HR_LABEL, "Cox PH (Efron), reconstructed")
    assert abs(math.log(cox["estimate"]) - COX.coef) < 0.02
    _posterior_hr_covers_r(table)
    rec = pd.read_csv(out / "tables" / "os__reconstruction.csv")
    assert (rec["events"] == rec["total_events_given"]).all()
    assert "Guyot reconstruction" in (out / "report.md").read_text()


def test_printed_summaries_spec(tmp_path):
    """What a paper prints: patients, events and 12/24/36/48-month survival with CIs per arm."""
    d = colon()
    rows = []
    for arm in ("Obs", "Lev+5FU"):
        part = d[d["arm"] == arm]
        rows += [
            {
                "study": "colon",
                "arm": arm,
                "endpoint": "",
                "quantity": "patients",
                "value": len(part),
            },
            {
                "study": "colon",
                "arm": arm,
                "endpoint": "OS",
                "quantity": "events",
                "value": part["event"].sum(),
            },
        ]
        km = kaplan_meier(part["time"], part["event"]).survival_at([12, 24, 36, 48])
        for r in km.itertuples(index=False):
            rows.append(
                {
                    "study": "colon",
                    "arm": arm,
                    "endpoint": "OS",
                    "quantity": "landmark",
                    "value": round(r.survival, 3),
                    "ci_low": round(r.ci_low, 3),
                    "ci_high": round(r.ci_high, 3),
                    "time": r.time,
                }
            )
    pd.DataFrame(rows).assign(source="R survival colon (test)").to_csv(
        tmp_path / "summaries.csv", index=False
    )
    out = _run(tmp_path, 'file = "summaries.csv"\nkind = "summaries"', "summaries")
    _posterior_hr_covers_r(_comparison(out))
