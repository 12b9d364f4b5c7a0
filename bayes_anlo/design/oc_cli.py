"""``bayes-anlo study oc``: simulated operating characteristics on the sweep runner (issue 17).

::

    bayes-anlo study oc --rule 0.2:0.9 --prior "beta(1, 1)" --n 40 --rates 0.1:0.5:0.05 --out DIR
    bayes-anlo study oc --rule 0:0.95 --prior "beta(1, 1)" --n 30 --control-prior "beta(2, 8)" \\
        --n-control 30 --rates 0.2:0.6:0.1 --control-rates 0.2 --out DIR
    bayes-anlo study oc --basket SCENARIOS.csv [--ex MEAN:SD:TAU:W ...] [--nex MEAN:SD:W] --out DIR
    ... [--sims N] [--block B] [--seed S] [--scheduler local|ADDRESS] [--workers N] [--cache DIR]

``--rule`` takes criteria as ``bayes-anlo design --criterion`` does (``T:C`` for ``P(q > T) > C``,
``<T:C`` for ``P(q < T) > C``; repeat to require several), priors as ``design --prior``. The
basket file has one row per scenario and subtype: ``scenario, subtype, n, rate, threshold,
probability`` and optionally ``min_mean`` (go when ``P(p > threshold) > probability`` and the
posterior mean exceeds ``min_mean``); every scenario lists the same subtypes with the same ``n``
and rule. EXNEX priors are on the logit scale: ``--ex`` one exchangeable component (mean and sd of
mu, HalfNormal scale of tau, weight; repeatable), ``--nex`` the non-exchangeable prior (mean, sd)
and its weight; the default is the single-EX prior of :class:`bayes_anlo.models.ExnexPriors`.

Tables go to ``OUT/results`` (``oc.csv``; or ``basket_subtypes.csv`` and
``basket_scenarios.csv``), figures to ``OUT/figures`` (``oc.png``; ``basket_oc.png``). The
``bayes-anlo study`` loads the command :data:`study_oc` when it is named
(:data:`bayes_anlo.study_cli.LAZY_COMMANDS`).
"""

from __future__ import annotations

import math
from pathlib import Path

import click
import numpy as np
import pandas as pd

from bayes_anlo.cli_common import INT, PATH, IntRange, fail
from bayes_anlo.errors import InputError, ProblemCollector

DEFAULT_CACHE = Path("runs") / "study_cache"
#: Largest number of simulated trials per rate point or scenario.
MAX_SIMS = 10_000_000
#: Largest subtype of a basket design.
MAX_BASKET_N = 500
BASKET_COLUMNS = ("scenario", "subtype", "n", "rate", "threshold", "probability")
CLI = "<command line>"


def _numbers(text: str, what: str, count: int) -> list[float]:
    parts = text.split(":")
    if len(parts) != count:
        raise InputError(f"{what} {text!r}: give {count} numbers separated by ':'", file=CLI)
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InputError(f"{what} {text!r}: not numbers", file=CLI) from None
    if not all(math.isfinite(v) for v in values):
        raise InputError(f"{what} {text!r}: numbers must be finite", file=CLI)
    return values


def parse_basket_prior(ex: list[str] | None, nex: str | None, subtypes: int):
    """The EXNEX prior from ``--ex`` and ``--nex`` (defaults: ExnexPriors, weight 1/2)."""
    from bayes_anlo.exact.exnex_components import ExnexComponentsPrior
    from bayes_anlo.models.exnex import ExnexPriors

    defaults = ExnexPriors()
    if ex:
        components = [tuple(_numbers(text, "--ex", 4)) for text in ex]
    else:
        components = [(defaults.mu.mu, defaults.mu.sigma, defaults.tau.sigma, 0.5)]
    if nex is not None:
        mean, sd, weight = _numbers(nex, "--nex", 3)
    else:
        mean, sd = defaults.nex.mu, defaults.nex.sigma
        weight = 1.0 - sum(c[3] for c in components)
    try:
        return ExnexComponentsPrior.common(components, (mean, sd), weight, subtypes)
    except ValueError as exc:
        raise InputError(f"--ex/--nex: {exc}", file=CLI) from None


def read_basket_scenarios(path: Path):
    """Scenarios, subtype sizes and the rule from a basket CSV (all problems reported)."""
    from bayes_anlo.design.basket_simulation import BasketRule, Scenario
    from bayes_anlo.exact.exnex_components import MAX_SUBTYPES

    name = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read a CSV table ({type(exc).__name__})", file=name) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in BASKET_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s): {', '.join(missing)}", file=name)
    if frame.empty:
        raise InputError("no rows", file=name)
    problems = ProblemCollector(name)
    numeric = ["n", "rate", "threshold", "probability"]
    numeric += ["min_mean"] if "min_mean" in frame.columns else []
    values: dict[str, list] = {c: [] for c in numeric}
    for i, row in frame.iterrows():
        line = int(i) + 2
        for col in numeric:
            text = str(row[col]).strip()
            try:
                v = float(text)
            except ValueError:
                problems.add(line, col, f"{text!r} is not a number")
                v = math.nan
            else:
                if col == "n" and not (v == int(v) and 1 <= v <= MAX_BASKET_N):
                    problems.add(line, col, f"need a whole number from 1 to {MAX_BASKET_N}")
                elif col == "rate" and not 0.0 <= v <= 1.0:
                    problems.add(line, col, "a true rate lies in [0, 1]")
                elif col in ("threshold", "probability", "min_mean") and not 0.0 < v < 1.0:
                    problems.add(line, col, "must lie in (0, 1)")
            values[col].append(v)
        if not str(row["scenario"]).strip():
            problems.add(line, "scenario", "empty scenario name")
        if not str(row["subtype"]).strip():
            problems.add(line, "subtype", "empty subtype name")
    problems.raise_if_any()
    frame = frame.assign(**{c: values[c] for c in numeric})
    frame["scenario"] = frame["scenario"].str.strip()
    frame["subtype"] = frame["subtype"].str.strip()
    subtypes = list(dict.fromkeys(frame["subtype"]))
    if len(subtypes) > MAX_SUBTYPES:
        raise InputError(f"at most {MAX_SUBTYPES} subtypes, not {len(subtypes)}", file=name)
    design_cols = [c for c in numeric if c != "rate"]
    first = frame.drop_duplicates("subtype").set_index("subtype")
    scenarios = []
    for scen, part in frame.groupby("scenario", sort=False):
        if part["subtype"].duplicated().any() or set(part["subtype"]) != set(subtypes):
            line = int(part.index[0]) + 2
            problems.add(line, "subtype", f"scenario {scen!r} must list each subtype once")
            continue
        for i, row in part.iterrows():
            for col in design_cols:
                if row[col] != first.loc[row["subtype"], col]:
                    problems.add(
                        int(i) + 2, col, f"differs from the first row of subtype {row['subtype']!r}"
                    )
        rates = part.set_index("subtype").loc[subtypes, "rate"]
        scenarios.append(Scenario(str(scen), tuple(rates)))
    problems.raise_if_any()
    design = first.loc[subtypes]
    rule = BasketRule(
        tuple(design["threshold"]),
        tuple(design["probability"]),
        tuple(design["min_mean"]) if "min_mean" in design else None,
    )
    return scenarios, [int(v) for v in design["n"]], rule, subtypes


def _run_options(scheduler: str | None, workers: int) -> tuple[str | None, int]:
    if workers < 1:
        raise InputError(f"--workers {workers}: at least 1", file=CLI)
    if scheduler is None and workers > 1:
        return "local", workers
    return scheduler, workers


def _write(out: Path, tables: dict[str, pd.DataFrame], figures: dict) -> list[Path]:
    from bayes_anlo.outputs import disk_errors, write_csv
    from bayes_anlo.report.canvas import save

    written = []
    with disk_errors(out):
        (out / "results").mkdir(parents=True, exist_ok=True)
        (out / "figures").mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            written.append(write_csv(frame, out / "results" / f"{name}.csv"))
        for name, fig in figures.items():
            save(fig, out / "figures" / f"{name}.png")
            written.append(out / "figures" / f"{name}.png")
    return written


def _rule_oc(rule, prior, n, rates, control_prior, n_control, control_rates, settings):
    from bayes_anlo.design import commands as dc
    from bayes_anlo.design.decisions import OneSampleRule, TwoSampleRule
    from bayes_anlo.design.oc_study import simulate_oc_one_sample, simulate_oc_two_sample

    if n is None:
        raise InputError("--rule needs --n", file=CLI)
    criteria = [dc.parse_criterion(c) for c in rule]
    treatment_prior = dc.parse_prior(prior)
    grid = dc.parse_grid(rates, "--rates")
    if control_prior is None:
        if n_control is not None or control_rates is not None:
            raise InputError("--n-control and --control-rates need --control-prior", file=CLI)
        if not 1 <= n <= dc.MAX_N_ONE_SAMPLE:
            raise InputError(f"--n {n}: need 1 to {dc.MAX_N_ONE_SAMPLE:,}", file=CLI)
        one = OneSampleRule(criteria)
        table = simulate_oc_one_sample(one, treatment_prior, n, grid, **settings)
        return table, f"Success if {one.describe()}; n = {n}"
    if n_control is None or control_rates is None:
        raise InputError("a two-sample rule needs --n-control and --control-rates", file=CLI)
    for value, what in ((n, "--n"), (n_control, "--n-control")):
        if not 1 <= value <= dc.MAX_N_TWO_SAMPLE:
            raise InputError(f"{what} {value}: need 1 to {dc.MAX_N_TWO_SAMPLE:,}", file=CLI)
    two = TwoSampleRule(criteria)
    controls = dc.parse_grid(control_rates, "--control-rates")
    pairs = [(t, c) for c in controls for t in grid]
    if len(pairs) > 10_000:
        raise InputError("more than 10,000 pairs of --rates and --control-rates", file=CLI)
    table = simulate_oc_two_sample(
        two, treatment_prior, dc.parse_prior(control_prior, "--control-prior"), n, n_control,
        pairs, **settings,
    )  # fmt: skip
    return table, f"Success if {two.describe()}; n = {n} vs {n_control}"


@click.command("oc")
@click.option(
    "--out",
    type=PATH,
    required=True,
    help="output folder: tables go to OUT/results, figures to OUT/figures",
)
@click.option(
    "--rule",
    multiple=True,
    help="a one- or two-sample rule: T:C means P(rate > T) > C (two samples: P(p_T - "
    "p_C > T) > C), <T:C means P(... < T) > C; repeat to require several",
)
@click.option(
    "--prior",
    default="beta(1, 1)",
    help="--rule: prior of the (treatment) rate, as for `design --prior`",
)
@click.option("--n", type=INT, help="--rule: patients (treatment arm)")
@click.option(
    "--rates",
    default="0.05:0.95:0.05",
    help="--rule: true (treatment) rates, FROM:TO:STEP or a,b,c",
)
@click.option("--control-prior", help="--rule: prior of the control rate (two samples)")
@click.option("--n-control", type=INT, help="--rule: control patients")
@click.option("--control-rates", help="--rule: true control rates (crossed with --rates)")
@click.option(
    "--basket",
    type=PATH,
    help="basket scenarios CSV: scenario, subtype, n, rate, threshold, probability [, min_mean]",
)
@click.option(
    "--ex",
    multiple=True,
    help="--basket: an EX component MU_MEAN:MU_SD:TAU_SCALE:WEIGHT (logit scale; repeatable)",
)
@click.option("--nex", help="--basket: the NEX prior MEAN:SD:WEIGHT (logit scale)")
@click.option("--sims", type=INT, default=10_000, help="trials per rate point or scenario")
@click.option("--block", type=INT, default=2_500, help="trials per runner task")
@click.option(
    "--seed", type=IntRange(min=0), default=20261130, help="root of the tasks' SeedSequence"
)
@click.option(
    "--scheduler",
    help="'local' for a local Dask cluster or a scheduler address such as "
    "tcp://10.0.0.5:8786; default serial (a local cluster when --workers > 1)",
)
@click.option("--workers", type=INT, default=1, help="workers of the local cluster")
@click.option(
    "--cache",
    type=PATH,
    default=DEFAULT_CACHE,
    help="the runner's result cache (an interrupted run resumes)",
)
@click.option("--no-cache", is_flag=True, help="store nothing")
def study_oc(
    out: Path,
    rule: tuple[str, ...],
    prior: str,
    n: int | None,
    rates: str,
    control_prior: str | None,
    n_control: int | None,
    control_rates: str | None,
    basket: Path | None,
    ex: tuple[str, ...],
    nex: str | None,
    sims: int,
    block: int,
    seed: int,
    scheduler: str | None,
    workers: int,
    cache: Path,
    no_cache: bool,
) -> None:
    """Simulated operating characteristics: of a one- or two-sample rule over true rates (with
    the exact values beside them), or of an EXNEX basket design over scenarios (go probability
    per subtype, family-wise error); each distinct simulated outcome is decided once."""
    from bayes_anlo.outputs import check_output_path
    from bayes_anlo.runner import progress_printer

    try:
        out = check_output_path(out, kind="directory")
        if bool(rule) == (basket is not None):
            raise InputError("give either --rule or --basket", file=CLI)
        if not 1 <= sims <= MAX_SIMS or block < 1:
            raise InputError(f"--sims: 1 to {MAX_SIMS:,}; --block: at least 1", file=CLI)
        scheduler, workers = _run_options(scheduler, workers)
        settings = {
            "sims": sims,
            "block": block,
            "seed": seed,
            "scheduler": scheduler,
            "workers": workers,
            "cache_dir": None if no_cache else cache,
            "progress": progress_printer("oc"),
        }
        if rule:
            if ex or nex:
                raise InputError("--ex and --nex go with --basket", file=CLI)
            table, title = _rule_oc(
                rule, prior, n, rates, control_prior, n_control, control_rates, settings
            )
            from bayes_anlo.design.oc_figures import simulated_oc_figure

            written = _write(out, {"oc": table}, {"oc": simulated_oc_figure(table, title=title)})
            worst = float(np.max(np.abs(table["probability_of_success"] - table["exact"])))
            click.echo(
                f"{len(table)} rate points x {sims} trials; largest |simulated - exact| "
                f"{worst:.4f} (largest MC SE {table['mcse'].max():.4f})"
            )
        else:
            from bayes_anlo.design.basket_simulation import basket_oc
            from bayes_anlo.design.oc_figures import basket_oc_figure

            scenarios, sizes, basket_rule, names = read_basket_scenarios(basket)
            basket_prior = parse_basket_prior(ex, nex, len(sizes))
            subtypes, summary = basket_oc(scenarios, sizes, basket_prior, basket_rule, **settings)
            subtypes.insert(2, "subtype_name", [names[j - 1] for j in subtypes["subtype"]])
            figure = basket_oc_figure(subtypes, title=f"EXNEX go probabilities ({sims} trials)")
            written = _write(
                out,
                {"basket_subtypes": subtypes, "basket_scenarios": summary},
                {"basket_oc": figure},
            )
            for row in summary.itertuples():
                click.echo(
                    f"scenario {row.scenario}: any go {row.any_go:.3f}, family-wise error "
                    f"{row.family_wise_error:.3f} ({row.analysed} distinct outcome vectors, "
                    "counted per block)"
                )
    except InputError as exc:
        fail(exc)
    click.echo("wrote " + ", ".join(str(p) for p in written))
