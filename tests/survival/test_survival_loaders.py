"""Loaders of patient data, digitised KM curves and published summaries: valid input, and every
bad cell reported at once as file:row:column."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bayes_anlo import InputError
from bayes_anlo.data.survival import (
    DAYS_PER_MONTH,
    RisingCurveWarning,
    SurvivalData,
    load_digitised_km,
    load_summaries,
    load_survival,
)


def write(tmp_path, text: str, name: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def messages(exc: InputError) -> list[str]:
    return [str(p) for p in exc.problems]


# --- patient data ------------------------------------------------------------------------------
def test_patient_data_loads_with_optional_columns(tmp_path):
    path = write(
        tmp_path, "study,time,event,arm,extra\nA,3.5,1,x,k\nA,10,0,x,\nB,0.2,1,y,\n", "ipd.csv"
    )
    data = load_survival(path)
    assert data.time.tolist() == [3.5, 10.0, 0.2]
    assert data.event.tolist() == [1, 0, 1]
    assert data.table["subgroup"].tolist() == ["", "", ""]
    assert data.studies == ["A", "B"] and data.arms == ["x", "y"]
    assert len(data.sha256) == 64 and data.source == str(path)
    assert len(data.select(study="A")) == 2


def test_patient_data_reports_every_bad_cell(tmp_path):
    text = "study,time,event\nA,0,1\n,5,1\nB,-2,2\nC,abc,1\nD,1;5,0.5\n"
    path = write(tmp_path, text, "bad.csv")
    with pytest.raises(InputError) as err:
        load_survival(path)
    msgs = messages(err.value)
    assert any(m.startswith(f"{path}:2:time:") and "not > 0" in m for m in msgs)
    assert any(m.startswith(f"{path}:3:study:") for m in msgs)
    assert any(m.startswith(f"{path}:4:time:") for m in msgs)
    assert any(m.startswith(f"{path}:4:event:") and "0 or 1" in m for m in msgs)
    assert any(m.startswith(f"{path}:5:time:") for m in msgs)
    assert any(m.startswith(f"{path}:6:event:") for m in msgs)
    assert len(msgs) >= 6


def test_from_arrays_validates_like_the_loader():
    data = SurvivalData.from_arrays([1.0, 2.0], [1, 0], study="S")
    assert data.studies == ["S"]
    with pytest.raises(InputError):
        SurvivalData.from_arrays([1.0, -2.0], [1, 0])


# --- digitised curves --------------------------------------------------------------------------
def test_digitised_percent_is_detected_sorted_and_origin_added(tmp_path):
    coords = write(
        tmp_path, "study,arm,time,survival\nS,a,6,60\nS,a,2,90\nS,a,2,100\nS,a,9,45\n", "km.csv"
    )
    risk = write(tmp_path, "study,arm,time,n_risk\nS,a,0,50\nS,a,6,25\n", "risk.csv")
    km = load_digitised_km(coords, risk)
    c = km.curve("S", "a")
    assert c["time"].tolist() == [0.0, 2.0, 2.0, 6.0, 9.0]
    np.testing.assert_allclose(c["survival"], [1.0, 1.0, 0.9, 0.6, 0.45])
    assert c["n_risk"].tolist() == [50, 25]
    assert km.curves == [("S", "a")]


def test_small_rises_are_noise_and_large_rises_are_errors_naming_both_rows(tmp_path):
    text = "study,arm,time,survival\nS,,1,0.9\nS,,2,0.905\nS,,3,0.7\nS,,4,0.75\nS,,5,0.6\n"
    coords = write(tmp_path, text, "km.csv")
    totals = write(tmp_path, "study,arm,total_events,n_patients\nS,,10,40\n", "tot.csv")
    with pytest.raises(InputError) as err:
        load_digitised_km(coords, totals=totals)
    msgs = messages(err.value)
    assert len(msgs) == 1  # the 0.005 rise (row 3) is within the tolerance 0.01
    assert msgs[0].startswith(f"{coords}:5:survival:") and "row 4" in msgs[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        km = load_digitised_km(coords, totals=totals, on_rise="monotonise")
    assert any(issubclass(w.category, RisingCurveWarning) for w in caught)
    s = km.curve("S")["survival"]
    assert np.all(np.diff(s) <= 0)
    np.testing.assert_allclose(s, [1.0, 0.9, 0.9, 0.7, 0.7, 0.6])


def test_digitised_cross_file_checks(tmp_path):
    coords = write(tmp_path, "study,arm,time,survival\nS,a,1,0.9\nT,a,1,0.8\nU,a,1,1.3\n", "km.csv")
    with pytest.raises(InputError) as err:
        load_digitised_km(coords, scale="fraction")
    assert any(":4:survival:" in m for m in messages(err.value))
    coords = write(tmp_path, "study,arm,time,survival\nS,a,1,0.9\nT,a,1,0.8\n", "km2.csv")
    risk = write(tmp_path, "study,arm,time,n_risk\nS,a,0,30\nS,a,3,31\nX,a,0,10\n", "risk.csv")
    with pytest.raises(InputError) as err:
        load_digitised_km(coords, risk)
    msgs = messages(err.value)
    assert any(m.startswith(f"{risk}:3:n_risk:") and "rises" in m for m in msgs)
    risk = write(tmp_path, "study,arm,time,n_risk\nS,a,0,30\nX,a,0,10\n", "risk2.csv")
    totals = write(tmp_path, "study,arm,total_events,n_patients\nS,a,5,29\n", "tot.csv")
    with pytest.raises(InputError) as err:
        load_digitised_km(coords, risk, totals)
    text = "\n".join(messages(err.value))
    assert "X/a has no digitised coordinates" in text
    assert "T/a has neither a risk table nor n_patients" in text
    assert "n_risk at time 0 (30) differs from n_patients (29)" in text


# --- summaries ---------------------------------------------------------------------------------
SUMMARY_HEADER = "study,arm,endpoint,quantity,value,ci_low,ci_high,time,unit,source\n"


def test_summaries_convert_units_and_keep_endpoint_free_rows(tmp_path):
    text = SUMMARY_HEADER + (
        "NPC,,PFS,median,5.7,4.7,6.7,,months,seed 000\n"
        "NPC,,OS,median,50,32.6,,,weeks,x\n"
        "NPC,,PFS,landmark,45,30,60,6,%,x\n"
        "NPC,,PFS,events,22,,,,patients,x\n"
        "NPC,,,patients,30,,,,,x\n"
        "NPC,,,median_followup,18.3,12.5,24.1,,months,x\n"
    )
    s = load_summaries(write(tmp_path, text, "s.csv"))
    t = s.table
    assert s.endpoints == ["PFS", "OS"]
    os_med = t[(t["endpoint"] == "OS") & (t["quantity"] == "median")].iloc[0]
    assert os_med["value"] == pytest.approx(50 * 7 / DAYS_PER_MONTH)
    assert np.isnan(os_med["ci_high"])
    lm = t[t["quantity"] == "landmark"].iloc[0]
    assert (lm["value"], lm["ci_low"], lm["ci_high"], lm["time"]) == pytest.approx(
        (0.45, 0.30, 0.60, 6.0)
    )
    pfs = s.select(endpoint="pfs")
    assert set(pfs.table["quantity"]) == {
        "median",
        "landmark",
        "events",
        "patients",
        "median_followup",
    }
    assert set(pfs.table["endpoint"]) == {"PFS", ""}


def test_summaries_report_every_bad_cell(tmp_path):
    text = SUMMARY_HEADER + (
        "A,,PFS,median,5.7,6.0,8.0,,months,\n"  # row 2: CI does not contain estimate
        "A,,PFS,landmark,45,,,6,,\n"  # row 3: 45 as a proportion (hint: %)
        "A,,PFS,landmark,0.4,0.3,0.5,,,\n"  # row 4: landmark without time
        "A,,XYZ,median,5,4,6,,months,\n"  # row 5: endpoint
        "A,,PFS,mean,5,,,,months,\n"  # row 6: quantity
        "A,,PFS,events,12.5,,,,,\n"  # row 7: not whole
        "A,,,events,3,,,,,\n"  # row 8: events need an endpoint
        "A,,PFS,median,-1,,,,months,\n"  # row 9: median <= 0 (and duplicate median)
        "B,,PFS,events,40,,,,,\n"  # row 10: events exceed patients
        "B,,,patients,30,,,,,\n"
        "B,,PFS,median,5,4,6,,fortnights,\n"  # row 12: unit
        "B,,PFS,median,5,,6,,months,\n"  # row 13: ci_high without ci_low
    )
    path = write(tmp_path, text, "s.csv")
    with pytest.raises(InputError) as err:
        load_summaries(path)
    msgs = messages(err.value)

    def has(row, col, word=""):
        return any(m.startswith(f"{path}:{row}:{col}:") and word in m for m in msgs)

    assert has(2, "ci_low", "exceeds the estimate")
    assert has(3, "value", "percentage")
    assert has(4, "time", "landmark needs its time")
    assert has(5, "endpoint")
    assert has(6, "quantity")
    assert has(7, "value", "whole number")
    assert has(8, "endpoint")
    assert has(9, "value", "> 0")
    assert has(9, "quantity", "duplicate")
    assert has(10, "value", "exceed")
    assert has(12, "unit")
    assert has(13, "ci_low", "missing")
