"""The spec reference (``docs/spec.md``), rendered from the schema so that it cannot drift from it.

Every key, type, default and range comes from :mod:`bayes_anlo.spec_schema`; the models, their
methods, options and priors (defaults and named alternative sets) from the model registry and the
prior sets. Regenerate after changing the schema::

    python -m bayes_anlo.spec_reference docs/spec.md

``tests/report/test_spec.py`` fails when the file is not what this module renders.
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from bayes_anlo.spec_schema import (
    GROUPED_MODELS,
    MAX_NESTING,
    MODEL_OPTIONS,
    PRIOR_PARAMETER_LIMIT,
    REMOVED_KEYS,
    SURVIVAL_MODELS,
    AnalysisMeta,
    AnalysisTable,
    DataTable,
    DesignControlTable,
    DesignCriterionTable,
    DesignInterimTable,
    DesignTable,
    DocType,
    PublishedTable,
    SamplerTable,
    bounds,
    methods_of,
    priors_class_of,
    range_text,
)

_SCALARS = {str: "text", int: "integer", float: "number", bool: "true/false", Any: "any"}


def type_label(annotation, metadata=()) -> str:
    """A reader's name for a field type (``integer``, ``list of number``, ``"nuts" or "exact"``)."""
    for meta in metadata:
        if isinstance(meta, DocType):
            return meta.text
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *extra = typing.get_args(annotation)
        return type_label(base, extra)
    if annotation in (int, float) and bounds(metadata):
        return range_text(list(metadata), integer=annotation is int)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(type_label(a) for a in args)
    if origin is Literal:
        return " or ".join(
            f'"{v}"' if isinstance(v, str) else str(v).lower() for v in typing.get_args(annotation)
        )
    if origin is list:
        item = type_label(typing.get_args(annotation)[0])
        return f"list of {item.replace('a number', 'numbers').replace('an integer', 'integers')}"
    if origin is dict:
        return f"table of {type_label(typing.get_args(annotation)[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return _SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel) or value in ({}, [], (), ""):
        return "(empty)" if not isinstance(value, BaseModel) else ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) + "]"
    return str(value)


def _range(field) -> str:
    text = range_text(field)
    return "" if text in ("a number", "an integer") else text


def field_rows(table: type[BaseModel]) -> list[str]:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in table.model_fields.items():
        kind = _range(field) or type_label(field.annotation, field.metadata)
        rows.append(f"| `{name}` | {kind} | {_default(field)} | {field.description or ''} |")
    return rows


def _doc(table: type[BaseModel]) -> str:
    return " ".join((table.__doc__ or "").split())


def _model_section(name: str) -> list[str]:
    from bayes_anlo.models import MODELS

    cls = MODELS[name]
    survival = name in SURVIVAL_MODELS
    summary = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
    lines = [f"### `{name}`", "", summary, ""]
    reads = (
        "`endpoint` (required), data of kind ipd, km or summaries"
        if survival
        else "`outcome` (required), `thresholds`, data of kind binary"
    )
    lines.append(f"* methods: {', '.join(f'`{m}`' for m in methods_of(name))}; reads {reads}")
    if name in GROUPED_MODELS and getattr(cls.__init__, "__kwdefaults__", {}).get("by", "") is None:
        lines.append("* `by`: grouping column (optional: without it each row is a unit)")
    elif name in GROUPED_MODELS:
        lines.append(f'* `by`: grouping column, default `"{GROUPED_MODELS[name]}"`')
    if survival:
        lines.append("* `reference_arm`: the arm hazard ratios are against")
    options = MODEL_OPTIONS[name]
    if options.model_fields:
        lines += ["", "Options (`options = {...}`):", "", *field_rows(options)]
    else:
        lines += ["", "No options."]
    priors = priors_class_of(name)
    lines += [
        "",
        f"Priors (`priors = {{...}}`, {priors.__name__}):",
        "",
        "| prior | default | meaning |",
        "|---|---|---|",
    ]
    default = priors()
    for prior_name, dist in default.items():
        lines.append(
            f"| `{prior_name}` | {dist.describe()} | {priors.MEANING.get(prior_name, '')} |"
        )
    alternatives = priors.alternatives()
    if alternatives:
        lines += [
            "",
            'Named sets (`priors = { set = "..." }`; refits of `sensitivity = true`): '
            + "; ".join(f"`{k}` ({v.describe()})" for k, v in alternatives.items())
            + ".",
        ]
    return [*lines, ""]


def _design_section() -> list[str]:
    """``[design]`` and its sub-tables (the report part "Designing the next trial")."""
    out = ["## `[design]`", "", _doc(DesignTable), "", *field_rows(DesignTable), ""]
    for key, table in (
        ("criteria", DesignCriterionTable),
        ("interim", DesignInterimTable),
        ("control", DesignControlTable),
    ):
        out += [f"### `{key}`", "", _doc(table), "", *field_rows(table), ""]
    out += [
        "Beyond the types: `analysis` names a `logit_normal` or `beta_binomial` analysis of the "
        "spec without `by`; one-sample thresholds are rates in (0, 1); interim patients are "
        "fewer than the arm's `n` and responders at most the patients; `target_rate` is for "
        "one-sample designs; a two-sample arm has at most 1000 patients. See docs/design.md.",
        "",
    ]
    return out


def reference_markdown() -> str:
    """The whole of ``docs/spec.md``."""
    from bayes_anlo.models import MODELS
    from bayes_anlo.models.priors import DISTRIBUTIONS

    out = [
        "# Analysis spec reference",
        "",
        "<!-- Generated by `python -m bayes_anlo.spec_reference docs/spec.md` from "
        "bayes_anlo/spec_schema.py; do not edit by hand (tests/report/test_spec.py checks it is "
        "current). -->",
        "",
        "A spec is a TOML file that `bayes-anlo run SPEC --out DIR` executes. It is checked "
        "completely before",
        "anything is fitted, and every problem is printed at once as `error: "
        "SPEC.toml:<table>:<key>: reason`",
        "(exit status 2): the table is `analysis`, `data`, `sampler`, `analyses[2]`, "
        "`analyses[2].options`,",
        "`analyses[2].priors.kappa` ...; list items are numbered from 1. The checks, in order:",
        "",
        '1. types and ranges of every key below (types are strict: `"5"` is not a number, `1` is '
        "not `true`;",
        "   numbers are finite; unknown keys are errors; tables and arrays nest at most"
        f" {MAX_NESTING} levels);",
        "2. what depends on the model: its methods, the keys its family reads, its options and "
        "priors, the",
        "   kind of data it analyses, that named datasets, files and audits exist;",
        "3. the data: every analysis's data are loaded and the columns, outcome or endpoint, rows "
        "left after",
        "   `where`/`exclude`, arms, subgroups, reference arm and published rows it names are "
        "checked",
        "   (`bayes_anlo.spec.check_spec_data`).",
        "",
        "## `[analysis]`",
        "",
        _doc(AnalysisMeta),
        "",
        *field_rows(AnalysisMeta),
        "",
        "## `[data]`",
        "",
        _doc(DataTable),
        "",
        *field_rows(DataTable),
        "",
        "## `[sampler]`",
        "",
        _doc(SamplerTable),
        "",
        *field_rows(SamplerTable),
        "",
        "## `[[analyses]]`",
        "",
        _doc(AnalysisTable),
        "",
        *field_rows(AnalysisTable),
        "",
        "### `published`",
        "",
        _doc(PublishedTable),
        "",
        *field_rows(PublishedTable),
        "",
        *_design_section(),
        "## Models",
        "",
        '`model = "..."` names one of the models below (`bayes_anlo.models.MODELS`).',
        "",
    ]
    for name in MODELS:
        out += _model_section(name)
    out += [
        "## Priors",
        "",
        'A prior is a table `{ dist = "<family>", <parameter> = <number>, ... }`; priors left out '
        "keep their",
        'default, and `set = "<name>"` starts from a named set. Families and parameters (PyMC\'s '
        "names):",
        "",
        "| dist | parameters |",
        "|---|---|",
    ]
    for family, cls in DISTRIBUTIONS.items():
        params = ", ".join(
            f"`{p}`" + (" > 0" if kind == "positive" else "") for p, kind in cls.PARAMS.items()
        )
        out.append(f"| `{family}` | {params} |")
    out += [
        "",
        f"Every parameter must be finite and within [-{PRIOR_PARAMETER_LIMIT:g}, "
        f"{PRIOR_PARAMETER_LIMIT:g}]; positive ones at least {1 / PRIOR_PARAMETER_LIMIT:g}. A "
        "prior must live on its parameter's support (a rate on (0, 1), a concentration or SD on "
        "(0, inf)).",
        "",
        "## Keys no longer accepted",
        "",
        "| key | why |",
        "|---|---|",
    ]
    for (table, key), reason in REMOVED_KEYS.items():
        where = f"`[{key}]`" if table == "" else f"`{key}` in `{table}`"
        out.append(f"| {where} | {reason} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    text = reference_markdown()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
