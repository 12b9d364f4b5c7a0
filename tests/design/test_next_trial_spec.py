"""The spec's ``[design]`` part: the bundled models/sarcoma_next_trial.toml run end to end (exact
engine, fast mode) with the report's "Designing the next trial" numbers checked against the design
API called directly on the run's saved posterior; a two-sample design with interim data of both
arms; and bad ``[design]`` tables as located spec errors."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_anlo.design import (
    BetaMixture,
    Criterion,
    OneSampleRule,
    TwoSampleRule,
    ess_all,
    map_from_tree,
    oc_one_sample,
    oc_two_sample,
    pos_one_sample,
    pos_two_sample,
)
from bayes_anlo.errors import InputError
from bayes_anlo.pipeline.design_steps import design_next_trial
from bayes_anlo.pipeline.run import run_spec
from bayes_anlo.report.design_section import design_paragraphs
from bayes_anlo.spec import load_spec
from bayes_anlo.spec_schema import DesignTable

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "models" / "sarcoma_next_trial.toml"


@pytest.fixture(scope="module")
def next_trial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("next") / "run"
    run_spec(SPEC, out, fast=True, log=None)
    return out


def test_bundled_next_trial_report_quotes_the_api_numbers(next_trial_run):
    out = next_trial_run
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Designing the next trial" in report
    part = report.split("## Designing the next trial", 1)[1].split("\n## ", 1)[0]
    spec = load_spec(SPEC)
    design = spec.design
    tree = xr.open_datatree(out / "posterior.nc", engine="h5netcdf")["orr_logit_normal"]
    prior = map_from_tree(tree)  # the API, on the draws the run saved
    robust = prior.robust(design.robust_weight, design.robust_mean)
    rule = OneSampleRule([Criterion(c.threshold, c.probability) for c in design.criteria])
    success = rule.success(robust, design.n)
    k = int(np.flatnonzero(success)[0])
    assert success[k:].all() and not success[:k].any()
    assert f"at least {k} responders of {design.n}" in part
    for rate in (0.05, 0.10, design.target_rate):
        oc = float(oc_one_sample(rule, robust, design.n, [rate])[0])
        assert f"{oc:.3f} if the true rate is {100 * rate:.1f}%" in part
    assert f"{pos_one_sample(rule, robust, design.n):.3f} averaged over the robust MAP" in part
    under_map = pos_one_sample(rule, robust, design.n, belief=prior.mixture)
    assert f"{under_map:.3f} over the MAP prior" in part
    ess_map, ess_robust = ess_all(prior.mixture), ess_all(robust)
    assert f"effective sample size is {ess_map['elir']:.1f} (ELIR" in part
    assert f"moment {ess_robust['moment']:.1f}, Morita {ess_robust['morita']:.1f}" in part
    m = prior.summary
    assert f"95% interval {100 * m['q2.5']:.1f}% to {100 * m['q97.5']:.1f}%" in part
    # the tables the run wrote hold the same numbers, and the figure exists
    oc_table = pd.read_csv(out / "tables" / "orr_logit_normal__design_oc.csv")
    np.testing.assert_allclose(
        oc_table["probability_of_success"],
        oc_one_sample(rule, robust, design.n, oc_table["rate"]),
        rtol=1e-10,
        atol=1e-14,
    )
    boundary = pd.read_csv(out / "tables" / "orr_logit_normal__design_boundary.csv")
    assert boundary["success"].tolist() == success.tolist()
    assert (out / "figures" / "orr_logit_normal__design_oc.png").stat().st_size > 0
    assert "figures/orr_logit_normal__design_oc.png" in part


@pytest.fixture(scope="module")
def small_fit():
    from bayes_anlo import datasets
    from bayes_anlo.models import LogitNormal, SamplerSettings

    data = datasets.load("sarcoma_literature_abstracts").select(outcome="ORR")
    sampler = SamplerSettings(chains=2, draws=500)
    return LogitNormal(None, method="exact", sampler=sampler).fit(data, random_seed=3)


def test_two_sample_design_with_interim_data_of_both_arms(small_fit):
    design = DesignTable.model_validate(
        {
            "analysis": "orr",
            "n": 8,
            "criteria": [{"threshold": 0.0, "probability": 0.8}],
            "robust_weight": 0.3,
            "rates": [0.1, 0.3],
            "interim": {"events": 2, "patients": 4},
            "control": {"n": 6, "a": 1.0, "b": 9.0, "interim": {"events": 1, "patients": 3}},
        }
    )
    numbers, frames, robust = design_next_trial(design, small_fit)
    expected_robust = map_from_tree(small_fit).robust(0.3)
    assert robust == expected_robust
    control = BetaMixture.beta(1, 9)
    rule = TwoSampleRule([Criterion(0.0, 0.8)])
    remaining = rule.success_matrix(robust, control, 4, 3, interim_t=(2, 4), interim_c=(1, 3))
    expected = pos_two_sample(remaining, robust.posterior(2, 4), control.posterior(1, 3))
    interim = numbers["design"]["interim"]
    assert interim["probability_of_success"] == pytest.approx(expected, rel=1e-12)
    assert set(frames) >= {"design_type1", "design_power", "design_boundary", "design_pos"}
    text = "\n".join(design_paragraphs(numbers))
    assert f"is {expected:.3f}." in text
    success = rule.success_matrix(robust, control, 8, 6)
    type1 = oc_two_sample(success, [0.1, 0.3], [0.1, 0.3])
    assert f"at most {type1.max():.3f} over the rates of the grid" in text
    assert "2 responders of 4 patients on treatment and 1 of 3 on control" in text


SPEC_HEAD = """
[analysis]
name = "t"
[data]
dataset = "sarcoma_literature_abstracts"
[[analyses]]
id = "ln"
outcome = "ORR"
model = "logit_normal"
[[analyses]]
id = "nested"
outcome = "ORR"
model = "nested_beta_binomial"
by = "subgroup"
"""


CRITERIA = "criteria = [{threshold = 0.1, probability = 0.9}]"


def _problems(tmp_path, design: str) -> list[str]:
    path = tmp_path / "spec.toml"
    path.write_text(SPEC_HEAD + design, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_spec(path, check_data=False)
    return [str(p).split("spec.toml:", 1)[1] for p in info.value.problems]


@pytest.mark.parametrize(
    ("design", "located"),
    [
        (
            '[design]\nanalysis = "nope"\nn = 10\n' + CRITERIA,
            "design:analysis: no analysis 'nope'",
        ),
        (
            '[design]\nanalysis = "nested"\nn = 10\n' + CRITERIA,
            "design:analysis: the MAP prior comes from",
        ),
        (
            '[design]\nanalysis = "ln"\nn = 10\n' + CRITERIA.replace("0.1,", "-0.1,"),
            "design.criteria[1]:threshold: a one-sample threshold",
        ),
        (
            '[design]\nanalysis = "ln"\nn = 10\n' + CRITERIA.replace("0.9", "1.5"),
            "design.criteria[1]:probability:",
        ),
        ('[design]\nanalysis = "ln"\nn = 10\ncriteria = []', "design:criteria:"),
        (
            '[design]\nanalysis = "ln"\nn = 10\nweight = 2\n'
            "criteria = [{threshold = 0.1, probability = 0.9}]",
            "design:weight:",
        ),
        (
            '[design]\nanalysis = "ln"\nn = 10\ninterim = {events = 3, patients = 10}\n'
            "criteria = [{threshold = 0.1, probability = 0.9}]",
            "design.interim:patients: an interim has fewer patients",
        ),
        (
            '[design]\nanalysis = "ln"\nn = 10\ninterim = {events = 4, patients = 3}\n'
            "criteria = [{threshold = 0.1, probability = 0.9}]",
            "design.interim:events:",
        ),
        (
            '[design]\nanalysis = "ln"\nn = 10\ntarget_rate = 0.2\n'
            + CRITERIA
            + "\n[design.control]\nn = 5\na = 1\nb = 1",
            "design:target_rate: one-sample only",
        ),
    ],
)
def test_bad_design_tables_are_located_spec_errors(tmp_path, design, located):
    problems = _problems(tmp_path, design)
    assert any(p.startswith(located) for p in problems), problems


def test_design_naming_a_broken_analysis_adds_no_second_error(tmp_path):
    broken = SPEC_HEAD.replace('model = "logit_normal"', 'model = "logit_normal"\nthresholds = 2')
    path = tmp_path / "spec.toml"
    path.write_text(broken + '[design]\nanalysis = "ln"\nn = 10\n' + CRITERIA, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_spec(path, check_data=False)
    problems = [str(p) for p in info.value.problems]
    assert any("analyses[1]:thresholds" in p for p in problems), problems
    assert not any(":design:" in p for p in problems), problems


def test_design_of_an_analysis_left_out_by_only_is_skipped_with_a_note():
    from types import SimpleNamespace

    from bayes_anlo.pipeline.design_steps import add_design

    lines = []
    spec = SimpleNamespace(design=SimpleNamespace(analysis="orr"))
    add_design(spec, [], lines.append)
    assert lines == ["design: analysis 'orr' was not run; no design part"]


def test_two_sample_part_renders_empty_boundary_cells_and_excerpts_long_tables(tmp_path):
    from bayes_anlo.design import boundary_two_sample
    from bayes_anlo.report.design_section import design_blocks
    from bayes_anlo.report.render import to_markdown
    from bayes_anlo.report.result import AnalysisResult

    success = np.zeros((4, 3), dtype=bool)
    success[2:, 0] = success[3:, 1] = True  # no treatment outcome succeeds at 2 control events
    differences = np.round(np.arange(0.0, 0.9, 0.01), 2)
    tables = {
        "design_type1": pd.DataFrame({"rate": [0.1, 0.2], "probability_of_success": [0.03, 0.07]}),
        "design_power": pd.DataFrame(
            {
                "difference": differences,
                "treatment_rate": differences + 0.1,
                "control_rate": 0.1,
                "probability_of_success": np.linspace(0.03, 1.0, differences.size),
            }
        ),
        "design_boundary": boundary_two_sample(success),
    }
    result = AnalysisResult("a", "a", "logit_normal", None, True, tables=tables)
    result.sections["design"] = ["**Decision rule.** prose"]
    text = to_markdown(design_blocks([result], tmp_path))
    assert text.startswith("## Designing the next trial")
    boundary = text.split("*Decision boundary", 1)[1]
    assert "NA" not in boundary
    assert "| 2 |  | 0 |" in boundary  # control events 2: no success; treatment events 2: max 0
    assert "| 0 | 2 |  |" in boundary  # treatment events 0: never a success
    power = text.split("against the difference", 1)[1].split("*Decision boundary", 1)[0]
    assert "excerpt; every row in tables/a__design_power.csv" in power
    assert power.count("\n| ") == 1 + 18  # header + differences 0%, 5%, ..., 85%
