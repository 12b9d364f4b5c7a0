"""Simulation-based calibration set-ups for every model family (docs/calibration.md).

Each set-up is a frozen dataclass satisfying :class:`bayes_anlo.checks.calibration.SBCSetup`:
``simulate(rng)`` draws the hyperparameters from the model's *default priors*
(:mod:`bayes_anlo.models.priors`, ``.rvs``) and a dataset from the model, ``fit(data, seed)``
returns ``n_draws`` posterior draws of the ranked quantities.

Two kinds of fitter:

* **exact** (``BetaBinomialExactSBC``, ``LogitNormalExactSBC``, ``CompletePoolingExactSBC``): the
  package's model class with ``method="exact"`` (grid quadrature / conjugacy, iid draws), fitted
  through its public ``fit`` on a :class:`~bayes_anlo.data.binary.BinaryData`. This validates the
  exact engines and the class code that derives study rates.
* **NUTS** (``*NutsSBC``, ``PiecewiseExponential*SBC``): the package's own graph (the family's
  ``build``, every number of it in ``pm.Data``), compiled once per process and structure by the
  package's one compile cache (:mod:`bayes_anlo.models.compile_cache`) and re-used for every
  dataset through ``with_data`` (no recompilation: 0.2 to 1 s of sampling per dataset instead of
  seconds to minutes of compilation). An SBC here is therefore an SBC of the package's model, not
  of a copy. The summaries set-up draws each dataset from the package model's prior predictive
  (:func:`forward_sampler`).
  Draws: ``chains x draws`` after ``tune`` warm-up, concatenated and thinned to ``n_draws``
  (:func:`~bayes_anlo.checks.calibration.thin`); the mean bulk ESS of the ranked hyperparameters
  and the number of divergences are recorded per dataset.

Study rates that the package derives after sampling (beta-binomial and nested models: by
conjugacy, ``theta_i | mu, kappa, y ~ Beta(mu kappa + y_i, (1 - mu) kappa + n_i - y_i)``) are drawn
the same way here, one per posterior draw.

Survival (piecewise exponential, cuts 0, 3, 6, 12 months, three studies, hierarchical study
effects): ``PiecewiseExponentialIPDSBC`` simulates patients
(:func:`~bayes_anlo.survival.simulate.simulate_patients`, 12 months accrual + 12 months follow-up)
and fits the collapsed events/exposure
(:func:`~bayes_anlo.models.piecewise_exponential.prepare_survival`);
``PiecewiseExponentialSummarySBC`` fixes the design of the summary terms (standard errors,
landmark times, patients, follow-up) from the summaries a paper would print about a typical
cohort (:func:`~bayes_anlo.survival.simulate.paper_summaries`) and draws each dataset from the
package model's prior predictive: an SBC of the summary model as specified; how well that
likelihood approximates real printed summaries is a different question, studied by the survival
tests.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from bayes_anlo.checks.calibration import thin
from bayes_anlo.models.priors import (
    BetaBinomialPriors,
    CompletePoolingPriors,
    LogitNormalPriors,
    NestedBetaBinomialPriors,
)
from bayes_anlo.models.sampling import compile_settings

#: Default number of (thinned) posterior draws ranked per dataset: ranks lie in 0..199.
N_DRAWS = 199


@dataclass(frozen=True)
class NutsSettings:
    """NUTS for SBC: ``chains x draws`` kept (thinned to the set-up's ``n_draws``)."""

    draws: int = 500
    tune: int = 500
    chains: int = 2
    target_accept: float = 0.9
    cores: int = 1


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def binary_frame(events, n, subgroup=None):
    """BinaryData for simulated counts (studies S01, S02, ...; outcome ORR)."""
    from bayes_anlo.data.binary import load_binary

    events = np.asarray(events)
    table = {
        "study": [f"S{i + 1:02d}" for i in range(len(events))],
        "outcome": "ORR",
        "events": events.astype(int),
        "n": np.asarray(n).astype(int),
    }
    if subgroup is not None:
        table["subgroup"] = [f"G{g + 1}" for g in np.asarray(subgroup)]
    return load_binary(pd.DataFrame(table))


def _flat(post, name) -> np.ndarray:
    """Draws of ``name`` with chains concatenated (first axis)."""
    v = np.asarray(post[name].values)
    return v.reshape((-1,) + v.shape[2:])


def _beta(rng, a, b):
    tiny = np.finfo(float).tiny
    return rng.beta(np.maximum(a, tiny), np.maximum(b, tiny))


def _bulk_ess(post, names) -> float:
    from arviz_stats.base import array_stats

    values = []
    for name in names:
        v = np.asarray(post[name].values, dtype=float)
        v = v.reshape(v.shape[:2] + (-1,))[..., 0]
        values.append(float(array_stats.ess(v, chain_axis=0, draw_axis=1)))
    return float(np.mean(values))


def _sampler(settings: NutsSettings):
    from bayes_anlo.models.sampling import SamplerSettings

    return SamplerSettings(
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        target_accept=settings.target_accept,
    )


def sample_package_model(model, data, seed: int, settings: NutsSettings):
    """NUTS on the package model ``model`` (a family instance) for ``data`` through the one compile
    cache (compiled once per structure); returns (posterior, divergences)."""

    prep = model.prepare(data)
    return sample_compiled(
        model.structure_key(prep),
        lambda: model.build(prep),
        model.data_values(prep),
        seed,
        settings,
    )


def sample_compiled(key, builder, data: dict, seed: int, settings: NutsSettings):
    """Swap ``data`` into the cached compiled model of ``key`` (built by ``builder()`` once) and
    run nutpie seeded with ``seed``; returns (posterior, divergences)."""
    from bayes_anlo.models import compile_cache

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = compile_cache.sample_cached(
            key,
            builder,
            data,
            _sampler(settings),
            seed,
            nutpie_seed=int(seed) % (2**63),
            cores=settings.cores,
        )
    post = tree["posterior"].to_dataset()
    div = int(np.asarray(tree["sample_stats"]["diverging"].values).sum())
    return post, div


# --------------------------------------------------------------------------------------------
# binary set-ups
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BinaryDesign:
    """Study sizes ``n_i ~ Uniform{n_lo..n_hi}`` for ``k`` studies."""

    k: int = 8
    n_lo: int = 20
    n_hi: int = 100

    def sizes(self, rng) -> np.ndarray:
        return rng.integers(self.n_lo, self.n_hi + 1, size=self.k)


def _simulate_beta_binomial(rng, priors: BetaBinomialPriors, design: BinaryDesign):
    mu = float(priors.mu.rvs(None, rng))
    kappa = float(priors.kappa.rvs(None, rng))
    n = design.sizes(rng)
    theta = _beta(rng, np.full(design.k, mu * kappa), np.full(design.k, (1 - mu) * kappa))
    y = rng.binomial(n, theta)
    truth = {"mu": mu, "log_kappa": float(np.log(kappa)), "study_rate_1": float(theta[0])}
    return truth, (y, n)


@dataclass(frozen=True)
class BetaBinomialExactSBC:
    """Beta-binomial model, ``BetaBinomial(method="exact")`` (grid quadrature)."""

    name: str = "beta_binomial_exact"
    design: BinaryDesign = BinaryDesign()
    priors: BetaBinomialPriors = BetaBinomialPriors()
    n_draws: int = N_DRAWS
    parameters: tuple[str, ...] = ("mu", "log_kappa", "study_rate_1")

    def simulate(self, rng):
        return _simulate_beta_binomial(rng, self.priors, self.design)

    def fit(self, data, seed):
        from bayes_anlo.models import BetaBinomial, SamplerSettings

        y, n = data
        model = BetaBinomial(
            self.priors, method="exact", sampler=SamplerSettings(draws=self.n_draws, chains=1)
        )
        post = model.fit(binary_frame(y, n), random_seed=seed)["posterior"]
        return {
            "mu": _flat(post, "mu"),
            "log_kappa": np.log(_flat(post, "kappa")),
            "study_rate_1": _flat(post, "study_rate")[:, 0],
        }, {}


@dataclass(frozen=True)
class BetaBinomialNutsSBC:
    """Beta-binomial model by NUTS (the package's ``BetaBinomial`` graph)."""

    name: str = "beta_binomial_nuts"
    design: BinaryDesign = BinaryDesign()
    priors: BetaBinomialPriors = BetaBinomialPriors()
    nuts: NutsSettings = NutsSettings()
    n_draws: int = N_DRAWS
    parameters: tuple[str, ...] = ("mu", "log_kappa", "study_rate_1")

    def simulate(self, rng):
        return _simulate_beta_binomial(rng, self.priors, self.design)

    def fit(self, data, seed):
        from bayes_anlo.models import BetaBinomial

        y, n = data
        post, div = sample_package_model(
            BetaBinomial(self.priors), binary_frame(y, n), seed, self.nuts
        )
        mu, kappa = _flat(post, "mu"), _flat(post, "kappa")
        rng = np.random.default_rng([int(seed), 2])
        theta1 = _beta(rng, mu * kappa + y[0], (1 - mu) * kappa + n[0] - y[0])
        draws = {"mu": mu, "log_kappa": np.log(kappa), "study_rate_1": theta1}
        return (
            {k: thin(v, self.n_draws) for k, v in draws.items()},
            {"divergences": div, "ess_bulk": _bulk_ess(post, ["mu", "kappa"])},
        )


def _simulate_logit_normal(rng, priors: LogitNormalPriors, design: BinaryDesign):
    mu = float(priors.mu.rvs(None, rng))
    tau = float(priors.tau.rvs(None, rng))
    n = design.sizes(rng)
    eta = mu + tau * rng.standard_normal(design.k)
    y = rng.binomial(n, expit(eta))
    return {"mu": mu, "tau": tau, "study_rate_1": float(expit(eta[0]))}, (y, n)


@dataclass(frozen=True)
class LogitNormalExactSBC:
    """Logit-normal model, ``LogitNormal(method="exact")`` (grid + adaptive Gauss-Hermite)."""

    name: str = "logit_normal_exact"
    design: BinaryDesign = BinaryDesign()
    priors: LogitNormalPriors = LogitNormalPriors()
    n_draws: int = N_DRAWS
    parameters: tuple[str, ...] = ("mu", "tau", "study_rate_1")

    def simulate(self, rng):
        return _simulate_logit_normal(rng, self.priors, self.design)

    def fit(self, data, seed):
        from bayes_anlo.models import LogitNormal, SamplerSettings

        y, n = data
        model = LogitNormal(
            self.priors, method="exact", sampler=SamplerSettings(draws=self.n_draws, chains=1)
        )
        post = model.fit(binary_frame(y, n), random_seed=seed)["posterior"]
        return {
            "mu": _flat(post, "mu"),
            "tau": _flat(post, "tau"),
            "study_rate_1": _flat(post, "study_rate")[:, 0],
        }, {}


@dataclass(frozen=True)
class LogitNormalNutsSBC:
    """Logit-normal model by NUTS (the package's ``LogitNormal`` graph, non-centred)."""

    name: str = "logit_normal_nuts"
    design: BinaryDesign = BinaryDesign()
    priors: LogitNormalPriors = LogitNormalPriors()
    nuts: NutsSettings = NutsSettings()
    n_draws: int = N_DRAWS
    parameters: tuple[str, ...] = ("mu", "tau", "study_rate_1")

    def simulate(self, rng):
        return _simulate_logit_normal(rng, self.priors, self.design)

    def fit(self, data, seed):
        from bayes_anlo.models import LogitNormal

        y, n = data
        post, div = sample_package_model(
            LogitNormal(self.priors), binary_frame(y, n), seed, self.nuts
        )
        mu, tau, z = _flat(post, "mu"), _flat(post, "tau"), _flat(post, "z")
        draws = {"mu": mu, "tau": tau, "study_rate_1": expit(mu + tau * z[:, 0])}
        return (
            {k: thin(v, self.n_draws) for k, v in draws.items()},
            {"divergences": div, "ess_bulk": _bulk_ess(post, ["mu", "tau"])},
        )


@dataclass(frozen=True)
class NestedNutsSBC:
    """Nested overall -> subgroup -> study model by NUTS (the package's ``NestedBetaBinomial``
    graph, beta-binomial within subgroups).

    Design: ``subgroups`` subgroups of ``per_subgroup`` studies each, ``n_i ~ U{20..100}``.
    Ranked: the overall rate ``mu``, ``sigma_subgroup``, ``log kappa``, the first subgroup's
    rate and the first study's rate.
    """

    name: str = "nested_nuts"
    subgroups: int = 4
    per_subgroup: int = 3
    n_lo: int = 20
    n_hi: int = 100
    priors: NestedBetaBinomialPriors = NestedBetaBinomialPriors()
    nuts: NutsSettings = NutsSettings()
    n_draws: int = N_DRAWS
    parameters: tuple[str, ...] = (
        "mu",
        "sigma_subgroup",
        "log_kappa",
        "subgroup_rate_1",
        "study_rate_1",
    )

    @property
    def index(self) -> np.ndarray:
        return np.repeat(np.arange(self.subgroups), self.per_subgroup)

    def simulate(self, rng):
        p = self.priors
        mu = float(p.mu.rvs(None, rng))
        sigma = float(p.sigma_subgroup.rvs(None, rng))
        kappa = float(p.kappa.rvs(None, rng))
        rate_g = expit(logit(mu) + sigma * rng.standard_normal(self.subgroups))
        idx = self.index
        n = rng.integers(self.n_lo, self.n_hi + 1, size=idx.size)
        theta = _beta(rng, rate_g[idx] * kappa, (1 - rate_g[idx]) * kappa)
        y = rng.binomial(n, theta)
        truth = {
            "mu": mu,
            "sigma_subgroup": sigma,
            "log_kappa": float(np.log(kappa)),
            "subgroup_rate_1": float(rate_g[0]),
            "study_rate_1": float(theta[0]),
        }
        return truth, (y, n)

    def fit(self, data, seed):
        from bayes_anlo.models import NestedBetaBinomial

        y, n = data
        model = NestedBetaBinomial(self.priors, within="beta_binomial")
        post, div = sample_package_model(
            model, binary_frame(y, n, subgroup=self.index), seed, self.nuts
        )
        mu, sigma, kappa = _flat(post, "mu"), _flat(post, "sigma_subgroup"), _flat(post, "kappa")
        z = _flat(post, "z_subgroup")
        rate_g = expit(logit(mu)[:, None] + sigma[:, None] * z)
        r0 = rate_g[:, self.index[0]]
        rng = np.random.default_rng([int(seed), 2])
        theta1 = _beta(rng, r0 * kappa + y[0], (1 - r0) * kappa + n[0] - y[0])
        draws = {
            "mu": mu,
            "sigma_subgroup": sigma,
            "log_kappa": np.log(kappa),
            "subgroup_rate_1": rate_g[:, 0],
            "study_rate_1": theta1,
        }
        return (
            {k: thin(v, self.n_draws) for k, v in draws.items()},
            {"divergences": div, "ess_bulk": _bulk_ess(post, ["mu", "sigma_subgroup", "kappa"])},
        )


@dataclass(frozen=True)
class CompletePoolingExactSBC:
    """Complete pooling (conjugate Beta posterior), ``CompletePooling(method="exact")``.

    ``narrow`` < 1 shrinks every posterior draw toward the posterior mean by that factor: a
    deliberately mis-calibrated (too narrow) fitter that SBC must flag (used by the unit tests).
    """

    name: str = "complete_pooling_exact"
    design: BinaryDesign = BinaryDesign(k=5, n_lo=10, n_hi=40)
    priors: CompletePoolingPriors = CompletePoolingPriors()
    n_draws: int = 99
    narrow: float = 1.0
    parameters: tuple[str, ...] = ("p",)

    def simulate(self, rng):
        p = float(self.priors.p.rvs(None, rng))
        n = self.design.sizes(rng)
        return {"p": p}, (rng.binomial(n, p), n)

    def fit(self, data, seed):
        from bayes_anlo.models import CompletePooling, SamplerSettings

        y, n = data
        model = CompletePooling(
            self.priors, method="exact", sampler=SamplerSettings(draws=self.n_draws, chains=1)
        )
        p = _flat(model.fit(binary_frame(y, n), random_seed=seed)["posterior"], "p")
        if self.narrow != 1.0:
            p = p.mean() + self.narrow * (p - p.mean())
        return {"p": p}, {}


# --------------------------------------------------------------------------------------------
# piecewise exponential
# --------------------------------------------------------------------------------------------
SURVIVAL_CUTS = (0.0, 3.0, 6.0, 12.0)


def observed_data_name(model, rv) -> str:
    """Name of the ``pm.Data`` container that holds the observations of ``rv`` (possibly behind a
    cast); raises when the observations are constants."""
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.traversal import ancestors

    data = {v.name for v in model.data_vars}
    found = [
        a.name
        for a in ancestors([model.rvs_to_values[rv]])
        if isinstance(a, SharedVariable) and a.name in data
    ]
    if len(found) != 1:
        raise ValueError(
            f"the observations of {rv.name} are not one pm.Data container (found {found})"
        )
    return found[0]


# per-process cache of compiled forward samplers: key -> (function, rngs, names, data names)
_FORWARD: dict = {}


def forward_sampler(key, builder, names: tuple[str, ...]):
    """Compile once a draw of the free variables ``names`` and of every observed variable of the
    model ``builder()`` from its prior predictive (as ``pm.draw`` does, without recompiling).

    Returns ``draw(seed) -> (values of names, {observed data container name: simulated value})``;
    the data container of an observed variable is ``model.rvs_to_values[rv]`` (the model must hold
    its observations in ``pm.Data`` containers, as ``build_piecewise_exponential`` does).
    """
    if key not in _FORWARD:
        from pymc.pytensorf import compile as compile_fn
        from pytensor.tensor.random.type import RandomGeneratorType

        model = builder()
        observed = list(model.observed_RVs)
        data_names = [observed_data_name(model, rv) for rv in observed]
        with compile_settings():
            outputs = [model[n] for n in names] + observed
            fn = compile_fn(inputs=[], outputs=outputs, random_seed=None)
        rngs = [v for v in fn.get_shared() if isinstance(v.type, RandomGeneratorType)]
        _FORWARD[key] = (fn, rngs, tuple(names), data_names)
    fn, rngs, names, data_names = _FORWARD[key]

    def draw(seed: int):
        from pymc.pytensorf import reseed_rngs

        reseed_rngs(rngs, int(seed))
        out = fn()
        k = len(names)
        return dict(zip(names, out[:k], strict=True)), dict(zip(data_names, out[k:], strict=True))

    return draw


def _pwe_truth(rng, priors, n_intervals: int, n_studies: int):
    log_hazard = np.asarray(priors.log_hazard.rvs(n_intervals, rng), dtype=float)
    study_sd = float(priors.study_sd.rvs(None, rng))
    effect = study_sd * rng.standard_normal(n_studies)
    return log_hazard, study_sd, effect


def _pwe_draws(post, cuts, n_draws: int) -> dict[str, np.ndarray]:
    from bayes_anlo.survival import pwexp

    lh = _flat(post, "log_hazard")
    draws = {
        "log_hazard_1": lh[:, 0],
        f"log_hazard_{lh.shape[1]}": lh[:, -1],
        "study_sd": _flat(post, "study_sd"),
        "log_median": np.log(pwexp.median(np.exp(lh), cuts)),
    }
    return {k: thin(v, n_draws) for k, v in draws.items()}


def _pwe_truth_dict(log_hazard, study_sd, cuts) -> dict[str, float]:
    from bayes_anlo.survival import pwexp

    return {
        "log_hazard_1": float(log_hazard[0]),
        f"log_hazard_{log_hazard.size}": float(log_hazard[-1]),
        "study_sd": study_sd,
        "log_median": float(np.log(pwexp.median(np.exp(log_hazard), cuts))),
    }


@dataclass(frozen=True)
class PiecewiseExponentialIPDSBC:
    """Piecewise-exponential model from patient data (hierarchical study effects), by NUTS on the
    package's ``PiecewiseExponential`` graph (compiled once per pattern of cells reached).

    Ranked: the first and last interval's baseline log hazard, ``study_sd`` and the log median
    of the typical study's survival (``log median(exp(log_hazard))``).
    """

    name: str = "piecewise_exponential_ipd"
    cuts: tuple[float, ...] = SURVIVAL_CUTS
    studies: int = 3
    patients: int = 60
    accrual: float = 12.0
    followup: float = 12.0
    nuts: NutsSettings = NutsSettings()
    n_draws: int = N_DRAWS
    parameters: tuple[str, ...] = ("log_hazard_1", "log_hazard_4", "study_sd", "log_median")
    priors: object = field(default=None)

    def _priors(self):
        from bayes_anlo.models.piecewise_exponential import PiecewiseExponentialPriors

        return self.priors or PiecewiseExponentialPriors()

    def simulate(self, rng):
        from bayes_anlo.survival.simulate import PiecewiseExponentialTruth, simulate_patients

        j = len(self.cuts)
        log_hazard, study_sd, effect = _pwe_truth(rng, self._priors(), j, self.studies)
        data = [
            simulate_patients(
                rng,
                self.patients,
                PiecewiseExponentialTruth(self.cuts, tuple(np.exp(log_hazard + effect[s]))),
                accrual=self.accrual,
                followup=self.followup,
                study=f"S{s + 1}",
            )
            for s in range(self.studies)
        ]
        return _pwe_truth_dict(log_hazard, study_sd, self.cuts), data

    def fit(self, data, seed):
        from bayes_anlo.models.piecewise_exponential import PiecewiseExponential

        model = PiecewiseExponential(cuts=self.cuts, priors=self._priors(), smooth=False)
        inputs = model.prepare(data)
        if inputs.studies != [f"S{s + 1}" for s in range(self.studies)]:
            raise ValueError(f"unexpected study order {inputs.studies}")
        post, div = sample_package_model(model, inputs, seed, self.nuts)
        return (
            _pwe_draws(post, np.asarray(self.cuts), self.n_draws),
            {"divergences": div, "ess_bulk": _bulk_ess(post, ["log_hazard", "study_sd"])},
        )


@dataclass(frozen=True)
class PiecewiseExponentialSummarySBC:
    """Piecewise-exponential model from published summaries (median with CI, landmark survival
    at 6 and 12 months with CIs, events among patients with the median follow-up), by NUTS.

    The design (the summaries' standard errors and covariances, landmark times, patients,
    follow-up) is fixed by the summaries of one simulated typical cohort per study (constant
    hazard 0.08/month, median 8.7 months, ``patients`` patients) prepared by
    ``prepare_survival``. The model is the package's own ``build_piecewise_exponential`` on that
    design; each dataset is one draw of its prior predictive (:func:`forward_sampler`: parameters
    from the prior, then the observed summary terms from the model's likelihood), and the fit
    swaps the drawn observations into the model compiled once (``with_data``). Ranked as
    :class:`PiecewiseExponentialIPDSBC`. ``smooth`` (default True, as summary-only fits of
    :class:`~bayes_anlo.models.piecewise_exponential.PiecewiseExponential` by default) links the
    interval log hazards by the random walk; ``smooth=False`` is the set-up of the first study
    (independent log hazards, flagged in docs/calibration.md).
    """

    name: str = "piecewise_exponential_summaries"
    cuts: tuple[float, ...] = SURVIVAL_CUTS
    studies: int = 3
    patients: int = 60
    smooth: bool = True
    nuts: NutsSettings = NutsSettings()
    n_draws: int = N_DRAWS
    parameters: tuple[str, ...] = ("log_hazard_1", "log_hazard_4", "study_sd", "log_median")
    priors: object = field(default=None)

    def _priors(self):
        from bayes_anlo.models.piecewise_exponential import PiecewiseExponentialPriors

        return self.priors or PiecewiseExponentialPriors()

    def template(self):
        """The prepared summaries of the typical cohorts (fixed seed)."""
        from bayes_anlo.models.piecewise_exponential import prepare_survival
        from bayes_anlo.survival.simulate import (
            PiecewiseExponentialTruth,
            paper_summaries,
            simulate_patients,
        )

        rng = np.random.default_rng(20260402)
        truth = PiecewiseExponentialTruth(self.cuts, tuple(np.full(len(self.cuts), 0.08)))
        summ = [
            paper_summaries(
                simulate_patients(rng, self.patients, truth, study=f"S{s + 1}"),
                landmarks=(6.0, 12.0),
            )
            for s in range(self.studies)
        ]
        return prepare_survival(summ, cuts=self.cuts)

    def graph(self):
        from bayes_anlo.models.piecewise_exponential import build_piecewise_exponential

        return build_piecewise_exponential(
            _summary_template(self), self._priors(), smooth=self.smooth
        )

    def _key(self):
        return (self.name, self.cuts, self.studies, self.patients, self.smooth)

    def simulate(self, rng):
        draw = forward_sampler(self._key(), self.graph, ("log_hazard", "study_sd"))
        params, data = draw(int(rng.integers(2**62)))
        log_hazard = np.asarray(params["log_hazard"], dtype=float)
        return _pwe_truth_dict(log_hazard, float(params["study_sd"]), self.cuts), data

    def fit(self, data, seed):
        post, div = sample_compiled(("sbc", *self._key()), self.graph, dict(data), seed, self.nuts)
        return (
            _pwe_draws(post, np.asarray(self.cuts), self.n_draws),
            {"divergences": div, "ess_bulk": _bulk_ess(post, ["log_hazard", "study_sd"])},
        )


_TEMPLATES: dict = {}


def _summary_template(setup: PiecewiseExponentialSummarySBC):
    key = (setup.cuts, setup.studies, setup.patients)
    if key not in _TEMPLATES:
        _TEMPLATES[key] = setup.template()
    return _TEMPLATES[key]


def all_setups() -> dict[str, object]:
    """Every SBC set-up run by ``bayes-anlo study sbc`` (``make sbc``), by name."""
    setups = [
        BetaBinomialExactSBC(),
        BetaBinomialNutsSBC(),
        LogitNormalExactSBC(),
        LogitNormalNutsSBC(),
        NestedNutsSBC(),
        PiecewiseExponentialIPDSBC(),
        PiecewiseExponentialSummarySBC(),
    ]
    return {s.name: s for s in setups}


#: The model family and fitting method of each set-up (``bayes-anlo study sbc --model --method``).
SETUP_MODELS: dict[str, tuple[str, str]] = {
    "beta_binomial_exact": ("beta_binomial", "exact"),
    "beta_binomial_nuts": ("beta_binomial", "nuts"),
    "logit_normal_exact": ("logit_normal", "exact"),
    "logit_normal_nuts": ("logit_normal", "nuts"),
    "nested_nuts": ("nested", "nuts"),
    "piecewise_exponential_ipd": ("piecewise_exponential", "nuts"),
    "piecewise_exponential_summaries": ("piecewise_exponential", "nuts"),
}
MODELS = tuple(dict.fromkeys(m for m, _ in SETUP_MODELS.values()))
METHODS = ("exact", "nuts")


def select_setups(names=(), models=(), methods=()) -> dict[str, object]:
    """The set-ups named in ``names`` (all when empty) whose model family is in ``models`` and
    method in ``methods`` (each: all when empty), in the order of :func:`all_setups`. Raises
    ValueError naming what is unknown, or when nothing is left."""
    setups = all_setups()
    for given, known, what in (
        (names, setups, "set-up"),
        (models, MODELS, "model"),
        (methods, METHODS, "method"),
    ):
        unknown = [g for g in given if g not in known]
        if unknown:
            raise ValueError(
                f"unknown {what} {', '.join(map(repr, unknown))}; choose from {', '.join(known)}"
            )
    chosen = {
        name: setup
        for name, setup in setups.items()
        if (not names or name in names)
        and (not models or SETUP_MODELS[name][0] in models)
        and (not methods or SETUP_MODELS[name][1] in methods)
    }
    if not chosen:
        raise ValueError("no SBC set-up matches these set-up names, models and methods")
    return chosen


#: Readable labels of the ranked quantities (figures).
LABELS = {
    "mu": "mu",
    "log_kappa": "log kappa",
    "study_rate_1": "study 1 rate",
    "tau": "tau",
    "sigma_subgroup": "sigma_subgroup",
    "subgroup_rate_1": "subgroup 1 rate",
    "p": "p",
    "log_hazard_1": "log hazard 0-3 m",
    "log_hazard_4": "log hazard 12+ m",
    "study_sd": "study_sd",
    "log_median": "log median",
}
