"""Fixtures for the model tests (small, fixed-seed datasets)."""

from __future__ import annotations

import pytest

from tests.models._data import make_binary, simulate_beta_binomial


@pytest.fixture(scope="session")
def zero_event_data():
    """Six studies, one with zero events (as in tests/reference/proportions_datasets.json)."""
    return make_binary([0, 4, 9, 15, 3, 18], [14, 22, 25, 30, 19, 40])


@pytest.fixture(scope="session")
def sixteen_studies():
    """Sixteen simulated studies (mu 0.18, kappa 15), the size of the sarcoma meta-analysis."""
    y, n = simulate_beta_binomial(16, 0.18, 15.0, seed=20251122)
    return make_binary(y, n)
