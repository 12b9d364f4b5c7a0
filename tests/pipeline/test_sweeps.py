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
    tasks = [sweeps.Task(t.label + " (nuts)", t.model, t.table, t.seed, "nuts", t.priors, t.options,
                         {"draws": 300, "tune": 300, "chains": 2}) for t in exact]
    serial = sweeps.run_tasks(tasks, scheduler=None)
    distributed = sweeps.run_tasks(tasks, scheduler="local", n_workers=2)
    pd.testing.assert_frame_equal(serial, distributed)


def test_prior_sweep_covers_every_alternative(spec_path):
    from bayes_anlo.models import BetaBinomialPriors

    tasks = sweeps.prior_tasks(spec_path, "orr")
    assert [t.label for t in tasks[1:]] == [f"prior set {n}" for n in BetaBinomialPriors.alternatives()]


def test_unknown_analysis_is_an_input_error(spec_path):
    with pytest.raises(InputError, match="no analysis 'nope'"):
        sweeps.leave_one_out_tasks(spec_path, "nope")


def test_method_override_applies_to_every_task(spec_path):
    tasks = sweeps.prior_tasks(spec_path, "orr", method="nuts")
    assert {t.method for t in tasks} == {"nuts"}
    with pytest.raises(InputError, match="method must be"):
        sweeps.leave_one_out_tasks(spec_path, "orr", method="vi")
