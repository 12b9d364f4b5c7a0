"""What every binary (events out of n) model shares: the class front, tree assembly, summaries.

A model class is a thin front over a pure ``build_<model>(data, priors) -> pm.Model``. Its
constructor stores configuration only; :meth:`BinaryModel.fit` computes and returns an
``xarray.DataTree`` with the groups

* ``posterior``: the sampled hyperparameters plus derived quantities (``pooled_rate``,
  ``predictive_rate``, ``study_rate`` ...), dims ``(chain, draw, ...)``;
* ``sample_stats`` (NUTS only);
* ``log_likelihood`` ``events`` (dim ``unit``): the *study-level marginal* log-likelihood
  ``log p(y_i | hyperparameters)``, the lowest random effect integrated out (beta-binomial pmf, or
  adaptive Gauss-Hermite for logit-normal effects), so leave-one-out compares models on the same
  target: a new unit's count;
* ``posterior_predictive`` ``events`` (dim ``unit``): replicated counts with the lowest random
  effect drawn afresh (a new study of the same size; a "mixed" replication, Gelman, Meng & Stern
  1996, Statistica Sinica 6:733), which is what the dispersion checks in
  :mod:`bayes_anlo.checks.ppc` need; for models without a random effect the replication is
  conditional on the rates;
* ``observed_data`` ``events`` and ``constant_data`` ``n`` (+ group indices), dim ``unit``;
* ``log_prior``: the log density of each prior of the prior set at each draw (one variable per
  hyperparameter, e.g. ``mu`` and ``kappa``), for power-scaling sensitivity
  (:mod:`bayes_anlo.checks.power_scaling`);

and root attrs from :func:`~bayes_anlo.models.sampling.run_attrs` plus ``outcome``, ``method``,
``thresholds`` and model options. ``method="exact"`` (where available) returns the same groups
with iid draws from a quadrature or conjugate posterior (root attr ``method = "exact"``).

Random streams: NUTS uses ``random_seed``; the posterior predictive ``derived_seed(seed, 1)``;
derived draws (conjugate study rates, predictive rates) ``derived_seed(seed, 2)``; exact draws
``derived_seed(seed, 3)``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from bayes_anlo.data.binary import BinaryData
from bayes_anlo.errors import InputError
from bayes_anlo.lazy_import import lazy_module
from bayes_anlo.models.contract import DEFAULT_SAMPLER, Model
from bayes_anlo.models.options import NoOptions
from bayes_anlo.models.priors import Distribution, log_prior_dataset, prior_terms
from bayes_anlo.models.sampling import (
    SamplerSettings,
    compile_settings,
    derived_seed,
    quiet_pymc,
    run_attrs,
)

pm = lazy_module("pymc")

METHODS = ("nuts", "exact")
SAMPLE_DIMS = ("chain", "draw")
#: Rate variables that :func:`exceedance` reports when present.
RATE_VARIABLES = (
    "pooled_rate",
    "mean_rate",
    "predictive_rate",
    "subgroup_rate",
    "subgroup_predictive_rate",
    "rate",
    "study_rate",
)


@dataclass(frozen=True)
class Prepared:
    """Validated arrays of one binary dataset, ready for a model."""

    data: BinaryData
    outcome: str
    labels: list[str]
    events: np.ndarray
    n: np.ndarray
    coords: dict[str, list[str]] = field(default_factory=dict)
    index: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def units(self) -> int:
        return len(self.labels)


def prepare_binary(data) -> Prepared:
    """Check that ``data`` is one-outcome :class:`BinaryData` and take its arrays."""
    if not isinstance(data, BinaryData):
        raise TypeError(f"expected BinaryData (bayes_anlo.load_binary), not {type(data).__name__}")
    outcome = data.require_single_outcome()
    if len(data) == 0:
        raise InputError("no rows to fit", file=data.source)
    labels = data.labels
    return Prepared(data, outcome, labels, data.events, data.n, {"unit": labels})


def dataset(variables: dict[str, tuple[tuple[str, ...], np.ndarray]], coords: dict) -> xr.Dataset:
    """An ``xr.Dataset`` from ``name -> (dims, values)``, with the coords its dims use."""
    used = {d for dims, _ in variables.values() for d in dims}
    return xr.Dataset(
        {k: (dims, np.asarray(v)) for k, (dims, v) in variables.items()},
        coords={k: v for k, v in coords.items() if k in used},
    )


class BinaryModel(Model):
    """Front shared by the binary models (see the module docstring). Subclasses set ``name``,
    ``priors_class``, ``methods`` and implement the ``_build``/``_exact``/``_derive``/
    ``_log_likelihood``/``_replicate`` hooks and ``replication_moments``."""

    kind = "binary"
    options_schema = NoOptions

    def __init__(
        self,
        priors=None,
        *,
        method: str = "nuts",
        sampler: SamplerSettings = DEFAULT_SAMPLER,
        thresholds: Sequence[float] = (),
    ):
        self._init_common(priors, method, sampler)
        thresholds = tuple(float(t) for t in thresholds)
        for t in thresholds:
            if not 0.0 < t < 1.0:
                raise ValueError(f"thresholds are rates in (0, 1), not {t:g}")
        self.thresholds = thresholds

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({self.priors!r}, method={self.method!r}{options})"

    def config(self) -> dict:
        return {**super().config(), "thresholds": list(self.thresholds)}

    @classmethod
    def config_arguments(cls, config) -> dict:
        return {"thresholds": tuple(config.get("thresholds", ()))}

    @classmethod
    def spec_options(cls, entry) -> dict:
        options = {"thresholds": entry.thresholds}
        if entry.by is not None:
            options["by"] = entry.by
        return options

    # ---- hooks ----------------------------------------------------------------------------
    def prepare(self, data) -> Prepared:
        """Validated arrays of ``data`` (one-outcome :class:`BinaryData`) with named coords."""
        return self._prepare(data)

    def _prepare(self, data) -> Prepared:
        return prepare_binary(data) if not isinstance(data, Prepared) else data

    def _derive(self, post: xr.Dataset, prep: Prepared, rng, conditional: bool) -> xr.Dataset:
        raise NotImplementedError  # pragma: no cover

    def _log_likelihood(self, post: xr.Dataset, prep: Prepared) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def _replicate(self, post: xr.Dataset, prep: Prepared, rng) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    @classmethod
    def replication_moments(cls, tree: xr.DataTree) -> tuple[np.ndarray, np.ndarray]:
        """Per draw and unit, the mean ``m`` and variance ``v`` of the rate from which the
        posterior predictive replicates unit ``i`` (so ``E y_rep = n m``, ``Var y_rep = n m (1 - m)
        + n (n - 1) v``); shapes ``(chain, draw, unit)``. Used by the chi-square discrepancy."""
        raise NotImplementedError  # pragma: no cover

    # ---- compiled-model reuse ---------------------------------------------------------------
    def structure_key(self, prep: Prepared) -> tuple:
        """What fixes the compiled graph: model, prior families, options, number of units, group
        indices. Two fits with the same key differ only in ``n``, ``events`` and the prior
        parameters, which are swapped into the compiled model."""
        return (
            type(self).__name__,
            self.priors.structure(),
            json.dumps(self.options(), sort_keys=True, default=str),
            prep.units,
            tuple((k, tuple(int(i) for i in v)) for k, v in sorted(prep.index.items())),
        )

    def data_values(self, prep: Prepared) -> dict[str, np.ndarray]:
        return {
            "n": prep.n.astype(np.int64),
            "events_obs": prep.events.astype(np.int64),
            **self.priors.data_values(),
        }

    # ---- assembling a fit -----------------------------------------------------------------
    def _assemble(self, post, sample_stats, prep, seed, settings, extra) -> xr.DataTree:
        post = self._derive(
            post, prep, np.random.default_rng(derived_seed(seed, 2)), conditional=True
        )
        loglik = self._log_likelihood(post, prep)
        rep = self._replicate(post, prep, np.random.default_rng(derived_seed(seed, 1)))
        groups = {"posterior": post}
        if sample_stats is not None:
            groups["sample_stats"] = sample_stats
        unit_dims = ("chain", "draw", "unit")
        coords = {"chain": post["chain"].values, "draw": post["draw"].values, **prep.coords}
        groups["log_likelihood"] = dataset({"events": (unit_dims, loglik)}, coords)
        groups["posterior_predictive"] = dataset({"events": (unit_dims, rep)}, coords)
        groups["log_prior"] = log_prior_dataset(post, self.prior_terms(post))
        groups.update(self._data_groups(prep))
        tree = xr.DataTree.from_dict(groups)
        extra = {k: json.dumps(v, sort_keys=True) for k, v in extra.items()}
        tree.attrs = self._attrs(prep, seed, settings, extra)
        return tree

    def prior_terms(self, posterior: xr.Dataset) -> dict[str, Distribution]:
        """Posterior variable -> prior, for the hyperparameters the prior set covers (each prior-set
        field is the posterior variable of the same name)."""
        return prior_terms(self.priors, posterior)

    def sample_prior_predictive(self, data, draws: int = 500, random_seed: int = 0) -> xr.DataTree:
        """Draws from the prior and the prior predictive (groups ``prior``, ``prior_predictive``).

        The prior group holds the hyperparameters and the same derived rates as the posterior
        (``pooled_rate``, ``predictive_rate``, ``study_rate`` ... drawn without the data); the
        prior predictive replicates every unit from them. Families whose free variables are their
        priors' fields (plus standard normals) draw them by NumPy (``_prior_free_draws``), the
        others through PyMC.
        """
        prep = self._prepare(data)
        seed = int(random_seed)
        free = self._prior_free_draws(prep, int(draws), np.random.default_rng(seed))
        if free is None:
            prior_ds, predictive = self._pymc_prior_predictive(prep, int(draws), seed)
        else:
            coords = {"chain": [0], "draw": np.arange(int(draws)), **prep.coords}
            prior_ds = dataset(
                {k: (("chain", "draw", *dims), v[None]) for k, (dims, v) in free.items()}, coords
            )
        prior = self._derive(
            prior_ds,
            prep,
            np.random.default_rng(derived_seed(seed, 2)),
            conditional=False,
        )
        if free is not None:
            rep = self._replicate(prior, prep, np.random.default_rng(derived_seed(seed, 1)))
            predictive = dataset({"events": (("chain", "draw", "unit"), rep)}, coords)
        groups = {"prior": prior, "prior_predictive": predictive}
        groups.update(self._data_groups(prep))
        tree = xr.DataTree.from_dict(groups)
        tree.attrs = self._attrs(
            prep, seed, {"method": "prior_predictive", "draws": int(draws)}, {}
        )
        return tree

    def _prior_free_draws(self, prep: Prepared, draws: int, rng) -> dict | None:
        """Prior draws of the free variables, ``name -> (dims beyond chain/draw, array)``, by
        NumPy (no graph to compile); None: the family leaves it to PyMC."""
        return None

    def _pymc_prior_predictive(self, prep: Prepared, draws: int, seed: int):
        model = self._build(prep)
        with model, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*object mode.*")
            warnings.filterwarnings("ignore", category=UserWarning, module="pymc")
            with quiet_pymc(), compile_settings():
                pr = pm.sample_prior_predictive(draws=draws, random_seed=seed)
        prior_ds = pr["prior"].to_dataset()
        prior_ds = prior_ds.drop_vars([v for v in prior_ds.data_vars if v.startswith("prior_")])
        return prior_ds, pr["prior_predictive"].to_dataset()

    # ---- helpers --------------------------------------------------------------------------
    def _data_groups(self, prep: Prepared) -> dict[str, xr.Dataset]:
        constant = {"n": (("unit",), prep.n.astype(np.int64))}
        for key, codes in prep.index.items():
            constant[f"{key}_index"] = (("unit",), codes.astype(np.int64))
        return {
            "observed_data": dataset(
                {"events": (("unit",), prep.events.astype(np.int64))}, prep.coords
            ),
            "constant_data": dataset(constant, prep.coords),
        }

    def _attrs(self, prep: Prepared, seed: int, settings: dict, extra: dict) -> dict:
        extra = {
            "outcome": prep.outcome,
            "method": settings["method"],
            "thresholds": list(self.thresholds),
            "options": self.options(),
            **{k: list(v) for k, v in prep.coords.items() if k != "unit"},
            **extra,
        }
        return run_attrs(
            model_name=self.name,
            priors=self.priors.to_dict(),
            settings=settings,
            random_seed=seed,
            data_source=prep.data.source,
            data_sha256=prep.data.sha256,
            extra=extra,
        )


# ---- summaries of fitted trees -------------------------------------------------------------


def _stack(da: xr.DataArray) -> xr.DataArray:
    dims = [d for d in SAMPLE_DIMS if d in da.dims]
    return da.stack(sample=dims).transpose(..., "sample")


def thresholds_of(tree: xr.DataTree) -> tuple[float, ...]:
    """The thresholds a fit was configured with (root attr ``thresholds``)."""
    raw = tree.attrs.get("thresholds", "[]")
    return tuple(json.loads(raw) if isinstance(raw, str) else raw)


def exceedance(
    tree: xr.DataTree,
    thresholds: Sequence[float] | None = None,
    var: str | Sequence[str] | None = None,
    group: str = "posterior",
) -> pd.DataFrame:
    """``P(rate > t)`` for each threshold and each rate variable (and each of its elements).

    Parameters
    ----------
    tree : DataTree
        A fit from any binary model.
    thresholds : sequence of float, optional
        Default: the thresholds the model was configured with.
    var : str or list of str, optional
        Variables to report; default every rate variable present (:data:`RATE_VARIABLES`).

    Returns
    -------
    DataFrame
        Columns ``variable, label, threshold, probability, mcse``. ``mcse`` is the Monte Carlo
        standard error of the indicator's mean from :func:`arviz_stats.mcse` (accounts for
        autocorrelation in NUTS draws).
    """
    from arviz_stats import mcse

    thresholds = thresholds_of(tree) if thresholds is None else tuple(float(t) for t in thresholds)
    ds = tree[group].to_dataset()
    names = [var] if isinstance(var, str) else list(var or [v for v in RATE_VARIABLES if v in ds])
    rows = []
    for name in names:
        if name not in ds:
            raise KeyError(f"{name!r} is not in the {group} (has: {', '.join(ds.data_vars)})")
        da = ds[name]
        other = [d for d in da.dims if d not in SAMPLE_DIMS]
        for t in thresholds:
            indicator = (da > t).astype(float)
            prob = indicator.mean(dim=list(SAMPLE_DIMS))
            err = mcse(indicator.to_dataset(name="x"), method="mean")["x"]
            if other:
                stacked_p = prob.stack(element=other)
                stacked_e = err.stack(element=other)
                for idx, p, e in zip(
                    stacked_p["element"].values, stacked_p.values, stacked_e.values, strict=True
                ):
                    label = " | ".join(map(str, idx)) if isinstance(idx, tuple) else str(idx)
                    rows.append(
                        {
                            "variable": name,
                            "label": label,
                            "threshold": t,
                            "probability": float(p),
                            "mcse": float(np.nan_to_num(e)),
                        }
                    )
            else:
                rows.append(
                    {
                        "variable": name,
                        "label": "",
                        "threshold": t,
                        "probability": float(prob),
                        "mcse": float(np.nan_to_num(err)),
                    }
                )
    return pd.DataFrame(rows, columns=["variable", "label", "threshold", "probability", "mcse"])


def prob_superior(tree: xr.DataTree, var: str = "difference", threshold: float = 0.0) -> float:
    """``P(var > threshold)`` from the posterior draws (e.g. ``P(p1 > p2)`` for the two-arm
    model)."""
    da = tree["posterior"][var]
    return float((da > threshold).mean())
