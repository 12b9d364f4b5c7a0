"""Full simulation-based calibration of every model family (slow; docs/calibration.md).

Each set-up of bayes_anlo.studies.sbc_runs is run over 200 simulated datasets with the seed the
documented command uses (`make sbc`, seed 20260403) and must pass the uniformity tests at
the family-wise level 0.01 per set-up (Bonferroni over its ranked quantities and the two tests:
chi-square on 20 bins and the simultaneous ECDF test). With 7 set-ups the chance that a correct
implementation fails somewhere is at most 7 x 0.01 = 0.07 for a fresh seed; with the fixed seed the
outcome is deterministic. Run with ``.venv/bin/python -m pytest -m slow tests/studies``.
"""

from __future__ import annotations

import numpy as np
import pytest

from bayes_anlo.checks.calibration import run_sbc
from bayes_anlo.studies.sbc_runs import all_setups

pytestmark = pytest.mark.slow

SEED = 20260403
DATASETS = 200
FAMILY_ALPHA = 0.01


KNOWN_FAILURES: dict[str, str] = {
    # A set-up listed here is a strict xfail (docs/calibration.md, "Reading the results").
    "piecewise_exponential_summaries": (
        "first-interval log hazard flagged by the ECDF test (p 0.0005, threshold 0.00125) in the "
        "runner's run of 2026-11-30: the truth is outside all 199 draws in 6% of the datasets "
        "(1% expected); an earlier NUTS run on the same datasets passed, so the model is borderline"
    ),
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[n]))
        if n in KNOWN_FAILURES
        else n
        for n in all_setups()
    ],
)
def test_sbc_ranks_are_uniform(name):
    setup = all_setups()[name]
    res = run_sbc(setup, DATASETS, seed=SEED, workers=2)
    table = res.uniformity(alpha=FAMILY_ALPHA)
    assert not table["flagged"].any(), table.to_string()
    if "diag_divergences" in res.table:
        # more than 1% divergent transitions (10 of 1000 draws) in at most 5% of the fits
        assert (res.table["diag_divergences"] > 10).mean() <= 0.05


def test_summary_set_up_draws_prior_predictive_data_for_the_package_model():
    from bayes_anlo.studies.sbc_runs import PiecewiseExponentialSummarySBC, observed_data_name

    setup = PiecewiseExponentialSummarySBC()
    model = setup.graph()
    data_names = {observed_data_name(model, rv) for rv in model.observed_RVs}
    truth, data = setup.simulate(np.random.default_rng(1))
    truth2, data2 = setup.simulate(np.random.default_rng(1))
    assert set(data) == data_names and set(truth) == set(setup.parameters)
    assert truth == truth2
    for name, value in data.items():
        np.testing.assert_array_equal(value, data2[name])
        template = model[name].get_value()
        assert np.shape(value) == template.shape and np.all(np.isfinite(value))
    # different seeds give different datasets and prior draws
    truth3, _ = setup.simulate(np.random.default_rng(2))
    assert truth3["log_hazard_1"] != truth["log_hazard_1"]
