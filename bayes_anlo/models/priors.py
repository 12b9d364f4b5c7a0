"""Prior distributions as frozen objects, and the default prior set of every binary model.

A prior is a small frozen dataclass (``Beta(1, 1)``, ``LogNormal(3, 1.5)``, ``HalfNormal(1)`` ...)
that knows its density (``logpdf``, through :mod:`scipy.stats`; ``Beta`` and ``LogNormal``, the
priors of ``bayes-anlo rates``, compute theirs from :mod:`scipy.special` with the same result,
bit for bit, so that the quick path does not import scipy.stats), how to draw from it (``rvs``), how
to become a PyMC variable (``to_pymc``) and how to write itself as a TOML-able dict (``to_dict``).
Parameter names are PyMC's. Each model has a prior *set* (``BetaBinomialPriors`` ...): a frozen
dataclass whose fields are the model's hyperparameters. Prior sets

* check that every prior lives on its parameter's support (a rate needs a prior on (0, 1), a
  concentration or a standard deviation one on (0, inf));
* read specs with ``from_dict`` (unknown keys raise, every problem is reported, located by its
  dotted key path, e.g. ``<priors>:priors.kappa:sigma: must be > 0``);
* list named alternatives for sensitivity analysis (``alternatives()``; ``named(name)``).

All priors are proper, so prior predictive checks and simulation-based calibration are defined.

Example
-------
>>> BetaBinomialPriors.from_dict({"kappa": {"dist": "lognormal", "mu": 2, "sigma": 1}})
BetaBinomialPriors(mu=Beta(alpha=1.0, beta=1.0), kappa=LogNormal(mu=2.0, sigma=1.0))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from scipy import special

from bayes_anlo.errors import InputError, Problem

if TYPE_CHECKING:
    import xarray as xr


def _stats():
    """:mod:`scipy.stats`, imported on first use (it takes about a second)."""
    from scipy import stats

    return stats


# --------------------------------------------------------------------------------------------
# distributions
# --------------------------------------------------------------------------------------------

SUPPORTS = {"unit": (0.0, 1.0), "positive": (0.0, math.inf), "real": (-math.inf, math.inf)}


@dataclass(frozen=True)
class Distribution:
    """Base class of the prior distributions (not used directly)."""

    family: ClassVar[str] = ""
    #: parameter name -> "positive" | "real"
    PARAMS: ClassVar[dict[str, str]] = {}

    def __post_init__(self):
        for name, kind in self.PARAMS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(
                value, int | float | np.integer | np.floating
            ):
                raise ValueError(f"{name} must be a number, not {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, not {value!r}")
            if kind == "positive" and value <= 0:
                raise ValueError(f"{name} must be > 0, not {value:g}")
            object.__setattr__(self, name, value)
        self._check()

    def _check(self) -> None:
        """Extra checks between parameters (overridden where needed)."""

    # scipy frozen distribution for logpdf/rvs/support
    def _scipy(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def logpdf(self, x) -> np.ndarray:
        """Log density at ``x`` (``-inf`` outside the support)."""
        return self._scipy().logpdf(x)

    def rvs(self, size, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self._scipy().rvs(size=size, random_state=rng))

    def bounds(self) -> tuple[float, float]:
        lo, hi = self._scipy().support()
        return float(lo), float(hi)

    def quantile(self, q) -> np.ndarray:
        return self._scipy().ppf(q)

    def fits(self, support: str) -> bool:
        """True when the distribution's support lies inside ``support`` ("unit", "positive",
        "real")."""
        lo, hi = self.bounds()
        want_lo, want_hi = SUPPORTS[support]
        return lo >= want_lo and hi <= want_hi

    def to_pymc(self, name: str, *, data_prefix: str | None = None, **kwargs):
        """A PyMC random variable with this distribution (inside a model context).

        With ``data_prefix``, each parameter enters the graph as ``pm.Data`` named
        ``<data_prefix>_<parameter>`` (re-used when the model has it already), so a compiled model
        serves every prior of the same family (see :meth:`PriorSet.data_values`).
        """
        import pymc as pm

        params = self.params()
        if data_prefix is not None:
            model = pm.modelcontext(None)
            params = {
                k: model[f"{data_prefix}_{k}"]
                if f"{data_prefix}_{k}" in model.named_vars
                else pm.Data(f"{data_prefix}_{k}", float(v))
                for k, v in params.items()
            }
        return getattr(pm, self._pymc_name())(name, **params, **kwargs)

    def _pymc_name(self) -> str:
        return type(self).__name__

    def params(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.PARAMS}

    def to_dict(self) -> dict:
        return {"dist": self.family, **self.params()}

    def describe(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{v:g}' for v in self.params().values())})"


@dataclass(frozen=True)
class Beta(Distribution):
    """Beta(alpha, beta) on (0, 1)."""

    alpha: float = 1.0
    beta: float = 1.0
    family: ClassVar[str] = "beta"
    PARAMS: ClassVar[dict[str, str]] = {"alpha": "positive", "beta": "positive"}

    def _scipy(self):
        return _stats().beta(self.alpha, self.beta)

    def logpdf(self, x) -> np.ndarray:
        """``scipy.stats.beta(alpha, beta).logpdf(x)``, by its formula, without scipy.stats."""
        x = np.asarray(x, dtype=float)
        out = np.full(x.shape, -np.inf)
        out[np.isnan(x)] = np.nan
        inside = (0.0 <= x) & (x <= 1.0)
        xi = x[inside]
        out[inside] = (
            special.xlog1py(self.beta - 1.0, -xi)
            + special.xlogy(self.alpha - 1.0, xi)
            - special.betaln(self.alpha, self.beta)
        )
        return out[()]

    def bounds(self) -> tuple[float, float]:
        return 0.0, 1.0


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform(lower, upper)."""

    lower: float = 0.0
    upper: float = 1.0
    family: ClassVar[str] = "uniform"
    PARAMS: ClassVar[dict[str, str]] = {"lower": "real", "upper": "real"}

    def _check(self):
        if not self.upper > self.lower:
            raise ValueError(f"upper ({self.upper:g}) must exceed lower ({self.lower:g})")

    def _scipy(self):
        return _stats().uniform(self.lower, self.upper - self.lower)


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal(mu, sigma)."""

    mu: float = 0.0
    sigma: float = 1.0
    family: ClassVar[str] = "normal"
    PARAMS: ClassVar[dict[str, str]] = {"mu": "real", "sigma": "positive"}

    def _scipy(self):
        return _stats().norm(self.mu, self.sigma)


@dataclass(frozen=True)
class Logistic(Distribution):
    """Logistic(mu, s); Logistic(0, 1) on a logit is the uniform distribution on the rate."""

    mu: float = 0.0
    s: float = 1.0
    family: ClassVar[str] = "logistic"
    PARAMS: ClassVar[dict[str, str]] = {"mu": "real", "s": "positive"}

    def _scipy(self):
        return _stats().logistic(self.mu, self.s)


@dataclass(frozen=True)
class HalfNormal(Distribution):
    """HalfNormal(sigma) on (0, inf)."""

    sigma: float = 1.0
    family: ClassVar[str] = "halfnormal"
    PARAMS: ClassVar[dict[str, str]] = {"sigma": "positive"}

    def _scipy(self):
        return _stats().halfnorm(scale=self.sigma)


@dataclass(frozen=True)
class HalfCauchy(Distribution):
    """HalfCauchy(beta) on (0, inf), ``beta`` the scale."""

    beta: float = 1.0
    family: ClassVar[str] = "halfcauchy"
    PARAMS: ClassVar[dict[str, str]] = {"beta": "positive"}

    def _scipy(self):
        return _stats().halfcauchy(scale=self.beta)


@dataclass(frozen=True)
class HalfStudentT(Distribution):
    """HalfStudentT(nu, sigma) on (0, inf): a Student-t with ``nu`` d.f. and scale ``sigma``,
    folded."""

    nu: float = 3.0
    sigma: float = 1.0
    family: ClassVar[str] = "halfstudentt"
    PARAMS: ClassVar[dict[str, str]] = {"nu": "positive", "sigma": "positive"}

    def _scipy(self):
        return _stats().t(self.nu, scale=self.sigma)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(invalid="ignore"):
            out = np.log(2.0) + _stats().t.logpdf(x, self.nu, scale=self.sigma)
        return np.where(x >= 0, out, -np.inf)

    def rvs(self, size, rng):
        return np.abs(_stats().t.rvs(self.nu, scale=self.sigma, size=size, random_state=rng))

    def bounds(self):
        return 0.0, math.inf

    def quantile(self, q):
        return _stats().t.ppf(0.5 + 0.5 * np.asarray(q), self.nu, scale=self.sigma)


@dataclass(frozen=True)
class LogNormal(Distribution):
    """LogNormal(mu, sigma): ``log x ~ Normal(mu, sigma)``."""

    mu: float = 0.0
    sigma: float = 1.0
    family: ClassVar[str] = "lognormal"
    PARAMS: ClassVar[dict[str, str]] = {"mu": "real", "sigma": "positive"}

    def _scipy(self):
        return _stats().lognorm(s=self.sigma, scale=math.exp(self.mu))

    def logpdf(self, x) -> np.ndarray:
        """``scipy.stats.lognorm(s=sigma, scale=exp(mu)).logpdf(x)``, by its formula (the same
        operations on the standardised ``x / scale``), without scipy.stats."""
        scale = np.float64(math.exp(self.mu))
        z = np.asarray(x, dtype=float) / scale
        out = np.full(z.shape, -np.inf)
        out[np.isnan(z)] = np.nan
        inside = (0.0 < z) & (z < np.inf)
        zi = z[inside]
        s = np.float64(self.sigma)
        out[inside] = (
            -(np.log(zi) ** 2) / (2 * s**2) - np.log(s * zi * np.sqrt(2 * np.pi))
        ) - np.log(scale)
        return out[()]

    def bounds(self) -> tuple[float, float]:
        """Support ``(0, inf)``; OverflowError (an ArithmeticError, which spec checks report) when
        the scale ``exp(mu)`` is not a finite float, as scipy's ``lognorm`` raised."""
        math.exp(self.mu)
        return 0.0, math.inf


@dataclass(frozen=True)
class Gamma(Distribution):
    """Gamma(alpha, beta) with shape ``alpha`` and rate ``beta`` (mean alpha / beta)."""

    alpha: float = 2.0
    beta: float = 0.1
    family: ClassVar[str] = "gamma"
    PARAMS: ClassVar[dict[str, str]] = {"alpha": "positive", "beta": "positive"}

    def _scipy(self):
        return _stats().gamma(self.alpha, scale=1.0 / self.beta)


@dataclass(frozen=True)
class Exponential(Distribution):
    """Exponential(lam) with rate ``lam``."""

    lam: float = 1.0
    family: ClassVar[str] = "exponential"
    PARAMS: ClassVar[dict[str, str]] = {"lam": "positive"}

    def _scipy(self):
        return _stats().expon(scale=1.0 / self.lam)


@dataclass(frozen=True)
class Pareto(Distribution):
    """Pareto(alpha, m): density ``alpha m^alpha / x^(alpha + 1)`` on (m, inf)."""

    alpha: float = 0.5
    m: float = 1.0
    family: ClassVar[str] = "pareto"
    PARAMS: ClassVar[dict[str, str]] = {"alpha": "positive", "m": "positive"}

    def _scipy(self):
        return _stats().pareto(self.alpha, scale=self.m)


DISTRIBUTIONS: dict[str, type[Distribution]] = {
    cls.family: cls
    for cls in (
        Beta,
        Uniform,
        Normal,
        Logistic,
        HalfNormal,
        HalfCauchy,
        HalfStudentT,
        LogNormal,
        Gamma,
        Exponential,
        Pareto,
    )
}


def distribution_from_dict(
    spec: Mapping | Distribution, *, source: str = "<priors>", where: str = "prior"
) -> Distribution:
    """A :class:`Distribution` from ``{"dist": family, <param>: value, ...}``.

    Every problem (missing ``dist``, unknown family, unknown/missing/invalid parameters) is
    reported in one :class:`InputError`, located as ``source:where:key``.
    """
    if isinstance(spec, Distribution):
        return spec
    problems: list[Problem] = []
    if not isinstance(spec, Mapping):
        raise InputError(
            Problem(
                source,
                where,
                None,
                f'a prior must be a table like {{dist = "beta", alpha = 1, beta = 1}}, not '
                f"{spec!r}",
            )
        )
    family = spec.get("dist")
    if family is None:
        raise InputError(
            Problem(source, where, "dist", f"missing 'dist' (one of: {', '.join(DISTRIBUTIONS)})")
        )
    cls = DISTRIBUTIONS.get(str(family).lower())
    if cls is None:
        raise InputError(
            Problem(
                source,
                where,
                "dist",
                f"unknown distribution {family!r} (known: {', '.join(DISTRIBUTIONS)})",
            )
        )
    params = {k: v for k, v in spec.items() if k != "dist"}
    for key in params:
        if key not in cls.PARAMS:
            problems.append(
                Problem(
                    source,
                    where,
                    key,
                    f"unknown parameter {key!r} for {cls.family} (takes: {', '.join(cls.PARAMS)})",
                )
            )
    for key in cls.PARAMS:
        if key not in params:
            problems.append(
                Problem(source, where, key, f"missing parameter {key!r} for {cls.family}")
            )
    if problems:
        raise InputError(problems)
    bad = []
    for key, kind in cls.PARAMS.items():
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            bad.append(Problem(source, where, key, f"must be a number, not {value!r}"))
        elif not math.isfinite(value):
            bad.append(Problem(source, where, key, f"must be finite, not {value!r}"))
        elif kind == "positive" and value <= 0:
            bad.append(Problem(source, where, key, f"must be > 0, not {value:g}"))
    if bad:
        raise InputError(bad)
    try:
        return cls(**params)
    except ValueError as exc:
        raise InputError(Problem(source, where, None, str(exc))) from None


# --------------------------------------------------------------------------------------------
# prior sets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorSet:
    """Base class of the per-model prior sets: fields are the hyperparameters' priors."""

    #: field -> support the prior must live on ("unit", "positive", "real")
    SUPPORT: ClassVar[dict[str, str]] = {}
    #: field -> one line saying what the parameter is
    MEANING: ClassVar[dict[str, str]] = {}

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, Distribution):
                raise TypeError(
                    f"prior {f.name!r} must be a Distribution (e.g. Beta(1, 1)), not {value!r}"
                )
            support = self.SUPPORT[f.name]
            if not value.fits(support):
                lo, hi = SUPPORTS[support]
                raise ValueError(
                    f"prior for {f.name!r} ({value.describe()}) must live on ({lo:g}, {hi:g})"
                )

    @classmethod
    def from_dict(cls, spec: Mapping | None, *, source: str = "<priors>", path: str = "priors"):
        """A prior set from a dict such as ``{"mu": {"dist": "beta", "alpha": 1, "beta": 1}}``.

        Keys left out keep their default. The special key ``"set"`` starts from a named set
        (``"default"`` or one of :meth:`alternatives`). Unknown keys, unknown distributions,
        bad parameters and priors on the wrong support are all reported together.
        """
        if spec is None:
            return cls()
        if isinstance(spec, str):
            return cls.named(spec, source=source, path=path)
        if not isinstance(spec, Mapping):
            raise InputError(Problem(source, path, None, f"priors must be a table, not {spec!r}"))
        spec = dict(spec)
        base = cls()
        problems: list[Problem] = []
        if "set" in spec:
            name = spec.pop("set")
            try:
                base = cls.named(name, source=source, path=path)
            except InputError as exc:
                problems.extend(exc.problems)
        names = [f.name for f in fields(cls)]
        changes = {}
        for key, value in spec.items():
            if key not in names:
                problems.append(
                    Problem(
                        source,
                        path,
                        key,
                        f"unknown prior {key!r} for {cls.__name__} (has: {', '.join(names)})",
                    )
                )
                continue
            try:
                dist = distribution_from_dict(value, source=source, where=f"{path}.{key}")
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            if not dist.fits(cls.SUPPORT[key]):
                lo, hi = SUPPORTS[cls.SUPPORT[key]]
                problems.append(
                    Problem(
                        source,
                        f"{path}.{key}",
                        "dist",
                        f"{dist.describe()} does not live on ({lo:g}, {hi:g}), the support of "
                        f"{key}",
                    )
                )
                continue
            changes[key] = dist
        if problems:
            raise InputError(problems)
        return dataclasses.replace(base, **changes)

    @classmethod
    def alternatives(cls) -> dict:
        """Named alternative prior sets for sensitivity analysis."""
        return {}

    @classmethod
    def named(cls, name: str, *, source: str = "<priors>", path: str = "priors"):
        """``"default"`` or one of :meth:`alternatives` by name."""
        if name == "default":
            return cls()
        options = cls.alternatives()
        if name not in options:
            raise InputError(
                Problem(
                    source,
                    path,
                    "set",
                    f"unknown prior set {name!r} (known: default, {', '.join(options)})",
                )
            )
        return options[name]

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name).to_dict() for f in fields(self)}

    def describe(self) -> str:
        """One line, e.g. ``mu ~ Beta(1, 1); kappa ~ LogNormal(3, 1.5)``."""
        return "; ".join(f"{f.name} ~ {getattr(self, f.name).describe()}" for f in fields(self))

    def items(self):
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    def to_pymc(self, field_name: str, name: str | None = None, **kwargs):
        """The PyMC variable ``name`` (default ``field_name``) with the prior of ``field_name``,
        its parameters as ``pm.Data`` named ``prior_<field>_<parameter>``: one compiled model then
        serves every prior set whose priors have the same families (:meth:`structure`)."""
        dist = getattr(self, field_name)
        return dist.to_pymc(name or field_name, data_prefix=f"prior_{field_name}", **kwargs)

    def data_values(self) -> dict[str, np.ndarray]:
        """The prior parameters by their ``pm.Data`` name (what :meth:`to_pymc` declares)."""
        return {
            f"prior_{field_name}_{k}": np.asarray(float(v))
            for field_name, dist in self.items()
            for k, v in dist.params().items()
        }

    def structure(self) -> tuple:
        """What of the prior set fixes a compiled graph: the family of each prior."""
        return tuple((field_name, dist.family) for field_name, dist in self.items())


#: Default concentration prior: median kappa = e^3 = 20 (ICC 0.047), 95% range about 1 to 380.
DEFAULT_KAPPA = LogNormal(3.0, 1.5)


@dataclass(frozen=True)
class BetaBinomialPriors(PriorSet):
    """Priors of the beta-binomial model (mean ``mu``, concentration ``kappa``).

    Default: ``mu ~ Beta(1, 1)``, ``kappa ~ LogNormal(3, 1.5)``.

    * ``mu ~ Beta(1, 1)``: uniform on the population mean rate, the usual reference choice
      (Gelman et al., *Bayesian Data Analysis*, 3rd ed., ch. 5.3, parametrise the beta population
      by its mean and "prior sample size" alpha + beta = kappa and take the mean uniform).
    * ``kappa ~ LogNormal(3, 1.5)``: BDA's ch. 5.3 hyperprior, ``p(alpha, beta) ~ (alpha +
      beta)^(-5/2)``, is improper; this proper replacement is centred on moderate heterogeneity
      (median kappa 20, i.e. ICC = 1/(1 + kappa) = 0.047: a between-study SD of 0.087 around a
      20% rate) and spans homogeneity to extreme heterogeneity (95% prior interval kappa 1.1 to
      380, ICC 0.003 to 0.48). Its Gaussian tail on log kappa keeps posterior moments of kappa
      finite when the data cannot exclude homogeneity (BDA's kappa^(-3/2) tail does not).
    """

    mu: Distribution = Beta(1.0, 1.0)
    kappa: Distribution = DEFAULT_KAPPA
    SUPPORT: ClassVar[dict[str, str]] = {"mu": "unit", "kappa": "positive"}
    MEANING: ClassVar[dict[str, str]] = {
        "mu": "population mean rate",
        "kappa": "concentration alpha + beta of the study-rate beta distribution",
    }

    @classmethod
    def alternatives(cls) -> dict[str, BetaBinomialPriors]:
        """``bda_proper``: kappa ~ Pareto(0.5, 1), BDA ch. 5.3's prior ``(alpha + beta)^(-5/2)``
        (uniform on ``(mu, kappa^(-1/2))``) restricted to kappa >= 1 so that it is proper;
        ``jeffreys_mean``: mu ~ Beta(0.5, 0.5); ``low_heterogeneity``: kappa ~ LogNormal(4.6, 1)
        (median 100); ``high_heterogeneity``: kappa ~ LogNormal(1.6, 1) (median 5)."""
        return {
            "bda_proper": cls(kappa=Pareto(0.5, 1.0)),
            "jeffreys_mean": cls(mu=Beta(0.5, 0.5)),
            "low_heterogeneity": cls(kappa=LogNormal(4.6, 1.0)),
            "high_heterogeneity": cls(kappa=LogNormal(1.6, 1.0)),
        }


@dataclass(frozen=True)
class CompletePoolingPriors(PriorSet):
    """Prior of the complete-pooling model: one common rate ``p ~ Beta(1, 1)`` (uniform)."""

    p: Distribution = Beta(1.0, 1.0)
    SUPPORT: ClassVar[dict[str, str]] = {"p": "unit"}
    MEANING: ClassVar[dict[str, str]] = {"p": "common rate of all studies"}

    @classmethod
    def alternatives(cls) -> dict[str, CompletePoolingPriors]:
        """``jeffreys``: p ~ Beta(0.5, 0.5); ``weakly_informative``: p ~ Beta(2, 2) (centred on 50%,
        worth 4 patients: it pulls a low ORR up and a high DCR down by at most 2 patients' worth,
        the same for any outcome)."""
        return {"jeffreys": cls(p=Beta(0.5, 0.5)), "weakly_informative": cls(p=Beta(2.0, 2.0))}


@dataclass(frozen=True)
class LogitNormalPriors(PriorSet):
    """Priors of the logit-normal random-effects model (``logit theta_i ~ Normal(mu, tau)``).

    Default: ``mu ~ Normal(0, 2)``, ``tau ~ HalfNormal(1)``.

    * ``mu ~ Normal(0, 2)`` on the logit of the median study rate: 95% prior interval for
      expit(mu) is 0.02 to 0.98, nearly flat on the logit scale where the data inform it, so the
      posterior of expit(mu) is close to the GLMM estimate (``rma.glmm(measure="PLO")``).
    * ``tau ~ HalfNormal(1)``: Roever et al. (2021, Res Synth Methods 12:448-474) recommend
      half-normal priors for the heterogeneity SD, with scales 0.5 to 1 on log-odds scales; scale 1
      here because logit proportions of single-arm studies vary more than log odds ratios. Prior
      median tau = 0.67, 95% upper limit 2.2.
    """

    mu: Distribution = Normal(0.0, 2.0)
    tau: Distribution = HalfNormal(1.0)
    SUPPORT: ClassVar[dict[str, str]] = {"mu": "real", "tau": "positive"}
    MEANING: ClassVar[dict[str, str]] = {
        "mu": "mean logit rate (expit(mu) = median study rate)",
        "tau": "between-study SD of logit rates",
    }

    @classmethod
    def alternatives(cls) -> dict[str, LogitNormalPriors]:
        """``tau_narrow``: tau ~ HalfNormal(0.5) (Roever et al. 2021's smaller scale);
        ``tau_wide``: tau ~ HalfCauchy(1) (heavy tail); ``uniform_rate``: mu ~ Logistic(0, 1),
        i.e. expit(mu) ~ Uniform(0, 1)."""
        return {
            "tau_narrow": cls(tau=HalfNormal(0.5)),
            "tau_wide": cls(tau=HalfCauchy(1.0)),
            "uniform_rate": cls(mu=Logistic(0.0, 1.0)),
        }


@dataclass(frozen=True)
class NestedBetaBinomialPriors(PriorSet):
    """Priors of the nested model (overall -> subgroup -> study).

    Default: ``mu ~ Beta(1, 1)``, ``sigma_subgroup ~ HalfNormal(1)``, ``kappa ~ LogNormal(3, 1.5)``.

    * ``mu ~ Beta(1, 1)``: the overall rate (centre of the subgroup means on the logit scale),
      uniform as in the beta-binomial model (Gelman et al., BDA ch. 5).
    * ``sigma_subgroup ~ HalfNormal(1)``: SD of logit subgroup means around logit(mu), the
      half-normal heterogeneity prior of Roever et al. (2021).
    * ``kappa ~ LogNormal(3, 1.5)``: within-subgroup concentration, as for the beta-binomial.
    """

    mu: Distribution = Beta(1.0, 1.0)
    sigma_subgroup: Distribution = HalfNormal(1.0)
    kappa: Distribution = DEFAULT_KAPPA
    SUPPORT: ClassVar[dict[str, str]] = {
        "mu": "unit",
        "sigma_subgroup": "positive",
        "kappa": "positive",
    }
    MEANING: ClassVar[dict[str, str]] = {
        "mu": "overall rate (expit of the centre of logit subgroup means)",
        "sigma_subgroup": "between-subgroup SD of logit subgroup means",
        "kappa": "within-subgroup concentration of study rates",
    }

    @classmethod
    def alternatives(cls) -> dict[str, NestedBetaBinomialPriors]:
        """``subgroup_narrow``: sigma_subgroup ~ HalfNormal(0.5) (more pooling of subgroups);
        ``subgroup_wide``: sigma_subgroup ~ HalfCauchy(1); ``bda_proper``:
        kappa ~ Pareto(0.5, 1)."""
        return {
            "subgroup_narrow": cls(sigma_subgroup=HalfNormal(0.5)),
            "subgroup_wide": cls(sigma_subgroup=HalfCauchy(1.0)),
            "bda_proper": cls(kappa=Pareto(0.5, 1.0)),
        }


@dataclass(frozen=True)
class TwoArmPriors(PriorSet):
    """Priors of the two-arm comparison.

    Default: ``rate ~ Beta(1, 1)`` independently in each arm (the same prior for both arms, so the
    prior is neutral about the difference; P(p1 > p2) = 1/2 a priori), and, only when an arm has
    several studies, ``kappa ~ LogNormal(3, 1.5)`` for the within-arm concentration shared by the
    arms (as in the beta-binomial model).
    """

    rate: Distribution = Beta(1.0, 1.0)
    kappa: Distribution = DEFAULT_KAPPA
    SUPPORT: ClassVar[dict[str, str]] = {"rate": "unit", "kappa": "positive"}
    MEANING: ClassVar[dict[str, str]] = {
        "rate": "each arm's (mean) rate, independently",
        "kappa": "within-arm concentration (hierarchical arms only)",
    }

    @classmethod
    def alternatives(cls) -> dict[str, TwoArmPriors]:
        """``jeffreys``: rate ~ Beta(0.5, 0.5); ``weakly_informative``: rate ~ Beta(1, 4) (mean 0.2,
        prior sample size 5, identical in both arms so still neutral about the difference)."""
        return {
            "jeffreys": cls(rate=Beta(0.5, 0.5)),
            "weakly_informative": cls(rate=Beta(1.0, 4.0)),
        }


# --------------------------------------------------------------------------------------------
# log prior of a fit (for power-scaling sensitivity, bayes_anlo.checks.power_scaling)
# --------------------------------------------------------------------------------------------


def prior_terms(
    priors: PriorSet, posterior: xr.Dataset, names: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Distribution]:
    """Posterior variable -> its prior, for every prior-set field that has draws in ``posterior``.

    By default a field maps to the posterior variable of the same name (true of every binary
    model); ``names`` maps a field to other variable names (the survival model's ``log_hr`` prior
    covers ``log_hr_arm`` and ``log_hr_subgroup``).
    """
    out = {}
    for fname, dist in priors.items():
        for var in (names or {}).get(fname, (fname,)):
            if var in posterior:
                out[var] = dist
    return out


def log_prior_dataset(posterior: xr.Dataset, terms: Mapping[str, Distribution]) -> xr.Dataset:
    """The ``log_prior`` group: each prior term's log density at every draw, summed over the
    variable's own dims (one value per chain and draw and prior term)."""
    import xarray

    out = {}
    for var, dist in terms.items():
        da = posterior[var]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        values = xarray.apply_ufunc(dist.logpdf, da, dask="forbidden")
        out[var] = values.sum(extra) if extra else values
    return xarray.Dataset(out)
