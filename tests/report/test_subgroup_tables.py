"""Subgroup tables of the report, and the rate-scale leave-one-out table, checked against
independent computations: exact Beta integrals for posterior contrasts, metafor (R) reference
values for leave-one-out, separate frequentist pooling for per-subgroup rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import integrate, stats

from bayes_anlo import frequentist as fq
from bayes_anlo.report import tables
from tests.models._data import make_binary

REF = Path(__file__).resolve().parents[1] / "reference"
LOO = json.loads((REF / "proportions_leave1out.json").read_text())["results"]
DATASETS = json.loads((REF / "proportions_datasets.json").read_text())["datasets"]

# three subgroups with independent Beta posteriors (as a conjugate fit would give)
BETAS = {"A": (6.0, 30.0), "B $": (12.0, 40.0), "C_1": (3.0, 30.0)}


@pytest.fixture(scope="module")
def beta_tree() -> xr.DataTree:
    rng = np.random.default_rng(20261130)
    chains, draws = 4, 50_000
    values = np.stack([rng.beta(a, b, size=(chains, draws)) for a, b in BETAS.values()], axis=-1)
    post = xr.Dataset(
        {"subgroup_rate": (("chain", "draw", "subgroup"), values)},
        coords={"chain": np.arange(chains), "draw": np.arange(draws), "subgroup": list(BETAS)},
    )
    return xr.DataTree.from_dict({"posterior": post})


def exact_prob_greater(a, b) -> float:
    """P(X > Y), X ~ Beta(a), Y ~ Beta(b) independent: int f_X(x) F_Y(x) dx."""
    fx, fy = stats.beta(*a), stats.beta(*b)
    return integrate.quad(lambda x: fx.pdf(x) * fy.cdf(x), 0, 1, limit=200)[0]


def exact_difference_cdf(a, b, d: float) -> float:
    """P(X - Y <= d) = int f_X(x) (1 - F_Y(x - d)) dx."""
    fx, fy = stats.beta(*a), stats.beta(*b)
    return integrate.quad(lambda x: fx.pdf(x) * fy.sf(x - d), 0, 1, limit=200)[0]


def test_contrasts_match_exact_beta_integrals(beta_tree):
    table = tables.subgroup_contrasts(beta_tree)
    assert list(zip(table["subgroup_a"], table["subgroup_b"], strict=True)) == [
        ("A", "B $"),
        ("A", "C_1"),
        ("B $", "C_1"),
    ]
    n = 200_000
    for row in table.itertuples(index=False):
        a, b = BETAS[row.subgroup_a], BETAS[row.subgroup_b]
        p = exact_prob_greater(a, b)
        assert abs(row.prob_a_greater - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-4
        # the printed quantiles sit at the exact CDF levels 2.5%, 50%, 97.5% (within Monte Carlo
        # error)
        for value, level in (
            (row.difference_low, 0.025),
            (row.difference_median, 0.5),
            (row.difference_high, 0.975),
        ):
            assert (
                abs(exact_difference_cdf(a, b, value) - level)
                < 5 * np.sqrt(level * (1 - level) / n) + 1e-4
            )
    # a contrast and its reverse are consistent: B - A would be the negation; A vs A is not listed
    assert (table["difference_low"] < table["difference_median"]).all()
    assert (table["difference_median"] < table["difference_high"]).all()


def test_single_study_subgroups_are_named_in_order():
    assert tables.single_study_subgroups(["x", "y", "x", "z", 3]) == ["y", "z", "3"]
    assert tables.single_study_subgroups(["x", "x"]) == []


def test_subgroup_rows_hold_each_subgroup_pooled_on_its_own(beta_tree):
    events, n = [3, 5, 1, 8, 4, 6], [30, 25, 12, 40, 22, 35]
    data = make_binary(events, n)
    groups = np.array(["A", "A", "B $", "B $", "C_1", "C_1"])
    sub = fq.subgroup_analysis(data, list(groups), transform="logit", method="REML")
    rows = tables.subgroup_pooled_rows(beta_tree, sub, "nested")
    assert rows["subgroup"].tolist() == ["A", "A", "B $", "B $", "C_1", "C_1"]
    assert rows["paradigm"].tolist() == ["Bayesian", "frequentist"] * 3
    for level in BETAS:
        mask = groups == level
        alone = fq.pool_proportions(
            np.array(events)[mask], np.array(n)[mask], transform="logit", method="REML"
        )
        f = rows[(rows["subgroup"] == level) & (rows["paradigm"] == "frequentist")].iloc[0]
        assert np.isclose(f["estimate"], alone.estimate, rtol=1e-10)
        assert np.isclose(f["ci_low"], alone.ci_low, rtol=1e-10) and np.isclose(
            f["ci_high"], alone.ci_high, rtol=1e-10
        )
        b = rows[(rows["subgroup"] == level) & (rows["paradigm"] == "Bayesian")].iloc[0]
        a_, b_ = BETAS[level]
        assert abs(b["estimate"] - stats.beta(a_, b_).median()) < 2e-3
        assert np.isnan(b["pi_low"])  # no predictive variable in this tree


@pytest.mark.parametrize("name", ["zero_event", "large_het", "sarcoma_dcr"])
def test_leave_one_out_table_is_on_the_rate_scale_and_matches_metafor(name):
    ref = LOO[name]["logit"]["REML"]
    data = DATASETS[name]
    frame = tables.leave_one_out_rates(
        fq.leave_one_out(
            np.asarray(data["events"]), np.asarray(data["n"]), transform="logit", method="REML"
        )
    )
    assert list(frame.columns) == [
        "left_out",
        "method",
        "k",
        "estimate",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "tau2_logit",
        "i2",
    ]
    for column, key in (
        ("estimate", "estimate"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
        ("tau2_logit", "tau2"),
        ("i2", "i2"),
    ):
        np.testing.assert_allclose(
            frame[column].to_numpy(dtype=float),
            np.asarray(ref[key], dtype=float),
            rtol=1e-5,
            atol=1e-8,
            err_msg=column,
        )
    assert ((frame["estimate"] > 0) & (frame["estimate"] < 1)).all()


def test_population_mean_names_exactly_one_quantity_per_model():
    for model in ("beta_binomial", "logit_normal", "nested_beta_binomial"):
        present = ["pooled_rate"] + (["mean_rate"] if model != "beta_binomial" else [])
        described = [tables.describe_variable(v, model) for v in present]
        assert sum("population mean" in d.lower() for d in described) == 1, (model, described)
    assert "median" in tables.describe_variable("pooled_rate", "logit_normal")
    assert pd.notna(tables.describe_variable("mean_rate", "logit_normal"))
