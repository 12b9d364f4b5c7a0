"""Adaptive two-dimensional grid quadrature for a two-hyperparameter posterior.

The posterior is evaluated (up to nothing: the log density passed in is the complete log joint
``log p(y | x1, x2) + log p(x1, x2)`` on the grid's coordinates, Jacobian included) at the centres
of a regular grid of cells. The midpoint rule then gives

* the evidence ``log p(y) = log sum_cells exp(log f) * cell area`` (log-sum-exp),
* the cell probabilities ``w = exp(log f - log p(y)) * area``,
* expectations ``E g = sum w g(cell centre)``,
* marginal CDFs (piecewise linear inside cells) and their quantiles,
* iid draws: a cell with probability ``w``, then a uniform point inside the cell.

The grid adapts in two steps: a coarse pass over a starting box that is widened (within hard
limits) until no edge carries log density within ``drop`` of the maximum, then a fine pass over
the bounding box of the cells above ``max - drop`` (one cell of margin), widened again if one of its
edges is still within ``drop`` of the maximum (a narrow ridge the coarse pass undersampled) and
redone on a tighter box if the occupied region is less than half of it. With ``drop = 25`` the mass
left out is below ``e^-25`` relative to the mode's cell. Same idea as R ``bayesmeta`` (Roever 2020,
J Stat Softw 93(6)) for the normal-normal model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LogDensity = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Grid2D:
    """A normalised grid posterior over two coordinates ``names`` (cell centres ``x``, ``y``)."""

    names: tuple[str, str]
    x_edges: np.ndarray
    y_edges: np.ndarray
    log_density: np.ndarray  # (len(x), len(y)) log joint at cell centres
    log_evidence: float
    weights: np.ndarray  # (len(x), len(y)) cell probabilities, summing to 1

    @property
    def x(self) -> np.ndarray:
        return 0.5 * (self.x_edges[1:] + self.x_edges[:-1])

    @property
    def y(self) -> np.ndarray:
        return 0.5 * (self.y_edges[1:] + self.y_edges[:-1])

    def expect(self, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> float:
        """``E[fn(x, y)]`` by the midpoint rule."""
        xx, yy = np.meshgrid(self.x, self.y, indexing="ij")
        return float(np.sum(self.weights * fn(xx, yy)))

    def marginal(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Edges and cell probabilities of the marginal of coordinate ``axis`` (0 or 1)."""
        probs = self.weights.sum(axis=1 - axis)
        return (self.x_edges if axis == 0 else self.y_edges), probs

    def quantile(self, axis: int, q) -> np.ndarray:
        """Quantiles of one coordinate: its marginal CDF is known exactly (to the midpoint rule) at
        the cell edges and interpolated between them by a monotone cubic (PCHIP), then inverted."""
        from scipy.interpolate import PchipInterpolator  # here: drawing needs no scipy.interpolate

        edges, probs = self.marginal(axis)
        cdf = np.concatenate([[0.0], np.cumsum(probs)])
        cdf /= cdf[-1]
        fine = np.linspace(edges[0], edges[-1], 16 * (len(edges) - 1) + 1)
        values = np.maximum.accumulate(np.clip(PchipInterpolator(edges, cdf)(fine), 0.0, 1.0))
        return np.interp(np.asarray(q, dtype=float), values, fine)

    def sample(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``size`` iid draws: a cell chosen by its probability, then uniform inside the cell."""
        flat = self.weights.ravel()
        cells = rng.choice(flat.size, size=size, p=flat / flat.sum())
        ix, iy = np.unravel_index(cells, self.weights.shape)
        ux, uy = rng.random(size), rng.random(size)
        x = self.x_edges[ix] + ux * (self.x_edges[ix + 1] - self.x_edges[ix])
        y = self.y_edges[iy] + uy * (self.y_edges[iy + 1] - self.y_edges[iy])
        return x, y


def _evaluate(log_density: LogDensity, box, nx: int, ny: int):
    x_edges = np.linspace(box[0], box[1], nx + 1)
    y_edges = np.linspace(box[2], box[3], ny + 1)
    xc = 0.5 * (x_edges[1:] + x_edges[:-1])
    yc = 0.5 * (y_edges[1:] + y_edges[:-1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lf = np.broadcast_to(
            np.asarray(log_density(xc[:, None], yc[None, :]), dtype=float), (nx, ny)
        )
    lf = np.where(np.isnan(lf), -np.inf, lf)
    return x_edges, y_edges, lf


def _hot_sides(lf, top, drop) -> list[bool]:
    """Whether each side (x low, x high, y low, y high) has cells within ``drop`` of the top."""
    return [
        lf[0, :].max() > top - drop,
        lf[-1, :].max() > top - drop,
        lf[:, 0].max() > top - drop,
        lf[:, -1].max() > top - drop,
    ]


def _occupied_box(x_edges, y_edges, lf, drop):
    top = lf.max()
    keep = lf > top - drop
    ix = np.flatnonzero(keep.any(axis=1))
    iy = np.flatnonzero(keep.any(axis=0))
    i0, i1 = max(ix[0] - 1, 0), min(ix[-1] + 2, len(x_edges) - 1)
    j0, j1 = max(iy[0] - 1, 0), min(iy[-1] + 2, len(y_edges) - 1)
    return [x_edges[i0], x_edges[i1], y_edges[j0], y_edges[j1]]


def adaptive_grid(
    log_density: LogDensity,
    box,
    limits,
    *,
    names=("x", "y"),
    n_coarse: int = 48,
    n_fine: int = 120,
    drop: float = 25.0,
    max_widen: int = 8,
) -> Grid2D:
    """Normalised grid posterior of ``log_density`` (vectorised over arrays of x and y).

    Parameters
    ----------
    log_density : callable
        ``(x, y) -> log joint``, called with a column of x values and a row of y values (shapes
        ``(nx, 1)`` and ``(1, ny)``) and broadcasting to ``(nx, ny)``; ``-inf`` outside the support.
    box : sequence of 4 floats
        Starting box ``[x_lo, x_hi, y_lo, y_hi]``.
    limits : sequence of 4 floats
        Hard limits the box may be widened to (e.g. the prior's support).
    n_coarse, n_fine : int
        Cells per axis of the coarse and fine passes.
    drop : float
        Log-density drop below the maximum that the grid must cover.
    """
    box = [
        max(box[0], limits[0]),
        min(box[1], limits[1]),
        max(box[2], limits[2]),
        min(box[3], limits[3]),
    ]
    for _ in range(max_widen):
        x_edges, y_edges, lf = _evaluate(log_density, box, n_coarse, n_coarse)
        top = lf.max()
        if not np.isfinite(top):
            raise FloatingPointError("log density is not finite anywhere on the grid")
        edge_hot = _hot_sides(lf, top, drop)
        widened = False
        width = [box[1] - box[0], box[3] - box[2]]
        for side, hot in enumerate(edge_hot):
            if not hot or box[side] == limits[side]:
                continue
            step = width[side // 2]
            box[side] = (
                max(box[side] - step, limits[side])
                if side % 2 == 0
                else min(box[side] + step, limits[side])
            )
            widened = True
        if not widened:
            break
    fine_box = _occupied_box(x_edges, y_edges, lf, drop)
    for _ in range(max_widen):
        x_edges, y_edges, lf = _evaluate(log_density, fine_box, n_fine, n_fine)
        top = lf.max()
        hot = _hot_sides(lf, top, drop)
        width = [fine_box[1] - fine_box[0], fine_box[3] - fine_box[2]]
        widened = False
        for side, is_hot in enumerate(hot):
            if is_hot and fine_box[side] != limits[side]:
                step = 0.5 * width[side // 2]
                fine_box[side] = (
                    max(fine_box[side] - step, limits[side])
                    if side % 2 == 0
                    else min(fine_box[side] + step, limits[side])
                )
                widened = True
        if widened:
            continue
        new_box = _occupied_box(x_edges, y_edges, lf, drop)
        shrink = min((new_box[1] - new_box[0]) / width[0], (new_box[3] - new_box[2]) / width[1])
        if shrink > 0.5:
            break
        fine_box = new_box
    area = np.outer(np.diff(x_edges), np.diff(y_edges))
    log_mass = lf + np.log(area)
    top = log_mass.max()
    log_evidence = float(top + np.log(np.exp(log_mass - top).sum()))
    weights = np.exp(log_mass - log_evidence)
    return Grid2D(tuple(names), x_edges, y_edges, lf, log_evidence, weights / weights.sum())
