"""A figure function for tests/pipeline/test_run_without_dask.py, in a module of its own: a figure
worker imports it to build the recipe, and the test module itself imports dask (importorskip)."""

from __future__ import annotations

import sys

import xarray as xr

from bayes_anlo.report.canvas import literal_text, new_figure


@literal_text
def dask_modules_figure(text: str | None = None):
    """A figure saying how many dask modules its process holds after building a Dataset (or
    ``text``)."""
    xr.Dataset({"x": ("d", [1.0])}, coords={"d": ["a"]})
    dask = ("dask", "distributed")
    loaded = [m for m, mod in sys.modules.items() if mod and m.split(".")[0] in dask]
    fig = new_figure(figsize=(3.0, 1.0))
    fig.text(0.1, 0.5, text if text is not None else f"dask modules: {len(loaded)}")
    return fig
