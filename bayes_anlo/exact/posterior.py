"""The result of a grid quadrature: exact moments and quantiles of named parameters, and iid
draws."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes_anlo.exact.grid import Grid2D

#: Probabilities of the quantiles reported by :meth:`ExactPosterior.to_frame`.
QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)


@dataclass(frozen=True)
class Parameter:
    """A parameter as a monotone function of one grid coordinate.

    ``axis`` is the grid coordinate it depends on, ``fn`` maps that coordinate to the parameter,
    ``increasing`` says whether ``fn`` is increasing (quantiles map through it directly) or
    decreasing (the ``1 - q`` quantile maps to the ``q`` quantile).
    """

    axis: int
    fn: Callable[[np.ndarray], np.ndarray]
    increasing: bool = True


@dataclass(frozen=True)
class ExactPosterior:
    """Posterior of a two-hyperparameter model computed on a grid.

    Attributes
    ----------
    model : str
        Model name (``"beta_binomial"``, ``"logit_normal"``).
    grid : Grid2D
        The normalised grid (coordinates ``grid.names``).
    parameters : dict
        Name -> :class:`Parameter` for every reported parameter.
    log_evidence : float
        ``log p(y)``, the log marginal likelihood under the priors (all constants included).
    """

    model: str
    grid: Grid2D
    parameters: dict[str, Parameter] = field(repr=False)

    @property
    def log_evidence(self) -> float:
        return self.grid.log_evidence

    def mean(self, name: str) -> float:
        p = self.parameters[name]
        return self.grid.expect(lambda x, y: p.fn(x if p.axis == 0 else y))

    def sd(self, name: str) -> float:
        p = self.parameters[name]
        m = self.mean(name)
        return float(
            np.sqrt(self.grid.expect(lambda x, y: (p.fn(x if p.axis == 0 else y) - m) ** 2))
        )

    def quantile(self, name: str, q) -> np.ndarray:
        p = self.parameters[name]
        q = np.asarray(q, dtype=float)
        coord = self.grid.quantile(p.axis, q if p.increasing else 1.0 - q)
        return p.fn(coord)

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: mean, sd and the quantiles in :data:`QUANTILES`."""
        rows = []
        for name in self.parameters:
            row = {"parameter": name, "mean": self.mean(name), "sd": self.sd(name)}
            for q, value in zip(QUANTILES, self.quantile(name, QUANTILES), strict=True):
                row[f"q{q * 100:g}"] = float(value)
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """JSON-able summary (recorded as the ``exact`` root attr of exact fits)."""
        table = self.to_frame().set_index("parameter")
        return {
            "log_evidence": self.log_evidence,
            "grid": list(self.grid.names),
            "cells": [len(self.grid.x), len(self.grid.y)],
            "parameters": {k: {c: float(v) for c, v in row.items()} for k, row in table.iterrows()},
        }

    def sample(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``size`` iid draws of the two grid coordinates."""
        return self.grid.sample(size, rng)
