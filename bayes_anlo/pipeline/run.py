"""Run a spec and write its run directory, atomically.

Layout of ``DIR``::

    posterior.nc        xarray DataTree: one child per analysis id (ArviZ groups below it)
    tables/<id>__<name>.csv
    figures/<id>__<name>.png
    report.md, report.html
    run.json            what was run: run marker, spec text and hash, seed, data hashes, versions,
                        convergence, seconds per analysis, number of NUTS models compiled

The destination is checked before any fitting (:func:`bayes_anlo.outputs.check_output_path`).
Everything is written to a hidden sibling and put in place only when complete, with the checks of
:mod:`bayes_anlo.pipeline.run_directory`: an interrupted or failed run (Ctrl-C, SIGTERM, a full
disk) leaves no partial ``DIR``; an existing ``DIR`` is replaced only with ``force=True``, only if
it is a run directory, and only if it is still the one checked at start. Each start cleans up what
a killed run left behind.

Progress goes to ``log`` (stderr by default): one line when each analysis starts and one when it
ends, with its time; the times are also in ``run.json`` (``seconds_per_analysis``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr

from bayes_anlo.errors import InputError, Problem
from bayes_anlo.models import compile_cache
from bayes_anlo.models.sampling import SamplerSettings, package_versions
from bayes_anlo.outputs import check_output_path, disk_errors, write_csv
from bayes_anlo.pipeline.result_cache import DrawnFigure, StoredResults
from bayes_anlo.pipeline.run_directory import (
    RUN_FORMAT,
    claim_destination,
    make_partial,
    place,
    recover_stale,
)
from bayes_anlo.pipeline.tree_writer import TreeWriter
from bayes_anlo.report.compose import compose_report
from bayes_anlo.report.evidence_sections import figure_formats
from bayes_anlo.report.figure_pool import FigurePool, default_workers
from bayes_anlo.report.render import Paragraph, to_html, to_markdown
from bayes_anlo.report.result import AnalysisResult
from bayes_anlo.spec import Spec, load_spec

#: Sampler settings of ``--fast`` for analyses without an exact engine.
FAST_SAMPLER = {"draws": 300, "tune": 300, "chains": 2}

FAST_BANNER = (
    "**FAST MODE: NOT FOR INFERENCE.** This smoke-test run used exact engines where they exist and "
    "few draws elsewhere; the convergence gate was not applied (the run succeeds whatever the "
    "diagnostics say). Re-run without `--fast` for results."
)


@dataclass(frozen=True)
class RunOutcome:
    """Where a run was written and whether every analysis converged."""

    out: Path
    converged: bool
    unconverged: tuple[str, ...]
    wall_seconds: float
    report_html: Path
    report_md: Path
    gate_applied: bool = True


class Terminated(KeyboardInterrupt):
    """SIGTERM received: handled like Ctrl-C (the run's cleanup runs), exit status 128 + 15."""

    signum = signal.SIGTERM


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While running, turn SIGTERM into :class:`Terminated` (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (for the renames that put a run in place):
    a signal arriving inside is recorded and raised, as KeyboardInterrupt or Terminated, after
    it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: received.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if signal.SIGTERM in received:
        raise Terminated()
    if signal.SIGINT in received:
        raise KeyboardInterrupt()


def select_analyses(spec: Spec, only: tuple[str, ...] | None) -> list[tuple[int, object]]:
    """(index, entry) of the analyses to run; ``only`` names ids (unknown ids: InputError)."""
    indexed = list(enumerate(spec.analyses))
    if not only:
        return indexed
    known = [entry.id for entry in spec.analyses]
    unknown = [i for i in only if i not in known]
    if unknown:
        raise InputError(
            Problem(
                str(spec.path),
                None,
                None,
                f"--only: unknown analysis id(s) {', '.join(unknown)}; known ids: "
                f"{', '.join(known)}",
            )
        )
    return [(i, entry) for i, entry in indexed if entry.id in only]


def _protected_paths(spec_path: Path, spec: Spec | None = None) -> tuple[Path, ...]:
    paths = [Path(spec_path)]
    for entry in spec.analyses if spec is not None else ():
        file = getattr(getattr(entry, "data", None), "file", None)
        if file:
            paths.append(Path(file))
    return tuple(paths)


def run_spec(
    spec_path: str | Path,
    out: str | Path,
    *,
    force: bool = False,
    fast: bool = False,
    sampler_overrides: dict | None = None,
    only: tuple[str, ...] | None = None,
    log: Callable[[str], None] | None = _stderr,
    figure_workers: int | None = None,
    cache_dir: str | Path | None = None,
    no_cache: bool = False,
) -> RunOutcome:
    """Execute the analyses of a spec and write the run directory (see module docstring).

    Parameters
    ----------
    fast : bool
        Smoke test: exact engines where the model has one, otherwise 2 chains x 300 draws after
        300 tuning steps. The report is marked not for inference and the convergence gate is not
        applied (``RunOutcome.gate_applied`` is False).
    only : tuple of str
        Run only these analysis ids (the run directory then holds only them); an unknown id is an
        :class:`InputError` listing the known ones.
    log : callable or None
        Receives progress lines and notes (default: stderr); None for silence.
    figure_workers : int or None
        Worker processes that draw the figures while the analyses run
        (:class:`~bayes_anlo.report.figure_pool.FigurePool`; default: the environment
        variable ``BAYES_ANLO_FIGURE_WORKERS``, else one per CPU beyond the first, at most 3);
        0 draws them in this process. The figures are the same bytes either way.
    cache_dir : path or None
        The result cache (:mod:`~bayes_anlo.pipeline.result_cache`): an analysis whose spec
        entry, data, seed, sampler settings, code and package versions are those of a stored one
        is read back with its figures instead of being fitted again, and says so in the report.
        Default: :func:`~bayes_anlo.pipeline.result_cache.default_directory` (none when the
        environment variable ``BAYES_ANLO_NO_CACHE`` is set).
    no_cache : bool
        Fit every analysis, and store nothing.
    """
    log = log or (lambda line: None)
    out = Path(out)
    spec_path = Path(spec_path)
    spec = load_spec(spec_path)
    check_output_path(out, kind="directory", protect=_protected_paths(spec_path, spec))
    chosen = select_analyses(spec, only)
    settings = dict(spec.sampler)
    if fast:
        settings.update(FAST_SAMPLER)
    settings.update(sampler_overrides or {})
    sampler = SamplerSettings(**settings)

    with terminate_as_interrupt():
        recover_stale(out, log)
        expected = claim_destination(out, force)
        with disk_errors(out):
            tmp = make_partial(out)
        placed = False
        # posterior.nc is written by a helper process, started when the first analysis is fitted
        # (its imports then overlap the fit; a run reading every analysis from the cache writes
        # it itself)
        helpers = default_workers() if figure_workers is None else figure_workers
        writer = TreeWriter(enabled=False)
        try:
            started = datetime.now(UTC)
            t0 = time.perf_counter()
            compiled_before = compile_cache.compilations()
            results, timings = [], {}
            stored = StoredResults.open(cache_dir, spec, sampler, fast, log, enabled=not no_cache)
            with FigurePool(figure_workers) as pool:  # draws each analysis's figures meanwhile
                for k, (index, entry) in enumerate(chosen, start=1):
                    label = f"[{k}/{len(chosen)}] {entry.id}"
                    t_start = time.perf_counter()
                    result = stored.get(entry, index)
                    if result is None:
                        pool.start()  # its workers load the drawing stack during this fit
                        if helpers > 0 and not writer.started:
                            writer = TreeWriter()
                        log(f"{label}: {entry.model} ({_engine(entry, fast)}) ...")
                        result = run_analysis(
                            entry, spec=spec, sampler=sampler, index=index, fast=fast
                        )
                        stored.keep(entry, result, log)
                    results.append(result)
                    submit_figures(pool, result, spec)
                    timings[entry.id] = round(time.perf_counter() - t_start, 3)
                    used = result.tree.attrs.get("method", "")
                    how = "read from the result cache" if stored.reused(entry) else "done"
                    log(
                        f"{label}: {how} in {timings[entry.id]:.1f} s by {used} "
                        f"(elapsed {time.perf_counter() - t0:.1f} s)"
                    )
                if spec.design is not None:  # the [design] part, from the analysis it names
                    from bayes_anlo.pipeline.design_steps import add_design

                    add_design(spec, results, log)
                    for result in results:
                        submit_figures(pool, result, spec)
                audits = run_audits(spec)
                drawn = pool.collect()
            stored.put_kept(
                {r.id: {name: drawn[figure_key(r, name)] for name in r.figures} for r in results},
                log,
            )
            wall = time.perf_counter() - t0
            record = run_record(spec, results, sampler, started, wall, fast)
            record["seconds_per_analysis"] = timings
            record["result_cache"] = stored.record()
            record["nuts_compilations"] = compile_cache.compilations() - compiled_before
            if only:
                record["only"] = [entry.id for _, entry in chosen]
            log(f"writing {out} ...")
            with disk_errors(out):
                write_run_directory(tmp, spec, results, record, audits, drawn, writer)
            with signals_deferred():  # a signal arriving now is delivered once DIR is in place
                place(tmp, out, expected)
                placed = True
        except BaseException as exc:
            writer.close(kill=True)  # before the partial directory it writes into is removed
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, KeyboardInterrupt):
                exc.run_written = placed  # the run was complete when the (deferred) signal arrived
            raise
    unconverged = tuple(r.id for r in results if not r.converged)
    converged = not unconverged
    return RunOutcome(
        out,
        converged,
        unconverged,
        wall,
        out / "report.html",
        out / "report.md",
        gate_applied=not fast,
    )


def _engine(entry, fast: bool) -> str:
    """The method asked for: ``auto`` (exact engine where it applies, else NUTS), nuts or exact."""
    return "auto" if fast and entry.method == "nuts" else entry.method


def _has_exact(entry) -> bool:
    from bayes_anlo.models.registry import FAMILIES

    cls = FAMILIES.get(entry.model)
    return cls is not None and "exact" in cls.methods


def run_analysis(
    entry, *, spec: Spec, sampler: SamplerSettings, index: int, fast: bool = False
) -> AnalysisResult:
    """Dispatch one analysis to its family's pipeline (with its own sampler overrides applied).

    With ``fast``, every model is fitted with ``method = "auto"`` (its exact engine where it has
    one that applies to the data); an analysis fitted by NUTS anyway, although its family has an
    exact engine (e.g. a nested model with several studies per subgroup), gets a note saying so.
    """
    if entry.sampler:
        sampler = SamplerSettings(**{**sampler.__dict__, **entry.sampler})
    if fast:
        sampler = SamplerSettings(**{**sampler.__dict__, **FAST_SAMPLER})
        if entry.method == "nuts":
            entry = _with_method(entry, "auto")
    result = _dispatch(entry, spec=spec, sampler=sampler, index=index)
    if fast and _has_exact(entry) and str(result.tree.attrs.get("method")) != "exact":
        result.notes.append(
            "Fast mode: the exact engine does not apply here; fitted by NUTS with few draws."
        )
    return result


def _with_method(entry, method: str):
    if hasattr(entry, "model_copy"):  # a pydantic spec entry
        return entry.model_copy(update={"method": method})
    return replace(entry, method=method)


def _dispatch(entry, *, spec: Spec, sampler: SamplerSettings, index: int) -> AnalysisResult:
    from bayes_anlo.pipeline.skeleton import run_steps, steps_for

    return run_steps(steps_for(entry.model), entry, seed=spec.seed, sampler=sampler, index=index)


def run_audits(spec: Spec) -> dict:
    """Audit results (bayes_anlo.audit) for the extractions the spec names, keyed by name."""
    if not spec.audits:
        return {}
    from bayes_anlo.audit import run_audit

    return {Path(name).stem: run_audit(name) for name in spec.audits}


def run_record(
    spec: Spec,
    results: list[AnalysisResult],
    sampler: SamplerSettings,
    started,
    wall: float,
    fast: bool,
) -> dict:
    spec_bytes = spec.path.read_bytes()
    return {
        "format": RUN_FORMAT,
        "spec_path": str(spec.path),
        "spec_sha256": hashlib.sha256(spec_bytes).hexdigest(),
        "spec_text": spec_bytes.decode("utf-8-sig"),
        "seed": spec.seed,
        "sampler": json.dumps(sampler.__dict__),
        "fast_mode": fast,
        "convergence_gate": "not applied (--fast)" if fast else "applied",
        "started_at": started.isoformat(timespec="seconds"),
        "wall_seconds": wall,
        "versions": json.dumps(package_versions(), sort_keys=True),
        "data_sha256": {r.id: str(r.tree.attrs.get("data_sha256", "")) for r in results},
        "converged": {r.id: r.converged for r in results},
        "convergence_reasons": {r.id: r.convergence_reasons for r in results},
    }


def _netcdf_safe(tree: xr.DataTree) -> xr.DataTree:
    """Drop object-dtype variables (e.g. nutpie's divergence messages), which netCDF cannot hold."""

    def clean(ds: xr.Dataset) -> xr.Dataset:
        drop = [name for name, var in ds.variables.items() if var.dtype == object]
        return ds.drop_vars(drop)

    return tree.map_over_datasets(clean)


def posterior_tree(results: list[AnalysisResult], record: dict) -> xr.DataTree:
    """One DataTree for the run: a child per analysis (its ArviZ groups below it), run record as
    root attrs."""
    root = xr.DataTree()
    for r in results:
        root[r.id] = _netcdf_safe(r.tree)  # assignment copies; the fitted tree is not modified
        root[r.id].attrs = dict(r.tree.attrs)
    root.attrs = {
        k: (json.dumps(v) if isinstance(v, dict | list | bool | None) else v)
        for k, v in record.items()
    }
    return root


def figure_key(result: AnalysisResult, name: str) -> str:
    """The file stem of a run's figure: ``<analysis id>__<figure name>``."""
    return f"{result.id}__{name}"


def submit_figures(pool: FigurePool, result: AnalysisResult, spec: Spec) -> None:
    """Hand ``result``'s figures not yet submitted to ``pool``: PNG, and for a publication figure
    also the formats the spec asks (trimmed, as :func:`~bayes_anlo.report.forest_figure.save_figure`
    draws them)."""
    for name, fig in result.figures.items():
        key = figure_key(result, name)
        if key in pool:
            continue
        if isinstance(fig, DrawnFigure):  # read from the result cache
            pool.add_drawn(key, fig.files)
        else:
            formats = figure_formats(name, spec.figure_formats)
            pool.submit(key, fig, formats, trim=formats != ("png",))


def write_run_directory(
    directory: Path,
    spec: Spec,
    results: list[AnalysisResult],
    record: dict,
    audits: dict,
    drawn: dict[str, dict[str, bytes]],
    writer: TreeWriter | None = None,
) -> None:
    """Write every file of a run into ``directory`` (an empty, private folder); ``drawn`` holds
    the figures' bytes by file stem and format (:meth:`FigurePool.collect`); ``writer`` writes
    ``posterior.nc`` meanwhile (default: a writer working in this process)."""
    writer = writer or TreeWriter(enabled=False)
    writer.submit(posterior_tree(results, record), directory / "posterior.nc")
    (directory / "tables").mkdir()
    (directory / "figures").mkdir()
    for name, audit in audits.items():
        write_csv(audit.table, directory / "tables" / f"audit__{name}.csv")
    for r in results:
        for name, table in r.tables.items():
            write_csv(table, directory / "tables" / f"{r.id}__{name}.csv")
    for key, files in drawn.items():
        for fmt, data in files.items():
            (directory / "figures" / f"{key}.{fmt}").write_bytes(data)
    blocks = compose_report(spec, results, record, directory, audits)
    if record.get("fast_mode"):
        blocks = [*blocks[:1], Paragraph(FAST_BANNER, css="warning"), *blocks[1:]]
    (directory / "report.md").write_text(to_markdown(blocks), encoding="utf-8")
    (directory / "report.html").write_text(to_html(blocks, spec.title), encoding="utf-8")
    writer.wait()
    (directory / "run.json").write_text(
        json.dumps(record, indent=2, default=_json_default), encoding="utf-8"
    )


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
