"""The same data and seed give bit-identical NUTS draws in fresh processes, whether the PyTensor and
Numba compile caches are empty (first run on a machine) or filled (every later run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import hashlib, warnings
warnings.simplefilter("ignore")
from bayes_anlo.models import BetaBinomial
from bayes_anlo.models.sampling import SamplerSettings
from tests.models._data import make_binary
data = make_binary([3, 8, 0, 12, 5, 2], [30, 41, 18, 52, 25, 33])
tree = BetaBinomial(sampler=SamplerSettings(chains=2, draws=300, tune=300)).fit(data, random_seed=123)
post = tree["posterior"]
print(hashlib.sha256(post["mu"].values.tobytes() + post["kappa"].values.tobytes()).hexdigest())
"""


def draw_hash(cache: Path) -> str:
    env = {
        **os.environ,
        "PYTENSOR_FLAGS": f"compiledir={cache / 'pytensor'}",
        "NUMBA_CACHE_DIR": str(cache / "numba"),
    }
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


def test_draws_do_not_depend_on_compile_caches(tmp_path):
    cold = draw_hash(tmp_path)  # empty caches: compiled from scratch
    warm = draw_hash(tmp_path)  # the same caches, now filled
    assert len(cold) == 64 and cold == warm
