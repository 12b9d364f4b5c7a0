"""Random-intercept logistic regression (GLMM) for single proportions, as ``metafor::rma.glmm``.

Model (``rma.glmm(measure="PLO")``, ``model="UM.FS"``, ``method="ML"``)::

    x_i | b_i ~ Binomial(n_i, expit(beta + b_i)),    b_i ~ N(0, tau^2),   i = 1..k

metafor fits it with ``lme4::glmer(cbind(x, n - x) ~ 1 + (1 | study), family = binomial,
nAGQ = 7)``. lme4 writes ``b_i = theta u_i`` with ``u_i ~ N(0, 1)`` and ``theta = tau``, and
approximates each study's integral by *adaptive* Gauss-Hermite quadrature: with ``g_i(u)`` the
binomial deviance residual of study ``i`` at linear predictor ``beta + theta u`` plus ``u^2``,
``u*_i`` its minimiser (the conditional mode) and ``s_i = (1 + theta^2 n_i mu_i (1 - mu_i))^(-1/2)``
the conditional standard deviation there,

    -2 log L_i  =  g_i(u*_i) - 2 log s_i
                   - 2 log sum_j w_j exp(-(g_i(u*_i + s_i z_j) - g_i(u*_i))/2 + z_j^2/2)

with the 7 nodes ``z_j`` and weights ``w_j`` of Gauss-Hermite quadrature for the standard normal
density. The sum over studies is lme4's deviance (relative to the saturated binomial model); this
module minimises it over ``(theta >= 0, beta)`` by a profile search (Brent's method in ``beta``
inside a bounded Brent search in ``theta``) polished by Newton steps, solving the conditional modes
by safeguarded Newton iterations to machine precision.

As ``vcov.merMod`` does for a GLMM, the standard error of ``beta`` comes from the inverse of the
Hessian of the deviance in ``(theta, beta)`` (finite differences, as lme4's ``deriv12``, here
with Richardson extrapolation): ``Var(beta) = 2 [H^-1]_{beta beta}``; if that is not positive, the
conditional (``RX``) variance ``1 / sum_i w_i / (1 + theta^2 w_i)``, ``w_i = n_i mu_i (1 - mu_i)``,
is used.
CI and prediction interval are ``beta +/- z se`` and ``beta +/- z sqrt(se^2 + tau^2)``; ``I^2`` and
``H^2`` use metafor's typical within-study variance from the continuity-corrected logit variances
(``escalc(measure="PLO")``). Heterogeneity tests as ``rma.glmm`` prints them: the likelihood-ratio
statistic (fixed-effect against saturated binomial model, the ``q`` of the result) and the Wald
statistic (``extras["q_wald"]``; for studies with 0 or n events R's saturated ``glm`` does not
converge, and those studies are given weight 0 here).

``extras["loglik"]`` is the maximised marginal log-likelihood (saturated binomial log-likelihood
minus half the AGQ deviance). ``extras["loglik_metafor"]`` is what ``logLik()`` of an ``rma.glmm``
fit reports in metafor 3.8: it subtracts half of lme4's ``deviance()``, which for a GLMM is the
*conditional* deviance at the conditional modes, not the marginal one.

With lme4's default PIRLS tolerance (1e-7, relative change of the penalised deviance) the
conditional modes of studies with 0 or n events are not fully converged, which moves lme4's
deviance by about 1e-6; the estimates here then differ from a default ``rma.glmm`` run by up to
about 1e-4 (relative) and agree with a tightly converged run (``tolPwrss = 1e-11``) to about 1e-7.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, stats
from scipy.special import expit, gammaln, logsumexp, xlogy

from bayes_anlo.errors import InputError
from bayes_anlo.frequentist.pooling import (
    PooledResult,
    _check_level,
    logit_escalc,
    study_counts,
    z_crit,
)

#: Finite-difference step for the Hessian. lme4's ``deriv12`` uses plain central differences with
#: step 1e-4; rounding noise in the deviance (~1e-13) then moves the SE by ~1e-6, so this module
#: uses step 1e-3 with Richardson extrapolation (truncation error O(h^4), noise ~1e-7 / h^2).
HESSIAN_STEP = 1e-3
#: Upper end of the search for tau (logit scale); tau = 20 means odds varying by e^40.
THETA_MAX = 20.0


def _gh_rule(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and log-weights for integrals against the standard normal density."""
    z, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    return z, np.log(w / math.sqrt(2 * math.pi))


def _devres(x, n, eta):
    """Binomial deviance residuals ``2[x log(x/(n mu)) + (n-x) log((n-x)/(n(1-mu)))]``, stable."""
    log_mu = -np.logaddexp(0.0, -eta)
    log_1mu = -np.logaddexp(0.0, eta)
    return 2.0 * (xlogy(x, x / n) - x * log_mu + xlogy(n - x, (n - x) / n) - (n - x) * log_1mu)


def conditional_modes(x, n, beta: float, theta: float, tol: float = 1e-12, maxiter: int = 200):
    """Minimise ``g_i(u) = devres_i(beta + theta u) + u^2`` for every study.

    ``g_i'(u)/2 = u - theta (x_i - n_i mu_i(u))`` is strictly increasing, and its root lies in
    ``[-|theta| n_i, |theta| n_i]``. Newton steps are used while they stay inside the bracket that
    the signs of ``g_i'`` maintain, bisection otherwise (safeguarded Newton); convergence is
    quadratic near the mode.
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    bound = abs(theta) * n + 1.0
    lo, hi = -bound, bound
    u = np.zeros_like(x)
    for _ in range(maxiter):
        mu = expit(beta + theta * u)
        grad = u - theta * (x - n * mu)
        lo = np.where(grad < 0, u, lo)
        hi = np.where(grad > 0, u, hi)
        new = u - grad / (1.0 + theta**2 * n * mu * (1 - mu))
        outside = (new <= lo) | (new >= hi)
        new = np.where(outside, 0.5 * (lo + hi), new)
        done = np.max(np.abs(new - u)) < tol
        u = new
        if done:
            break
    return u


def agq_deviance(beta: float, theta: float, x, n, n_nodes: int = 7) -> float:
    """lme4's adaptive Gauss-Hermite deviance of the random-intercept logistic model."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    u = conditional_modes(x, n, beta, theta)
    mu = expit(beta + theta * u)
    s = 1.0 / np.sqrt(1.0 + theta**2 * n * mu * (1 - mu))
    g0 = _devres(x, n, beta + theta * u) + u**2
    z, logw = _gh_rule(n_nodes)
    uk = u[None, :] + z[:, None] * s[None, :]
    gk = _devres(x[None, :], n[None, :], beta + theta * uk) + uk**2
    log_mult = logsumexp(logw[:, None] - (gk - g0[None, :]) / 2 + z[:, None] ** 2 / 2, axis=0)
    return float(np.sum(g0) - 2 * np.sum(np.log(s)) - 2 * np.sum(log_mult))


def _fit(x, n, n_nodes: int) -> tuple[float, float, float]:
    """ML estimates ``(theta, beta)`` and the minimal deviance.

    1. profile deviance ``min_beta D(theta, beta)`` on a grid of theta (0 and 0.03 .. 20),
    2. bounded Brent search of the profile between the neighbours of the best grid point,
    3. Newton steps in (theta, beta) with finite-difference gradient and Hessian until the step is
       below 1e-10; theta = 0 is taken when the profile is not lower anywhere inside, with the
       closed-form common-effect estimate ``beta = logit(sum x / sum n)``.
    """

    def dev(theta, beta):
        return agq_deviance(beta, theta, x, n, n_nodes)

    state = {"b": math.log((x.sum() + 0.5) / (n.sum() - x.sum() + 0.5))}

    def profile_beta(theta: float, xtol: float) -> tuple[float, float]:
        b0 = state["b"]
        res = optimize.minimize_scalar(
            lambda b: dev(theta, b),
            bracket=(b0 - 0.3, b0 + 0.3),
            method="brent",
            options={"xtol": xtol, "maxiter": 500},
        )
        state["b"] = float(res.x)
        return float(res.x), float(res.fun)

    grid = np.concatenate([[0.0], np.geomspace(0.03, THETA_MAX, 14)])
    values = np.array([profile_beta(t, 1e-6)[1] for t in grid])
    j = int(np.argmin(values))
    lo, hi = (0.0, grid[1]) if j == 0 else (grid[j - 1], grid[min(j + 1, len(grid) - 1)])
    res = optimize.minimize_scalar(
        lambda t: profile_beta(t, 1e-8)[1],
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-6},
    )
    theta = float(res.x)
    beta, value = profile_beta(theta, 1e-10)
    # At theta = 0 the model is the common-effect logistic model, whose ML estimate is closed-form:
    # beta = logit(sum x / sum n) (0 < sum x < sum n: glmm_logit refuses the other cases).
    beta0 = math.log(x.sum() / (n.sum() - x.sum()))
    value0 = dev(0.0, beta0)

    h = 1e-4
    for _ in range(30):
        grad = np.array(
            [
                (dev(theta + h, beta) - dev(theta - h, beta)) / (2 * h),
                (dev(theta, beta + h) - dev(theta, beta - h)) / (2 * h),
            ]
        )
        H = _central_hessian(dev, theta, beta, 1e-3)
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or np.linalg.eigvalsh(H).min() <= 0:
            break
        t_new, b_new = theta - step[0], beta - step[1]
        if t_new < 0:  # the optimum is on the boundary
            break
        v_new = dev(t_new, b_new)
        if v_new > value + 1e-12 * abs(value):
            break
        theta, beta, value = t_new, b_new, v_new
        if np.max(np.abs(step)) < 1e-10:
            break
    if value0 <= value:
        return 0.0, beta0, value0
    return theta, beta, value


def _central_hessian(f, theta: float, beta: float, h: float) -> np.ndarray:
    f0 = f(theta, beta)
    htt = (f(theta + h, beta) - 2 * f0 + f(theta - h, beta)) / h**2
    hbb = (f(theta, beta + h) - 2 * f0 + f(theta, beta - h)) / h**2
    htb = (
        f(theta + h, beta + h)
        - f(theta + h, beta - h)
        - f(theta - h, beta + h)
        + f(theta - h, beta - h)
    ) / (4 * h**2)
    return np.array([[htt, htb], [htb, hbb]])


def _hessian(theta: float, beta: float, x, n, n_nodes: int, h: float = HESSIAN_STEP) -> np.ndarray:
    """Hessian of the deviance in (theta, beta): central differences at steps h and 2h combined by
    Richardson extrapolation, ``(4 H(h) - H(2h)) / 3``.

    At ``theta = 0`` the points with negative theta are valid: the deviance is even in theta.
    """

    def f(t, b):
        return agq_deviance(b, t, x, n, n_nodes)

    return (4 * _central_hessian(f, theta, beta, h) - _central_hessian(f, theta, beta, 2 * h)) / 3


def _beta_variance(theta: float, beta: float, x, n, n_nodes: int) -> tuple[float, str]:
    H = _hessian(theta, beta, x, n, n_nodes)
    try:
        var = float(2 * np.linalg.inv(H)[1, 1])
    except np.linalg.LinAlgError:
        var = float("nan")
    if np.isfinite(var) and var > 0:
        return var, "hessian"
    u = conditional_modes(x, n, beta, theta)
    mu = expit(beta + theta * u)
    w = n * mu * (1 - mu)
    return float(1.0 / np.sum(w / (1 + theta**2 * w))), "conditional"


def _heterogeneity_tests(x, n) -> dict[str, float]:
    """LRT (FE vs saturated binomial) and Wald (Cochran Q on uncorrected logits) statistics."""
    k = x.size
    p_bar = x.sum() / n.sum()
    lrt = 2 * float(np.sum(xlogy(x, x / (n * p_bar)) + xlogy(n - x, (n - x) / (n * (1 - p_bar)))))
    lrt = max(lrt, 0.0)
    inner = (x > 0) & (x < n)
    if inner.sum() >= 2:
        w = x[inner] * (n[inner] - x[inner]) / n[inner]
        y = np.log(x[inner] / (n[inner] - x[inner]))
        wald = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
    else:
        wald = float("nan")
    df = k - 1
    return {
        "q_lrt": lrt,
        "q_lrt_p": float(stats.chi2.sf(lrt, df)),
        "q_wald": wald,
        "q_wald_p": float(stats.chi2.sf(wald, df)) if np.isfinite(wald) else float("nan"),
        "q_wald_excluded": int(k - inner.sum()),
    }


def glmm_logit(
    data,
    n=None,
    *,
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    n_nodes: int = 7,
) -> PooledResult:
    """Pool proportions with the random-intercept logistic model, as ``rma.glmm(measure="PLO")``.

    Parameters
    ----------
    data : BinaryData or array of int
        A single-outcome :class:`~bayes_anlo.data.binary.BinaryData`, or the event counts.
    n : array of int, optional
        Sample sizes, required when ``data`` is an array.
    level : float
        Confidence level (default 0.95).
    labels : list of str, optional
        Study labels.
    n_nodes : int
        Adaptive Gauss-Hermite nodes (lme4 ``nAGQ``; metafor's default 7; 1 is the Laplace
        approximation).

    Returns
    -------
    PooledResult
        ``method="GLMM-ML"``; ``q`` is the likelihood-ratio heterogeneity statistic, the Wald
        statistic and the log-likelihood are in ``extras``; ``weights`` is None.
    """
    level = _check_level(level)
    if int(n_nodes) < 1:
        raise ValueError("n_nodes must be >= 1")
    counts = study_counts(data, n, labels=labels)
    if counts.k < 2:
        raise InputError("the GLMM needs at least 2 studies to estimate tau^2", file=counts.source)
    x = counts.events.astype(float)
    m = counts.n.astype(float)
    if np.all(x == 0) or np.all(x == m):
        which = "0 events" if np.all(x == 0) else "all events"
        raise InputError(
            f"every study has {which}: the GLMM has no finite maximum-likelihood estimate",
            file=counts.source,
        )
    theta, beta, dev = _fit(x, m, int(n_nodes))
    var_beta, vcov_source = _beta_variance(theta, beta, x, m, int(n_nodes))
    se = math.sqrt(var_beta)
    tau2 = theta**2
    crit = z_crit(level)
    ci = (beta - crit * se, beta + crit * se)
    half_pi = crit * math.sqrt(se**2 + tau2)
    pi = (beta - half_pi, beta + half_pi)

    yi, vi = logit_escalc(counts.events, counts.n)
    wi = 1 / vi
    k = counts.k
    tr_p = float(wi.sum() - np.sum(wi**2) / wi.sum())
    if tr_p > 0:
        vt = (k - 1) / tr_p
        i2 = 100 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1
    else:  # weights so unequal (n ~ 1e18 beside n ~ 10) that the trace rounds to 0: undefined
        i2 = h2 = float("nan")

    tests = _heterogeneity_tests(x, m)
    ll_sat = float(
        np.sum(
            gammaln(m + 1)
            - gammaln(x + 1)
            - gammaln(m - x + 1)
            + xlogy(x, x / m)
            + xlogy(m - x, (m - x) / m)
        )
    )
    u = conditional_modes(x, m, beta, theta)
    conditional_deviance = float(np.sum(_devres(x, m, beta + theta * u)))
    z = beta / se
    return PooledResult(
        method="GLMM-ML",
        transform="logit",
        tau2_method="ML",
        level=level,
        k=k,
        total_events=int(counts.events.sum()),
        total_n=int(counts.n.sum()),
        estimate=float(expit(beta)),
        ci_low=float(expit(ci[0])),
        ci_high=float(expit(ci[1])),
        pi_low=float(expit(pi[0])),
        pi_high=float(expit(pi[1])),
        tau2=tau2,
        i2=i2,
        h2=h2,
        q=tests["q_lrt"],
        q_df=k - 1,
        q_p=tests["q_lrt_p"],
        theta=beta,
        theta_se=se,
        theta_ci_low=ci[0],
        theta_ci_high=ci[1],
        theta_pi_low=pi[0],
        theta_pi_high=pi[1],
        z=z,
        p_value=float(2 * stats.norm.sf(abs(z))),
        labels=counts.labels,
        events=counts.events,
        n=counts.n,
        yi=yi,
        vi=vi,
        weights=None,
        extras={
            **tests,
            "deviance": dev,
            "loglik": ll_sat - dev / 2,
            "loglik_metafor": ll_sat - conditional_deviance / 2,
            "n_nodes": int(n_nodes),
            "vcov": vcov_source,
        },
    )
