"""``bayes-anlo rates``: a quick analysis of one outcome in one call, as a JSON-friendly dict.

Frequentist: PFT and PLO (metafor conventions) with each chosen tau^2 estimator (default DL and
REML; ``tau2`` picks from DL, REML, PM, ML, SJ, HS, EB), each z-based row followed by its
Hartung-Knapp twin ``<TRANSFORM>-<ESTIMATOR>-HK``, and the ML logit GLMM; each with Cochran's Q
(for the GLMM: the likelihood-ratio statistic, as ``rma.glmm`` prints it) and tau^2 on its own
scale (``tau2_scale``: ``pft`` or ``logit``). ``rows`` says which rows are shown and why. A method
that cannot be computed keeps its row, with nulls and the reason in ``note``.

Diagnostics (two or more studies), all on the PLO-REML model (:data:`DIAGNOSTIC_MODEL`):
``heterogeneity`` (Q-profile CIs of tau^2, I^2, H^2), ``small_study`` (Egger's and the sample-size
regression test: method, z, p), ``trim_and_fill``, ``influence`` (studentized residuals, Cook's
distance, DFFITS, hat values, weights), ``leave_one_out`` (rate scale); ``caveat`` when k < 10.
With ``moderator``, ``meta_regression`` (``rma(mods = ~ moderator)``, logit, REML); with
``cumulative_by``, ``cumulative`` (``cumul``, studies ordered by that column).

Bayesian: the hierarchical beta-binomial computed by the exact (quadrature) engine with its
default priors; for a single study the conjugate single-rate model (``complete_pooling``,
p ~ Beta(1, 1)) and the four single-study confidence intervals, exactly as ``bayes-anlo run`` does
for one study. Reported: pooled and predictive rate, heterogeneity (kappa, ICC), shrunken study
rates and P(rate > t). The draws are those of ``BetaBinomial(method="exact").fit`` (same engine,
steps and seeds), summarised with NumPy instead of through a DataTree: the same numbers, at a
fraction of the imports (tests/test_quick_rates.py compares the two).

With ``by``, the same for each level of the column (rows with a blank cell belong to no level and
are listed as ``unassigned``) plus the frequentist test for subgroup differences (logit, REML,
separate tau^2 per subgroup).

Every number in the result is finite or None, so ``json.dumps(result, allow_nan=False)`` works.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_anlo.data.binary import BinaryData, load_binary
from bayes_anlo.errors import InputError, Problem

QUICK_SEED = 20251122

#: The frequentist pooled results of every multi-study analysis: the same four as
#: ``bayes_anlo.pipeline.binary.FREQUENTIST_METHODS`` (a test checks), repeated here so that
#: ``rates`` does not import the reporting stack (matplotlib) that the pipeline module needs.
POOLING_METHODS = (("pft", "DL"), ("pft", "REML"), ("logit", "DL"), ("logit", "REML"))
#: One study: the intervals of ``bayes_anlo.pipeline.binary.SINGLE_STUDY_METHODS`` (same labels, a
#: test checks), i.e. the rows ``run`` writes for a one-study analysis.
SINGLE_STUDY_METHODS = (
    ("clopper-pearson", "Clopper-Pearson (exact)"),
    ("wilson", "Wilson score"),
    ("wald", "Wald"),
    ("spss-t", "SPSS t-interval of a 0/1 variable"),
)
GLMM_METHOD = "GLMM-ML"
FREQUENTIST_KEYS = (
    "method",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "tau2_scale",
    "i2",
    "q",
    "q_df",
    "q_p",
    "note",
)
SUBGROUP_TEST_METHOD = "PLO-REML"
#: tau^2 estimators shown when none are asked for, and why (printed in the text and the JSON).
DEFAULT_TAU2 = ("DL", "REML")
ROWS_WHY = (
    "DL because most published meta-analyses of proportions print it (Stata metaprop, RevMan), "
    "REML because it is metafor's default and less biased; each z row is followed by its "
    "Hartung-Knapp twin (-HK), which keeps its coverage with few studies where z intervals are "
    "too narrow (IntHout et al. 2014, BMC Med Res Methodol 14:25); the GLMM needs no transform"
)
ROWS_WHY_CHOSEN = (
    "the tau^2 estimators asked for with --tau2, each z row followed by its Hartung-Knapp twin "
    "(-HK), and the GLMM"
)
#: The model the diagnostics use: logit (no back-transform problem, unlike PFT) with REML.
DIAGNOSTIC_MODEL = ("logit", "REML")
HETEROGENEITY = ("kappa", "icc")
#: The largest study size ``rates`` accepts. Far beyond any clinical study; above it the
#: quadrature of the beta-binomial and the GLMM lose precision (float64 represents counts
#: exactly only to 2**53, and n = 1e18 gave a wrong posterior), so such rows are refused.
MAX_N = 10**9


# --- inputs --------------------------------------------------------------------------------------


def parse_threshold(value: float | str) -> float:
    """A threshold for P(rate > t): a proportion strictly between 0 and 1 (``0.2``) or an explicit
    percentage (``"20%"``); anything else (``70``, ``-0.5``, ``nan``, ``100%``) is an InputError."""
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = float(text[:-1] if percent else text)
    except ValueError:
        number = math.nan
    if percent:
        number /= 100
    if not (math.isfinite(number) and 0 < number < 1):
        hint = (
            " (a percentage needs a % sign: 70%)"
            if not percent and math.isfinite(number) and 1 <= number < 100
            else ""
        )
        raise InputError(
            Problem(
                "command line",
                None,
                "--threshold",
                f"threshold {text!r} is not a proportion strictly between 0 and 1 "
                f"or a percentage strictly between 0% and 100%{hint}",
            )
        )
    return number


def load_rates_data(source: str | Path | pd.DataFrame) -> BinaryData:
    """Binary data from a CSV path, a DataFrame, or the name of a bundled binary dataset (used
    when no file of that name exists)."""
    if isinstance(source, pd.DataFrame):
        return load_binary(source)
    if not Path(source).exists():
        from bayes_anlo import datasets

        if str(source) in datasets.names():
            data = datasets.load(str(source))
            if not isinstance(data, BinaryData):
                raise InputError(
                    f"bundled dataset {str(source)!r} is "
                    f"{datasets.info(str(source))['kind']} data, "
                    "not responders out of n (binary)",
                    file=str(source),
                )
            return data
        raise InputError(
            "no such file, nor a bundled binary dataset of that name "
            "(`bayes-anlo datasets` lists them)",
            file=str(source),
        )
    return load_binary(source)


def check_study_sizes(data: BinaryData, source: str) -> None:
    """Refuse studies with n above :data:`MAX_N` (whatever the loader let through)."""
    too_large = [label for label, m in zip(data.labels, data.n, strict=True) if int(m) > MAX_N]
    if too_large:
        raise InputError(
            [
                Problem(
                    source,
                    None,
                    "n",
                    f"study {label!r}: n above {MAX_N:.0e}; `rates` handles study "
                    "sizes up to a billion",
                )
                for label in too_large
            ]
        )


# --- results -------------------------------------------------------------------------------------


def strict(value):
    """``value`` with NaN and infinities replaced by None and numpy scalars made Python ones."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _null_row(method: str, scale: str | None, reason: str) -> dict:
    row = dict.fromkeys(FREQUENTIST_KEYS)
    row.update(method=method, tau2_scale=scale, note=f"not computed: {reason}")
    return row


def _pooled_row(result) -> dict:
    row = {k: getattr(result, k, None) for k in FREQUENTIST_KEYS}
    row["tau2_scale"] = result.transform
    row["note"] = None
    return row


def parse_tau2_methods(value: str | tuple | list | None) -> tuple[str, ...]:
    """``"DL,REML,PM"`` (or a sequence) -> ("DL", "REML", "PM"); unknown names are an InputError."""
    from bayes_anlo.frequentist.tau2 import TAU2_METHODS

    if value is None:
        return DEFAULT_TAU2
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(v).strip().upper() for v in items if str(v).strip()]
    bad = [v for v in names if v not in TAU2_METHODS]
    if bad or not names:
        raise InputError(
            Problem(
                "command line",
                None,
                "--tau2",
                f"unknown tau^2 estimator {', '.join(map(repr, bad)) or '(none given)'}; "
                f"choose from {', '.join(TAU2_METHODS)} (comma-separated)",
            )
        )
    return tuple(dict.fromkeys(names))


def _frequentist(data: BinaryData, tau2_methods: tuple[str, ...] = DEFAULT_TAU2) -> list[dict]:
    from bayes_anlo import frequentist as fq

    if len(data) < 2:
        rows = []
        for key, label in SINGLE_STUDY_METHODS:
            ci = fq.proportion_ci(data.events, data.n, key)
            row = dict.fromkeys(FREQUENTIST_KEYS)
            row.update(
                method=label,
                estimate=float(ci.estimate[0]),
                ci_low=float(ci.ci_low[0]),
                ci_high=float(ci.ci_high[0]),
            )
            rows.append(row)
        return rows
    rows = []
    for transform in ("pft", "logit"):
        for method in tau2_methods:
            for test in ("z", "knha"):
                label = f"{'PFT' if transform == 'pft' else 'PLO'}-{method}"
                label += "-HK" if test == "knha" else ""
                try:
                    result = fq.pool_proportions(
                        data, transform=transform, method=method, test=test
                    )
                    rows.append(_pooled_row(result))
                except (ValueError, RuntimeError, ArithmeticError) as exc:  # e.g. no convergence
                    rows.append(_null_row(label, transform, _reason(exc)))
    try:
        rows.append(_pooled_row(fq.glmm_logit(data)))
    except (ValueError, RuntimeError, ArithmeticError) as exc:  # e.g. every study with 0 events
        rows.append(_null_row(GLMM_METHOD, "logit", _reason(exc)))
    return rows


def _reason(exc: Exception) -> str:
    if isinstance(exc, InputError):
        return "; ".join(p.message for p in exc.problems)
    return str(exc) or type(exc).__name__


#: The names ``run`` gives the two exact fits of ``rates`` (``BetaBinomial.name``,
#: ``CompletePooling.name``; a test checks), repeated here so that ``rates`` does not import the
#: model classes (xarray, PyMC's front end, the registry).
BETA_BINOMIAL, COMPLETE_POOLING = "beta_binomial", "complete_pooling"
LEVEL = 0.95


def _posterior_draws(data: BinaryData) -> tuple[str, object, dict[str, np.ndarray]]:
    """Model name, prior set and the posterior draws (name -> array of shape (chain, draw) or
    (chain, draw, study)) that ``BetaBinomial(method="exact")`` (one study: ``CompletePooling``)
    puts in its fit with seed :data:`QUICK_SEED`: the same exact engine, steps and random streams,
    without the DataTree and the groups ``rates`` does not print (log-likelihood, replicates,
    log prior)."""
    from bayes_anlo.exact.conjugate import beta_update
    from bayes_anlo.models.priors import BetaBinomialPriors, CompletePoolingPriors
    from bayes_anlo.models.sampling import SamplerSettings, derived_seed

    sampler = SamplerSettings()
    chains, draws = sampler.chains, sampler.draws
    engine_rng = np.random.default_rng(derived_seed(QUICK_SEED, 3))
    events, n = data.events, data.n
    if len(data) < 2:
        priors = CompletePoolingPriors()
        p = beta_update(events, n, priors.p.alpha, priors.p.beta).sample(
            (chains, draws), engine_rng
        )
        study = np.repeat(p[..., None], len(data), axis=-1)
        return COMPLETE_POOLING, priors, {"pooled_rate": p, "study_rate": study}
    from bayes_anlo.exact.beta_binomial import (
        beta_binomial_exact,
        hyperparameter_draws,
        rate_draws,
    )

    priors = BetaBinomialPriors()
    posterior = beta_binomial_exact(events, n, priors)
    mu, kappa = hyperparameter_draws(posterior, chains, draws, engine_rng)
    rates_rng = np.random.default_rng(derived_seed(QUICK_SEED, 2))
    predictive, study = rate_draws(mu, kappa, n, rates_rng, events=events)
    variables = {
        "pooled_rate": mu,
        "predictive_rate": predictive,
        "kappa": kappa,
        "icc": 1.0 / (1.0 + kappa),
        "study_rate": study,
    }
    return BETA_BINOMIAL, priors, variables


def _quantiles(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and equal-tailed :data:`LEVEL` interval along ``axis``."""
    lo, hi = (1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2
    return (
        np.median(values, axis=axis),
        np.quantile(values, lo, axis=axis),
        np.quantile(values, hi, axis=axis),
    )


def _interval(draws: np.ndarray) -> dict:
    """Posterior median, mean and interval of one scalar quantity (the same operations as
    ``report.tables.posterior_summary``, so the same numbers)."""
    values = draws.reshape(1, -1)
    median, low, high = _quantiles(values, axis=1)
    return {
        "median": float(median[0]),
        "mean": float(values.mean(axis=1)[0]),
        "ci_low": float(low[0]),
        "ci_high": float(high[0]),
    }


def _bayesian(data: BinaryData, thresholds: tuple[float, ...]) -> dict:
    from bayes_anlo.frequentist.intervals import proportion_ci

    single = len(data) < 2
    model, priors, draws = _posterior_draws(data)
    names = ("pooled_rate",) if single else ("pooled_rate", "predictive_rate", *HETEROGENEITY)
    out: dict = {"model": model, "method": "exact", "priors": priors.describe()}
    for name in ("pooled_rate", "predictive_rate", *HETEROGENEITY):
        out[name] = _interval(draws[name]) if name in names else None
    if single:
        out["note"] = (
            "one study: the conjugate single-rate model; no between-study heterogeneity or "
            "predictive rate"
        )
    variables = ["pooled_rate"] if single else ["pooled_rate", "predictive_rate"]
    out["exceedance"] = [
        {"variable": v, "threshold": float(t), "probability": float((draws[v] > t).mean())}
        for v in variables
        for t in thresholds
    ]
    study = draws["study_rate"]
    shrunken, low, high = _quantiles(study.reshape(-1, study.shape[-1]), axis=0)
    observed = proportion_ci(data.events, data.n, "clopper-pearson", LEVEL).estimate
    out["study_rates"] = [
        {
            "label": label,
            "events": int(y),
            "n": int(m),
            "observed": float(obs),
            "shrunken": float(med),
            "ci_low": float(lo),
            "ci_high": float(hi),
        }
        for label, y, m, obs, med, lo, hi in zip(
            data.labels, data.events, data.n, observed, shrunken, low, high, strict=True
        )
    ]
    return out


def _one(data: BinaryData, thresholds, tau2_methods=DEFAULT_TAU2) -> dict:
    return {
        "k": len(data),
        "total_n": sum(int(v) for v in data.n),
        "total_events": sum(int(v) for v in data.events),
        "frequentist": _frequentist(data, tau2_methods),
        "bayesian": _bayesian(data, thresholds),
    }


def _subset(data: BinaryData, mask: np.ndarray) -> BinaryData:
    return BinaryData(data.table[mask].reset_index(drop=True), source=data.source)


def _by_values(data: BinaryData, by: str, source: str) -> pd.Series:
    if by not in data.table.columns:
        raise InputError(
            Problem(
                source,
                1,
                by,
                f"no column {by!r} to group by (has: {', '.join(map(str, data.table.columns))})",
            )
        )
    column = data.table[by]
    return column.map(
        lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
    )


def _subgroups(data: BinaryData, by: str, thresholds, source: str, tau2_methods) -> dict:
    from bayes_anlo import frequentist as fq

    values = _by_values(data, by, source)
    assigned = (values != "").to_numpy()
    levels = list(dict.fromkeys(values[assigned]))
    out: dict = {
        "by": by,
        "subgroups": {},
        "unassigned": [lab for lab, a in zip(data.labels, assigned, strict=True) if not a],
    }
    for level in levels:
        out["subgroups"][level] = _one(
            _subset(data, (values == level).to_numpy()), thresholds, tau2_methods
        )
    test = {"method": SUBGROUP_TEST_METHOD, "q_between": None, "df": None, "p": None, "note": None}
    if len(levels) < 2:
        test["note"] = (
            f"not computed: {by!r} has {len(levels)} level{'s' if len(levels) != 1 else ''} "
            "among the studies"
        )
    else:
        grouped = (
            data.table[assigned].reset_index(drop=True).assign(**{by: values[assigned].to_numpy()})
        )
        try:
            sub = fq.subgroup_analysis(
                BinaryData(grouped, source=data.source), by, transform="logit", method="REML"
            )
            test.update(q_between=sub.q_between, df=sub.q_between_df, p=sub.q_between_p)
        except (ValueError, RuntimeError, ArithmeticError) as exc:
            test["note"] = f"not computed: {_reason(exc)}"
    out["subgroup_test"] = test
    return out


def quick_rates(
    file: str | Path | pd.DataFrame,
    *,
    outcome: str,
    by: str | None = None,
    thresholds: tuple[float | str, ...] = (),
    tau2: str | tuple | list | None = None,
    moderator: str | None = None,
    cumulative_by: str | None = None,
) -> dict:
    """Frequentist and Bayesian pooled rates for one outcome (see module docstring).

    ``file`` is a CSV path, a DataFrame or the name of a bundled binary dataset; thresholds are
    proportions in (0, 1) or percentages as text (``"20%"``); ``tau2`` the estimators to show
    (``"DL,REML,PM"``; default :data:`DEFAULT_TAU2`); ``moderator`` a column of the data for a
    meta-regression; ``cumulative_by`` a column to order a cumulative meta-analysis by.
    """
    from bayes_anlo.quick_diagnostics import (
        cumulative_summary,
        diagnostics,
        meta_regression_summary,
    )

    thresholds = tuple(dict.fromkeys(parse_threshold(t) for t in thresholds))
    tau2_methods = parse_tau2_methods(tau2)
    data = load_rates_data(file).select(outcome=outcome)
    source = data.source if isinstance(file, pd.DataFrame) else str(file)
    check_study_sizes(data, source)
    if moderator is not None:  # a missing or unusable column fails before any fit
        from bayes_anlo.frequentist.meta_regression import moderator_design

        moderator_design(data, moderator)
    if cumulative_by is not None and cumulative_by not in data.table.columns:
        raise InputError(
            Problem(source, None, cumulative_by, f"no column {cumulative_by!r} to order by")
        )
    result = {"file": source, "outcome": outcome, **_one(data, thresholds, tau2_methods)}
    result["rows"] = {
        "tau2": list(tau2_methods),
        "tests": ["z", "knha"],
        "default": tau2 is None,
        "why": ROWS_WHY if tau2 is None else ROWS_WHY_CHOSEN,
    }
    if len(data) >= 2:
        result.update(diagnostics(data, *DIAGNOSTIC_MODEL))
    if moderator is not None:
        result["meta_regression"] = meta_regression_summary(data, moderator, *DIAGNOSTIC_MODEL)
    if cumulative_by is not None:
        result["cumulative"] = cumulative_summary(data, cumulative_by, *DIAGNOSTIC_MODEL)
    if by is not None:
        result.update(_subgroups(data, by, thresholds, source, tau2_methods))
    return strict(result)


# --- text ----------------------------------------------------------------------------------------


def _pct(x) -> str:
    return "" if x is None else f"{100 * x:.1f}"


def _range(low, high) -> str:
    return "" if low is None or high is None else f"{_pct(low)}-{_pct(high)}"


def _threshold_text(t: float) -> str:
    return f"{100 * t:.6g}%"


def _frequentist_lines(rows: list[dict]) -> list[str]:
    lines = [
        f"{'method':<34}{'estimate':>9}  {'95% CI':>11}  {'95% PI':>11}  {'tau2':>10} "
        f"{'(scale)':<8}"
        f"{'I2 %':>6}  {'Q (df, p)':<20}"
    ]
    for r in rows:
        if r.get("note"):
            lines.append(f"{r['method']:<34}{r['note']}")
            continue
        tau2 = "" if r.get("tau2") is None else f"{r['tau2']:.4g}"
        scale = f"({r['tau2_scale']})" if r.get("tau2") is not None and r.get("tau2_scale") else ""
        i2 = "" if r.get("i2") is None else f"{r['i2']:.1f}"
        q = "" if r.get("q") is None else f"{r['q']:.2f} ({r['q_df']}, p = {_p(r['q_p'])})"
        lines.append(
            f"{r['method']:<34}{_pct(r['estimate']):>9}  {_range(r['ci_low'], r['ci_high']):>11}  "
            f"{_range(r.get('pi_low'), r.get('pi_high')):>11}  {tau2:>10} {scale:<8}{i2:>6}  "
            f"{q:<20}".rstrip()
        )
    return lines


def _p(p) -> str:
    if p is None:
        return "NA"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _interval_text(s: dict | None) -> str:
    return (
        "" if s is None else f"{_pct(s['median'])}% (95% CrI {_range(s['ci_low'], s['ci_high'])})"
    )


def _bayesian_lines(b: dict) -> list[str]:
    label = (
        "Bayes beta-binomial (exact)"
        if b["model"] == "beta_binomial"
        else "Bayes conjugate Beta (exact)"
    )
    p, q = b["pooled_rate"], b.get("predictive_rate")
    lines = [
        f"{label:<34}{_pct(p['median']):>9}  {_range(p['ci_low'], p['ci_high']):>11}  "
        f"{_range(q['ci_low'], q['ci_high']) if q else '':>11}".rstrip(),
        "",
        f"Priors: {b['priors']}",
    ]
    if b.get("kappa"):
        k, icc = b["kappa"], b["icc"]
        lines.append(
            f"Bayesian heterogeneity: kappa {k['median']:.3g} "
            f"(95% CrI {k['ci_low']:.3g}-{k['ci_high']:.3g}); "
            f"ICC {icc['median']:.3f} (95% CrI {icc['ci_low']:.3f}-{icc['ci_high']:.3f})"
        )
    if b.get("note"):
        lines.append(f"Note: {b['note']}")
    for e in b.get("exceedance", []):
        lines.append(
            f"P({e['variable']} > {_threshold_text(e['threshold'])}) = {e['probability']:.3f}"
        )
    # the label column is as wide as the longest label (trial names such as "KEYNOTE-240
    # pembrolizumab arm (Finn 2020)" are longer than 28 characters and pushed the other columns
    # out of line)
    width = max([28, *(len(s["label"]) + 2 for s in b["study_rates"])])
    lines += [
        "",
        f"{'study':<{width}}{'events/n':>14}  {'observed':>8}  {'shrunken (95% CrI)':<24}",
    ]
    for s in b["study_rates"]:
        lines.append(
            f"{s['label']:<{width}}{str(s['events']) + '/' + str(s['n']):>14}  "
            f"{_pct(s['observed']):>8}  "
            f"{_pct(s['shrunken'])} ({_range(s['ci_low'], s['ci_high'])})"
        )
    return lines


def format_quick_rates(result: dict) -> str:
    """A plain-text rendering of :func:`quick_rates` output."""
    from bayes_anlo.quick_diagnostics import diagnostics_lines

    lines = [
        f"{result['file']}: {result['outcome']}, k = {result['k']} "
        f"{'study' if result['k'] == 1 else 'studies'}, "
        f"{result['total_events']}/{result['total_n']} patients",
        "",
    ]
    lines += _frequentist_lines(result["frequentist"])
    lines += _bayesian_lines(result["bayesian"])
    lines += diagnostics_lines(result)
    if "subgroups" in result:
        lines += ["", f"Subgroups by {result['by']}:"]
        for level, sub in result["subgroups"].items():
            freq = next(
                (
                    r
                    for r in sub["frequentist"]
                    if r["method"] == SUBGROUP_TEST_METHOD and not r.get("note")
                ),
                sub["frequentist"][0],
            )
            freq_text = (
                ""
                if freq.get("estimate") is None
                else f"; {freq['method']} {_pct(freq['estimate'])}% "
                f"({_range(freq['ci_low'], freq['ci_high'])})"
            )
            lines.append(
                f"  {result['by']} = {level}: k = {sub['k']}, "
                f"Bayes {_interval_text(sub['bayesian']['pooled_rate'])}"
                f"{freq_text}"
            )
        if result.get("unassigned"):
            lines.append(
                f"  no {result['by']} (left out of the subgroups): "
                f"{', '.join(result['unassigned'])}"
            )
        t = result["subgroup_test"]
        if t.get("note"):
            lines.append(f"Test for subgroup differences ({t['method']}): {t['note']}")
        else:
            lines.append(
                f"Test for subgroup differences ({t['method']}, separate tau2): "
                f"Q = {t['q_between']:.2f}, "
                f"df = {t['df']}, p = {_p(t['p'])}"
            )
    if "rows" in result:
        rows = result["rows"]
        lines += [
            "",
            f"Frequentist rows: tau2 by {', '.join(rows['tau2'])}, each with z and Hartung-Knapp "
            f"(-HK) intervals{' (the default)' if rows['default'] else ''}: {rows['why']}.",
        ]
    lines += [
        "",
        "(percent; estimates as metafor prints them; tau2 on its method's scale: pft = "
        "Freeman-Tukey double arcsine, logit = log odds; Q for GLMM-ML is the likelihood-ratio "
        "statistic; Bayesian: posterior median "
        "and 95% credible interval)",
    ]
    return "\n".join(lines)
