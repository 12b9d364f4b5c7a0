"""The typed schema of an analysis spec: every table, key, type and range, and the options of every
model.

The schema is written once, here, with :mod:`pydantic` models, and serves three purposes:

* :func:`bayes_anlo.spec.load_spec` validates a parsed TOML tree with it before anything is fitted;
* :func:`problems_from` turns pydantic's errors into the project's located problems
  (``SPEC.toml:<table>:<key>: reason``, e.g. ``analyses[2].sampler:draws: must be a positive
  integer (at most 100000), got 0``), all
  of them at once and never pydantic's own text;
* :mod:`bayes_anlo.spec_reference` renders ``docs/spec.md`` from it, so the documentation of the
  spec cannot drift from what is checked.

Model options (``options = {...}`` of an analysis) have one schema per model family, declared by
the family (``options_schema``, tables in :mod:`bayes_anlo.models.options`) and read through the
one registry, :mod:`bayes_anlo.models.registry` (:data:`MODEL_OPTIONS`, :data:`GROUPED_MODELS`,
:data:`SURVIVAL_MODELS` and the methods all come from it); the prior tables are checked by the prior
sets of :mod:`bayes_anlo.models.priors` (:func:`priors_class_of`), with the range limits of
:data:`PRIOR_PARAMETER_LIMIT` on top.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from bayes_anlo.errors import Problem

#: Kinds of data file an analysis reads: binary outcomes (events out of n), patient-level survival,
#: digitised Kaplan-Meier coordinates, published survival summaries.
DATA_KINDS = ("binary", "ipd", "km", "summaries")
#: Survival endpoints a survival analysis can name.
ENDPOINTS = ("PFS", "OS")
#: Largest absolute value of a prior parameter read from a spec, and smallest positive one: a
#: ``sigma = 1e300`` or ``alpha = 1e-300`` is a typo, not a belief, and breaks the samplers.
PRIOR_PARAMETER_LIMIT = 1e6

#: Deepest nesting of tables and arrays a spec may have (the deepest key, a prior parameter of an
#: analysis, is 4 levels down); deeper trees are refused before validation.
MAX_NESTING = 16

#: Keys that older specs accepted but nothing ever used: rejected with the reason.
REMOVED_KEYS = {
    (
        "analysis",
        "sources",
    ): "nothing ever read it; cite sources in `description` or in the data's `source` column",
    (
        "analyses",
        "frequentist",
    ): "nothing ever read it; the frequentist comparison is always computed where it is defined",
    (
        "",
        "report",
    ): "nothing ever read [report] (its only key, published_note, never reached the report); "
    "put notes in `description` or an analysis's `notes`",
}


@dataclass(frozen=True)
class DocType:
    """How the spec reference names a type the annotation cannot show (custom validators)."""

    text: str


def describe_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _selection_value(value: Any) -> str | list[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise PydanticCustomError(
        "selection",
        "must be text or a non-empty list of text, got {got}",
        {"got": describe_value(value)},
    )


def _text_or_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PydanticCustomError(
        "text_list", "must be text or a list of text, got {got}", {"got": describe_value(value)}
    )


def _thresholds(value: Any) -> tuple[float, ...]:
    if (
        isinstance(value, list)
        and len(value) <= 50
        and all(isinstance(t, int | float) and not isinstance(t, bool) and 0 < t < 1 for t in value)
    ):
        return tuple(float(t) for t in value)
    raise PydanticCustomError(
        "thresholds",
        "must be a list of numbers strictly between 0 and 1 (at most 50), got {got}",
        {"got": describe_value(value)},
    )


def auto_or_bool(value: Any) -> str | bool:
    if value == "auto" or isinstance(value, bool):
        return value
    raise PydanticCustomError(
        "auto_or_bool", 'must be true, false or "auto", got {got}', {"got": describe_value(value)}
    )


def cuts_value(value: Any) -> str | tuple[float, ...]:
    if value == "quantiles":
        return value
    bad = PydanticCustomError(
        "cuts",
        'must be "quantiles" or a list of months starting at 0, finite and strictly increasing, '
        "got {got}",
        {"got": describe_value(value)},
    )
    if not isinstance(value, list) or not value:
        raise bad
    if not all(
        isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c) for c in value
    ):
        raise bad
    if value[0] != 0 or any(b <= a for a, b in zip(value, value[1:], strict=False)):
        raise bad
    return tuple(float(c) for c in value)


#: A column -> value(s) table: keep (``where``) or drop (``exclude``) rows whose column equals one
#: of the values.
Selection = dict[
    str, Annotated[Any, PlainValidator(_selection_value), DocType("text or list of text")]
]
TextList = Annotated[Any, PlainValidator(_text_or_list), DocType("text or list of text")]
#: One line of text that is not blank: no line breaks, tabs or other control characters (a tab
#: in a title was drawn as a missing-glyph box), and something other than spaces.
OneLine = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
    ),
]
PositiveMonths = Annotated[float, Field(gt=0, le=1200)]


class Table(BaseModel):
    """Base of every spec table: unknown keys are errors, types are strict (``"5"`` is not 5, 1 is
    not true), numbers are finite."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class AnalysisMeta(Table):
    """``[analysis]``: what the re-analysis is (one per spec)."""

    name: OneLine = Field(description="short name of the re-analysis (report and run record)")
    title: OneLine | None = Field(None, description="title of the report (default: `name`)")
    description: str = Field("", max_length=20000, description="a paragraph for the report")
    seed: int = Field(1, ge=0, description="every random stream of the run derives from it")
    audit: TextList = Field(
        (),
        description="audits of the paper's printed numbers shown in the report: bundled "
        "audit names or extraction CSVs relative to the spec",
    )
    limitations: TextList = Field((), description="limitations listed in the report")
    figure_formats: list[Literal["png", "svg", "pdf"]] = Field(
        ["png"],
        min_length=1,
        description="formats of the publication figures (forest plots to paste into a paper; "
        "PDF with TrueType fonts embedded, about 1 s of CPU each); every figure is always "
        "written as PNG, which the report shows",
    )


class DataTable(Table):
    """``[data]`` (defaults for every analysis) and the same keys inside an analysis (overrides).

    Give exactly one of ``dataset`` or ``file`` (in ``[data]`` or in the analysis)."""

    dataset: OneLine | None = Field(None, description="a bundled dataset (`bayes-anlo datasets`)")
    file: OneLine | None = Field(None, description="a CSV file, relative to the spec")
    kind: Literal["binary", "ipd", "km", "summaries"] | None = Field(
        None,
        description="kind of the data: binary outcomes, patient-level survival, digitised KM "
        "coordinates, published survival summaries (default: binary for response-rate models, "
        "summaries for survival models)",
    )
    risk_table: OneLine | None = Field(
        None,
        description='numbers at risk of digitised curves (kind = "km" only), relative to the spec',
    )
    totals: OneLine | None = Field(
        None,
        description='total events and patients of digitised curves (kind = "km" '
        "only), relative to the spec",
    )


class SamplerTable(Table):
    """``[sampler]`` (NUTS settings for every analysis) and an analysis's ``sampler = {...}``
    (overrides)."""

    draws: int | None = Field(
        None, ge=1, le=100_000, description="draws per chain after tuning (default 1000)"
    )
    tune: int | None = Field(
        None, ge=1, le=100_000, description="tuning steps per chain (default 1000)"
    )
    chains: int | None = Field(None, ge=1, le=64, description="number of chains (default 4)")
    target_accept: float | None = Field(
        None, ge=0.5, lt=1, description="NUTS target acceptance rate (default 0.9)"
    )
    sampler: Literal["nutpie", "pymc"] | None = Field(
        None, description="NUTS implementation (default nutpie)"
    )

    def given(self) -> dict[str, Any]:
        """Only the settings the spec wrote."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class PublishedTable(Table):
    """An analysis's ``published = {...}``: the pooled results the paper printed, set beside the
    posterior."""

    dataset: OneLine = Field(
        description="a bundled dataset of kind published_pooled or published_tests"
    )
    where: Selection = Field(
        default_factory=dict, description="keep the rows whose column equals the value(s)"
    )


class AnalysisTable(Table):
    """One ``[[analyses]]`` table: one model fit (and its report section)."""

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = Field(
        description="unique; names tables and figures (letters, digits, _ and -)"
    )
    model: str = Field(description="model registry name (see Models below)")
    title: OneLine | None = Field(None, description="section title (default: the id)")
    outcome: OneLine | None = Field(
        None, description='binary outcome to analyse, e.g. "ORR" (response-rate models; required)'
    )
    endpoint: Literal["PFS", "OS"] | None = Field(
        None, description="survival endpoint (survival models; required)"
    )
    method: Literal["auto", "nuts", "exact"] = Field(
        "auto",
        description="auto: the model's exact engine (quadrature/conjugacy) where it has one and "
        "it applies to the data, NUTS otherwise; or force nuts or exact (survival models: nuts)",
    )
    by: OneLine | None = Field(
        None,
        description="grouping column (nested_beta_binomial: subgroups; two_arm: arms; exnex: "
        "subtypes with several studies each)",
    )
    where: Selection = Field(
        default_factory=dict, description="keep rows whose column equals the value(s)"
    )
    exclude: Selection = Field(
        default_factory=dict, description="drop rows whose column equals the value(s)"
    )
    thresholds: Annotated[
        Any, PlainValidator(_thresholds), DocType("list of numbers in (0, 1)")
    ] = Field((), description="report P(rate > t) for each t (response-rate models)")
    priors: Annotated[dict[str, Any], DocType("table of priors")] = Field(
        default_factory=dict, description="priors of the model (see Priors below)"
    )
    sensitivity: bool = Field(
        True, description="refit under the model's named alternative prior sets"
    )
    moderators: TextList = Field(
        (),
        description="study-level columns for a meta-regression beside a response-rate analysis: "
        "Bayesian logit-normal on all of them, frequentist rma(mods = ~ x) on each; implies "
        "compare_models",
    )
    compare_models: bool = Field(
        False,
        description="LOO comparison of the analysis's model with beta-binomial, logit-normal and "
        "complete pooling (and the meta-regression) fitted to the same studies",
    )
    published: PublishedTable | None = Field(
        None, description="printed pooled results to set beside the posterior"
    )
    notes: str = Field("", max_length=20000, description="shown in the report under the analysis")
    reference_arm: OneLine | None = Field(
        None,
        description="reference arm of a survival comparison (hazard ratios "
        "are against it; default: the first arm in the data)",
    )
    options: Annotated[dict[str, Any], DocType("table")] = Field(
        default_factory=dict, description="model options (see Models below)"
    )
    sampler: SamplerTable | None = Field(None, description="overrides [sampler] for this analysis")
    dataset: OneLine | None = Field(None, description="overrides [data]")
    file: OneLine | None = Field(None, description="overrides [data]")
    kind: Literal["binary", "ipd", "km", "summaries"] | None = Field(
        None, description="overrides [data]"
    )
    risk_table: OneLine | None = Field(None, description="overrides [data]")
    totals: OneLine | None = Field(None, description="overrides [data]")


class DesignCriterionTable(Table):
    """One criterion of the next trial's decision rule (all must hold): ``P(q > threshold) >
    probability`` (``greater``) or ``P(q < threshold) > probability`` (``less``), where ``q`` is
    the response rate (one sample) or the difference treatment minus control (two samples)."""

    threshold: float = Field(
        gt=-1, lt=1, description="rate (one sample, in (0, 1)) or difference (two samples)"
    )
    probability: float = Field(gt=0, lt=1, description="posterior probability to exceed")
    direction: Literal["greater", "less"] = Field("greater", description="side of the threshold")


class DesignInterimTable(Table):
    """Data already observed in an arm of the next trial (part of its ``n``)."""

    events: int = Field(ge=0, le=100_000, description="responders so far")
    patients: int = Field(ge=1, le=100_000, description="patients so far (fewer than the arm's n)")


class DesignControlTable(Table):
    """``[design.control]``: a concurrent control arm (makes the design two-sample; the MAP prior
    is then the treatment arm's)."""

    n: int = Field(ge=1, le=1000, description="control patients")
    a: float = Field(gt=0, le=1e6, description="control prior Beta(a, b): a")
    b: float = Field(gt=0, le=1e6, description="control prior Beta(a, b): b")
    interim: DesignInterimTable | None = Field(None, description="control data already observed")


class DesignTable(Table):
    """``[design]``: the report part "Designing the next trial" (bayes_anlo.design): the MAP
    prior of a new study's rate from one response-rate analysis of the spec, robustified, its
    effective sample size, the next trial's decision rule, boundary, operating characteristics
    and probability of success."""

    analysis: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = (
        Field(description="id of the analysis (logit_normal or beta_binomial) the MAP comes from")
    )
    title: OneLine | None = Field(None, description="what the next trial is (report prose)")
    n: int = Field(ge=1, le=10_000, description="patients of the next trial (treatment arm)")
    criteria: list[DesignCriterionTable] = Field(
        min_length=1, max_length=10, description="the decision rule: all criteria must hold"
    )
    robust_weight: float = Field(
        0.2, ge=0, lt=1, description="weight of the weakly informative component"
    )
    robust_mean: float = Field(
        0.5, gt=0, lt=1, description="mean of the weakly informative Beta(2m, 2(1-m))"
    )
    rates: Annotated[Any, PlainValidator(_thresholds), DocType("list of numbers in (0, 1)")] = (
        Field((), description="true rates of the operating characteristics (default 0.01-0.99)")
    )
    target_rate: float | None = Field(
        None, gt=0, lt=1, description="one sample: the rate the trial should detect (quoted)"
    )
    interim: DesignInterimTable | None = Field(
        None, description="data already observed in the next trial (predictive PoS)"
    )
    control: DesignControlTable | None = Field(None, description="a concurrent control arm")


class SpecFile(Table):
    """The whole spec file."""

    analysis: AnalysisMeta = Field(description="what the re-analysis is")
    data: DataTable = Field(default_factory=DataTable, description="default data of every analysis")
    sampler: SamplerTable = Field(
        default_factory=SamplerTable, description="NUTS settings of every analysis"
    )
    analyses: list[AnalysisTable] = Field(
        min_length=1, max_length=200, description="one table per model fit"
    )
    design: DesignTable | None = Field(None, description="designing the next trial")


# ------------------------------------------------------------------------------------------------
# model options: each family's table (bayes_anlo.models.options), listed by the registry
# ------------------------------------------------------------------------------------------------


def __getattr__(name: str):
    """``MODEL_OPTIONS``, ``GROUPED_MODELS`` and ``SURVIVAL_MODELS`` come from the model registry
    (:mod:`bayes_anlo.models.registry`), read when first asked for."""
    if name in ("MODEL_OPTIONS", "GROUPED_MODELS", "SURVIVAL_MODELS"):
        from bayes_anlo.models import registry

        return {
            "MODEL_OPTIONS": registry.option_schemas,
            "GROUPED_MODELS": registry.grouped_models,
            "SURVIVAL_MODELS": registry.survival_models,
        }[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def priors_class_of(model: str):
    """The prior set class of a registered model."""
    from bayes_anlo.models.registry import family

    return family(model).priors_class


def methods_of(model: str) -> tuple[str, ...]:
    """Fitting methods a registered model offers (``method = "auto"`` chooses among them)."""
    from bayes_anlo.models.registry import family

    return family(model).methods


# ------------------------------------------------------------------------------------------------
# pydantic errors -> located problems
# ------------------------------------------------------------------------------------------------


def _unwrap(annotation):
    """The table class (or None) an annotation leads to, through Optional, list and dict."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _unwrap(arg)
            if found is not None:
                return found
    return None


def _table_at(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    current: type[BaseModel] | None = root
    for step in loc:
        if current is None:
            return None
        if isinstance(step, int):
            continue
        field = current.model_fields.get(step)
        if field is None:
            return None
        annotation = field.annotation
        if typing.get_origin(annotation) is list:
            annotation = typing.get_args(annotation)[0]
        current = _unwrap(annotation)
    return current


def location(loc: tuple, prefix: str = "") -> tuple[str, str | None]:
    """``("analyses", 0, "sampler", "draws")`` -> ``("analyses[1].sampler", "draws")``: the table
    path (list items numbered from 1, as an editor shows them) and the key."""
    parts: list[str] = [prefix] if prefix else []
    for step in loc:
        if isinstance(step, int):
            if parts:
                parts[-1] += f"[{step + 1}]"
            else:
                parts.append(f"[{step + 1}]")
        else:
            parts.append(str(step))
    if not parts:
        return "(top level)", None
    if len(parts) == 1:
        return ("(top level)", parts[0]) if not prefix else (parts[0], None)
    return ".".join(parts[:-1]), parts[-1]


_MESSAGES = {
    "missing": "required key is missing",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "finite_number": "must be a finite number",
    "string_pattern_mismatch": "has characters not allowed here",
    "int_from_float": "must be an integer",
}


def _message(error: dict, root: type[BaseModel]) -> str:
    kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        table = _table_at(root, tuple(error["loc"][:-1]))
        fields = list(table.model_fields) if table is not None else []
        allowed = ", ".join(fields) if fields else "none"
        key = error["loc"][-1] if error["loc"] else None
        close = (
            difflib.get_close_matches(key, fields, n=1, cutoff=0.75) if isinstance(key, str) else []
        )
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"unknown key; {hint}allowed here: {allowed}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        loc = tuple(error["loc"])
        item = bool(loc) and isinstance(loc[-1], int)  # an element of a list field
        name_loc = loc[:-1] if item else loc
        table = _table_at(root, name_loc[:-1])
        field = table.model_fields.get(name_loc[-1]) if table is not None and name_loc else None
        if field is not None and not item:
            return f"must be {range_text(field)}, got {describe_value(given)}"
        if field is not None and typing.get_origin(field.annotation) is list:
            element = typing.get_args(field.annotation)[0]
            if typing.get_origin(element) is Annotated:
                base, *metadata = typing.get_args(element)
                return (
                    f"must be {range_text(metadata, integer=base is int)}, got "
                    f"{describe_value(given)}"
                )
        op = {
            "greater_than": ">",
            "greater_than_equal": ">=",
            "less_than": "<",
            "less_than_equal": "<=",
        }[kind]
        return f"must be {op} {next(iter(ctx.values())):g}, got {describe_value(given)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}, got {describe_value(given)}"
    if kind in ("string_too_short", "too_short"):
        return (
            f"needs at least {ctx.get('min_length', 1)} "
            f"{'character' if kind.startswith('string') else 'item'}(s)"
            + (
                ""
                if kind.startswith("string")
                else f", got {len(given) if hasattr(given, '__len__') else given}"
            )
        )
    if kind in ("string_too_long", "too_long"):
        return (
            f"is too long (at most {ctx.get('max_length')} "
            f"{'characters' if kind.startswith('string') else 'items'})"
        )
    if kind == "string_pattern_mismatch" and error["loc"][-1] == "id":
        return f"{describe_value(given)} must contain only letters, digits, '_' and '-'"
    if kind == "string_pattern_mismatch":
        return "must be one line of text, not blank (no line breaks, tabs or control characters)"
    if kind in _MESSAGES:
        return _MESSAGES[kind] + ("" if kind == "missing" else f", got {describe_value(given)}")
    if kind in ("selection", "text_list", "cuts", "arms", "thresholds", "auto_or_bool"):
        return error["msg"]
    # a type this module does not name: stay short, no pydantic text
    return f"invalid value {describe_value(given)}"


def bounds(metadata) -> dict[str, float]:
    """The numeric bounds (``ge``, ``gt``, ``le``, ``lt``) in a field's or type's metadata."""
    out = {}
    for meta in metadata:
        if isinstance(getattr(meta, "metadata", None), list):  # a Field(...) inside Annotated
            out.update(bounds(meta.metadata))
        for name in ("ge", "gt", "le", "lt"):
            if getattr(meta, name, None) is not None:
                out[name] = getattr(meta, name)
    return out


def range_text(field, integer: bool | None = None) -> str:
    """``a positive integer (at most 64)``, ``a number in [0.5, 1)``, ``a number > 0`` for a field
    (or a list of metadata, with ``integer`` saying whether the type is int)."""
    if isinstance(field, list | tuple):
        b = bounds(field)
    else:
        metadata, base = list(field.metadata), _unwrap_type(field.annotation)
        if (
            typing.get_origin(base) is Annotated
        ):  # bounds inside an optional type (``PositiveMonths | None``)
            base, *inner = typing.get_args(base)
            metadata += inner
        b = bounds(metadata)
        integer = base is int
    upper = b.get("le", b.get("lt"))
    if integer and b.get("ge") == 1:
        return "a positive integer" + (f" (at most {upper:g})" if upper is not None else "")
    noun = "an integer" if integer else "a number"
    lower = b.get("ge", b.get("gt"))
    if lower is not None and upper is not None:
        return (
            f"{noun} in {'[' if 'ge' in b else '('}{lower:g}, {upper:g}{']' if 'le' in b else ')'}"
        )
    if lower is not None:
        return f"{noun} {'>=' if 'ge' in b else '>'} {lower:g}"
    if upper is not None:
        return f"{noun} {'<=' if 'le' in b else '<'} {upper:g}"
    return noun


def _unwrap_type(annotation):
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return (
        args[0]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1
        else annotation
    )


def problems_from(
    error: ValidationError, *, file: str, root: type[BaseModel], prefix: str = ""
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, located as ``table path : key`` (the schema has no
    unions that pydantic would report once per alternative; a repeated location is kept once)."""
    problems: list[Problem] = []
    seen: set[tuple] = set()
    for e in error.errors(include_url=False):
        loc = tuple(e["loc"])
        if loc in seen:
            continue
        seen.add(loc)
        row, column = location(loc, prefix)
        problems.append(Problem(file, row, column, _message(e, root)))
    return problems
