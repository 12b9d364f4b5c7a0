"""The contract every model family implements, and the front end they share.

A family (binary: beta-binomial, logit-normal, nested, two-arm, complete pooling; survival:
piecewise exponential; to come: meta-regression, EXNEX, MAP) is a subclass of :class:`Model` that
declares, once:

* ``name`` (registry key and spec ``model = "..."``), ``kind`` (the data it reads: ``"binary"``
  or ``"survival"``), ``priors_class`` (a frozen :class:`~bayes_anlo.models.priors.PriorSet`
  with named alternatives), ``methods`` (``"nuts"`` and, where it has one, ``"exact"``), the
  default grouping column ``grouping`` (families that take ``by``) and ``options_schema`` (the
  typed table of its spec options);
* the hooks ``prepare(data)`` (validated arrays with named coords), ``_build(prepared)`` (the pure
  PyMC graph: data *and* prior hyperparameters as ``pm.Data``), ``data_values(prepared)`` and
  ``structure_key(prepared)`` (what is swapped into, and what fixes, a compiled graph),
  ``exact_applies(prepared)`` / ``_exact`` (the exact-engine hook) and ``_assemble`` (draws ->
  DataTree with the shared variable names).

The front end here is shared: constructor checks of priors, method and sampler; ``fit`` (exact
engine or NUTS through the one compile cache, :mod:`bayes_anlo.models.compile_cache`);
``config()``, saved on every fitted tree as root attr ``config`` (JSON), with ``from_config`` and
``from_tree`` to rebuild the model; ``from_spec`` (the one factory from a spec entry).

``method="auto"`` (the spec default) uses the exact engine when the family has one and it applies
to the data, NUTS otherwise; the tree's root attr ``method`` records which.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from bayes_anlo.lazy_import import lazy_module
from bayes_anlo.models import compile_cache
from bayes_anlo.models.priors import PriorSet
from bayes_anlo.models.sampling import SamplerSettings, derived_seed, sample_model

pm = lazy_module("pymc")


#: Default NUTS settings (frozen, so one shared instance is safe as an argument default).
DEFAULT_SAMPLER = SamplerSettings()
#: Fitting methods a model can be asked for ("auto": exact where it applies, else NUTS).
METHOD_CHOICES = ("auto", "nuts", "exact")


class Model:
    """Base of every model family (see the module docstring for the contract)."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "binary"
    priors_class: ClassVar[type[PriorSet]] = PriorSet
    methods: ClassVar[tuple[str, ...]] = ("nuts",)
    grouping: ClassVar[str | None] = None
    options_schema: ClassVar[type | None] = None
    #: keys of ``options_schema`` that the analysis pipeline reads, not the model
    pipeline_options: ClassVar[tuple[str, ...]] = ()

    priors: PriorSet
    method: str
    sampler: SamplerSettings

    # ---- shared constructor checks ----------------------------------------------------------
    def _init_common(self, priors, method: str, sampler: SamplerSettings) -> None:
        self.priors = self.coerce_priors(priors)
        allowed = ("auto", *self.methods)
        if method not in allowed:
            raise ValueError(
                f"{type(self).__name__}: method must be one of {', '.join(allowed)}, not {method!r}"
            )
        if not isinstance(sampler, SamplerSettings):
            raise TypeError("sampler must be a SamplerSettings")
        self.method = method
        self.sampler = sampler

    @classmethod
    def coerce_priors(cls, priors) -> PriorSet:
        """``priors`` as this family's prior set (None: defaults; a dict or a set name: parsed)."""
        if priors is None:
            return cls.priors_class()
        if isinstance(priors, Mapping | str):
            return cls.priors_class.from_dict(priors)
        if not isinstance(priors, cls.priors_class):
            raise TypeError(
                f"{cls.__name__} takes {cls.priors_class.__name__}, not {type(priors).__name__}"
            )
        return priors

    # ---- configuration ------------------------------------------------------------------------
    def options(self) -> dict:
        """Family options beyond priors, method and sampler (recorded in the run attrs)."""
        return {}

    def config_options(self) -> dict:
        """Every constructor option needed to rebuild the model (default :meth:`options`)."""
        return self.options()

    def config(self) -> dict:
        """What rebuilds this model: ``Model.from_config(model.config())`` is an equal model."""
        return {
            "model": self.name,
            "priors": self.priors.to_dict(),
            "method": self.method,
            "sampler": asdict(self.sampler),
            "options": self.config_options(),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Model:
        """The model a :meth:`config` describes (the family is looked up in the registry)."""
        from bayes_anlo.models.registry import family

        target = family(str(config["model"]))
        if cls is not Model and not issubclass(target, cls):
            raise TypeError(f"{config['model']!r} is not a {cls.__name__}")
        return target(
            priors=config.get("priors") or None,
            method=config.get("method", "auto"),
            sampler=SamplerSettings(**config.get("sampler", {})),
            **target.config_arguments(config),
            **config.get("options", {}),
        )

    @classmethod
    def config_arguments(cls, config: Mapping[str, Any]) -> dict:
        """Constructor arguments a family keeps at the top level of its config (beyond
        ``priors``, ``method``, ``sampler`` and ``options``)."""
        return {}

    @classmethod
    def from_tree(cls, tree: xr.DataTree) -> Model:
        """The model that produced a fitted tree (from its root attr ``config``)."""
        raw = tree.attrs.get("config")
        if raw is None:
            raise ValueError("this tree carries no model configuration (root attr 'config')")
        return cls.from_config(json.loads(raw) if isinstance(raw, str) else raw)

    @classmethod
    def from_spec(cls, entry, sampler: SamplerSettings, priors=None) -> Model:
        """The model of a spec ``[[analyses]]`` entry (priors from the entry unless given)."""
        from bayes_anlo.models.registry import family

        target = family(entry.model)
        options = dict(entry.options)
        if target.options_schema is not None:
            known = set(target.options_schema.model_fields) - set(target.pipeline_options)
            options = {k: v for k, v in options.items() if k in known}
        options.update(target.spec_options(entry))
        if priors is None and entry.priors:
            priors = target.priors_class.from_dict(entry.priors)
        return target(priors=priors, method=entry.method, sampler=sampler, **options)

    @classmethod
    def spec_options(cls, entry) -> dict:
        """Options a family takes from spec keys other than ``options`` (``by``, ``endpoint``,
        ``thresholds``)."""
        return {}

    # ---- data, graph, compiled-model reuse ----------------------------------------------------
    def prepare(self, data):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build(self, prep) -> pm.Model:  # pragma: no cover - abstract
        raise NotImplementedError

    def build(self, data) -> pm.Model:
        """The PyMC model for ``data`` (named dims; data and prior parameters as ``pm.Data``)."""
        return self._build(self.prepare(data))

    def data_values(self, prep) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        """The numbers swapped into a compiled graph (data and prior parameters, by data name)."""
        raise NotImplementedError

    def structure_key(self, prep) -> tuple:  # pragma: no cover - abstract
        """What fixes the compiled graph (two fits with equal keys share one compilation)."""
        raise NotImplementedError

    def sample_nuts(self, prep, seed: int) -> xr.DataTree:
        """NUTS draws (groups ``posterior``, ``sample_stats``): nutpie through the one compile
        cache, or PyMC's sampler when the settings ask for it."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*object mode.*")
            if self.sampler.sampler == "nutpie":
                return compile_cache.sample_cached(
                    self.structure_key(prep),
                    lambda: self._build(prep),
                    self.data_values(prep),
                    self.sampler,
                    seed,
                )
            return sample_model(
                self._build(prep),
                settings=self.sampler,
                random_seed=seed,
                attrs={},
                log_likelihood=False,
                posterior_predictive=False,
            )

    # ---- exact-engine hook ----------------------------------------------------------------------
    def exact_applies(self, prep) -> bool:
        """Whether the exact engine covers these data (default: whenever the family has one)."""
        return "exact" in self.methods

    def _exact(self, prep, chains: int, draws: int, rng) -> tuple[xr.Dataset, dict]:
        raise NotImplementedError(f"{type(self).__name__} has no exact method")

    def resolved_method(self, prep) -> str:
        """``"exact"`` or ``"nuts"``: what :meth:`fit` uses for these data."""
        if self.method == "auto":
            return "exact" if self.exact_applies(prep) else "nuts"
        return self.method

    # ---- fitting ---------------------------------------------------------------------------------
    def fit(self, data, random_seed: int = 0) -> xr.DataTree:
        """Fit to ``data`` (exact engine or NUTS) and return the family's DataTree, whose root
        attrs include ``config`` (see :meth:`from_tree`)."""
        prep = self.prepare(data)
        seed = int(random_seed)
        method = self.resolved_method(prep)
        chains, draws = self.sampler.chains, self.sampler.draws
        if method == "exact":
            rng = np.random.default_rng(derived_seed(seed, 3))
            post, summary = self._exact(prep, chains, draws, rng)
            settings = {"method": "exact", "chains": chains, "draws": draws}
            tree = self._assemble(post, None, prep, seed, settings, {"exact": summary})
        else:
            raw = self.sample_nuts(prep, seed)
            settings = {"method": "nuts", **asdict(self.sampler)}
            tree = self._assemble(
                raw["posterior"].to_dataset(),
                raw["sample_stats"].to_dataset(),
                prep,
                seed,
                settings,
                {},
            )
        tree.attrs["config"] = json.dumps(self.config(), sort_keys=True)
        return tree

    def _assemble(
        self, post, sample_stats, prep, seed: int, settings: dict, extra: dict
    ) -> xr.DataTree:  # pragma: no cover - abstract
        raise NotImplementedError
