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

import click

from bayes_anlo.cli_common import PATH, IntRange, fail
from bayes_anlo.errors import InputError

DEFAULT_CACHE = Path("runs") / "study_cache"

#: Study commands defined in other modules, imported only when named on the command line (their
#: modules import numpy, pandas and the design package, which every other command would pay for).
LAZY_COMMANDS = {"oc": ("bayes_anlo.design.oc_cli", "study_oc")}


class _StudyGroup(click.Group):
    """The ``study`` group: its own commands plus :data:`LAZY_COMMANDS`, loaded on demand."""

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module, command = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), command), name)
        return super().get_command(ctx, name)


study_app = _StudyGroup(
    "study",
    no_args_is_help=True,
    help="Calibration and design studies on the runner (simulation-based calibration, coverage, "
    "simulated operating characteristics): serial, a local Dask cluster (--scheduler local) or a "
    "cluster's scheduler (--scheduler ADDRESS).",
)


def runner_options(command):
    """The options every study takes: where it runs, where it writes, its result cache."""
    for option in reversed(
        (
            click.option(
                "--scheduler",
                help="'local' for a local Dask cluster, or a Dask scheduler address such as "
                "tcp://10.0.0.5:8786; default serial (a local cluster when --workers > 1)",
            ),
            click.option(
                "--workers",
                type=IntRange(min=1),
                default=1,
                help="workers of the local cluster (at least 1)",
            ),
            click.option(
                "--out",
                type=PATH,
                required=True,
                help="output folder: tables go to OUT/results, figures to OUT/figures",
            ),
            click.option(
                "--cache",
                type=PATH,
                default=DEFAULT_CACHE,
                help="the runner's result cache (finished tasks; an interrupted run resumes)",
            ),
            click.option("--no-cache", is_flag=True, help="compute everything, store nothing"),
        )
    ):
        command = option(command)
    return command


def _option_error(message: str) -> None:
    fail(InputError(message, file="command line"))


def _checked_out(out: Path) -> Path:
    from bayes_anlo.outputs import check_output_path

    try:
        return check_output_path(out, kind="directory")
    except InputError as exc:
        fail(exc)


@study_app.command("sbc")
@click.argument(
    "setups",
    nargs=-1,
    metavar="[SET-UP]...",
    help="set-up names (default: every set-up matching --model and --method): "
    "beta_binomial_exact, beta_binomial_nuts, logit_normal_exact, logit_normal_nuts, "
    "nested_nuts, piecewise_exponential_ipd, piecewise_exponential_summaries",
)
@click.option(
    "--model",
    multiple=True,
    help="model family (repeatable): beta_binomial, logit_normal, nested, "
    "piecewise_exponential; default all",
)
@click.option("--method", multiple=True, help="exact or nuts (repeatable); default both")
@click.option("--datasets", type=IntRange(min=1), default=200, help="simulated datasets per set-up")
@click.option(
    "--seed",
    type=IntRange(min=0),
    default=20260403,
    help="dataset i draws from SeedSequence([seed, i])",
)
@runner_options
def sbc_command(
    setups: tuple[str, ...],
    model: tuple[str, ...],
    method: tuple[str, ...],
    datasets: int,
    seed: int,
    scheduler: str | None,
    workers: int,
    out: Path,
    cache: Path,
    no_cache: bool,
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
    click.echo(
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
        fail(exc)
    for name, res in results.items():
        verdict = res.uniformity()
        flagged = verdict.loc[verdict["flagged"], "parameter"].tolist()
        status = f"FLAGGED: {', '.join(flagged)}" if flagged else "uniform (nothing flagged)"
        click.echo(f"{name}: {status}; fits {res.seconds:.1f} s in all")
    click.echo(
        f"wrote {out / 'results' / SBC_RANKS.format(name='<set-up>')}, "
        f"{out / 'results' / 'sbc_summary.csv'} and {out / 'figures'}/sbc_<set-up>.png"
    )


@study_app.command("coverage")
@click.option(
    "--replicates",
    type=IntRange(min=1),
    help="replicates per cell (default 200; --quick: 5)",
)
@click.option(
    "--seed",
    type=IntRange(min=0),
    default=20260401,
    help="replicate r of cell c draws from SeedSequence([seed, c, r])",
)
@click.option("--quick", is_flag=True, help="4 cells (k 3 and 10, rate 0.1, n 10-50) only")
@click.option("--block", type=IntRange(min=1), default=25, help="replicates per task")
@runner_options
def coverage_command(
    replicates: int | None,
    seed: int,
    quick: bool,
    block: int,
    scheduler: str | None,
    workers: int,
    out: Path,
    cache: Path,
    no_cache: bool,
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
    click.echo(
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
        fail(exc)
    click.echo(f"{study.seconds:.1f} s; wrote " + ", ".join(str(p) for p in written))


def _where(scheduler: str | None, workers: int) -> str:
    if scheduler is None and workers == 1:
        return "serial"
    if scheduler in (None, "local"):
        return f"local Dask cluster of {workers} workers"
    return f"Dask scheduler {scheduler}"
