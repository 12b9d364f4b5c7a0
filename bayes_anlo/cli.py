"""Command-line interface: thin wrappers over the public API, written with click
(:mod:`bayes_anlo.cli_common` says why not typer).

Exit status: 0 success; 1 ``audit`` found something to flag; 2 bad input (the message names
file:row:column, no traceback); 3 a run did not converge (unless ``--allow-unconverged``); 130
interrupted by Ctrl-C (143 for a ``run`` ended by SIGTERM).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import click

from bayes_anlo.cli_common import (
    EXIT_FLAGGED,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_UNCONVERGED,
    FLOAT,
    INT,
    PATH,
    IntRange,
    fail,
)
from bayes_anlo.errors import InputError, Problem
from bayes_anlo.lazy_import import hide_dask, hide_pyarrow
from bayes_anlo.process_exit import StdoutError, console_stdout, exit_status, leave
from bayes_anlo.study_cli import study_app


class PlainErrorsGroup(click.Group):
    """The command group, with every usage error (missing or bad option, unknown command) printed
    as ``error: ...`` lines on stderr with exit status 2, instead of click's usage block."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
            code = rv if isinstance(rv, int) else 0
        except click.ClickException as exc:  # UsageError, BadParameter, NoArgsIsHelpError ...
            code = _usage_error(exc)
        except click.Abort as exc:
            code = _aborted(exc)
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):  # the reader stopped reading: run_console's
                raise
            code = _path_error(exc)
        if standalone_mode:
            sys.exit(code)
        return code


def _path_error(exc: OSError) -> int:
    """A path the system refuses (a name too long, a folder not readable ...) that no command
    checked itself: one ``error:`` line naming it, exit 2, no traceback."""
    where = exc.filename if exc.filename is not None else "<input>"
    click.echo(f"error: {Problem(str(where), None, None, exc.strerror or str(exc))}", err=True)
    return EXIT_INPUT


def _aborted(exc: click.Abort) -> int:
    """Ctrl-C in a command (click turns its KeyboardInterrupt into Abort): 130, as ``run`` and
    any Unix tool end on SIGINT, with a line that says so; another abort (a prompt's EOF): 1."""
    if isinstance(exc.__cause__, KeyboardInterrupt):
        click.echo("error: interrupted", err=True)
        return EXIT_INTERRUPTED
    click.echo("error: aborted", err=True)
    return 1


def _usage_error(exc: click.ClickException) -> int:
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):  # bare `bayes-anlo`: the help, then
        click.echo(exc.format_message(), err=True)  # one error line
        click.echo("error: no command given", err=True)
        return EXIT_INPUT
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    for line in exc.format_message().splitlines() or ["usage error"]:
        if line.strip():
            click.echo(f"error: {line.strip()}{hint}", err=True)
            hint = ""
    code = getattr(exc, "exit_code", EXIT_INPUT)
    return EXIT_INPUT if code in (1, 2) else code


@click.group(
    cls=PlainErrorsGroup,
    no_args_is_help=True,
    context_settings={"show_default": True},
    help="Bayesian re-analysis of published clinical evidence.",
)
def app() -> None:
    """The ``bayes-anlo`` command group."""


KINDS_HELP = "binary, ipd, km, risk, totals or summaries"


@app.command("validate")
@click.argument("file", type=PATH, help="CSV file to check")
@click.option("--kind", default="binary", help=KINDS_HELP)
@click.option("--risk-table", type=PATH, help="--kind km: numbers at risk to check with the curve")
@click.option("--totals", type=PATH, help="--kind km: event totals to check with the curve")
def validate(file: Path, kind: str, risk_table: Path | None, totals: Path | None) -> None:
    """Check a data file and report every problem as file:row:column.

    With --kind km and a risk table or totals, the curves are also reconstructed (Guyot) and
    every reconstruction warning is printed (totals not matched or contradicting the curve,
    risk-table rows past the end of the curve)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if risk_table is not None or totals is not None:
                if kind != "km":
                    raise InputError("--risk-table and --totals go with --kind km", file=str(file))
                loaded = _reconstruct_km(file, risk_table, totals)
            else:
                loaded = _load_kind(file, kind)
        for w in caught:
            click.echo(f"warning: {w.message}", err=True)
    except InputError as exc:
        fail(exc)
    click.echo(f"{file}: OK ({loaded})")


def _load_kind(file: Path, kind: str) -> str:
    if kind == "binary":
        from bayes_anlo.data.binary import load_binary

        data = load_binary(file)
        return f"{len(data)} rows, {len(data.studies)} studies, outcomes {', '.join(data.outcomes)}"
    from bayes_anlo.data import survival

    if kind == "ipd":
        data = survival.load_survival(file)
        return f"{len(data)} patients, {len(data.studies)} studies"
    if kind == "summaries":
        data = survival.load_summaries(file)
        return f"{len(data)} reported quantities, {len(data.studies)} studies"
    if kind == "km":
        table = survival.load_km_coordinates(file)
        return f"{len(table)} digitised points"
    if kind == "risk":
        table = survival.load_numbers_at_risk(file)
        return f"{len(table)} numbers at risk"
    if kind == "totals":
        table = survival.load_totals(file)
        return f"{len(table)} curves with event totals"
    raise InputError(f"unknown kind {kind!r}; choose {KINDS_HELP}", file=str(file))


def _reconstruct_km(file: Path, risk_table: Path | None, totals: Path | None) -> str:
    from bayes_anlo.data.survival import load_digitised_km
    from bayes_anlo.survival.guyot import reconstruct

    rec = reconstruct(load_digitised_km(file, risk_table, totals))
    d = rec.diagnostics
    return (
        f"{len(d)} curves reconstructed, {int(d['n_patients'].sum())} patients, "
        f"{int(d['events'].sum())} events; largest distance of a digitised point from the "
        f"reconstructed curve {d['max_abs_diff'].max():.3f} (fit to the clicks, not accuracy "
        "against the true data)"
    )


@app.command("datasets")
@click.argument("name", required=False, help="show one dataset's rows and provenance")
def datasets(name: str | None) -> None:
    """List the bundled datasets (or print one)."""
    import pandas as pd

    from bayes_anlo import datasets as ds

    try:
        if name is None:
            with pd.option_context("display.max_colwidth", 70, "display.width", 200):
                click.echo(ds.list_datasets().to_string(index=False))
            return
        info = ds.info(name)
        data = ds.load(name)
    except InputError as exc:
        fail(exc)
    click.echo(f"{name}: {info.get('title', '')}\n{info.get('citation', '')}\n")
    frame = data.table if hasattr(data, "table") else data
    with pd.option_context(
        "display.max_rows", 500, "display.max_colwidth", 60, "display.width", 200
    ):
        click.echo(frame.to_string(index=False))


#: ``--cache-dir`` of ``run`` and ``cache``.
cache_dir_option = click.option(
    "--cache-dir",
    type=PATH,
    help="result cache directory (default: $BAYES_ANLO_CACHE_DIR, else "
    "~/.cache/bayes_anlo/results)",
)


@app.command("cache")
@cache_dir_option
@click.option("--clear", is_flag=True, help="remove every stored result")
def cache(cache_dir: Path | None, clear: bool) -> None:
    """Show where `bayes-anlo run` keeps its results for reuse, and how much (or clear it)."""
    from bayes_anlo.pipeline.result_cache import ResultCache, default_directory

    where = cache_dir if cache_dir is not None else default_directory()
    if where is None:
        click.echo("result cache: off (BAYES_ANLO_NO_CACHE is set)")
        return
    if Path(where).exists() and not Path(where).is_dir():
        fail(InputError(f"result cache {where} is not a directory", file=str(where)))
    if not Path(where).is_dir():
        click.echo(f"result cache: {where} (empty)")
        return
    store = ResultCache.open(where, warn=lambda line: click.echo(f"warning: {line}", err=True))
    if store is None:
        raise click.exceptions.Exit(EXIT_INPUT)
    if clear:
        click.echo(f"result cache: {where}: removed {store.clear()} entries")
        return
    click.echo(
        f"result cache: {where}: {len(store.entries())} entries, "
        f"{store.size_bytes() / 1e6:.1f} MB (bayes-anlo cache --clear removes them)"
    )


def _checked_output(out: Path | None, *, kind: str = "file") -> Path | None:
    """The one check of an ``--out`` argument, before any work (exit 2 with a message if
    unusable)."""
    if out is None:
        return None
    from bayes_anlo.outputs import check_output_path

    try:
        return check_output_path(out, kind=kind)
    except InputError as exc:
        fail(exc)


@app.command("run")
@click.argument(
    "spec", type=PATH, help="analysis spec (TOML), e.g. models/sarcoma_meta_analysis.toml"
)
@click.option("--out", type=PATH, required=True, help="run directory to create")
@click.option(
    "--force",
    is_flag=True,
    help="replace an existing run directory (only one written by bayes-anlo run)",
)
@click.option("--allow-unconverged", is_flag=True, help="exit 0 even if the convergence gate fails")
@click.option(
    "--fast",
    is_flag=True,
    help="smoke test: exact engines where they exist, few draws elsewhere; "
    "report marked not for inference, no convergence gate",
)
@click.option("--only", help="run only these analysis ids (comma-separated)")
@click.option(
    "--no-cache",
    is_flag=True,
    help="fit every analysis again and store nothing in the result cache (by default an "
    "analysis whose entry, data, seed, settings and code are unchanged is read back)",
)
@cache_dir_option
def run(
    spec: Path,
    out: Path,
    force: bool,
    allow_unconverged: bool,
    fast: bool,
    only: str | None,
    no_cache: bool,
    cache_dir: Path | None,
) -> None:
    """Run an analysis spec and write posterior.nc, tables/, figures/, report.md and report.html."""
    if _OWN_PROCESS:  # a run never computes with dask: xarray need not load it (lazy_import.py)
        hide_dask()
    from bayes_anlo.data.survival import RisingCurveWarning
    from bayes_anlo.pipeline.run import Terminated, run_spec
    from bayes_anlo.survival.guyot import ReconstructionWarning

    chosen = tuple(i.strip() for i in only.split(",") if i.strip()) if only is not None else None
    if only is not None and not chosen:
        fail(InputError("--only needs at least one analysis id", file=str(spec)))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            outcome = run_spec(
                spec,
                out,
                force=force,
                fast=fast,
                only=chosen,
                cache_dir=cache_dir,
                no_cache=no_cache,
            )
    except InputError as exc:
        fail(exc)
    except KeyboardInterrupt as exc:
        if getattr(exc, "run_written", False):
            click.echo(f"interrupted after the run directory was complete: {out}", err=True)
        else:
            click.echo(
                f"interrupted: nothing was written to {out} (an existing run directory there is "
                "unchanged)",
                err=True,
            )
        raise click.exceptions.Exit(
            128 + (int(exc.signum) if isinstance(exc, Terminated) else 2)
        ) from None
    for w in caught:  # data warnings as lines of their own; others as Python shows them
        if issubclass(w.category, ReconstructionWarning | RisingCurveWarning):
            click.echo(f"warning: {w.message}", err=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    click.echo(
        f"Report: {outcome.report_html}\n        {outcome.report_md}\n({outcome.wall_seconds:.1f} "
        "s)"
    )
    if not outcome.gate_applied:
        click.echo("FAST MODE: not for inference; the convergence gate was not applied.", err=True)
    elif not outcome.converged:
        click.echo(
            f"NOT CONVERGED: {', '.join(outcome.unconverged)} (see the report's diagnostics)",
            err=True,
        )
        if not allow_unconverged:
            raise click.exceptions.Exit(EXIT_UNCONVERGED)


@app.command("rates")
@click.argument("file", help="binary-outcome CSV, or the name of a bundled binary dataset")
@click.option("--outcome", required=True, help="outcome label, e.g. ORR")
@click.option("--by", help="column to analyse subgroups by")
@click.option(
    "--threshold",
    multiple=True,
    help="report P(rate > t) for a proportion 0 < t < 1 or a percentage (20%); repeatable",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON (documented in README)")
@click.option(
    "--tau2",
    help="tau^2 estimators to show, comma-separated from DL,REML,PM,ML,SJ,HS,EB "
    "(default DL,REML); each gets a Hartung-Knapp twin",
)
@click.option(
    "--moderator", help="column of the data for a frequentist meta-regression (logit, REML)"
)
@click.option("--cumulative-by", help="column to order a cumulative meta-analysis by (e.g. year)")
def rates(
    file: str,
    outcome: str,
    by: str | None,
    threshold: tuple[str, ...],
    as_json: bool,
    tau2: str | None,
    moderator: str | None,
    cumulative_by: str | None,
) -> None:
    """Quick analysis: frequentist pooled rates and the exact Bayesian beta-binomial (one study:
    the conjugate single-rate model)."""
    if _OWN_PROCESS:  # pandas need not load pyarrow: rates never samples (lazy_import.py)
        hide_pyarrow()
    from bayes_anlo.quick import format_quick_rates, quick_rates

    try:
        result = quick_rates(
            file,
            outcome=outcome,
            by=by,
            thresholds=tuple(threshold or ()),
            tau2=tau2,
            moderator=moderator,
            cumulative_by=cumulative_by,
        )
    except InputError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(result, indent=2, allow_nan=False))
    else:
        click.echo(format_quick_rates(result))


class _AuditGroup(click.Group):
    """``bayes-anlo audit FILE`` audits an extraction; ``bayes-anlo audit draft TEXT`` (and the
    other subcommands) are dispatched by name, anything else is taken as the FILE."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands:
            args.insert(0, "run")
        return super().resolve_command(ctx, args)

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args.insert(0, "run")
        return super().parse_args(ctx, args)


audit_app = _AuditGroup(
    "audit",
    no_args_is_help=True,
    help="Recompute a paper's printed statistics (bayes-anlo audit FILE), or draft an extraction "
    "from its text (bayes-anlo audit draft TEXT --out CSV).",
)
app.add_command(audit_app)
app.add_command(study_app)


@audit_app.command("run")
@click.argument("file", help="audit extraction CSV, or the name of a bundled audit")
@click.option("--out", type=PATH, help="write the audit table (CSV) here")
def audit(file: str, out: Path | None) -> None:
    """Recompute a paper's printed statistics and flag what no method reproduces (exit 1 if
    flagged)."""
    from bayes_anlo.audit import run_audit
    from bayes_anlo.outputs import write_csv

    out = _checked_output(out)
    try:
        result = run_audit(file)  # a CSV path or the name of a bundled audit
    except InputError as exc:
        fail(exc)
    click.echo(result.to_markdown())
    if out is not None:
        try:
            write_csv(result.table, out)
        except InputError as exc:
            fail(exc)
        click.echo(f"\nAudit table: {out}")
    if result.flagged:
        raise click.exceptions.Exit(EXIT_FLAGGED)


@audit_app.command("draft")
@click.argument("text", type=PATH, help="the paper: plain text, or a PDF with a text layer")
@click.option("--out", type=PATH, required=True, help="write the drafted extraction (CSV) here")
def audit_draft(text: Path, out: Path) -> None:
    """Draft an audit extraction from a paper's text: one row per printed statistic recognised."""
    from bayes_anlo.audit.draft import draft_extraction
    from bayes_anlo.audit.paper_text import read_paper_text
    from bayes_anlo.outputs import write_csv

    out = _checked_output(out)
    try:
        frame = draft_extraction(read_paper_text(text))
        write_csv(frame, out)
    except InputError as exc:
        fail(exc)
    counts = frame["check"].value_counts()
    shown = ", ".join(f"{n} {check}" for check, n in counts.items()) or "nothing recognised"
    click.echo(f"Drafted {len(frame)} rows ({shown}): {out}")
    click.echo(f"Audit it with: bayes-anlo audit {out}")


@app.command("sweep")
@click.argument("spec", type=PATH, help="analysis spec (TOML)")
@click.option("--analysis", required=True, help="id of the [[analyses]] entry to refit")
@click.option("--kind", default="loo", help="loo (leave one study out) or priors (each prior set)")
@click.option(
    "--scheduler",
    help="'local' for a local Dask cluster, or a scheduler address; default serial",
)
@click.option(
    "--workers",
    type=IntRange(min=1),
    default=2,
    help="workers of the local cluster (at least 1)",
)
@click.option("--method", help="override the spec's method: exact or nuts")
@click.option("--out", type=PATH, help="write the table (CSV) here")
def sweep(
    spec: Path,
    analysis: str,
    kind: str,
    scheduler: str | None,
    workers: int,
    method: str | None,
    out: Path | None,
) -> None:
    """Refit one analysis many times (leave-one-study-out or prior sets), serially or on Dask."""
    from bayes_anlo import sweeps
    from bayes_anlo.outputs import write_csv

    out = _checked_output(out)
    try:
        if kind not in ("loo", "priors"):
            raise InputError(f"--kind must be loo or priors, not {kind!r}", file=str(spec))
        make = sweeps.leave_one_out_tasks if kind == "loo" else sweeps.prior_tasks
        table = sweeps.run_tasks(
            make(spec, analysis, method=method), scheduler=scheduler, n_workers=workers
        )
    except InputError as exc:
        fail(exc)
    click.echo(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if out is not None:
        try:
            write_csv(table, out)
        except InputError as exc:
            fail(exc)
        click.echo(f"\nTable: {out}")


# ---- designing the next trial (bayes_anlo.design) ---------------------------------------------


@app.command("map")
@click.argument("file", help="binary-outcome CSV of historical studies, or a bundled dataset")
@click.option("--outcome", required=True, help="outcome label, e.g. ORR")
@click.option("--model", default="logit_normal", help="logit_normal or beta_binomial")
@click.option(
    "--robust-weight",
    type=FLOAT,
    default=0.2,
    help="weight of the robustifying component (0 to 1)",
)
@click.option(
    "--robust-mean",
    type=FLOAT,
    default=0.5,
    help="mean of the robustifying component Beta(2m, 2(1-m))",
)
@click.option(
    "--criterion",
    default="rbest",
    help="components chosen by rbest (AIC with penalty 6), aic or bic",
)
@click.option("--seed", type=IntRange(min=0), default=20251130, help="random seed of the fit")
@click.option(
    "--mixture-draws",
    type=INT,
    default=4000,
    help="predictive draws the mixture is fitted to (of 20,000; RBesT uses 4000): more "
    "fit the draws closer, take longer and may choose more components",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def map_prior_command(
    file: str,
    outcome: str,
    model: str,
    robust_weight: float,
    robust_mean: float,
    criterion: str,
    seed: int,
    mixture_draws: int,
    as_json: bool,
) -> None:
    """Meta-analytic-predictive prior of a new study's rate: a beta mixture fitted to the
    predictive draws of a hierarchical fit (exact engine), with its accuracy, effective sample
    sizes (ELIR, moment, Morita) and a robustified version."""
    from bayes_anlo.design.commands import format_map, run_map

    try:
        if model not in ("logit_normal", "beta_binomial"):
            raise InputError(
                f"--model must be logit_normal or beta_binomial, not {model!r}",
                file="<command line>",
            )
        if criterion not in ("rbest", "aic", "bic"):
            raise InputError(
                f"--criterion must be rbest, aic or bic, not {criterion!r}", file="<command line>"
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_map(
                file,
                outcome=outcome,
                model=model,
                robust_weight=robust_weight,
                robust_mean=robust_mean,
                criterion=criterion,
                seed=seed,
                mixture_draws=mixture_draws,
            )
    except InputError as exc:
        fail(exc)
    for w in caught:
        if not issubclass(w.category, DeprecationWarning | FutureWarning):
            click.echo(f"warning: {w.message}", err=True)
    click.echo(json.dumps(result, indent=2, allow_nan=False) if as_json else format_map(result))


@app.command("design")
@click.option(
    "--prior",
    required=True,
    help="prior of the (treatment) rate: beta(a, b), mix(w, a, b; w, a, b ...), or a "
    "JSON file from `map --json` (append :robust for its robustified mixture)",
)
@click.option("--n", type=INT, required=True, help="patients (treatment arm for two samples)")
@click.option(
    "--criterion",
    multiple=True,
    required=True,
    help="T:C means P(rate > T) > C (two samples: P(p_T - p_C > T) > C); <T:C for "
    "P(... < T) > C; repeat to require several",
)
@click.option("--control-prior", help="prior of the control rate: makes a two-sample design")
@click.option("--n-control", type=INT, help="control patients")
@click.option(
    "--rates",
    default="0.05:0.95:0.05",
    help="true rates for the operating characteristics: FROM:TO:STEP or a,b",
)
@click.option("--differences", help="two samples: true differences for the power curve")
@click.option("--control-rate", type=FLOAT, help="two samples: control rate of the power curve")
@click.option(
    "--interim",
    help="EVENTS/PATIENTS of the --n (treatment) patients seen at an interim: adds the "
    "predictive probability of success given them",
)
@click.option(
    "--interim-control",
    help="two samples: EVENTS/PATIENTS of the --n-control patients seen at the interim",
)
@click.option("--out", type=PATH, help="write design.json, tables (CSV) and oc.png here")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def design(
    prior: str,
    n: int,
    criterion: tuple[str, ...],
    control_prior: str | None,
    n_control: int | None,
    rates: str,
    differences: str | None,
    control_rate: float | None,
    interim: str | None,
    interim_control: str | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Decision rule of the next trial: its decision boundary, operating characteristics over
    true rates, and probability of success (exact, by conjugate beta-mixture arithmetic)."""
    from bayes_anlo.design import commands as dc

    out = _checked_output(out, kind="directory")
    try:
        kwargs = {
            "prior": dc.parse_prior(prior),
            "n": n,
            "criteria": [dc.parse_criterion(c) for c in criterion],
            "rates": dc.parse_grid(rates, "--rates"),
            "interim": dc.parse_interim(interim),
        }
        if control_prior is not None:
            kwargs["control_prior"] = dc.parse_prior(control_prior, "--control-prior")
            kwargs["n_control"] = n_control
            if differences is not None:
                kwargs["deltas"] = dc.parse_grid(differences, "--differences")
            if control_rate is not None:
                if not 0.0 < control_rate < 1.0:
                    raise InputError("--control-rate must lie in (0, 1)", file="<command line>")
                kwargs["control_rate"] = control_rate
        elif n_control is not None or differences is not None or control_rate is not None:
            raise InputError(
                "--n-control, --differences and --control-rate need --control-prior",
                file="<command line>",
            )
        if interim_control is not None:
            if control_prior is None:
                raise InputError("--interim-control needs --control-prior", file="<command line>")
            kwargs["interim_control"] = dc.parse_interim(interim_control, "--interim-control")
        result, tables = dc.run_design(**kwargs)
        if out is not None:
            _write_design(out, result, tables)
    except InputError as exc:
        fail(exc)
    click.echo(
        json.dumps(result, indent=2, allow_nan=False) if as_json else dc.format_design(result)
    )
    if out is not None and not as_json:
        click.echo(f"\nWritten: {out}")


def _write_design(out: Path, result: dict, tables: dict) -> None:
    from bayes_anlo.design.figures import oc_figure
    from bayes_anlo.outputs import disk_errors, write_bytes_atomic, write_csv
    from bayes_anlo.report.canvas import save

    with disk_errors(out):
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(result, indent=2, allow_nan=False) + "\n"
        write_bytes_atomic(text.encode("utf-8"), out / "design.json")
        for name, frame in tables.items():
            write_csv(frame, out / f"{name}.csv")
        save(oc_figure(tables, title=f"Success if {result['rule']}"), out / "oc.png")


#: Whether this process runs the command line as the console does (:func:`run_console`, through
#: :func:`main` or :func:`console_script`), not a caller's that invokes ``app`` (a test with
#: CliRunner, a notebook): ``run`` then hides dask from xarray, and ``rates`` pyarrow from pandas.
_OWN_PROCESS = False


def run_console() -> int:
    """Run the command line in ``sys.argv`` as the console does and return its exit status: every
    error as ``error:`` lines on stderr, standard output guarded
    (:func:`~bayes_anlo.process_exit.console_stdout`: a full disk, a file-size limit or a closed
    descriptor under it is exit 2) and flushed before returning."""
    import os

    global _OWN_PROCESS
    _OWN_PROCESS = True

    os.environ["MPLBACKEND"] = (
        "Agg"  # files only: no window, whatever the environment offers (no import here)
    )
    from bayes_anlo import interrupt

    stdout = sys.stdout
    sys.stdout = console_stdout(stdout)
    try:
        try:
            with interrupt.remembered():
                app()
            status = 0
        except SystemExit as done:  # every command ends here (PlainErrorsGroup exits with it)
            status = exit_status(done.code)
        sys.stdout.flush()
    except InputError as exc:  # raised outside a command's own handler
        status = _report([f"error: {problem}" for problem in exc.problems])
    except StdoutError as exc:  # a full disk or an I/O error under the output
        status = _report([f"error: {exc}"])
    except BrokenPipeError:  # the reader stopped reading (`| head`): nothing more to say
        status = 1
    except OSError as exc:  # stderr itself cannot be written (a full disk under `2>`): the
        status = _report([f"error: {exc}"])  # status says what the lines could not
    finally:
        sys.stdout = stdout
    return status


def _report(lines: list[str]) -> int:
    """Print error lines on stderr (if it can still be written) and return the bad-input status."""
    try:
        for line in lines:
            print(line, file=sys.stderr)
    except OSError:  # stderr is gone too: the status still says what happened
        pass
    return EXIT_INPUT


def main() -> None:
    """Run the command line in ``sys.argv`` and raise ``SystemExit`` with its status (a caller in
    its own Python process, a script or a notebook, keeps control and its exit handlers)."""
    sys.exit(run_console())


def console_script() -> None:  # the `bayes-anlo` console script ([project.scripts])
    """The console script: run the command line, then end the process at once
    (:func:`~bayes_anlo.process_exit.leave`: everything is written; the exit handlers run, Python's
    teardown is skipped)."""
    leave(run_console())


# `bayes-anlo audit pooled` (issue 16 item 4)
@audit_app.command("pooled")
@click.argument("file", help="binary-outcome CSV of the pooled studies, or a bundled dataset")
@click.option(
    "--printed",
    required=True,
    help='the printed pooled estimate and CI, e.g. "8.8% (6.2-11.7%)"',
)
@click.option("--outcome", help="outcome label (needed when the data hold several)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def audit_pooled_command(file: str, printed: str, outcome: str | None, as_json: bool) -> None:
    """Recompute a printed pooled proportion under PFT/PLO x every tau^2 estimator, with and
    without Hartung-Knapp, and the GLMM; say which reproduces it (exit 1 when none does)."""
    from bayes_anlo.audit.pooled import audit_pooled

    try:
        result = audit_pooled(file, printed, outcome=outcome)
    except InputError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        click.echo(result.to_text())
    if not result.reproduced:
        raise click.exceptions.Exit(EXIT_FLAGGED)


if __name__ == "__main__":
    console_script()
