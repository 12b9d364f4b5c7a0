"""Cox proportional-hazards hazard ratios (Efron ties) against R ``coxph``.

Reference values: tests/reference/survival_inputs/{trials,trials_cox,cox_sim,logrank_sim_data},
made by tests/reference/make_reference_survival_inputs.R: six two-arm trials of R's survival
package (colon recurrence and death, Obs vs Lev+5FU; lung by sex; veteran; pbc; gbsg) and the
two-group simulated data sets (tied times), ``coxph(Surv(time, event) ~ factor(arm))``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_anlo.frequentist.cox import arm_levels, cox_ph

REF = Path(__file__).resolve().parents[1] / "reference" / "survival_inputs"
RTOL = 1e-6
TRIALS = pd.read_csv(REF / "trials.csv")
COX = pd.read_csv(REF / "trials_cox.csv")


def _check(res, r):
    assert res.reference == r.reference and res.arms == [r.arm]
    np.testing.assert_allclose(res.coef[0], r.coef, rtol=RTOL)
    np.testing.assert_allclose(res.se[0], r.se, rtol=RTOL)
    np.testing.assert_allclose(
        [res.hazard_ratio[0], res.ci_low[0], res.ci_high[0]], [r.hr, r.hr_low, r.hr_high], rtol=RTOL
    )
    np.testing.assert_allclose(
        [res.loglik_null, res.loglik, res.lr_chisq], [r.loglik_null, r.loglik, r.lr], rtol=RTOL
    )
    assert res.n == r.n and res.n_event == r.nevent


@pytest.mark.parametrize("name", sorted(set(COX["name"])))
def test_cox_matches_coxph_on_r_trials(name):
    d = TRIALS[TRIALS["trial"] == name]
    r = COX[(COX["name"] == name) & (COX["ties"] == "efron")].iloc[0]
    _check(cox_ph(d["time"], d["event"], d["arm"]), r)


def test_cox_matches_coxph_on_simulated_tied_data():
    data = pd.read_csv(REF / "logrank_sim_data.csv.gz")
    ref = pd.read_csv(REF / "cox_sim.csv")
    ref = ref[ref["ties"] == "efron"]
    assert len(ref) >= 40
    ref = ref.iloc[::3]  # every third data set keeps the test fast; all match when run in full
    for r in ref.itertuples(index=False):
        d = data[data["dataset"] == r.dataset]
        _check(cox_ph(d["time"], d["event"], d["group"]), r)


def test_reference_arm_is_not_row_order_and_can_be_chosen():
    d = TRIALS[TRIALS["trial"] == "colon_death"]
    r = COX[(COX["name"] == "colon_death") & (COX["ties"] == "efron")].iloc[0]
    flipped = d.iloc[::-1]
    a = cox_ph(d["time"], d["event"], d["arm"])
    b = cox_ph(flipped["time"], flipped["event"], flipped["arm"])
    assert a.reference == b.reference == "Lev+5FU"
    np.testing.assert_allclose(a.hazard_ratio, b.hazard_ratio, rtol=1e-9)
    c = cox_ph(d["time"], d["event"], d["arm"], reference="Obs")
    assert c.reference == "Obs" and c.arms == ["Lev+5FU"]
    np.testing.assert_allclose(c.hazard_ratio[0], 1 / r.hr, rtol=RTOL)
    np.testing.assert_allclose(
        [c.ci_low[0], c.ci_high[0]], [1 / r.hr_high, 1 / r.hr_low], rtol=RTOL
    )
    with pytest.raises(ValueError, match="not in the data"):
        arm_levels(d["arm"], "placebo")


def test_arm_without_events_gives_nan_not_a_crash():
    time = np.arange(1.0, 21.0)
    event = np.r_[np.ones(10), np.zeros(10)].astype(int)
    group = np.repeat(["a", "b"], 10)
    res = cox_ph(time, event, group)
    assert np.isnan(res.hazard_ratio[0]) and res.lr_df == 0
