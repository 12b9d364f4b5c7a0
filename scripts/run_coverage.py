"""Thin wrapper kept for old commands: ``scripts/run_coverage.py [options]`` runs
``bayes-anlo study coverage [options]`` (docs/coverage.md).

Options passed through: ``--quick``, ``--replicates``, ``--seed``, ``--workers``, ``--scheduler``,
``--out`` (default docs/; ``--quick``: a temporary folder).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    from bayes_anlo.cli import app

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--replicates", type=int, default=None)
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    quick_out = Path(tempfile.mkdtemp(prefix="coverage_quick_")) if args.quick else None
    out = args.out or quick_out or ROOT / "docs"
    command = ["study", "coverage", "--out", str(out), "--seed", str(args.seed)]
    command += ["--workers", str(args.workers)]
    if args.quick:
        command.append("--quick")
    if args.replicates:
        command += ["--replicates", str(args.replicates)]
    if args.scheduler:
        command += ["--scheduler", args.scheduler]
    return app(command, standalone_mode=False)


if __name__ == "__main__":
    sys.exit(main())
