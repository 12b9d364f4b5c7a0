"""The same data and seed give bit-identical NUTS draws whatever the state of the compile caches.

* ``test_fresh_process_draws_equal_in_process_draws`` (default suite): a fresh process, which loads
  the compiled model from the on-disk PyTensor/Numba caches, gives the same draws as this test
  process, which may already hold the model in the package's in-memory compile cache.
* ``test_draws_do_not_depend_on_compile_caches`` (``-m slow``, about a minute of compilation):
  fresh processes with empty caches (first run on a machine) and then the same caches filled
  (every later run) give the same draws, for the beta-binomial and the piecewise-exponential
  model. With numba's fast-math on, the survival model's draws differed between the two (code
  compiled afresh and code loaded from PyTensor's cache rounded differently), so a run's draws
  depended on whether it was the machine's first.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bayes_anlo.models import BetaBinomial, PiecewiseExponential
from bayes_anlo.models.sampling import SamplerSettings
from bayes_anlo.survival.simulate import (
    PiecewiseExponentialTruth,
    paper_summaries,
    simulate_patients,
)
from tests.models._data import make_binary

EVENTS, N = [3, 8, 0, 12, 5, 2], [30, 41, 18, 52, 25, 33]
SETTINGS = {"chains": 2, "draws": 300, "tune": 300}
SEED = 123

SCRIPT = """
import warnings
warnings.simplefilter("ignore")
import sys
from tests.models.test_reproducibility import fit_hash
print(fit_hash(sys.argv[1]))
"""


def fit_hash(model: str = "beta_binomial") -> str:
    """SHA-256 of every posterior draw of one NUTS fit (run here or in a subprocess) of
    ``model``: the beta-binomial on six studies, or the piecewise-exponential on a simulated
    patient-level study and another study's published summaries."""
    if model == "beta_binomial":
        data = make_binary(EVENTS, N)
        tree = BetaBinomial(sampler=SamplerSettings(**SETTINGS)).fit(data, random_seed=SEED)
    else:
        truth = PiecewiseExponentialTruth((0.0, 3.0, 6.0, 12.0), (0.12, 0.10, 0.08, 0.06))
        rng = np.random.default_rng(SEED)
        trials = [simulate_patients(rng, 60, truth, study=s, followup=18) for s in ("A", "C")]
        data = [trials[0], paper_summaries(trials[1], endpoint="PFS")]
        tree = PiecewiseExponential((0.0, 3.0, 6.0, 12.0), sampler=SamplerSettings(**SETTINGS))
        tree = tree.fit(data, random_seed=SEED)
    post = tree["posterior"]
    draws = b"".join(post[name].values.tobytes() for name in sorted(post.data_vars))
    return hashlib.sha256(draws).hexdigest()


def draw_hash(cache: Path | None, model: str = "beta_binomial") -> str:
    """:func:`fit_hash` in a fresh process; ``cache`` holds its compile caches (None: defaults)."""
    env = dict(os.environ)
    if cache is not None:
        # base_compiledir, not compiledir: PyTensor keeps its numba cache in <base_compiledir>/numba
        env["PYTENSOR_FLAGS"] = f"base_compiledir={cache / 'pytensor'}"
        env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, model],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def test_fresh_process_draws_equal_in_process_draws():
    here = fit_hash()
    assert len(here) == 64
    assert fit_hash() == here  # in-memory compile cache hit in this process
    assert draw_hash(None) == here


@pytest.mark.slow
@pytest.mark.parametrize("model", ["beta_binomial", "piecewise_exponential"])
def test_draws_do_not_depend_on_compile_caches(tmp_path, model):
    cold = draw_hash(tmp_path, model)  # empty caches: compiled from scratch
    warm = draw_hash(tmp_path, model)  # the same caches, now filled
    assert len(cold) == 64 and cold == warm
