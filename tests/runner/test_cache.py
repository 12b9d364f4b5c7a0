"""The runner's cache: keys follow everything that decides a result; files are whole or absent."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bayes_anlo.runner import FitTask, ResultCache, canonical_json, task_key, task_seeds
from tests.runner._tasks import cheap, counted_fit, exact_tasks


def test_seeds_are_spawned_reproducibly_and_independent_of_the_count():
    seeds = task_seeds(123, 5)
    assert seeds == task_seeds(123, 5)
    assert task_seeds(123, 3) == seeds[:3]  # adding tasks does not move the earlier seeds
    assert len(set(seeds)) == 5
    assert task_seeds(124, 5) != seeds
    expected = np.random.SeedSequence(123).spawn(5)[4].generate_state(1)[0]
    assert seeds[4] == int(expected)


def test_key_changes_with_seed_data_config_function_and_code():
    task = exact_tasks(1)[0]
    key = task_key(task, cheap, "code-a")
    assert key == task_key(exact_tasks(1)[0], cheap, "code-a")
    changed_data = {**task.data, "events": [e + 1 for e in task.data["events"]]}
    changed_config = {**task.config, "method": "nuts"}
    others = [
        task_key(FitTask(task.label, task.config, task.data, task.seed + 1), cheap, "code-a"),
        task_key(FitTask(task.label, task.config, changed_data, task.seed), cheap, "code-a"),
        task_key(FitTask(task.label, changed_config, task.data, task.seed), cheap, "code-a"),
        task_key(task, counted_fit, "code-a"),
        task_key(task, cheap, "code-b"),
    ]
    assert len({key, *others}) == 6


def test_a_dataframe_and_its_columns_make_the_same_task():
    task = exact_tasks(1)[0]
    frame = pd.DataFrame(task.data).astype({"events": np.int64, "n": np.int64})
    same = FitTask(task.label, task.config, frame, np.uint32(task.seed))
    assert task_key(same, cheap, "x") == task_key(task, cheap, "x")


def test_canonical_json_is_order_free_and_keeps_floats_exactly():
    value = {"b": np.float64(0.1) + 0.2, "a": [np.int64(3), float("nan"), -np.inf]}
    text = canonical_json(value)
    assert text == canonical_json(dict(reversed(list(value.items()))))
    assert json.loads(text) == {"a": [3, "nan", "-inf"], "b": 0.30000000000000004}


def test_put_then_get_and_a_damaged_file_is_a_miss(tmp_path):
    cache = ResultCache(tmp_path / "cache")
    key = "ab" + "0" * 62
    assert cache.get(key) is None
    path = cache.put(key, {"x": 1.5})
    assert cache.get(key) == {"x": 1.5}
    assert cache.files() == [path]
    assert not list(path.parent.glob(".tmp-*"))  # no temporary file left behind
    path.write_text(path.read_text()[:-3])  # a truncated file (not possible via put)
    assert cache.get(key) is None
    other = "ab" + "1" * 62
    path.rename(cache.path(other))  # a file under the wrong name is not trusted
    assert cache.get(other) is None


@pytest.mark.parametrize("bad", ["[]", '{"key": "ab00", "result": 1}', "not json"])
def test_unexpected_file_contents_are_a_miss(tmp_path, bad):
    cache = ResultCache(tmp_path)
    key = "ab00"
    cache.path(key).parent.mkdir(parents=True)
    cache.path(key).write_text(bad)
    assert cache.get(key) is None


def test_sbc_task_keys_follow_every_setting_of_the_set_up_not_the_payload_object():
    from bayes_anlo.checks.calibration import sbc_task, sbc_tasks
    from bayes_anlo.runner import describe
    from bayes_anlo.studies.sbc_runs import BetaBinomialNutsSBC, NutsSettings

    default = sbc_tasks(BetaBinomialNutsSBC(), 2, seed=1)
    same = sbc_tasks(BetaBinomialNutsSBC(), 2, seed=1)
    longer = sbc_tasks(BetaBinomialNutsSBC(nuts=NutsSettings(draws=600)), 2, seed=1)
    keys = [task_key(t, sbc_task, "code") for t in default]
    assert keys == [task_key(t, sbc_task, "code") for t in same]
    assert len(set(keys)) == 2  # one per dataset
    assert not set(keys) & {task_key(t, sbc_task, "code") for t in longer}
    description = describe(BetaBinomialNutsSBC())
    assert description["class"] == "bayes_anlo.studies.sbc_runs.BetaBinomialNutsSBC"
    assert description["nuts"]["draws"] == 500 and description["design"]["k"] == 8
    with pytest.raises(TypeError):
        describe(object())
