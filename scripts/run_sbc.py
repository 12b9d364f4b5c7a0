"""Thin wrapper kept for old commands: ``scripts/run_sbc.py [--only NAME ...] [options]`` runs
``bayes-anlo study sbc NAME ... [options]`` (docs/calibration.md).

Options passed through: ``--datasets``, ``--seed``, ``--workers``, ``--scheduler``, ``--out``
(default docs/; ``--quick``: 10 datasets to a temporary folder).
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
    parser.add_argument("--only", nargs="+", default=[])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--datasets", type=int, default=None)
    parser.add_argument("--seed", type=int, default=20260403)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or (Path(tempfile.mkdtemp(prefix="sbc_quick_")) if args.quick else ROOT / "docs")
    command = ["study", "sbc", *args.only, "--out", str(out), "--seed", str(args.seed)]
    command += ["--datasets", str(args.datasets or (10 if args.quick else 200))]
    command += ["--workers", str(args.workers)]
    if args.scheduler:
        command += ["--scheduler", args.scheduler]
    return app(command, standalone_mode=False)


if __name__ == "__main__":
    sys.exit(main())
