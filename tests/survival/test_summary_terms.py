"""Published summaries as likelihood terms: the numbers each term is built from, and the model's
log density at fixed parameters against an independent scipy computation (no sampling)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes_anlo import InputError
from bayes_anlo.data.survival import SurvivalData, load_summaries
from bayes_anlo.models.piecewise_exponential import (
    PiecewiseExponential,
    PiecewiseExponentialPriors,
    build_piecewise_exponential,
    mvnormal_pointwise_logpdf,
    prepare_survival,
)
from bayes_anlo.survival import pwexp
from bayes_anlo.survival.collapse import collapse
from bayes_anlo.survival.summaries import Z95, prepare_terms

HEADER = "study,arm,endpoint,quantity,value,ci_low,ci_high,time,unit,source\n"
NPC = HEADER + (
    "NPC,,PFS,median,5.7,4.7,6.7,,months,seed 000\n"
    "NPC,,OS,median,11.5,7.5,15.5,,months,seed 000\n"
    "NPC,,PFS,events,22,,,,,seed 000\n"
    "NPC,,OS,events,20,,,,,seed 000\n"
    "NPC,,,patients,30,,,,,seed 000\n"
    "NPC,,,median_followup,18.3,12.5,24.1,,months,seed 000\n"
)


def summaries(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text)
    return load_summaries(path)


def test_median_and_events_terms_for_the_npc_numbers(tmp_path):
    s = summaries(tmp_path, NPC).select(endpoint="PFS")
    terms = prepare_terms(s, {("NPC", "", ""): 0}, "PFS")
    assert terms.median_log[0] == pytest.approx(math.log(5.7))
    assert terms.median_se[0] == pytest.approx((math.log(6.7) - math.log(4.7)) / (2 * Z95))
    # last KM time 5.7; follow-up (12.5, 18.3, 24.1) never ends before it, so 30 * 0.5 = 15 are at
    # risk there and 30 * 0.5 = 15 of the 22 events happened before it
    assert terms.events_start[0] == pytest.approx(5.7)
    assert terms.events_patients[0] == 15 and terms.events[0] == 7
    assert terms.events_reported[0] == 22
    np.testing.assert_allclose(terms.events_followup[0], [12.5, 18.3, 24.1])


def test_landmark_ses_correlations_and_fallbacks(tmp_path):
    text = HEADER + (
        "A,,PFS,median,6,5,,,months,\n"  # upper limit not reached: one-sided width
        "A,,PFS,landmark,0.6,0.45,0.72,4,,\n"
        "A,,PFS,landmark,0.3,0.18,0.42,12,,\n"
        "B,,PFS,landmark,0.5,,,6,,\n"  # no CI: binomial se with the patients
        "B,,,patients,40,,,,,\n"
        "C,,PFS,median,7,,,,months,\n"  # no CI: 1/sqrt(events)
        "C,,PFS,events,25,,,,,\n"
    )
    s = summaries(tmp_path, text)
    cells = {("A", "", ""): 0, ("B", "", ""): 1, ("C", "", ""): 2}
    terms = prepare_terms(s, cells, "PFS")
    assert terms.median_se[0] == pytest.approx((math.log(6) - math.log(5)) / Z95)
    assert terms.median_se[1] == pytest.approx(1 / 5)
    g = lambda s_: math.log(-math.log(s_))  # noqa: E731
    assert terms.landmark_se[0] == pytest.approx(abs(g(0.45) - g(0.72)) / (2 * Z95))
    assert terms.landmark_se[2] == pytest.approx(math.sqrt(0.5 / (40 * 0.5)) / math.log(2))
    cov = terms.km_cov
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    np.testing.assert_allclose(
        np.sqrt(np.diag(cov)), np.concatenate([terms.median_se, terms.landmark_se])
    )
    corr = cov / np.outer(np.sqrt(np.diag(cov)), np.sqrt(np.diag(cov)))
    labels = terms.km_label
    i_med, i_4, i_12 = labels.index("A median"), labels.index("A @ 4"), labels.index("A @ 12")
    # Greenwood-type sigmas of H(t): landmark se * H; the median's from its se and the local slope
    s4, s12 = terms.landmark_se[0] * -math.log(0.6), terms.landmark_se[1] * -math.log(0.3)
    assert corr[i_4, i_12] == pytest.approx(s4 / s12)
    assert corr[i_med, i_4] < 0 and corr[i_med, i_12] < 0
    slope = np.mean([(math.log(2) + math.log(0.6)) / 2, (-math.log(0.3) - math.log(2)) / 6])
    s_med = terms.median_se[0] * 6 * slope
    assert corr[i_med, i_4] == pytest.approx(-min(s4, s_med) / max(s4, s_med))
    # different cells are independent
    assert corr[labels.index("B @ 6"), i_4] == 0
    assert any("binomial se" in n for n in terms.notes) and any(
        "1/sqrt(events)" in n for n in terms.notes
    )


def test_summaries_that_cannot_be_weighted_are_errors_and_unusable_events_notes(tmp_path):
    text = (
        HEADER
        + "A,,PFS,median,6,,,,months,\nA,,PFS,landmark,0.5,,,6,,\n"
        + "B,,PFS,events,5,,,,,\nB,,,patients,9,,,,,\n"
    )
    s = summaries(tmp_path, text)
    with pytest.raises(InputError) as err:
        prepare_terms(s, {("A", "", ""): 0, ("B", "", ""): 1}, "PFS")
    text = "\n".join(str(p) for p in err.value.problems)
    assert (
        "median needs a CI, an events or a patients row" in text
        and "landmark needs a CI or a patients row" in text
    )
    ok = summaries(tmp_path, HEADER + "B,,PFS,events,5,,,,,\nB,,,patients,9,,,,,\n", "ok.csv")
    terms = prepare_terms(ok, {("B", "", ""): 0}, "PFS")
    assert terms.events_group.size == 0
    assert any("no median_followup row" in n for n in terms.notes)


def test_two_endpoints_need_a_choice(tmp_path):
    s = summaries(tmp_path, NPC)
    with pytest.raises(InputError, match="several endpoints"):
        prepare_survival(s)
    inputs = prepare_survival(s, endpoint="os")
    assert inputs.endpoint == "OS" and inputs.terms.median_log[0] == pytest.approx(math.log(11.5))


def test_pointwise_mvnormal_terms_sum_to_the_joint_density():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    cov = a @ a.T + 4 * np.eye(4)
    y = rng.normal(size=4)
    mean = rng.normal(size=(3, 4))
    parts = mvnormal_pointwise_logpdf(y, mean, cov)
    for i in range(3):
        assert parts[i].sum() == pytest.approx(stats.multivariate_normal(mean[i], cov).logpdf(y))


def test_model_log_density_at_fixed_parameters_matches_scipy(tmp_path):
    rng = np.random.default_rng(42)
    n = 60
    table = pd.DataFrame(
        {
            "study": rng.choice(["A", "B"], n),
            "arm": rng.choice(["ctl", "trt"], n),
            "subgroup": "",
            "time": rng.exponential(9, n) + 0.05,
            "event": rng.integers(0, 2, n),
        }
    )
    ipd = SurvivalData(table)
    s = summaries(
        tmp_path,
        HEADER
        + (
            "C,trt,PFS,median,6.5,5,8.4,,months,\n"
            "C,trt,PFS,landmark,0.7,0.6,0.8,3,,\n"
            "C,trt,PFS,landmark,0.3,0.2,0.41,12,,\n"
            "C,trt,PFS,events,40,,,,,\nC,trt,,patients,60,,,,,\nC,trt,,median_followup,15,9,22,,months,\n"
        ),
    )
    priors = PiecewiseExponentialPriors()
    inputs = prepare_survival(
        [ipd, s], cuts=(0, 3, 6, 9, 12, 18, 24)
    )  # fixed: defaults now follow the data
    model = build_piecewise_exponential(inputs, priors, hierarchical=True, smooth=False)
    point = {
        "log_hazard": np.log([0.1, 0.12, 0.08, 0.07, 0.05, 0.05, 0.04]),
        "study_sd_log__": np.log(0.3),
        "study_z": np.array([0.5, -1.0, 0.2]),
        "log_hr_arm": np.array([-0.4]),
    }
    logp = model.compile_logp(jacobian=False)(point)

    # independent computation
    expected = stats.norm(-2.5, 2).logpdf(point["log_hazard"]).sum()
    expected += stats.halfnorm(scale=0.5).logpdf(0.3) + stats.norm.logpdf(point["study_z"]).sum()
    expected += stats.norm(0, 1).logpdf(-0.4)
    effect = dict(zip(["A", "B", "C"], 0.3 * point["study_z"], strict=True))
    base = np.exp(point["log_hazard"])

    reference = inputs.arms[0]  # the first arm seen in the data is the reference
    assert inputs.arms == ["trt", "ctl"] if table["arm"].iloc[0] == "trt" else ["ctl", "trt"]

    def haz(study, arm):
        return base * np.exp(effect[study] + (0.0 if arm == reference else -0.4))

    cuts = np.array([0, 3, 6, 9, 12, 18, 24.0])
    col = collapse(ipd, cuts)
    for g, (study, arm, _) in enumerate(col.groups.itertuples(index=False, name=None)):
        mu = haz(study, arm) * col.exposure[g]
        keep = col.exposure[g] > 0
        expected += stats.poisson.logpmf(col.events[g][keep], mu[keep]).sum()
    h = haz("C", "trt")
    mean = [
        np.log(pwexp.median(h, cuts)),
        np.log(pwexp.cumulative_hazard(h, cuts, [3.0])[0]),
        np.log(pwexp.cumulative_hazard(h, cuts, [12.0])[0]),
    ]
    terms = inputs.terms
    assert terms.km_label == ["C | trt median", "C | trt @ 3", "C | trt @ 12"]
    expected += stats.multivariate_normal(mean, terms.km_cov).logpdf(terms.km_observed)
    p_after = 1 - pwexp.conditional_mean_survival(h, cuts, terms.events_start[0], 9.0, 15.0, 22.0)
    expected += stats.binom.logpmf(terms.events[0], terms.events_patients[0], p_after)
    assert logp == pytest.approx(expected, rel=1e-9)


def test_priors_are_objects_settable_from_dicts():
    p = PiecewiseExponentialPriors.from_dict({"study_sd": {"dist": "halfnormal", "sigma": 1.0}})
    assert p.study_sd.sigma == 1.0 and p.log_hazard.mu == -2.5
    with pytest.raises(InputError, match="unknown prior"):
        PiecewiseExponentialPriors.from_dict({"tau": {"dist": "halfnormal", "sigma": 1.0}})
    with pytest.raises(InputError):
        PiecewiseExponentialPriors.from_dict({"study_sd": {"dist": "normal", "mu": 0, "sigma": 1}})
    model = PiecewiseExponential(priors={"set": "wide_hazard"})
    assert model.priors.log_hazard.sigma == 3.0


def test_mixed_inputs_prepare_without_sampling(tmp_path):
    from bayes_anlo.data.survival import load_digitised_km
    from bayes_anlo.survival.simulate import WeibullTruth, digitise, simulate_patients

    rng = np.random.default_rng(3)
    coords, risk = digitise(
        simulate_patients(rng, 60, WeibullTruth(1.2, 9.0), study="K"),
        risk_times=[0, 6, 12],
        rng=rng,
    )
    km = load_digitised_km(coords, risk)
    pfs_only = summaries(tmp_path, HEADER + "P,,PFS,median,6,5,7.5,,months,\n", "p.csv")
    inputs = prepare_survival([km, summaries(tmp_path, NPC), pfs_only], endpoint="OS")
    assert inputs.studies == ["K", "NPC"]  # the digitised curve is reconstructed; P has no OS rows
    assert any("no OS rows, not used" in n for n in inputs.notes)
    assert inputs.ipd_events.sum() > 0 and inputs.terms.median_log.size == 1
    with pytest.raises(InputError, match="not in the summaries"):
        prepare_survival(pfs_only, endpoint="OS")
