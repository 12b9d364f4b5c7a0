"""Execute the notebooks in notebooks/.

    python scripts/execute_notebooks.py --write          # full draws, save outputs in place
    (committed) python scripts/execute_notebooks.py --fast           # fewer draws, outputs
    discarded (what CI does) python scripts/execute_notebooks.py --fast NAME ...  # only these
    notebooks

Notebooks read the environment variable ``BAYES_ANLO_FAST`` (set to 1 by ``--fast``) and then use
fewer draws. Exit status 1 if any notebook raises.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def execute(path: Path, *, fast: bool, write: bool, timeout: int = 1200) -> float:
    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("BAYES_ANLO_FAST")
    os.environ["BAYES_ANLO_FAST"] = "1" if fast else "0"
    try:
        start = time.perf_counter()
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        elapsed = time.perf_counter() - start
    finally:
        if env_before is None:
            os.environ.pop("BAYES_ANLO_FAST", None)
        else:
            os.environ["BAYES_ANLO_FAST"] = env_before
    if write:
        nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="notebook file names (default: all)")
    parser.add_argument("--fast", action="store_true", help="fewer draws (BAYES_ANLO_FAST=1)")
    parser.add_argument(
        "--write", action="store_true", help="save executed outputs into the notebooks"
    )
    args = parser.parse_args(argv)
    paths = [NOTEBOOKS / n for n in args.names] if args.names else sorted(NOTEBOOKS.glob("*.ipynb"))
    failed = []
    for path in paths:
        try:
            seconds = execute(path, fast=args.fast, write=args.write)
            print(f"ok      {path.name}  ({seconds:.0f} s)")
        except CellExecutionError as exc:
            failed.append(path.name)
            print(f"FAILED  {path.name}\n{str(exc)[:3000]}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
