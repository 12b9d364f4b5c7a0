"""Per-fit time of ``glmm_logit`` (the ``rma.glmm`` comparator) for k = 3, 10, 20 studies.

    .venv/bin/python benchmarks/glmm_speed.py                     # this tree only
    .venv/bin/python benchmarks/glmm_speed.py --baseline 15e797e  # beside an older revision

Datasets as in the coverage study: n ~ U{50..200}, true logit rates N(logit 0.3, tau^2) with
tau in {0, 0.3, 0.8}, seed fixed. With ``--baseline REV`` the module ``bayes_anlo/frequentist/
glmm.py`` of git revision REV is loaded beside this tree's and timed on the same datasets; the
table then has both times, their ratio and the largest differences of the results (tau^2, the
logit estimate and its standard error). Times are CPU seconds per fit (``time.process_time``),
steadier than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.special import expit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bayes_anlo.frequentist import glmm as current  # noqa: E402


def load_revision(rev: str):
    """The glmm module as it was at git revision ``rev``."""
    source = subprocess.run(
        ["git", "show", f"{rev}:bayes_anlo/frequentist/glmm.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "glmm_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("glmm_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def datasets(k: int, count: int, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        tau = (0.0, 0.3, 0.8)[len(out) % 3]
        n = rng.integers(50, 201, size=k)
        x = rng.binomial(n, expit(math.log(0.3 / 0.7) + tau * rng.standard_normal(k)))
        if 0 < x.sum() < n.sum():
            out.append((x, n))
    return out


def time_fits(module, data) -> tuple[float, list]:
    """CPU seconds per fit (the machine is shared: CPU time is steadier than wall time)."""
    results = []
    start = time.process_time()
    for x, n in data:
        results.append(module.glmm_logit(x, n))
    return (time.process_time() - start) / len(data), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision to time beside this tree")
    parser.add_argument("--fits", type=int, default=12, help="datasets per k (default 12)")
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    base = load_revision(args.baseline) if args.baseline else None
    header = f"{'k':>3} {'fits':>5} {'this tree cpu s/fit':>20}"
    if base is not None:
        header += f" {'baseline cpu s/fit':>19} {'ratio':>7} {'max|dtau2|':>11} {'max|dbeta|':>11}"
        header += f" {'max rel dse':>12}"
    print(header)
    for k in (3, 10, 20):
        data = datasets(k, args.fits, args.seed + k)
        current.glmm_logit(*data[0])  # warm-up (imports, first calls)
        t_new, new = time_fits(current, data)
        line = f"{k:>3} {len(data):>5} {t_new:>20.4f}"
        if base is not None:
            t_old, old = time_fits(base, data)
            d_tau2 = max(abs(a.tau2 - b.tau2) for a, b in zip(new, old, strict=True))
            d_beta = max(abs(a.theta - b.theta) for a, b in zip(new, old, strict=True))
            d_se = max(
                abs(a.theta_se - b.theta_se) / b.theta_se for a, b in zip(new, old, strict=True)
            )
            line += f" {t_old:>19.4f} {t_old / t_new:>7.1f} {d_tau2:>11.2e} {d_beta:>11.2e}"
            line += f" {d_se:>12.2e}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
