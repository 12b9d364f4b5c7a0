"""The one cache of nutpie-compiled models, shared by every model family and by ``studies/``.

A model's graph is fixed by its *structure* (family, prior families, options, sizes and index
arrays); its numbers (data, and the prior hyperparameters, which every builder declares as
``pm.Data``) are swapped into a compiled model with ``with_data``. So within one process a
structure is compiled once and serves refits on new data, sensitivity refits under other prior
parameters, sweeps and simulation studies.

Across processes: PyTensor caches the numba code of the graph's operations on disk
(``config.numba__cache``, under ``config.base_compiledir``), which saves part of the work, but
nutpie's outer logp/expand functions close over per-model globals and numba refuses to cache them
("uses dynamic globals"); they are compiled again in each new process. That is why the main path
of ``bayes-anlo run`` uses the exact engines wherever a family has one.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import numpy as np
import xarray as xr

from bayes_anlo.models.sampling import SamplerSettings, show_progress

_COMPILED: dict[tuple, object] = {}
_COUNT = {"compilations": 0}


def compilations() -> int:
    """How many models this process has compiled through the cache (for tests and benchmarks)."""
    return _COUNT["compilations"]


def clear() -> None:
    """Forget every compiled model (the next fit of each structure compiles again)."""
    _COMPILED.clear()


def compiled_model(key: tuple, build: Callable):
    """The nutpie-compiled model for ``key``; ``build()`` makes the ``pm.Model`` when it is new."""
    compiled = _COMPILED.get(key)
    if compiled is None:
        import nutpie

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*object mode.*")
            compiled = nutpie.compile_pymc_model(build())
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

    compiled = compiled_model(key, build)
    known = {var.name for var in compiled.shared_var_keys}
    compiled = compiled.with_data(**{k: v for k, v in values.items() if k in known})
    seed = (
        pymc_equivalent_seed(random_seed, settings.chains) if nutpie_seed is None else nutpie_seed
    )
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
