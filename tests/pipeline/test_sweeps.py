"""Sweeps give identical results serially and on a two-worker Dask LocalCluster."""

from __future__ import annotations

import pandas as pd
import pytest

from bayes_anlo import sweeps
from bayes_anlo.errors import InputError

pytest.importorskip("dask.distributed")


def test_leave_one_out_tasks_drop_each_study_once(spec_path):
    tasks = sweeps.leave_one_out_tasks(spec_path, "orr")
    assert len(tasks) == 7 and tasks[0].label == "all studies"
    assert [len(t.table) for t in tasks] == [6] + [5] * 6
    left_out = [set(tasks[0].table["study"]) - set(t.table["study"]) for t in tasks[1:]]
    assert left_out == [{f"S{i}"} for i in range(1, 7)]
    assert len({t.seed for t in tasks}) == len(tasks)  # every refit has its own seed


def test_dask_local_cluster_matches_serial_exact_engine(spec_path):
    tasks = sweeps.leave_one_out_tasks(spec_path, "orr")
    serial = sweeps.run_tasks(tasks, scheduler=None)
    distributed = sweeps.run_tasks(tasks, scheduler="local", n_workers=2)
    pd.testing.assert_frame_equal(serial, distributed)
    assert serial["pooled_rate_median"].between(0, 1).all()


@pytest.mark.slow
def test_dask_local_cluster_matches_serial_nuts(spec_path):
    exact = sweeps.leave_one_out_tasks(spec_path, "orr")[:3]
    tasks = [
        sweeps.Task(
            t.label + " (nuts)",
            t.model,
            t.table,
            t.seed,
            "nuts",
            t.priors,
            t.options,
            {"draws": 300, "tune": 300, "chains": 2},
        )
        for t in exact
    ]
    serial = sweeps.run_tasks(tasks, scheduler=None)
    distributed = sweeps.run_tasks(tasks, scheduler="local", n_workers=2)
    pd.testing.assert_frame_equal(serial, distributed)


def test_prior_sweep_covers_every_alternative(spec_path):
    from bayes_anlo.models import BetaBinomialPriors

    tasks = sweeps.prior_tasks(spec_path, "orr")
    assert [t.label for t in tasks[1:]] == [
        f"prior set {n}" for n in BetaBinomialPriors.alternatives()
    ]


def test_unknown_analysis_is_an_input_error(spec_path):
    with pytest.raises(InputError, match="no analysis 'nope'"):
        sweeps.leave_one_out_tasks(spec_path, "nope")


def test_method_override_applies_to_every_task(spec_path):
    tasks = sweeps.prior_tasks(spec_path, "orr", method="nuts")
    assert {t.method for t in tasks} == {"nuts"}
    with pytest.raises(InputError, match="method must be"):
        sweeps.leave_one_out_tasks(spec_path, "orr", method="vi")


TWO_ARM_CSV = """study,outcome,events,n,arm
S1,ORR,9,20,combination
S2,ORR,3,25,alone
S3,ORR,8,22,combination
S4,ORR,4,30,alone
S5,ORR,6,18,combination
"""

TWO_ARM_SPEC = """
[analysis]
name = "two_arm_sweep"
title = "Two arms, leave one out"
description = "Synthetic two-arm data; the first row's arm must stay arm 1 in every refit."
seed = 5
limitations = ["Synthetic data."]

[data]
file = "arms.csv"

[[analyses]]
id = "arms"
title = "Combination vs alone"
outcome = "ORR"
model = "two_arm"
method = "exact"
by = "arm"
options = { hierarchical = false }
"""


@pytest.fixture
def two_arm_spec(tmp_path):
    (tmp_path / "arms.csv").write_text(TWO_ARM_CSV)
    path = tmp_path / "arms.toml"
    path.write_text(TWO_ARM_SPEC)
    return path


def test_two_arm_sweep_compares_arms_by_label(two_arm_spec):
    """Without S1 the first row is an 'alone' row: the arms must still be compared as
    combination vs alone, and P(p1 > p2) must equal the exact conjugate value of that comparison."""
    from bayes_anlo.data.binary import load_binary
    from bayes_anlo.models import two_arm_exact
    from bayes_anlo.models.two_arm import prepare_two_arm

    tasks = sweeps.leave_one_out_tasks(two_arm_spec, "arms")
    assert all(
        t.options["by"] == "arm" and t.options["arms"] == ["combination", "alone"] for t in tasks
    )
    without_s1 = load_binary(tasks[1].table)
    assert (
        prepare_two_arm(without_s1).coords["arm"][0] == "alone"
    )  # what first appearance would give
    table = sweeps.run_tasks(tasks)
    assert (table["arm_1"] == "combination").all() and (table["arm_2"] == "alone").all()
    for task, row in zip(tasks, table.itertuples(index=False), strict=True):
        exact = two_arm_exact(load_binary(task.table), arms=["combination", "alone"])
        assert row.prob_arm_1_greater == pytest.approx(exact.prob_superior, abs=0.03), task.label
        assert row.difference_median > 0


def test_tasks_carry_the_specs_by(two_arm_spec):
    for task in sweeps.prior_tasks(two_arm_spec, "arms"):
        assert task.options["by"] == "arm" and task.options["hierarchical"] is False


def test_unreachable_scheduler_is_an_input_error(spec_path):
    tasks = sweeps.leave_one_out_tasks(spec_path, "orr")[:1]
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        sweeps.run_tasks(tasks, scheduler="tcp://127.0.0.1:9", timeout=1)


def test_zero_workers_is_an_input_error(spec_path):
    tasks = sweeps.leave_one_out_tasks(spec_path, "orr")[:1]
    with pytest.raises(InputError, match="at least 1"):
        sweeps.run_tasks(tasks, scheduler="local", n_workers=0)


def test_sweep_cli_unreachable_scheduler_exits_2(spec_path, monkeypatch):
    from click.testing import CliRunner

    from bayes_anlo.cli import app
    from bayes_anlo.runner import execute

    monkeypatch.setattr(execute, "SCHEDULER_TIMEOUT", 1)
    result = CliRunner().invoke(
        app, ["sweep", str(spec_path), "--analysis", "orr", "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "Traceback" not in result.output
    assert "within 1 s" in result.output  # the one scheduler timeout of the package
