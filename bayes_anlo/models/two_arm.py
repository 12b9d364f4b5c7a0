"""Two-arm comparison of response rates (e.g. anlotinib alone vs anlotinib plus chemotherapy).

Model, one row per arm (``hierarchical=False``, the default when no arm has several rows)::

    y_a ~ Binomial(n_a, p_a),   p_a ~ Beta(1, 1) independently,   a = 1, 2

which is conjugate: ``p_a | y ~ Beta(1 + y_a, 1 + n_a - y_a)``; :func:`two_arm_exact` gives the
exact ``P(p1 > p2)`` and quantiles of ``p1 - p2`` by one-dimensional quadrature, and
``method="exact"`` draws from the Beta posteriors. Several studies per arm (``hierarchical=True``,
the default when an arm has several rows): each arm's mean rate ``p_a`` with studies
``y_i ~ BetaBinomial(n_i, p_a kappa, (1 - p_a) kappa)`` and one concentration ``kappa`` shared by
the arms (``kappa ~ LogNormal(3, 1.5)``), study rates recovered by conjugacy.

Contrasts (arm order = ``arms`` or first appearance; arm 1 is the first):
``difference = p1 - p2``, ``ratio = p1 / p2``, ``odds_ratio = [p1/(1-p1)] / [p2/(1-p2)]``;
``P(p1 > p2)`` is :func:`bayes_anlo.models.prob_superior` on the fit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes_anlo.data.binary import BinaryData
from bayes_anlo.errors import InputError
from bayes_anlo.exact.conjugate import TwoArmExact, beta_update
from bayes_anlo.exact.special_functions import betabinom_logpmf, binom_logpmf_logit
from bayes_anlo.lazy_import import lazy_module
from bayes_anlo.models.binary import DEFAULT_SAMPLER, BinaryModel, Prepared, dataset, prepare_binary
from bayes_anlo.models.options import TwoArmOptions
from bayes_anlo.models.priors import Beta, TwoArmPriors
from bayes_anlo.models.sampling import SamplerSettings

pm = lazy_module("pymc")


_CD = ("chain", "draw")
_CDU = ("chain", "draw", "unit")
_CDA = ("chain", "draw", "arm")


def prepare_two_arm(data, by: str = "arm", arms: Sequence[str] | None = None) -> Prepared:
    """Binary data with an arm index: one :class:`BinaryData` with column ``by`` holding two
    levels, or a pair of :class:`BinaryData` (one per arm; arm names from ``arms``, else from each
    one's ``by`` column when it holds a single non-empty value, else "arm 1"/"arm 2")."""
    if isinstance(data, Prepared):
        return data
    if isinstance(data, tuple | list):
        if len(data) != 2 or not all(isinstance(d, BinaryData) for d in data):
            raise TypeError(
                "two-arm data: one BinaryData with an arm column, or a pair of BinaryData"
            )
        names = list(arms) if arms is not None else []
        if not names:
            for k, d in enumerate(data, start=1):
                values = set(d.table[by]) if by in d.table.columns else set()
                names.append(values.pop() if len(values) == 1 and "" not in values else f"arm {k}")
        if len(names) != 2 or names[0] == names[1]:
            raise InputError(f"two distinct arm names are needed, got {names}")
        tables = []
        for d, name in zip(data, names, strict=True):
            t = d.table.copy()
            t[by] = name
            tables.append(t)
        data = BinaryData(
            pd.concat(tables, ignore_index=True), source=f"{data[0].source} + {data[1].source}"
        )
    prep = prepare_binary(data)
    if by not in data.table.columns:
        raise InputError(
            f"no arm column {by!r} (columns: {', '.join(data.table.columns)})", file=data.source
        )
    levels = list(dict.fromkeys(data.table[by]))
    if len(levels) != 2:
        raise InputError(
            f"the two-arm model needs exactly two levels of {by!r}, found {len(levels)}: {levels}",
            file=data.source,
        )
    if arms is not None:
        arms = [str(a) for a in arms]
        if sorted(arms) != sorted(levels):
            raise InputError(
                f"arms {arms} do not match the levels of {by!r}: {levels}", file=data.source
            )
        levels = arms
    lookup = {v: i for i, v in enumerate(levels)}
    codes = np.array([lookup[v] for v in data.table[by]], dtype=np.int64)
    return Prepared(
        prep.data,
        prep.outcome,
        prep.labels,
        prep.events,
        prep.n,
        {"unit": prep.labels, "arm": levels},
        {"arm": codes},
    )


def _resolve_hierarchical(prep: Prepared, hierarchical) -> bool:
    if hierarchical == "auto":
        return bool(np.any(np.bincount(prep.index["arm"]) > 1))
    return bool(hierarchical)


def build_two_arm(
    data, priors: TwoArmPriors | None = None, *, by: str = "arm", arms=None, hierarchical="auto"
) -> pm.Model:
    """PyMC two-arm model (pure function). Free ``rate`` (dim ``arm``) and, when hierarchical,
    ``kappa``; deterministics ``difference``, ``ratio``, ``odds_ratio`` (arm 1 vs arm 2)."""
    priors = priors or TwoArmPriors()
    prep = prepare_two_arm(data, by, arms)
    hier = _resolve_hierarchical(prep, hierarchical)
    idx = prep.index["arm"]
    with pm.Model(coords={"unit": prep.labels, "arm": prep.coords["arm"]}) as model:
        n = pm.Data("n", prep.n, dims="unit")
        events_obs = pm.Data(
            "events_obs", prep.events, dims="unit"
        )  # swappable (compiled-model reuse)
        rate = priors.to_pymc("rate", dims="arm")
        if hier:
            kappa = priors.to_pymc("kappa")
            pm.Deterministic("icc", 1.0 / (1.0 + kappa))
            pm.BetaBinomial(
                "events",
                n=n,
                alpha=rate[idx] * kappa,
                beta=(1.0 - rate[idx]) * kappa,
                observed=events_obs,
                dims="unit",
            )
        else:
            pm.Binomial("events", n=n, p=rate[idx], observed=events_obs, dims="unit")
        pm.Deterministic("difference", rate[0] - rate[1])
        pm.Deterministic("ratio", rate[0] / rate[1])
        pm.Deterministic("odds_ratio", (rate[0] / (1 - rate[0])) / (rate[1] / (1 - rate[1])))
    return model


def two_arm_exact(
    data, priors: TwoArmPriors | None = None, *, by: str = "arm", arms=None
) -> TwoArmExact:
    """Exact posterior of two independent rates with Beta priors (all rows of an arm pooled).

    ``p_a | y ~ Beta(alpha + sum y_a, beta + sum (n_a - y_a))``; ``prob_superior = P(p1 > p2)``
    and the quantiles of ``p1 - p2`` by quadrature (:mod:`bayes_anlo.exact.conjugate`).
    """
    priors = priors or TwoArmPriors()
    if not isinstance(priors.rate, Beta):
        raise ValueError("the exact two-arm posterior needs a Beta prior on the rates")
    prep = prepare_two_arm(data, by, arms)
    posts = tuple(
        beta_update(
            prep.events[prep.index["arm"] == a],
            prep.n[prep.index["arm"] == a],
            priors.rate.alpha,
            priors.rate.beta,
        )
        for a in range(2)
    )
    return TwoArmExact(tuple(prep.coords["arm"]), posts)


class TwoArm(BinaryModel):
    """Two-arm comparison of rates: each arm's rate, their difference, ratio and odds ratio.

    One row per arm: ``y_a ~ Binomial(n_a, p_a)``, ``p_a ~ Beta(1, 1)`` independently (the same
    prior in both arms, so a priori P(p1 > p2) = 1/2); conjugate, with :func:`two_arm_exact` and
    ``method="exact"``. Several rows in an arm: ``y_i ~ BetaBinomial(n_i, p_a kappa, (1 - p_a)
    kappa)`` with ``kappa ~ LogNormal(3, 1.5)`` shared by the arms. Alternatives
    (``TwoArmPriors.alternatives()``): ``jeffreys`` (Beta(0.5, 0.5)), ``weakly_informative``
    (Beta(1, 4) in both arms).

    Posterior variables: ``rate`` (dim ``arm``), ``difference`` (= rate[arm 1] - rate[arm 2]),
    ``ratio``, ``odds_ratio``, ``study_rate`` (dim ``unit``), and ``kappa``/``icc`` when
    hierarchical. ``P(p1 > p2)``: :func:`bayes_anlo.models.prob_superior`.

    Parameters
    ----------
    by : str
        Arm column (default ``"arm"``), when the data are one :class:`BinaryData`.
    arms : sequence of two str, optional
        Arm order (arm 1 first); default order of first appearance.
    hierarchical : "auto" or bool
        Beta-binomial studies within arm; ``"auto"``: when an arm has several rows.
    """

    name = "two_arm"
    priors_class = TwoArmPriors
    methods = ("nuts", "exact")
    grouping = "arm"
    options_schema = TwoArmOptions

    def __init__(
        self,
        priors=None,
        *,
        method: str = "nuts",
        sampler: SamplerSettings = DEFAULT_SAMPLER,
        thresholds=(),
        by: str = "arm",
        arms: Sequence[str] | None = None,
        hierarchical="auto",
    ):
        super().__init__(priors, method=method, sampler=sampler, thresholds=thresholds)
        if hierarchical not in ("auto", True, False):
            raise ValueError(f"hierarchical must be 'auto', True or False, not {hierarchical!r}")
        self.by = by
        self.arms = tuple(arms) if arms is not None else None
        self.hierarchical = hierarchical

    def options(self):
        return {
            "by": self.by,
            "arms": list(self.arms) if self.arms else None,
            "hierarchical": self.hierarchical,
        }

    def _prepare(self, data):
        return prepare_two_arm(data, self.by, self.arms)

    def _build(self, prep):
        return build_two_arm(prep, self.priors, hierarchical=self.hierarchical)

    def _hier(self, prep) -> bool:
        return _resolve_hierarchical(prep, self.hierarchical)

    def _attrs(self, prep, seed, settings, extra):
        attrs = super()._attrs(prep, seed, settings, extra)
        attrs["options"] = json.dumps(
            {"by": self.by, "arms": prep.coords["arm"], "hierarchical": self._hier(prep)}
        )
        return attrs

    def exact(self, data) -> TwoArmExact:
        """The exact (conjugate) answer for ``data`` (non-hierarchical model)."""
        return two_arm_exact(data, self.priors, by=self.by, arms=self.arms)

    def exact_applies(self, prep) -> bool:
        """The conjugate answer covers one row per arm (no study level)."""
        return not self._hier(prep)

    def _exact(self, prep, chains, draws, rng):
        if self._hier(prep):
            raise ValueError("method='exact' covers one row per arm (hierarchical=False) only")
        exact = two_arm_exact(prep, self.priors)
        rate = np.stack(
            [rng.beta(p.alpha, p.beta, size=(chains, draws)) for p in exact.posteriors], axis=-1
        )
        summary = {
            "arms": list(exact.arms),
            "prob_superior": exact.prob_superior,
            "posteriors": [{"alpha": p.alpha, "beta": p.beta} for p in exact.posteriors],
        }
        post = dataset(
            {"rate": (_CDA, rate)},
            {"chain": np.arange(chains), "draw": np.arange(draws), "arm": prep.coords["arm"]},
        )
        return post, summary

    def _derive(self, post, prep, rng, conditional):
        rate = post["rate"].values
        idx = prep.index["arm"]
        p1, p2 = rate[..., 0], rate[..., 1]
        out = post.copy()
        out["difference"] = (_CD, p1 - p2)
        out["ratio"] = (_CD, p1 / p2)
        out["odds_ratio"] = (_CD, (p1 / (1 - p1)) / (p2 / (1 - p2)))
        if self._hier(prep):
            kappa = post["kappa"].values
            out["icc"] = (_CD, 1.0 / (1.0 + kappa))
            k = kappa[..., None]
            a, b = rate[..., idx] * k, (1 - rate[..., idx]) * k
            tiny = np.finfo(float).tiny
            if conditional:
                a, b = a + prep.events, b + prep.n - prep.events
            study = rng.beta(np.maximum(a, tiny), np.maximum(b, tiny))
        else:
            study = rate[..., idx]
        out["study_rate"] = (_CDU, study)
        return out.assign_coords(unit=prep.labels, arm=prep.coords["arm"])

    def _log_likelihood(self, post, prep):
        rate = post["rate"].values[..., prep.index["arm"]]
        if self._hier(prep):
            k = post["kappa"].values[..., None]
            return betabinom_logpmf(prep.events, prep.n, rate * k, (1 - rate) * k)
        with np.errstate(divide="ignore"):
            return binom_logpmf_logit(prep.events, prep.n, np.log(rate) - np.log1p(-rate))

    def _replicate(self, post, prep, rng):
        rate = post["rate"].values[..., prep.index["arm"]]
        if self._hier(prep):
            k = post["kappa"].values[..., None]
            tiny = np.finfo(float).tiny
            rate = rng.beta(np.maximum(rate * k, tiny), np.maximum((1 - rate) * k, tiny))
        return rng.binomial(prep.n, rate)

    @classmethod
    def replication_moments(cls, tree):
        post = tree["posterior"]
        idx = tree["constant_data"]["arm_index"].values
        rate = post["rate"].values[..., idx]
        if "kappa" in post:
            k = post["kappa"].values[..., None]
            return rate, rate * (1 - rate) / (1 + k)
        return rate, np.zeros_like(rate)
