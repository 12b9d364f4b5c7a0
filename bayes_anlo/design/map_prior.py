"""Meta-analytic-predictive (MAP) prior for the response rate of a new study.

The MAP prior (Neuenschwander et al. 2010, Clinical Trials 7:5; Schmidli et al. 2014, Biometrics
70:1023) is the predictive distribution of a new study's rate under a hierarchical model of the
historical studies: here the ``predictive_rate`` of a logit-normal or beta-binomial fit
(:mod:`bayes_anlo.models`). For use as a prior it is approximated by a beta mixture fitted by EM
to the predictive draws, the number of components chosen by an information criterion
(:mod:`bayes_anlo.design.mixture_fit`), as R RBesT's ``gMAP`` + ``automixfit`` do. RBesT fits the
mixture to its 4000 stored MCMC draws (4 chains x 4000 iterations after warm-up, thinned by 4);
this module does the same by default (``mixture_draws = 4000``): the criterion's choice between
mixtures depends on the number of draws, and more draws buy no accuracy the mixture can show.

Reported: the Monte Carlo summary of all predictive draws (``map``), the mixture and how closely
it matches the draws (``accuracy``: Kolmogorov-Smirnov distance and differences of mean, sd and
quantiles), the ESS of the mixture by each method, and the same for a robustified mixture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayes_anlo.design.ess import ess_all
from bayes_anlo.design.mixture_fit import AutoFit, approximation_accuracy, auto_fit
from bayes_anlo.design.mixtures import SUMMARY_QUANTILES, BetaMixture, robustify

MAP_MODELS = ("logit_normal", "beta_binomial")
#: Draws the mixture is fitted to (RBesT's default MCMC sample size), and the fit's draws.
MIXTURE_DRAWS = 4000
FIT_CHAINS, FIT_DRAWS = 4, 5000


def summarise_draws(draws) -> dict[str, float]:
    """Mean, sd, 2.5% quantile, median and 97.5% quantile of draws."""
    x = np.asarray(draws, dtype=float).ravel()
    q = np.quantile(x, SUMMARY_QUANTILES)
    return {
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)),
        "q2.5": float(q[0]),
        "median": float(q[1]),
        "q97.5": float(q[2]),
    }


def thin(draws, size: int) -> np.ndarray:
    """``size`` evenly spaced draws (all of them if there are fewer)."""
    x = np.asarray(draws, dtype=float).ravel()
    if x.size <= size:
        return x
    return x[np.linspace(0, x.size - 1, int(size)).round().astype(int)]


@dataclass(frozen=True)
class MapPrior:
    """A MAP prior: the predictive draws' summary, the fitted mixture and its accuracy."""

    model: str
    draws: int
    summary: dict[str, float]
    fit: AutoFit
    accuracy: dict[str, float]

    @property
    def mixture(self) -> BetaMixture:
        return self.fit.best.mixture

    def robust(self, weight: float, mean: float = 0.5) -> BetaMixture:
        """The mixture robustified with ``Beta(2 mean, 2 (1 - mean))`` of weight ``weight``."""
        return robustify(self.mixture, weight, mean)

    def to_dict(self, robust_weight: float | None = 0.2, robust_mean: float = 0.5) -> dict:
        """JSON-ready: keys ``map``, ``mixture``, ``ess``, ``robust`` (``None`` when
        ``robust_weight`` is ``None``), ``accuracy``, ``components`` (the criterion table)."""
        out = {
            "model": self.model,
            "map": {**self.summary, "draws": self.draws},
            "mixture": {
                **self.mixture.to_dict(),
                "summary": self.mixture.summary(),
                "criterion": self.fit.criterion,
            },
            "accuracy": self.accuracy,
            "components": self.fit.table(),
            "ess": ess_all(self.mixture),
            "robust": None,
        }
        if robust_weight is not None:
            rob = self.robust(robust_weight, robust_mean)
            out["robust"] = {
                "weight": float(robust_weight),
                "mean": float(robust_mean),
                **rob.to_dict(),
                "summary": rob.summary(),
                "ess": ess_all(rob),
            }
        return out


def map_from_tree(
    tree: xr.DataTree,
    *,
    variable: str = "predictive_rate",
    mixture_draws: int = MIXTURE_DRAWS,
    max_components: int = 4,
    criterion: str = "rbest",
) -> MapPrior:
    """The MAP prior from a fitted tree's ``predictive_rate`` draws (any binary model's fit)."""
    if variable not in tree["posterior"]:
        raise KeyError(f"the fit has no {variable!r} in its posterior")
    draws = np.asarray(tree["posterior"][variable].values, dtype=float).ravel()
    used = thin(draws, mixture_draws)
    fit = auto_fit(used, max_components=max_components, criterion=criterion)
    return MapPrior(
        model=str(tree.attrs.get("model", "")),
        draws=int(draws.size),
        summary=summarise_draws(draws),
        fit=fit,
        accuracy=approximation_accuracy(fit.best.mixture, draws),
    )


def map_prior(
    data,
    model: str = "logit_normal",
    *,
    priors=None,
    random_seed: int = 0,
    chains: int = FIT_CHAINS,
    draws: int = FIT_DRAWS,
    **options,
) -> MapPrior:
    """Fit ``model`` (``logit_normal`` or ``beta_binomial``, exact engine, default priors unless
    given) to the historical ``data`` (:class:`~bayes_anlo.data.binary.BinaryData`, one outcome)
    and return its MAP prior (``options`` go to :func:`map_from_tree`)."""
    from bayes_anlo.models import BetaBinomial, LogitNormal, SamplerSettings

    classes = {"logit_normal": LogitNormal, "beta_binomial": BetaBinomial}
    if model not in classes:
        raise ValueError(f"model must be one of {', '.join(MAP_MODELS)}, not {model!r}")
    sampler = SamplerSettings(chains=int(chains), draws=int(draws))
    fitted = classes[model](priors, method="exact", sampler=sampler).fit(
        data, random_seed=random_seed
    )
    return map_from_tree(fitted, **options)
