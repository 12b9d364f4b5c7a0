"""The model contract: one registry drives the spec schema, fitted trees rebuild their model,
prior parameters are data (one compilation serves every prior set of the same families), and the
main path of ``run`` uses the exact engines, agreeing with the NUTS path it replaced."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from bayes_anlo.models import (
    BetaBinomial,
    BetaBinomialPriors,
    LogitNormal,
    Model,
    NestedBetaBinomial,
    PiecewiseExponential,
    TwoArm,
    compile_cache,
    registry,
)
from bayes_anlo.models.options import NoOptions
from bayes_anlo.models.priors import LogNormal
from bayes_anlo.models.sampling import SamplerSettings
from tests.models._data import make_binary

REPO = Path(__file__).resolve().parents[2]
TINY = SamplerSettings(draws=200, tune=200, chains=1)


# ---- configuration on the tree, and back ------------------------------------------------------


@pytest.mark.parametrize("cls", [BetaBinomial, LogitNormal])
def test_exact_fit_rebuilds_its_model_from_the_tree(cls, zero_event_data):
    model = cls(
        cls.priors_class.alternatives()[next(iter(cls.priors_class.alternatives()))],
        method="exact",
        sampler=SamplerSettings(draws=300, chains=2),
        thresholds=(0.2, 0.3),
    )
    tree = model.fit(zero_event_data, random_seed=5)
    rebuilt = Model.from_tree(tree)
    assert type(rebuilt) is cls
    assert rebuilt.config() == model.config()
    assert rebuilt.priors == model.priors and rebuilt.thresholds == (0.2, 0.3)
    # the rebuilt model reproduces the fit draw for draw
    again = rebuilt.fit(zero_event_data, random_seed=5)
    np.testing.assert_array_equal(
        again["posterior"]["pooled_rate"].values, tree["posterior"]["pooled_rate"].values
    )


@pytest.mark.parametrize(
    "model",
    [
        NestedBetaBinomial(method="nuts", by="tissue", within="binomial", thresholds=(0.1,)),
        TwoArm(arms=("a", "b"), hierarchical=False, method="exact"),
        PiecewiseExponential(
            cuts=(0, 3, 6),
            priors="wide_hazard",
            hierarchical=False,
            smooth=True,
            times=(6, 12),
            horizon=24.0,
            endpoint="OS",
            grid_size=25,
            sampler=TINY,
        ),
    ],
    ids=lambda m: m.name,
)
def test_config_round_trip_every_family(model):
    text = json.dumps(model.config(), sort_keys=True)  # JSON-able, as stored on the tree
    rebuilt = Model.from_config(json.loads(text))
    assert type(rebuilt) is type(model)
    assert rebuilt.config() == model.config()


def test_a_tree_without_config_is_refused():
    import xarray as xr

    with pytest.raises(ValueError, match="no model configuration"):
        Model.from_tree(xr.DataTree())


# ---- the registry drives the spec schema --------------------------------------------------------


def test_registry_drives_the_spec_schema(monkeypatch):
    from bayes_anlo import spec_schema

    assert spec_schema.MODEL_OPTIONS == {
        name: cls.options_schema for name, cls in registry.FAMILIES.items()
    }
    assert spec_schema.GROUPED_MODELS == {
        "nested_beta_binomial": "subgroup",
        "two_arm": "arm",
        "exnex": "subgroup",
    }
    assert spec_schema.SURVIVAL_MODELS == {"piecewise_exponential"}

    class Dummy(BetaBinomial):  # a family to come, registered in one place
        name = "dummy_family"
        grouping = "site"
        options_schema = NoOptions

    monkeypatch.setitem(registry.FAMILIES, "dummy_family", Dummy)
    assert spec_schema.MODEL_OPTIONS["dummy_family"] is NoOptions
    assert spec_schema.GROUPED_MODELS["dummy_family"] == "site"
    assert spec_schema.methods_of("dummy_family") == ("nuts", "exact")
    assert spec_schema.priors_class_of("dummy_family") is BetaBinomialPriors


def test_from_spec_is_the_one_factory():
    from bayes_anlo.spec import load_spec

    spec = load_spec(REPO / "models" / "sarcoma_meta_analysis.toml")
    entries = {e.id: e for e in spec.analyses}
    nested = Model.from_spec(entries["orr_by_tissue"], SamplerSettings())
    assert isinstance(nested, NestedBetaBinomial) and nested.by == "subgroup"
    assert nested.thresholds == (0.1,) and nested.method == "auto"
    orr = Model.from_spec(entries["orr"], TINY, priors=BetaBinomialPriors.named("bda_proper"))
    assert orr.priors == BetaBinomialPriors.named("bda_proper") and orr.sampler == TINY


# ---- compile once --------------------------------------------------------------------------------


def test_one_compilation_serves_every_prior_set_of_the_same_families(
    zero_event_data, empty_compile_cache
):
    """Refits under other prior parameters reuse the compiled graph, and the new parameters are
    really used: a tight prior on kappa moves the posterior of kappa to it."""
    before = compile_cache.compilations()
    default = BetaBinomial(method="nuts", sampler=TINY).fit(zero_event_data, random_seed=1)
    assert compile_cache.compilations() == before + 1
    tight = BetaBinomialPriors(kappa=LogNormal(6.0, 0.05))  # kappa near e^6 = 403
    refit = BetaBinomial(tight, method="nuts", sampler=TINY).fit(zero_event_data, random_seed=1)
    alt = BetaBinomialPriors.named("low_heterogeneity")
    BetaBinomial(alt, method="nuts", sampler=TINY).fit(zero_event_data, random_seed=2)
    assert compile_cache.compilations() == before + 1  # three fits, one compilation
    assert abs(np.log(np.median(refit["posterior"]["kappa"].values)) - 6.0) < 0.2
    assert np.median(default["posterior"]["kappa"].values) < 100


# ---- the exact engine on the main path -----------------------------------------------------------


def test_auto_uses_the_exact_engine_where_it_applies(zero_event_data):
    tree = BetaBinomial(method="auto").fit(zero_event_data, random_seed=3)
    assert tree.attrs["method"] == "exact" and "sample_stats" not in tree
    several = make_binary([2, 3, 1, 4, 0], [20, 25, 18, 30, 15], subgroup=["a", "a", "b", "b", "b"])
    nested = NestedBetaBinomial(method="auto")
    # the 3-D grid engine (exact/nested.py) covers several studies per subgroup too
    assert nested.resolved_method(nested.prepare(several)) == "exact"
    one_each = make_binary([2, 3, 1], [20, 25, 18], subgroup=["a", "b", "c"])
    assert nested.resolved_method(nested.prepare(one_each)) == "exact"
    assert PiecewiseExponential(method="auto").resolved_method(None) == "nuts"


def test_run_main_path_matches_the_old_nuts_path_within_monte_carlo_error():
    """The ``orr`` analysis of the sarcoma spec: the new default (exact engine) against the NUTS
    fit the pipeline used before, on the posterior summaries the report prints."""
    from arviz_stats import mcse

    from bayes_anlo.pipeline.binary import load_entry_data
    from bayes_anlo.spec import load_spec

    spec = load_spec(REPO / "models" / "sarcoma_meta_analysis.toml")
    entry = next(e for e in spec.analyses if e.id == "orr")
    assert entry.method == "auto"
    data = load_entry_data(entry)
    sampler = SamplerSettings(draws=1000, tune=1000, chains=2, target_accept=0.95)
    new = Model.from_spec(entry, sampler).fit(data, random_seed=11)
    old = Model.from_spec(dataclasses.replace(entry, method="nuts"), sampler).fit(
        data, random_seed=11
    )
    assert new.attrs["method"] == "exact" and old.attrs["method"] == "nuts"
    for var in ("pooled_rate", "predictive_rate", "icc"):
        a = new["posterior"][var]
        b = old["posterior"][var]
        err_a = float(mcse(a.to_dataset(name="x"), method="mean")["x"])
        err_b = float(mcse(b.to_dataset(name="x"), method="mean")["x"])
        tol = 4 * np.hypot(err_a, err_b)
        assert abs(float(a.mean()) - float(b.mean())) < tol, var
        for q in (0.025, 0.5, 0.975):  # quantiles: a looser, scale-aware bound
            qa, qb = float(a.quantile(q)), float(b.quantile(q))
            assert abs(qa - qb) < 0.1 * float(b.std()) + 6 * tol, (var, q)


@pytest.mark.parametrize("cls", [BetaBinomial, LogitNormal, NestedBetaBinomial])
def test_numpy_prior_draws_match_pymc_prior_predictive(cls, zero_event_data):
    """The prior draws made without compiling a graph agree with PyMC's prior predictive of the
    family's graph (an independent computation), in distribution."""
    from scipy import stats

    model = cls()
    data = zero_event_data
    if cls is NestedBetaBinomial:  # two subgroups of three studies: beta-binomial within
        table = zero_event_data.table.assign(subgroup=["a", "a", "a", "b", "b", "b"])
        data = make_binary(table["events"], table["n"], subgroup=table["subgroup"])
    prep = model.prepare(data)
    fast = model.sample_prior_predictive(data, draws=4000, random_seed=1)
    prior_pm, predictive_pm = model._pymc_prior_predictive(prep, 4000, 2)
    for var in ("mu", "pooled_rate"):
        a = fast["prior"][var].values.ravel()
        b = prior_pm[var].values.ravel()
        assert stats.ks_2samp(a, b).pvalue > 1e-3, var
    ev_a = fast["prior_predictive"]["events"].values.reshape(-1, prep.units)
    ev_b = predictive_pm["events"].values.reshape(-1, prep.units)
    se = np.hypot(ev_a.std(0), ev_b.std(0)) / np.sqrt(4000)
    assert np.all(np.abs(ev_a.mean(0) - ev_b.mean(0)) < 4.5 * se)
