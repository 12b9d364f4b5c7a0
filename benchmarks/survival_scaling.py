"""Piecewise-exponential fits for 1e3, 1e5 and 1e6 simulated patients: the cost after collapsing
does not grow with the number of patients.

    .venv/bin/python benchmarks/survival_scaling.py            # 1e3, 1e5, 1e6 (about 2 minutes)
    .venv/bin/python benchmarks/survival_scaling.py --sizes 1000 100000

For each size one study of patients is simulated (piecewise-exponential hazards on the default
cuts, uniform accrual over 12 months, 18 months of further follow-up), then timed separately:

* ``collapse_seconds``: validation + collapse to events and exposure per interval
  (:meth:`PiecewiseExponential.prepare`, one O(n) pass);
* ``fit_seconds``: NUTS (2 chains x 1000 draws after 1000 tuning steps) + derived quantities on
  the collapsed data, with the model compiled beforehand for this data structure (``refit``);
* ``fit_cold_seconds``: the same fit through :meth:`PiecewiseExponential.fit`, build and
  compilation included (using whatever PyTensor/Numba compile cache is on disk; constant in n as
  well, but noisy on a shared machine).

``measure(n)`` returns these figures as a dict (``benchmarks/run.py`` calls it in a fresh process
per size and adds the process's peak memory). Run as a script it prints a table, the ratios to
the 1e3 fit, and the peak traced memory (``tracemalloc``, in a separate untimed pass) and the
process's peak RSS for the largest size.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bayes_anlo.models.piecewise_exponential import PiecewiseExponential  # noqa: E402
from bayes_anlo.models.sampling import SamplerSettings  # noqa: E402
from bayes_anlo.survival.collapse import DEFAULT_CUTS  # noqa: E402
from bayes_anlo.survival.simulate import PiecewiseExponentialTruth, simulate_patients  # noqa: E402

TRUTH = PiecewiseExponentialTruth(DEFAULT_CUTS, (0.10, 0.14, 0.10, 0.08, 0.07, 0.06, 0.05))
SETTINGS = SamplerSettings(draws=1000, tune=1000, chains=2)


def measure(n_patients: int, *, seed: int = 1, cold: bool = True) -> dict:
    """Time collapse and fit for ``n_patients`` simulated patients (module docstring)."""
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    data = simulate_patients(rng, n_patients, TRUTH, accrual=12, followup=18, study="big")
    simulate_seconds = time.perf_counter() - t
    model = PiecewiseExponential(hierarchical=False, sampler=SETTINGS)
    # compile once on a small dataset of the same structure (one study, default cuts)
    model.refit(
        simulate_patients(
            np.random.default_rng(0), 500, TRUTH, accrual=12, followup=18, study="big"
        ),
        random_seed=0,
    )
    t = time.perf_counter()
    inputs = model.prepare(data)
    collapse_seconds = time.perf_counter() - t
    t = time.perf_counter()
    fit = model.refit(inputs, random_seed=seed)
    fit_seconds = time.perf_counter() - t
    out = {
        "n_patients": n_patients,
        "simulate_seconds": simulate_seconds,
        "collapse_seconds": collapse_seconds,
        "fit_seconds": fit_seconds,
        "events": int(inputs.ipd_events.sum()),
        "divergences": int(fit["sample_stats"]["diverging"].sum()),
        "median_posterior_mean": float(fit["posterior"]["median"].mean()),
        "median_true": TRUTH.median(),
    }
    if cold:
        fresh = PiecewiseExponential(hierarchical=False, sampler=SETTINGS)
        t = time.perf_counter()
        fresh.fit(inputs, random_seed=seed)
        out["fit_cold_seconds"] = time.perf_counter() - t
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    args = parser.parse_args()
    rows = [measure(n) for n in args.sizes]
    # peak memory of the largest size, traced in a separate pass (tracing slows the timed steps)
    tracemalloc.start()
    measure(max(args.sizes), cold=False)
    traced_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    base = rows[0]
    print(
        f"{'patients':>10} {'events':>8} {'collapse s':>11} {'fit s':>7} {'fit/fit(1e3)':>13} "
        f"{'fit() s':>11} {'median (truth)':>16}"
    )
    for r in rows:
        print(
            f"{r['n_patients']:>10.0e} {r['events']:>8d} {r['collapse_seconds']:>11.3f} {r['fit_seconds']:>7.2f} "
            f"{r['fit_seconds'] / base['fit_seconds']:>13.2f} {r['fit_cold_seconds']:>11.1f} "
            f"{r['median_posterior_mean']:>7.3f} ({r['median_true']:.3f})"
        )
    print(
        f"collapse time ratio {rows[-1]['n_patients']:.0e} / {base['n_patients']:.0e}: "
        f"{rows[-1]['collapse_seconds'] / base['collapse_seconds']:.0f}x (O(n)); "
        f"fit time ratio: {rows[-1]['fit_seconds'] / base['fit_seconds']:.2f}x (independent of n)"
    )
    print(
        f"peak traced memory during the {max(args.sizes):.0e}-patient case (simulate + collapse + fit): "
        f"{traced_peak_mb:.0f} MB; process peak RSS: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
