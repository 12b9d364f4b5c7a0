"""Time every figure of a run: building it (the figure function) and saving it (PNG).

    .venv/bin/python benchmarks/figures.py [SPEC] [--repeat 3]

Runs the analyses of SPEC (default: the meta spec) in fast mode (exact engines where they exist),
then times, per figure, the figure function that builds it and ``plots.save`` that writes it, each
``--repeat`` times (the median is printed). Prints one line per figure and a total, then a JSON
line (``RESULT {...}``) that ``benchmarks/run.py`` reads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _instrument(builds: list) -> None:
    """Wrap every figure function (they all go through ``canvas.literal_text``) so that each call
    is recorded with its arguments; must run before the report modules are imported."""
    from bayes_anlo.report import canvas

    decorate = canvas.literal_text

    def timed(func):
        wrapped = decorate(func)

        def call(*args, **kwargs):
            fig = wrapped(*args, **kwargs)
            builds.append((func.__name__, wrapped, args, kwargs))
            return fig

        return call

    canvas.literal_text = timed


def measure(spec: Path, repeat: int) -> dict:
    builds: list = []
    _instrument(builds)
    from bayes_anlo.pipeline.run import run_spec
    from bayes_anlo.report import plots

    with tempfile.TemporaryDirectory() as tmp:
        run_spec(spec, Path(tmp) / "run", fast=True, log=None)
        rows = []
        for i, (name, func, args, kwargs) in enumerate(builds):
            build, save = [], []
            for _ in range(repeat):
                t = time.perf_counter()
                fig = func(*args, **kwargs)
                build.append(time.perf_counter() - t)
                t = time.perf_counter()
                plots.save(fig, Path(tmp) / f"{i}.png")
                save.append(time.perf_counter() - t)
            rows.append(
                {
                    "figure": name,
                    "build_seconds": statistics.median(build),
                    "save_seconds": statistics.median(save),
                }
            )
    return {
        "figures": rows,
        "build_seconds_total": sum(r["build_seconds"] for r in rows),
        "save_seconds_total": sum(r["save_seconds"] for r in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec", nargs="?", default=str(ROOT / "models/sarcoma_meta_analysis.toml"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result = measure(Path(args.spec), args.repeat)
    for r in result["figures"]:
        print(
            f"  {r['figure']:<28} build {r['build_seconds']:7.3f} s   "
            f"save {r['save_seconds']:7.3f} s"
        )
    print(
        f"  {'total':<28} build {result['build_seconds_total']:7.3f} s   "
        f"save {result['save_seconds_total']:7.3f} s"
    )
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
