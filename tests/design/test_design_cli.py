"""`bayes-anlo map` and `bayes-anlo design`: outputs, files, and bad input as exit 2 with located
`error:` lines (never a traceback)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from bayes_anlo.cli import app
from bayes_anlo.design import (
    BetaMixture,
    Criterion,
    OneSampleRule,
    TwoSampleRule,
    ess,
    pos_one_sample,
    robustify,
)

AS_DATA = "examples/design/ankylosing_spondylitis_placebo.csv"
RBEST_MIX = "mix(0.6167463, 19.1916387, 57.7779318; 0.3832537, 3.5278745, 9.3735980)"


def invoke(args):
    result = CliRunner().invoke(app, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_map_json_has_the_documented_keys(tmp_path):
    result = invoke(["map", AS_DATA, "--outcome", "ASAS20", "--json", "--robust-weight", "0.3"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert {"map", "mixture", "ess", "robust"} <= set(out)
    assert set(out["map"]) >= {"mean", "sd", "q2.5", "median", "q97.5"}
    assert set(out["ess"]) == {"elir", "moment", "morita"}
    assert out["robust"]["weight"] == 0.3
    assert out["robust"]["components"][-1] == {"label": "robust", "weight": 0.3, "a": 1.0, "b": 1.0}
    # the JSON is a prior for `design`
    path = tmp_path / "map.json"
    path.write_text(result.stdout)
    mix = BetaMixture.from_dict(out["mixture"])
    assert out["ess"]["elir"] == pytest.approx(ess(mix, "elir"))
    design = invoke(
        ["design", "--prior", f"{path}:robust", "--n", "30", "--criterion", "0.2:0.9", "--json"]
    )
    assert design.exit_code == 0, design.stderr
    assert json.loads(design.stdout)["prior"]["components"][-1]["label"] == "robust"


def test_one_sample_design_writes_tables_and_figure(tmp_path):
    out = tmp_path / "design"
    result = invoke(
        [
            "design",
            "--prior",
            "beta(1, 1)",
            "--n",
            "40",
            "--criterion",
            "0.2:0.9",
            "--criterion",
            "0.3:0.5",
            "--rates",
            "0.1:0.5:0.1",
            "--interim",
            "8/20",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {"design.json", "oc.csv", "boundary.csv", "oc.png"}
    written = json.loads((out / "design.json").read_text())
    rule = OneSampleRule([Criterion(0.2, 0.9), Criterion(0.3, 0.5)])
    success = rule.success(BetaMixture.beta(1, 1), 40)
    assert written["min_success_events"] == int(success.argmax())
    assert "interim" in written
    assert "Success with" in result.stdout


def test_two_sample_design_reports_the_rbest_power_difference():
    result = invoke(
        [
            "design",
            "--prior",
            "beta(0.5, 1)",
            "--control-prior",
            RBEST_MIX,
            "--n",
            "24",
            "--n-control",
            "6",
            "--criterion",
            "0:0.95",
            "--rates",
            "0.2,0.3",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["difference_for_power_0.8"] == pytest.approx(0.298, abs=5e-4)
    assert out["boundary"][0]["min_treatment_events"] == 10


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["map", AS_DATA, "--outcome", "ORR"], "ORR"),
        (["map", "no_such.csv", "--outcome", "ORR"], "no such file"),
        (["map", AS_DATA, "--outcome", "ASAS20", "--model", "exnex"], "--model"),
        (["map", AS_DATA, "--outcome", "ASAS20", "--robust-weight", "1.5"], "--robust-weight"),
        (["design", "--prior", "beta(0, 1)", "--n", "10", "--criterion", "0.2:0.9"], "positive"),
        (["design", "--prior", "beta(1e300, 1)", "--n", "10", "--criterion", "0.2:0.9"], "most"),
        (
            [
                "design",
                "--prior",
                "beta(1,1)",
                "--control-prior",
                "beta(1,1)",
                "--n",
                "5000",
                "--n-control",
                "5",
                "--criterion",
                "0:0.9",
            ],
            "--n",
        ),
        (["map", AS_DATA, "--outcome", "ASAS20", "--mixture-draws", "10"], "--mixture-draws"),
        (["design", "--prior", "gamma(1, 1)", "--n", "10", "--criterion", "0.2:0.9"], "--prior"),
        (["design", "--prior", "beta(1, 1)", "--n", "10", "--criterion", "0.2"], "--criterion"),
        (["design", "--prior", "beta(1, 1)", "--n", "10", "--criterion", "0.2:1.5"], "--criterion"),
        (
            [
                "design",
                "--prior",
                "beta(1,1)",
                "--n",
                "10",
                "--criterion",
                "0.2:0.9",
                "--rates",
                "0.5:0.1:0.1",
            ],
            "--rates",
        ),
        (
            [
                "design",
                "--prior",
                "beta(1,1)",
                "--n",
                "10",
                "--criterion",
                "0.2:0.9",
                "--n-control",
                "5",
            ],
            "--control-prior",
        ),
        (
            [
                "design",
                "--prior",
                "beta(1,1)",
                "--n",
                "10",
                "--criterion",
                "0.2:0.9",
                "--interim",
                "9/5",
            ],
            "--interim",
        ),
    ],
)
def test_bad_input_exits_2_with_an_error_line(args, fragment):
    result = invoke(args)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert lines and any(fragment in line for line in lines), result.stderr
    assert "Traceback" not in result.stderr


def test_robust_prior_file_without_robust_part_is_refused(tmp_path):
    path = tmp_path / "prior.json"
    path.write_text(json.dumps({"mixture": robustify(BetaMixture.beta(2, 5), 0.1).to_dict()}))
    result = invoke(["design", "--prior", f"{path}:robust", "--n", "10", "--criterion", "0.2:0.9"])
    assert result.exit_code == 2
    assert "robust" in result.stderr


def test_interim_patients_are_part_of_n():
    args = ["design", "--prior", "beta(1, 1)", "--n", "40", "--criterion", "0.2:0.9", "--json"]
    out = json.loads(invoke([*args, "--interim", "8/20"]).stdout)
    rule = OneSampleRule([Criterion(0.2, 0.9)])
    expected = pos_one_sample(rule, BetaMixture.beta(1, 1), 20, interim=(8, 20))
    assert out["interim"]["probability_of_success"] == pytest.approx(expected)
    assert invoke([*args, "--interim", "8/40"]).exit_code == 2


def test_two_sample_design_writes_its_tables_and_figure(tmp_path):
    out = tmp_path / "two"
    result = invoke(
        [
            "design",
            "--prior",
            "beta(1, 1)",
            "--control-prior",
            "beta(1, 1)",
            "--n",
            "10",
            "--n-control",
            "10",
            "--criterion",
            "0:0.9",
            "--rates",
            "0.2,0.5",
            "--differences",
            "0:0.4:0.2",
            "--control-rate",
            "0.3",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.stderr
    names = {p.name for p in out.iterdir()}
    assert names == {"design.json", "type1.csv", "power.csv", "boundary.csv", "oc.png"}
    written = json.loads((out / "design.json").read_text())
    assert [round(r["difference"], 6) for r in written["power"]] == [0.0, 0.2, 0.4]
    assert written["control_rate"] == 0.3


def test_two_sample_interim_pos_agrees_with_simulation():
    """PoS given interim data of both arms, checked by simulating the beliefs after the interim,
    the remaining outcomes, and deciding each simulated trial directly (no success matrix)."""
    args = [
        "design",
        "--prior",
        "beta(1, 1)",
        "--control-prior",
        RBEST_MIX,
        "--n",
        "12",
        "--n-control",
        "8",
        "--criterion",
        "0:0.9",
        "--rates",
        "0.3",
        "--interim",
        "3/6",
        "--interim-control",
        "2/4",
        "--json",
    ]
    result = invoke(args)
    assert result.exit_code == 0, result.stderr
    interim = json.loads(result.stdout)["interim"]
    assert (interim["events"], interim["patients"]) == (3, 6)
    assert (interim["control_events"], interim["control_patients"]) == (2, 4)
    treat, control = BetaMixture.beta(1, 1), BetaMixture.from_dict(_mix_dict(RBEST_MIX))
    rule = TwoSampleRule([Criterion(0.0, 0.9)])
    rng = np.random.default_rng(15)
    size = 100_000
    p_t = treat.posterior(3, 6).sample(size, rng)
    p_c = control.posterior(2, 4).sample(size, rng)
    y_t, y_c = rng.binomial(6, p_t), rng.binomial(4, p_c)
    decided = {
        (t, c): rule.decide(treat.posterior(3 + t, 12), control.posterior(2 + c, 8))
        for t, c in set(zip(y_t.tolist(), y_c.tolist(), strict=True))
    }
    sim = np.mean([decided[pair] for pair in zip(y_t.tolist(), y_c.tolist(), strict=True)])
    se = np.sqrt(sim * (1 - sim) / size)
    assert 0.05 < sim < 0.95  # a case where the interim data leave the outcome open
    assert interim["probability_of_success"] == pytest.approx(sim, abs=4 * se)


def _mix_dict(text):
    from bayes_anlo.design.commands import parse_prior

    return parse_prior(text).to_dict()


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--interim-control", "1/4"], "--control-prior"),
        (
            ["--control-prior", "beta(1,1)", "--n-control", "5", "--interim-control", "1/5"],
            "--interim-control",
        ),
        (
            ["--control-prior", "beta(1,1)", "--n-control", "5", "--interim-control", "x"],
            "--interim-control",
        ),
    ],
)
def test_bad_interim_control_exits_2(extra, fragment):
    result = invoke(["design", "--prior", "beta(1,1)", "--n", "10", "--criterion", "0:0.9", *extra])
    assert result.exit_code == 2
    assert any(
        line.startswith("error: ") and fragment in line for line in result.stderr.splitlines()
    ), result.stderr
