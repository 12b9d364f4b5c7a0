"""The files of the calibration studies (``bayes-anlo study ...``, docs/calibration.md and
docs/coverage.md): tables under ``OUT/results``, figures under ``OUT/figures``.

SBC, per set-up ``NAME``: ``results/sbc_NAME_ranks.csv`` (:data:`SBC_RANKS`: one row per dataset:
``model, dataset``, the rank of every ranked quantity in ``0..L``, ``fit_seconds``, the NUTS
diagnostics ``diag_divergences`` and ``diag_ess_bulk``, the prior draws ``truth_*`` and
``workers``) and ``figures/sbc_NAME.png``; for every set-up with a ranks file in ``OUT``
(also from earlier runs of other set-ups), ``results/sbc_summary.csv`` (uniformity tests and
verdicts, :func:`bayes_anlo.checks.calibration.summarise_runs`).

Coverage: ``results/coverage.csv`` (one row per cell and method), ``results/coverage_table.md``,
``results/coverage_overview.md`` and ``figures/coverage.png``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from bayes_anlo.checks.calibration import ALPHA, BINS, SBCResult, plot_sbc, summarise_runs
from bayes_anlo.outputs import write_bytes_atomic, write_csv

#: File name of a set-up's ranks table (under ``OUT/results``).
SBC_RANKS = "sbc_{name}_ranks.csv"
SBC_SUMMARY = "sbc_summary.csv"
SBC_FIGURE = "sbc_{name}.png"


def output_dirs(out: str | Path) -> tuple[Path, Path]:
    """``OUT/results`` and ``OUT/figures``, created."""
    results, figures = Path(out) / "results", Path(out) / "figures"
    results.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    return results, figures


def read_sbc_ranks(path: str | Path, setup) -> SBCResult:
    """An :class:`SBCResult` from a ranks file written by :func:`write_sbc` (columns other than the
    per-dataset ones, such as ``workers``, are set aside)."""
    table = pd.read_csv(path)
    workers = int(table["workers"].iloc[0]) if "workers" in table else 1
    table = table.drop(
        columns=[c for c in ("model", "workers", "wall_seconds") if c in table.columns]
    )
    return SBCResult(
        setup.name,
        tuple(setup.parameters),
        int(setup.n_draws),
        table,
        float(table["fit_seconds"].sum()),
        workers,
    )


def write_sbc(
    results: Mapping[str, SBCResult], setups: Mapping[str, object], out: str | Path
) -> list[Path]:
    """Write the ranks and figure of every run in ``results`` and the summary of every set-up of
    ``setups`` that has a ranks file in ``out``; returns the paths written."""
    results_dir, figures_dir = output_dirs(out)
    written = []
    for name, res in results.items():
        table = res.to_frame()
        table["workers"] = res.workers
        path = results_dir / SBC_RANKS.format(name=name)
        written.append(write_csv(table, path, float_format="%.8g"))
        figure = figures_dir / SBC_FIGURE.format(name=name)
        plot_sbc(res, figure, labels=_labels())
        written.append(figure)
    runs = [
        read_sbc_ranks(results_dir / SBC_RANKS.format(name=name), setup)
        for name, setup in setups.items()
        if (results_dir / SBC_RANKS.format(name=name)).exists()
    ]
    summary = summarise_runs(runs, bins=BINS, alpha=ALPHA)
    written.append(write_csv(summary, results_dir / SBC_SUMMARY, float_format="%.6g"))
    return written


def _labels() -> dict[str, str]:
    from bayes_anlo.studies.sbc_runs import LABELS

    return LABELS


def write_coverage(summary: pd.DataFrame, out: str | Path) -> list[Path]:
    """Write the coverage table (CSV and two Markdown tables) and figure; returns the paths."""
    from bayes_anlo.studies.coverage import coverage_markdown, coverage_overview, plot_coverage

    results_dir, figures_dir = output_dirs(out)
    written = [write_csv(summary, results_dir / "coverage.csv", float_format="%.6g")]
    for name, text in (
        ("coverage_table.md", coverage_markdown(summary)),
        ("coverage_overview.md", coverage_overview(summary)),
    ):
        written.append(write_bytes_atomic((text + "\n").encode("utf-8"), results_dir / name))
    plot_coverage(summary, figures_dir / "coverage.png")
    written.append(figures_dir / "coverage.png")
    return written
