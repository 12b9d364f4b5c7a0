"""The compile cache packs a model's ``pm.Data`` containers into one shared float64 vector before
nutpie compiles it (bayes_anlo/models/compile_cache.py). The packed graph must be the same
posterior: same free variables in the same order, the same log density and gradient at any
point, and every container's numbers where the graph reads them. Checked here for every family
on the graphs themselves (no sampling); the NUTS tests of each family then sample the packed
graphs, and test_contract.py checks that swapped-in prior parameters are really used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pytensor.compile import SharedVariable
from pytensor.compile.mode import Mode
from pytensor.graph.basic import equal_computations
from pytensor.graph.traversal import graph_inputs

from bayes_anlo.data.csv_reader import MAX_COUNT
from bayes_anlo.models import (
    BetaBinomial,
    Exnex,
    LogitNormal,
    MetaRegression,
    NestedBetaBinomial,
    PiecewiseExponential,
    TwoArm,
)
from bayes_anlo.models.compile_cache import (
    PACKED,
    CompiledModel,
    Slot,
    pack_data,
    packed_or_unchanged,
)
from bayes_anlo.models.sampling import keep_generated_source_in_the_compiledir
from bayes_anlo.survival.simulate import (
    PiecewiseExponentialTruth,
    paper_summaries,
    simulate_patients,
)
from tests.models._data import make_binary

Y = [0, 4, 9, 15, 3, 18]
N = [14, 22, 25, 30, 19, 40]
TRUTH = PiecewiseExponentialTruth((0.0, 6.0, 12.0), (0.10, 0.08, 0.06))


def _survival():
    rng = np.random.default_rng(5)
    patients = simulate_patients(rng, 120, TRUTH, study="A", accrual=12, followup=18)
    summaries = paper_summaries(
        simulate_patients(rng, 90, TRUTH, study="B", accrual=12, followup=18), endpoint="PFS"
    )
    return [patients, summaries]


CASES = {
    "beta_binomial": (BetaBinomial(), lambda: make_binary(Y, N)),
    "logit_normal": (LogitNormal(), lambda: make_binary(Y, N)),
    "nested": (
        NestedBetaBinomial(by="subgroup"),
        lambda: make_binary(Y, N, subgroup=["a", "a", "a", "b", "b", "b"]),
    ),
    "two_arm": (
        TwoArm(arms=("chemo", "alone")),
        lambda: make_binary([1, 5, 3, 7], [16, 13, 20, 22], arm=["alone", "chemo"] * 2),
    ),
    "exnex": (
        Exnex(by="subgroup"),
        lambda: make_binary(Y, N, subgroup=["a", "b", "c", "a", "b", "c"]),
    ),
    "meta_regression": (
        MetaRegression(moderators=["year"]),
        lambda: make_binary(Y, N, year=["2015", "2016", "2018", "2019", "2021", "2022"]),
    ),
    "piecewise_exponential": (PiecewiseExponential(cuts=(0.0, 6.0, 12.0)), _survival),
}


def _shared_inputs(model) -> list:
    """The shared variables the model's log density and variables read, by name."""
    outputs = [model.logp(), *model.free_RVs, *model.observed_RVs]
    found = (v for v in graph_inputs(outputs) if isinstance(v, SharedVariable))
    return sorted(found, key=lambda v: v.name or "")


@pytest.fixture(scope="module", params=sorted(CASES))
def built(request):
    family, data = CASES[request.param]
    model = family.build(data())
    packed, slots, vectors = pack_data(model)
    return model, packed, slots, vectors


def test_free_variables_keep_their_order_and_transforms(built):
    model, packed, _, _ = built
    assert [rv.name for rv in packed.free_RVs] == [rv.name for rv in model.free_RVs]
    assert [v.name for v in packed.value_vars] == [v.name for v in model.value_vars]
    assert [v.name for v in packed.observed_RVs] == [v.name for v in model.observed_RVs]


def test_every_container_is_a_slice_of_the_one_vector(built):
    model, packed, slots, vectors = built
    containers = {v.name: v.get_value() for v in model.data_vars if isinstance(v, SharedVariable)}
    assert set(slots) == set(containers) and set(vectors) == {PACKED}
    numbers = vectors[PACKED]
    assert numbers.dtype == np.float64
    # no container or dim is read on its own
    assert [v.name for v in _shared_inputs(packed) if v.name] == [PACKED]
    for name, value in containers.items():
        slot = slots[name]
        assert slot.vector == PACKED and slot.dtype == np.asarray(value).dtype
        piece = numbers[slot.start : slot.start + slot.size]
        np.testing.assert_array_equal(piece.reshape(slot.shape), value)
    # after the layout, the slots tile the vector without overlap; each slot's bounds are in the
    # layout
    spans = sorted((s.start, s.start + s.size) for s in slots.values())
    head = spans[0][0]
    assert head > 0 and spans[-1][1] == numbers.size
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert {start for start, _ in spans} <= set(numbers[:head].astype(int))


def test_the_packed_model_holds_its_containers_in_their_own_dtypes(built):
    """Counts are cast back from the float64 vector: the packed model's data are the model's,
    dtype included, so an integer observed variable stays an integer."""
    model, packed, _, _ = built
    for name in (v.name for v in model.observed_RVs):
        original = model.rvs_to_values[model[name]]
        copy = packed.rvs_to_values[packed[name]]
        assert copy.dtype == original.dtype, name
        np.testing.assert_array_equal(copy.eval(), original.eval())


def test_counts_at_the_loaders_largest_give_the_models_log_density():
    """Counts up to the loaders' bound (MAX_COUNT) pass through the float64 vector exactly: the
    packed model's log density is the model's (a count off by one at ten million would move the
    binomial coefficient's logarithm by up to log(1e7), about 16). Tried by a hostile run: events
    9,999,999 of 10,000,000 by NUTS."""
    model = BetaBinomial().build(make_binary([MAX_COUNT - 1, 0, 3], [MAX_COUNT, MAX_COUNT, 7]))
    packed, _, _ = pack_data(model)
    fast = {"mode": Mode(linker="py", optimizer="fast_compile")}
    logp, packed_logp = model.compile_logp(**fast), packed.compile_logp(**fast)
    start = model.initial_point()
    rng = np.random.default_rng(3)
    for _ in range(3):
        point = {k: v + 0.5 * rng.standard_normal(np.shape(v)) for k, v in start.items()}
        assert np.isfinite(logp(point))
        np.testing.assert_allclose(packed_logp(point), logp(point), rtol=1e-12)


def test_integers_too_large_for_float64_are_not_packed():
    import pymc as pm
    import pytensor

    with pm.Model() as model:  # pm.Data would wrap the count to int32 (PyMC's choice)
        n = pytensor.shared(np.array([10, 2**53 + 1], dtype=np.int64), name="n")
        model.register_data_var(n)
        p = pm.Beta("p", 1.0, 1.0)
        pm.Binomial("y", n=n, p=p, observed=np.array([1, 2]))
    with pytest.raises(NotImplementedError, match="'n' holds integers too large"):
        pack_data(model)
    _, slots, vectors = packed_or_unchanged(model)
    assert set(vectors) == {"n"}  # compiled as it is
    _, slots, vectors = pack_data(_binary_model([10, 20]))
    compiled = CompiledModel(_Recorder(), slots, vectors)
    with pytest.raises(ValueError, match="'n' holds integers too large"):
        compiled.with_values({"n": [10, 2**60]})


def _binary_model(n):
    import pymc as pm

    with pm.Model() as model:
        size = pm.Data("n", np.asarray(n))
        p = pm.Beta("p", 1.0, 1.0)
        pm.Binomial("y", n=size, p=p, observed=np.ones(len(n), dtype=np.int64))
    return model


def test_data_of_another_size_give_the_same_graph():
    """Sizes are read from the head of the packed vector, not written into the graph: the packed
    graphs of data of two sizes are the same computation (so PyTensor's on-disk numba cache of
    one serves the other); only the numbers of the vector differ."""
    family, _ = CASES["beta_binomial"]
    graphs, layouts = [], []
    for k in (6, 9):
        packed, slots, vectors = pack_data(family.build(make_binary([3] * k, [20] * k)))
        graphs.append(packed)
        head = min(slot.start for slot in slots.values())
        layouts.append(vectors[PACKED][:head])
    small, large = graphs
    inputs = [[*m.value_vars] for m in graphs]
    shared = [_shared_inputs(m) for m in graphs]
    assert equal_computations(
        [small.logp()], [large.logp()], in_xs=inputs[0] + shared[0], in_ys=inputs[1] + shared[1]
    )
    assert layouts[0].shape == layouts[1].shape and not np.array_equal(layouts[0], layouts[1])


def test_log_density_and_gradient_are_the_models_at_random_points(built):
    model, packed, _, _ = built
    start = model.initial_point()
    fast = {"mode": Mode(linker="py", optimizer="fast_compile")}  # nothing compiled: Python ops
    logp, packed_logp = model.compile_logp(**fast), packed.compile_logp(**fast)
    dlogp, packed_dlogp = model.compile_dlogp(**fast), packed.compile_dlogp(**fast)
    rng = np.random.default_rng(11)
    for _ in range(4):
        point = {k: v + 0.5 * rng.standard_normal(np.shape(v)) for k, v in start.items()}
        assert np.isfinite(logp(point))
        np.testing.assert_allclose(packed_logp(point), logp(point), rtol=1e-12)
        np.testing.assert_allclose(packed_dlogp(point), dlogp(point), rtol=1e-10, atol=1e-12)


class _Recorder:
    """Stands in for the nutpie model: records what ``with_data`` receives."""

    def with_data(self, **vectors):
        return vectors


def test_values_are_written_into_their_slots_and_checked():
    slots = {
        "n": Slot(PACKED, 2, (3,), np.dtype("int64")),
        "events_obs": Slot(PACKED, 5, (3,), np.dtype("int64")),
        "prior_mu": Slot(PACKED, 8, (), np.dtype("float64")),
        "cov": Slot(PACKED, 9, (2, 2), np.dtype("float64")),
    }
    layout = [2.0, 5.0]  # the head (what the graph reads of it is pack_data's business)
    built = {PACKED: np.array([*layout, 10, 20, 30, 1, 2, 3, 0.5, 1.0, 0.1, 0.1, 1.0])}
    compiled = CompiledModel(_Recorder(), slots, built)
    sent = compiled.with_values(
        {"events_obs": [4, 5, 6], "cov": [[2.0, 0.2], [0.2, 2.0]], "not_in_graph": [1.0]}
    )
    np.testing.assert_array_equal(
        sent[PACKED], [*layout, 10, 20, 30, 4, 5, 6, 0.5, 2.0, 0.2, 0.2, 2.0]
    )  # n and prior_mu as built
    np.testing.assert_array_equal(built[PACKED][2:8], [10, 20, 30, 1, 2, 3])  # not altered
    with pytest.raises(ValueError, match="'n' has shape \\(4,\\); the compiled model holds"):
        compiled.with_values({"n": [1, 2, 3, 4]})


def test_a_model_fgraph_cannot_copy_is_compiled_unpacked_and_still_takes_values():
    """``pymc.model.fgraph`` refuses models with custom initial values: such a model is compiled
    as it is, and ``with_values`` hands each container its own array, in its own shape."""
    import pymc as pm

    with pm.Model() as model:
        mu = pm.Data("prior_mu", 0.5)
        obs = pm.Data("y", np.array([[1.0, 2.0], [3.0, 4.0]]))
        x = pm.Normal("x", mu, 1.0, initval=0.3)
        pm.Normal("lik", x, 1.0, observed=obs)
    with pytest.raises(NotImplementedError):
        pack_data(model)
    same, slots, vectors = packed_or_unchanged(model)
    assert same is model and set(vectors) == {"prior_mu", "y"}
    sent = CompiledModel(_Recorder(), slots, vectors).with_values({"y": [[5.0, 6.0], [7.0, 8.0]]})
    assert sent["prior_mu"].shape == () and float(sent["prior_mu"]) == 0.5
    np.testing.assert_array_equal(sent["y"], [[5.0, 6.0], [7.0, 8.0]])


def test_a_compilation_leaves_no_file_in_the_temporary_directory(tmp_path, monkeypatch):
    """Found by the hostile test: each NUTS compilation left about seven generated-source files
    in /tmp that nothing removed. The cache points PyTensor at a folder in its compiledir unless
    the user chose one."""
    import tempfile

    import pymc as pm
    from pytensor import config

    from bayes_anlo.models import compile_cache

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(config, "generated_src_dir", "")

    def build():
        with pm.Model() as model:
            scale = pm.Data("scale", 2.0)
            pm.Normal("x", 0.0, scale)
        return model

    compile_cache.compiled_model(("test_generated_source", str(tmp_path)), build)
    assert list(scratch.iterdir()) == []
    assert config.generated_src_dir.endswith("generated_src")
    generated = list(Path(config.generated_src_dir).glob("*.py"))
    assert generated, "the generated source went somewhere else"

    monkeypatch.setattr(config, "generated_src_dir", str(tmp_path / "mine"))
    keep_generated_source_in_the_compiledir()
    assert config.generated_src_dir == str(tmp_path / "mine")  # a user's choice is kept
