"""Checks of a spec's ``[design]`` table that its types alone cannot express (the types and
ranges are in :class:`bayes_anlo.spec_schema.DesignTable`): that it names a response-rate analysis
of the spec that gives a MAP prior, that interim data fit in the trial, and that one-sample
thresholds are rates. Problems are located ``SPEC.toml:design[.key]:key: reason``."""

from __future__ import annotations

from bayes_anlo.design.map_prior import MAP_MODELS
from bayes_anlo.errors import Problem


def _interim_problems(interim, n: int, file: str, where: str, arm: str) -> list[Problem]:
    if interim is None:
        return []
    problems = []
    if interim.events > interim.patients:
        problems.append(
            Problem(file, where, "events", f"{interim.events} responders of {interim.patients}")
        )
    if interim.patients >= n:
        problems.append(
            Problem(
                file,
                where,
                "patients",
                f"an interim has fewer patients than the {arm} ({n}), got {interim.patients}",
            )
        )
    return problems


def design_problems(design, analyses: dict, file: str) -> list[Problem]:
    """Problems of the validated ``DesignTable`` ``design``; ``analyses`` maps the id of every
    analysis table to it, or to None when it failed its type checks (reported already)."""
    problems: list[Problem] = []
    source = analyses.get(design.analysis)
    if source is None and design.analysis in analyses:
        pass  # the named analysis has problems of its own
    elif source is None:
        known = ", ".join(str(i) for i in analyses if isinstance(i, str)) or "none"
        problems.append(
            Problem(file, "design", "analysis", f"no analysis {design.analysis!r}; ids: {known}")
        )
    elif source.model not in MAP_MODELS or source.by is not None:
        problems.append(
            Problem(
                file,
                "design",
                "analysis",
                f"the MAP prior comes from a {' or '.join(MAP_MODELS)} analysis without `by`; "
                f"{design.analysis!r} is {source.model!r}"
                + (f" by {source.by!r}" if source.by else ""),
            )
        )
    if design.control is None:
        for i, criterion in enumerate(design.criteria, start=1):
            if criterion.threshold <= 0:
                problems.append(
                    Problem(
                        file,
                        f"design.criteria[{i}]",
                        "threshold",
                        "a one-sample threshold is a rate in (0, 1) (differences need "
                        f"[design.control]), got {criterion.threshold:g}",
                    )
                )
        if design.n > 10_000:
            problems.append(Problem(file, "design", "n", "at most 10,000 patients"))
    else:
        if design.n > 1000:
            problems.append(
                Problem(file, "design", "n", f"a two-sample arm has at most 1000, got {design.n}")
            )
        if design.target_rate is not None:
            problems.append(
                Problem(file, "design", "target_rate", "one-sample only (no [design.control])")
            )
        problems += _interim_problems(
            design.control.interim, design.control.n, file, "design.control.interim", "control"
        )
    problems += _interim_problems(design.interim, design.n, file, "design.interim", "trial")
    return problems
