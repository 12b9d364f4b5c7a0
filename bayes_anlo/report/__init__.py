"""Tables, figures and reports from fits: a small public front over the report modules.

::

    import bayes_anlo as ba
    fit = ba.models.BetaBinomial(method="exact").fit(data, random_seed=1)
    ba.report.summary(fit)      # pandas DataFrame: posterior median, 95% CrI, mean, SD per quantity
    ba.report.forest(fit)       # matplotlib Figure: studies, shrunken rates, pooled rows by method

Both are thin: :func:`summary` is :func:`bayes_anlo.report.tables.posterior_summary`, and
:func:`forest` assembles the same tables as ``bayes-anlo run`` (:func:`~tables.study_table`,
:func:`~tables.comparison_table`, and per-subgroup rows for a nested fit) and draws them with
:func:`bayes_anlo.report.plots.forest_plot`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: drawing a figure (canvas) needs neither pandas nor xarray
    import pandas as pd
    import xarray as xr

__all__ = ["forest", "summary"]


def summary(
    tree: xr.DataTree, variables: tuple[str, ...] | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Posterior summary of a fit: one row per reported quantity (rates, heterogeneity,
    contrasts), with its description, mean, SD, median and equal-tailed ``level`` interval."""
    from bayes_anlo.report.tables import posterior_summary

    return posterior_summary(tree, variables, level)


def forest(source, *, title: str | None = None, frequentist: bool = True):
    """Forest plot of a binary fit (a DataTree from ``Model.fit``) or of a run's analysis result
    (:class:`~bayes_anlo.report.result.AnalysisResult`).

    For a fit: observed rates with Clopper-Pearson intervals, shrunken study rates, the Bayesian
    pooled rate and, with ``frequentist=True`` and at least two studies, the metafor-exact
    PFT-DL, PLO-REML and GLMM pooled rows; a nested fit is drawn grouped by subgroup, each group
    with its Bayesian and frequentist pooled rows and the test for subgroup differences.
    Returns a :class:`matplotlib.figure.Figure` (not tracked by pyplot; texts drawn literally).
    """
    import xarray as xr

    from bayes_anlo.report import plots

    if not isinstance(source, xr.DataTree):
        tables_ = getattr(source, "tables", None)
        if not tables_ or "studies" not in tables_ or "comparison" not in tables_:
            raise TypeError(
                "forest() takes a fitted DataTree or an AnalysisResult with 'studies' and "
                "'comparison' tables"
            )
        return plots.forest_plot(
            tables_["studies"],
            tables_["comparison"],
            title=title or source.title,
            outcome=str(source.tree.attrs.get("outcome", "rate")),
            subgroup_pooled=tables_.get("subgroup_pooled"),
        )
    return _forest_of_fit(source, title=title, frequentist=frequentist)


def _forest_of_fit(tree: xr.DataTree, *, title: str | None, frequentist: bool):
    import numpy as np

    from bayes_anlo import frequentist as fq
    from bayes_anlo.report import plots, tables

    if "pooled_rate" not in tree["posterior"] or "observed_data" not in tree.children:
        raise ValueError(
            "forest() needs a binary fit with a pooled_rate (beta-binomial, logit-normal, nested, "
            "complete pooling)"
        )
    events = np.asarray(tree["observed_data"]["events"].values, dtype=int)
    n = np.asarray(tree["constant_data"]["n"].values, dtype=int)
    labels = [str(u) for u in tree["observed_data"]["unit"].values]
    groups = None
    constant = tree["constant_data"]
    if "subgroup_index" in constant and "subgroup" in tree["posterior"].coords:
        levels = [str(v) for v in tree["posterior"]["subgroup"].values]
        groups = [levels[i] for i in constant["subgroup_index"].values]
    model = str(tree.attrs.get("model", "Bayesian")).replace("_", "-")
    comparison_freq = []
    if frequentist and len(events) >= 2:
        for transform, method in (("pft", "DL"), ("logit", "REML")):
            comparison_freq.append(
                fq.pool_proportions(events, n, transform=transform, method=method)
            )
        try:
            comparison_freq.append(fq.glmm_logit(events, n))
        except (ValueError, RuntimeError):
            pass  # the GLMM row is left out when lme4-style ML does not converge
    comparison = tables.comparison_table(
        [tables.bayesian_comparison_rows(tree, model)], comparison_freq
    )
    studies = tables.study_table(labels, events, n, tree, groups=groups)
    subgroup_pooled, test = None, ""
    if groups is not None:
        sub = None
        if frequentist and len(set(groups)) >= 2 and len(events) >= 3:
            sub = fq.subgroup_analysis(events, groups, n=n, transform="logit", method="REML")
            test = tables.subgroup_test_text(sub)
        subgroup_pooled = tables.subgroup_pooled_rows(tree, sub, model)
    return plots.forest_plot(
        studies,
        comparison,
        title=title or f"{model} fit",
        outcome=str(tree.attrs.get("outcome", "rate")),
        subgroup_pooled=subgroup_pooled,
        subgroup_test=test,
    )
