"""Subgroup analysis and leave-one-out sensitivity for pooled proportions.

Subgroup analysis (:func:`subgroup_analysis`) gives two tests of whether pooled proportions differ
between subgroups, both on the transform scale:

1. *Test for subgroup differences (random effects)*, as ``meta::metaprop(..., subgroup=)`` prints
   it with separate tau^2 per subgroup (``tau.common = FALSE``): each subgroup ``g`` is pooled on
   its own (:func:`~bayes_anlo.frequentist.pooling.pool_proportions`, own tau^2), and the subgroup
   estimates ``theta_g`` with standard errors ``se_g`` are compared by Cochran's
   ``Q_between = sum_g w_g (theta_g - theta_bar)^2``, ``w_g = 1/se_g^2``, on ``G - 1`` degrees of
   freedom (``rma(yi = theta_g, sei = se_g, method = "FE")$QE`` in metafor).
2. *Mixed-effects meta-regression*: ``rma(yi, vi, mods = ~ factor(subgroup), method = ...)``, one
   residual tau^2 shared by all subgroups; the omnibus Wald test ``QM`` of the subgroup
   coefficients on ``G - 1`` degrees of freedom, with the residual heterogeneity ``QE`` and
   metafor's pseudo-R^2 ``max(0, 100 (tau^2_0 - tau^2) / tau^2_0)`` (``tau^2_0`` from the
   intercept-only model).

:func:`leave_one_out` refits the pooled model without each study in turn (``metafor::leave1out``);
for the double arcsine the back-transform uses the harmonic mean of the remaining studies' ``n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.data.binary import BinaryData
from bayes_anlo.errors import InputError
from bayes_anlo.frequentist.distributions import chi2_sf
from bayes_anlo.frequentist.pooling import (
    PooledResult,
    StudyCounts,
    _check_level,
    _check_method,
    _check_transform,
    _result_from_fit,
    escalc,
    fit_rma,
    study_counts,
)


@dataclass(frozen=True)
class ModeratorTest:
    """Mixed-effects model with subgroup as a categorical moderator (``rma(mods = ~
    factor(g))``)."""

    qm: float
    qm_df: int
    qm_p: float
    tau2: float
    i2: float
    h2: float
    r2: float
    qe: float
    qe_df: int
    qe_p: float


@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """Per-subgroup pooled results and the tests for subgroup differences.

    Attributes
    ----------
    by : str
        Name of the grouping (column name, or ``"subgroup"`` for an array).
    levels : tuple of str
        Subgroups in order of first appearance.
    per_subgroup : dict of str to PooledResult
        Each subgroup pooled on its own (own tau^2).
    overall : PooledResult
        All studies pooled together.
    q_between, q_between_df, q_between_p : float, int, float
        Test for subgroup differences (random effects, separate tau^2), as ``meta`` prints it.
    moderator : ModeratorTest or None
        Mixed-effects model test; None when there are too few studies (needs ``k >= G + 1``).
    """

    by: str
    transform: str
    tau2_method: str
    level: float
    levels: tuple[str, ...]
    per_subgroup: dict[str, PooledResult]
    overall: PooledResult
    q_between: float
    q_between_df: int
    q_between_p: float
    moderator: ModeratorTest | None

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup and a last row ``"overall"``, ``PooledResult.to_frame`` columns."""
        rows = []
        for level in self.levels:
            frame = self.per_subgroup[level].to_frame()
            frame.insert(0, "subgroup", level)
            rows.append(frame)
        overall = self.overall.to_frame()
        overall.insert(0, "subgroup", "overall")
        rows.append(overall)
        out = pd.concat(rows, ignore_index=True)
        out.insert(0, "by", self.by)
        return out

    def tests_frame(self) -> pd.DataFrame:
        """The two tests for subgroup differences, one row each."""
        rows = [
            {
                "test": "between subgroups (random effects, separate tau2)",
                "statistic": self.q_between,
                "df": self.q_between_df,
                "p_value": self.q_between_p,
                "tau2": float("nan"),
                "r2": float("nan"),
            }
        ]
        if self.moderator is not None:
            m = self.moderator
            rows.append(
                {
                    "test": "mixed-effects moderator QM (common tau2)",
                    "statistic": m.qm,
                    "df": m.qm_df,
                    "p_value": m.qm_p,
                    "tau2": m.tau2,
                    "r2": m.r2,
                }
            )
        frame = pd.DataFrame(rows)
        frame.insert(0, "by", self.by)
        frame.insert(1, "method", self.overall.method)
        return frame

    def to_dict(self) -> dict:
        return {
            "by": self.by,
            "method": self.overall.method,
            "levels": list(self.levels),
            "per_subgroup": {k: v.to_dict() for k, v in self.per_subgroup.items()},
            "overall": self.overall.to_dict(),
            "q_between": self.q_between,
            "q_between_df": self.q_between_df,
            "q_between_p": self.q_between_p,
            "moderator": None if self.moderator is None else dict(self.moderator.__dict__),
        }


def _groups(data, by, k: int) -> tuple[str, list[str]]:
    if isinstance(by, str):
        if not isinstance(data, BinaryData):
            raise InputError(
                f"by={by!r} names a column, which needs BinaryData; for arrays pass one label per "
                "study"
            )
        if by not in data.table.columns:
            raise InputError(
                f"no column {by!r} to group by (columns: {', '.join(data.table.columns)})",
                file=data.source,
            )
        values = [str(v) for v in data.table[by]]
        if any(v == "" for v in values):
            rows = [i + 2 for i, v in enumerate(values) if v == ""]
            raise InputError(
                f"column {by!r} is empty on rows {rows}; every study needs a subgroup",
                file=data.source,
            )
        return by, values
    values = [str(v) for v in by]
    if len(values) != k:
        raise InputError(
            f"by has {len(values)} labels for {k} studies; give one subgroup per study"
        )
    return "subgroup", values


def _subset(counts: StudyCounts, mask: np.ndarray) -> StudyCounts:
    labels = tuple(lab for lab, keep in zip(counts.labels, mask, strict=True) if keep)
    return StudyCounts(counts.events[mask], counts.n[mask], labels, counts.source)


def _pool_counts(counts: StudyCounts, transform: str, method: str, level: float, X=None):
    yi, vi = escalc(counts.events, counts.n, transform)
    fit = fit_rma(yi, vi, X=X, method=method)
    return fit, yi, vi


def subgroup_analysis(
    data,
    by,
    *,
    transform: str = "pft",
    method: str = "DL",
    level: float = 0.95,
    n=None,
    labels: Sequence[str] | None = None,
) -> SubgroupResult:
    """Pool each subgroup separately and test for differences between subgroups.

    Parameters
    ----------
    data : BinaryData or array of int
        Single-outcome binary data, or event counts (then give ``n``).
    by : str or sequence of str
        A column of the BinaryData (``"subgroup"``, ``"arm"``, ``"line"``, or any extra column),
        or one subgroup label per study.
    transform : {"pft", "logit"}
    method : {"DL", "REML"}
        tau^2 estimator, used within subgroups, overall and in the mixed-effects model.
    level : float
        Confidence level for the per-subgroup and overall intervals.
    n : array of int, optional
        Sample sizes when ``data`` is an array.

    Returns
    -------
    SubgroupResult
        See the module docstring for the two tests.
    """
    transform = _check_transform(transform)
    method = _check_method(method)
    if method == "FE":
        raise ValueError(
            "subgroup_analysis compares random-effects subgroups; use method 'DL' or 'REML'"
        )
    level = _check_level(level)
    counts = study_counts(data, n, labels=labels)
    by_name, groups = _groups(data, by, counts.k)
    levels = list(dict.fromkeys(groups))
    if len(levels) < 2:
        raise InputError(
            f"{by_name!r} has a single subgroup ({levels[0]!r}); nothing to compare",
            file=counts.source,
        )
    g = np.array(groups)

    per: dict[str, PooledResult] = {}
    theta = []
    se = []
    for level_ in levels:
        sub = _subset(counts, g == level_)
        fit, yi, vi = _pool_counts(sub, transform, method, level)
        res = _result_from_fit(fit, sub, yi, vi, transform, level)
        per[level_] = res
        theta.append(res.theta)
        se.append(res.theta_se)
    w = 1 / np.asarray(se) ** 2
    theta_arr = np.asarray(theta)
    q_between = float(np.sum(w * (theta_arr - np.sum(w * theta_arr) / np.sum(w)) ** 2))
    df_between = len(levels) - 1
    p_between = float(chi2_sf(q_between, df_between))

    fit0, yi, vi = _pool_counts(counts, transform, method, level)
    overall = _result_from_fit(fit0, counts, yi, vi, transform, level)

    moderator = None
    n_par = len(levels)
    if counts.k >= n_par + 1:
        X = np.column_stack([np.ones(counts.k)] + [(g == lv).astype(float) for lv in levels[1:]])
        fit = fit_rma(yi, vi, X=X, method=method)
        b = fit.beta[1:]
        vb = fit.vb[1:, 1:]
        qm = float(b @ np.linalg.solve(vb, b))
        if fit0.tau2 == 0:
            r2 = 0.0
        else:
            r2 = max(0.0, 100 * (fit0.tau2 - fit.tau2) / fit0.tau2)
        moderator = ModeratorTest(
            qm=qm,
            qm_df=n_par - 1,
            qm_p=float(chi2_sf(qm, n_par - 1)),
            tau2=fit.tau2,
            i2=fit.i2,
            h2=fit.h2,
            r2=r2,
            qe=fit.q,
            qe_df=fit.q_df,
            qe_p=fit.q_p,
        )
    return SubgroupResult(
        by=by_name,
        transform=transform,
        tau2_method=method,
        level=level,
        levels=tuple(levels),
        per_subgroup=per,
        overall=overall,
        q_between=q_between,
        q_between_df=df_between,
        q_between_p=p_between,
        moderator=moderator,
    )


_LOO_COLUMNS = (
    "left_out",
    "k",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "theta",
    "theta_se",
    "z",
    "p_value",
    "theta_ci_low",
    "theta_ci_high",
    "q",
    "q_df",
    "q_p",
    "tau2",
    "i2",
    "h2",
)


def leave_one_out(
    data,
    n=None,
    *,
    transform: str = "pft",
    method: str = "DL",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Pool all studies but one, for each study in turn (``metafor::leave1out``).

    Returns one row per left-out study with the pooled proportion, its CI and prediction interval
    (probability scale; for PFT at the harmonic mean of the remaining ``n``), the transform-scale
    estimate with SE, z test and CI, and Q, tau^2, I^2 and H^2 of the reduced data. Needs at
    least 2 studies.
    """
    transform = _check_transform(transform)
    method = _check_method(method)
    level = _check_level(level)
    counts = study_counts(data, n, labels=labels)
    if counts.k < 2:
        raise InputError("leave-one-out needs at least 2 studies", file=counts.source)
    rows = []
    for i in range(counts.k):
        mask = np.ones(counts.k, dtype=bool)
        mask[i] = False
        sub = _subset(counts, mask)
        fit, yi, vi = _pool_counts(sub, transform, method, level)
        res = _result_from_fit(fit, sub, yi, vi, transform, level)
        row = {c: getattr(res, c) for c in _LOO_COLUMNS[1:]}
        row["left_out"] = counts.labels[i]
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(_LOO_COLUMNS))
    frame.insert(1, "method", f"{'PFT' if transform == 'pft' else 'PLO'}-{method}")
    return frame
