"""Checks of a spec against its data, run before any fit (pass 3 of
:func:`bayes_anlo.spec.load_spec`).

Every analysis's data are loaded (a broken data file reports its own ``file:row:column``
problems) and what the analysis says about them is checked: the columns ``where``, ``exclude``,
``by`` and ``options.collapse`` name, the outcome or endpoint, that rows are left after the
selection, the model's own preparation of the selected data (two distinct arms, two or more
subgroups, the survival model's cut points and summaries), one row per arm for an exact two-arm
model, the reference arm, and the rows of the published results. Problems are located in the
spec (``analyses[2].where:histology``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np

from bayes_anlo.errors import InputError, Problem
from bayes_anlo.spec_schema import SURVIVAL_MODELS


def data_problems(entries: Iterable, file: str) -> list[Problem]:
    """Every data problem of the analyses ``entries`` (:class:`~bayes_anlo.spec.AnalysisEntry`)
    of the spec ``file``; an empty list when they can all be fitted."""
    problems: list[Problem] = []
    load = _Loader()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loaders' warnings are shown once, by the run itself
        for entry in entries:
            if entry.model in SURVIVAL_MODELS:
                problems.extend(_survival_problems(entry, file))
            else:
                problems.extend(_binary_problems(entry, file, load))
            problems.extend(_published_problems(entry, file, load))
    return problems


class _Loader:
    """Each bundled dataset and binary CSV loaded once per check (analyses often share them);
    the loaded containers are frozen and tables are only read."""

    def __init__(self):
        self._cache: dict[tuple[str, str], object] = {}

    def __call__(self, dataset: str | None = None, binary_file=None):
        from bayes_anlo import datasets
        from bayes_anlo.data.binary import load_binary

        key = ("dataset", dataset) if dataset is not None else ("binary", str(binary_file))
        if key not in self._cache:
            self._cache[key] = (
                datasets.load(dataset) if dataset is not None else load_binary(binary_file)
            )
        return self._cache[key]


def _relocated(exc: InputError, file: str, where: str, key: str | None) -> list[Problem]:
    """Problems of a whole selection (no row or column of their own) moved to the spec key that
    caused them; problems located in a data file stay there."""
    out = []
    for p in exc.problems:
        if p.row is None and p.column is None:
            out.append(Problem(file, where, key, p.message))
        else:
            out.append(p)
    return out


def _column_problems(entry, columns, file: str) -> list[Problem]:
    problems = []
    have = ", ".join(sorted(str(c) for c in columns))
    for key in ("where", "exclude"):
        for column in getattr(entry, key):
            if column not in columns:
                problems.append(
                    Problem(
                        file,
                        f"{entry.location}.{key}",
                        column,
                        f"the data have no column {column!r} (has: {have})",
                    )
                )
    if entry.by is not None and entry.by not in columns:
        problems.append(
            Problem(
                file, entry.location, "by", f"the data have no column {entry.by!r} (has: {have})"
            )
        )
    collapse = entry.options.get("collapse", ())
    for column in [collapse] if isinstance(collapse, str) else collapse:
        if column not in columns:
            problems.append(
                Problem(
                    file,
                    f"{entry.location}.options",
                    "collapse",
                    f"the data have no column {column!r} (has: {have})",
                )
            )
    return problems


# ------------------------------------------------------------------------------------------------
# response rates
# ------------------------------------------------------------------------------------------------


def _binary_problems(entry, file: str, load: _Loader) -> list[Problem]:
    from bayes_anlo.data.binary import BinaryData

    where = entry.location
    try:
        data = load(entry.data.dataset) if entry.data.dataset else load(binary_file=entry.data.file)
    except InputError as exc:
        return list(exc.problems)
    if not isinstance(data, BinaryData):  # pass 2 checks dataset kinds; kept for safety
        return [
            Problem(
                file, where, "dataset", f"{entry.data.describe()} is not binary (events/n) data"
            )
        ]
    problems = _column_problems(entry, set(data.table.columns), file)
    if entry.outcome not in data.outcomes:
        problems.append(
            Problem(
                file,
                where,
                "outcome",
                f"outcome {entry.outcome!r} is not in the data (has: {', '.join(data.outcomes)})",
            )
        )
    if problems:
        return problems
    try:
        selected = data.select(outcome=entry.outcome, **entry.where)
        if entry.exclude:
            selected = selected.exclude(**entry.exclude)
    except InputError as exc:
        return _relocated(exc, file, where, "where")
    if len(selected) == 0:
        return [
            Problem(
                file,
                where,
                "exclude" if entry.exclude else "where",
                f"no rows of outcome {entry.outcome!r} left after `where` and `exclude`",
            )
        ]
    return _binary_model_problems(entry, selected, file)


def _binary_model_problems(entry, data, file: str) -> list[Problem]:
    """The model's own preparation of the selected rows, and what ``method = "exact"`` needs."""
    from bayes_anlo.models.nested_beta_binomial import prepare_nested
    from bayes_anlo.models.two_arm import prepare_two_arm
    from bayes_anlo.spec_schema import GROUPED_MODELS

    where = entry.location
    by = entry.by or GROUPED_MODELS.get(entry.model)
    try:
        if entry.model == "nested_beta_binomial":
            prepare_nested(data, by)
        elif entry.model == "exnex":
            return _exnex_problems(entry, data, file)
        elif entry.model == "two_arm":
            prep = prepare_two_arm(data, by, entry.options.get("arms"))
            counts = np.bincount(prep.index["arm"])
            if (
                entry.method == "exact"
                and entry.options.get("hierarchical", "auto") == "auto"
                and np.any(counts > 1)
            ):
                return [
                    Problem(
                        file,
                        where,
                        "method",
                        f'method = "exact" needs one row per arm; an arm has {int(counts.max())} '
                        f"rows "
                        f'(use method = "nuts")',
                    )
                ]
    except InputError as exc:
        key = "options" if entry.options.get("arms") else ("by" if by else None)
        return _relocated(exc, file, where, key)
    return _moderator_problems(entry, data, file)


def _exnex_problems(entry, data, file: str) -> list[Problem]:
    """EXNEX: the ``by`` column (when given) groups the rows into two or more subtypes, and
    ``method = "exact"`` is one the exact engines covers (several EX components: Normal /
    HalfNormal priors and few enough subtypes to enumerate their assignments)."""
    from bayes_anlo.models import SamplerSettings
    from bayes_anlo.models.exnex import Exnex
    from bayes_anlo.models.nested_beta_binomial import prepare_nested

    problems = []
    if entry.by is not None:
        try:
            prepare_nested(data, entry.by)
        except InputError as exc:
            return _relocated(exc, file, entry.location, "by")
    if entry.method == "exact":
        try:
            model = Exnex.from_spec(entry, SamplerSettings())
            problem = model.exact_problem(model.prepare(data))
        except (InputError, ValueError) as exc:
            problem = str(exc)
        if problem is not None:
            problems.append(
                Problem(
                    file,
                    entry.location,
                    "method",
                    f'method = "exact": {problem} (use method = "nuts" or "auto")',
                )
            )
    return problems


def _moderator_problems(entry, data, file: str) -> list[Problem]:
    """The moderators of the entry (``moderators``, or ``options.moderators`` of a
    meta-regression) read from the selected rows, as the meta-regression will read them."""
    from bayes_anlo.models.meta_regression import prepare_regression

    problems = []
    own = entry.options.get("moderators") or () if entry.model == "meta_regression" else ()
    if entry.model == "meta_regression" and not own:
        problems.append(
            Problem(
                file,
                f"{entry.location}.options",
                "moderators",
                "meta_regression needs options.moderators: the study-level column(s) to regress on",
            )
        )
    for key, moderators in (("moderators", entry.moderators), ("options", own)):
        moderators = [moderators] if isinstance(moderators, str) else list(moderators)
        if not moderators:
            continue
        try:
            prepare_regression(data, moderators)
        except InputError as exc:
            problems += _relocated(exc, file, entry.location, key)
    return problems


# ------------------------------------------------------------------------------------------------
# survival
# ------------------------------------------------------------------------------------------------


def _survival_container(entry):
    """The entry's survival data as loaded from its dataset or files (by ``kind``)."""
    from bayes_anlo import datasets
    from bayes_anlo.data import survival

    ref = entry.data
    if ref.dataset:
        return survival.load_summaries(datasets.load(ref.dataset), label=ref.dataset)
    # by kind; a file that does not fit its kind is reported with the kind and its columns
    return survival.load_survival_input(
        ref.file, ref.kind, risk_table=ref.risk_table, totals=ref.totals
    )[1]


def _survival_problems(entry, file: str) -> list[Problem]:
    from bayes_anlo.models import SamplerSettings
    from bayes_anlo.models.contract import Model
    from bayes_anlo.pipeline.survival import load_survival_entry

    where = entry.location
    try:
        container = _survival_container(entry)
    except InputError as exc:
        return list(exc.problems)
    table = container.coordinates if entry.data.kind == "km" else container.table
    problems = _column_problems(entry, set(table.columns), file)
    if entry.data.kind == "summaries" and entry.endpoint not in container.endpoints:
        problems.append(
            Problem(
                file,
                where,
                "endpoint",
                f"endpoint {entry.endpoint!r} is not in the data "
                f"(has: {', '.join(container.endpoints) or 'none'})",
            )
        )
    if entry.reference_arm is not None and "arm" in table.columns:
        arms = sorted({str(a) for a in table["arm"]})
        if entry.reference_arm not in arms:
            problems.append(
                Problem(
                    file,
                    where,
                    "reference_arm",
                    f"arm {entry.reference_arm!r} is not in the data (has: "
                    f"{', '.join(map(repr, arms))})",
                )
            )
    if problems:
        return problems
    try:
        with warnings.catch_warnings():  # reconstruction warnings are given when the analysis runs
            warnings.simplefilter("ignore")
            data = load_survival_entry(
                entry
            ).data  # what the model fits (summaries, patients, reconstruction)
    except InputError as exc:
        return _relocated(exc, file, where, "where")
    if len(data.table if hasattr(data, "table") else data.to_frame()) == 0:
        return [
            Problem(
                file,
                where,
                "exclude" if entry.exclude else "where",
                f"no {entry.endpoint} rows left after `where` and `exclude`",
            )
        ]
    try:
        Model.from_spec(entry, SamplerSettings()).prepare(data)
    except (InputError, ValueError) as exc:
        if isinstance(exc, InputError):
            return _relocated(exc, file, where, "options")
        return [Problem(file, f"{where}.options" if entry.options else where, None, str(exc))]
    return []


# ------------------------------------------------------------------------------------------------
# published results
# ------------------------------------------------------------------------------------------------


def _published_problems(entry, file: str, load: _Loader) -> list[Problem]:
    if not entry.published:
        return []
    from bayes_anlo.datasets import selected_rows

    where = f"{entry.location}.published"
    table = load(entry.published["dataset"])
    columns = set(table.columns)
    missing = [c for c in entry.published.get("where", {}) if c not in columns]
    if missing:
        have = ", ".join(sorted(columns))
        return [
            Problem(
                file,
                f"{where}.where",
                c,
                f"dataset {entry.published['dataset']!r} has no column {c!r} (has: {have})",
            )
            for c in missing
        ]
    if selected_rows(entry.published["dataset"], entry.published.get("where", {})).empty:
        return [
            Problem(
                file,
                where,
                "where",
                f"no rows of {entry.published['dataset']!r} match {entry.published['where']}",
            )
        ]
    return []
