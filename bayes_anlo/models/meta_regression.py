"""Bayesian meta-regression of response rates: the logit-normal model with study-level covariates.

Model (non-centred; covariates standardised inside the model)::

    x*_ij = (x_ij - mean_j) / sd_j                        (moderator j of study i)
    logit theta_i = mu + sum_j beta*_j x*_ij + tau z_i,   z_i ~ Normal(0, 1)
    y_i ~ Binomial(n_i, theta_i)
    mu ~ Normal(0, 2),  beta*_j ~ Normal(0, 1),  tau ~ HalfNormal(1)   (MetaRegressionPriors)

This is the Bayesian counterpart of the random-intercept logistic meta-regression (``metafor::
rma.glmm(measure="PLO", mods = ~ x)``, Stijnen, Hamza & Ozdemir 2010, Stat Med 29:3046) and, on
the normal approximation, of ``rma(yi, vi, mods = ~ x)``. ``mu`` is the logit rate of a study with
every moderator at its mean, ``slope_std`` (``beta*``) the log odds ratio per standard deviation of
a moderator and ``slope`` = ``beta*_j / sd_j`` the log odds ratio per unit of the moderator as
given (comparable to metafor's coefficient). The slope prior is set on the standardised scale so
that it means the same thing for a year, a sample size or a 0/1 indicator: a change of one SD of
the moderator shifts the odds by a factor within 1/7 to 7 with 95% prior probability.

Moderators are columns of the data table (e.g. ``year``, ``median_age``); a column whose values
are not all numbers is a factor, coded by indicators against its first level in sorted order, one
moderator ``<column><level>`` per other level, exactly as the frequentist ``meta_regression``
(``rma(mods = ~ factor(x))``) codes it.

Posterior variables: ``mu``, ``tau``, ``z`` (dim ``unit``), ``slope_std`` and ``slope`` (dim
``moderator``), ``pooled_rate`` (= expit(mu), the median study rate at mean moderators),
``predictive_rate`` (a new study at mean moderators), ``study_rate`` (dim ``unit``). The
``log_likelihood`` is the study-level marginal (effect integrated out by adaptive Gauss-Hermite),
as for :class:`~bayes_anlo.models.logit_normal.LogitNormal`, so LOO compares the two on the same
target. :func:`slope_table` gives each slope's posterior median, 95% CrI and ``P(slope > 0)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit

from bayes_anlo.errors import InputError, Problem
from bayes_anlo.exact.special_functions import logit_normal_marginal, logit_normal_moments
from bayes_anlo.frequentist.meta_regression import moderator_design
from bayes_anlo.lazy_import import lazy_module
from bayes_anlo.models.binary import BinaryModel, Prepared, prepare_binary
from bayes_anlo.models.contract import DEFAULT_SAMPLER
from bayes_anlo.models.options import MetaRegressionOptions
from bayes_anlo.models.priors import Distribution, HalfNormal, Normal, PriorSet, prior_terms
from bayes_anlo.models.sampling import SamplerSettings

pm = lazy_module("pymc")

_CD = ("chain", "draw")
_CDU = ("chain", "draw", "unit")
_CDM = ("chain", "draw", "moderator")


@dataclass(frozen=True)
class MetaRegressionPriors(PriorSet):
    """Priors of the logit-normal meta-regression.

    Default: ``mu ~ Normal(0, 2)``, ``slope ~ Normal(0, 1)`` (each slope per SD of its
    moderator), ``tau ~ HalfNormal(1)``; ``mu`` and ``tau`` as in
    :class:`~bayes_anlo.models.priors.LogitNormalPriors` (Roever et al. 2021, Res Synth Methods
    12:448, for half-normal heterogeneity priors of scale 0.5 to 1 on log-odds scales). A
    Normal(0, 1) log odds ratio per SD puts 95% prior probability on odds ratios 0.14 to 7.1.
    """

    mu: Distribution = Normal(0.0, 2.0)
    slope: Distribution = Normal(0.0, 1.0)
    tau: Distribution = HalfNormal(1.0)
    SUPPORT: ClassVar[dict[str, str]] = {"mu": "real", "slope": "real", "tau": "positive"}
    MEANING: ClassVar[dict[str, str]] = {
        "mu": "logit rate of a study at the mean of every moderator",
        "slope": "log odds ratio per standard deviation of a moderator (each moderator)",
        "tau": "residual between-study SD of logit rates",
    }

    @classmethod
    def alternatives(cls) -> dict[str, MetaRegressionPriors]:
        """``slope_narrow``: slope ~ Normal(0, 0.5) (sceptical); ``slope_wide``: Normal(0, 2.5);
        ``tau_narrow``: tau ~ HalfNormal(0.5)."""
        return {
            "slope_narrow": cls(slope=Normal(0.0, 0.5)),
            "slope_wide": cls(slope=Normal(0.0, 2.5)),
            "tau_narrow": cls(tau=HalfNormal(0.5)),
        }


@dataclass(frozen=True)
class PreparedRegression(Prepared):
    """:class:`Prepared` arrays plus the standardised moderator matrix ``x_std`` (unit x moderator)
    and the centre and scale that standardised each moderator."""

    moderators: list[str] = field(default_factory=list)
    x_std: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    centre: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.zeros(0))


def moderator_matrix(data, moderators: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Design columns (without intercept) for ``moderators``, coded as the frequentist
    meta-regression codes them (:func:`bayes_anlo.frequentist.meta_regression.moderator_design`:
    numbers as they are, factors by indicators of their levels after the first in sorted order,
    as R's ``factor``), so that Bayesian and frequentist slopes are the same contrasts. Problems
    of every moderator are reported together as one :class:`InputError`."""
    problems: list[Problem] = []
    names: list[str] = []
    columns: list[np.ndarray] = []
    for column in moderators:
        try:
            X, coefficient_names, _, _ = moderator_design(data, column)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        names.extend(coefficient_names[1:])
        columns.append(X[:, 1:])
    if problems:
        raise InputError(problems)
    return names, np.column_stack(columns)


def prepare_regression(data, moderators: Sequence[str]) -> PreparedRegression:
    """Validated counts and the standardised moderator matrix of ``data`` (``BinaryData``)."""
    prep = prepare_binary(data)
    names, x = moderator_matrix(data, moderators)
    k, p = x.shape
    if k < p + 2:
        raise InputError(
            Problem(
                data.source,
                None,
                None,
                f"meta-regression on {p} moderator column(s) needs at least {p + 2} studies, "
                f"not {k}",
            )
        )
    centre = x.mean(axis=0)
    scale = x.std(axis=0, ddof=1)
    coords = {"unit": prep.labels, "moderator": names}
    return PreparedRegression(
        data=prep.data,
        outcome=prep.outcome,
        labels=prep.labels,
        events=prep.events,
        n=prep.n,
        coords=coords,
        index={},
        moderators=names,
        x_std=(x - centre) / scale,
        centre=centre,
        scale=scale,
    )


def build_meta_regression(prep: PreparedRegression, priors: MetaRegressionPriors | None = None):
    """PyMC logit-normal meta-regression, non-centred (pure function of prepared arrays).

    Free variables ``mu``, ``tau``, ``z`` (dim ``unit``), ``slope_std`` (dim ``moderator``);
    deterministics ``slope`` (per unit of each moderator), ``pooled_rate``, ``study_rate``.
    """
    priors = priors or MetaRegressionPriors()
    import pytensor.tensor as pt

    with pm.Model(coords=prep.coords) as model:
        n = pm.Data("n", prep.n, dims="unit")
        events_obs = pm.Data("events_obs", prep.events, dims="unit")
        x = pt.as_tensor_variable(prep.x_std)
        mu = priors.to_pymc("mu")
        slope_std = priors.to_pymc("slope", name="slope_std", dims="moderator")
        tau = priors.to_pymc("tau")
        z = pm.Normal("z", 0.0, 1.0, dims="unit")
        eta = mu + pt.dot(x, slope_std) + tau * z
        pm.Deterministic("slope", slope_std / prep.scale, dims="moderator")
        pm.Deterministic("pooled_rate", pm.math.invlogit(mu))
        pm.Deterministic("study_rate", pm.math.invlogit(eta), dims="unit")
        pm.Binomial("events", n=n, logit_p=eta, observed=events_obs, dims="unit")
    return model


class MetaRegression(BinaryModel):
    """Logit-normal meta-regression on study-level moderators (see the module docstring).

    Parameters
    ----------
    priors : MetaRegressionPriors, dict or str, optional
    moderators : sequence of str
        Columns of the data table (numbers, or factors coded against their first level).
    method : {"nuts"}
    sampler, thresholds : as for every binary model.
    """

    name = "meta_regression"
    priors_class = MetaRegressionPriors
    methods = ("nuts",)
    options_schema = MetaRegressionOptions

    def __init__(
        self,
        priors=None,
        *,
        moderators: Sequence[str] = (),
        method: str = "nuts",
        sampler: SamplerSettings = DEFAULT_SAMPLER,
        thresholds: Sequence[float] = (),
    ):
        if isinstance(moderators, str):
            moderators = [moderators]
        moderators = [str(m) for m in moderators or ()]
        if not moderators:
            raise ValueError("MetaRegression needs at least one moderator column")
        if len(set(moderators)) != len(moderators):
            raise ValueError(f"moderators repeat a column: {moderators}")
        super().__init__(priors, method=method, sampler=sampler, thresholds=thresholds)
        self.moderators = tuple(moderators)

    def options(self) -> dict:
        return {"moderators": list(self.moderators)}

    def _prepare(self, data) -> PreparedRegression:
        if isinstance(data, PreparedRegression):
            return data
        return prepare_regression(data, self.moderators)

    def _build(self, prep):
        return build_meta_regression(prep, self.priors)

    def structure_key(self, prep) -> tuple:
        # the moderator values are compiled into the graph: a new matrix is a new structure
        digest = hashlib.sha256(np.ascontiguousarray(prep.x_std).tobytes()).hexdigest()
        return super().structure_key(prep) + (digest,)

    def prior_terms(self, posterior: xr.Dataset) -> dict[str, Distribution]:
        return prior_terms(self.priors, posterior, names={"slope": ("slope_std",)})

    @staticmethod
    def _location(post: xr.Dataset, x_std: np.ndarray) -> np.ndarray:
        """``mu + x*_i . beta*`` per draw and unit."""
        return post["mu"].values[..., None] + np.einsum(
            "cdm,um->cdu", post["slope_std"].values, x_std
        )

    def _derive(self, post, prep, rng, conditional):
        mu = post["mu"].values
        tau = post["tau"].values
        loc = self._location(post, prep.x_std)
        out = post.copy()
        out["slope"] = (_CDM, post["slope_std"].values / prep.scale)
        out["pooled_rate"] = (_CD, expit(mu))
        out["mean_rate"] = (_CD, logit_normal_moments(mu, tau)[0])
        out["predictive_rate"] = (_CD, expit(mu + tau * rng.standard_normal(mu.shape)))
        out["study_rate"] = (_CDU, expit(loc + tau[..., None] * post["z"].values))
        return out.assign_coords(unit=prep.labels, moderator=prep.moderators)

    def _log_likelihood(self, post, prep):
        loc = self._location(post, prep.x_std)
        tau = np.maximum(post["tau"].values[..., None], 1e-12)
        return logit_normal_marginal(prep.events, prep.n, loc, tau)

    def _replicate(self, post, prep, rng):
        loc = self._location(post, prep.x_std)
        tau = post["tau"].values[..., None]
        return rng.binomial(prep.n, expit(loc + tau * rng.standard_normal(loc.shape)))

    def _data_groups(self, prep):
        groups = super()._data_groups(prep)
        constant = groups["constant_data"].assign(
            x_std=(("unit", "moderator"), prep.x_std),
            moderator_centre=(("moderator",), prep.centre),
            moderator_scale=(("moderator",), prep.scale),
        )
        groups["constant_data"] = constant.assign_coords(
            unit=prep.labels, moderator=prep.moderators
        )
        return groups

    @classmethod
    def replication_moments(cls, tree):
        post = tree["posterior"].to_dataset()
        x_std = tree["constant_data"]["x_std"].values
        loc = cls._location(post, x_std)
        tau = np.broadcast_to(post["tau"].values[..., None], loc.shape)
        return logit_normal_moments(loc, tau)


def slope_table(tree: xr.DataTree, level: float = 0.95) -> pd.DataFrame:
    """Each moderator's slope (log odds ratio per unit): posterior median, equal-tailed ``level``
    interval, odds ratio, ``P(slope > 0)``, and the standardised slope (per SD of the moderator).

    Columns ``moderator, median, ci_low, ci_high, odds_ratio, prob_positive, median_per_sd``.
    """
    post = tree["posterior"]
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    rows = []
    for name in post["moderator"].values:
        draws = post["slope"].sel(moderator=name).values.ravel()
        std = post["slope_std"].sel(moderator=name).values.ravel()
        rows.append(
            {
                "moderator": str(name),
                "median": float(np.median(draws)),
                "ci_low": float(np.quantile(draws, lo)),
                "ci_high": float(np.quantile(draws, hi)),
                "odds_ratio": float(np.exp(np.median(draws))),
                "prob_positive": float(np.mean(draws > 0)),
                "median_per_sd": float(np.median(std)),
            }
        )
    return pd.DataFrame(rows)
