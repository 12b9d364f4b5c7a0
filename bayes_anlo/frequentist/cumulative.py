"""Cumulative meta-analysis (``metafor::cumul``): the pooled proportion as studies accrue.

Studies are sorted by ``order`` (a column of the data such as ``year``, or one value per study;
ties keep the data's order, as R's ``order``), and the model is refitted on the first 1, 2, ..., k
studies with the same transform, tau^2 estimator and test. Each row is back-transformed to the
rate scale; for PFT at the harmonic mean of the ``n`` of the studies included so far (the
convention of :func:`~bayes_anlo.frequentist.subgroups.leave_one_out`). The first row (one
study) has tau^2 = 0 and no heterogeneity statistics, as in metafor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_anlo.data.binary import BinaryData
from bayes_anlo.errors import InputError, Problem
from bayes_anlo.frequentist.effects import model_label, study_effects, to_rate
from bayes_anlo.frequentist.random_effects import check_test, fit_uni
from bayes_anlo.frequentist.tau2 import check_tau2_method

_COLUMNS = (
    "added",
    "order_value",
    "k",
    "estimate",
    "ci_low",
    "ci_high",
    "theta",
    "theta_se",
    "theta_ci_low",
    "theta_ci_high",
    "p_value",
    "tau2",
    "i2",
    "h2",
    "q",
    "q_p",
)


@dataclass(frozen=True, eq=False)
class CumulativeResult:
    """Rows of a cumulative meta-analysis, in the order the studies were added."""

    method: str
    order_by: str
    frame: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        out = self.frame.copy()
        out.insert(1, "method", self.method)
        return out

    def to_dict(self) -> dict:
        from bayes_anlo.frequentist.pooling import _jsonable

        return {
            "method": self.method,
            "order_by": self.order_by,
            "rows": [
                {key: _jsonable(value) for key, value in row.items()}
                for row in self.frame.to_dict("records")
            ],
        }


def order_values(data, order) -> tuple[str, list]:
    """The sort key: a column of a BinaryData (numbers where every cell is one) or a sequence."""
    if isinstance(order, str):
        if not isinstance(data, BinaryData) or order not in data.table.columns:
            raise InputError(
                Problem(
                    getattr(data, "source", "<arguments>"),
                    None,
                    order,
                    f"no column {order!r} to order the studies by",
                )
            )
        raw = [str(v).strip() for v in data.table[order]]
        try:
            return order, [float(v) for v in raw]
        except ValueError:
            return order, raw
    values = list(order)
    return "order", values


def cumulative_meta_analysis(
    data,
    n=None,
    *,
    order: str | Sequence | None = None,
    transform: str = "logit",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> CumulativeResult:
    """Cumulative pooling, as ``cumul(rma(...), order = order)``."""
    method = check_tau2_method(method)
    test = check_test(test)
    eff = study_effects(data, n, transform=transform, labels=labels)
    if order is None:
        name, key = "data order", list(range(eff.k))
    else:
        name, key = order_values(data, order)
    if len(key) != eff.k:
        raise InputError(f"{len(key)} order values for {eff.k} studies", file=eff.counts.source)
    idx = sorted(range(eff.k), key=lambda i: key[i])  # stable, like R's order()
    rows = []
    for j in range(1, eff.k + 1):
        take = np.array(idx[:j])
        y, v = eff.yi[take], eff.vi[take]
        fit = fit_uni(y, v, method=method, test=test, level=level)
        pred, se, lo, hi, _, _ = fit.prediction()
        n_in = eff.counts.n[take] if eff.transform == "pft" else None
        est, r_lo, r_hi = to_rate([pred, lo, hi], eff.transform, n_in)
        single = j == 1
        rows.append(
            {
                "added": eff.labels[idx[j - 1]],
                "order_value": key[idx[j - 1]],
                "k": j,
                "estimate": float(est),
                "ci_low": float(r_lo),
                "ci_high": float(r_hi),
                "theta": pred,
                "theta_se": se,
                "theta_ci_low": lo,
                "theta_ci_high": hi,
                "p_value": float(fit.pval[0]),
                "tau2": fit.tau2,
                "i2": math.nan if single else fit.i2,
                "h2": math.nan if single else fit.h2,
                "q": math.nan if single else fit.q,
                "q_p": math.nan if single else fit.q_p,
            }
        )
    frame = pd.DataFrame(rows, columns=list(_COLUMNS))
    return CumulativeResult(model_label(eff.transform, method, test), name, frame)
