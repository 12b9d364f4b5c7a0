"""Analysis specifications: TOML files in ``models/`` that ``bayes-anlo run`` executes.

A spec is data, never code: it is parsed with :mod:`tomllib`, every key is checked against the
schema below, and unknown keys are errors (a typo must not silently fall back to a default).

::

    [analysis]
    name = "sarcoma_meta_analysis"          # used for the run directory and report title
    title = "..."                           # one line
    description = "..."                     # a paragraph for the report
    seed = 20251122                         # every random stream derives from it
    audit = ["npc_qin2025"]                 # audits of the paper's printed numbers (bundled names
                                            # or extraction CSVs relative to the spec) for the report

    [data]                                  # default data for every analysis below
    dataset = "sarcoma_literature_abstracts"  # a bundled dataset (bayes-anlo datasets) ...
    # file = "my_studies.csv"               # ... or a CSV, relative to the spec file
    # kind = "summaries"                    # what the file holds: "binary", "ipd" (patient data),
                                            # "km" (digitised Kaplan-Meier coordinates) or
                                            # "summaries" (published medians, landmarks, counts);
                                            # default: "binary" for binary models, and for
                                            # survival models read from the file's header
    # risk_table = "numbers_at_risk.csv"    # kind = "km" only: numbers at risk under the plot
    # totals = "totals.csv"                 # kind = "km" only: total events (and patients) per curve

    [sampler]                               # optional NUTS settings
    draws = 1000
    tune = 1000
    chains = 4
    target_accept = 0.9

    [[analyses]]                            # one model fit each
    id = "orr"                              # unique; names tables and figures
    title = "Objective response rate"
    outcome = "ORR"
    model = "beta_binomial"                 # see bayes_anlo.models.MODELS
    method = "nuts"                         # or "exact" where the model has it
    by = "subgroup"                         # grouping column (nested model; two_arm: arm column)
    where = { line = "second line" }        # keep rows whose column equals the value(s)
    exclude = { study = ["S03_LiuJ2018"] }  # drop rows whose column equals the value(s)
    thresholds = [0.10, 0.20]               # report P(rate > t)
    priors = { mu = { dist = "beta", alpha = 1, beta = 1 } }
    sensitivity = true                      # refit under the model's alternative priors
    published = { dataset = "...", where = { outcome = "ORR" } }  # printed pooled results
    notes = "..."                           # shown in the report under the analysis
    reference_arm = "placebo"               # survival: hazard ratios are "<arm> vs placebo"
                                            # (default: the first arm in sorted order, as R's
                                            # factor levels; never the order of the rows)
    # dataset/file/kind/risk_table/totals may also be given per analysis; an analysis that names
    # its own dataset or file takes none of these keys from [data]
    sampler = { target_accept = 0.99 }      # overrides [sampler] for this analysis
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayes_anlo.errors import InputError, Problem

_TOP_KEYS = {"analysis", "data", "sampler", "analyses", "report"}
_ANALYSIS_META_KEYS = {"name", "title", "description", "seed", "sources", "limitations", "audit"}
_DATA_KEYS = {"dataset", "file", "kind", "risk_table", "totals"}
#: What a data file holds (``kind``); survival models take the last three.
DATA_KINDS = ("binary", "ipd", "km", "summaries")
_SAMPLER_KEYS = {"draws", "tune", "chains", "target_accept", "sampler"}
_REPORT_KEYS = {"published_note"}
_ENTRY_KEYS = {
    "id", "title", "outcome", "endpoint", "model", "method", "by", "where", "exclude", "thresholds",
    "priors", "sensitivity", "published", "notes", "dataset", "file", "options", "frequentist", "sampler",
    "kind", "risk_table", "totals", "reference_arm",
}
_PUBLISHED_KEYS = {"dataset", "where"}


@dataclass(frozen=True)
class DataRef:
    """Where an analysis takes its data: a bundled dataset name or a CSV path, what it holds
    (``kind``: one of :data:`DATA_KINDS`, None = decided by the model and the file's header) and,
    for digitised curves, the numbers at risk and the totals."""

    dataset: str | None = None
    file: Path | None = None
    kind: str | None = None
    risk_table: Path | None = None
    totals: Path | None = None

    def describe(self) -> str:
        return f"dataset {self.dataset!r}" if self.dataset else f"file {self.file}"


@dataclass(frozen=True)
class AnalysisEntry:
    """One model fit in a spec (one ``[[analyses]]`` table)."""

    id: str
    model: str
    data: DataRef
    title: str = ""
    outcome: str | None = None
    endpoint: str | None = None
    method: str = "nuts"
    by: str | None = None
    where: dict[str, Any] = field(default_factory=dict)
    exclude: dict[str, Any] = field(default_factory=dict)
    thresholds: tuple[float, ...] = ()
    priors: dict[str, Any] = field(default_factory=dict)
    sensitivity: bool = True
    frequentist: bool = True
    published: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    sampler: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    reference_arm: str | None = None


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

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def _unknown(problems: list[Problem], file: str, where: str, given: dict, allowed: set[str]) -> None:
    for key in given:
        if key not in allowed:
            problems.append(
                Problem(file, where, key, f"unknown key; allowed here: {', '.join(sorted(allowed))}")
            )


def _check_sampler(sampler: dict, file: str, where: str) -> list[Problem]:
    problems: list[Problem] = []
    _unknown(problems, file, where, sampler, _SAMPLER_KEYS)
    for key in ("draws", "tune", "chains"):
        if key in sampler and (not isinstance(sampler[key], int) or isinstance(sampler[key], bool) or sampler[key] < 1):
            problems.append(Problem(file, where, key, f"must be a positive integer, got {sampler[key]!r}"))
    if "target_accept" in sampler and not (
        isinstance(sampler["target_accept"], int | float) and 0.5 <= sampler["target_accept"] < 1
    ):
        problems.append(Problem(file, where, "target_accept", "must be a number in [0.5, 1)"))
    if "sampler" in sampler and sampler["sampler"] not in ("nutpie", "pymc"):
        problems.append(Problem(file, where, "sampler", "must be 'nutpie' or 'pymc'"))
    return problems


#: Models that analyse survival data; every other model analyses binary (events out of n) data.
SURVIVAL_MODELS = frozenset({"piecewise_exponential"})


def _check_against_models_and_data(entry: dict, where: str, file: str, model: str, dataset: str | None,
                                   data_file: Path | None, published: dict) -> list[Problem]:
    """Checks that need the model class or the data: done here so that a run fails before it starts.

    Dataset names and kinds, the outcome, priors (against the model's prior set), model options
    (against the model's constructor) and the columns ``where``/``exclude`` refer to.
    """
    import inspect

    from bayes_anlo import datasets
    from bayes_anlo.models import MODELS

    problems: list[Problem] = []
    cls = MODELS.get(model)
    survival = model in SURVIVAL_MODELS
    if dataset is not None:
        if dataset not in datasets.names():
            problems.append(Problem(file, where, "dataset",
                                    f"unknown dataset {dataset!r}; see `bayes-anlo datasets` ({', '.join(datasets.names())})"))
        else:
            kind = datasets.info(dataset)["kind"]
            wanted = ("survival_summary",) if survival else ("binary",)
            if kind not in wanted:
                problems.append(Problem(file, where, "dataset",
                                        f"dataset {dataset!r} holds {kind} data; model {model!r} needs {' or '.join(wanted)} data"))
    pub_name = published.get("dataset") if isinstance(published, dict) else None
    if pub_name is not None and pub_name not in datasets.names():
        problems.append(Problem(file, f"{where}.published", "dataset", f"unknown dataset {pub_name!r}"))
    if not survival and entry.get("outcome") is None:
        problems.append(Problem(file, where, "outcome", f"required for model {model!r} (e.g. \"ORR\")"))
    if cls is not None and isinstance(entry.get("priors", {}), dict) and entry.get("priors"):
        priors_class = getattr(cls, "priors_class", None)
        if priors_class is not None:
            try:
                priors_class.from_dict(entry["priors"], source=file, path=f"{where}.priors")
            except InputError as exc:
                problems.extend(exc.problems)
    if cls is not None and isinstance(entry.get("options", {}), dict):
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "priors", "method", "sampler", "thresholds"}
        if survival:
            accepted |= {"collapse"}  # a survival-pipeline option (bayes_anlo.pipeline.survival)
        for key in entry.get("options", {}):
            if key not in accepted:
                problems.append(Problem(file, f"{where}.options", key,
                                        f"unknown option {key!r} for model {model!r} (options: {', '.join(sorted(accepted)) or 'none'})"))
    if entry.get("by") is not None and cls is not None and "by" not in inspect.signature(cls.__init__).parameters:
        problems.append(Problem(file, where, "by", f"model {model!r} takes no grouping column"))
    if problems or survival:
        return problems
    # Binary data: load it (validating the file) and check the columns and values the entry names.
    try:
        data = datasets.load(dataset) if dataset is not None else _load_binary_file(data_file)
    except InputError as exc:
        return list(exc.problems)
    columns = set(data.table.columns)
    outcome = entry.get("outcome")
    if outcome not in data.outcomes:
        problems.append(Problem(file, where, "outcome",
                                f"outcome {outcome!r} is not in the data (has: {', '.join(data.outcomes)})"))
    for key in ("where", "exclude"):
        for column in entry.get(key, {}) or {}:
            if column not in columns:
                problems.append(Problem(file, f"{where}.{key}", column,
                                        f"the data have no column {column!r} (has: {', '.join(sorted(columns))})"))
    if entry.get("by") is not None and entry["by"] not in columns:
        problems.append(Problem(file, where, "by", f"the data have no column {entry['by']!r}"))
    if not problems:
        try:
            selected = data.select(outcome=outcome, **(entry.get("where") or {}))
            if entry.get("exclude"):
                selected = selected.exclude(**entry["exclude"])
            if len(selected) == 0:
                problems.append(Problem(file, where, "exclude", "no rows left after `where` and `exclude`"))
        except InputError:
            problems.append(Problem(file, where, "where", f"no rows match outcome {outcome!r} and `where` {entry.get('where')}"))
    return problems


def _data_ref(keys: dict, dataset, data_file: Path | None, model, spec_path: Path, file: str,
              where: str) -> tuple[DataRef, list[Problem]]:
    """The entry's :class:`DataRef` with ``kind``, ``risk_table`` and ``totals`` checked against the
    model (survival models take ``ipd``, ``km`` or ``summaries``; binary models ``binary``)."""
    problems: list[Problem] = []
    kind = keys.get("kind")
    survival = model in SURVIVAL_MODELS
    if kind is not None:
        if kind not in DATA_KINDS:
            problems.append(Problem(file, where, "kind", f"{kind!r} is not a kind of data; choose one of "
                                                         f"{', '.join(DATA_KINDS)}"))
        elif survival and kind == "binary":
            problems.append(Problem(file, where, "kind", f"model {model!r} analyses survival data: kind must be "
                                                         "ipd, km or summaries"))
        elif not survival and model is not None and kind != "binary":
            problems.append(Problem(file, where, "kind", f"model {model!r} analyses binary data (kind = \"binary\"), "
                                                         f"not {kind!r}"))
        elif dataset is not None and kind in ("ipd", "km"):
            problems.append(Problem(file, where, "kind", f"the bundled datasets hold no {kind} data; give `file`"))
    paths = {}
    for key in ("risk_table", "totals"):
        value = keys.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(Problem(file, where, key, "must be a file name (text)"))
            continue
        if kind != "km":
            problems.append(Problem(file, where, key, "only digitised curves (kind = \"km\") take a risk table or totals"))
        resolved = (spec_path.parent / value).resolve()
        if not resolved.exists():
            problems.append(Problem(file, where, key, f"file {value!r} does not exist (looked in {resolved})"))
        paths[key] = resolved
    return DataRef(dataset=dataset, file=data_file, kind=kind, risk_table=paths.get("risk_table"),
                   totals=paths.get("totals")), problems


def _survival_file_problems(ref: DataRef) -> list[Problem]:
    """Every problem of a survival data file (and its risk table and totals), found before a run starts."""
    import warnings

    from bayes_anlo.data.survival import load_survival_input

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_survival_input(ref.file, ref.kind, risk_table=ref.risk_table, totals=ref.totals)
    except InputError as exc:
        return list(exc.problems)
    return []


def _load_binary_file(path: Path):
    from bayes_anlo.data.binary import load_binary

    return load_binary(path)


def load_spec(path: str | Path, *, known_models: set[str] | None = None) -> Spec:
    """Parse and validate a TOML spec; raise :class:`InputError` listing every problem.

    In spec errors the "row" is the TOML table (e.g. ``analyses[2]``) and the column is the key.
    """
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise InputError(Problem(file, None, None, "spec file does not exist"))
    if path.is_dir():
        raise InputError(Problem(file, None, None, "is a directory, expected a .toml spec"))
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(Problem(file, line, None, f"is not UTF-8 text (byte {exc.start})")) from None
    except tomllib.TOMLDecodeError as exc:
        import re

        where = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(where.group(1)), where.group(2)) if where else (None, None)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise InputError(Problem(file, line, column, f"not valid TOML: {message}")) from None
    if known_models is None:
        from bayes_anlo.models import MODELS

        known_models = set(MODELS)
    problems: list[Problem] = []
    _unknown(problems, file, "(top level)", raw, _TOP_KEYS)
    meta = raw.get("analysis", {})
    if not isinstance(meta, dict):
        problems.append(Problem(file, "analysis", None, "must be a table"))
        meta = {}
    _unknown(problems, file, "analysis", meta, _ANALYSIS_META_KEYS)
    name = meta.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(file, "analysis", "name", "required text value is missing"))
        name = path.stem
    seed = meta.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(Problem(file, "analysis", "seed", f"must be a non-negative integer, got {seed!r}"))
        seed = 1
    audits = meta.get("audit", [])
    if isinstance(audits, str):
        audits = [audits]
    if not isinstance(audits, list) or not all(isinstance(a, str) for a in audits):
        problems.append(Problem(file, "analysis", "audit", "must be a list of audit names or file paths"))
        audits = []
    resolved_audits = []
    for name in audits:
        from bayes_anlo.audit import list_bundled_audits

        if name in list_bundled_audits():
            resolved_audits.append(name)
        elif (path.parent / name).exists():
            resolved_audits.append(str((path.parent / name).resolve()))
        else:
            problems.append(Problem(file, "analysis", "audit",
                                    f"{name!r} is neither a bundled audit ({', '.join(list_bundled_audits())}) nor an existing file"))
    default_data = raw.get("data", {})
    _unknown(problems, file, "data", default_data, _DATA_KEYS)
    sampler = raw.get("sampler", {})
    problems.extend(_check_sampler(sampler, file, "sampler"))
    _unknown(problems, file, "report", raw.get("report", {}), _REPORT_KEYS)
    entries_raw = raw.get("analyses")
    if not isinstance(entries_raw, list) or not entries_raw:
        problems.append(Problem(file, "analyses", None, "need at least one [[analyses]] table"))
        entries_raw = []
    entries: list[AnalysisEntry] = []
    seen_ids: set[str] = set()
    for i, entry in enumerate(entries_raw, start=1):
        where = f"analyses[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(file, where, None, "must be a table"))
            continue
        _unknown(problems, file, where, entry, _ENTRY_KEYS)
        entry_id = entry.get("id")
        if not isinstance(entry_id, str) or not entry_id.strip():
            problems.append(Problem(file, where, "id", "required text value is missing"))
            entry_id = f"analysis{i}"
        elif not entry_id.replace("_", "").replace("-", "").isalnum():
            problems.append(Problem(file, where, "id", f"{entry_id!r} must contain only letters, digits, '_' and '-'"))
        if entry_id in seen_ids:
            problems.append(Problem(file, where, "id", f"duplicate analysis id {entry_id!r}"))
        seen_ids.add(entry_id)
        model = entry.get("model")
        if model not in known_models:
            problems.append(
                Problem(file, where, "model", f"unknown model {model!r}; known: {', '.join(sorted(known_models))}")
            )
        own_data = "dataset" in entry or "file" in entry
        data_keys = entry if own_data else {**default_data, **{k: entry[k] for k in _DATA_KEYS if k in entry}}
        dataset = data_keys.get("dataset")
        data_file = data_keys.get("file")
        if (dataset is None) == (data_file is None):
            problems.append(Problem(file, where, "dataset", "give exactly one of `dataset` or `file` (here or in [data])"))
        ref_file = None
        if data_file is not None:
            ref_file = (path.parent / data_file).resolve()
            if not ref_file.exists():
                problems.append(Problem(file, where, "file", f"data file {data_file!r} does not exist (looked in {ref_file})"))
        data_ref, data_problems = _data_ref(data_keys, dataset, ref_file, model, path, file, where)
        problems.extend(data_problems)
        reference_arm = entry.get("reference_arm")
        if reference_arm is not None and (not isinstance(reference_arm, str) or not reference_arm.strip()):
            problems.append(Problem(file, where, "reference_arm", "must be a non-empty text value (an arm label)"))
        elif reference_arm is not None and model not in SURVIVAL_MODELS:
            problems.append(Problem(file, where, "reference_arm", f"only survival models compare arms against a "
                                                                  f"reference arm, not {model!r}"))
        thresholds = entry.get("thresholds", [])
        if not isinstance(thresholds, list) or not all(
            isinstance(t, int | float) and not isinstance(t, bool) and 0 < t < 1 for t in thresholds
        ):
            problems.append(Problem(file, where, "thresholds", "must be a list of numbers strictly between 0 and 1"))
            thresholds = []
        if isinstance(entry.get("sampler", {}), dict):
            problems.extend(_check_sampler(entry.get("sampler", {}), file, f"{where}.sampler"))
        for key in ("where", "exclude", "priors", "published", "options", "sampler"):
            if key in entry and not isinstance(entry[key], dict):
                problems.append(Problem(file, where, key, "must be a table"))
        published = entry.get("published", {})
        if isinstance(published, dict):
            _unknown(problems, file, f"{where}.published", published, _PUBLISHED_KEYS)
        method = entry.get("method", "nuts")
        if method not in ("nuts", "exact"):
            problems.append(Problem(file, where, "method", f"must be 'nuts' or 'exact', got {method!r}"))
        for key in ("sensitivity", "frequentist"):
            if key in entry and not isinstance(entry[key], bool):
                problems.append(Problem(file, where, key, "must be true or false"))
        if problems:
            continue
        problems.extend(_check_against_models_and_data(entry, where, file, model, dataset, ref_file, published))
        if not problems and model in SURVIVAL_MODELS and ref_file is not None:
            problems.extend(_survival_file_problems(data_ref))
        if problems:
            continue
        entries.append(
            AnalysisEntry(
                id=entry_id,
                model=model,
                data=data_ref,
                title=str(entry.get("title", entry_id)),
                outcome=entry.get("outcome"),
                endpoint=entry.get("endpoint"),
                method=method,
                by=entry.get("by"),
                where=dict(entry.get("where", {})),
                exclude=dict(entry.get("exclude", {})),
                thresholds=tuple(float(t) for t in thresholds),
                priors=dict(entry.get("priors", {})),
                sensitivity=bool(entry.get("sensitivity", True)),
                frequentist=bool(entry.get("frequentist", True)),
                published=dict(published),
                options=dict(entry.get("options", {})),
                sampler=dict(entry.get("sampler", {})),
                notes=str(entry.get("notes", "")),
                reference_arm=reference_arm,
            )
        )
    if problems:
        raise InputError(problems)
    limitations = meta.get("limitations", [])
    return Spec(
        path=path,
        name=name,
        title=str(meta.get("title", name)),
        description=str(meta.get("description", "")),
        seed=seed,
        sampler=dict(sampler),
        analyses=tuple(entries),
        limitations=tuple(str(x) for x in limitations) if isinstance(limitations, list) else (str(limitations),),
        audits=tuple(resolved_audits),
        raw=raw,
    )
