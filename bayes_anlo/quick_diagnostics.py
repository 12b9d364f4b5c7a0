"""The diagnostics block of ``bayes-anlo rates``: heterogeneity intervals, small-study tests,
trim-and-fill, influence, leave-one-out and meta-regression, as JSON-friendly dicts and text.

Every part is computed on one model (``rates`` uses PLO-REML); a part that cannot be computed
(too few studies, a failed fit) is None with the reason under ``notes``. With fewer than
:data:`~bayes_anlo.frequentist.small_study.MIN_STUDIES` studies ``caveat`` says that the
small-study tests and trim-and-fill have little power.
"""

from __future__ import annotations

from bayes_anlo.data.binary import BinaryData
from bayes_anlo.errors import InputError

_FAILURES = (ValueError, RuntimeError, ArithmeticError)


def _label(transform: str, method: str) -> str:
    return f"{'PFT' if transform == 'pft' else 'PLO'}-{method}"


def _reason(exc: Exception) -> str:
    if isinstance(exc, InputError):
        return "; ".join(p.message for p in exc.problems)
    return str(exc) or type(exc).__name__


def diagnostics(data: BinaryData, transform: str = "logit", method: str = "REML") -> dict:
    """``heterogeneity``, ``small_study``, ``trim_and_fill``, ``influence``, ``leave_one_out``,
    ``caveat`` and ``notes`` for the model ``transform``-``method`` (z tests)."""
    from bayes_anlo import frequentist as fq
    from bayes_anlo.frequentist.effects import study_effects
    from bayes_anlo.frequentist.small_study import MIN_STUDIES, SMALL_K_CAVEAT

    k = len(data)
    out: dict = {
        "diagnostics_model": _label(transform, method),
        "heterogeneity": None,
        "small_study": None,
        "trim_and_fill": None,
        "influence": None,
        "leave_one_out": None,
        "caveat": SMALL_K_CAVEAT if k < MIN_STUDIES else None,
        "notes": {},
    }

    def attempt(key, compute):
        try:
            out[key] = compute()
        except _FAILURES as exc:
            out["notes"][key] = f"not computed: {_reason(exc)}"

    def heterogeneity():
        eff = study_effects(data, transform=transform)
        fit = fq.fit_uni(eff.yi, eff.vi, method=method)
        ci = fq.q_profile_ci(eff.yi, eff.vi, tau2=fit.tau2, method=out["diagnostics_model"])
        return {**ci.to_dict(), "q": fit.q, "q_df": fit.q_df, "q_p": fit.q_p}

    def small_study():
        return [
            fq.regression_test(data, predictor=p, transform=transform, method=method).to_dict()
            for p in ("sei", "ninv")
        ]

    def trim_fill():
        return fq.trim_and_fill(data, transform=transform, method=method).to_dict()

    def influence():
        return fq.influence_diagnostics(data, transform=transform, method=method).to_dict()

    def leave_one_out():
        frame = fq.leave_one_out(data, transform=transform, method=method)
        keep = ["left_out", "k", "estimate", "ci_low", "ci_high", "tau2", "i2", "q", "q_p"]
        return frame[keep].to_dict("records")

    attempt("heterogeneity", heterogeneity)
    attempt("small_study", small_study)
    attempt("trim_and_fill", trim_fill)
    attempt("influence", influence)
    attempt("leave_one_out", leave_one_out)
    return out


def meta_regression_summary(
    data: BinaryData, moderator: str, transform: str = "logit", method: str = "REML"
) -> dict:
    """``rma(mods = ~ moderator)`` as a dict; a moderator column that is missing or unusable is
    an InputError (the user named it), a model that cannot be fitted keeps a note."""
    from bayes_anlo import frequentist as fq

    try:
        return fq.meta_regression(data, moderator, transform=transform, method=method).to_dict()
    except InputError:
        raise
    except _FAILURES as exc:
        return {"moderator": moderator, "note": f"not computed: {_reason(exc)}"}


def cumulative_summary(
    data: BinaryData, column: str, transform: str = "logit", method: str = "REML"
) -> dict:
    """``cumul(rma(...), order = column)`` as a dict (rate-scale rows in the order added)."""
    from bayes_anlo import frequentist as fq

    try:
        return fq.cumulative_meta_analysis(
            data, order=column, transform=transform, method=method
        ).to_dict()
    except InputError:
        raise
    except _FAILURES as exc:
        return {"order_by": column, "note": f"not computed: {_reason(exc)}"}


def _value(v) -> str:
    return format(v, "g") if isinstance(v, float) else str(v)


def _p(p) -> str:
    if p is None:
        return "NA"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _num(x, fmt: str = ".3g") -> str:
    return "NA" if x is None else format(x, fmt)


def _pct(x) -> str:
    return "NA" if x is None else f"{100 * x:.1f}%"


def diagnostics_lines(result: dict) -> list[str]:
    """Text lines for the diagnostics and meta-regression parts of a ``quick_rates`` result."""
    if "diagnostics_model" not in result:
        return []
    model = result["diagnostics_model"]
    lines = ["", f"Diagnostics ({model}):"]
    h = result.get("heterogeneity")
    if h:
        lines.append(
            f"  heterogeneity: tau2 {_num(h['tau2'])} (Q-profile 95% CI {_num(h['tau2_low'])}-"
            f"{_num(h['tau2_high'])}), I2 {_num(h['i2'], '.1f')}% ({_num(h['i2_low'], '.1f')}-"
            f"{_num(h['i2_high'], '.1f')}%), Q = {h['q']:.2f} (df {h['q_df']}, p = {_p(h['q_p'])})"
        )
    for t in result.get("small_study") or []:
        stat = "t" if t.get("df") else "z"
        lines.append(f"  {t['method']}: {stat} = {_num(t['z'], '.2f')}, p = {_p(t['p_value'])}")
    tf = result.get("trim_and_fill")
    if tf:
        lines.append(
            f"  trim and fill (L0): {tf['k0']} stud{'y' if tf['k0'] == 1 else 'ies'} filled on the "
            f"{tf['side']}; adjusted estimate {_pct(tf['estimate'])} "
            f"({_pct(tf['ci_low'])} to {_pct(tf['ci_high'])})"
        )
    inf = result.get("influence")
    if inf:
        flagged = [s["label"] for s in inf["studies"] if s["influential"]]
        lines.append(f"  influential studies (metafor's criteria): {', '.join(flagged) or 'none'}")
    loo = result.get("leave_one_out")
    if loo:
        est = [r["estimate"] for r in loo if r["estimate"] is not None]
        if est:
            lines.append(f"  leave-one-out: pooled rate from {_pct(min(est))} to {_pct(max(est))}")
    for key, note in (result.get("notes") or {}).items():
        lines.append(f"  {key.replace('_', ' ')}: {note}")
    if result.get("caveat"):
        lines.append(f"  Caveat: {result['caveat']}.")
    cu = result.get("cumulative")
    if cu:
        lines += ["", f"Cumulative meta-analysis by {cu['order_by']} ({cu.get('method', model)}):"]
        if cu.get("note"):
            lines.append(f"  {cu['note']}")
        for r in cu.get("rows", []):
            added = f"{r['added']} ({_value(r['order_value'])})"
            lines.append(
                f"  + {added}: k = {r['k']}, {_pct(r['estimate'])} "
                f"({_pct(r['ci_low'])} to {_pct(r['ci_high'])})"
            )
    mr = result.get("meta_regression")
    if mr:
        lines += ["", f"Meta-regression on {mr['moderator']} ({mr.get('method', model)}):"]
        if mr.get("note"):
            lines.append(f"  {mr['note']}")
        else:
            for c in mr["coefficients"]:
                lines.append(
                    f"  {c['term']:<24}{c['estimate']:>9.4f}  SE {c['se']:.4f}  "
                    f"95% CI {c['ci_low']:.4f} to {c['ci_high']:.4f}  p = {_p(c['p_value'])}"
                )
            lines.append(
                f"  QM = {mr['qm']:.3f} (df {mr['qm_df1']}, p = {_p(mr['qm_p'])}); residual tau2 "
                f"{_num(mr['tau2'])}, I2 {_num(mr['i2'], '.1f')}%, R2 {_num(mr['r2'], '.1f')}%"
            )
    return lines
