"""Simulation-based calibration of every model family (docs/calibration.md).

    .venv/bin/python scripts/run_sbc.py                    # all set-ups, 200 datasets each
    .venv/bin/python scripts/run_sbc.py --quick            # smoke test: 10 datasets each, temp
    output .venv/bin/python scripts/run_sbc.py --only beta_binomial_exact logit_normal_exact

Set-ups (bayes_anlo.studies.sbc_runs): beta_binomial_exact, beta_binomial_nuts, logit_normal_exact,
logit_normal_nuts, nested_nuts, piecewise_exponential_ipd, piecewise_exponential_summaries.

Writes, per set-up, docs/results/sbc_<name>.csv (ranks, prior draws, fit time and diagnostics per
dataset) and docs/figures/sbc_<name>.png (rank histograms and ECDF differences), and
docs/results/sbc_summary.csv (uniformity tests of every ranked quantity, verdict at family-wise
level 0.01 per set-up, wall time). ``--out DIR`` writes under DIR instead of docs/; with
``--only`` the summary of the other set-ups is kept (read back from their per-set-up CSVs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bayes_anlo.checks.calibration import ALPHA, BINS, SBCResult, plot_sbc, run_sbc, summarise_runs
from bayes_anlo.studies.sbc_runs import LABELS, all_setups

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    setups = all_setups()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10 datasets per set-up (smoke test)")
    parser.add_argument(
        "--datasets", type=int, default=None, help="datasets per set-up (default 200; quick 10)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (at most 2 on a shared machine)"
    )
    parser.add_argument("--seed", type=int, default=20260403)
    parser.add_argument("--only", nargs="+", choices=sorted(setups), default=None)
    parser.add_argument(
        "--out", type=Path, default=None, help="output root (default docs/; quick: a temp dir)"
    )
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="fit nothing: redraw the figures and the summary from the per-set-up CSVs",
    )
    args = parser.parse_args(argv)
    n = args.datasets or (10 if args.quick else 200)
    out = args.out or (Path(tempfile.mkdtemp(prefix="sbc_quick_")) if args.quick else ROOT / "docs")
    results_dir, figures_dir = out / "results", out / "figures"
    results_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    names = [] if args.summary_only else (args.only or list(setups))
    print(
        f"SBC: {', '.join(names)}; {n} datasets each, {args.workers} worker(s), seed {args.seed}, "
        f"output {out}",
        flush=True,
    )
    start = time.perf_counter()
    for name in names:
        setup = setups[name]

        def progress(done, total, elapsed, name=name):
            print(f"  {name}: {done}/{total} datasets  {elapsed:7.1f} s", flush=True)

        res = run_sbc(setup, n, seed=args.seed, workers=args.workers, progress=progress)
        table = res.to_frame()
        table["wall_seconds"] = res.seconds
        table["workers"] = res.workers
        table.to_csv(results_dir / f"sbc_{name}.csv", index=False, float_format="%.8g")
        verdict = res.uniformity()
        flagged = verdict.loc[verdict["flagged"], "parameter"].tolist()
        print(
            f"{name}: {res.seconds:.1f} s; "
            + (
                "uniform (no quantity flagged)" if not flagged else f"FLAGGED: {', '.join(flagged)}"
            ),
            flush=True,
        )
    # figures and summary over every set-up with a results file (also those of earlier --only runs)
    results = []
    for name in setups:
        path = results_dir / f"sbc_{name}.csv"
        if not path.exists():
            continue
        t = pd.read_csv(path)
        s = setups[name]
        res = SBCResult(
            name,
            tuple(s.parameters),
            int(s.n_draws),
            t.drop(columns=["model"]),
            float(t["wall_seconds"].iloc[0]),
            int(t["workers"].iloc[0]),
        )
        plot_sbc(res, figures_dir / f"sbc_{name}.png", labels=LABELS)
        results.append(res)
    summary = summarise_runs(results, bins=BINS, alpha=ALPHA)
    summary.to_csv(results_dir / "sbc_summary.csv", index=False, float_format="%.6g")
    print(
        summary[["model", "parameter", "chi2_p", "ecdf_p", "flagged", "wall_seconds"]].to_string(
            index=False
        )
    )
    print(
        f"wrote {results_dir}/sbc_*.csv and {figures_dir}/sbc_*.png; elapsed "
        f"{time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
