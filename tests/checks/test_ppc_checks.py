"""Posterior predictive checks: overdispersion is flagged for complete pooling and not for the
hierarchical models; on well-specified data the p-values lie away from 0 and 1; the statistics and
p-values against hand computations on small hand-made trees."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from bayes_anlo.checks.ppc import COLUMNS, chi2_discrepancy, ppc_replicated, ppc_statistics
from bayes_anlo.models import BetaBinomial, CompletePooling, LogitNormal
from tests.models._data import make_binary, simulate_beta_binomial

GLOBAL = ["variance", "chi2_homogeneity", "min_rate", "max_rate", "chi2_discrepancy"]


def p_values(tree) -> dict[str, float]:
    table = ppc_statistics(tree, units=False)
    return dict(zip(table["statistic"], table["p_value"], strict=True))


@pytest.fixture(scope="module")
def overdispersed():
    """Sixteen studies with strongly varying rates (kappa = 3: ICC 0.25)."""
    y, n = simulate_beta_binomial(16, 0.25, 3.0, seed=31, n_range=(30, 150))
    return make_binary(y, n)


def test_complete_pooling_is_flagged_on_overdispersed_data(overdispersed):
    tree = CompletePooling(method="exact").fit(overdispersed, random_seed=1)
    p = p_values(tree)
    assert p["variance"] < 0.01
    assert p["chi2_homogeneity"] < 0.01
    assert p["chi2_discrepancy"] < 0.01


@pytest.mark.parametrize("cls", [BetaBinomial, LogitNormal])
def test_hierarchical_models_are_not_flagged_on_overdispersed_data(cls, overdispersed):
    tree = cls(method="exact").fit(overdispersed, random_seed=2)
    p = p_values(tree)
    for name in GLOBAL:
        assert 0.05 < p[name] < 0.95, (name, p[name])


@pytest.mark.parametrize("seed", [41, 42])
def test_well_specified_beta_binomial_p_values_away_from_extremes(seed):
    y, n = simulate_beta_binomial(16, 0.2, 25.0, seed=seed)
    tree = BetaBinomial(method="exact").fit(make_binary(y, n), random_seed=seed)
    p = p_values(tree)
    for name in GLOBAL:
        assert 0.05 < p[name] < 0.95, (name, p[name])


def test_well_specified_complete_pooling_p_values_away_from_extremes():
    rng = np.random.default_rng(43)
    n = rng.integers(20, 120, 16)
    tree = CompletePooling(method="exact").fit(make_binary(rng.binomial(n, 0.2), n), random_seed=3)
    p = p_values(tree)
    for name in GLOBAL:
        assert 0.05 < p[name] < 0.95, (name, p[name])


def test_table_shape_and_unit_rows(overdispersed):
    tree = BetaBinomial(method="exact").fit(overdispersed, random_seed=4)
    table = ppc_statistics(tree)
    assert list(table.columns) == COLUMNS
    units = table[table["statistic"] == "unit_tail"]
    assert list(units["unit"]) == overdispersed.labels
    np.testing.assert_array_equal(units["observed"], overdispersed.events)
    assert table["flag"].dtype == bool
    assert ((table["p_value"] < 0.05) | (table["p_value"] > 0.95)).equals(table["flag"])
    replicated = ppc_replicated(tree)
    assert set(replicated) == set(GLOBAL)
    assert all(v.shape == (4000,) for v in replicated.values())


def _hand_tree(events, n, replicated, p_draws):
    """A complete-pooling-shaped tree with given replicates and draws of p (1 chain)."""
    units = [f"U{i}" for i in range(len(events))]
    rep = np.asarray(replicated)[None, :, :]
    draws = rep.shape[1]
    coords = {"chain": [0], "draw": np.arange(draws), "unit": units}
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(
                {"p": (("chain", "draw"), np.asarray(p_draws, dtype=float)[None, :])},
                coords={"chain": [0], "draw": np.arange(draws)},
            ),
            "posterior_predictive": xr.Dataset(
                {"events": (("chain", "draw", "unit"), rep)}, coords=coords
            ),
            "observed_data": xr.Dataset(
                {"events": (("unit",), np.asarray(events))}, coords={"unit": units}
            ),
            "constant_data": xr.Dataset({"n": (("unit",), np.asarray(n))}, coords={"unit": units}),
        }
    )


def test_statistics_and_mid_p_values_by_hand():
    events, n = [2, 5, 9], [10, 10, 20]
    replicated = [[2, 5, 9], [1, 1, 1], [6, 6, 12], [3, 4, 10]]
    tree = _hand_tree(events, n, replicated, [0.3, 0.3, 0.3, 0.3])
    tree.attrs = {"model": "complete_pooling", "options": json.dumps({})}
    table = ppc_statistics(tree).set_index(["statistic", "unit"])
    r_obs = np.array(events) / np.array(n)
    assert table.loc[("variance", ""), "observed"] == pytest.approx(np.var(r_obs, ddof=1))
    pbar = 16 / 40
    x2 = sum((y - m * pbar) ** 2 / (m * pbar * (1 - pbar)) for y, m in zip(events, n, strict=True))
    assert table.loc[("chi2_homogeneity", ""), "observed"] == pytest.approx(x2)
    # min rate: observed 0.2; replicated minima 0.2 (tie), 0.05, 0.6, 0.3 -> P(>) = 2/4, P(=) = 1/4
    assert table.loc[("min_rate", ""), "p_value"] == pytest.approx(0.5 + 0.5 * 0.25)
    # unit U1 (observed 5): replicates 5, 1, 6, 4 -> P(>) = 1/4, P(=) = 1/4
    assert table.loc[("unit_tail", "U1"), "p_value"] == pytest.approx(0.25 + 0.125)
    assert table.loc[("unit_tail", "U1"), "replicated_mean"] == pytest.approx(4.0)
    # chi-square discrepancy with p = 0.3: T(y) = sum (y - 0.3 n)^2 / (n 0.3 0.7)
    t_obs, t_rep = chi2_discrepancy(tree)
    expected = sum((y - 0.3 * m) ** 2 / (m * 0.21) for y, m in zip(events, n, strict=True))
    np.testing.assert_allclose(t_obs, expected)
    expected_rep = [
        sum((y - 0.3 * m) ** 2 / (m * 0.21) for y, m in zip(row, n, strict=True))
        for row in replicated
    ]
    np.testing.assert_allclose(t_rep, expected_rep)
    p = np.mean(np.array(expected_rep) > expected) + 0.5 * np.mean(
        np.array(expected_rep) == expected
    )
    assert table.loc[("chi2_discrepancy", ""), "p_value"] == pytest.approx(p)


def test_discrepancy_uses_beta_binomial_variance():
    """For the beta-binomial, V_i = n mu (1 - mu) (1 + (n - 1) / (kappa + 1))."""
    events, n = [2, 5, 9], [10, 10, 20]
    tree = _hand_tree(events, n, [[2, 5, 9], [1, 1, 1]], [0.0, 0.0])
    post = xr.Dataset(
        {"mu": (("chain", "draw"), [[0.3, 0.4]]), "kappa": (("chain", "draw"), [[4.0, 9.0]])},
        coords={"chain": [0], "draw": [0, 1]},
    )
    tree["posterior"] = xr.DataTree(post)
    tree.attrs = {"model": "beta_binomial"}
    t_obs, _ = chi2_discrepancy(tree)
    for k, (mu, kappa) in enumerate([(0.3, 4.0), (0.4, 9.0)]):
        expected = sum(
            (y - m * mu) ** 2 / (m * mu * (1 - mu) * (1 + (m - 1) / (kappa + 1)))
            for y, m in zip(events, n, strict=True)
        )
        assert t_obs[k] == pytest.approx(expected)
