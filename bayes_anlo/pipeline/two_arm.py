"""One two-arm comparison of a spec (e.g. anlotinib plus chemotherapy vs anlotinib alone).

Bayesian: the posterior of each arm's rate, of the difference ``p1 - p2`` and ``P(p1 > p2)``
(:class:`bayes_anlo.models.TwoArm`). Frequentist, on the same counts: each arm's Clopper-Pearson
interval, the risk difference with Wald and Newcombe intervals, Fisher's exact test (two- and
one-sided) and Pearson's chi-square with and without Yates' correction, beside the p-value the
paper printed (dataset ``published_two_group_tests``) when the spec names it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_anlo.models.sampling import SamplerSettings, derived_seed
from bayes_anlo.pipeline.binary import (
    add_binary_ppc_figure,
    add_binary_ppc_tables,
    add_power_scaling,
    add_prior_posterior,
    describe_priors,
    load_entry_data,
    prior_sensitivity,
    published_table,
)
from bayes_anlo.pipeline.skeleton import Analysis, Steps, run_steps
from bayes_anlo.report import plots, tables
from bayes_anlo.report.canvas import recipe
from bayes_anlo.report.result import AnalysisResult
from bayes_anlo.spec import AnalysisEntry


def arm_counts(tree) -> pd.DataFrame:
    """Events and patients per arm, in the model's arm order (arm 1 first)."""
    arms = [str(a) for a in tree["posterior"]["arm"].values]
    index = tree["constant_data"]["arm_index"].values
    events, n = tree["observed_data"]["events"].values, tree["constant_data"]["n"].values
    return pd.DataFrame(
        {
            "arm": arms,
            "events": [int(events[index == k].sum()) for k in range(len(arms))],
            "n": [int(n[index == k].sum()) for k in range(len(arms))],
        }
    )


def frequentist_contrast(counts: pd.DataFrame) -> pd.DataFrame:
    """Risk difference (Wald, Newcombe) and the tests a paper could print, as tidy rows."""
    from bayes_anlo.frequentist import chi_square, fisher_exact, risk_difference

    (e1, n1), (e2, n2) = counts[["events", "n"]].itertuples(index=False, name=None)
    rows = []
    for method in ("wald", "newcombe"):
        rd = risk_difference(e1, n1, e2, n2, method=method)
        rows.append(
            {
                "method": f"risk difference ({method.capitalize()} 95% CI)",
                "estimate": rd.estimate,
                "ci_low": rd.ci_low,
                "ci_high": rd.ci_high,
                "p_value": np.nan,
            }
        )
    direction = "greater" if e1 / n1 >= e2 / n2 else "less"
    tests = [
        ("Fisher exact, two-sided", fisher_exact(e1, n1, e2, n2).p_value),
        (
            f"Fisher exact, one-sided ({direction})",
            fisher_exact(e1, n1, e2, n2, alternative=direction).p_value,
        ),
        ("Pearson chi-square", chi_square(e1, n1, e2, n2, correction=False).p_value),
        ("chi-square with Yates' correction", chi_square(e1, n1, e2, n2, correction=True).p_value),
    ]
    rows += [
        {"method": m, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": p}
        for m, p in tests
    ]
    return pd.DataFrame(rows)


def published_tests(entry: AnalysisEntry, counts: pd.DataFrame) -> pd.DataFrame | None:
    """Printed p-values for the same two groups and outcome (matched on the counts)."""
    table = published_table(entry)
    if table is None:
        return None
    pairs = {
        tuple(counts[["events", "n"]].to_numpy().ravel()),
        tuple(counts[["events", "n"]].to_numpy()[::-1].ravel()),
    }
    keep = [
        tuple(int(x) for x in r) in pairs
        for r in table[["events1", "n1", "events2", "n2"]].to_numpy()
    ]
    table = table[keep]
    if table.empty:
        return None
    stated = table["test_stated"].astype(str)
    return pd.DataFrame(
        {
            "method": np.where(
                stated.str.startswith("not stated"),
                "as printed (test not named)",
                "as printed (" + stated + ")",
            ),
            "estimate": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": pd.to_numeric(table["p_printed"], errors="coerce"),
            "source": table["source"],
            "flag": table.get("flag", ""),
        }
    )


def bayesian_contrast(tree) -> pd.DataFrame:
    post = tree["posterior"].to_dataset()
    rows = []
    for name, label in (
        ("difference", "posterior of p1 - p2"),
        ("ratio", "posterior of p1 / p2"),
        ("odds_ratio", "posterior odds ratio"),
    ):
        s = tables.summarise_variable(post, name).iloc[0]
        rows.append(
            {
                "method": label,
                "estimate": s["median"],
                "ci_low": s["ci_low"],
                "ci_high": s["ci_high"],
                "p_value": np.nan,
            }
        )
    rows.append(
        {
            "method": "P(p1 > p2)",
            "estimate": float((post["difference"].values > 0).mean()),
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": np.nan,
        }
    )
    return pd.DataFrame(rows)


def _rows(frame: pd.DataFrame, method: str) -> pd.DataFrame:
    """The one row of a contrast table with this method name (never a row position: the tables
    gain rows over time, and a position silently reads the wrong statistic)."""
    rows = frame[frame["method"] == method]
    if len(rows) != 1:
        raise KeyError(f"expected one {method!r} row, found {len(rows)}")
    return rows


class TwoArmSteps(Steps):
    """The steps of a two-arm comparison of rates."""

    def prepare(self, a: Analysis) -> None:
        a.data = load_entry_data(a.entry)

    def result(self, a: Analysis) -> AnalysisResult:
        from bayes_anlo.checks.diagnostics import convergence

        entry, data = a.entry, a.data
        conv = convergence(a.tree)
        arm1, arm2 = arm_counts(a.tree)["arm"]
        result = AnalysisResult(
            id=entry.id,
            title=entry.title,
            model=entry.model,
            tree=a.tree,
            converged=bool(conv.converged),
            convergence_reasons=list(conv.reasons),
            priors_text=describe_priors(a.model.priors),
            data_sources=sorted(set(data.table["source"]) - {""}),
        )
        result.notes.append(f"p1 = {entry.outcome} with {arm1}; p2 = {entry.outcome} with {arm2}.")
        if entry.notes:
            result.notes.append(entry.notes)
        if "flag" in data.table:
            result.flags = [
                f"{r.study} ({r.arm}): {r.flag}"
                for r in data.table.itertuples()
                if str(r.flag) not in ("", "nan")
            ]
        return result

    def checks(self, a: Analysis) -> None:
        from bayes_anlo.checks.diagnostics import diagnostics_table

        result, tree = a.result, a.tree
        result.tables["diagnostics"] = diagnostics_table(tree)
        add_binary_ppc_tables(
            result,
            tree,
            [str(u) for u in tree["observed_data"]["unit"].values],
            tree["constant_data"]["n"].values,
        )
        prior_tree = a.model.sample_prior_predictive(
            a.data, draws=4000, random_seed=derived_seed(a.seed, 7)
        )
        add_power_scaling(result, a.model, prior=prior_tree["prior"].to_dataset())
        if a.entry.sensitivity:
            result.tables["sensitivity"] = prior_sensitivity(
                a.model, a.data, tree, a.seed, a.refit_model, _sensitivity_row
            )

    def tables(self, a: Analysis) -> None:
        entry, tree, result = a.entry, a.tree, a.result
        counts = arm_counts(tree)
        result.tables["data"] = a.data.to_frame()
        result.tables["posterior"] = tables.posterior_summary(tree)
        bayes = bayesian_contrast(tree).assign(paradigm="Bayesian")
        freq = frequentist_contrast(counts).assign(paradigm="frequentist")
        parts = [bayes, freq]
        printed = published_tests(entry, counts)
        if printed is not None:
            parts.append(printed.assign(paradigm="published"))
            for flag in printed["flag"]:
                if str(flag) not in ("", "nan"):
                    result.flags.append(f"printed p-value: {flag}")
        contrast = pd.concat(parts, ignore_index=True)
        result.tables["contrast"] = contrast[
            ["paradigm", "method", "estimate", "ci_low", "ci_high", "p_value"]
            + [c for c in ("source",) if c in contrast]
        ]
        studies = tables.study_table(
            list(counts["arm"]), counts["events"].to_numpy(), counts["n"].to_numpy(), None
        )
        rates = tables.summarise_variable(tree["posterior"].to_dataset(), "rate")
        studies["shrunken"], studies["shrunken_low"], studies["shrunken_high"] = (
            rates["median"].to_numpy(),
            rates["ci_low"].to_numpy(),
            rates["ci_high"].to_numpy(),
        )
        result.tables["studies"] = studies
        a.state.update(bayes=bayes, freq=freq, printed=printed, arms=tuple(counts["arm"]))

    def figures(self, a: Analysis) -> None:
        entry, tree, result, title = a.entry, a.tree, a.result, a.title
        bayes, freq = a.state["bayes"], a.state["freq"]
        add_binary_ppc_figure(result, tree, entry, title)
        diff_rows = _rows(bayes, "posterior of p1 - p2").assign(
            paradigm="Bayesian",
            method="difference p1 - p2 (Bayesian)",
            pi_low=np.nan,
            pi_high=np.nan,
        )
        wald = _rows(freq, "risk difference (Wald 95% CI)").assign(
            paradigm="frequentist",
            method="difference p1 - p2 (Wald)",
            pi_low=np.nan,
            pi_high=np.nan,
        )
        result.figures["forest"] = recipe(
            plots.forest_plot,
            result.tables["studies"],
            pd.concat([diff_rows, wald], ignore_index=True),
            title=title,
            outcome=entry.outcome,
            signed=True,
        )
        add_prior_posterior(result, a.model, tree, title)
        diff = tree["posterior"]["difference"].values.ravel()
        curve = plots.exceedance_curve({"p1 - p2": diff}, np.linspace(-0.5, 0.5, 201))
        result.figures["exceedance"] = recipe(
            plots.exceedance_plot,
            curve,
            entry.thresholds or (0.0,),
            title=f"{title}: P(p1 - p2 > t)",
            outcome=f"{entry.outcome} difference",
        )

    def headline(self, a: Analysis) -> str:
        entry, bayes, freq, printed = a.entry, a.state["bayes"], a.state["freq"], a.state["printed"]
        arm1, arm2 = a.state["arms"]
        fisher2 = _rows(freq, "Fisher exact, two-sided")["p_value"].iloc[0]
        d = _rows(bayes, "posterior of p1 - p2").iloc[0]
        p_greater = _rows(bayes, "P(p1 > p2)")["estimate"].iloc[0]
        return (
            f"P({entry.outcome} with {arm1} > with {arm2}) = {p_greater:.3f}; "
            f"difference {tables.format_percent(d['estimate'])} "
            f"(95% CrI {tables.format_interval(d['ci_low'], d['ci_high'])}); "
            f"Fisher exact two-sided p = {fisher2:.3f}"
            + (f" (printed: p = {printed['p_value'].iloc[0]:.3f})" if printed is not None else "")
            + "."
        )


def run_two_arm_analysis(
    entry: AnalysisEntry, *, seed: int, sampler: SamplerSettings, index: int
) -> AnalysisResult:
    """Fit one two-arm analysis and assemble every table and figure of its report section."""
    return run_steps(TwoArmSteps(), entry, seed=seed, sampler=sampler, index=index)


def _sensitivity_row(label: str, tree) -> dict:
    s = tables.summarise_variable(tree["posterior"].to_dataset(), "difference").iloc[0]
    return {
        "prior": label,
        "difference_median": s["median"],
        "difference_low": s["ci_low"],
        "difference_high": s["ci_high"],
        "prob_p1_greater": float((tree["posterior"]["difference"].values > 0).mean()),
    }
