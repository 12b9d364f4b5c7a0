"""subgroup_analysis and leave_one_out against R metafor (proportions_subgroups.json and
proportions_leave1out.json), plus the between-subgroup Q recomputed from independent fits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes_anlo.data.binary import load_binary
from bayes_anlo.errors import InputError
from bayes_anlo.frequentist import leave_one_out, pool_proportions, subgroup_analysis

REF = Path(__file__).resolve().parents[1] / "reference"
DATASETS = json.loads((REF / "proportions_datasets.json").read_text())["datasets"]
SUBGROUPS = json.loads((REF / "proportions_subgroups.json").read_text())["results"]
LOO = json.loads((REF / "proportions_leave1out.json").read_text())["results"]
RTOL = 1e-6
PER_KEYS = [
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "i2",
    "h2",
    "q",
    "q_p",
    "theta",
    "theta_se",
]


def _close(actual, desired, key):
    desired = np.array([np.nan if v is None else v for v in np.atleast_1d(desired)], dtype=float)
    np.testing.assert_allclose(
        np.atleast_1d(np.asarray(actual, dtype=float)),
        desired,
        rtol=RTOL,
        atol=1e-12,
        equal_nan=True,
        err_msg=key,
    )


@pytest.mark.parametrize("transform", ["pft", "logit"])
@pytest.mark.parametrize("method", ["DL", "REML"])
@pytest.mark.parametrize("name", list(DATASETS))
def test_subgroups_match_metafor(name, transform, method):
    d = DATASETS[name]
    ref = SUBGROUPS[name][transform][method]
    res = subgroup_analysis(
        d["events"], d["subgroup"], n=d["n"], transform=transform, method=method
    )
    assert list(res.levels) == SUBGROUPS[name]["levels"]
    for level in res.levels:
        for key in PER_KEYS:
            _close(
                getattr(res.per_subgroup[level], key),
                ref["per_subgroup"][level][key],
                f"{level}:{key}",
            )
    _close(res.q_between, ref["q_between"], "q_between")
    _close(res.q_between_p, ref["q_between_p"], "q_between_p")
    assert res.q_between_df == ref["q_between_df"]
    mod = ref["moderator"]
    for key in ("qm", "qm_p", "tau2", "i2", "h2", "r2", "qe", "qe_p"):
        _close(getattr(res.moderator, key), mod[key], f"moderator:{key}")
    assert res.moderator.qm_df == mod["qm_df"] and res.moderator.qe_df == mod["qe_df"]


def test_q_between_from_separate_fits():
    d = DATASETS["large_het"]
    g = np.array(d["subgroup"])
    x, n = np.array(d["events"]), np.array(d["n"])
    theta, w = [], []
    for level in dict.fromkeys(d["subgroup"]):
        r = pool_proportions(x[g == level], n[g == level], transform="logit", method="REML")
        theta.append(r.theta)
        w.append(1 / r.theta_se**2)
    theta, w = np.array(theta), np.array(w)
    q = float(np.sum(w * (theta - np.sum(w * theta) / w.sum()) ** 2))
    res = subgroup_analysis(x, d["subgroup"], n=n, transform="logit", method="REML")
    assert res.q_between == pytest.approx(q, rel=1e-12)
    assert res.q_between_p == pytest.approx(stats.chi2.sf(q, len(theta) - 1), rel=1e-12)


def test_binarydata_column_and_tables():
    d = DATASETS["sarcoma_dcr"]
    frame = pd.DataFrame(
        {
            "study": d["study"],
            "outcome": "DCR",
            "events": d["events"],
            "n": d["n"],
            "disease": d["subgroup"],
        }
    )
    data = load_binary(frame)
    res = subgroup_analysis(data, "disease", transform="pft", method="DL")
    arrays = subgroup_analysis(d["events"], d["subgroup"], n=d["n"], transform="pft", method="DL")
    assert res.q_between == arrays.q_between
    assert res.by == "disease" and res.levels == ("STS", "bone")
    table = res.to_frame()
    assert list(table["subgroup"]) == ["STS", "bone", "overall"]
    assert table.loc[2, "estimate"] == pool_proportions(data, transform="pft", method="DL").estimate
    tests = res.tests_frame()
    assert len(tests) == 2 and set(tests["df"]) == {1}
    json.dumps(res.to_dict())


def test_moderator_skipped_when_too_few_studies():
    res = subgroup_analysis([3, 9], ["a", "b"], n=[20, 30], transform="logit", method="DL")
    assert res.moderator is None
    assert len(res.tests_frame()) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": ["a", "a", "a"]}, "single subgroup"),
        ({"by": ["a", "b"]}, "2 labels for 3 studies"),
        ({"by": "subgroup"}, "needs BinaryData"),
        ({"by": ["a", "b", "b"], "method": "FE"}, "random-effects"),
    ],
)
def test_subgroup_errors(kwargs, message):
    kwargs = {"method": "DL", **kwargs}
    with pytest.raises(ValueError, match=message):
        subgroup_analysis([3, 4, 5], n=[10, 10, 10], **kwargs)


def test_unknown_column_is_an_input_error():
    data = load_binary(
        pd.DataFrame({"study": ["a", "b"], "outcome": "ORR", "events": [1, 2], "n": [5, 6]})
    )
    with pytest.raises(InputError, match="no column 'histology'"):
        subgroup_analysis(data, "histology")


@pytest.mark.parametrize("transform", ["pft", "logit"])
@pytest.mark.parametrize("method", ["DL", "REML", "FE"])
@pytest.mark.parametrize("name", list(DATASETS))
def test_leave_one_out_matches_leave1out(name, transform, method):
    d = DATASETS[name]
    ref = LOO[name][transform][method]
    frame = leave_one_out(
        d["events"], d["n"], transform=transform, method=method, labels=d["study"]
    )
    assert list(frame["left_out"]) == d["study"]
    assert (frame["k"] == len(d["study"]) - 1).all()
    for key in (
        "theta",
        "theta_se",
        "z",
        "p_value",
        "theta_ci_low",
        "theta_ci_high",
        "q",
        "q_p",
        "tau2",
        "i2",
        "h2",
        "estimate",
        "ci_low",
        "ci_high",
    ):
        _close(frame[key], ref[key], key)
    if method == "FE":
        np.testing.assert_array_equal(frame["pi_low"], frame["ci_low"])
    else:
        _close(frame["pi_low"], ref["pi_low"], "pi_low")
        _close(frame["pi_high"], ref["pi_high"], "pi_high")


def test_leave_one_out_needs_two_studies():
    with pytest.raises(InputError, match="at least 2"):
        leave_one_out([3], [10])
