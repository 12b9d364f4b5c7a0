"""The same data and seed give bit-identical NUTS draws whatever the state of the compile caches.

* ``test_fresh_process_draws_equal_in_process_draws`` (default suite): a fresh process, which loads
  the compiled model from the on-disk PyTensor/Numba caches, gives the same draws as this test
  process, which may already hold the model in the package's in-memory compile cache.
* ``test_draws_do_not_depend_on_compile_caches`` (``-m slow``, about 45 s of compilation): fresh
  processes with empty caches (first run on a machine) and then the same caches filled (every later
  run) give the same draws.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bayes_anlo.models import BetaBinomial
from bayes_anlo.models.sampling import SamplerSettings
from tests.models._data import make_binary

EVENTS, N = [3, 8, 0, 12, 5, 2], [30, 41, 18, 52, 25, 33]
SETTINGS = {"chains": 2, "draws": 300, "tune": 300}
SEED = 123

SCRIPT = """
import warnings
warnings.simplefilter("ignore")
from tests.models.test_reproducibility import fit_hash
print(fit_hash())
"""


def fit_hash() -> str:
    """SHA-256 of the ``mu`` and ``kappa`` draws of one NUTS fit (run here or in a subprocess)."""
    data = make_binary(EVENTS, N)
    tree = BetaBinomial(sampler=SamplerSettings(**SETTINGS)).fit(data, random_seed=SEED)
    post = tree["posterior"]
    return hashlib.sha256(post["mu"].values.tobytes() + post["kappa"].values.tobytes()).hexdigest()


def draw_hash(cache: Path | None) -> str:
    """:func:`fit_hash` in a fresh process; ``cache`` holds its compile caches (None: defaults)."""
    env = dict(os.environ)
    if cache is not None:
        env["PYTENSOR_FLAGS"] = f"compiledir={cache / 'pytensor'}"
        env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
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
def test_draws_do_not_depend_on_compile_caches(tmp_path):
    cold = draw_hash(tmp_path)  # empty caches: compiled from scratch
    warm = draw_hash(tmp_path)  # the same caches, now filled
    assert len(cold) == 64 and cold == warm
