"""glmm_logit against R metafor::rma.glmm / lme4::glmer(nAGQ = 7) (proportions_glmm.json), and
its likelihood against direct numerical integration.

The reference holds, per dataset: ``default`` (rma.glmm as users run it), ``tight`` (same model,
lme4 PIRLS tolerance 1e-11 and bobyqa rhoend 1e-12) and ``deviance_points`` (lme4's nAGQ = 7
deviance function at fixed (theta, beta)).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit

from bayes_anlo.errors import InputError
from bayes_anlo.frequentist import glmm_logit
from bayes_anlo.frequentist.glmm import agq_deviance

REF = Path(__file__).resolve().parents[1] / "reference"
DATASETS = json.loads((REF / "proportions_datasets.json").read_text())["datasets"]
GLMM = json.loads((REF / "proportions_glmm.json").read_text())["results"]
KEYS = [
    "tau2",
    "i2",
    "h2",
    "theta",
    "theta_se",
    "theta_ci_low",
    "theta_ci_high",
    "theta_pi_low",
    "theta_pi_high",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
]


@pytest.fixture(scope="module")
def fits():
    return {
        name: glmm_logit(d["events"], d["n"], labels=d["study"]) for name, d in DATASETS.items()
    }


def _compare(res, ref, rtol, atol):
    for key in KEYS:
        tol = atol * 100 if key == "i2" else atol  # I^2 is in percent
        np.testing.assert_allclose(getattr(res, key), ref[key], rtol=rtol, atol=tol, err_msg=key)
    np.testing.assert_allclose(res.q, ref["q_lrt"], rtol=1e-8, err_msg="q_lrt")
    np.testing.assert_allclose(res.q_p, ref["q_lrt_p"], rtol=1e-6, err_msg="q_lrt_p")
    assert res.q_df == ref["q_df"]


@pytest.mark.parametrize("name", list(DATASETS))
def test_deviance_equals_lme4_devfun(name):
    d = DATASETS[name]
    pts = GLMM[name]["deviance_points"]
    for theta, beta, dev in zip(pts["theta"], pts["beta"], pts["deviance"], strict=True):
        assert agq_deviance(beta, theta, d["events"], d["n"]) == pytest.approx(dev, abs=1e-7)


@pytest.mark.parametrize("name", list(DATASETS))
def test_matches_tightly_converged_rma_glmm(fits, name):
    """Same likelihood, both converged: agreement to 1e-6 (absolute 1e-7 where tau^2 is tiny and
    the likelihood is flat in it)."""
    res, ref = fits[name], GLMM[name]["tight"]
    _compare(res, ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(res.extras["loglik_metafor"], ref["loglik"], rtol=1e-6)
    np.testing.assert_allclose(res.extras["q_wald"], ref["q_wald"], rtol=1e-5)


@pytest.mark.parametrize("name", list(DATASETS))
def test_matches_default_rma_glmm(fits, name):
    """lme4's default PIRLS tolerance (1e-7) limits R's own accuracy to about 1e-5 relative; where
    tau^2 is tiny (small_k3: 0.007) its relative error is larger, hence the absolute tolerance."""
    _compare(fits[name], GLMM[name]["default"], rtol=1e-4, atol=1e-5)


def test_marginal_likelihood_by_quadrature():
    """With many nodes the AGQ deviance equals -2 log of the integrated binomial likelihood."""
    d = DATASETS["zero_and_all"]
    x = np.array(d["events"], dtype=float)
    n = np.array(d["n"], dtype=float)
    theta, beta = 1.7, -0.4
    loglik = 0.0
    for xi, ni in zip(x, n, strict=True):
        val, _ = integrate.quad(
            lambda z, xi=xi, ni=ni: (
                stats.binom.pmf(xi, ni, expit(beta + theta * z)) * stats.norm.pdf(z)
            ),
            -12,
            12,
            epsabs=0,
            epsrel=1e-12,
            limit=200,
        )
        loglik += math.log(val)
    saturated = float(np.sum(stats.binom.logpmf(x, n, x / n)))
    direct = -2 * (loglik - saturated)
    assert agq_deviance(beta, theta, x, n, n_nodes=40) == pytest.approx(direct, rel=1e-9)
    # the 7-node rule is already close
    assert agq_deviance(beta, theta, x, n, n_nodes=7) == pytest.approx(direct, rel=1e-4)


def test_zero_tau2_is_the_common_effect_logistic_model(fits):
    res = fits["homogeneous"]
    d = DATASETS["homogeneous"]
    p = sum(d["events"]) / sum(d["n"])
    assert res.tau2 == 0.0
    assert res.estimate == pytest.approx(p, rel=1e-8)
    info = sum(d["n"]) * p * (1 - p)
    assert res.theta_se == pytest.approx(1 / math.sqrt(info), rel=1e-6)
    assert (res.pi_low, res.pi_high) == pytest.approx((res.ci_low, res.ci_high))


def test_result_shape(fits):
    res = fits["sarcoma_dcr"]
    assert res.method == "GLMM-ML" and res.tau2_method == "ML" and res.weights is None
    assert res.labels == tuple(DATASETS["sarcoma_dcr"]["study"])
    row = res.to_frame()
    assert row.loc[0, "method"] == "GLMM-ML"
    json.dumps(res.to_dict(), allow_nan=False)


def test_laplace_option_runs_and_differs_slightly():
    d = DATASETS["sarcoma_dcr"]
    lap = glmm_logit(d["events"], d["n"], n_nodes=1)
    agq = glmm_logit(d["events"], d["n"])
    assert lap.estimate == pytest.approx(agq.estimate, rel=0.05)
    assert lap.extras["n_nodes"] == 1


@pytest.mark.parametrize(
    ("events", "n", "message"),
    [([3], [10], "at least 2"), ([0, 0, 0], [5, 8, 9], "0 events"), ([5, 8], [5, 8], "all events")],
)
def test_degenerate_inputs(events, n, message):
    with pytest.raises(InputError, match=message):
        glmm_logit(events, n)
