"""The GLMM optimiser against brute force: the conditional modes against a scalar root finder,
the batched AGQ deviance against point-by-point evaluation, and the fitted (theta, beta) against
the minimum of the same deviance found by a zooming grid search (no derivatives, no Newton steps),
on random datasets including tau = 0 boundary cases and studies with 0 or n events.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize
from scipy.special import expit

from bayes_anlo.frequentist import glmm_logit
from bayes_anlo.frequentist.glmm import (
    THETA_MAX,
    agq_deviance,
    agq_deviances,
    conditional_modes,
)


def test_conditional_modes_solve_the_mode_equation():
    """Every (point, study) mode is the root of u - theta (x - n expit(beta + theta u)), found
    here study by study with brentq on the bracket [-|theta| n - 1, |theta| n + 1]."""
    x = np.array([0.0, 3.0, 17.0, 40.0, 1.0])
    n = np.array([12.0, 30.0, 25.0, 40.0, 200.0])
    beta = np.array([-3.0, -0.4, 0.0, 1.2, 4.0, 0.3])[:, None]
    theta = np.array([0.0, 0.05, 1.0, 3.0, 20.0, -2.0])[:, None]
    u = conditional_modes(x, n, beta, theta)
    assert u.shape == (6, 5)
    for p in range(6):
        b, t = float(beta[p, 0]), float(theta[p, 0])
        for i in range(5):

            def score(v, b=b, t=t, i=i):
                return v - t * (x[i] - n[i] * expit(b + t * v))

            bound = abs(t) * n[i] + 1
            root = optimize.brentq(score, -bound, bound, xtol=1e-14, rtol=1e-15)
            assert u[p, i] == pytest.approx(root, rel=1e-10, abs=1e-11), (p, i)


def test_batched_deviance_equals_point_by_point():
    x = np.array([0, 2, 7, 12, 20, 5, 9])
    n = np.array([10, 16, 20, 24, 20, 30, 18])
    rng = np.random.default_rng(3)
    beta = rng.normal(0, 1.5, size=(4, 5))
    theta = rng.uniform(-3, 8, size=(4, 5))
    batched = agq_deviances(beta, theta, x, n)
    assert batched.shape == (4, 5)
    single = [
        [agq_deviance(b, t, x, n) for b, t in zip(rb, rt, strict=True)]
        for rb, rt in zip(beta, theta, strict=True)
    ]
    np.testing.assert_allclose(batched, single, rtol=1e-13, atol=1e-10)
    # even in theta
    np.testing.assert_allclose(agq_deviances(beta, -theta, x, n), batched, rtol=1e-12, atol=1e-10)


def brute_force_minimum(x, n, theta_max: float = 8.0) -> tuple[float, float, float]:
    """Minimum of the AGQ deviance over theta >= 0 by a zooming grid: a 0.1-spaced grid over
    [0, theta_max] x (pooled logit +- 5), then 12 times a 21 x 21 grid over +- 2 spacings around
    the best point (theta clipped at 0, so the boundary stays on every grid)."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    b0 = math.log((x.sum() + 0.5) / (n.sum() - x.sum() + 0.5))
    thetas = np.arange(0.0, theta_max + 1e-9, 0.1)
    betas = np.arange(b0 - 5, b0 + 5 + 1e-9, 0.1)
    dt = db = 0.1
    T, B = np.meshgrid(thetas, betas, indexing="ij")
    D = np.concatenate(
        [agq_deviances(B[i : i + 20], T[i : i + 20], x, n) for i in range(0, len(T), 20)]
    )
    j = np.unravel_index(np.argmin(D), D.shape)
    t, b, d = T[j], B[j], D[j]
    for _ in range(12):
        thetas = np.linspace(max(0.0, t - 2 * dt), t + 2 * dt, 21)
        betas = np.linspace(b - 2 * db, b + 2 * db, 21)
        dt, db = thetas[1] - thetas[0], betas[1] - betas[0]
        T, B = np.meshgrid(thetas, betas, indexing="ij")
        D = agq_deviances(B, T, x, n)
        j = np.unravel_index(np.argmin(D), D.shape)
        if D[j] <= d:
            t, b, d = T[j], B[j], D[j]
    return float(t), float(b), float(d)


def _random_datasets():
    """(name, events, n): random-intercept logistic data over a range of k, n, rate and tau,
    plus constructed boundary cases (equal proportions) and 0 / n event studies."""
    rng = np.random.default_rng(20261130)
    out = []
    designs = [
        (2, 20, 60, 0.3, 0.0),
        (3, 10, 50, 0.1, 0.5),
        (3, 50, 200, 0.4, 1.5),
        (5, 10, 50, 0.03, 0.5),
        (5, 50, 200, 0.2, 0.0),
        (10, 10, 50, 0.4, 0.5),
        (10, 50, 200, 0.1, 1.0),
        (20, 50, 200, 0.3, 0.3),
        (20, 10, 50, 0.2, 0.0),
    ]
    for k, lo, hi, p, tau in designs:
        while True:
            n = rng.integers(lo, hi + 1, size=k)
            x = rng.binomial(n, expit(math.log(p / (1 - p)) + tau * rng.standard_normal(k)))
            if 0 < x.sum() < n.sum():
                break
        out.append((f"k{k}_n{lo}-{hi}_p{p}_tau{tau}", x.tolist(), n.tolist()))
    out += [
        ("equal_proportions", [10, 20, 30, 5], [50, 100, 150, 25]),
        ("near_equal_k2", [12, 25], [40, 80]),
        ("zeros_and_alls", [0, 2, 7, 12, 20, 5, 9], [10, 16, 20, 24, 20, 30, 18]),
        ("one_zero_k2", [0, 9], [20, 21]),
        ("extreme_spread", [0, 1, 38, 40], [40, 40, 40, 40]),
    ]
    return out


DATASETS = _random_datasets()


@pytest.mark.parametrize(("name", "events", "n"), DATASETS, ids=[d[0] for d in DATASETS])
def test_fit_is_the_brute_force_minimum(name, events, n):
    res = glmm_logit(events, n)
    theta_fit = math.sqrt(res.tau2)
    t, b, d = brute_force_minimum(events, n)
    assert res.extras["deviance"] <= d + 1e-9
    assert theta_fit == pytest.approx(t, abs=1e-6)
    assert res.theta == pytest.approx(b, abs=1e-6)
    if t < 1e-6:
        # on the boundary (the grid's best theta is 0 up to the rounding noise of the deviance)
        # the fit reports tau^2 = 0 exactly, as metafor does, with the common-effect estimate
        assert res.tau2 == 0.0
        p = sum(events) / sum(n)
        assert res.estimate == pytest.approx(p, rel=1e-12)


def test_boundary_cases_are_on_the_boundary():
    """The constructed tau = 0 cases must be boundary cases, or the test above tests nothing."""
    by_name = {name: (x, n) for name, x, n in DATASETS}
    for name in ("equal_proportions", "near_equal_k2"):
        assert glmm_logit(*by_name[name]).tau2 == 0.0
    assert glmm_logit(*by_name["extreme_spread"]).tau2 > 4


def test_separated_data_stop_at_the_theta_limit():
    """Every study with 0 or n events: the profile deviance falls without end as theta grows
    (checked on a beta grid), so the fit stops at THETA_MAX."""
    x, n = [0, 5, 0, 5, 0], [5, 5, 5, 5, 5]
    betas = np.linspace(-3, 3, 601)
    profile = [agq_deviances(betas, t, x, n).min() for t in (5.0, 10.0, THETA_MAX)]
    assert profile[0] > profile[1] > profile[2]
    res = glmm_logit(x, n)
    assert res.tau2 == THETA_MAX**2
    assert res.extras["deviance"] <= profile[2] + 1e-9
