"""Simulated operating characteristics of one- and two-sample rules (through the runner) agree with
the exact binomial sums within Monte Carlo error, decide each distinct outcome once, and the
``study oc`` command writes its tables and figure (called through a small Typer app here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bayes_anlo.design import (
    BetaMixture,
    Criterion,
    OneSampleRule,
    TwoSampleRule,
    oc_study,
    robustify,
)
from bayes_anlo.design.oc_cli import study_oc
from bayes_anlo.design.oc_study import simulate_oc_one_sample, simulate_oc_two_sample
from bayes_anlo.runner import task_seeds

#: Four standard errors: a point fails by chance with probability 6e-5 (normal approximation).
Z = 4.0


def within_mc_error(table: pd.DataFrame) -> np.ndarray:
    """|simulated - exact| <= Z * SE, the SE from the exact probability (0 when it is 0 or 1,
    where the simulation must then be exact too)."""
    se = np.sqrt(table["exact"] * (1 - table["exact"]) / table["trials"])
    return np.abs(table["probability_of_success"] - table["exact"]) <= Z * se + 1e-12


def test_one_sample_simulation_agrees_with_the_exact_oc_and_decides_each_outcome_once(
    monkeypatch,
):
    prior = robustify(BetaMixture.of([0.6, 0.4], [3, 8], [12, 20]), 0.2)
    rule = OneSampleRule([Criterion(0.2, 0.9)])
    calls = []
    real_decide = OneSampleRule.decide
    monkeypatch.setattr(
        OneSampleRule, "decide", lambda self, post: calls.append(1) or real_decide(self, post)
    )
    table = simulate_oc_one_sample(
        rule, prior, 40, [0.1, 0.2, 0.25, 0.3, 0.4], sims=20_000, block=5_000, seed=7
    )
    assert within_mc_error(table).all(), table
    assert (table["trials"] == 20_000).all()
    # a block of 5,000 trials of 40 patients has at most 41 distinct outcomes, each decided once
    # (and the exact OC beside the table decides all 41 outcomes once more)
    assert len(calls) == table["distinct_outcomes"].sum() + 41
    assert table["distinct_outcomes"].sum() <= 5 * 4 * 41
    # the first rate's blocks, redrawn from their seeds: their distinct outcomes, block by block
    seeds = task_seeds(7, 5 * 4)[:4]
    redrawn = [np.random.default_rng(s).binomial(40, 0.1, size=5_000) for s in seeds]
    assert table["distinct_outcomes"].iloc[0] == sum(np.unique(b).size for b in redrawn)
    assert table["successes"].iloc[0] == sum(
        int(np.sum(rule.success(prior, 40)[b])) for b in redrawn
    )


def test_two_sample_simulation_agrees_with_the_exact_oc():
    rule = TwoSampleRule([Criterion(0.0, 0.9), Criterion(0.45, 0.5, "less")])  # mixed directions
    prior_t, prior_c = BetaMixture.beta(1, 1), BetaMixture.beta(2, 6)
    pairs = [(0.25, 0.25), (0.5, 0.25), (0.7, 0.3)]
    table = simulate_oc_two_sample(
        rule, prior_t, prior_c, 10, 8, pairs, sims=6_000, block=3_000, seed=11
    )
    assert within_mc_error(table).all(), table
    assert (table["distinct_outcomes"] <= 2 * 11 * 9).all()
    assert table["exact"].iloc[0] < table["exact"].iloc[1]  # more power at a larger difference


def test_results_depend_on_the_seed_only(tmp_path):
    rule = OneSampleRule([Criterion(0.3, 0.8)])
    prior = BetaMixture.beta(1, 1)
    a = simulate_oc_one_sample(rule, prior, 20, [0.3, 0.5], sims=3_000, block=1_000, seed=3)
    b = simulate_oc_one_sample(
        rule, prior, 20, [0.3, 0.5], sims=3_000, block=1_000, seed=3, cache_dir=tmp_path
    )
    c = simulate_oc_one_sample(rule, prior, 20, [0.3, 0.5], sims=3_000, block=1_000, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["successes"].equals(c["successes"])


def test_the_two_sample_decider_is_shared_by_blocks_of_one_design(monkeypatch):
    oc_study._two_sample_decider.cache_clear()
    calls = []
    real = TwoSampleRule.decide
    monkeypatch.setattr(
        TwoSampleRule, "decide", lambda self, t, c: calls.append(1) or real(self, t, c)
    )
    rule = TwoSampleRule([Criterion(0.1, 0.8)])
    prior = BetaMixture.beta(1, 1)
    table = simulate_oc_two_sample(
        rule, prior, prior, 4, 4, [(0.5, 0.5), (0.6, 0.4)], sims=2_000, block=500, seed=5
    )
    simulated = len(calls)
    calls.clear()
    rule.success_matrix(prior, prior, 4, 4)  # what the exact column beside the table costs
    # 5 x 5 outcomes at most, decided once for all 8 blocks of both rate pairs
    assert simulated - len(calls) <= 25 < table["distinct_outcomes"].sum()


# ---- the command ---------------------------------------------------------------------------


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(study_oc, list(map(str, args)))

    return invoke


def test_command_writes_the_one_sample_table_and_figure(cli, tmp_path):
    out = tmp_path / "oc"
    result = cli(
        "--rule", "0.2:0.9", "--n", 30, "--rates", "0.1,0.3", "--sims", 2000, "--block", 1000,
        "--out", out, "--no-cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results" / "oc.csv")
    assert list(table["rate"]) == [0.1, 0.3]
    assert within_mc_error(table).all()
    assert (out / "figures" / "oc.png").stat().st_size > 1000


def test_command_two_sample_crosses_rates_with_control_rates(cli, tmp_path):
    out = tmp_path / "two"
    result = cli(
        "--rule", "0:0.9", "--n", 6, "--control-prior", "beta(1, 1)", "--n-control", 6,
        "--rates", "0.3,0.6", "--control-rates", "0.3", "--sims", 500, "--out", out, "--no-cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results" / "oc.csv")
    assert list(zip(table["treatment_rate"], table["control_rate"], strict=True)) == [
        (0.3, 0.3),
        (0.6, 0.3),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either --rule or --basket"),
        (["--rule", "0.2:0.9"], "--rule needs --n"),
        (["--rule", "0.2:1.5", "--n", 5], "--criterion"),
        (["--rule", "0.2:0.9", "--n", 5, "--sims", 0], "--sims"),
        (["--rule", "0.2:0.9", "--n", 5, "--n-control", 5], "need --control-prior"),
        (["--rule", "0.2:0.9", "--n", 5, "--ex", "0:1:1:0.5"], "go with --basket"),
    ],
)
def test_bad_options_exit_2_with_one_error_line_each(cli, tmp_path, args, message):
    result = cli(*args, "--out", tmp_path / "x", "--no-cache")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert lines and message in lines[0], result.output
    assert "Traceback" not in result.output
