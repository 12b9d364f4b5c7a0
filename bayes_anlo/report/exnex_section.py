"""The EXNEX part of an analysis report: what exchangeability means here, the prior weights, and
the exchangeability table (one row per subtype).

Compute (:func:`exchangeability_summary`, :func:`within_subtype_homogeneity`,
:func:`exnex_wording`) is apart from the blocks (:func:`exnex_blocks`); the pipeline stores the
table as ``tables["exchangeability"]`` and the wording as ``sections["exnex"]``
(:func:`add_exnex_results`), and the report shows them under "Exchangeability (EXNEX)".

Model: :mod:`bayes_anlo.models.exnex` (Neuenschwander, Wandel, Roychoudhury & Bailey 2016,
Pharm Stat 15:123).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from bayes_anlo.report.render import Block, Heading, Paragraph
from bayes_anlo.report.result import AnalysisResult
from bayes_anlo.report.result_blocks import result_table

#: Columns of the exchangeability table shown as percentages.
PERCENT_COLUMNS = ("prior_p_ex", "posterior_p_ex", "mean", "ci_low", "ci_high")


def _subtype_data(tree: xr.DataTree) -> tuple[str, list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Subtype dim, labels, studies, patients and responders per subtype (pooled over the
    subtype's studies when the fit has a grouping column)."""
    events = tree["observed_data"]["events"].values.astype(np.int64)
    n = tree["constant_data"]["n"].values.astype(np.int64)
    post = tree["posterior"]
    if "subgroup_rate" in post:
        idx = tree["constant_data"]["subgroup_index"].values.astype(np.int64)
        labels = [str(v) for v in post["subgroup"].values]
        size = len(labels)
        studies = np.bincount(idx, minlength=size)
        return (
            "subgroup",
            labels,
            studies,
            np.bincount(idx, weights=n, minlength=size).astype(np.int64),
            np.bincount(idx, weights=events, minlength=size).astype(np.int64),
        )
    labels = [str(v) for v in post["unit"].values]
    return "unit", labels, np.ones(len(labels), dtype=np.int64), n, events


def within_subtype_homogeneity(tree: xr.DataTree) -> list[float]:
    """Per subtype, the p-value of Pearson's chi-square test that its studies share one rate
    (the assumption under which EXNEX pools a subtype's studies; ``nan`` for a subtype with one
    study, 1.0 when every study has no responder or only responders). Approximate with small
    expected counts."""
    if "subgroup_rate" not in tree["posterior"]:
        return [float("nan")] * tree["posterior"].sizes["unit"]
    from scipy import stats  # here: scipy.stats costs about a second to import

    events = tree["observed_data"]["events"].values.astype(np.int64)
    n = tree["constant_data"]["n"].values.astype(np.int64)
    idx = tree["constant_data"]["subgroup_index"].values.astype(np.int64)
    out = []
    for g in range(tree["posterior"].sizes["subgroup"]):
        y, m = events[idx == g], n[idx == g]
        if len(y) < 2:
            out.append(float("nan"))
        elif y.sum() == 0 or y.sum() == m.sum():
            out.append(1.0)
        else:
            table = np.vstack([y, m - y])
            out.append(float(stats.chi2_contingency(table, correction=False).pvalue))
    return out


def exchangeability_summary(tree: xr.DataTree, thresholds: Sequence[float] = ()) -> pd.DataFrame:
    """One row per subtype of an EXNEX fit: ``subtype``, ``studies`` (with ``by``), ``n``,
    ``responders``, ``prior_p_ex`` and ``posterior_p_ex`` (probability of exchangeability),
    ``posterior_p_<component>`` with several EX components, the rate's posterior ``mean`` and
    95% equal-tailed ``ci_low``/``ci_high``, ``P(rate > t)`` for each threshold, and with ``by``
    the within-subtype homogeneity p-value (:func:`within_subtype_homogeneity`)."""
    from bayes_anlo.models.exnex import Exnex

    model = Exnex.from_tree(tree)
    post = tree["posterior"]
    dim, labels, studies, n, responders = _subtype_data(tree)
    rate = post["subgroup_rate" if dim == "subgroup" else "study_rate"]
    draws = rate.stack(sample=("chain", "draw")).transpose(dim, "sample").values
    frame = pd.DataFrame({"subtype": labels})
    if dim == "subgroup":
        frame["studies"] = studies
    frame["n"] = n
    frame["responders"] = responders
    frame["prior_p_ex"] = model.weight_ex
    frame["posterior_p_ex"] = post["prob_exchangeable"].mean(("chain", "draw")).values
    if model.n_ex > 1:
        probs = post["prob_component"].mean(("chain", "draw"))
        for c in post["component"].values:
            frame[f"posterior_p_{c}"] = probs.sel(component=c).values
    frame["mean"] = draws.mean(axis=1)
    frame["ci_low"] = np.quantile(draws, 0.025, axis=1)
    frame["ci_high"] = np.quantile(draws, 0.975, axis=1)
    for t in thresholds:
        frame[f"P(rate > {100 * float(t):g}%)"] = (draws > float(t)).mean(axis=1)
    if dim == "subgroup":
        frame["homogeneity_p"] = within_subtype_homogeneity(tree)
    return frame


def exnex_wording(tree: xr.DataTree) -> list[str]:
    """Paragraphs saying what exchangeability means in this fit, its prior weights, and how to
    read the posterior probabilities (numbers from the fit's configuration only, no labels)."""
    from bayes_anlo.models.exnex import Exnex, component_labels

    model = Exnex.from_tree(tree)
    p = model.priors
    nex = p.nex
    if model.n_ex == 1:
        ex_text = (
            f"with prior probability {model.weight_ex:.2f} a subtype is *exchangeable* (EX): its "
            "logit rate is drawn from one normal distribution shared by all exchangeable subtypes, "
            f"whose mean (prior {p.mu.describe()}) and SD (prior {p.tau.describe()}) are learnt "
            "from all of them, so it borrows strength from the others"
        )
    else:
        parts = [
            f"{label} with prior weight {w:.2f} (mean ~ {m.describe()}, SD ~ {t.describe()})"
            for label, w, (m, t) in zip(
                component_labels(model.n_ex),
                model.weights,
                p.ex_components(model.n_ex),
                strict=False,
            )
        ]
        ex_text = (
            f"with prior probability {model.weight_ex:.2f} in all a subtype is *exchangeable* with "
            f"one of {model.n_ex} groups of subtypes (EX components: {'; '.join(parts)}); within "
            "a component the logit rates share one normal distribution whose mean and SD are "
            "learnt from the subtypes in it"
        )
    paragraphs = [
        "EXNEX (Neuenschwander, Wandel, Roychoudhury & Bailey 2016, Pharm Stat 15:123): "
        + ex_text
        + f"; with prior probability {model.weights[-1]:.2f} it is *non-exchangeable* (NEX): its "
        f"logit rate has its own prior {nex.describe()} and rests on its own data alone. "
        "Exchangeable means that, before seeing the data, nothing distinguishes one subtype's "
        "rate from the others' beyond what the common distribution allows.",
        "The posterior probability of exchangeability, P(EX), is how far the data support "
        "borrowing for each subtype: a subtype whose rate sits with the others keeps or gains "
        "P(EX) and its estimate is pulled toward theirs; one far from them loses P(EX) and is "
        "estimated mostly from its own patients. Each subtype's rate is a mixture over the "
        "components, weighted by these posterior probabilities (its mean and 95% credible "
        "interval below).",
    ]
    if "subgroup_rate" in tree["posterior"]:
        paragraphs.append(
            "Several studies per subtype: the studies of a subtype are taken to share the "
            "subtype's rate, so the subtype enters the model with its pooled count (responders "
            "and patients summed). Where the homogeneity test below is small, the subtype's "
            "studies differ by more than chance and its interval is too narrow."
        )
    return paragraphs


def add_exnex_results(result: AnalysisResult, tree: xr.DataTree, thresholds=()) -> None:
    """Store the exchangeability table and the wording in ``result`` (EXNEX fits only)."""
    if tree.attrs.get("model") != "exnex" or "prob_exchangeable" not in tree["posterior"]:
        return
    result.tables["exchangeability"] = exchangeability_summary(tree, thresholds)
    result.sections["exnex"] = exnex_wording(tree)


def exnex_blocks(result: AnalysisResult, key: str) -> list[Block]:
    """The "Exchangeability (EXNEX)" blocks of an analysis (none for other models)."""
    if "exchangeability" not in result.tables:
        return []
    blocks: list[Block] = [Heading("Exchangeability (EXNEX)", 3, anchor=f"exnex-{key}")]
    blocks += [Paragraph(text) for text in result.sections.get("exnex", [])]
    frame = result.tables["exchangeability"]
    exceed = tuple(c for c in frame.columns if c.startswith("P(rate >"))
    components = tuple(c for c in frame.columns if c.startswith("posterior_p_EX"))
    components += tuple(c for c in frame.columns if c == "posterior_p_NEX")
    blocks += result_table(
        result,
        "exchangeability",
        "Per subtype: patients and responders, prior -> posterior probability of "
        "exchangeability, the rate's posterior mean and 95% CrI"
        + (", P(rate > threshold)" if exceed else "")
        + (
            ", and the within-subtype homogeneity test (chi-square p)"
            if "homogeneity_p" in frame
            else ""
        ),
        percent=PERCENT_COLUMNS + components + exceed,
    )
    return blocks
