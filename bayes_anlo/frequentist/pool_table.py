"""The usual frequentist comparators side by side: PFT and logit pooling with DL and REML
(:mod:`bayes_anlo.frequentist.pooling`) and the logit GLMM (:mod:`bayes_anlo.frequentist.glmm`).

Kept apart from both so that neither imports the other's consumer: ``glmm`` builds on ``pooling``,
and this module on the two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes_anlo.frequentist.glmm import glmm_logit
from bayes_anlo.frequentist.pooling import TRANSFORMS, pool_proportions, study_counts


def pool_summary(
    data,
    n=None,
    *,
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    include_glmm: bool = True,
) -> pd.DataFrame:
    """The usual frequentist comparators in one table: PFT and logit with DL and REML, and the GLMM.

    One row per method (``PooledResult.to_frame`` columns). The GLMM row is left out when the
    model has no finite estimate (every study with 0 events, or every study with all events).
    """
    rows = []
    for transform in TRANSFORMS:
        for method in ("DL", "REML"):
            rows.append(
                pool_proportions(
                    data, n, transform=transform, method=method, level=level, labels=labels
                ).to_frame()
            )
    if include_glmm:
        counts = study_counts(data, n, labels=labels)
        degenerate = np.all(counts.events == 0) or np.all(counts.events == counts.n)
        if counts.k >= 2 and not degenerate:
            rows.append(glmm_logit(data, n, level=level, labels=labels).to_frame())
    return pd.concat(rows, ignore_index=True)
