"""Small fixed datasets and helpers shared by the model and check tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_anlo.data.binary import load_binary
from bayes_anlo.models.sampling import SamplerSettings

#: NUTS settings for default tests: 2 chains x 1000 draws keep MCSE small and fits a few seconds.
FAST_NUTS = SamplerSettings(draws=1000, tune=1000, chains=2)

#: Sarcoma subtype ORR table of Cai et al. 2022 (seed 003_c39130c357ef1613.txt, Table 3):
#: PR + CR out of CR + PR + SD + PD per histological subtype (one study, one row per subtype).
CAI2022_SUBTYPES = {
    "subgroup": ["FS", "SS", "UPS", "LMS", "LPS", "CCS", "ASPS", "Others"],
    "events": [2, 1, 0, 1, 0, 1, 1, 0],
    "n": [9, 5, 5, 3, 2, 1, 1, 5],
}


def make_binary(events, n, *, outcome="ORR", prefix="S", **columns):
    """BinaryData from arrays (study labels S01, S02 ...)."""
    events = np.asarray(events)
    table = {
        "study": [f"{prefix}{i + 1:02d}" for i in range(len(events))],
        "outcome": outcome,
        "events": events,
        "n": np.asarray(n),
    }
    table.update(columns)
    return load_binary(pd.DataFrame(table))


def simulate_beta_binomial(k, mu, kappa, seed, n_range=(20, 120)):
    rng = np.random.default_rng(seed)
    n = rng.integers(*n_range, size=k)
    theta = rng.beta(mu * kappa, (1 - mu) * kappa, size=k)
    return rng.binomial(n, theta), n
