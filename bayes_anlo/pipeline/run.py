"""Run a spec and write its run directory, atomically.

Layout of ``DIR``::

    posterior.nc        xarray DataTree: one child per analysis id (ArviZ groups below it)
    tables/<id>__<name>.csv
    figures/<id>__<name>.png
    report.md, report.html
    run.json            what was run: spec text and hash, seed, data hashes, versions, convergence

Everything is written to a temporary sibling directory first and renamed into place only when
complete, so an interrupted or failed run leaves no partial ``DIR``; an existing ``DIR`` is
replaced only with ``force=True`` (and is kept intact if the new run fails).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr

from bayes_anlo.errors import InputError, Problem
from bayes_anlo.models._sampling import SamplerSettings, package_versions
from bayes_anlo.pipeline.result import AnalysisResult
from bayes_anlo.report import plots
from bayes_anlo.report.compose import compose_report
from bayes_anlo.report.render import to_html, to_markdown
from bayes_anlo.spec import Spec, load_spec


@dataclass(frozen=True)
class RunOutcome:
    """Where a run was written and whether every analysis converged."""

    out: Path
    converged: bool
    unconverged: tuple[str, ...]
    wall_seconds: float
    report_html: Path
    report_md: Path


def check_destination(out: Path, force: bool) -> None:
    """Refuse to overwrite an existing run directory unless forced; refuse a file in the way."""
    if out.exists() and not out.is_dir():
        raise InputError(Problem(str(out), None, None, "exists and is not a directory"))
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError(Problem(str(out), None, None, "run directory already exists; pass --force to replace it"))


def run_spec(spec_path: str | Path, out: str | Path, *, force: bool = False, fast: bool = False,
             sampler_overrides: dict | None = None) -> RunOutcome:
    """Execute every analysis in a spec and write the run directory (see module docstring).

    Parameters
    ----------
    fast : bool
        Fewer draws (2 chains x 300 after 300 tuning) for smoke tests and notebook checks; the
        report says so and the convergence gate still applies.
    """
    out = Path(out)
    check_destination(out, force)
    spec = load_spec(spec_path)
    settings = dict(spec.sampler)
    if fast:
        settings.update(draws=300, tune=300, chains=2)
    settings.update(sampler_overrides or {})
    sampler = SamplerSettings(**settings)

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    results = [run_analysis(entry, spec=spec, sampler=sampler, index=i) for i, entry in enumerate(spec.analyses)]
    audits = run_audits(spec)
    wall = time.perf_counter() - t0

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        record = run_record(spec, results, sampler, started, wall, fast)
        write_run_directory(tmp, spec, results, record, audits)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    unconverged = tuple(r.id for r in results if not r.converged)
    return RunOutcome(out, not unconverged, unconverged, wall, out / "report.html", out / "report.md")


def run_analysis(entry, *, spec: Spec, sampler: SamplerSettings, index: int) -> AnalysisResult:
    """Dispatch one analysis to its family's pipeline (with its own sampler overrides applied)."""
    if entry.sampler:
        sampler = SamplerSettings(**{**sampler.__dict__, **entry.sampler})
    if entry.model == "piecewise_exponential":
        from bayes_anlo.pipeline.survival import run_survival_analysis

        return run_survival_analysis(entry, seed=spec.seed, sampler=sampler, index=index)
    if entry.model == "two_arm":
        from bayes_anlo.pipeline.two_arm import run_two_arm_analysis

        return run_two_arm_analysis(entry, seed=spec.seed, sampler=sampler, index=index)
    from bayes_anlo.pipeline.binary import run_binary_analysis

    return run_binary_analysis(entry, seed=spec.seed, sampler=sampler, index=index)


def run_audits(spec: Spec) -> dict:
    """Audit results (bayes_anlo.audit) for the extractions the spec names, keyed by name."""
    if not spec.audits:
        return {}
    from bayes_anlo.audit import run_audit

    return {Path(name).stem: run_audit(name) for name in spec.audits}


def run_record(spec: Spec, results: list[AnalysisResult], sampler: SamplerSettings, started, wall: float, fast: bool) -> dict:
    spec_bytes = spec.path.read_bytes()
    return {
        "spec_path": str(spec.path),
        "spec_sha256": hashlib.sha256(spec_bytes).hexdigest(),
        "spec_text": spec_bytes.decode("utf-8-sig"),
        "seed": spec.seed,
        "sampler": json.dumps(sampler.__dict__),
        "fast_mode": fast,
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
    """One DataTree for the run: a child per analysis (its ArviZ groups below it), run record as root attrs."""
    root = xr.DataTree()
    for r in results:
        root[r.id] = _netcdf_safe(r.tree)  # assignment copies; the fitted tree is not modified
        root[r.id].attrs = dict(r.tree.attrs)
    root.attrs = {k: (json.dumps(v) if isinstance(v, dict | list | bool) else v) for k, v in record.items()}
    return root


def write_run_directory(directory: Path, spec: Spec, results: list[AnalysisResult], record: dict,
                        audits: dict | None = None) -> None:
    audits = audits or {}
    (directory / "tables").mkdir()
    (directory / "figures").mkdir()
    for name, audit in audits.items():
        audit.to_csv(directory / "tables" / f"audit__{name}.csv")
    for r in results:
        for name, table in r.tables.items():
            table.to_csv(directory / "tables" / f"{r.id}__{name}.csv", index=False)
        for name, fig in r.figures.items():
            plots.save(fig, directory / "figures" / f"{r.id}__{name}.png")
    posterior_tree(results, record).to_netcdf(directory / "posterior.nc", engine="h5netcdf")
    blocks = compose_report(spec, results, record, directory, audits)
    (directory / "report.md").write_text(to_markdown(blocks), encoding="utf-8")
    (directory / "report.html").write_text(to_html(blocks, spec.title), encoding="utf-8")
    (directory / "run.json").write_text(json.dumps(record, indent=2, default=_json_default), encoding="utf-8")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _replace(tmp: Path, out: Path) -> None:
    """Move ``tmp`` to ``out``; an existing ``out`` is set aside first and removed only after."""
    backup = None
    if out.exists():
        backup = out.with_name(f".{out.name}.old-{int(time.time() * 1000)}")
        out.rename(backup)
    try:
        tmp.rename(out)
    except BaseException:
        if backup is not None:
            backup.rename(out)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
