"""Convergence diagnostics on synthetic draws whose behaviour is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from bayes_anlo.checks.diagnostics import COLUMNS, convergence, diagnostics_table, divergences


def _tree(posterior: dict, *, diverging=None, method="nuts"):
    chains, draws = next(iter(posterior.values())).shape[:2]
    data = {}
    for name, values in posterior.items():
        dims = ("chain", "draw") + (("unit",) if values.ndim == 3 else ())
        data[name] = (dims, values)
    coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    if any(v.ndim == 3 for v in posterior.values()):
        coords["unit"] = ["a", "b"]
    groups = {"posterior": xr.Dataset(data, coords=coords)}
    if diverging is not None:
        groups["sample_stats"] = xr.Dataset(
            {"diverging": (("chain", "draw"), diverging)}, coords=coords
        )
    tree = xr.DataTree.from_dict(groups)
    tree.attrs = {"method": method}
    return tree


def _ar1(rng, chains, draws, rho):
    x = np.empty((chains, draws))
    x[:, 0] = rng.standard_normal(chains)
    for t in range(1, draws):
        x[:, t] = rho * x[:, t - 1] + math.sqrt(1 - rho**2) * rng.standard_normal(chains)
    return x


def test_iid_draws_converge_and_table_is_labelled():
    rng = np.random.default_rng(0)
    scales = np.array([1.0, 10.0])
    tree = _tree(
        {"mu": rng.standard_normal((4, 1000)), "rate": rng.standard_normal((4, 1000, 2)) * scales},
        diverging=np.zeros((4, 1000), bool),
    )
    table = diagnostics_table(tree)
    assert list(table.columns) == COLUMNS
    assert list(table["variable"]) == ["mu", "rate[a]", "rate[b]"]
    assert table["ess_bulk"].between(3000, 5000).all()
    # MCSE of the mean of iid draws is sd / sqrt(N)
    np.testing.assert_allclose(
        table["mcse_mean"], np.array([1.0, 1.0, 10.0]) / math.sqrt(4000), rtol=0.15
    )
    verdict = convergence(tree)
    assert verdict.converged and verdict.reasons == () and verdict.draws == 4000


def test_chains_in_different_places_fail_rhat():
    rng = np.random.default_rng(1)
    draws = rng.standard_normal((4, 1000)) + np.array([0.0, 0.0, 0.0, 1.0])[:, None]
    verdict = convergence(_tree({"mu": draws}))
    assert not verdict.converged
    assert any(r.startswith("R-hat above 1.01") and "mu" in r for r in verdict.reasons)
    assert verdict.max_rhat > 1.05


def test_autocorrelated_chains_fail_ess():
    rng = np.random.default_rng(2)
    verdict = convergence(_tree({"tau": _ar1(rng, 4, 1000, 0.98)}))
    assert not verdict.converged
    assert any("bulk ESS below 400" in r for r in verdict.reasons)
    assert verdict.min_ess_bulk < 400


def test_divergences_are_counted_and_fail():
    rng = np.random.default_rng(3)
    diverging = np.zeros((4, 1000), bool)
    diverging[1, [5, 50, 500]] = True
    tree = _tree({"mu": rng.standard_normal((4, 1000))}, diverging=diverging)
    assert divergences(tree) == 3
    assert diagnostics_table(tree).attrs["divergences"] == 3
    verdict = convergence(tree)
    assert not verdict.converged and verdict.divergences == 3
    assert any("3 divergent transition(s) in 4000 draws" in r for r in verdict.reasons)


def test_exact_fits_always_converge():
    rng = np.random.default_rng(4)
    draws = rng.standard_normal((4, 1000)) + np.array([0.0, 0.0, 0.0, 1.0])[:, None]
    verdict = convergence(_tree({"mu": draws}, method="exact"))
    assert verdict.converged and verdict.method == "exact"
    assert verdict.max_rhat > 1.05  # still reported
    frame = verdict.to_frame()
    assert frame.loc[0, "converged"] and frame.loc[0, "reasons"] == ""


def test_constant_variables_are_skipped():
    rng = np.random.default_rng(5)
    tree = _tree({"mu": rng.standard_normal((4, 500)), "fixed": np.full((4, 500), 0.3)})
    verdict = convergence(tree, ess_min=100)
    assert verdict.converged
    assert np.isnan(diagnostics_table(tree).set_index("variable").loc["fixed", "r_hat"])


@pytest.mark.parametrize("ess_min", [100, 5000])
def test_thresholds_are_parameters(ess_min):
    rng = np.random.default_rng(6)
    verdict = convergence(_tree({"mu": rng.standard_normal((4, 1000))}), ess_min=ess_min)
    assert verdict.converged == (ess_min == 100)


def test_table_of_a_tree_is_computed_once_and_follows_its_posterior(monkeypatch):
    from bayes_anlo.checks import diagnostics

    rng = np.random.default_rng(3)
    tree = _tree({"mu": rng.standard_normal((2, 200))})
    other = _tree({"mu": rng.standard_normal((2, 200))})
    calls = []
    compute = diagnostics._compute_table
    monkeypatch.setattr(
        diagnostics, "_compute_table", lambda t, v: calls.append(id(t)) or compute(t, v)
    )
    first = diagnostics_table(tree)
    first.loc[0, "r_hat"] = 99.0  # a caller's edit does not reach the next caller
    again = diagnostics_table(tree)
    assert calls == [id(tree)] and again.loc[0, "r_hat"] != 99.0
    assert convergence(tree).max_rhat == again.loc[0, "r_hat"]
    assert calls == [id(tree)]
    assert diagnostics_table(other).loc[0, "r_hat"] != again.loc[0, "r_hat"]
    sigma = (("chain", "draw"), rng.standard_normal((2, 200)))
    tree["posterior"] = tree["posterior"].to_dataset().assign(sigma=sigma)
    assert list(diagnostics_table(tree)["variable"]) == ["mu", "sigma"]  # recomputed
    assert calls == [id(tree), id(other), id(tree)]
