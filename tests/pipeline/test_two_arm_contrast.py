"""The two-arm headline and forest rows are read by name, not by row position (issue 12, item 9)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import integrate, stats

from bayes_anlo.models import SamplerSettings
from bayes_anlo.pipeline import two_arm
from bayes_anlo.spec import load_spec

SPEC = """
[analysis]
name = "two_arm_order"
title = "Two arms"
seed = 7

[data]
file = "arms.csv"

[[analyses]]
id = "orr"
title = "ORR by arm"
outcome = "ORR"
model = "two_arm"
method = "exact"
by = "arm"
options = {{ arms = ["{first}", "{second}"] }}
sensitivity = false
"""

DATA = "study,arm,outcome,events,n\nT,alpha,ORR,12,30\nT,beta,ORR,4,28\n"


def exact_p_greater(e1, n1, e2, n2) -> float:
    """P(p1 > p2) for independent Beta(1 + e, 1 + n - e) posteriors, by quadrature."""
    a, b = stats.beta(1 + e1, 1 + n1 - e1), stats.beta(1 + e2, 1 + n2 - e2)
    return integrate.quad(lambda x: a.pdf(x) * b.cdf(x), 0, 1)[0]


@pytest.mark.parametrize(
    ("first", "second", "counts"),
    [
        ("alpha", "beta", (12, 30, 4, 28)),
        ("beta", "alpha", (4, 28, 12, 30)),
    ],
)
def test_headline_probability_is_the_named_row_for_either_arm_order(
    tmp_path, first, second, counts
):
    (tmp_path / "arms.csv").write_text(DATA)
    (tmp_path / "spec.toml").write_text(SPEC.format(first=first, second=second))
    spec = load_spec(tmp_path / "spec.toml")
    result = two_arm.run_two_arm_analysis(
        spec.analyses[0], seed=spec.seed, sampler=SamplerSettings(), index=0
    )
    shown = float(re.search(r"P\(ORR with \w+ > with \w+\) = ([0-9.]+)", result.headline).group(1))
    assert result.headline.startswith(f"P(ORR with {first} > with {second})")
    assert shown == pytest.approx(
        exact_p_greater(*counts), abs=0.03
    )  # 4000 exact draws: MC SE < 0.008
    contrast = result.tables["contrast"]
    row = contrast[contrast["method"] == "P(p1 > p2)"]["estimate"].iloc[0]
    assert shown == pytest.approx(row, abs=5e-4)
    e1, n1, e2, n2 = counts
    wald = contrast[contrast["method"] == "risk difference (Wald 95% CI)"]["estimate"].iloc[0]
    assert wald == pytest.approx(e1 / n1 - e2 / n2)
    assert np.sign(wald) == np.sign(shown - 0.5)


def test_rows_lookup_refuses_a_missing_or_doubled_method():
    import pandas as pd

    frame = pd.DataFrame({"method": ["a", "b", "b"], "estimate": [1.0, 2.0, 3.0]})
    assert two_arm._rows(frame, "a")["estimate"].iloc[0] == 1.0
    with pytest.raises(KeyError):
        two_arm._rows(frame, "b")
    with pytest.raises(KeyError):
        two_arm._rows(frame, "c")
