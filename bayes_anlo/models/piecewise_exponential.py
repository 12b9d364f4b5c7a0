"""Piecewise-exponential survival model from patient data, reconstructed curves and summaries.

Model (Friedman 1982, Ann Stat 10:101; Ibrahim, Chen & Sinha, *Bayesian Survival Analysis*, 2001,
ch. 3): on the intervals ``(c_k, c_{k+1}]`` of the cut points, cell ``g`` (a study x arm x
subgroup) has the constant hazard::

    log lambda_gk = alpha_k + u_study(g) + beta_arm(g) + gamma_subgroup(g)

* ``alpha_k`` baseline log hazards (reference arm and subgroup, typical study):
  independent ``alpha_k ~ priors.log_hazard`` (default ``Normal(-2.5, 2)``), or with
  ``smooth=True`` a random walk ``alpha_1 ~ priors.log_hazard``, ``alpha_k = alpha_{k-1} +
  sigma_rw z_k``, ``z_k ~ Normal(0, 1)``, ``sigma_rw ~ priors.smooth_sd``;
* ``u_s = sigma_study z_s``, ``z_s ~ Normal(0, 1)``, ``sigma_study ~ priors.study_sd``
  (``hierarchical=True`` with two or more studies: partial pooling; the study effect shifts all
  intervals, i.e. proportional hazards between studies). With one study ``u = 0`` (the study is
  the population) and ``sigma_study`` keeps its prior, which then widens only the predictions
  for a new study. ``hierarchical=False``: no study effects (complete pooling; the prediction
  for a new study equals the population);
* ``beta_a, gamma_b ~ priors.log_hr`` log hazard ratios of the non-reference arms and subgroups
  (reference = first level seen; default ``Normal(0, 1)``).

Likelihood: patient data (and Guyot pseudo-patients) are collapsed once to events ``D_gk`` and
exposure ``E_gk`` (:mod:`bayes_anlo.survival.collapse`) with ``D_gk ~ Poisson(lambda_gk E_gk)``,
equivalent to the exponential likelihood of the patients; published summaries enter through
the terms of :mod:`bayes_anlo.survival.summaries` (a cell's medians and landmark rates jointly
normal with Kaplan-Meier correlations; events after the last reported time among those still
at risk, over the reported follow-up).

Output (``fit -> DataTree``), population quantities for the typical study (``u = 0``), with
leading dims ``arm``/``subgroup`` when the data have more than one level:

* ``hazard`` (..., interval), ``survival`` (..., time) on a grid from 0 to ``horizon``,
  ``median``, ``landmark`` (..., landmark_time) at ``times``, ``rmst`` (restricted mean to
  ``horizon``);
* ``predictive_survival``, ``predictive_median``, ``predictive_hazard``: a new study, ``u_new ~
  Normal(0, sigma_study)`` drawn once per posterior draw;
* ``study_hazard`` (study, interval) and ``study_median`` (study) when there are study effects;
* ``km_mean`` (km_row) and ``event_prob`` (events_row): what the model predicts for each reported
  summary (the means of the likelihood terms);
* parameters ``log_hazard`` (interval), ``study_sd``, ``study_effect`` (study), ``smooth_sd``,
  ``log_hr_arm`` (arm_contrast), ``log_hr_subgroup`` (subgroup_contrast);
* ``log_likelihood`` and ``posterior_predictive`` (replicates of the same cells given the draw)
  for every observed block: ``ipd_events`` (ipd_cell), ``km_summary`` (km_row: log medians and
  cloglog landmarks, jointly normal; the pointwise log-likelihood is the chain-rule split
  ``log p(y_i | y_<i)``), ``events_after`` (events_row: events after the last KM time among
  those still at risk); ``observed_data`` and ``constant_data`` (exposure, covariance, at-risk
  counts, follow-up) with the same dims;
* ``log_prior``: the log density of each prior at each draw (``log_hazard`` or, smoothed,
  ``log_hazard_first``; ``study_sd``; ``smooth_sd``; ``log_hr_*``), for power-scaling sensitivity.

Random streams: NUTS ``random_seed``; posterior predictive ``derived_seed(seed, 1)``; the new
study's effect ``derived_seed(seed, 2)``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from bayes_anlo.data.survival import DigitisedKM, SurvivalData, SurvivalSummaries, table_hash
from bayes_anlo.errors import InputError
from bayes_anlo.lazy_import import lazy_module
from bayes_anlo.models import compile_cache
from bayes_anlo.models.contract import DEFAULT_SAMPLER, Model
from bayes_anlo.models.options import PiecewiseExponentialOptions
from bayes_anlo.models.priors import (
    Distribution,
    HalfNormal,
    Normal,
    PriorSet,
    log_prior_dataset,
    prior_terms,
)
from bayes_anlo.models.sampling import (
    SamplerSettings,
    derived_seed,
    run_attrs,
)
from bayes_anlo.survival import pwexp
from bayes_anlo.survival.collapse import (
    DEFAULT_CUTS,
    Collapsed,
    collapse,
    interval_labels,
    quantile_cuts,
    summary_cuts,
)
from bayes_anlo.survival.guyot import Reconstruction, reconstruct
from bayes_anlo.survival.summaries import (
    SummaryTerms,
    cell_label,
    prepare_terms,
    summary_cells,
    term_means,
)
from bayes_anlo.survival.time_grid import TimeGrid, combine, patient_time_grid, summary_time_grid

pm = lazy_module("pymc")


MODEL_NAME = "piecewise_exponential"
_CD = ("chain", "draw")
_P_EDGE = 1e-12


@dataclass(frozen=True)
class PiecewiseExponentialPriors(PriorSet):
    """Priors of the piecewise-exponential model (all proper).

    Default: ``log_hazard ~ Normal(-2.5, 2)``, ``study_sd ~ HalfNormal(0.5)``,
    ``smooth_sd ~ HalfNormal(0.5)``, ``log_hr ~ Normal(0, 1)``.

    * ``log_hazard``: each interval's baseline log hazard per month (the first interval's under
      ``smooth=True``). Centre ``exp(-2.5) = 0.082``/month (median 8.4 months); the 95% prior range
      0.0016 to 4.4 per month covers medians from 5 days to 35 years.
    * ``study_sd``: between-study SD of log hazards; half-normal heterogeneity prior of Roever et
      al. (2021, Res Synth Methods 12:448) with scale 0.5 (prior median 0.34: hazard ratios
      between studies within about x0.5 to x2).
    * ``smooth_sd``: SD of the random-walk step between neighbouring intervals (prior median 0.34).
    * ``log_hr``: arm and subgroup log hazard ratios; 95% prior range of the ratio 0.14 to 7.1.
    """

    log_hazard: Distribution = Normal(-2.5, 2.0)
    study_sd: Distribution = HalfNormal(0.5)
    smooth_sd: Distribution = HalfNormal(0.5)
    log_hr: Distribution = Normal(0.0, 1.0)
    SUPPORT: ClassVar[dict[str, str]] = {
        "log_hazard": "real",
        "study_sd": "positive",
        "smooth_sd": "positive",
        "log_hr": "real",
    }
    MEANING: ClassVar[dict[str, str]] = {
        "log_hazard": (
            "baseline log hazard per month of each interval (the first one when smoothed)"
        ),
        "study_sd": "between-study SD of log hazards",
        "smooth_sd": "SD of the random-walk step of log hazards between intervals",
        "log_hr": "log hazard ratio of a non-reference arm or subgroup",
    }

    @classmethod
    def alternatives(cls) -> dict[str, PiecewiseExponentialPriors]:
        """``wide_hazard``: log_hazard ~ Normal(-2.5, 3); ``high_heterogeneity``: study_sd ~
        HalfNormal(1); ``tight_smoothing``: smooth_sd ~ HalfNormal(0.2)."""
        return {
            "wide_hazard": cls(log_hazard=Normal(-2.5, 3.0)),
            "high_heterogeneity": cls(study_sd=HalfNormal(1.0)),
            "tight_smoothing": cls(smooth_sd=HalfNormal(0.2)),
        }


# ------------------------------------------------------------------------------------------
# data preparation
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SurvivalInputs:
    """Everything the model needs, prepared once from the data (cells, collapsed IPD, terms)."""

    cuts: np.ndarray
    endpoint: str
    cells: pd.DataFrame
    studies: list[str]
    arms: list[str]
    subgroups: list[str]
    cell_study: np.ndarray
    cell_arm: np.ndarray
    cell_subgroup: np.ndarray
    ipd_cell: np.ndarray
    ipd_interval: np.ndarray
    ipd_events: np.ndarray
    ipd_exposure: np.ndarray
    ipd_label: list[str]
    terms: SummaryTerms
    collapsed: Collapsed | None
    source: str
    sha256: str
    notes: list[str] = field(default_factory=list)
    time_grid: TimeGrid | None = None

    @property
    def intervals(self) -> list[str]:
        return interval_labels(self.cuts)

    @property
    def cell_labels(self) -> list[str]:
        return [cell_label(k) for k in self.cells.itertuples(index=False, name=None)]


def _flatten(data) -> list:
    if isinstance(data, SurvivalData | SurvivalSummaries | Reconstruction):
        return [data]
    if isinstance(data, DigitisedKM):  # reconstructed with the default settings
        return [reconstruct(data)]
    if isinstance(data, Sequence) and not isinstance(data, str):
        items = []
        for item in data:
            items.extend(_flatten(item))
        return items
    raise TypeError(
        "data must be SurvivalData, a Reconstruction, DigitisedKM, SurvivalSummaries or a list of "
        f"them, not {type(data).__name__}"
    )


def prepare_survival(data, *, cuts=None, endpoint: str | None = None) -> SurvivalInputs:
    """Validate and combine patient data, reconstructions and summaries for the model.

    ``cuts``: ``None`` (with patient data :data:`~bayes_anlo.survival.collapse.DEFAULT_CUTS`,
    months 0, 3, 6, 9, 12, 18, 24; with summaries only
    :func:`~bayes_anlo.survival.collapse.summary_cuts`: 0 and the landmark times), ``"quantiles"``
    (6 intervals at quantiles of the pooled patient event times) or a sequence starting at 0.
    ``endpoint`` selects the summaries' endpoint; it is required when the summaries hold both PFS
    and OS.
    """
    items = _flatten(data)
    if not items:
        raise InputError("no data to fit")
    ipd = [
        x.ipd if isinstance(x, Reconstruction) else x
        for x in items
        if not isinstance(x, SurvivalSummaries)
    ]
    summ = [x for x in items if isinstance(x, SurvivalSummaries)]
    endpoints = list(dict.fromkeys(e for s in summ for e in s.endpoints))
    if endpoint is None:
        if len(endpoints) > 1:
            raise InputError(
                f"the summaries hold several endpoints ({', '.join(endpoints)}); choose one with "
                "endpoint=",
                file=summ[0].source,
            )
        endpoint = endpoints[0] if endpoints else ""
    else:
        endpoint = endpoint.upper()
        if summ and endpoint not in endpoints:
            raise InputError(
                f"endpoint {endpoint!r} not in the summaries (has: {', '.join(endpoints)})",
                file=summ[0].source,
            )
    skipped = [s.source for s in summ if endpoint and endpoint not in s.endpoints]
    summ = [
        s.select(endpoint=endpoint) if endpoint else s
        for s in summ
        if not endpoint or endpoint in s.endpoints
    ]
    if isinstance(cuts, str):
        if cuts != "quantiles":
            raise ValueError("cuts must be None, 'quantiles' or a sequence of months starting at 0")
        if not ipd:
            raise InputError("cuts='quantiles' needs patient data")
        pooled = pd.concat([d.table for d in ipd], ignore_index=True)
        cuts = quantile_cuts(SurvivalData(pooled, source="pooled", sha256="-"))
    grid = data_time_grid(ipd, summ, endpoint)
    if cuts is None:
        cuts = grid.cuts
    cuts = pwexp.check_cuts(cuts)

    cell_keys: list[tuple[str, str, str]] = []
    collapsed = None
    if ipd:
        columns = ["study", "arm", "subgroup", "time", "event"]
        table = (
            ipd[0].table[columns]
            if len(ipd) == 1
            else pd.concat([d.table[columns] for d in ipd], ignore_index=True)
        )
        pooled = SurvivalData(
            table, source="pooled", sha256="-"
        )  # hashes of the parts are recorded
        collapsed = collapse(pooled, cuts)
        cell_keys.extend(collapsed.groups.itertuples(index=False, name=None))
    combined = pd.concat([s.table for s in summ], ignore_index=True) if summ else None
    if summ:
        merged = SurvivalSummaries(combined, source="; ".join(s.source for s in summ))
        for key in summary_cells(merged):
            if key not in cell_keys:
                cell_keys.append(key)
    if not cell_keys:
        raise InputError("the data hold no patients and no median, landmark or events rows")
    cells = pd.DataFrame(cell_keys, columns=["study", "arm", "subgroup"])
    lookup = {k: i for i, k in enumerate(cell_keys)}
    studies = list(dict.fromkeys(cells["study"]))
    arms = list(dict.fromkeys(cells["arm"]))
    subgroups = list(dict.fromkeys(cells["subgroup"]))
    notes: list[str] = [f"{name}: no {endpoint} rows, not used" for name in skipped]
    if summ:
        terms = prepare_terms(merged, lookup, endpoint)
        notes.extend(terms.notes)
        t = merged.table
        for study in studies:
            rows = t[(t["study"] == study) & t["quantity"].isin(["median", "landmark", "events"])]
            if (rows["subgroup"] == "").any() and (rows["subgroup"] != "").any():
                notes.append(
                    f"{study}: both overall and subgroup summaries are used as separate cells; if "
                    "they describe the same patients the study is counted twice"
                )
    else:
        terms = prepare_terms(
            SurvivalSummaries(
                pd.DataFrame(
                    columns=[
                        "study",
                        "arm",
                        "subgroup",
                        "endpoint",
                        "quantity",
                        "value",
                        "ci_low",
                        "ci_high",
                        "time",
                        "unit",
                        "source",
                    ]
                )
            ),
            lookup,
            endpoint,
        )
    if collapsed is not None:
        g_idx = np.array([lookup[k] for k in collapsed.groups.itertuples(index=False, name=None)])
        gg, kk = np.nonzero(collapsed.exposure > 0)
        ipd_cell = g_idx[gg]
        ipd_interval = kk
        ipd_events = collapsed.events[gg, kk]
        ipd_exposure = collapsed.exposure[gg, kk]
        labels = interval_labels(cuts)
        ipd_label = [
            f"{cell_label(cell_keys[c])} @ {labels[k]}" for c, k in zip(ipd_cell, kk, strict=True)
        ]
    else:
        ipd_cell = ipd_interval = ipd_events = np.zeros(0, dtype=np.int64)
        ipd_exposure = np.zeros(0)
        ipd_label = []
    sources = [x.source for x in items]
    shas = [x.sha256 for x in items]
    sha = shas[0] if len(shas) == 1 else table_hash(pd.DataFrame({"sha256": shas}))
    return SurvivalInputs(
        cuts,
        endpoint,
        cells,
        studies,
        arms,
        subgroups,
        np.array([studies.index(s) for s in cells["study"]]),
        np.array([arms.index(a) for a in cells["arm"]]),
        np.array([subgroups.index(b) for b in cells["subgroup"]]),
        ipd_cell.astype(np.int64),
        ipd_interval.astype(np.int64),
        ipd_events.astype(np.int64),
        ipd_exposure.astype(float),
        ipd_label,
        terms,
        collapsed,
        "; ".join(sources),
        sha,
        notes,
        grid,
    )


def data_time_grid(
    ipd: list[SurvivalData], summaries: list[SurvivalSummaries], endpoint: str
) -> TimeGrid:
    """Default cut points, horizon and last informed time of patient data and summaries (one
    endpoint), by the rules of :mod:`bayes_anlo.survival.time_grid`."""
    patients = None
    if ipd:
        patients = patient_time_grid(
            np.concatenate([d.time for d in ipd]), np.concatenate([d.event for d in ipd])
        )
    from_summaries = None
    if summaries:
        merged = SurvivalSummaries(pd.concat([s.table for s in summaries], ignore_index=True))
        cells = summary_cells(merged)
        if cells:
            terms = prepare_terms(merged, {k: i for i, k in enumerate(cells)}, endpoint)
            followup = np.where(
                terms.events_followup[:, 1] > terms.events_start,
                terms.events_followup[:, 1],
                np.nan,
            )
            from_summaries = summary_time_grid(
                summary_cuts(merged), np.exp(terms.median_log), terms.landmark_time, followup
            )
    if patients is None and from_summaries is None:
        return TimeGrid(np.asarray(DEFAULT_CUTS), 36.0, 0.0, "no informative data")
    return combine(patients, from_summaries)


def default_time_grid(data, endpoint: str | None = None) -> TimeGrid:
    """``(cuts, horizon, informed_until, basis)`` a default fit of ``data`` uses (any data the model
    accepts; see :mod:`bayes_anlo.survival.time_grid`)."""
    return prepare_survival(data, endpoint=endpoint).time_grid


# ------------------------------------------------------------------------------------------
# the PyMC graph
# ------------------------------------------------------------------------------------------
def _has_study_effects(inputs: SurvivalInputs, hierarchical: bool) -> bool:
    return hierarchical and len(inputs.studies) > 1


def data_values(inputs: SurvivalInputs) -> dict[str, np.ndarray]:
    """The numbers of the data as the model's ``pm.Data`` containers hold them (by name).

    Everything numeric is a data container, so a compiled model can be re-used for another
    dataset of the same structure (same cells and blocks) by swapping these values.
    """
    t = inputs.terms
    values = {}
    if inputs.ipd_cell.size:
        values |= {"ipd_exposure": inputs.ipd_exposure, "ipd_events_obs": inputs.ipd_events}
    if len(t.km_label):
        values |= {"km_obs": t.km_observed, "km_cov": t.km_cov}
    if t.landmark_group.size:
        values |= {"landmark_time": t.landmark_time}
    if t.events_group.size:
        values |= {
            "events_obs": t.events,
            "events_at_risk": t.events_patients,
            "events_start": t.events_start,
            "followup_low": t.events_followup[:, 0],
            "followup_median": t.events_followup[:, 1],
            "followup_high": t.events_followup[:, 2],
        }
    return values


def structure_key(inputs: SurvivalInputs, hierarchical: bool, smooth: bool) -> tuple:
    """What fixes the compiled graph: cuts, options and the cell/row index arrays."""
    t = inputs.terms
    arrays = (
        inputs.cell_study,
        inputs.cell_arm,
        inputs.cell_subgroup,
        inputs.ipd_cell,
        inputs.ipd_interval,
        t.median_group,
        t.landmark_group,
        t.events_group,
    )
    return (
        tuple(inputs.cuts),
        hierarchical,
        smooth,
        len(inputs.studies),
        len(inputs.arms),
        len(inputs.subgroups),
        tuple(a.tobytes() + bytes(str(a.size), "ascii") for a in arrays),
    )


def build_piecewise_exponential(
    inputs: SurvivalInputs,
    priors: PiecewiseExponentialPriors | None = None,
    *,
    hierarchical: bool = True,
    smooth: bool = False,
) -> pm.Model:
    """The PyMC model (pure function): free parameters and the observed likelihood blocks.

    Free variables ``log_hazard`` (or ``log_hazard_first``, ``smooth_sd``, ``log_hazard_step_z``
    when smoothed), ``study_sd``, ``study_z``, ``log_hr_arm``, ``log_hr_subgroup``; observed
    ``ipd_events``, ``km_summary`` (multivariate normal), ``events_after``; data containers as
    listed by :func:`data_values`. Derived quantities (survival curves, medians, predictions) are
    computed from the draws in NumPy by :class:`PiecewiseExponential`, which keeps the compiled
    graph small.
    """
    import pytensor.tensor as pt  # here: pytensor loads with PyMC, on first use

    priors = priors or PiecewiseExponentialPriors()
    j = inputs.cuts.size
    terms = inputs.terms
    values = data_values(inputs)
    coords = {"interval": inputs.intervals, "study": inputs.studies}
    if len(inputs.arms) > 1:
        coords["arm_contrast"] = inputs.arms[1:]
    if len(inputs.subgroups) > 1:
        coords["subgroup_contrast"] = inputs.subgroups[1:]
    if smooth and j > 1:
        coords["interval_step"] = inputs.intervals[1:]
    if inputs.ipd_cell.size:
        coords["ipd_cell"] = inputs.ipd_label
    if len(terms.km_label):
        coords["km_row"] = terms.km_label
        coords["km_row_bis"] = terms.km_label
    if terms.landmark_group.size:
        coords["landmark_row"] = terms.landmark_label
    if terms.events_group.size:
        coords["events_row"] = terms.events_label
    row_dim = {
        "ipd": "ipd_cell",
        "km": "km_row",
        "landmark": "landmark_row",
        "events": "events_row",
        "followup": "events_row",
    }
    with pm.Model(coords=coords) as model:
        d = {
            name: pm.Data(
                name,
                value,
                dims=("km_row", "km_row_bis") if name == "km_cov" else row_dim[name.split("_")[0]],
            )
            for name, value in values.items()
        }
        if smooth and j > 1:
            first = priors.to_pymc("log_hazard", "log_hazard_first")
            rw_sd = priors.to_pymc("smooth_sd")
            steps = pm.Normal("log_hazard_step_z", 0.0, 1.0, dims="interval_step")
            base = first + pt.concatenate([pt.zeros(1), pt.cumsum(rw_sd * steps)])
            pm.Deterministic("log_hazard", base, dims="interval")
        else:
            base = priors.to_pymc("log_hazard", dims="interval")
        cell_lh = pt.zeros(len(inputs.cells))
        if hierarchical:
            study_sd = priors.to_pymc("study_sd")
            if _has_study_effects(inputs, hierarchical):
                z = pm.Normal("study_z", 0.0, 1.0, dims="study")
                effect = pm.Deterministic("study_effect", study_sd * z, dims="study")
                cell_lh = cell_lh + effect[inputs.cell_study]
        if len(inputs.arms) > 1:
            hr = priors.to_pymc("log_hr", "log_hr_arm", dims="arm_contrast")
            cell_lh = cell_lh + pt.concatenate([pt.zeros(1), hr])[inputs.cell_arm]
        if len(inputs.subgroups) > 1:
            hr = priors.to_pymc("log_hr", "log_hr_subgroup", dims="subgroup_contrast")
            cell_lh = cell_lh + pt.concatenate([pt.zeros(1), hr])[inputs.cell_subgroup]
        hazard = pt.exp(base[None, :] + cell_lh[:, None])  # cells x intervals
        if inputs.ipd_cell.size:
            mu = hazard[inputs.ipd_cell, inputs.ipd_interval] * d["ipd_exposure"]
            pm.Poisson("ipd_events", mu=mu, observed=d["ipd_events_obs"], dims="ipd_cell")
        means = term_means(hazard, inputs.cuts, terms, xp=pt, data=d)
        if "km" in means:
            pm.MvNormal(
                "km_summary", mu=means["km"], cov=d["km_cov"], observed=d["km_obs"], dims="km_row"
            )
        if "event_prob" in means:
            p = pt.clip(means["event_prob"], _P_EDGE, 1 - _P_EDGE)
            pm.Binomial(
                "events_after",
                n=d["events_at_risk"],
                p=p,
                observed=d["events_obs"],
                dims="events_row",
            )
    return model


# ------------------------------------------------------------------------------------------
# the class front
# ------------------------------------------------------------------------------------------
def _dataset(variables: dict, coords: dict) -> xr.Dataset:
    used = {d for dims, _ in variables.values() for d in dims}
    return xr.Dataset(
        {k: (dims, np.asarray(v)) for k, (dims, v) in variables.items()},
        coords={k: v for k, v in coords.items() if k in used},
    )


class PiecewiseExponential(Model):
    """Bayesian piecewise-exponential survival model (see the module docstring).

    Implements the model contract (:mod:`bayes_anlo.models.contract`): the front end (``fit``,
    ``config``/``from_tree``, ``from_spec``, compiled-model reuse) is the one every family shares.

    Parameters
    ----------
    cuts : sequence of float, "quantiles" or None
        Interval starts in months, beginning at 0. Default (:mod:`bayes_anlo.survival.time_grid`):
        with patients (or reconstructed pseudo-patients) 0, 3, 6, 9, 12, 18, 24 and yearly up to
        the follow-up, merged so each interval holds at least 10 events; for summaries only, 0 and
        the reported landmark times that some summary reaches beyond.
    priors : PiecewiseExponentialPriors, dict or str, optional
        Prior set, a dict for :meth:`PiecewiseExponentialPriors.from_dict` or a named set.
    hierarchical : bool
        Partially pooled study effects on the log hazard (default) or complete pooling.
    smooth : bool or None
        Random-walk prior linking neighbouring intervals' log hazards. Default ``None``: on for
        fits to published summaries only (where neighbouring hazards are otherwise identified
        only through their sum), off with patient data.
    sampler : SamplerSettings
    method : {"auto", "nuts"}
        NUTS (the family has no exact engine; ``"auto"`` means NUTS here).
    times : sequence of float
        Landmark times (months) for ``landmark``; default 3, 6, 9, 12.
    horizon : float, optional
        End of the survival grid and of the restricted mean; default the last time the data
        inform (the longest follow-up of the patients; for summaries the latest landmark, median
        or median follow-up), rounded down to 0.1 month. Quantities beyond that time are
        flagged as extrapolated (:func:`extrapolation_flags`).
    endpoint : str, optional
        Endpoint of the summaries to use ("PFS" or "OS"); needed when they hold both.
    grid_size : int
        Number of points of the survival grid (default 73: every half month to 36 months).
    """

    name: ClassVar[str] = MODEL_NAME
    kind: ClassVar[str] = "survival"
    priors_class: ClassVar[type] = PiecewiseExponentialPriors
    methods: ClassVar[tuple[str, ...]] = ("nuts",)
    options_schema: ClassVar[type] = PiecewiseExponentialOptions
    #: spec options the pipeline reads, not the model
    pipeline_options: ClassVar[tuple[str, ...]] = ("collapse",)

    def __init__(
        self,
        cuts=None,
        priors=None,
        *,
        hierarchical: bool = True,
        smooth: bool | None = None,
        sampler: SamplerSettings = DEFAULT_SAMPLER,
        method: str = "nuts",
        times: Sequence[float] = (3, 6, 9, 12),
        horizon: float | None = None,
        endpoint: str | None = None,
        grid_size: int = 73,
    ):
        self._init_common(priors, method, sampler)
        if cuts is not None and not isinstance(cuts, str):
            cuts = tuple(float(c) for c in pwexp.check_cuts(cuts))
        times = tuple(float(t) for t in times)
        if any(t <= 0 for t in times):
            raise ValueError("landmark times must be > 0 months")
        if horizon is not None and horizon <= 0:
            raise ValueError("horizon must be > 0 months")
        if grid_size < 2:
            raise ValueError("grid_size must be >= 2")
        self.cuts = cuts
        self.hierarchical = bool(hierarchical)
        self.smooth = None if smooth is None else bool(smooth)
        self.times = times
        self.horizon = horizon
        self.endpoint = endpoint
        self.grid_size = int(grid_size)

    def __repr__(self) -> str:
        return (
            f"PiecewiseExponential(cuts={self.cuts!r}, priors={self.priors!r}, "
            f"hierarchical={self.hierarchical}, smooth={self.smooth}, times={self.times}, "
            f"horizon={self.horizon})"
        )

    def options(self) -> dict:
        return {
            "hierarchical": self.hierarchical,
            "smooth": self.smooth,
            "times": list(self.times),
            "horizon": self.horizon,
            "grid_size": self.grid_size,
        }

    def config_options(self) -> dict:
        cuts = list(self.cuts) if isinstance(self.cuts, tuple) else self.cuts
        return {**self.options(), "cuts": cuts, "endpoint": self.endpoint}

    @classmethod
    def spec_options(cls, entry) -> dict:
        return {"endpoint": entry.endpoint}

    def prepare(self, data) -> SurvivalInputs:
        if isinstance(data, SurvivalInputs):
            return data
        return prepare_survival(data, cuts=self.cuts, endpoint=self.endpoint)

    def smooth_for(self, inputs: SurvivalInputs) -> bool:
        """The random-walk prior is used when asked for, or by default for summary-only data."""
        return bool(inputs.ipd_cell.size == 0) if self.smooth is None else self.smooth

    def horizon_for(self, inputs: SurvivalInputs) -> float:
        """The given horizon, else the data's (:mod:`bayes_anlo.survival.time_grid`)."""
        if self.horizon is not None:
            return float(self.horizon)
        return float(inputs.time_grid.horizon) if inputs.time_grid is not None else 36.0

    def structure_key(self, inputs: SurvivalInputs) -> tuple:
        """Cuts, options, the cell/row index arrays and the prior families (see
        :func:`structure_key`)."""
        smooth = self.smooth_for(inputs)
        return (
            type(self).__name__,
            self.priors.structure(),
            structure_key(inputs, self.hierarchical, smooth),
        )

    def data_values(self, inputs: SurvivalInputs) -> dict[str, np.ndarray]:
        return {**data_values(inputs), **self.priors.data_values()}

    def _build(self, inputs: SurvivalInputs) -> pm.Model:
        return build_piecewise_exponential(
            inputs, self.priors, hierarchical=self.hierarchical, smooth=self.smooth_for(inputs)
        )

    def refit(self, data, random_seed: int = 0) -> xr.DataTree:
        """:meth:`fit` for simulation studies, nutpie seeded with ``random_seed`` directly (so the
        draws differ from :meth:`fit`'s); the root attr ``method`` is ``"nuts-refit"``.

        Both go through the one compile cache (:mod:`bayes_anlo.models.compile_cache`), so a
        structure (same cut points, cells and rows; see :func:`structure_key`) is compiled once.
        """
        inputs = self.prepare(data)
        seed = int(random_seed)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*object mode.*")
            raw = compile_cache.sample_cached(
                self.structure_key(inputs),
                lambda: self._build(inputs),
                self.data_values(inputs),
                self.sampler,
                seed,
                nutpie_seed=seed,
            )
        tree = self._assemble(
            raw["posterior"].to_dataset(),
            raw["sample_stats"].to_dataset(),
            inputs,
            seed,
            {"method": "nuts-refit", **asdict(self.sampler), "sampler": "nutpie"},
            {},
        )
        tree.attrs["config"] = json.dumps(self.config(), sort_keys=True)
        return tree

    def _assemble(
        self,
        post: xr.Dataset,
        sample_stats: xr.Dataset,
        inputs: SurvivalInputs,
        seed: int,
        settings: dict,
        extra: dict,
    ) -> xr.DataTree:
        groups = self.derive(post, inputs, seed)
        groups["log_prior"] = log_prior_dataset(post, self.prior_terms(post))
        groups["sample_stats"] = sample_stats
        out = xr.DataTree.from_dict(groups)
        grid = inputs.time_grid
        extra = {
            "endpoint": inputs.endpoint,
            "cuts": [float(c) for c in inputs.cuts],
            "method": settings["method"],
            "options": {**self.options(), "smooth": self.smooth_for(inputs)},
            "horizon_used": self.horizon_for(inputs),
            "notes": inputs.notes,
            "informed_until": float(grid.informed_until) if grid is not None else float("nan"),
            "time_grid_basis": grid.basis if grid is not None else "",
            "studies": inputs.studies,
            "arms": inputs.arms,
            "subgroups": inputs.subgroups,
        }
        out.attrs = run_attrs(
            model_name=self.name,
            priors=self.priors.to_dict(),
            settings=settings,
            random_seed=seed,
            data_source=inputs.source,
            data_sha256=inputs.sha256,
            extra=extra,
        )
        return out

    def prior_terms(self, posterior: xr.Dataset) -> dict:
        """Posterior variable -> prior: the baseline log hazards (the first one when smoothed), the
        study SD, the random-walk SD and every log hazard ratio."""
        first = "log_hazard_first" in posterior
        return prior_terms(
            self.priors,
            posterior,
            {
                "log_hazard": ("log_hazard_first",) if first else ("log_hazard",),
                "log_hr": ("log_hr_arm", "log_hr_subgroup"),
            },
        )

    # ---- derived quantities, log-likelihood, replicates (NumPy) ----------------------------
    def cell_hazard(self, post: xr.Dataset, inputs: SurvivalInputs) -> np.ndarray:
        """Hazards of every cell per draw, shape (chain, draw, cell, interval)."""
        base = post["log_hazard"].values
        lh = np.zeros(base.shape[:2] + (len(inputs.cells),))
        if "study_effect" in post:
            lh = lh + post["study_effect"].values[..., inputs.cell_study]
        if "log_hr_arm" in post:
            eff = np.concatenate(
                [np.zeros(base.shape[:2] + (1,)), post["log_hr_arm"].values], axis=-1
            )
            lh = lh + eff[..., inputs.cell_arm]
        if "log_hr_subgroup" in post:
            eff = np.concatenate(
                [np.zeros(base.shape[:2] + (1,)), post["log_hr_subgroup"].values], axis=-1
            )
            lh = lh + eff[..., inputs.cell_subgroup]
        return np.exp(base[..., None, :] + lh[..., None])

    def derive(self, post: xr.Dataset, inputs: SurvivalInputs, seed: int) -> dict[str, xr.Dataset]:
        """Posterior (with derived quantities), log-likelihood, posterior predictive and data
        groups."""
        from scipy import stats  # here: scipy.stats costs about a second to import

        cuts = inputs.cuts
        chains, draws = post.sizes["chain"], post.sizes["draw"]
        horizon = self.horizon_for(inputs)
        grid = np.linspace(0.0, horizon, self.grid_size)
        base = post["log_hazard"].values  # chain, draw, interval
        prof_dims: list[str] = []
        lh = base[:, :, None, None, :]
        if "log_hr_arm" in post:
            eff = np.concatenate([np.zeros((chains, draws, 1)), post["log_hr_arm"].values], axis=-1)
            lh = lh + eff[:, :, :, None, None]
            prof_dims.append("arm")
        if "log_hr_subgroup" in post:
            eff = np.concatenate(
                [np.zeros((chains, draws, 1)), post["log_hr_subgroup"].values], axis=-1
            )
            lh = lh + eff[:, :, None, :, None]
            prof_dims.append("subgroup")
        squeeze = tuple(i for i, d in ((2, "arm"), (3, "subgroup")) if d not in prof_dims)
        lh = np.squeeze(lh, axis=squeeze) if squeeze else lh
        hazard = np.exp(lh)
        rng_new = np.random.default_rng(derived_seed(seed, 2))
        if self.hierarchical:
            sd = post["study_sd"].values
            u_new = sd * rng_new.standard_normal(sd.shape)
        else:
            u_new = np.zeros((chains, draws))
        u_shape = (chains, draws) + (1,) * (hazard.ndim - 2)
        pred_hazard = np.exp(lh + u_new.reshape(u_shape))
        pd_ = (*_CD, *prof_dims)
        derived = {
            "hazard": ((*pd_, "interval"), hazard),
            "survival": ((*pd_, "time"), pwexp.survival(hazard, cuts, grid)),
            "median": (pd_, pwexp.median(hazard, cuts)),
            "landmark": ((*pd_, "landmark_time"), pwexp.survival(hazard, cuts, self.times)),
            "rmst": (pd_, pwexp.restricted_mean(hazard, cuts, [horizon])[..., 0]),
            "predictive_hazard": ((*pd_, "interval"), pred_hazard),
            "predictive_survival": ((*pd_, "time"), pwexp.survival(pred_hazard, cuts, grid)),
            "predictive_median": (pd_, pwexp.median(pred_hazard, cuts)),
            "predictive_landmark": (
                (*pd_, "landmark_time"),
                pwexp.survival(pred_hazard, cuts, self.times),
            ),
        }
        if "study_effect" in post:
            sh = np.exp(base[:, :, None, :] + post["study_effect"].values[..., None])
            derived["study_hazard"] = ((*_CD, "study", "interval"), sh)
            derived["study_median"] = ((*_CD, "study"), pwexp.median(sh, cuts))
        if "log_hr_arm" in post:
            derived["hazard_ratio_arm"] = (
                (*_CD, "arm_contrast"),
                np.exp(post["log_hr_arm"].values),
            )
        if "log_hr_subgroup" in post:
            derived["hazard_ratio_subgroup"] = (
                (*_CD, "subgroup_contrast"),
                np.exp(post["log_hr_subgroup"].values),
            )
        coords = {
            "chain": post["chain"].values,
            "draw": post["draw"].values,
            "interval": inputs.intervals,
            "time": grid,
            "landmark_time": np.asarray(self.times),
            "study": inputs.studies,
            "arm": inputs.arms,
            "subgroup": inputs.subgroups,
            "arm_contrast": inputs.arms[1:],
            "subgroup_contrast": inputs.subgroups[1:],
        }
        keep = post.drop_vars([v for v in post.data_vars if v.endswith("_z")])
        posterior = xr.merge([keep, _dataset(derived, coords)], compat="override", join="outer")
        posterior.attrs = post.attrs

        cell_h = self.cell_hazard(post, inputs)
        loglik, replicate, observed, constant, extra_post = {}, {}, {}, {}, {}
        rng = np.random.default_rng(derived_seed(seed, 1))
        terms = inputs.terms
        row_coords = {
            "ipd_cell": inputs.ipd_label,
            "km_row": terms.km_label,
            "km_row_bis": terms.km_label,
            "events_row": terms.events_label,
            "chain": post["chain"].values,
            "draw": post["draw"].values,
        }
        if inputs.ipd_cell.size:
            mu = cell_h[:, :, inputs.ipd_cell, inputs.ipd_interval] * inputs.ipd_exposure
            dims = (*_CD, "ipd_cell")
            loglik["ipd_events"] = (dims, stats.poisson.logpmf(inputs.ipd_events, mu))
            replicate["ipd_events"] = (dims, rng.poisson(mu))
            observed["ipd_events"] = (("ipd_cell",), inputs.ipd_events)
            constant["exposure"] = (("ipd_cell",), inputs.ipd_exposure)
        means = term_means(cell_h, cuts, terms)
        if "km" in means:
            dims = (*_CD, "km_row")
            m = means["km"]
            y = terms.km_observed
            loglik["km_summary"] = (dims, mvnormal_pointwise_logpdf(y, m, terms.km_cov))
            chol = np.linalg.cholesky(terms.km_cov)
            replicate["km_summary"] = (dims, m + rng.standard_normal(m.shape) @ chol.T)
            observed["km_summary"] = (("km_row",), y)
            extra_post["km_mean"] = (dims, m)
            constant["km_cell"] = (
                ("km_row",),
                np.array(
                    [cell_label(tuple(inputs.cells.iloc[g])) for g in terms.km_group], dtype=object
                ),
            )
            constant["km_se"] = (("km_row",), np.sqrt(np.diag(terms.km_cov)))
            constant["km_cov"] = (("km_row", "km_row_bis"), terms.km_cov)
            constant["km_kind"] = (
                ("km_row",),
                np.array(
                    ["median"] * terms.median_group.size + ["landmark"] * terms.landmark_group.size
                ),
            )
            constant["km_month"] = (
                ("km_row",),
                np.concatenate([np.full(terms.median_group.size, np.nan), terms.landmark_time]),
            )
        if "event_prob" in means:
            dims = (*_CD, "events_row")
            p = np.clip(means["event_prob"], _P_EDGE, 1 - _P_EDGE)
            loglik["events_after"] = (
                dims,
                stats.binom.logpmf(terms.events, terms.events_patients, p),
            )
            replicate["events_after"] = (dims, rng.binomial(terms.events_patients, p))
            observed["events_after"] = (("events_row",), terms.events)
            extra_post["event_prob"] = (dims, p)
            constant["events_at_risk"] = (("events_row",), terms.events_patients)
            constant["events_start"] = (("events_row",), terms.events_start)
            constant["events_reported"] = (("events_row",), terms.events_reported)
            constant["followup_low"] = (("events_row",), terms.events_followup[:, 0])
            constant["followup_median"] = (("events_row",), terms.events_followup[:, 1])
            constant["followup_high"] = (("events_row",), terms.events_followup[:, 2])
        constant["cut"] = (("interval",), inputs.cuts)
        row_coords["interval"] = inputs.intervals
        if extra_post:
            posterior = xr.merge(
                [posterior, _dataset(extra_post, row_coords)], compat="override", join="outer"
            )
            posterior.attrs = post.attrs
        return {
            "posterior": posterior,
            "log_likelihood": _dataset(loglik, row_coords),
            "posterior_predictive": _dataset(replicate, row_coords),
            "observed_data": _dataset(observed, row_coords),
            "constant_data": _dataset(constant, row_coords),
        }


def mvnormal_pointwise_logpdf(y: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Log density of ``y ~ MvNormal(mean, cov)`` split by the chain rule into per-row terms
    ``log p(y_i | y_1..y_{i-1})`` (they sum to the joint log density); ``mean`` may have leading
    draw dims. Used as the pointwise log-likelihood of the correlated KM summaries."""
    k = y.size
    out = np.empty(mean.shape)
    resid = y - mean
    for i in range(k):
        if i == 0:
            var, cond = cov[0, 0], resid[..., 0]
        else:
            s12 = cov[i, :i]
            w = np.linalg.solve(cov[:i, :i], s12)
            var = cov[i, i] - s12 @ w
            cond = resid[..., i] - resid[..., :i] @ w
        out[..., i] = -0.5 * (np.log(2 * np.pi * var) + cond**2 / var)
    return out


def cell_hazard_draws(
    tree: xr.DataTree, study: str, arm: str = "", subgroup: str = ""
) -> np.ndarray:
    """Hazard draws of one fitted cell (study x arm x subgroup), shape (chain, draw, interval).

    ``log_hazard + study_effect[study] + log_hr_arm[arm] + log_hr_subgroup[subgroup]`` with the
    reference levels' effects 0 (a study without an effect, e.g. under complete pooling, gets 0).
    """
    post = tree["posterior"]
    lh = post["log_hazard"].values
    shift = np.zeros(lh.shape[:2])
    if "study_effect" in post and study in list(post["study"].values):
        shift = shift + post["study_effect"].sel(study=study).values
    if arm and "log_hr_arm" in post and arm in list(post["arm_contrast"].values):
        shift = shift + post["log_hr_arm"].sel(arm_contrast=arm).values
    if (
        subgroup
        and "log_hr_subgroup" in post
        and subgroup in list(post["subgroup_contrast"].values)
    ):
        shift = shift + post["log_hr_subgroup"].sel(subgroup_contrast=subgroup).values
    return np.exp(lh + shift[..., None])


def notes_of(tree: xr.DataTree) -> list[str]:
    """The preparation notes (unused rows, fallback standard errors) recorded in a fit."""
    raw = tree.attrs.get("notes", "[]")
    return list(json.loads(raw) if isinstance(raw, str) else raw)


# ------------------------------------------------------------------------------------------
# defaults that hold on sparse evidence: retry before the gate fails, extrapolation flags
# ------------------------------------------------------------------------------------------
#: Refits tried in turn when a fit fails the convergence gate: ``(target_accept, length factor)``.
#: Smaller steps remove most divergences of the funnel of study effects with few studies; the
#: last refit also doubles warm-up and draws, for an R-hat of the between-study SD just above
#: 1.01 (seen on three studies with one or two summaries each).
RETRY_SCHEDULE = ((0.95, 1), (0.99, 2))


def fit_with_retry(
    model: PiecewiseExponential,
    data,
    random_seed: int,
    gate,
    schedule: Sequence[tuple[float, int]] = RETRY_SCHEDULE,
) -> xr.DataTree:
    """Fit, and while ``gate(tree) -> (converged, reasons)`` fails, refit with the next step of
    ``schedule`` (higher ``target_accept``; ``tune`` and ``draws`` times the factor; same seed;
    steps whose ``target_accept`` is below the model's own are skipped). Returns the last fit;
    its root attr ``fit_attempts`` (JSON) lists every attempt's settings, verdict and reasons, for
    the report (:func:`retry_note`)."""
    import copy
    from dataclasses import replace

    inputs = data if isinstance(data, SurvivalInputs) else model.prepare(data)
    base = model.sampler
    steps = [(base.target_accept, 1)] + [(t, f) for t, f in schedule if t >= base.target_accept]
    attempts = []
    for k, (target, factor) in enumerate(steps):
        current = model
        if k:
            current = copy.copy(model)
            current.sampler = replace(
                base,
                target_accept=float(target),
                tune=base.tune * int(factor),
                draws=base.draws * int(factor),
            )
        tree = current.fit(inputs, random_seed=random_seed)
        converged, reasons = gate(tree)
        s = current.sampler
        attempts.append(
            {
                "target_accept": s.target_accept,
                "tune": s.tune,
                "draws": s.draws,
                "converged": bool(converged),
                "reasons": list(reasons),
            }
        )
        if converged:
            break
    tree.attrs["fit_attempts"] = json.dumps(attempts)
    return tree


def fit_attempts(tree: xr.DataTree) -> list[dict]:
    """The attempts recorded by :func:`fit_with_retry` (empty for a plain fit)."""
    raw = tree.attrs.get("fit_attempts", "[]")
    return list(json.loads(raw) if isinstance(raw, str) else raw)


def retry_note(tree: xr.DataTree) -> str | None:
    """A sentence for the report when :func:`fit_with_retry` refitted, else None."""
    attempts = fit_attempts(tree)
    if len(attempts) < 2:
        return None
    failed = "; ".join(
        f"target_accept {a['target_accept']:g}: {', '.join(a['reasons']) or 'not converged'}"
        for a in attempts[:-1]
    )
    last = attempts[-1]
    verdict = (
        "passed the convergence gate" if last["converged"] else "still failed the convergence gate"
    )
    length = (
        f", {last['tune']} warm-up steps and {last['draws']} draws per chain"
        if "tune" in last
        else ""
    )
    return (
        f"Automatic refit: the fit did not pass the convergence gate ({failed}); refitted with the "
        f"same seed and target_accept {last['target_accept']:g}{length}, which {verdict}. The "
        "results shown are from that refit."
    )


def informed_until(tree: xr.DataTree) -> float:
    """The last time (months) the fitted data inform (NaN for fits recorded without it)."""
    return float(tree.attrs.get("informed_until", np.nan))


def time_notes(tree: xr.DataTree) -> list[str]:
    """Report sentences stating the horizon (of the curve and of the RMST) and the last informed
    time."""
    horizon = float(tree.attrs.get("horizon_used", np.nan))
    last = informed_until(tree)
    options = (
        json.loads(tree.attrs.get("options", "{}"))
        if isinstance(tree.attrs.get("options"), str)
        else {}
    )
    given = options.get("horizon") is not None
    text = (
        f"Horizon: survival curves and the restricted mean survival time (RMST) run to {horizon:g} "
        "months " + ("(set in the spec)." if given else "(default: the last time the data inform).")
    )
    notes = [text]
    if np.isfinite(last):
        basis = tree.attrs.get("time_grid_basis", "")
        notes.append(
            f"The data inform the curve up to {last:.4g} months ({basis}). Anything later (curve, "
            "landmark, median) is extrapolated from the last interval's hazard and is flagged in "
            "the tables and shaded on the figure."
        )
    if options.get("smooth"):
        notes.append(
            "Neighbouring intervals' log hazards are linked by a random walk (smooth = true; the "
            "default for fits to published summaries only)."
        )
    return notes


def extrapolation_flags(table: pd.DataFrame, tree: xr.DataTree) -> pd.Series:
    """For each row of a posterior table (``variable, label, median, ci_high``) or comparison
    table (``quantity, source, estimate, ci_high``): "extrapolated" when the quantity lies beyond
    the last informed time (a landmark time after it; a median whose point estimate is after it;
    the RMST when the horizon is after it), "upper limit extrapolated" when only the upper limit
    of a median's interval is, else "". Reported rows of a comparison table are never flagged."""
    last = informed_until(tree)
    horizon = float(tree.attrs.get("horizon_used", np.nan))
    out = pd.Series("", index=table.index, dtype=object)
    if not np.isfinite(last):
        return out
    tag = f"extrapolated (data end at {last:.3g} months)"
    upper = f"upper limit extrapolated (data end at {last:.3g} months)"
    for i, row in table.iterrows():
        if "variable" in table:
            kind, label, estimate = row["variable"], str(row.get("label", "")), row["median"]
            is_median = kind in ("median", "predictive_median", "study_median")
            landmark_time = (
                float(label.split(" | ")[-1])
                if kind in ("landmark", "predictive_landmark")
                else None
            )
            is_rmst = kind == "rmst"
        else:
            if not str(row["source"]).startswith("posterior"):
                continue
            quantity, estimate = str(row["quantity"]), row["estimate"]
            is_median = quantity.startswith("median")
            landmark_time = (
                float(quantity.split()[2]) if quantity.startswith("survival at") else None
            )
            is_rmst = False
        if landmark_time is not None and landmark_time > last + 1e-9:
            out[i] = tag
        elif is_rmst and horizon > last + 1e-9:
            out[i] = tag
        elif is_median and estimate > last:
            out[i] = tag
        elif is_median and row["ci_high"] > last:
            out[i] = upper
    return out


def annotate_time(table: pd.DataFrame, tree: xr.DataTree) -> pd.DataFrame:
    """A posterior table (``variable, label, ...``) with the RMST rows' label stating the horizon
    (``to 12 months``, after any group label) and a ``beyond_data`` column from
    :func:`extrapolation_flags`."""
    out = table.copy()
    horizon = float(tree.attrs.get("horizon_used", np.nan))
    if np.isfinite(horizon):
        rmst = out["variable"] == "rmst"
        out.loc[rmst, "label"] = [
            f"{lab} | to {horizon:g} months" if str(lab) else f"to {horizon:g} months"
            for lab in out.loc[rmst, "label"]
        ]
    out["beyond_data"] = extrapolation_flags(out, tree)
    return out
