"""Exact prior densities of the reported parameters, beside their posterior draws.

The prior/posterior figure of a binary analysis shows the parameters whose posterior the prior can
move with few studies: the pooled rate, the heterogeneity (ICC = 1/(1 + kappa), tau, the
between-subgroup SD) and, for two arms, the difference of rates. Each prior curve is the density of
the prior the fit used, carried to the plotted scale by a change of variables (no kernel estimate
of prior draws):

* ``pooled_rate = mu`` with ``mu`` on (0, 1): the prior of ``mu``;
* ``pooled_rate = expit(mu)`` with ``mu`` on the logit scale: ``f_mu(logit r) / (r (1 - r))``;
* ``icc = 1 / (1 + kappa)``: ``f_kappa(1 / c - 1) / c^2``;
* ``tau``, ``sigma_subgroup``: their priors as they are;
* ``difference = p1 - p2`` with ``p1, p2`` independent with density ``f``: the convolution
  ``int f(x) f(x - d) dx`` (Gauss-Legendre quadrature).

The posterior is a histogram of the draws (density scale: the bars' area is the share of draws in
the plotted range).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit, logit

from bayes_anlo.models.priors import Distribution, PriorSet

#: Axis label of each plotted parameter.
AXIS_LABELS = {
    "pooled_rate": "pooled rate",
    "icc": "ICC = 1/(1 + kappa) (between-study overdispersion)",
    "tau": "tau: between-study SD (logit scale)",
    "sigma_subgroup": "between-subgroup SD (logit scale)",
    "difference": "difference p1 - p2",
}
PERCENT = {"pooled_rate", "difference"}


def density(dist: Distribution, x) -> np.ndarray:
    """The density of ``dist`` at ``x`` (0 outside its support)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.exp(np.asarray(dist.logpdf(np.asarray(x, dtype=float)), dtype=float))
    return np.where(np.isfinite(out), out, 0.0)


def rate_density(mu: Distribution, x) -> np.ndarray:
    """Prior density of ``pooled_rate`` at rates ``x``: ``mu`` itself on (0, 1), else
    ``expit(mu)``."""
    x = np.asarray(x, dtype=float)
    lo, hi = mu.bounds()
    if lo >= 0.0 and hi <= 1.0:
        return density(mu, x)
    with np.errstate(divide="ignore"):
        return density(mu, logit(x)) / (x * (1.0 - x))


def icc_density(kappa: Distribution, c) -> np.ndarray:
    """Prior density of ``icc = 1 / (1 + kappa)`` at ``c`` in (0, 1)."""
    c = np.asarray(c, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((c > 0) & (c < 1), density(kappa, 1.0 / c - 1.0) / c**2, 0.0)


def difference_density(rate: Distribution, d, nodes: int = 200) -> np.ndarray:
    """Prior density of ``p1 - p2`` for independent ``p1, p2`` each with density ``rate`` on (0, 1):
    ``int f(x) f(x - d) dx`` over ``max(0, d) < x < min(1, 1 + d)`` by Gauss-Legendre quadrature
    (exact for Beta priors with integer parameters up to order ``nodes``)."""
    d = np.atleast_1d(np.asarray(d, dtype=float))
    t, w = np.polynomial.legendre.leggauss(nodes)
    lo, hi = np.maximum(0.0, d), np.minimum(1.0, 1.0 + d)
    half, mid = (hi - lo) / 2, (hi + lo) / 2
    x = mid[:, None] + half[:, None] * t[None, :]
    values = density(rate, x) * density(rate, x - d[:, None])
    return np.where(hi > lo, (values * w[None, :]).sum(axis=1) * half, 0.0)


def _prior_of(priors: PriorSet, field: str) -> Distribution | None:
    return dict(priors.items()).get(field)


def plotted_priors(priors: PriorSet, posterior: xr.Dataset) -> dict[str, tuple]:
    """Parameter -> (density function on the plotted scale, prior quantile function) for the
    parameters of this fit that have a prior density: see the module docstring."""
    out: dict[str, tuple] = {}
    mu = _prior_of(priors, "mu") or _prior_of(priors, "p")
    if "pooled_rate" in posterior and mu is not None:
        unit = mu.bounds()[0] >= 0.0 and mu.bounds()[1] <= 1.0
        out["pooled_rate"] = (
            lambda x, m=mu: rate_density(m, x),
            (lambda q, m=mu: m.quantile(q)) if unit else (lambda q, m=mu: expit(m.quantile(q))),
        )
    kappa = _prior_of(priors, "kappa")
    if "icc" in posterior and "kappa" in posterior and kappa is not None:
        out["icc"] = (
            lambda c, k=kappa: icc_density(k, c),
            lambda q, k=kappa: 1.0 / (1.0 + k.quantile(1.0 - np.asarray(q))),
        )
    for name in ("tau", "sigma_subgroup"):
        dist = _prior_of(priors, name)
        if name in posterior and dist is not None:
            out[name] = (lambda x, g=dist: density(g, x), lambda q, g=dist: g.quantile(q))
    rate = _prior_of(priors, "rate")
    if "difference" in posterior and rate is not None:
        out["difference"] = (lambda d, r=rate: difference_density(r, d), None)
    return out


def _plot_range(name: str, post: np.ndarray, prior_quantile) -> tuple[float, float]:
    lo, hi = float(np.quantile(post, 0.001)), float(np.quantile(post, 0.999))
    if prior_quantile is not None:
        plo, phi = (float(v) for v in prior_quantile(np.array([0.01, 0.99])))
        lo, hi = min(lo, plo), max(hi, phi)
    if name in ("pooled_rate", "icc"):
        return max(lo, 0.0), min(hi, 1.0)
    if name == "difference":
        return -1.0, 1.0
    return max(lo, 0.0), hi


def prior_posterior_table(
    priors: PriorSet, tree: xr.DataTree, *, points: int = 300, bins: int = 50
) -> pd.DataFrame:
    """Long table behind the prior/posterior figure: for each parameter with an exact prior
    density (:func:`plotted_priors`), the prior density on a grid (``series = "prior"``) and a
    histogram of the posterior draws (``series = "posterior"``: bin centres, density).

    Columns ``parameter, axis_label, series, x, density, percent``.
    """
    posterior = tree["posterior"].to_dataset()
    frames = []
    for name, (dens, quantile) in plotted_priors(priors, posterior).items():
        post = np.asarray(posterior[name].values, dtype=float).ravel()
        post = post[np.isfinite(post)]
        lo, hi = _plot_range(name, post, quantile)
        if not hi > lo:
            continue
        counts, edges = np.histogram(post, bins=bins, range=(lo, hi))
        widths = np.diff(edges)
        frames.append(
            pd.DataFrame(
                {
                    "parameter": name,
                    "series": "posterior",
                    "x": (edges[:-1] + edges[1:]) / 2,
                    "density": counts / (len(post) * widths),
                }
            )
        )
        # open grid (the end points can be singular, e.g. Beta(0.5, 0.5) or icc at 0)
        grid = np.linspace(lo, hi, points + 2)[1:-1]
        frames.append(
            pd.DataFrame({"parameter": name, "series": "prior", "x": grid, "density": dens(grid)})
        )
    if not frames:
        return pd.DataFrame(
            columns=["parameter", "axis_label", "series", "x", "density", "percent"]
        )
    table = pd.concat(frames, ignore_index=True)
    table.insert(1, "axis_label", table["parameter"].map(AXIS_LABELS).fillna(table["parameter"]))
    table["percent"] = table["parameter"].isin(PERCENT)
    return table
