"""One analysis skeleton for every family: prepare, fit, checks, tables, figures.

:func:`run_steps` runs one ``[[analyses]]`` entry through a family's :class:`Steps`; each step is a
small method that reads and extends the :class:`Analysis` state (the entry, the model made by the
one factory :meth:`bayes_anlo.models.Model.from_spec`, the data, the fitted tree and the
:class:`~bayes_anlo.report.result.AnalysisResult` the report layer takes). The family's steps say
only what differs: which data it loads, which checks, tables and figures it makes.
:data:`STEPS` maps a model name to its steps (:func:`steps_for`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bayes_anlo import interrupt
from bayes_anlo.models.contract import Model
from bayes_anlo.models.sampling import SamplerSettings, derived_seed
from bayes_anlo.report.result import AnalysisResult


@dataclass
class Analysis:
    """The state of one analysis as it passes through the steps."""

    entry: Any
    sampler: SamplerSettings
    #: the analysis seed (derived from the spec seed and the entry's index)
    seed: int
    model: Model
    data: Any = None
    tree: Any = None
    result: AnalysisResult | None = None
    #: figure titles (marked when the fit did not pass the convergence gate)
    title: str = ""
    #: what a step leaves for a later one (e.g. the comparison table for the forest plot)
    state: dict = field(default_factory=dict)

    def refit_model(self, priors) -> Model:
        """The entry's model under other priors (for prior-sensitivity refits)."""
        return Model.from_spec(self.entry, self.sampler, priors=priors)


class Steps:
    """A family's steps. ``prepare`` loads ``a.data``; ``fit`` sets ``a.tree`` (default: the
    model's ``fit``); ``result`` makes the :class:`AnalysisResult` (convergence gate included);
    ``checks``, ``tables`` and ``figures`` fill it; ``headline`` is its one-sentence summary."""

    def prepare(self, a: Analysis) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, a: Analysis) -> None:
        a.tree = a.model.fit(a.data, random_seed=a.seed)

    def result(self, a: Analysis) -> AnalysisResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def checks(self, a: Analysis) -> None:
        """Diagnostics, posterior predictive checks, prior sensitivity."""

    def tables(self, a: Analysis) -> None:
        """Posterior summaries, comparisons with frequentist and published results."""

    def figures(self, a: Analysis) -> None:
        """Figures, drawn from the tables."""

    def headline(self, a: Analysis) -> str:
        return ""


def run_steps(steps: Steps, entry, *, seed: int, sampler: SamplerSettings, index: int):
    """Run ``entry`` through ``steps``: prepare, fit, checks, tables, figures."""
    a = Analysis(
        entry=entry,
        sampler=sampler,
        seed=derived_seed(seed, index),
        model=Model.from_spec(entry, sampler),
    )
    steps.prepare(a)
    steps.fit(a)
    interrupt.check()
    a.result = steps.result(a)
    a.title = figure_title(a.entry.title, a.result.converged)
    steps.checks(a)
    interrupt.check()
    steps.tables(a)
    steps.figures(a)
    a.result.headline = steps.headline(a)
    interrupt.check()
    return a.result


def figure_title(title: str, converged: bool) -> str:
    """A figure title, marked when the analysis did not pass the convergence gate."""
    return title if converged else f"NOT CONVERGED: {title}"


def steps_for(model: str) -> Steps:
    """The steps of a registered model's analyses (by its name, else by its data kind)."""
    from bayes_anlo.models.registry import family
    from bayes_anlo.pipeline.binary import BinarySteps
    from bayes_anlo.pipeline.survival import SurvivalSteps
    from bayes_anlo.pipeline.two_arm import TwoArmSteps

    by_name = {"two_arm": TwoArmSteps}
    by_kind = {"binary": BinarySteps, "survival": SurvivalSteps}
    cls = by_name.get(model) or by_kind[family(model).kind]
    return cls()
