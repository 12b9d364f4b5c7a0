"""``bayes-anlo study ...``: the calibration studies as runner workloads (issue 17).

    bayes-anlo study sbc [SET-UP ...] [--model M] [--method exact|nuts] [--datasets N] [--seed S]
                         [--scheduler local|ADDRESS] [--workers N] --out DIR
    bayes-anlo study coverage [--replicates R] [--seed S] [--quick]
                              [--scheduler local|ADDRESS] [--workers N] --out DIR

Both run through :func:`bayes_anlo.runner.execute.run` (serially, on a local Dask cluster or on
the scheduler at ADDRESS) with the runner's result cache (``--cache``, default
``runs/study_cache``), so an interrupted study resumes and a rerun computes nothing. Files
written: :mod:`bayes_anlo.studies.writers`. A progress bar goes to stderr. ``study oc`` (simulated
operating characteristics of decision rules and EXNEX basket trials) is
:func:`bayes_anlo.design.oc_cli.study_oc`, loaded when named (:data:`LAZY_COMMANDS`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayes_anlo.errors import InputError

EXIT_INPUT = 2
DEFAULT_CACHE = Path("runs") / "study_cache"

#: Study commands defined in other modules, imported only when named on the command line (their
#: modules import numpy, pandas and the design package, which every other command would pay for).
LAZY_COMMANDS = {"oc": ("bayes_anlo.design.oc_cli", "study_oc")}


class _StudyGroup(typer.core.TyperGroup):
    """The ``study`` group: its own commands plus :data:`LAZY_COMMANDS`, loaded on demand."""

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module, function = LAZY_COMMANDS[name]
            single = typer.Typer()
            single.command(name)(getattr(importlib.import_module(module), function))
            self.commands[name] = typer.main.get_command(single)
        return super().get_command(ctx, name)


study_app = typer.Typer(
    cls=_StudyGroup,
    no_args_is_help=True,
    help="Calibration and design studies on the runner (simulation-based calibration, coverage, "
    "simulated operating characteristics): serial, a local Dask cluster (--scheduler local) or a "
    "cluster's scheduler (--scheduler ADDRESS).",
)

Scheduler = Annotated[
    str | None,
    typer.Option(
        help="'local' for a local Dask cluster, or a Dask scheduler address such as "
        "tcp://10.0.0.5:8786; default serial (a local cluster when --workers > 1)"
    ),
]
Workers = Annotated[int, typer.Option(min=1, help="workers of the local cluster (at least 1)")]
Out = Annotated[
    Path, typer.Option(help="output folder: tables go to OUT/results, figures to OUT/figures")
]
Cache = Annotated[
    Path,
    typer.Option(help="the runner's result cache (finished tasks; an interrupted run resumes)"),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="compute everything, store nothing")]


def _fail(exc: InputError) -> None:
    for problem in exc.problems:
        typer.echo(f"error: {problem}", err=True)
    raise typer.Exit(EXIT_INPUT)


def _option_error(message: str) -> None:
    _fail(InputError(message, file="command line"))


def _checked_out(out: Path) -> Path:
    from bayes_anlo.outputs import check_output_path

    try:
        return check_output_path(out, kind="directory")
    except InputError as exc:
        _fail(exc)


@study_app.command("sbc")
def sbc_command(
    setups: Annotated[
        list[str] | None,
        typer.Argument(
            help="set-up names (default: every set-up matching --model and --method): "
            "beta_binomial_exact, beta_binomial_nuts, logit_normal_exact, logit_normal_nuts, "
            "nested_nuts, piecewise_exponential_ipd, piecewise_exponential_summaries",
            show_default=False,
            metavar="SET-UP",
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="model family (repeatable): beta_binomial, logit_normal, nested, "
            "piecewise_exponential; default all"
        ),
    ] = None,
    method: Annotated[
        list[str] | None, typer.Option(help="exact or nuts (repeatable); default both")
    ] = None,
    datasets: Annotated[int, typer.Option(min=1, help="simulated datasets per set-up")] = 200,
    seed: Annotated[
        int, typer.Option(min=0, help="dataset i draws from SeedSequence([seed, i])")
    ] = 20260403,
    scheduler: Scheduler = None,
    workers: Workers = 1,
    out: Out = ...,
    cache: Cache = DEFAULT_CACHE,
    no_cache: NoCache = False,
) -> None:
    """Simulation-based calibration of the model families: ranks per set-up
    (OUT/results/sbc_<set-up>_ranks.csv), uniformity tests (OUT/results/sbc_summary.csv) and
    rank histograms (OUT/figures/sbc_<set-up>.png)."""
    from bayes_anlo.checks.calibration import run_sbc_many
    from bayes_anlo.runner import progress_printer
    from bayes_anlo.studies.sbc_runs import all_setups, select_setups
    from bayes_anlo.studies.writers import SBC_RANKS, write_sbc

    try:
        chosen = select_setups(setups or (), model or (), method or ())
    except ValueError as exc:
        _option_error(str(exc))
    out = _checked_out(out)
    typer.echo(
        f"SBC: {', '.join(chosen)}; {datasets} datasets each, seed {seed}, "
        f"{_where(scheduler, workers)}; output {out}"
    )
    try:
        results = run_sbc_many(
            chosen.values(),
            datasets,
            seed=seed,
            scheduler=scheduler,
            workers=workers,
            cache_dir=None if no_cache else cache,
            progress=progress_printer("sbc"),
        )
        write_sbc(results, all_setups(), out)
    except InputError as exc:
        _fail(exc)
    for name, res in results.items():
        verdict = res.uniformity()
        flagged = verdict.loc[verdict["flagged"], "parameter"].tolist()
        status = f"FLAGGED: {', '.join(flagged)}" if flagged else "uniform (nothing flagged)"
        typer.echo(f"{name}: {status}; fits {res.seconds:.1f} s in all")
    typer.echo(
        f"wrote {out / 'results' / SBC_RANKS.format(name='<set-up>')}, "
        f"{out / 'results' / 'sbc_summary.csv'} and {out / 'figures'}/sbc_<set-up>.png"
    )


@study_app.command("coverage")
def coverage_command(
    replicates: Annotated[
        int | None,
        typer.Option(min=1, help="replicates per cell (default 200; --quick: 5)"),
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, help="replicate r of cell c draws from SeedSequence([seed, c, r])")
    ] = 20260401,
    quick: Annotated[
        bool, typer.Option("--quick", help="4 cells (k 3 and 10, rate 0.1, n 10-50) only")
    ] = False,
    block: Annotated[int, typer.Option(min=1, help="replicates per task")] = 25,
    scheduler: Scheduler = None,
    workers: Workers = 1,
    out: Out = ...,
    cache: Cache = DEFAULT_CACHE,
    no_cache: NoCache = False,
) -> None:
    """Coverage and width of pooled-rate 95% intervals over the study grid (docs/coverage.md):
    OUT/results/coverage.csv, coverage_table.md, coverage_overview.md and
    OUT/figures/coverage.png."""
    from bayes_anlo.runner import progress_printer
    from bayes_anlo.studies.coverage import design, run_coverage
    from bayes_anlo.studies.writers import write_coverage

    cells = design()
    if quick:
        cells = [c for c in cells if c.k in (3, 10) and c.rate == 0.1 and c.n_lo == 10]
    replicates = replicates or (5 if quick else 200)
    out = _checked_out(out)
    typer.echo(
        f"coverage: {len(cells)} cells x {replicates} replicates, seed {seed}, "
        f"{_where(scheduler, workers)}; output {out}"
    )
    try:
        study = run_coverage(
            cells,
            replicates=replicates,
            seed=seed,
            block=block,
            scheduler=scheduler,
            workers=workers,
            cache_dir=None if no_cache else cache,
            progress=progress_printer("coverage"),
        )
        written = write_coverage(study.summary, out)
    except InputError as exc:
        _fail(exc)
    typer.echo(f"{study.seconds:.1f} s; wrote " + ", ".join(str(p) for p in written))


def _where(scheduler: str | None, workers: int) -> str:
    if scheduler is None and workers == 1:
        return "serial"
    if scheduler in (None, "local"):
        return f"local Dask cluster of {workers} workers"
    return f"Dask scheduler {scheduler}"
