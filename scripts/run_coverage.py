"""Coverage study of pooled-rate intervals (docs/coverage.md).

    .venv/bin/python scripts/run_coverage.py            # full study (64 cells x 100 replicates)
    .venv/bin/python scripts/run_coverage.py --quick    # smoke test (4 cells x 5 replicates)

Writes docs/results/coverage.csv (one row per cell and method), docs/results/coverage_table.md
(every cell: coverage and median width per method), docs/results/coverage_overview.md (the
compact table of docs/coverage.md) and docs/figures/coverage.png. ``--out DIR``
writes ``DIR/results`` and ``DIR/figures`` instead of ``docs/`` (the quick run defaults to a
temporary directory so that it never overwrites the documented results).

Finished blocks of 25 replicates are cached under runs/coverage_cache (``--cache``), so an
interrupted full run resumes where it stopped; ``--from-cache`` writes the outputs from whatever
blocks the cache holds without fitting anything (with ``--replicates R``: replicates 0 to R-1 only).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bayes_anlo.studies.coverage import (
    block_path,
    coverage_markdown,
    coverage_overview,
    design,
    plot_coverage,
    run_coverage,
    summarise,
)

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="4 cells x 5 replicates (smoke test)")
    parser.add_argument(
        "--replicates", type=int, default=None, help="replicates per cell (default 100; quick 5)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument(
        "--out", type=Path, default=None, help="output root (default docs/; quick: a temp dir)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / "runs" / "coverage_cache",
        help="directory of finished blocks (full run only; default runs/coverage_cache)",
    )
    parser.add_argument(
        "--from-cache", action="store_true", help="summarise the cached blocks only"
    )
    args = parser.parse_args(argv)
    if args.quick:
        cells = [c for c in design() if c.k in (3, 10) and c.rate == 0.1 and c.n_lo == 10]
        replicates = args.replicates or 5
        out = args.out or Path(tempfile.mkdtemp(prefix="coverage_quick_"))
    else:
        cells = design()
        replicates = args.replicates or 100
        out = args.out or ROOT / "docs"
    print(
        f"coverage study: {len(cells)} cells x {replicates} replicates, {args.workers} worker(s), "
        f"seed {args.seed}, output {out}",
        flush=True,
    )
    start = time.perf_counter()

    def progress(done, total, elapsed):
        print(f"  {done}/{total} cells  {elapsed:7.1f} s", flush=True)

    if args.from_cache:
        # only blocks computed by this code for this design (the file name carries both)
        wanted = {
            block_path(args.cache, c, i, 0, 1, args.seed).name.rsplit("_rep", 1)[0]
            for i, c in enumerate(cells)
        }
        files = sorted(
            f
            for f in args.cache.glob(f"seed{args.seed}_cell*_rep*.csv")
            if f.name.rsplit("_rep", 1)[0] in wanted
        )
        if not files:
            raise SystemExit(
                f"no cached blocks in {args.cache} match this code and design: run without "
                "--from-cache"
            )
        raw = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        if args.replicates:  # keep complete passes only: replicates 0 .. R-1 of every cell
            raw = raw[raw["replicate"] < args.replicates]
        summary = summarise(raw, cells)
        print(f"summarised {len(files)} cached blocks ({len(raw)} intervals)")
    else:
        study = run_coverage(
            cells,
            replicates=replicates,
            seed=args.seed,
            workers=args.workers,
            progress=progress,
            cache_dir=None if args.quick else args.cache,
        )
        summary = study.summary
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / "results" / "coverage.csv", index=False, float_format="%.6g")
    (out / "results" / "coverage_table.md").write_text(coverage_markdown(summary) + "\n")
    (out / "results" / "coverage_overview.md").write_text(coverage_overview(summary) + "\n")
    plot_coverage(summary, out / "figures" / "coverage.png")
    print(
        f"wrote {out / 'results' / 'coverage.csv'}, coverage_table.md and "
        f"{out / 'figures' / 'coverage.png'}"
    )
    print(f"elapsed {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
