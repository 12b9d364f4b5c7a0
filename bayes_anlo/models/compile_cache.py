"""The one cache of nutpie-compiled models, shared by every model family and by ``studies/``.

A model's graph is fixed by its *structure* (family, prior families, options, sizes and index
arrays); its numbers (data, and the prior hyperparameters, which every builder declares as
``pm.Data``) are swapped into a compiled model with ``with_data``. So within one process a
structure is compiled once and serves refits on new data, sensitivity refits under other prior
parameters, sweeps and simulation studies.

Before nutpie compiles a model, its ``pm.Data`` containers are packed into one shared float64
vector (:func:`pack_data`; each container becomes a slice of it, reshaped and cast back to its
dtype, and the slices' bounds and the dims' lengths are read from the head of the same vector, so
the graph holds no size). nutpie's compiled logp and expand functions read every shared variable
through a numba ``literal_unroll`` over the variables, whose typing and lowering grow with their
number: about 0.6 s of compilation per variable (a toy model: 2.9 s with one container, 8.3 s
with ten), and the families declare 4 to 14 containers (data and prior parameters). Packed, a
model reads one variable: ``benchmarks/run.py --only compile`` measured 2.4 s of CPU per new
beta-binomial or logit-normal model against 4.8 s unpacked (and about 3.5 s when the containers
were packed into one vector per dtype and one more for the layout). ``values`` are still given
by container name; :class:`CompiledModel` writes them into the vector. The posterior is
the unpacked model's: the same free variables in the same order and the same log density and
gradient (tests/models/test_compile_cache.py). The gradient can differ from the unpacked graph's
in the last bit (PyTensor's rewrites order the operations of another graph differently), so the
draws for a seed agree with the unpacked model's within Monte Carlo error, not bit for bit. Every
compilation runs under :func:`~bayes_anlo.models.sampling.compile_settings` (numba's fast-math
off), so a model compiled afresh and one loaded from PyTensor's disk cache draw the same.

Across processes: PyTensor caches the numba code of the graph's operations on disk
(``config.numba__cache``, under ``config.base_compiledir``), which saves part of the work, but
nutpie's outer logp/expand functions close over per-model globals and numba refuses to cache them
("uses dynamic globals"); they are compiled again in each new process. That is why the main path
of ``bayes-anlo run`` uses the exact engines wherever a family has one.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from bayes_anlo import interrupt
from bayes_anlo.models.sampling import SamplerSettings, compile_settings, show_progress

_COMPILED: dict[tuple, CompiledModel] = {}
_COUNT = {"compilations": 0}
#: The name of the one shared vector a packed model reads (:func:`pack_data`).
PACKED = "packed"
_EXACT = 2**53  # integers up to this magnitude are exact in float64


def compilations() -> int:
    """How many models this process has compiled through the cache (for tests and benchmarks)."""
    return _COUNT["compilations"]


def clear() -> None:
    """Forget every compiled model (the next fit of each structure compiles again)."""
    _COMPILED.clear()


@dataclass(frozen=True)
class Slot:
    """Where one ``pm.Data`` container lives in its packed vector."""

    vector: str
    start: int
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class CompiledModel:
    """A nutpie-compiled model whose data containers are packed (see the module docstring)."""

    nutpie_model: object
    slots: dict[str, Slot]
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def with_values(self, values: Mapping[str, np.ndarray]):
        """The nutpie model with ``values`` (by container name) swapped in; a container not in
        ``values`` keeps the number it was built with, a name the graph does not hold is
        skipped. A value of another shape than the container's is an error."""
        vectors = {name: vector.copy() for name, vector in self.vectors.items()}
        for name, value in values.items():
            slot = self.slots.get(name)
            if slot is None:
                continue
            array = np.asarray(value)
            if array.shape != slot.shape:
                raise ValueError(
                    f"data {name!r} has shape {array.shape}; the compiled model holds {slot.shape}"
                )
            if not _exact_in_float64(array, slot.dtype):
                raise ValueError(f"data {name!r} holds integers too large to pack exactly")
            flat = vectors[slot.vector].reshape(-1)  # a view: the copies are contiguous
            flat[slot.start : slot.start + slot.size] = array.ravel()
        return self.nutpie_model.with_data(**vectors)


def pack_data(model):
    """``(packed_model, slots, vectors)``: a copy of ``model`` in which every ``pm.Data``
    container is a slice (reshaped, and cast back to its dtype) of one shared float64 vector,
    ``packed``; ``vectors`` is ``{"packed": its numbers}``.

    The vector begins with the layout: where each slice starts and ends, the shape of each
    container and the length of each dim, read by the graph as numbers, not written into it as
    constants. The graph stays the same for data of other sizes, so the numba code PyTensor
    caches on disk for one size serves the next (a graph with constant sizes would be compiled
    again for every new size). Integer data are exact in float64 up to 2**53 in magnitude;
    larger ones, and data of other kinds than booleans and numbers, raise
    ``NotImplementedError``, as does a model ``pymc.model.fgraph`` cannot copy (custom initial
    values). The free and observed variables keep their order, so the flat parameter vector
    nutpie samples is laid out as the unpacked model's (the draws for a seed agree with it within
    Monte Carlo error; see the module docstring)."""
    import pytensor
    from pymc.model.fgraph import fgraph_from_model, model_from_fgraph
    from pytensor.compile import SharedVariable

    names = [v.name for v in model.data_vars if isinstance(v, SharedVariable)]
    order = [rv.name for rv in (*model.free_RVs, *model.observed_RVs)]
    fgraph, _ = fgraph_from_model(model)
    shared_inputs = {var.name: var for var in fgraph.inputs if isinstance(var, SharedVariable)}
    dims = [
        var
        for var in getattr(fgraph, "_dim_lengths", {}).values()
        if isinstance(var, SharedVariable) and var in fgraph.inputs and var.ndim == 0
    ]
    values = {name: np.asarray(shared_inputs[name].get_value()) for name in names}
    for name, value in values.items():
        _check_packable(name, value)
    head = sum(_layout_entries(value) for value in values.values()) + len(dims)
    layout: list[int] = []
    packed = pytensor.shared(np.zeros(head, dtype=np.float64), name=PACKED)

    def entry(number: int):
        layout.append(int(number))
        return packed[len(layout) - 1].astype("int64")

    slots: dict[str, Slot] = {}
    replacements = []
    start = head
    for name, value in values.items():
        slot = Slot(PACKED, start, value.shape, value.dtype)
        if value.ndim == 0:
            piece = packed[entry(start)]
        else:
            piece = packed[entry(start) : entry(start + slot.size)]
            if value.ndim > 1:
                piece = piece.reshape([entry(n) for n in value.shape], ndim=value.ndim)
        replacements.append((shared_inputs[name], piece.astype(value.dtype)))
        slots[name] = slot
        start += slot.size
    for var in dims:
        replacements.append((var, entry(var.get_value()).astype(var.dtype)))
    assert len(layout) == head, (len(layout), head)
    numbers = np.concatenate(
        [np.asarray(layout, dtype=np.float64)]
        + [value.ravel().astype(np.float64) for value in values.values()]
    )
    packed.set_value(numbers)
    fgraph.replace_all(replacements, import_missing=True)
    packed_model = model_from_fgraph(fgraph, mutate_fgraph=True)
    packed_model.free_RVs.sort(key=lambda rv: order.index(rv.name))
    packed_model.observed_RVs.sort(key=lambda rv: order.index(rv.name))
    return packed_model, slots, {PACKED: numbers}


def _layout_entries(value: np.ndarray) -> int:
    """How many numbers of the layout :func:`pack_data` writes for one container: its start
    (a scalar), or its start and end, and its shape when it has more than one dimension."""
    if value.ndim == 0:
        return 1
    return 2 + (value.ndim if value.ndim > 1 else 0)


def _exact_in_float64(array: np.ndarray, dtype: np.dtype) -> bool:
    """Whether ``array``, bound for a container of ``dtype``, survives the float64 vector: any
    number for a float or boolean container, integers up to 2**53 in magnitude for an integer
    one."""
    return dtype.kind not in "iu" or not array.size or np.abs(array).max() <= _EXACT


def _check_packable(name: str, value: np.ndarray) -> None:
    if value.dtype.kind not in "biuf":
        raise NotImplementedError(f"data {name!r} of dtype {value.dtype} cannot be packed")
    if not _exact_in_float64(value, value.dtype):
        raise NotImplementedError(f"data {name!r} holds integers too large to pack exactly")


def packed_or_unchanged(model):
    """:func:`pack_data` of ``model``, or for a model it cannot copy the model itself with each
    container as its own "vector" (``with_values`` then fills the containers one by one)."""
    from pytensor.compile import SharedVariable

    try:
        return pack_data(model)
    except NotImplementedError:
        data = [v for v in model.data_vars if isinstance(v, SharedVariable)]
        values = {v.name: np.array(v.get_value()) for v in data}
        slots = {name: Slot(name, 0, value.shape, value.dtype) for name, value in values.items()}
        return model, slots, values


def _compile(model) -> CompiledModel:
    import nutpie

    model, slots, vectors = packed_or_unchanged(model)
    with warnings.catch_warnings(), compile_settings():
        warnings.filterwarnings("ignore", message=".*object mode.*")
        compiled = nutpie.compile_pymc_model(model)
    return CompiledModel(compiled, slots, vectors)


def compiled_model(key: tuple, build: Callable) -> CompiledModel:
    """The compiled model for ``key``; ``build()`` makes the ``pm.Model`` when it is new."""
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _compile(build())
        _COMPILED[key] = compiled
        _COUNT["compilations"] += 1
    return compiled


def pymc_equivalent_seed(random_seed: int, chains: int) -> int:
    """The seed ``pm.sample(random_seed=..., nuts_sampler="nutpie")`` hands nutpie, so that a fit
    through the cache draws what a fit through ``pm.sample`` would."""
    return int(np.random.default_rng(int(random_seed)).spawn(chains)[0].integers(2**30))


def sample_cached(
    key: tuple,
    build: Callable,
    values: Mapping[str, np.ndarray],
    settings: SamplerSettings,
    random_seed: int,
    *,
    nutpie_seed: int | None = None,
    cores: int | None = None,
) -> xr.DataTree:
    """NUTS by nutpie on the cached model of ``key`` with ``values`` swapped in (by data name;
    names the compiled graph does not hold, such as the prior of an unused level, are skipped).

    ``nutpie_seed`` defaults to :func:`pymc_equivalent_seed` of ``random_seed``; ``cores``
    to ``min(chains, 2)``.
    """
    import nutpie

    compiled = compiled_model(key, build).with_values(values)
    interrupt.check()  # one that a compilation's finalizers dropped
    seed = (
        pymc_equivalent_seed(random_seed, settings.chains) if nutpie_seed is None else nutpie_seed
    )
    with interrupt.not_swallowed():
        return nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=min(settings.chains, 2) if cores is None else int(cores),
            seed=int(seed),
            target_accept=settings.target_accept,
            save_warmup=False,
            progress_bar=show_progress(),
        )
