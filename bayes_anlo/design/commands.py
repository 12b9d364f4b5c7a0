"""What ``bayes-anlo map`` and ``bayes-anlo design`` do, as functions returning JSON-ready dicts
(the CLI only parses options and prints), plus the parsing of their text arguments.

Priors on the command line (:func:`parse_prior`): ``beta(a, b)``; ``mix(w, a, b; w, a, b ...)``;
or the path of a JSON file written by ``bayes-anlo map --json`` (its ``mixture``), with
``:robust`` appended for its robustified mixture. Criteria (:func:`parse_criterion`):
``THRESHOLD:PROBABILITY`` for ``P(quantity > THRESHOLD) > PROBABILITY``, with a leading ``<``
for ``P(quantity < THRESHOLD) > PROBABILITY``. Grids of rates (:func:`parse_grid`):
``FROM:TO:STEP`` or a comma-separated list.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_anlo.design.decisions import (
    Criterion,
    OneSampleRule,
    TwoSampleRule,
    boundary_two_sample,
    difference_for_power,
    oc_one_sample,
    oc_two_sample,
    pos_one_sample,
    pos_two_sample,
)
from bayes_anlo.design.ess import ess_all
from bayes_anlo.design.mixtures import BetaMixture
from bayes_anlo.errors import InputError

MAP_SEED = 20251130
#: Largest beta parameter accepted on the command line (a prior worth a million patients).
MAX_AB = 1e6
#: Largest arm of a two-sample design (its success matrix is decided by bisection per control
#: outcome, each decision a quadrature), and of a one-sample design.
MAX_N_TWO_SAMPLE, MAX_N_ONE_SAMPLE = 1000, 10_000
_NUMBER = r"\s*([-+0-9.eE]+)\s*"


def _bad(text: str, what: str, reason: str) -> InputError:
    return InputError(f"{what} {text!r}: {reason}", file="<command line>")


def _number(text: str, what: str, full: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _bad(full, what, f"{text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise _bad(full, what, "numbers must be finite")
    return value


def parse_prior(text: str, what: str = "--prior") -> BetaMixture:
    """A beta mixture from ``beta(a, b)``, ``mix(w, a, b; ...)`` or ``FILE.json[:robust]``."""
    raw = text.strip()
    match = re.fullmatch(r"beta\((.*)\)", raw, flags=re.IGNORECASE)
    if match:
        parts = match.group(1).split(",")
        if len(parts) != 2:
            raise _bad(text, what, "write beta(a, b)")
        rows = [[1.0, *(_number(p, what, text) for p in parts)]]
    else:
        match = re.fullmatch(r"mix\((.*)\)", raw, flags=re.IGNORECASE)
        if match:
            rows = []
            for comp in match.group(1).split(";"):
                parts = comp.split(",")
                if len(parts) != 3:
                    raise _bad(text, what, "write mix(weight, a, b; weight, a, b ...)")
                rows.append([_number(p, what, text) for p in parts])
        else:
            return _prior_from_file(raw, what)
    w, a, b = (np.array(col) for col in zip(*rows, strict=True))
    if np.any(a <= 0) or np.any(b <= 0) or np.any(a > MAX_AB) or np.any(b > MAX_AB):
        raise _bad(text, what, f"beta parameters a and b must be positive and at most {MAX_AB:g}")
    if np.any(w <= 0):
        raise _bad(text, what, "mixture weights must be positive")
    return BetaMixture.of(w, a, b)


def _prior_from_file(raw: str, what: str) -> BetaMixture:
    path, key = raw, "mixture"
    if raw.endswith(":robust"):
        path, key = raw[: -len(":robust")], "robust"
    if not Path(path).is_file():
        raise _bad(
            raw, what, "not beta(a, b), mix(w, a, b; ...) nor a JSON file written by `map --json`"
        )
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
        return BetaMixture.from_dict(content[key])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read a prior from it ({exc})", file=path) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"no valid {key!r} mixture (a file written by `bayes-anlo map --json` has one): {exc}",
            file=path,
        ) from None


def parse_criterion(text: str) -> Criterion:
    """``T:C`` -> ``P(q > T) > C``; ``<T:C`` -> ``P(q < T) > C``."""
    raw = text.strip()
    direction = "less" if raw.startswith("<") else "greater"
    body = raw.lstrip("<>").strip()
    parts = body.split(":")
    if len(parts) != 2:
        raise _bad(text, "--criterion", "write THRESHOLD:PROBABILITY, e.g. 0.2:0.9 (or <0.2:0.9)")
    threshold, probability = (_number(p, "--criterion", text) for p in parts)
    try:
        return Criterion(threshold, probability, direction)
    except ValueError as exc:
        raise _bad(text, "--criterion", str(exc)) from None


def parse_grid(text: str, what: str, *, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """``FROM:TO:STEP`` (inclusive) or ``a,b,c``; every value strictly inside ``(low, high)``
    (``low`` itself allowed when ``low`` is 0 and ``what`` is a difference)."""
    raw = text.strip()
    if ":" in raw:
        parts = raw.split(":")
        if len(parts) != 3:
            raise _bad(text, what, "write FROM:TO:STEP or a comma-separated list")
        start, stop, step = (_number(p, what, text) for p in parts)
        if step <= 0 or stop < start:
            raise _bad(text, what, "need FROM <= TO and STEP > 0")
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        if count > 10_000:
            raise _bad(text, what, "more than 10,000 values")
        values = start + step * np.arange(count)
    else:
        values = np.array([_number(p, what, text) for p in raw.split(",") if p.strip()])
        if values.size == 0 or values.size > 10_000:
            raise _bad(text, what, "give between 1 and 10,000 values")
    if np.any(values < low) or np.any(values >= high):
        raise _bad(text, what, f"values must lie in [{low:g}, {high:g})")
    return values


def parse_interim(text: str | None, what: str = "--interim") -> tuple[int, int]:
    """``E/N`` -> ``(E, N)`` (events and patients already observed)."""
    if text is None:
        return (0, 0)
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise _bad(text, what, "write EVENTS/PATIENTS, e.g. 5/20")
    e, n = int(match.group(1)), int(match.group(2))
    if e > n or n > 100_000:
        raise _bad(text, what, "need events <= patients <= 100,000")
    return e, n


def _mixture_dict(mix: BetaMixture) -> dict:
    return {**mix.to_dict(), "summary": mix.summary(), "ess": ess_all(mix)}


# ---- bayes-anlo map --------------------------------------------------------------------------


def run_map(
    file: str,
    *,
    outcome: str,
    model: str = "logit_normal",
    robust_weight: float = 0.2,
    robust_mean: float = 0.5,
    criterion: str = "rbest",
    seed: int = MAP_SEED,
    mixture_draws: int = 4000,
) -> dict:
    """The MAP prior of ``outcome`` in ``file`` (CSV or bundled dataset) as a JSON-ready dict."""
    from bayes_anlo.design.map_prior import map_prior
    from bayes_anlo.quick import check_study_sizes, load_rates_data, strict

    if not 0.0 <= robust_weight <= 1.0:
        raise InputError(f"--robust-weight {robust_weight:g}: must lie in [0, 1]", file=file)
    if not 0.0 < robust_mean < 1.0:
        raise InputError(f"--robust-mean {robust_mean:g}: must lie in (0, 1)", file=file)
    data = load_rates_data(file).select(outcome=outcome)
    check_study_sizes(data, str(file))
    if len(data) < 2:
        raise InputError("a MAP prior needs at least two historical studies", file=str(file))
    if not 100 <= mixture_draws <= 20_000:
        raise InputError(f"--mixture-draws {mixture_draws}: need 100 to 20,000", file=str(file))
    prior = map_prior(
        data, model, random_seed=seed, criterion=criterion, mixture_draws=mixture_draws
    )
    result = prior.to_dict(robust_weight, robust_mean)
    return strict({"file": str(file), "outcome": outcome, "seed": seed, **result})


def _summary_line(label: str, s: dict) -> str:
    return (
        f"{label:<22}{s['mean']:>8.4f}{s['sd']:>8.4f}{s['q2.5']:>8.4f}"
        f"{s['median']:>8.4f}{s['q97.5']:>8.4f}"
    )


def _components_lines(mix: dict) -> list[str]:
    lines = [f"  {'component':<10}{'weight':>9}{'a':>10}{'b':>10}"]
    for c in mix["components"]:
        lines.append(f"  {c['label']:<10}{c['weight']:>9.4f}{c['a']:>10.4f}{c['b']:>10.4f}")
    return lines


def _ess_line(ess: dict) -> str:
    return "  ESS: " + ", ".join(
        f"{k} {v:.1f}" if v is not None else f"{k} undefined" for k, v in ess.items()
    )


def format_map(result: dict) -> str:
    """The text that ``bayes-anlo map`` prints."""
    head = f"{'':<22}{'mean':>8}{'sd':>8}{'2.5%':>8}{'50%':>8}{'97.5%':>8}"
    m = result["map"]
    lines = [
        f"MAP prior of {result['outcome']} from {result['file']} ({result['model']}, "
        f"{m['draws']} predictive draws, seed {result['seed']})",
        head,
        _summary_line("MAP (draws)", m),
        _summary_line("mixture", result["mixture"]["summary"]),
    ]
    rob = result.get("robust")
    if rob is not None:
        lines.append(_summary_line(f"robust (w = {rob['weight']:g})", rob["summary"]))
    lines.append("")
    lines.append(
        f"Mixture ({len(result['mixture']['components'])} components, chosen by "
        f"{result['mixture']['criterion']}):"
    )
    lines += _components_lines(result["mixture"])
    acc = result["accuracy"]
    lines.append(
        f"  accuracy vs draws: KS distance {acc['ks_distance']:.4f}; mixture - draws: mean "
        f"{acc['mean_difference']:+.4f}, sd {acc['sd_difference']:+.4f}, 2.5% "
        f"{acc['q2.5_difference']:+.4f}, 50% {acc['median_difference']:+.4f}, 97.5% "
        f"{acc['q97.5_difference']:+.4f}"
    )
    lines.append(_ess_line(result["ess"]))
    if rob is not None:
        lines.append("")
        lines.append(f"Robustified (weight {rob['weight']:g}, mean {rob['mean']:g}):")
        lines += _components_lines(rob)
        lines.append(_ess_line(rob["ess"]))
    return "\n".join(lines)


# ---- bayes-anlo design -----------------------------------------------------------------------


def run_design(
    *,
    prior: BetaMixture,
    n: int,
    criteria: list[Criterion],
    rates: np.ndarray,
    control_prior: BetaMixture | None = None,
    n_control: int | None = None,
    deltas: np.ndarray | None = None,
    control_rate: float | None = None,
    interim: tuple[int, int] = (0, 0),
    interim_control: tuple[int, int] = (0, 0),
    power: float = 0.8,
) -> tuple[dict, dict[str, pd.DataFrame]]:
    """A one-sample design (no ``control_prior``) or a two-sample one: the rule, its boundary,
    operating characteristics over ``rates`` (and ``deltas`` for two samples), probability of
    success; returns the JSON-ready result and the tables (for CSV files and the figure).

    ``interim`` (and, for two samples, ``interim_control``) are ``(events, patients)`` already
    seen of the ``n`` (``n_control``) patients: the result then also holds the predictive
    probability of success given them (key ``interim``)."""
    limit = MAX_N_ONE_SAMPLE if control_prior is None else MAX_N_TWO_SAMPLE
    if n < 1 or n > limit:
        raise InputError(f"--n {n}: need 1 to {limit:,} patients", file="<command line>")
    if control_prior is None:
        return _one_sample(prior, n, criteria, rates, interim)
    if n_control is None or n_control < 1 or n_control > MAX_N_TWO_SAMPLE:
        raise InputError(
            f"--n-control: need 1 to {MAX_N_TWO_SAMPLE:,} control patients", file="<command line>"
        )
    has_interim = interim != (0, 0) or interim_control != (0, 0)
    if has_interim:
        _check_interim(interim, n, "--interim", "--n")
        _check_interim(interim_control, n_control, "--interim-control", "--n-control")
    result, tables = _two_sample(
        prior, control_prior, n, n_control, criteria, rates, deltas, control_rate, power
    )
    if has_interim:
        result["interim"] = _two_sample_interim(
            TwoSampleRule(criteria), prior, control_prior, n, n_control, interim, interim_control
        )
    return result, tables


def _check_interim(interim: tuple[int, int], n: int, what: str, of: str) -> None:
    if interim[1] >= n:
        raise InputError(
            f"{what} {interim[0]}/{interim[1]}: the interim must have fewer than {of} ({n}) "
            "patients",
            file="<command line>",
        )


def _two_sample_interim(rule, prior, control_prior, n, n_control, interim, interim_control):
    """Predictive probability of success of a two-sample trial given interim data of both arms:
    the remaining outcomes decided with the interim data included, weighted by their
    beta-binomial probabilities under the priors updated by the interim data."""
    success = rule.success_matrix(
        prior,
        control_prior,
        n - interim[1],
        n_control - interim_control[1],
        interim_t=interim,
        interim_c=interim_control,
    )
    pos = pos_two_sample(
        success, prior.posterior(*interim), control_prior.posterior(*interim_control)
    )
    return {
        "events": interim[0],
        "patients": interim[1],
        "control_events": interim_control[0],
        "control_patients": interim_control[1],
        "probability_of_success": pos,
    }


def _one_sample(prior, n, criteria, rates, interim):
    rule = OneSampleRule(criteria)
    success = rule.success(prior, n)
    events = np.flatnonzero(success)
    oc = pd.DataFrame(
        {"rate": rates, "probability_of_success": oc_one_sample(rule, prior, n, rates)}
    )
    boundary = rule.boundary(prior, n)
    result = {
        "design": "one-sample",
        "rule": rule.describe(),
        "n": n,
        "prior": _mixture_dict(prior),
        "success_events": [int(e) for e in events],
        "min_success_events": int(events[0]) if events.size and events[-1] == n else None,
        "probability_of_success": pos_one_sample(rule, prior, n),
        "oc": oc.to_dict(orient="records"),
    }
    if interim != (0, 0):  # the interim patients are part of the n
        _check_interim(interim, n, "--interim", "--n")
        result["interim"] = {
            "events": interim[0],
            "patients": interim[1],
            "probability_of_success": pos_one_sample(rule, prior, n - interim[1], interim=interim),
        }
    return result, {"oc": oc, "boundary": boundary}


def _two_sample(prior, control_prior, n, n_control, criteria, rates, deltas, control_rate, power):
    rule = TwoSampleRule(criteria)
    success = rule.success_matrix(prior, control_prior, n, n_control)
    control_rate = control_prior.mean() if control_rate is None else float(control_rate)
    type1 = pd.DataFrame(
        {
            "rate": rates,
            "probability_of_success": oc_two_sample(success, rates, rates),
        }
    )
    deltas = np.arange(0.0, 1.0 - control_rate, 0.01) if deltas is None else deltas
    deltas = deltas[control_rate + deltas < 1.0]
    power_table = pd.DataFrame(
        {
            "difference": deltas,
            "treatment_rate": control_rate + deltas,
            "control_rate": control_rate,
            "probability_of_success": oc_two_sample(success, control_rate + deltas, control_rate),
        }
    )
    try:
        delta_power = difference_for_power(success, control_rate, power)
    except ValueError:  # power not reached (or already exceeded at no difference)
        delta_power = None
    boundary = boundary_two_sample(success)
    result = {
        "design": "two-sample",
        "rule": rule.describe(),
        "n_treatment": n,
        "n_control": n_control,
        "treatment_prior": _mixture_dict(prior),
        "control_prior": _mixture_dict(control_prior),
        "control_rate": control_rate,
        "probability_of_success": pos_two_sample(success, prior, control_prior),
        f"difference_for_power_{power:g}": delta_power,
        "type1": type1.to_dict(orient="records"),
        "power": power_table.to_dict(orient="records"),
        "boundary": [
            {k: (None if pd.isna(v) else int(v)) for k, v in row.items()}
            for row in boundary.to_dict(orient="records")
        ],
    }
    return result, {"type1": type1, "power": power_table, "boundary": boundary}


def format_design(result: dict) -> str:
    """The text that ``bayes-anlo design`` prints."""
    lines = [f"Decision rule: success if {result['rule']}"]
    if result["design"] == "one-sample":
        lines.append(f"One-sample trial of {result['n']} patients")
        ev = result["success_events"]
        lines.append(
            "Success with "
            + (
                f"{result['min_success_events']} or more responders"
                if result["min_success_events"] is not None
                else (", ".join(map(str, ev)) + " responders" if ev else "no outcome")
            )
        )
        lines.append(
            f"Probability of success (prior predictive): {result['probability_of_success']:.4f}"
        )
        if "interim" in result:
            it = result["interim"]
            lines.append(
                f"Probability of success given {it['events']}/{it['patients']} at interim "
                f"({result['n'] - it['patients']} patients to come): "
                f"{it['probability_of_success']:.4f}"
            )
        lines.append("")
        lines.append(f"{'true rate':>10}  {'P(success)':>10}")
        lines += [f"{r['rate']:>10.3f}  {r['probability_of_success']:>10.4f}" for r in result["oc"]]
        return "\n".join(lines)
    lines.append(
        f"Two-sample trial: {result['n_treatment']} treatment, {result['n_control']} control "
        "patients"
    )
    lines.append(
        f"Probability of success (prior predictive): {result['probability_of_success']:.4f}"
    )
    if "interim" in result:
        it = result["interim"]
        lines.append(
            f"Probability of success given {it['events']}/{it['patients']} treatment and "
            f"{it['control_events']}/{it['control_patients']} control at interim "
            f"({result['n_treatment'] - it['patients']} and "
            f"{result['n_control'] - it['control_patients']} patients to come): "
            f"{it['probability_of_success']:.4f}"
        )
    key = next(k for k in result if k.startswith("difference_for_power_"))
    value = result[key]
    lines.append(
        f"Difference for power {key.rsplit('_', 1)[1]} at control rate "
        f"{result['control_rate']:.4f}: " + ("not reached" if value is None else f"{value:.4f}")
    )
    lines.append("")
    lines.append(f"{'true rate (both arms)':>22}  {'P(success)':>10}")
    lines += [f"{r['rate']:>22.3f}  {r['probability_of_success']:>10.4f}" for r in result["type1"]]
    lines.append("")
    lines.append(f"{'difference':>10}  {'P(success)':>10}")
    lines += [
        f"{r['difference']:>10.3f}  {r['probability_of_success']:>10.4f}"
        for r in result["power"][:: max(1, len(result["power"]) // 20)]
    ]
    return "\n".join(lines)
