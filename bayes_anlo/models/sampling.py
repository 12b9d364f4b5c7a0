"""Sampling a built PyMC model into a DataTree with a complete run record.

Every model family calls :func:`sample_model`, so every fit carries the same groups and the same
record of what was run:

* groups: ``posterior``, ``sample_stats``, ``log_likelihood`` (for LOO), ``posterior_predictive``,
  ``observed_data``, ``constant_data``;
* root attrs: ``model``, ``priors`` (JSON), ``sampler`` (JSON of the settings), ``random_seed``,
  ``data_source``, ``data_sha256``, ``versions`` (JSON of the package versions) and any extra
  attrs the model passes (e.g. ``outcome``).

Randomness is explicit: the posterior uses ``random_seed``, the posterior predictive uses a seed
derived from it, so the same spec and seed give identical draws on the same machine with the same
package versions, whether the model was compiled afresh or loaded from PyTensor's on-disk cache
(tested, with empty and with filled caches). That needs numba's fast-math off for the graphs the
package compiles (:func:`compile_settings`). On another CPU the compiled log density
can round differently in the last bits, and NUTS trajectories amplify that: draws then differ by
Monte Carlo error, not by more (seen between two machines for the nested model: P(STS > bone)
0.55 against 0.58, both within the reported MCSE). ``versions`` records the CPU for that reason.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import platform
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import TYPE_CHECKING

import numpy as np

from bayes_anlo import interrupt
from bayes_anlo.lazy_import import lazy_module

if TYPE_CHECKING:  # annotations only: importing xarray costs a quarter of a second
    import xarray as xr

pm = lazy_module("pymc")

VERSIONED_PACKAGES = (
    "bayes_anlo",
    "pymc",
    "pytensor",
    "nutpie",
    "arviz-base",
    "arviz-stats",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
)


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings. ``sampler`` is ``"nutpie"`` (default) or ``"pymc"``.

    Defaults (4 chains x 1000 draws after 1000 tuning steps, target acceptance 0.9) give bulk and
    tail ESS well above the convergence gate's 400 for the models in this package.
    """

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.9
    sampler: str = "nutpie"

    def __post_init__(self):
        if self.sampler not in ("nutpie", "pymc"):
            raise ValueError(f"sampler must be 'nutpie' or 'pymc', not {self.sampler!r}")
        for name in ("draws", "tune", "chains"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not 0.5 <= self.target_accept < 1:
            raise ValueError("target_accept must lie in [0.5, 1)")


def _cpu() -> str:
    """The CPU model (Linux: /proc/cpuinfo), or the processor string elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on (looked up once a process:
    every fit records them)."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str]:
    versions = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}, {_cpu()}",
    }
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - optional
            versions[name] = "not installed"
    return versions


def derived_seed(random_seed: int, stream: int) -> int:
    """A reproducible child seed for a secondary random stream (posterior predictive, exact
    draws)."""
    return int(np.random.SeedSequence([int(random_seed), int(stream)]).generate_state(1)[0])


def run_attrs(
    *,
    model_name: str,
    priors: dict,
    settings: dict,
    random_seed: int,
    data_source: str,
    data_sha256: str,
    extra: dict | None = None,
) -> dict[str, str | int]:
    """The record every fit carries as root attrs (JSON strings for nested values)."""
    attrs: dict[str, str | int] = {
        "model": model_name,
        "priors": json.dumps(priors, sort_keys=True),
        "sampler": json.dumps(settings, sort_keys=True),
        "random_seed": int(random_seed),
        "data_source": data_source,
        "data_sha256": data_sha256,
        "versions": json.dumps(package_versions(), sort_keys=True),
    }
    for key, value in (extra or {}).items():
        attrs[key] = value if isinstance(value, str | int | float) else json.dumps(value)
    return attrs


def sample_model(
    model: pm.Model,
    *,
    settings: SamplerSettings,
    random_seed: int,
    predictive_vars: list[str] | None = None,
    attrs: dict,
    log_likelihood: bool = True,
    posterior_predictive: bool = True,
) -> xr.DataTree:
    """Run NUTS on ``model`` and return a DataTree with log-likelihood and posterior predictive.

    Parameters
    ----------
    model : pymc.Model
        A model built by one of the ``build_*`` functions (named dims, observed data attached).
    settings : SamplerSettings
    random_seed : int
    predictive_vars : list of str, optional
        Variables to draw in the posterior predictive (default: the observed variables).
    attrs : dict
        Root attributes, normally from :func:`run_attrs`.
    log_likelihood, posterior_predictive : bool, default True
        Whether PyMC computes these groups. The binary models pass False and compute both in NumPy
        (the study-level marginal likelihood and a replication scheme they document), which also
        saves compiling two more functions per fit.
    """
    with model, quiet_pymc(), compile_settings(), interrupt.not_swallowed():
        tree = pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=min(settings.chains, 2),
            target_accept=settings.target_accept,
            nuts_sampler=settings.sampler,
            random_seed=int(random_seed),
            progressbar=show_progress(),
            compute_convergence_checks=False,
        )
        if log_likelihood:
            tree = pm.compute_log_likelihood(tree, progressbar=False)
        if posterior_predictive:
            tree = pm.sample_posterior_predictive(
                tree,
                var_names=predictive_vars,
                random_seed=derived_seed(random_seed, 1),
                progressbar=False,
                extend_inferencedata=True,
            )
    tree.attrs.update(attrs)
    return tree


@contextlib.contextmanager
def compile_settings():
    """PyTensor's configuration for every graph the package compiles (NUTS by nutpie or PyMC, the
    log-likelihood, predictive draws), restored afterwards: numba's fast-math flags off.

    With them on (PyTensor's default), LLVM may reorder and contract floating-point operations,
    and code compiled afresh and code loaded from PyTensor's on-disk numba cache rounded
    differently: a piecewise-exponential fit with published summaries drew other values for the
    same seed on a machine's first run than on every later one (6 divergences against 2;
    tests/models/test_reproducibility.py). Without them the rounding is IEEE's, the same either
    way. PyTensor keys its cache by the flag, so entries compiled with fast-math are not reused.
    """
    from pytensor import config

    keep_generated_source_in_the_compiledir()
    with config.change_flags(numba__fastmath=False):
        yield


def keep_generated_source_in_the_compiledir() -> None:
    """Point PyTensor's generated Python source at ``<base_compiledir>/generated_src`` unless
    ``config.generated_src_dir`` is set already. Left unset, PyTensor writes the source of each
    numba-compiled function to its own file in the system temporary directory and never removes
    it (seven files per NUTS compilation, measured); in that folder the files are named by their
    content, shared by the processes, and those unused for a week are pruned at exit."""
    from pathlib import Path

    from pytensor import config

    if not config.generated_src_dir:
        config.generated_src_dir = str(Path(config.base_compiledir) / "generated_src")


def show_progress() -> bool:
    """Draw the sampler's progress bar only where someone watches it: stderr is a terminal (not a
    log file or a pipe, where a bar is noise) and ``BAYES_ANLO_PROGRESS`` is not ``0``."""
    return sys.stderr.isatty() and os.environ.get("BAYES_ANLO_PROGRESS", "1") != "0"


@contextlib.contextmanager
def quiet_pymc():
    """PyMC's INFO messages ("NUTS[nutpie]: [mu, kappa]", "Sampling: [...]") silenced for the
    duration: a run's output is the report, and warnings still come through."""
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def settings_dict(settings: SamplerSettings) -> dict:
    return asdict(settings)
