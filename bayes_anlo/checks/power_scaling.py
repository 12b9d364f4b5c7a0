"""Power-scaling prior and likelihood sensitivity, through ArviZ, without refitting.

Power-scaling (Kallioinen, Paananen, Buerkner & Vehtari 2024, Stat Comput 34:57) perturbs the
posterior to ``p(theta) ** alpha * p(y | theta)`` (prior scaling) or ``p(theta) p(y | theta) **
alpha`` (likelihood scaling) for ``alpha`` near 1, by Pareto-smoothed importance weights on the
existing draws, and measures how far each marginal posterior moves (cumulative Jensen-Shannon
distance per unit of ``log2 alpha``). :func:`arviz_stats.psense_summary` computes it from the
``log_prior`` and ``log_likelihood`` groups of a fit; ``0.05`` is its threshold.

What is scaled here:

* **prior**: the priors a user sets, i.e. the fields of the model's prior set (``mu``, ``kappa``,
  ``tau``, ``log_hazard`` ...), evaluated at each draw with the same densities the model used.
  Every fit carries them as its ``log_prior`` group (one variable per prior term; see
  :func:`log_prior_dataset`). The population distribution of study effects is model structure,
  not a prior, and is not scaled (the choice Kallioinen et al. recommend for hierarchical models).
* **likelihood**: the ``log_likelihood`` group, summed over observations (for the binary models the
  study-level marginal likelihood, study rates integrated out; for the survival model every
  likelihood term: patient counts, KM summaries, events after the last reported time).

Where it does not apply, and what is done instead (the run's refits under alternative priors
cover both cases):

* a **flat prior** (``Beta(1, 1)``, ``Uniform``) is unchanged by power-scaling (``1 ** alpha = 1``),
  so the diagnostic cannot see it; it is left out of the prior scaling and named in the result. When
  every prior is flat, prior sensitivity is not computed.
* **unreliable importance weights**: when the Pareto k-hat of the power-scaling weights exceeds
  ``min(1 - 1 / log10(S), 0.7)`` (``S`` draws; Vehtari et al. 2024, JMLR 25:72) the estimate for
  that component is not trusted, and the result says so.

What the diagnosis says, in plain words (sensitivity values against the 0.05 threshold):

* prior sensitivity high, likelihood low: **determined mainly by its prior** (ArviZ's "strong
  prior / weak likelihood"). With a handful of studies this is expected of the heterogeneity
  parameters (kappa, ICC, tau, the between-subgroup SD): the data hold little information on them.
* both high: ArviZ calls this "potential prior-data conflict", but it also happens whenever prior
  and data both carry information, which with few studies is the rule. It is reported as a
  **prior-data conflict** only when the posterior median lies outside the central 95% of the prior
  (its prior percentile, from draws of the prior, is below 2.5% or above 97.5%): the data then pull
  the quantity to where the prior placed little mass. Otherwise: **informed by prior and data
  together**. Without prior draws the percentile is unknown and the row says so.
* prior not scaled (flat) and likelihood low: **weakly informed by the data** (the refits under
  alternative priors are the check).
* otherwise (the likelihood dominates): ``-``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from bayes_anlo.checks.diagnostics import flatten_elements
from bayes_anlo.models.priors import Distribution, log_prior_dataset

SAMPLE_DIMS = ("chain", "draw")
#: ArviZ's threshold on the sensitivity values (Kallioinen et al. 2024).
THRESHOLD = 0.05
ALPHAS = (0.99, 1.01)


def with_log_prior(tree: xr.DataTree, terms: Mapping[str, Distribution]) -> xr.DataTree:
    """A copy of ``tree`` with its ``log_prior`` group set from ``terms``."""
    out = tree.copy()
    out["log_prior"] = xr.DataTree(log_prior_dataset(tree["posterior"].to_dataset(), terms))
    return out


def _khat_limit(draws: int) -> float:
    return min(1.0 - 1.0 / math.log10(draws), 0.7)


@dataclass
class PowerScaling:
    """Result of :func:`power_scaling`.

    ``table``: one row per posterior quantity (array variables one row per element), columns
    ``variable, prior, likelihood, prior_percentile, diagnosis`` (``prior`` is NaN when no prior
    could be scaled; ``prior_percentile`` is where the posterior median lies in the prior, in
    percent, NaN without prior draws).
    ``scaled`` / ``flat``: prior terms power-scaled / left out as flat. ``khat``: Pareto k-hat of
    the importance weights per component and alpha; ``khat_limit``: the reliability limit.
    """

    table: pd.DataFrame
    scaled: list[str]
    flat: list[str]
    khat: pd.DataFrame
    khat_limit: float
    notes: list[str] = field(default_factory=list)

    @property
    def reliable(self) -> dict[str, bool]:
        """Per component (``prior``, ``likelihood``): all its k-hats within the limit."""
        return {
            c: bool((part["khat"] <= self.khat_limit).all())
            for c, part in self.khat.groupby("component")
        }

    def flagged(self) -> pd.DataFrame:
        """Rows whose diagnosis is not clean."""
        return self.table[self.table["diagnosis"] != "-"]

    def describe(self) -> list[str]:
        """Sentences for a report: what was scaled, how reliable, what was found."""
        out = []
        scaled = ", ".join(self.scaled) if self.scaled else "none (every prior is flat)"
        out.append(
            "Power-scaling sensitivity (ArviZ psense; Kallioinen et al. 2024), no refit: priors "
            f"scaled: {scaled}; likelihood: every observation. Values above {THRESHOLD} mean the "
            "posterior of that quantity moves when the prior (or the likelihood) is made slightly "
            "stronger or weaker."
        )
        out.extend(self.notes)
        worst = {c: float(part["khat"].max()) for c, part in self.khat.groupby("component")}
        if all(self.reliable.values()):
            out.append(
                "Importance weights reliable (Pareto k-hat "
                + ", ".join(f"{c} {k:.2f}" for c, k in worst.items())
                + f"; limit {self.khat_limit:.2f})."
            )
        flagged = self.flagged()
        if not len(flagged):
            out.append("No quantity is flagged.")
            return out
        for diagnosis, part in flagged.groupby("diagnosis", sort=False):
            out.append(
                f"{diagnosis[0].upper()}{diagnosis[1:]}: " + ", ".join(part["variable"]) + "."
            )
        return out


def _is_flat(values: xr.DataArray) -> bool:
    v = np.asarray(values, dtype=float)
    return bool(np.all(np.isfinite(v)) and np.ptp(v) <= 1e-12 * max(1.0, float(np.abs(v).max())))


#: The plain-language diagnoses (see the module docstring).
PRIOR_DOMINATED = "determined mainly by its prior (expected with few studies)"
JOINT = "informed by prior and data together (expected with few studies)"
JOINT_UNCHECKED = "informed by prior and data together (no prior draws to check for conflict)"
CONFLICT = "prior-data conflict: the posterior median lies outside the central 95% of the prior"
WEAK_LIKELIHOOD = (
    "weakly informed by the data (flat prior: see the refits under alternative priors)"
)
#: Prior percentiles (in %) beyond which the posterior median is in the tail of its prior.
CONFLICT_PERCENTILES = (2.5, 97.5)


def _diagnose(
    prior: float, likelihood: float, threshold: float, percentile: float = float("nan")
) -> str:
    if not np.isnan(prior) and prior >= threshold and likelihood >= threshold:
        if np.isnan(percentile):
            return JOINT_UNCHECKED
        low, high = CONFLICT_PERCENTILES
        return CONFLICT if percentile < low or percentile > high else JOINT
    if not np.isnan(prior) and prior > threshold > likelihood:
        return PRIOR_DOMINATED
    if np.isnan(prior) and likelihood < threshold:
        return WEAK_LIKELIHOOD
    return "-"


def prior_percentiles(
    posterior: xr.Dataset, prior: xr.Dataset | None, names: Sequence[str]
) -> pd.Series:
    """``name[element] -> 100 * P_prior(X <= posterior median of X)`` for the named variables
    present in both the posterior and the prior draws (labels as :func:`flatten_elements`)."""
    if prior is None:
        return pd.Series(dtype=float)
    out = {}
    for name in names:
        if name not in posterior or name not in prior:
            continue
        post_median = posterior[name].median([d for d in SAMPLE_DIMS if d in posterior[name].dims])
        draws = prior[name]
        below = (draws <= post_median).mean([d for d in SAMPLE_DIMS if d in draws.dims])
        out.update(flatten_elements(xr.Dataset({name: 100.0 * below})))
    return pd.Series(out, dtype=float)


def power_scaling(
    tree: xr.DataTree,
    var_names: Sequence[str],
    *,
    threshold: float = THRESHOLD,
    alphas: tuple[float, float] = ALPHAS,
    prior: xr.Dataset | None = None,
) -> PowerScaling:
    """Prior and likelihood power-scaling sensitivity of ``var_names`` (see the module docstring).

    ``tree`` needs ``posterior``, ``log_likelihood`` and ``log_prior`` groups (every fit of this
    package has them). Variables missing from the posterior are skipped. ``prior``: draws from the
    prior (e.g. the ``prior`` group of ``model.sample_prior_predictive``; a ``prior`` group of
    ``tree`` is used when not given), to tell a prior-data conflict from a quantity informed by
    prior and data together.
    """
    from arviz_stats import psense

    prior_draws = prior
    posterior = tree["posterior"].to_dataset()
    names = [v for v in var_names if v in posterior]
    if not names:
        raise ValueError(f"none of {list(var_names)} is in the posterior")
    log_prior = tree["log_prior"].to_dataset() if "log_prior" in tree.children else xr.Dataset()
    flat = [v for v in log_prior.data_vars if _is_flat(log_prior[v])]
    scaled = [v for v in log_prior.data_vars if v not in flat]
    draws = int(np.prod([posterior.sizes[d] for d in SAMPLE_DIMS]))
    limit = _khat_limit(draws)
    notes = []

    lik_sum = sum(
        da.sum([d for d in da.dims if d not in SAMPLE_DIMS])
        for da in tree["log_likelihood"].to_dataset().data_vars.values()
    )
    components = {"likelihood": lik_sum}
    if scaled:
        components["prior"] = sum(log_prior[v] for v in scaled)
    khat_rows = []
    for component, total in components.items():
        for alpha in alphas:
            lw = ((alpha - 1.0) * total).rename("lw")
            k = float(lw.azstats.pareto_khat(sample_dims=list(SAMPLE_DIMS), log_weights=True))
            khat_rows.append({"component": component, "alpha": alpha, "khat": k})
    khat = pd.DataFrame(khat_rows)

    like = pd.Series(
        flatten_elements(psense(tree, var_names=names, group="likelihood", alphas=alphas))
    )
    if scaled:
        prior = pd.Series(
            flatten_elements(
                psense(tree, var_names=names, group="prior", alphas=alphas, group_var_names=scaled)
            )
        )
    else:
        prior = pd.Series(np.nan, index=like.index)
        notes.append(
            "Every prior is flat ("
            + ", ".join(flat)
            + "): power-scaling cannot perturb a flat prior, "
            "so prior sensitivity rests on the refits under alternative priors."
        )
    if scaled and flat:
        notes.append(
            "Flat priors left out of the prior scaling (power-scaling leaves them unchanged; the "
            "refits test them): " + ", ".join(flat) + "."
        )
    if prior_draws is None and "prior" in tree.children:
        prior_draws = tree["prior"].to_dataset()
    percentile = prior_percentiles(posterior, prior_draws, names)
    table = pd.DataFrame(
        {
            "variable": like.index,
            "prior": prior.reindex(like.index).to_numpy(),
            "likelihood": like.to_numpy(),
            "prior_percentile": percentile.reindex(like.index).to_numpy(dtype=float),
        }
    )
    table["diagnosis"] = [
        _diagnose(p, q, threshold, c)
        for p, q, c in zip(
            table["prior"], table["likelihood"], table["prior_percentile"], strict=True
        )
    ]
    result = PowerScaling(table, scaled, flat, khat, limit, notes)
    for component, ok in result.reliable.items():
        if not ok:
            worst = khat.loc[khat["component"] == component, "khat"].max()
            notes.append(
                f"{component.capitalize()} power-scaling weights have Pareto k-hat {worst:.2f} > "
                f"{limit:.2f}: the {component} sensitivity values are not reliable; see the refits."
            )
    return result
