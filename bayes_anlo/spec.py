"""Analysis specifications: TOML files in ``models/`` that ``bayes-anlo run`` executes.

A spec is data, never code: it is parsed with :mod:`tomllib` and checked in three passes, all
before anything is fitted, and every problem of every pass is reported together as
``SPEC.toml:<table>:<key>: reason`` (exit status 2 in the CLI):

1. the typed schema of :mod:`bayes_anlo.spec_schema` (every table, key, type and range; unknown
   keys are errors, so a typo never falls back to a default);
2. checks that need the model registry: the model exists, its method, the keys its family takes
   (``outcome`` and ``thresholds`` for response rates, ``endpoint`` for survival), its options
   (one schema per model), its priors (the model's prior set, with finite, sensible ranges), the
   data reference (exactly one of ``dataset``/``file``, the kind of data the model reads, files
   that exist) and the audits;
3. :func:`check_spec_data`: every analysis's data is loaded and the columns, values and model
   options it names are checked against it (``where``/``exclude``/``by`` columns, the outcome or
   endpoint, rows left after selection, the arms of a two-arm model, the published rows, the
   survival model's inputs).

The reference of every key, generated from the schema, is ``docs/spec.md``. A minimal spec::

    [analysis]
    name = "sarcoma_meta_analysis"
    seed = 20251122

    [data]
    dataset = "sarcoma_literature_abstracts"

    [[analyses]]
    id = "orr"
    outcome = "ORR"
    model = "beta_binomial"
    thresholds = [0.10, 0.20]
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bayes_anlo.errors import InputError, Problem
from bayes_anlo.spec_schema import (
    DATA_KINDS,
    GROUPED_MODELS,
    MAX_NESTING,
    MODEL_OPTIONS,
    PRIOR_PARAMETER_LIMIT,
    REMOVED_KEYS,
    SURVIVAL_MODELS,
    AnalysisMeta,
    AnalysisTable,
    DataTable,
    DesignTable,
    SamplerTable,
    SpecFile,
    methods_of,
    priors_class_of,
    problems_from,
)

__all__ = [
    "DATA_KINDS",
    "SURVIVAL_MODELS",
    "AnalysisEntry",
    "DataRef",
    "Spec",
    "check_spec_data",
    "load_spec",
    "read_spec_toml",
]

#: Dataset kinds (bayes_anlo.datasets) each kind of analysis data can come from.
_DATASET_KINDS = {"binary": "binary", "summaries": "survival_summary"}
#: Dataset kinds that hold published results (``published = {dataset = ...}``).
_PUBLISHED_KINDS = ("published_pooled", "published_tests")
#: Keys of an analysis that are sometimes written inside ``options`` by mistake.
_ANALYSIS_KEYS_NOT_OPTIONS = (
    "endpoint",
    "outcome",
    "by",
    "method",
    "priors",
    "thresholds",
    "sampler",
    "reference_arm",
    "kind",
)


@dataclass(frozen=True)
class DataRef:
    """Where an analysis takes its data: a bundled dataset name or a CSV path, and its kind."""

    dataset: str | None = None
    file: Path | None = None
    #: "binary", "ipd" (patient-level survival), "km" (digitised KM coordinates) or "summaries"
    kind: str = "binary"
    #: numbers at risk and totals of digitised KM curves (kind = "km" only), resolved paths
    risk_table: Path | None = None
    totals: Path | None = None

    def describe(self) -> str:
        return f"dataset {self.dataset!r}" if self.dataset else f"file {self.file}"


@dataclass(frozen=True)
class AnalysisEntry:
    """One model fit in a spec (one ``[[analyses]]`` table), validated."""

    id: str
    model: str
    data: DataRef
    title: str = ""
    outcome: str | None = None
    endpoint: str | None = None
    method: str = "auto"
    by: str | None = None
    where: dict[str, Any] = field(default_factory=dict)
    exclude: dict[str, Any] = field(default_factory=dict)
    thresholds: tuple[float, ...] = ()
    priors: dict[str, Any] = field(default_factory=dict)
    sensitivity: bool = True
    published: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    sampler: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    reference_arm: str | None = None
    #: study-level columns of a meta-regression beside the analysis (response-rate models)
    moderators: tuple[str, ...] = ()
    #: LOO comparison with the other response-rate models on the same studies
    compare_models: bool = False
    #: where the entry is in its spec ("analyses[2]"), for located problems
    location: str = ""


@dataclass(frozen=True)
class Spec:
    """A parsed, validated analysis specification."""

    path: Path
    name: str
    title: str
    description: str
    seed: int
    sampler: dict[str, Any]
    analyses: tuple[AnalysisEntry, ...]
    limitations: tuple[str, ...] = ()
    audits: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)
    #: the validated ``[design]`` table (:class:`~bayes_anlo.spec_schema.DesignTable`), if any
    design: Any = None
    #: formats of the publication figures ("png" always among them; ``[analysis] figure_formats``)
    figure_formats: tuple[str, ...] = ("png",)

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------


def read_spec_toml(path: Path) -> dict:
    """The parsed TOML tree of a spec; every failure (missing, a directory, not UTF-8, not TOML,
    nested too deep) is an :class:`InputError` located by line (and column) where possible."""
    file = str(path)
    if not path.exists():
        raise InputError(Problem(file, None, None, "spec file does not exist"))
    if path.is_dir():
        raise InputError(Problem(file, None, None, "is a directory, expected a .toml spec"))
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            Problem(file, line, None, f"is not UTF-8 text (byte {exc.start})")
        ) from None
    try:
        tree = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(where.group(1)), where.group(2)) if where else (None, None)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise InputError(Problem(file, line, column, f"not valid TOML: {message}")) from None
    except RecursionError:
        raise InputError(
            Problem(
                file, None, None, "not valid TOML for a spec: tables or arrays nested too deeply"
            )
        ) from None
    deep = _too_deep(tree)
    if deep is not None:
        row, key = deep
        raise InputError(
            Problem(
                file,
                row,
                key,
                f"nested more than {MAX_NESTING} levels deep; no spec key needs that",
            )
        )
    return tree


def _too_deep(tree: dict) -> tuple[str, str] | None:
    """(table path, key) of the first value nested deeper than :data:`MAX_NESTING`, or None
    (iterative, so that a deep tree cannot exhaust the stack)."""
    stack: list[tuple[Any, list]] = [(tree, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_NESTING:
            names = []
            for step in path:
                if isinstance(step, int) and names:
                    names[-1] += f"[{step + 1}]"
                else:
                    names.append(str(step))
            head = names[:2] if len(names) > 2 else names[:1]
            key = names[len(head)] if len(names) > len(head) else ""
            return ".".join(head), key if len(key) <= 40 else key[:37] + "..."
        if isinstance(value, dict):
            stack.extend((v, [*path, k]) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(value))
    return None


def _pop_removed_keys(raw: dict, file: str, problems: list[Problem]) -> dict:
    """Drop (and report) the keys older specs accepted but nothing used (:data:`REMOVED_KEYS`)."""
    raw = dict(raw)
    for (table, key), reason in REMOVED_KEYS.items():
        if table == "" and key in raw:
            problems.append(Problem(file, "(top level)", key, f"no longer accepted: {reason}"))
            del raw[key]
        elif (
            table == "analysis" and isinstance(raw.get("analysis"), dict) and key in raw["analysis"]
        ):
            problems.append(Problem(file, "analysis", key, f"no longer accepted: {reason}"))
            raw["analysis"] = {k: v for k, v in raw["analysis"].items() if k != key}
        elif table == "analyses" and isinstance(raw.get("analyses"), list):
            entries = []
            for i, entry in enumerate(raw["analyses"], start=1):
                if isinstance(entry, dict) and key in entry:
                    problems.append(
                        Problem(file, f"analyses[{i}]", key, f"no longer accepted: {reason}")
                    )
                    entry = {k: v for k, v in entry.items() if k != key}
                entries.append(entry)
            raw["analyses"] = entries
    return raw


def _validate(cls: type[BaseModel], value: Any, file: str, prefix: str, problems: list[Problem]):
    """``cls.model_validate(value)`` or None, with the problems added (located under ``prefix``)."""
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        problems.extend(problems_from(exc, file=file, root=cls, prefix=prefix))
        return None


def _quiet(cls: type[BaseModel], value: Any):
    try:
        return cls.model_validate(value)
    except ValidationError:
        return None


# ------------------------------------------------------------------------------------------------
# pass 2: what needs the model registry, bundled names and the file system
# ------------------------------------------------------------------------------------------------


def _check_priors(model: str, priors: dict, file: str, where: str) -> list[Problem]:
    """The model's own prior set reads the table (unknown priors, distributions, parameters,
    supports); on top, every parameter must lie within +-PRIOR_PARAMETER_LIMIT and positive ones
    above 1/PRIOR_PARAMETER_LIMIT."""
    cls = priors_class_of(model)
    try:
        prior_set = cls.from_dict(priors, source=file, path=f"{where}.priors")
    except InputError as exc:
        return list(exc.problems)
    except ArithmeticError:  # e.g. a lognormal's exp(mu) overflowing while its support is checked
        names = [name for name in priors if _overflows(cls, name, priors[name])] or [None]
        return [
            Problem(
                file,
                f"{where}.priors",
                name,
                "parameters overflow floating-point arithmetic "
                "(e.g. exp(mu) of a lognormal); give values of a sensible size",
            )
            for name in names
        ]
    problems = []
    for name, dist in prior_set.items():
        if name not in priors:
            continue
        for param, value in dist.params().items():
            positive = dist.PARAMS[param] == "positive"
            if abs(value) > PRIOR_PARAMETER_LIMIT or (
                positive and value < 1 / PRIOR_PARAMETER_LIMIT
            ):
                allowed = (
                    f"[{1 / PRIOR_PARAMETER_LIMIT:g}, {PRIOR_PARAMETER_LIMIT:g}]"
                    if positive
                    else f"[{-PRIOR_PARAMETER_LIMIT:g}, {PRIOR_PARAMETER_LIMIT:g}]"
                )
                problems.append(
                    Problem(
                        file,
                        f"{where}.priors.{name}",
                        param,
                        f"{value:g} is outside the sensible range {allowed} of a prior parameter",
                    )
                )
    return problems


def _overflows(cls, name: str, prior) -> bool:
    try:
        cls.from_dict({name: prior})
    except ArithmeticError:
        return True
    except InputError:
        return False
    return False


def _check_options(
    model: str, options: dict, file: str, where: str
) -> tuple[list[Problem], BaseModel | None]:
    problems = []
    options = dict(options)
    for key in _ANALYSIS_KEYS_NOT_OPTIONS:
        if key in options:
            problems.append(
                Problem(
                    file,
                    f"{where}.options",
                    key,
                    f"`{key}` is a key of the analysis itself, not a model option: write it beside "
                    "`model`",
                )
            )
            del options[key]
    schema = MODEL_OPTIONS[model]
    parsed = _validate(schema, options, file, f"{where}.options", problems)
    return problems, parsed


def _data_ref(
    entry: AnalysisTable,
    default: DataTable,
    spec_dir: Path,
    file: str,
    where: str,
    problems: list[Problem],
) -> DataRef | None:
    """The entry's data reference: its own ``dataset``/``file`` (with its own kind, risk table and
    totals) or else those of ``[data]``; checked against the model's family and the file system."""
    from bayes_anlo import datasets

    own = entry.dataset is not None or entry.file is not None
    source = entry if own else default
    dataset, data_file = source.dataset, source.file
    kind = (
        entry.kind or source.kind or ("summaries" if entry.model in SURVIVAL_MODELS else "binary")
    )
    risk_table = entry.risk_table or source.risk_table
    totals = entry.totals or source.totals
    n = len(problems)
    if (dataset is None) == (data_file is None):
        problems.append(
            Problem(
                file,
                where,
                "dataset",
                "give exactly one of `dataset` or `file` (here or in [data])",
            )
        )
    survival = entry.model in SURVIVAL_MODELS
    if (kind == "binary") == survival:
        wanted = "ipd, km or summaries" if survival else "binary"
        problems.append(
            Problem(
                file,
                where,
                "kind",
                f"model {entry.model!r} reads {wanted} data, not kind = {kind!r}",
            )
        )
    if dataset is not None:
        if dataset not in datasets.names():
            problems.append(
                Problem(
                    file,
                    where,
                    "dataset",
                    f"unknown dataset {dataset!r}; see `bayes-anlo datasets` "
                    f"({', '.join(datasets.names())})",
                )
            )
        else:
            held = datasets.info(dataset)["kind"]
            if _DATASET_KINDS.get(kind) != held:
                need = "binary" if kind == "binary" else f"kind = {kind!r}"
                problems.append(
                    Problem(
                        file,
                        where,
                        "dataset",
                        f"dataset {dataset!r} holds {held} data; model {entry.model!r} with {need} "
                        f"needs {_DATASET_KINDS.get(kind, 'a file of ' + kind)} data",
                    )
                )
    resolved: dict[str, Path | None] = {"file": None, "risk_table": None, "totals": None}
    for key, value in (("file", data_file), ("risk_table", risk_table), ("totals", totals)):
        if value is None:
            continue
        if key != "file" and kind != "km":
            problems.append(
                Problem(
                    file, where, key, f'only with kind = "km" (this analysis reads kind = {kind!r})'
                )
            )
            continue
        resolved[key] = (spec_dir / value).resolve()
        if not resolved[key].is_file():
            what = "data file" if key == "file" else f"{key.replace('_', ' ')} file"
            problems.append(
                Problem(
                    file, where, key, f"{what} {value!r} does not exist (looked in {resolved[key]})"
                )
            )
    if len(problems) > n:
        return None
    return DataRef(
        dataset=dataset,
        file=resolved["file"],
        kind=kind,
        risk_table=resolved["risk_table"],
        totals=resolved["totals"],
    )


def _check_entry(
    entry: AnalysisTable, known_models: set[str], file: str, where: str
) -> list[Problem]:
    """Model-dependent keys of one analysis (all but its data reference)."""
    from bayes_anlo import datasets

    problems: list[Problem] = []
    if entry.model not in known_models:
        return [
            Problem(
                file,
                where,
                "model",
                f"unknown model {entry.model!r}; known: {', '.join(sorted(known_models))}",
            )
        ]
    survival = entry.model in SURVIVAL_MODELS
    if entry.method != "auto" and entry.method not in methods_of(entry.model):
        problems.append(
            Problem(
                file,
                where,
                "method",
                f"model {entry.model!r} is fitted by "
                f"{' or '.join(methods_of(entry.model))}, not {entry.method!r}",
            )
        )
    if survival:
        if entry.endpoint is None:
            problems.append(
                Problem(
                    file, where, "endpoint", f'required for model {entry.model!r} ("PFS" or "OS")'
                )
            )
        for key in ("outcome", "thresholds"):
            if key in entry.model_fields_set:
                problems.append(
                    Problem(file, where, key, f"not used by survival model {entry.model!r}")
                )
    else:
        if entry.outcome is None:
            problems.append(
                Problem(file, where, "outcome", f'required for model {entry.model!r} (e.g. "ORR")')
            )
        if entry.endpoint is not None:
            problems.append(
                Problem(
                    file,
                    where,
                    "endpoint",
                    f"only for survival models; model {entry.model!r} reads `outcome`",
                )
            )
    if entry.by is not None and entry.model not in GROUPED_MODELS:
        problems.append(
            Problem(
                file,
                where,
                "by",
                f"model {entry.model!r} takes no grouping column "
                f"(only {', '.join(GROUPED_MODELS)} do)",
            )
        )
    if entry.reference_arm is not None and not survival:
        hint = (
            " (two_arm: order the arms with options.arms = [p1, p2])"
            if entry.model == "two_arm"
            else ""
        )
        problems.append(Problem(file, where, "reference_arm", f"only for survival models{hint}"))
    option_problems, options = _check_options(entry.model, entry.options, file, where)
    problems.extend(option_problems)
    if entry.priors:
        problems.extend(_check_priors(entry.model, entry.priors, file, where))
    p_prior = entry.priors.get("p") if isinstance(entry.priors.get("p"), dict) else {}
    if (
        entry.method == "exact"
        and entry.model == "complete_pooling"
        and p_prior.get("dist", "beta") != "beta"
    ):
        problems.append(
            Problem(file, f"{where}.priors.p", "dist", 'method = "exact" needs a beta prior on p')
        )
    if (
        entry.method == "exact"
        and entry.model == "two_arm"
        and options is not None
        and options.hierarchical is True
    ):
        problems.append(
            Problem(
                file,
                f"{where}.options",
                "hierarchical",
                'method = "exact" covers independent arms only (hierarchical = false or "auto")',
            )
        )
    if entry.published is not None:
        name = entry.published.dataset
        if name not in datasets.names():
            problems.append(
                Problem(file, f"{where}.published", "dataset", f"unknown dataset {name!r}")
            )
        elif datasets.info(name)["kind"] not in _PUBLISHED_KINDS:
            problems.append(
                Problem(
                    file,
                    f"{where}.published",
                    "dataset",
                    f"dataset {name!r} holds {datasets.info(name)['kind']} data, not published "
                    f"results ({' or '.join(_PUBLISHED_KINDS)})",
                )
            )
    return problems


def _audits(
    meta: AnalysisMeta, spec_dir: Path, file: str, problems: list[Problem]
) -> tuple[str, ...]:
    from bayes_anlo.audit import list_bundled_audits

    resolved = []
    for audit in meta.audit:
        if audit in list_bundled_audits():
            resolved.append(audit)
        elif (spec_dir / audit).is_file():
            resolved.append(str((spec_dir / audit).resolve()))
        else:
            problems.append(
                Problem(
                    file,
                    "analysis",
                    "audit",
                    f"{audit!r} is neither a bundled audit "
                    f"({', '.join(list_bundled_audits())}) nor an existing file",
                )
            )
    return tuple(resolved)


def _entry(table: AnalysisTable, ref: DataRef, where: str) -> AnalysisEntry:
    by = table.by if table.by is not None else None
    return AnalysisEntry(
        id=table.id,
        model=table.model,
        data=ref,
        title=table.title or table.id,
        outcome=table.outcome,
        endpoint=table.endpoint,
        method=table.method,
        by=by,
        where=dict(table.where),
        exclude=dict(table.exclude),
        thresholds=tuple(table.thresholds),
        priors=dict(table.priors),
        sensitivity=table.sensitivity,
        published=table.published.model_dump() if table.published is not None else {},
        options=dict(table.options),
        sampler=table.sampler.given() if table.sampler is not None else {},
        notes=table.notes,
        reference_arm=table.reference_arm,
        moderators=tuple(table.moderators),
        compare_models=bool(table.compare_models or table.moderators),
        location=where,
    )


# ------------------------------------------------------------------------------------------------
# the entry points
# ------------------------------------------------------------------------------------------------


def load_spec(
    path: str | Path, *, known_models: set[str] | None = None, check_data: bool = True
) -> Spec:
    """Parse and validate a TOML spec; raise one :class:`InputError` listing every problem.

    In spec errors the "row" is the TOML table (e.g. ``analyses[2].sampler``) and the column is
    the key. With ``check_data`` (the default) the data of every analysis are loaded and checked
    too (:func:`check_spec_data`), so a spec that loads can be fitted without an input error.
    """
    path = Path(path)
    file = str(path)
    raw = read_spec_toml(path)
    if known_models is None:
        from bayes_anlo.models import MODELS

        known_models = set(MODELS)
    problems: list[Problem] = []
    raw = _pop_removed_keys(raw, file, problems)
    raw.setdefault("analysis", {})  # an empty file: report the missing name, not a missing table
    _validate(SpecFile, raw, file, "", problems)  # pass 1: every type and range in the file
    meta = _quiet(AnalysisMeta, raw.get("analysis"))
    default_data = _quiet(DataTable, raw.get("data", {}))
    sampler = _quiet(SamplerTable, raw.get("sampler", {}))
    entries_raw = raw.get("analyses") if isinstance(raw.get("analyses"), list) else []
    spec_dir = path.parent
    audits = _audits(meta, spec_dir, file, problems) if meta is not None else ()
    entries: list[AnalysisEntry] = []
    seen: set[str] = set()
    for i, entry_raw in enumerate(entries_raw, start=1):
        where = f"analyses[{i}]"
        table = _quiet(AnalysisTable, entry_raw)
        if table is None:
            continue  # its problems came from pass 1
        if table.id in seen:
            problems.append(Problem(file, where, "id", f"duplicate analysis id {table.id!r}"))
        seen.add(table.id)
        entry_problems = _check_entry(table, known_models, file, where)
        ref = None
        if table.model in known_models and default_data is not None:
            ref = _data_ref(table, default_data, spec_dir, file, where, entry_problems)
        problems.extend(entry_problems)
        if not entry_problems and ref is not None:
            entries.append(_entry(table, ref, where))
    design = _quiet(DesignTable, raw.get("design")) if raw.get("design") is not None else None
    if design is not None:
        from bayes_anlo.design.spec_checks import design_problems

        tables = {
            e["id"]: _quiet(AnalysisTable, e)
            for e in entries_raw
            if isinstance(e, dict) and isinstance(e.get("id"), str)
        }
        problems.extend(design_problems(design, tables, file))
    if check_data and entries:
        from bayes_anlo.spec_data import data_problems

        problems.extend(data_problems(entries, file))
    if problems:
        raise InputError(problems)
    assert meta is not None and sampler is not None  # no problems: pass 1 accepted both
    return Spec(
        path=path,
        name=meta.name,
        title=meta.title or meta.name,
        description=meta.description,
        seed=meta.seed,
        sampler=sampler.given(),
        analyses=tuple(entries),
        limitations=tuple(meta.limitations),
        audits=audits,
        raw=raw,
        design=design,
        figure_formats=tuple(dict.fromkeys(["png", *meta.figure_formats])),
    )


def check_spec_data(spec: Spec) -> None:
    """Load every analysis's data and check what the spec says about it; raise one
    :class:`InputError` with every problem (see :mod:`bayes_anlo.spec_data`).

    :func:`load_spec` calls it unless ``check_data=False``."""
    from bayes_anlo.spec_data import data_problems

    problems = data_problems(list(spec.analyses), str(spec.path))
    if problems:
        raise InputError(problems)
