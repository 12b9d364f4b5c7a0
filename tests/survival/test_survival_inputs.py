"""Survival inputs from a spec: every kind of data (patient data, digitised curves with a risk table
and totals, published summaries), the reference arm, reconstruction warnings and `validate`.

No sampling here (the end-to-end fits are in test_survival_end_to_end.py, marked slow). The trial
is R's colon data (death; Obs vs Lev+5FU) from tests/reference/survival_inputs/trials.csv.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from bayes_anlo.cli import app
from bayes_anlo.data.survival import load_survival_input
from bayes_anlo.errors import InputError
from bayes_anlo.models.piecewise_exponential import prepare_survival
from bayes_anlo.pipeline.survival import (
    arm_order,
    arms_share_a_study,
    hazard_ratio_rows,
    load_survival_entry,
    with_hazard_ratio,
)
from bayes_anlo.spec import load_spec
from bayes_anlo.survival.guyot import ReconstructionWarning, reconstruct
from tests.survival._trials import colon, digitised

SUMMARIES = """study,arm,endpoint,quantity,value,ci_low,ci_high,time,unit,source
T1,A,OS,median,12,9,15,,months,made up
T1,B,OS,median,16,12,20,,months,made up
T1,A,,patients,50,,,,,made up
T1,B,,patients,50,,,,,made up
"""


def write_spec(tmp_path: Path, data: str, analysis: str = "") -> Path:
    spec = tmp_path / "spec.toml"
    spec.write_text(f"""[analysis]
name = "t"
seed = 1
[data]
{data}
[[analyses]]
id = "os"
model = "piecewise_exponential"
endpoint = "OS"
{analysis}
""")
    return spec


# --- kinds --------------------------------------------------------------------------------
def test_each_kind_loads_its_container_and_the_header_decides_without_kind(tmp_path):
    colon().to_csv(tmp_path / "ipd.csv", index=False)
    (tmp_path / "summ.csv").write_text(SUMMARIES)
    paths = digitised(tmp_path)
    assert load_survival_input(tmp_path / "ipd.csv", "ipd")[1].__class__.__name__ == "SurvivalData"
    assert (
        load_survival_input(tmp_path / "summ.csv", "summaries")[1].__class__.__name__
        == "SurvivalSummaries"
    )
    kind, km = load_survival_input(
        paths["km"], "km", risk_table=paths["risk"], totals=paths["totals"]
    )
    assert kind == "km" and len(km.risk_table) > 0 and len(km.totals) == 2
    assert [load_survival_input(p)[0] for p in (tmp_path / "ipd.csv", tmp_path / "summ.csv")] == [
        "ipd",
        "summaries",
    ]
    assert load_survival_input(paths["km"], risk_table=paths["risk"])[0] == "km"


def test_a_wrong_file_for_the_kind_names_the_kind_and_its_columns(tmp_path):
    (tmp_path / "summ.csv").write_text(SUMMARIES)
    with pytest.raises(InputError) as err:
        load_survival_input(tmp_path / "summ.csv", "ipd")
    text = str(err.value.problems[0])
    assert 'kind = "ipd" (patient data) needs the columns study, time, event' in text
    assert (
        "missing: event" in text and 'looks like published summaries (kind = "summaries")' in text
    )
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="fits no kind of survival data"):
        load_survival_input(tmp_path / "other.csv")


def test_spec_honours_kind_and_checks_the_file_before_a_run(tmp_path):
    (tmp_path / "summ.csv").write_text(SUMMARIES)
    with pytest.raises(InputError, match=r'kind = "ipd" \(patient data\) needs the columns'):
        load_spec(write_spec(tmp_path, 'file = "summ.csv"\nkind = "ipd"'))
    with pytest.raises(
        InputError, match="kind: must be one of 'binary', 'ipd', 'km' or 'summaries', got 'bogus'"
    ):
        load_spec(write_spec(tmp_path, 'file = "summ.csv"\nkind = "bogus"'))
    with pytest.raises(InputError, match="reads ipd, km or summaries data, not kind = 'binary'"):
        load_spec(write_spec(tmp_path, 'file = "summ.csv"\nkind = "binary"'))
    with pytest.raises(InputError, match='risk_table: only with kind = "km"'):
        load_spec(
            write_spec(tmp_path, 'file = "summ.csv"\nkind = "summaries"\nrisk_table = "summ.csv"')
        )
    spec = load_spec(write_spec(tmp_path, 'file = "summ.csv"\nkind = "summaries"'))
    assert spec.analyses[0].data.kind == "summaries"


def test_km_spec_in_data_or_per_analysis(tmp_path):
    digitised(tmp_path)
    km = 'file = "km.csv"\nkind = "km"\nrisk_table = "risk.csv"\ntotals = "totals.csv"'
    for spec in (
        write_spec(tmp_path, km),
        write_spec(tmp_path, 'dataset = "sarcoma_literature_survival"', km),
    ):
        ref = load_spec(spec).analyses[0].data
        assert (ref.kind, ref.risk_table.name, ref.totals.name, ref.dataset) == (
            "km",
            "risk.csv",
            "totals.csv",
            None,
        )


def test_cli_run_with_the_wrong_kind_exits_2_without_a_traceback(tmp_path):
    (tmp_path / "summ.csv").write_text(SUMMARIES)
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(write_spec(tmp_path, 'file = "summ.csv"\nkind = "ipd"')),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2
    assert (
        "error:" in result.output
        and 'kind = "ipd"' in result.output
        and "Traceback" not in result.output
    )


# --- the reference arm ----------------------------------------------------------------------
@pytest.mark.parametrize("reference", [None, "Obs"])
def test_reference_arm_never_depends_on_row_order(tmp_path, reference):
    d = colon()
    arms = []
    for order, frame in (("as is", d), ("reversed", d.iloc[::-1])):
        frame.to_csv(tmp_path / f"{order}.csv", index=False)
        line = "" if reference is None else f'reference_arm = "{reference}"'
        entry = load_spec(
            write_spec(tmp_path, f'file = "{order}.csv"\nkind = "ipd"', line)
        ).analyses[0]
        data = load_survival_entry(entry)
        arms.append((data.arms, prepare_survival(data.data).arms))
    expected = (
        ("Lev+5FU", "Obs") if reference is None else ("Obs", "Lev+5FU")
    )  # default: sorted, as R
    assert arms[0] == arms[1] == (expected, list(expected))


def test_an_unknown_reference_arm_is_an_input_error(tmp_path):
    colon().to_csv(tmp_path / "ipd.csv", index=False)
    with pytest.raises(InputError, match=r"reference_arm: arm 'placebo' is not in the data"):
        load_spec(
            write_spec(tmp_path, 'file = "ipd.csv"\nkind = "ipd"', 'reference_arm = "placebo"')
        )
    with pytest.raises(
        InputError,
        match=r"reference_arm 'placebo' is not an arm of the data \(arms: Lev\+5FU, Obs\)",
    ):
        arm_order(colon(), "placebo", "analysis 'os'")


def test_hazard_ratio_variable_is_labelled_arm_vs_reference():
    rng = np.random.default_rng(0)
    log_hr = rng.normal(-0.3, 0.1, size=(2, 500, 1))
    post = xr.Dataset(
        {"log_hr_arm": (("chain", "draw", "arm_contrast"), log_hr)},
        coords={"arm_contrast": ["Lev+5FU"]},
    )
    tree = with_hazard_ratio(xr.DataTree.from_dict({"posterior": post}), ("Obs", "Lev+5FU"))
    hr = tree["posterior"]["hazard_ratio"]
    assert list(hr["comparison"].values) == ["Lev+5FU vs Obs"]
    np.testing.assert_allclose(hr.values[..., 0], np.exp(log_hr[..., 0]))
    row = hazard_ratio_rows(tree)[0]
    assert row["quantity"] == "hazard ratio (Lev+5FU vs Obs)"
    np.testing.assert_allclose(row["p_hr_below_1"], np.mean(log_hr < 0))
    np.testing.assert_allclose(row["estimate"], np.exp(np.median(log_hr)), rtol=1e-6)
    with pytest.raises(RuntimeError):  # the model's reference differs from the requested one
        with_hazard_ratio(xr.DataTree.from_dict({"posterior": post}), ("Lev+5FU", "Obs"))


# --- reconstruction warnings and validate -------------------------------------------------
def _warnings_of(paths) -> list[str]:
    from bayes_anlo.data.survival import load_digitised_km

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = reconstruct(load_digitised_km(paths["km"], paths["risk"], paths["totals"]))
    messages = [str(w.message) for w in caught if issubclass(w.category, ReconstructionWarning)]
    assert messages == list(rec.warnings)
    return messages


def test_matched_totals_raise_no_warning(tmp_path):
    assert _warnings_of(digitised(tmp_path)) == []


def test_events_short_of_the_given_total_are_warned(tmp_path):
    """With a risk table up to the end of follow-up the deaths are fixed by the curve: a total 13
    above the true one cannot be reached, and the shortfall is said."""
    observed = int(colon().query("arm == 'Obs'")["event"].sum())
    messages = _warnings_of(
        digitised(tmp_path, totals_events={"Obs": observed + 13}, risk_until=108.0)
    )
    assert len(messages) == 1 and "curve colon/Obs: the reconstruction has" in messages[0]
    assert f"short of the {observed + 13} given in the totals" in messages[0]


def test_totals_contradicting_the_curve_are_warned(tmp_path):
    messages = _warnings_of(digitised(tmp_path, totals_events={"Obs": 60}))
    assert any(
        "the totals give 60 events but the curve and risk table imply" in m and "contradict" in m
        for m in messages
    )
    assert any("more than the 60 given" in m for m in messages)


def test_risk_table_rows_past_the_curve_are_warned(tmp_path):
    messages = _warnings_of(digitised(tmp_path, cut_at=24.0))
    assert any(
        "colon/Obs" in m
        and "past the end of the digitised curve" in m
        and "30, 36, 42, 48, 54" in m
        for m in messages
    )


def test_validate_totals_and_km_with_its_risk_table_and_totals(tmp_path):
    paths = digitised(tmp_path, totals_events={"Obs": 60})
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", str(paths["totals"]), "--kind", "totals"])
    assert ok.exit_code == 0 and "2 curves with event totals" in ok.output
    (tmp_path / "bad_totals.csv").write_text(
        "study,arm,total_events,n_patients\ncolon,Obs,400,315\n"
    )
    bad = runner.invoke(app, ["validate", str(tmp_path / "bad_totals.csv"), "--kind", "totals"])
    assert (
        bad.exit_code == 2
        and "bad_totals.csv:2:total_events: total events (400) exceed n_patients (315)"
        in bad.output
    )
    km = runner.invoke(
        app,
        [
            "validate",
            str(paths["km"]),
            "--kind",
            "km",
            "--risk-table",
            str(paths["risk"]),
            "--totals",
            str(paths["totals"]),
        ],
    )
    assert km.exit_code == 0, km.output
    assert "warning: curve colon/Obs: the totals give 60 events" in km.output
    assert "fit to the clicks, not accuracy against the true data" in km.output


def test_arms_from_different_studies_are_named_a_cross_study_comparison(tmp_path):
    """The HCC example puts each single-arm study's drug in `arm`: the hazard ratio pembrolizumab vs
    camrelizumab then compares different studies, and the report's input note says so; arms of one
    trial (Cai 2022: anlotinib with and without chemotherapy; the colon trial) get no such note."""
    root = Path(__file__).resolve().parents[2]
    hcc = load_survival_entry(load_spec(root / "models" / "hcc_pd1_example.toml").analyses[2])
    assert hcc.arms == ("camrelizumab", "pembrolizumab")
    assert not arms_share_a_study(hcc)
    cai = load_spec(root / "models" / "survival_sarcoma_cai2022.toml")
    within = load_survival_entry(next(e for e in cai.analyses if e.id == "pfs_chemo"))
    assert len(within.arms) == 2 and arms_share_a_study(within)
    colon().to_csv(tmp_path / "ipd.csv", index=False)
    assert arms_share_a_study(
        load_survival_entry(
            load_spec(write_spec(tmp_path, 'file = "ipd.csv"\nkind = "ipd"', "")).analyses[0]
        )
    )


def test_published_counts_print_as_integers_in_the_data_table():
    """The report's data table printed a count of 217 patients as 217.000 (found on new
    evidence)."""
    import pandas as pd

    from bayes_anlo.pipeline.survival import counts_as_integers
    from bayes_anlo.report.render import Table, _formatted

    frame = pd.DataFrame(
        {
            "study": ["A", "A", "A"],
            "quantity": ["median", "patients", "events"],
            "value": [5.7, 217.0, 40.0],
        }
    )
    shown = _formatted(Table(counts_as_integers(frame), "data"))
    assert list(shown["value"]) == ["5.700", "217", "40"]
    assert list(_formatted(Table(frame, "data"))["value"]) == ["5.700", "217.000", "40.000"]
