"""An :class:`~bayes_anlo.report.result.AnalysisResult` as plain data and back, exactly.

:func:`encode` turns a result (without its figures) into a JSON document and a dict of numpy
arrays (saved with ``numpy.savez``, read back with ``allow_pickle=False``): nothing stored is
ever unpickled or evaluated. Tables keep their column dtypes, index and values (floats by their
shortest round-trip repr, so every digit survives); the DataTree keeps every node, variable,
coordinate, dimension and attribute. What cannot be stored exactly raises :class:`CodecError`
instead of being stored approximately: :func:`encode` decodes what it made and compares it with
the result (``DataFrame.equals`` with the same dtypes, ``DataTree.identical``), so a result read
back is the result that was stored.

Object-dtype variables of the tree (nutpie's divergence messages) are left out, as the run's
``posterior.nc`` leaves them out (:func:`bayes_anlo.pipeline.run.netcdf_safe`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import xarray as xr

from bayes_anlo.report.result import AnalysisResult

#: Version of the stored form; a change makes older stored results unreadable (a cache miss).
CODEC_FORMAT = 1

#: Fields of :class:`AnalysisResult` stored as JSON as they are (strings, bools, lists, dicts).
_PLAIN_FIELDS = (
    "id",
    "title",
    "model",
    "converged",
    "convergence_reasons",
    "notes",
    "headline",
    "priors_text",
    "data_sources",
    "flags",
    "sections",
    "by",
)


class CodecError(ValueError):
    """A part of a result that has no exact stored form (the result is then not stored)."""


# -- scalars --------------------------------------------------------------------------------------


def _scalar(value):
    """A JSON value for ``value``, tagged when JSON alone would lose its type."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind in "biuf":
            return {"np": value.dtype.str, "v": _scalar(value.item())}
        if value.dtype.kind in "U":
            return {"np": value.dtype.str, "v": str(value)}
        raise CodecError(f"numpy scalar of dtype {value.dtype} has no stored form")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else {"float": repr(value)}
    if isinstance(value, (list, tuple)):
        return {"tuple" if isinstance(value, tuple) else "list": [_scalar(v) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CodecError("a dict with keys other than strings has no stored form")
        return {"dict": {k: _scalar(v) for k, v in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufU":
        return {"array": value.dtype.str, "shape": list(value.shape), "v": value.tolist()}
    raise CodecError(f"a value of type {type(value).__name__} has no stored form")


def _unscalar(value):
    if not isinstance(value, dict):
        return value
    if "np" in value:
        return np.dtype(value["np"]).type(_unscalar(value["v"]))
    if "float" in value:
        return float(value["float"])
    if "list" in value:
        return [_unscalar(v) for v in value["list"]]
    if "tuple" in value:
        return tuple(_unscalar(v) for v in value["tuple"])
    if "dict" in value:
        return {k: _unscalar(v) for k, v in value["dict"].items()}
    if "array" in value:
        return np.array(value["v"], dtype=np.dtype(value["array"])).reshape(value["shape"])
    raise CodecError(f"unknown stored value {sorted(value)}")


# -- tables ---------------------------------------------------------------------------------------


def _column(values: pd.Series | pd.Index) -> dict:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or dtype.kind in "mMc":
        raise CodecError(f"a column of dtype {dtype} has no stored form")
    return {"dtype": str(dtype), "name": _scalar(values.name), "v": _scalar(values.tolist())}


def _uncolumn(stored: dict) -> pd.Series:
    values = _unscalar(stored["v"])
    dtype = stored["dtype"]
    if dtype == "object":
        column = np.empty(len(values), dtype=object)
        for i, value in enumerate(values):  # element by element: a list stays one element
            column[i] = value
        return pd.Series(column, dtype=object, name=_unscalar(stored["name"]))
    return pd.Series(values, dtype=dtype, name=_unscalar(stored["name"]))


def encode_frame(frame: pd.DataFrame) -> dict:
    """A table as JSON-able data (:func:`decode_frame` gives it back); CodecError if not exact."""
    if isinstance(frame.columns, pd.MultiIndex) or isinstance(frame.index, pd.MultiIndex):
        raise CodecError("a table with a MultiIndex has no stored form")
    if not all(isinstance(c, str) for c in frame.columns) or not frame.columns.is_unique:
        raise CodecError("a table whose column names are not unique strings has no stored form")
    index = frame.index
    if isinstance(index, pd.RangeIndex):
        stored_index = {"range": [index.start, index.stop, index.step], "name": index.name}
    else:
        stored_index = _column(index)
    return {
        "columns": [_column(frame[c]) | {"name": c} for c in frame.columns],
        "index": stored_index,
        "attrs": _scalar(dict(frame.attrs)),
    }


def decode_frame(stored: dict) -> pd.DataFrame:
    index_data = stored["index"]
    if "range" in index_data:
        index = pd.RangeIndex(*index_data["range"], name=index_data["name"])
    else:
        index = pd.Index(_uncolumn(index_data))
    frame = pd.DataFrame(
        {c["name"]: _uncolumn(c).to_numpy(copy=False) for c in stored["columns"]}, index=index
    )
    for c in stored["columns"]:  # the column dtypes exactly (an empty column stays typed)
        if str(frame[c["name"]].dtype) != c["dtype"]:
            frame[c["name"]] = frame[c["name"]].astype(c["dtype"])
    frame.attrs = _unscalar(stored["attrs"])
    return frame


def same_frame(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Equal values, dtypes, index and column names (NaN equal to NaN)."""
    return (
        a.columns.equals(b.columns)
        and list(map(str, a.dtypes)) == list(map(str, b.dtypes))
        and a.index.equals(b.index)
        and type(a.index) is type(b.index)
        and str(a.index.dtype) == str(b.index.dtype)
        and a.equals(b)
        and a.attrs == b.attrs
    )


# -- the tree -------------------------------------------------------------------------------------


def stored_tree(tree: xr.DataTree) -> xr.DataTree:
    """``tree`` without object-dtype variables (what :func:`encode` stores of it)."""

    def clean(ds: xr.Dataset) -> xr.Dataset:
        return ds.drop_vars([n for n, v in ds.variables.items() if v.dtype == object])

    return tree.map_over_datasets(clean)


def encode_tree(tree: xr.DataTree, arrays: dict[str, np.ndarray]) -> list[dict]:
    """Every node of ``tree`` (object-dtype variables left out) as JSON-able data; the variables'
    values go into ``arrays`` under ``"<node>/<k>"``."""
    nodes = []
    for node in tree.subtree:
        ds = node.to_dataset(inherit=False)
        variables = []
        for name, var in ds.variables.items():
            if var.dtype == object:
                continue
            if var.dtype.kind not in "biufcUSmM":
                raise CodecError(f"tree variable {node.path}:{name} of dtype {var.dtype}")
            if not isinstance(name, str):
                raise CodecError(f"tree variable {name!r} of {node.path} is not named by a string")
            slot = f"{len(nodes)}/{len(variables)}"
            arrays[slot] = np.asarray(var.values)
            variables.append(
                {
                    "name": name,
                    "coord": name in ds.coords,
                    "dims": list(var.dims),
                    "attrs": _scalar(dict(var.attrs)),
                    "slot": slot,
                }
            )
        nodes.append({"path": node.path, "attrs": _scalar(dict(node.attrs)), "vars": variables})
    return nodes


def decode_tree(nodes: list[dict], arrays) -> xr.DataTree:
    datasets = {}
    for node in nodes:
        coords, data_vars = {}, {}
        for var in node["vars"]:
            variable = xr.Variable(var["dims"], arrays[var["slot"]], attrs=_unscalar(var["attrs"]))
            (coords if var["coord"] else data_vars)[var["name"]] = variable
        datasets[node["path"]] = xr.Dataset(
            data_vars, coords=coords, attrs=_unscalar(node["attrs"])
        )
    return xr.DataTree.from_dict(datasets)


# -- a result -------------------------------------------------------------------------------------


def encode(result: AnalysisResult) -> tuple[dict, dict[str, np.ndarray]]:
    """``result`` without its figures as (JSON document, arrays); the document lists the figure
    names. Raises CodecError when the result has a part without an exact stored form, or when
    what was encoded does not decode to the result."""
    arrays: dict[str, np.ndarray] = {}
    document = {
        "format": CODEC_FORMAT,
        "fields": {name: _scalar(getattr(result, name)) for name in _PLAIN_FIELDS},
        "tables": {name: encode_frame(table) for name, table in result.tables.items()},
        "figures": list(result.figures),
        "tree": encode_tree(result.tree, arrays),
    }
    back = decode(document, arrays, figures={})
    for name, table in result.tables.items():
        if not same_frame(table, back.tables[name]):
            raise CodecError(f"table {name!r} does not read back as it was")
    if not stored_tree(result.tree).identical(back.tree):
        raise CodecError("the tree does not read back as it was")
    for name in _PLAIN_FIELDS:
        if getattr(result, name) != getattr(back, name):
            raise CodecError(f"field {name!r} does not read back as it was")
    return document, arrays


def decode(document: dict, arrays, *, figures: dict) -> AnalysisResult:
    """The result :func:`encode` stored, with ``figures`` as its figures."""
    if document.get("format") != CODEC_FORMAT:
        raise CodecError(f"stored result of format {document.get('format')!r}")
    fields = {name: _unscalar(value) for name, value in document["fields"].items()}
    return dataclasses.replace(
        AnalysisResult(**fields, tree=decode_tree(document["tree"], arrays)),
        tables={name: decode_frame(t) for name, t in document["tables"].items()},
        figures=figures,
    )
