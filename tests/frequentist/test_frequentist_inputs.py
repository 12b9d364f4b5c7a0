"""Input validation of the pooling functions: every problem gives a clear InputError (a ValueError)
naming the position and the column, and all problems of one call are reported together."""

from __future__ import annotations

import pandas as pd
import pytest

from bayes_anlo.data.binary import load_binary
from bayes_anlo.errors import InputError
from bayes_anlo.frequentist import glmm_logit, leave_one_out, pool_proportions, subgroup_analysis

FUNCTIONS = [
    lambda e, n: pool_proportions(e, n),
    lambda e, n: pool_proportions(e, n, transform="logit", method="REML"),
    lambda e, n: glmm_logit(e, n),
    lambda e, n: leave_one_out(e, n),
    lambda e, n: subgroup_analysis(e, ["a", "b"] * 5, n=n),
]


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize(
    ("events", "n", "message"),
    [
        ([], [], "no studies"),
        ([1, 2, 3], [10, 10], "events has 3 values but n has 2"),
        ([1, 12], [10, 10], r"<arguments>:2:events: events \(12\) exceed n \(10\)"),
        ([-1, 2], [10, 10], "1:events: -1 is negative"),
        ([1.5, 2], [10, 10], "1.5 is not a whole number"),
        ([1, 2], [10, 0], "2:n: 0: each study needs n >= 1"),
        ([1, 2], None, "n is required"),
        ("abc", [3], "must be numbers"),
    ],
)
def test_bad_counts(fn, events, n, message):
    with pytest.raises(InputError, match=message):
        fn(events, n)


def test_all_problems_reported_together():
    with pytest.raises(InputError) as info:
        pool_proportions([11, -2, 3], [10, 5, 0])
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert isinstance(info.value, ValueError)


def test_binarydata_with_two_outcomes_is_refused():
    data = load_binary(
        pd.DataFrame(
            {
                "study": ["a", "a", "b", "b"],
                "outcome": ["ORR", "DCR", "ORR", "DCR"],
                "events": [2, 8, 3, 9],
                "n": [10, 10, 12, 12],
            }
        )
    )
    with pytest.raises(InputError, match="one outcome"):
        pool_proportions(data)
    assert pool_proportions(data.select("DCR")).k == 2
    with pytest.raises(InputError, match="do not pass n"):
        pool_proportions(data.select("DCR"), [10, 12])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transform": "arcsine"}, "unknown transform"),
        ({"method": "GENQ"}, "unknown tau"),
        ({"level": 95}, "level must lie in"),
        ({"labels": ["only one"]}, "1 labels for 2 studies"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pool_proportions([1, 2], [10, 10], **kwargs)
