"""Bundled datasets: numbers transcribed from the seed papers, each with its source.

The files live in ``bayes_anlo/data/bundled/`` and are listed in ``manifest.toml`` there (parsed
with :mod:`tomllib`). Every row of every file carries a ``source`` (seed file and table/section, or
the URL a number was read from); counts computed rather than printed say so in ``derived``; where a
paper contradicts itself the printed number is kept and a ``flag`` explains the problem (the flag
codes of a dataset are listed in its manifest entry). ``docs/datasets.md`` describes each dataset.

Kinds
-----
``binary``
    Responders out of n in the long format of :mod:`bayes_anlo.data.binary`; :func:`load` returns a
    validated :class:`~bayes_anlo.data.binary.BinaryData`.
``survival_summary``
    Reported survival quantities, one per row: ``study, arm, endpoint, quantity, value, ci_low,
    ci_high, time, unit, source`` (+ grouping and provenance columns); endpoint ``PFS``/``OS``;
    quantity ``median``, ``landmark`` (survival probability at ``time`` months), ``events``,
    ``patients`` or ``median_followup``; times in months.
``published_pooled``
    Pooled results as a paper printed them (comparators for a re-analysis, not data to fit).
``study_table``
    One row per included study (design, sample size, ...).
``published_tests``
    Two-group comparisons printed with P values, with the counts they compare.

All kinds but ``binary`` load as a :class:`pandas.DataFrame`: the value columns (``value``,
``ci_low``, ``ci_high``, ``time``, ``estimate``, ``i2``, ``p_heterogeneity``, ``k``, ``n`` ...) and
any column whose every non-empty cell is a number become numeric (empty cells NaN; int64 when
complete and whole), other cells stay text (empty string where blank).

Examples
--------
>>> from bayes_anlo import datasets
>>> datasets.list_datasets()[["name", "kind", "rows"]]          # doctest: +SKIP
>>> data = datasets.load("sarcoma_literature_abstracts").select(outcome="ORR")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import tomllib
from functools import lru_cache
from importlib import resources

import pandas as pd

from bayes_anlo.data.binary import BinaryData, load_binary
from bayes_anlo.errors import InputError

__all__ = ["KINDS", "info", "list_datasets", "load", "names"]

KINDS = ("binary", "survival_summary", "published_pooled", "study_table", "published_tests")
_REQUIRED_KEYS = (
    "name",
    "file",
    "kind",
    "title",
    "description",
    "citation",
    "source_tables",
    "flags",
)
_MANIFEST = "manifest.toml"
#: Columns that are numeric wherever they occur (empty cells become NaN).
_NUMERIC = frozenset(
    {
        "value",
        "ci_low",
        "ci_high",
        "time",
        "estimate",
        "i2",
        "p_heterogeneity",
        "k",
        "n",
        "events",
        "events1",
        "n1",
        "events2",
        "n2",
        "p_printed",
    }
)


def _bundle():
    return resources.files("bayes_anlo.data").joinpath("bundled")


@lru_cache(maxsize=1)
def _manifest() -> dict[str, dict]:
    """Parse and check the manifest once; a broken manifest is a packaging bug, not user input."""
    entries = tomllib.loads(_bundle().joinpath(_MANIFEST).read_text(encoding="utf-8")).get(
        "dataset", []
    )
    out: dict[str, dict] = {}
    for i, entry in enumerate(entries):
        missing = [k for k in _REQUIRED_KEYS if k not in entry]
        if missing:
            raise RuntimeError(f"{_MANIFEST}: dataset[{i}] lacks {', '.join(missing)}")
        if entry["kind"] not in KINDS:
            raise RuntimeError(
                f"{_MANIFEST}: dataset {entry['name']!r} has unknown kind {entry['kind']!r}"
            )
        if entry["name"] in out:
            raise RuntimeError(f"{_MANIFEST}: dataset {entry['name']!r} listed twice")
        out[entry["name"]] = entry
    return out


def names() -> list[str]:
    """Names of the bundled datasets, in manifest order."""
    return list(_manifest())


def _entry(name: str) -> dict:
    manifest = _manifest()
    if name not in manifest:
        raise InputError(
            f"unknown dataset {name!r}; available datasets: {', '.join(manifest)}",
            file="bayes_anlo.datasets",
        )
    return manifest[name]


def _text(entry: dict) -> str:
    return _bundle().joinpath(entry["file"]).read_text(encoding="utf-8")


def _frame(entry: dict) -> pd.DataFrame:
    table = pd.read_csv(io.StringIO(_text(entry)), dtype=str, keep_default_na=False)
    for column in table.columns:
        cells = table[column]
        filled = cells[cells != ""]
        if column not in _NUMERIC and (
            filled.empty or pd.to_numeric(filled, errors="coerce").isna().any()
        ):
            continue
        numbers = pd.to_numeric(cells.replace("", None), errors="raise").astype(float)
        whole = numbers.notna().all() and (numbers == numbers.round()).all()
        table[column] = numbers.astype("int64") if whole else numbers
    return table


def load(name: str) -> BinaryData | pd.DataFrame:
    """Load a bundled dataset by name.

    Parameters
    ----------
    name : str
        One of :func:`names` (see :func:`list_datasets`).

    Returns
    -------
    BinaryData or pandas.DataFrame
        Binary datasets are validated by :func:`bayes_anlo.data.binary.load_binary` and labelled
        with the dataset name (so messages and run records say ``name``, not a file path); other
        kinds are returned as a DataFrame (see the module docstring for the conversion of cells).

    Raises
    ------
    InputError
        For an unknown name; the message lists the available datasets.
    """
    entry = _entry(name)
    if entry["kind"] == "binary":
        with resources.as_file(_bundle().joinpath(entry["file"])) as path:
            return load_binary(path, label=name)
    return _frame(entry)


def selected_rows(name: str, where: dict) -> pd.DataFrame:
    """The rows of the bundled table ``name`` whose columns hold the values ``where`` gives (a
    value or a list of values per column, compared as text)."""
    table = load(name)
    for column, value in where.items():
        values = [value] if not isinstance(value, list) else value
        table = table[table[column].astype(str).isin([str(v) for v in values])]
    return table


def info(name: str) -> dict:
    """Title, citation, description, source tables and flags of a bundled dataset (a copy)."""
    entry = _entry(name)
    return {
        "name": entry["name"],
        "kind": entry["kind"],
        "format": entry.get("format", entry["kind"]),
        "file": entry["file"],
        "title": entry["title"],
        "citation": dict(entry["citation"]),
        "description": " ".join(entry["description"].split()),
        "source_tables": list(entry["source_tables"]),
        "flags": list(entry["flags"]),
    }


def list_datasets() -> pd.DataFrame:
    """One row per bundled dataset: name, kind, title, rows, source (summary), flags (count)."""
    records = []
    for name, entry in _manifest().items():
        rows = len(pd.read_csv(io.StringIO(_text(entry)), dtype=str, keep_default_na=False))
        citation = entry["citation"]
        records.append(
            {
                "name": name,
                "kind": entry["kind"],
                "title": entry["title"],
                "rows": rows,
                "source": f"{citation.get('seed_file', '')}: "
                + "; ".join(
                    s.replace(citation.get("seed_file", ""), "").strip() or s
                    for s in entry["source_tables"]
                ),
                "flags": len(entry["flags"]),
            }
        )
    return pd.DataFrame.from_records(records)
