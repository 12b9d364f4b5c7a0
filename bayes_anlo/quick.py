"""``bayes-anlo rates``: a quick analysis of one outcome in one call, as a JSON-friendly dict.

Frequentist: PFT-DL, PFT-REML, PLO-DL, PLO-REML (metafor conventions) and the ML logit GLMM.
Bayesian: the hierarchical beta-binomial computed by the exact (quadrature) engine, with its
default priors, so the command takes well under a second. With ``by``, the same for each level of
the column plus the frequentist test for subgroup differences.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from bayes_anlo.data.binary import BinaryData, load_binary
from bayes_anlo.report import tables

QUICK_SEED = 20251122


def _clean(value):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def _frequentist(data: BinaryData) -> list[dict]:
    from bayes_anlo import frequentist as fq
    from bayes_anlo.pipeline.binary import frequentist_results

    if len(data) < 2:
        ci = fq.proportion_ci(data.events, data.n, "clopper-pearson")
        return [{"method": "Clopper-Pearson (single study)", "estimate": float(ci.estimate[0]),
                 "ci_low": float(ci.ci_low[0]), "ci_high": float(ci.ci_high[0]), "pi_low": None,
                 "pi_high": None, "tau2": None, "i2": None}]
    results, _ = frequentist_results(data)
    keys = ("method", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2")
    return [{k: _clean(r.to_dict().get(k)) for k in keys} for r in results]


def _bayesian(data: BinaryData, thresholds: tuple[float, ...]) -> dict:
    from bayes_anlo.models import BetaBinomial

    model = BetaBinomial(method="exact")
    tree = model.fit(data, random_seed=QUICK_SEED)
    summary = tables.posterior_summary(tree, ("pooled_rate", "predictive_rate", "kappa", "icc"))
    out: dict = {"model": "beta_binomial", "method": "exact", "priors": getattr(model.priors, "describe", lambda: repr(model.priors))()}
    for row in summary.itertuples(index=False):
        out[row.variable] = {"median": float(row.median), "mean": float(row.mean),
                             "ci_low": float(row.ci_low), "ci_high": float(row.ci_high)}
    if thresholds:
        from bayes_anlo.models import exceedance

        exc = exceedance(tree, thresholds, var=["pooled_rate", "predictive_rate"])
        out["exceedance"] = [{"variable": r.variable, "threshold": r.threshold, "probability": r.probability}
                             for r in exc.itertuples(index=False)]
    studies = tables.study_table(data.labels, data.events, data.n, tree)
    out["study_rates"] = [{"label": r.label, "events": int(r.events), "n": int(r.n), "observed": float(r.observed),
                           "shrunken": float(r.shrunken), "ci_low": float(r.shrunken_low), "ci_high": float(r.shrunken_high)}
                          for r in studies.itertuples(index=False)]
    return out


def _one(data: BinaryData, thresholds) -> dict:
    return {"k": len(data), "total_n": int(data.n.sum()), "total_events": int(data.events.sum()),
            "frequentist": _frequentist(data), "bayesian": _bayesian(data, thresholds)}


def quick_rates(file: str | Path | pd.DataFrame, *, outcome: str, by: str | None = None,
                thresholds: tuple[float, ...] = ()) -> dict:
    """Frequentist and Bayesian pooled rates for one outcome (see module docstring)."""
    data = load_binary(file).select(outcome=outcome)
    result = {"file": str(file), "outcome": outcome, **_one(data, thresholds)}
    if by is not None:
        from bayes_anlo import frequentist as fq
        from bayes_anlo.errors import InputError

        if by not in data.table.columns:
            raise InputError(f"no column {by!r} to group by", file=str(file))
        _, levels = data.group_index(by)
        result["by"] = by
        result["subgroups"] = {str(level): _one(data.select(**{by: level}), thresholds) for level in levels}
        if len(levels) >= 2:
            sub = fq.subgroup_analysis(data, by, transform="logit", method="REML")
            result["subgroup_test"] = {"method": sub.method, "q_between": _clean(sub.q_between),
                                       "df": _clean(sub.q_between_df), "p": _clean(sub.q_between_p)}
    return result


def format_quick_rates(result: dict) -> str:
    """A plain-text rendering of :func:`quick_rates` output."""
    lines = [f"{result['file']}: {result['outcome']}, k = {result['k']} studies, {result['total_events']}/{result['total_n']} patients", ""]
    lines.append(f"{'method':<28}{'estimate':>9}  {'95% CI':>17}  {'95% PI':>17}  {'tau2':>7}  {'I2':>6}")

    def pct(x):
        return "" if x is None else f"{100 * x:.1f}"

    for r in result["frequentist"]:
        ci = f"{pct(r['ci_low'])}-{pct(r['ci_high'])}"
        pi = f"{pct(r['pi_low'])}-{pct(r['pi_high'])}" if r.get("pi_low") is not None else ""
        tau2 = "" if r.get("tau2") is None else f"{r['tau2']:.3f}"
        i2 = "" if r.get("i2") is None else f"{r['i2']:.1f}"
        lines.append(f"{r['method']:<28}{pct(r['estimate']):>9}  {ci:>17}  {pi:>17}  {tau2:>7}  {i2:>6}")
    b = result["bayesian"]
    p, q = b["pooled_rate"], b.get("predictive_rate")
    pi = f"{pct(q['ci_low'])}-{pct(q['ci_high'])}" if q else ""
    lines.append(f"{'Bayes beta-binomial (exact)':<28}{pct(p['median']):>9}  {pct(p['ci_low']) + '-' + pct(p['ci_high']):>17}  {pi:>17}")
    lines.append(f"\nPriors: {b['priors']}")
    for e in b.get("exceedance", []):
        lines.append(f"P({e['variable']} > {100 * e['threshold']:.0f}%) = {e['probability']:.3f}")
    for level, sub in result.get("subgroups", {}).items():
        sp = sub["bayesian"]["pooled_rate"]
        lines.append(f"  {result['by']} = {level}: k = {sub['k']}, Bayes {pct(sp['median'])}% ({pct(sp['ci_low'])}-{pct(sp['ci_high'])})")
    if result.get("subgroup_test"):
        lines.append(f"Test for subgroup differences: {result['subgroup_test']}")
    lines.append("(percent; estimates as metafor prints them; Bayesian: posterior median and 95% credible interval)")
    return "\n".join(lines)
