"""`bayes-anlo rates` prints, to the last bit, what the slower path it replaced printed.

The quick path draws the Bayesian block with NumPy (the exact engine's draws summarised without a
DataTree) and takes its quantiles and tail areas from scipy.special instead of scipy.stats. Here the
reference for every number is computed the old way, independently of those shortcuts:

* the Bayesian block from the fitted DataTree of ``BetaBinomial(method="exact")`` (one study:
  ``CompletePooling``), summarised by ``report.tables`` and ``models.exceedance``, as ``run`` does;
* the frequentist rows and diagnostics with scipy.stats' own functions patched into the modules
  that now use ``bayes_anlo.frequentist.distributions``.

The two JSON texts must be equal (the README examples, with and without ``--by``, a bundled dataset
with ``--tau2 DL,REML,PM --moderator year``, one study); the bundled dataset's rows are also checked
against R metafor (tests/reference/meta_extended.json).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from bayes_anlo import quick
from bayes_anlo.frequentist import (
    influence,
    intervals,
    pooling,
    random_effects,
    small_study,
    subgroups,
    tau2,
)
from bayes_anlo.quick import QUICK_SEED, quick_rates

ROOT = Path(__file__).resolve().parents[1]
MY_STUDIES = str(ROOT / "examples" / "my_studies.csv")
META = json.loads((ROOT / "tests" / "reference" / "meta_extended.json").read_text())

#: scipy.stats twins of bayes_anlo.frequentist.distributions
SCIPY_STATS = {
    "norm_ppf": stats.norm.ppf,
    "norm_isf": stats.norm.isf,
    "norm_sf": stats.norm.sf,
    "t_ppf": stats.t.ppf,
    "t_isf": stats.t.isf,
    "t_sf": stats.t.sf,
    "chi2_sf": stats.chi2.sf,
    "chi2_cdf": stats.chi2.cdf,
    "chi2_isf": stats.chi2.isf,
    "chi2_ppf": stats.chi2.ppf,
    "f_sf": stats.f.sf,
    "beta_ppf": stats.beta.ppf,
}
MODULES = (pooling, random_effects, tau2, intervals, small_study, influence, subgroups)


def datatree_bayesian(data, thresholds):
    """The Bayesian block as ``rates`` computed it before: fit, DataTree, report tables."""
    from bayes_anlo.models import BetaBinomial, CompletePooling, exceedance
    from bayes_anlo.report import tables

    single = len(data) < 2
    model = CompletePooling(method="exact") if single else BetaBinomial(method="exact")
    tree = model.fit(data, random_seed=QUICK_SEED)
    names = ("pooled_rate",) if single else ("pooled_rate", "predictive_rate", "kappa", "icc")
    summary = tables.posterior_summary(tree, names)
    out = {"model": model.name, "method": "exact", "priors": model.priors.describe()}
    for name in ("pooled_rate", "predictive_rate", "kappa", "icc"):
        out[name] = None
    for row in summary.itertuples(index=False):
        out[row.variable] = {
            "median": float(row.median),
            "mean": float(row.mean),
            "ci_low": float(row.ci_low),
            "ci_high": float(row.ci_high),
        }
    if single:
        out["note"] = (
            "one study: the conjugate single-rate model; no between-study heterogeneity or "
            "predictive rate"
        )
    variables = ["pooled_rate"] if single else ["pooled_rate", "predictive_rate"]
    out["exceedance"] = []
    if thresholds:
        exc = exceedance(tree, thresholds, var=variables)
        out["exceedance"] = [
            {"variable": r.variable, "threshold": float(r.threshold), "probability": r.probability}
            for r in exc.itertuples(index=False)
        ]
    studies = tables.study_table(data.labels, data.events, data.n, tree)
    out["study_rates"] = [
        {
            "label": r.label,
            "events": int(r.events),
            "n": int(r.n),
            "observed": float(r.observed),
            "shrunken": float(r.shrunken),
            "ci_low": float(r.shrunken_low),
            "ci_high": float(r.shrunken_high),
        }
        for r in studies.itertuples(index=False)
    ]
    return out


CASES = {
    "my_studies": (MY_STUDIES, {"outcome": "ORR"}),
    "my_studies_by_subgroup": (
        MY_STUDIES,
        {"outcome": "ORR", "by": "subgroup", "thresholds": ("0.2",)},
    ),
    "bundled_tau2_moderator": (
        "sarcoma_literature_abstracts",
        {"outcome": "ORR", "tau2": "DL,REML,PM", "moderator": "year", "thresholds": ("10%",)},
    ),
    "one_study": ("qin2025_npc_response", {"outcome": "DCR", "thresholds": ("70%",)}),
}


def _json(result: dict) -> str:
    return json.dumps(result, indent=2, allow_nan=False)


@pytest.mark.parametrize("case", sorted(CASES))
def test_rates_json_is_the_datatree_and_scipy_stats_result_bit_for_bit(case, monkeypatch):
    source, options = CASES[case]
    fast = _json(quick_rates(source, **options))
    with monkeypatch.context() as patch:
        patch.setattr(quick, "_bayesian", datatree_bayesian)
        for module in MODULES:
            for name, function in SCIPY_STATS.items():
                if hasattr(module, name):
                    patch.setattr(module, name, function)
        reference = _json(quick_rates(source, **options))
    assert fast == reference


def test_bundled_rows_still_reproduce_metafor():
    out = quick_rates("sarcoma_literature_abstracts", outcome="ORR", tau2="DL,REML,PM")
    rows = {r["method"]: r for r in out["frequentist"]}
    for transform, measure in (("pft", "PFT"), ("logit", "PLO")):
        for method in ("DL", "REML", "PM"):
            for test, suffix in (("z", ""), ("knha", "-HK")):
                row = rows[f"{measure}-{method}{suffix}"]
                ref = META["pooling"][f"sarcoma_orr/{transform}/{method}/{test}"]
                keys = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "q_p")
                np.testing.assert_allclose(
                    [row[k] for k in keys], [ref[k] for k in keys], rtol=1e-6, atol=1e-10
                )


def test_model_names_are_the_registry_names():
    from bayes_anlo.models import BetaBinomial, CompletePooling

    assert (quick.BETA_BINOMIAL, quick.COMPLETE_POOLING) == (
        BetaBinomial.name,
        CompletePooling.name,
    )
