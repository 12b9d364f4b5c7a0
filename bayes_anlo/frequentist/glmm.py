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
module minimises it over ``(theta >= 0, beta)``: the profile over ``beta`` on a grid of ``theta``
(all grid points at once), then joint Newton steps in ``(theta, beta)`` with a line search, the
derivatives from finite differences whose points are evaluated together. Every deviance
evaluation takes many ``(theta, beta)`` points at once and solves the conditional modes of all
studies at all points by vectorised safeguarded Newton iterations to machine precision.

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

import functools
import math
from collections.abc import Sequence

import numpy as np
from scipy.special import expit, gammaln, xlogy

from bayes_anlo.errors import InputError
from bayes_anlo.frequentist.distributions import chi2_sf, norm_sf
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
#: Upper end of the search for tau (logit scale); tau = 20 means odds varying by e^40. Data
#: without a finite maximum (all studies with 0 or n events) end there.
THETA_MAX = 20.0


@functools.cache
def _gh_rule(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and log-weights for integrals against the standard normal density."""
    z, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    logw = np.log(w / math.sqrt(2 * math.pi))
    z.flags.writeable = logw.flags.writeable = False  # cached: shared by every caller
    return z, logw


def _saturated(x, n):
    """``x log(x/n) + (n-x) log((n-x)/n)``: the saturated binomial log-likelihood kernel."""
    return xlogy(x, x / n) + xlogy(n - x, (n - x) / n)


def _devres(x, n, eta, saturated=None):
    """Binomial deviance residuals ``2[x log(x/(n mu)) + (n-x) log((n-x)/(n(1-mu)))]``, stable.

    With ``L = log(1 + exp(-|eta|))``: ``-log mu = max(-eta, 0) + L`` and
    ``-log(1 - mu) = max(eta, 0) + L``. ``saturated`` is :func:`_saturated` of ``(x, n)``.
    """
    if saturated is None:
        saturated = _saturated(x, n)
    soft = np.log1p(np.exp(-np.abs(eta)))
    return 2.0 * (saturated + n * soft + x * np.maximum(-eta, 0.0) + (n - x) * np.maximum(eta, 0.0))


def conditional_modes(x, n, beta, theta, tol: float = 1e-12, maxiter: int = 200):
    """Minimise ``g_i(u) = devres_i(beta + theta u) + u^2`` for every study.

    ``beta`` and ``theta`` may be arrays of shape ``(P, 1)`` (P parameter points at once); the
    result then has shape ``(P, k)``.

    ``g_i'(u)/2 = u - theta (x_i - n_i mu_i(u))`` is strictly increasing, and its root lies in
    ``[-|theta| n_i, |theta| n_i]``. Newton steps are used while they stay inside the bracket that
    the signs of ``g_i'`` maintain, bisection otherwise (safeguarded Newton); convergence is
    quadratic near the mode. The start is the mode of the normal approximation to the binomial
    likelihood of the empirical logit, ``theta w (y - beta) / (1 + theta^2 w)``.
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    beta = np.asarray(beta, dtype=float)
    theta = np.asarray(theta, dtype=float)
    bound = np.abs(theta) * n + 1.0
    lo, hi = -bound, bound
    p = (x + 0.5) / (n + 1.0)
    w = n * p * (1 - p)
    y = np.log(p / (1 - p))
    u = np.clip(theta * w * (y - beta) / (1.0 + theta**2 * w), lo, hi)
    u, lo, hi = np.broadcast_arrays(u, lo, hi)
    for _ in range(maxiter):
        mu = expit(beta + theta * u)
        grad = u - theta * (x - n * mu)
        lo = np.where(grad < 0, u, lo)
        hi = np.where(grad > 0, u, hi)
        new = u - grad / (1.0 + theta**2 * n * mu * (1 - mu))
        # strict: at a converged mode the step can round to 0, and u itself is then a bracket end
        outside = (new < lo) | (new > hi)
        new = np.where(outside, 0.5 * (lo + hi), new)
        done = np.max(np.abs(new - u)) < tol
        u = new
        if done:
            break
    return u


def agq_deviances(beta, theta, x, n, n_nodes: int = 7) -> np.ndarray:
    """:func:`agq_deviance` at many points: ``beta`` and ``theta`` broadcast to one shape."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    beta, theta = np.broadcast_arrays(np.asarray(beta, float), np.asarray(theta, float))
    b = beta[..., None]
    t = theta[..., None]
    u = conditional_modes(x, n, b, t)
    eta = b + t * u
    mu = expit(eta)
    s = 1.0 / np.sqrt(1.0 + t**2 * n * mu * (1 - mu))
    sat = _saturated(x, n)
    g0 = _devres(x, n, eta, sat) + u**2
    z, logw = _gh_rule(n_nodes)
    zc = z[:, None]
    uk = u[..., None, :] + zc * s[..., None, :]
    gk = _devres(x, n, b[..., None] + t[..., None] * uk, sat) + uk**2
    log_terms = logw[:, None] - (gk - g0[..., None, :]) / 2 + zc**2 / 2
    top = np.max(log_terms, axis=-2)
    log_mult = top + np.log(np.sum(np.exp(log_terms - top[..., None, :]), axis=-2))
    return np.sum(g0, axis=-1) - 2 * np.sum(np.log(s), axis=-1) - 2 * np.sum(log_mult, axis=-1)


def agq_deviance(beta: float, theta: float, x, n, n_nodes: int = 7) -> float:
    """lme4's adaptive Gauss-Hermite deviance of the random-intercept logistic model."""
    return float(agq_deviances(beta, theta, x, n, n_nodes))


#: Offsets (theta, beta), in units of the step, of a central-difference Hessian stencil.
_HESSIAN_STENCIL = np.array(
    [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=float
)
#: Further points for a Richardson-extrapolated central-difference gradient.
_GRADIENT_STENCIL = np.array([(2, 0), (-2, 0), (0, 2), (0, -2)], dtype=float)


def _stencil_hessian(d: np.ndarray, h: float) -> np.ndarray:
    """Central-difference Hessian (as lme4's ``deriv12``) from deviances at ``_HESSIAN_STENCIL``."""
    htt = (d[1] - 2 * d[0] + d[2]) / h**2
    hbb = (d[3] - 2 * d[0] + d[4]) / h**2
    htb = (d[5] - d[6] - d[7] + d[8]) / (4 * h**2)
    return np.array([[htt, htb], [htb, hbb]])


def _derivatives(theta, beta, x, n, n_nodes, h: float = 1e-3):
    """Deviance, gradient and Hessian in (theta, beta) from one batched evaluation: gradient by
    Richardson-extrapolated central differences (error O(h^4)), Hessian by central differences."""
    pts = h * np.concatenate([_HESSIAN_STENCIL, _GRADIENT_STENCIL])
    d = agq_deviances(beta + pts[:, 1], theta + pts[:, 0], x, n, n_nodes)
    grad = np.array(
        [
            (8 * (d[1] - d[2]) - (d[9] - d[10])) / (12 * h),
            (8 * (d[3] - d[4]) - (d[11] - d[12])) / (12 * h),
        ]
    )
    return float(d[0]), grad, _stencil_hessian(d, h)


def _profile_on_grid(x, n, thetas: np.ndarray, beta0: float, n_nodes: int):
    """``min_beta D(theta, beta)`` at every theta of a grid, by safeguarded Newton steps in beta
    for all of them at once (the deviance is close to convex in beta: the exact marginal
    likelihood is log-concave in beta)."""
    h = 1e-4
    beta = np.full(thetas.shape, beta0)
    lo = np.full(thetas.shape, -np.inf)
    hi = np.full(thetas.shape, np.inf)
    offsets = np.array([-h, 0.0, h])
    for _ in range(100):
        d = agq_deviances(beta[:, None] + offsets, thetas[:, None], x, n, n_nodes)
        grad = (d[:, 2] - d[:, 0]) / (2 * h)
        curv = (d[:, 2] - 2 * d[:, 1] + d[:, 0]) / h**2
        lo = np.where(grad < 0, beta, lo)
        hi = np.where(grad > 0, beta, hi)
        step = np.where(curv > 0, -grad / np.where(curv > 0, curv, 1.0), -np.sign(grad))
        new = beta + np.clip(step, -2.0, 2.0)
        outside = (new <= lo) | (new >= hi)
        bisect = 0.5 * (np.where(np.isfinite(lo), lo, beta) + np.where(np.isfinite(hi), hi, beta))
        new = np.where(outside, bisect, new)
        if np.max(np.abs(new - beta)) < 1e-7:
            beta = new
            break
        beta = new
    return beta, agq_deviances(beta, thetas, x, n, n_nodes)


#: theta below which the fit is taken to be on the boundary theta = 0 (tau^2 < 1e-12).
THETA_ZERO = 1e-6


def _newton(theta: float, beta: float, x, n, n_nodes: int) -> tuple[float, float, float]:
    """Minimise the deviance over ``|theta| <= THETA_MAX`` and beta from a start near the minimum.

    Newton steps with a line search (halving until the deviance does not increase by more than
    its rounding noise), the Hessian shifted to be positive definite where it is not; a step that
    would leave ``|theta| <= THETA_MAX`` is shortened to end on the limit, and at the limit, with
    the deviance still falling outwards (no finite maximum, e.g. every study with 0 or n events),
    only beta moves. Stops when a step is below 1e-10.
    """
    value, grad, H = _derivatives(theta, beta, x, n, n_nodes)
    for _ in range(100):
        if not (np.all(np.isfinite(H)) and np.all(np.isfinite(grad))):
            break
        at_limit = abs(theta) >= THETA_MAX and grad[0] * math.copysign(1.0, theta) < 0
        if at_limit:
            step = np.array([0.0, -grad[1] / H[1, 1] if H[1, 1] > 0 else -np.sign(grad[1])])
        else:
            eig_min = np.linalg.eigvalsh(H).min()
            if eig_min <= 0:
                H = H + (1e-3 * np.abs(H).max() + 1e-8 - eig_min) * np.eye(2)
            step = -np.linalg.solve(H, grad)
        if not np.all(np.isfinite(step)):
            break
        scale = min(1.0, 2.0 / max(np.max(np.abs(step)), 1e-300))
        if abs(theta + scale * step[0]) > THETA_MAX:
            scale = (math.copysign(THETA_MAX, step[0]) - theta) / step[0]
        for _ in range(40):
            t_new = float(np.clip(theta + scale * step[0], -THETA_MAX, THETA_MAX))
            b_new = beta + scale * step[1]
            candidate = _derivatives(t_new, b_new, x, n, n_nodes)
            if candidate[0] <= value + 1e-12 * abs(value):
                break
            scale /= 2
        else:
            break
        theta, beta = t_new, b_new
        value, grad, H = candidate
        if np.max(np.abs(scale * step)) < 1e-10:
            break
    return theta, beta, value


def _fit(x, n, n_nodes: int) -> tuple[float, float, float]:
    """ML estimates ``(theta, beta)`` and the minimal deviance.

    1. profile deviance ``min_beta D(theta, beta)`` on a grid of theta (0 and 0.03 .. 20),
       all grid points at once;
    2. from the best grid point (0.03 when it is theta = 0), Newton steps in (theta, beta)
       (:func:`_newton`) with gradient and Hessian from one batched stencil of deviances;
       theta may cross 0 (the deviance is even in theta), so a fit on the boundary converges to
       theta = 0 like an interior one; where the deviance falls without end as theta grows
       (separated data: every study has 0 or n events), theta stops at ``THETA_MAX`` and
       tau^2 = 400 is reported;
    3. theta = 0 is taken when the Newton limit has ``|theta| < THETA_ZERO`` or the deviance there
       is not lower than at theta = 0 with the closed-form common-effect estimate
       ``beta = logit(sum x / sum n)``.
    """
    # At theta = 0 the model is the common-effect logistic model, whose ML estimate is closed-form:
    # beta = logit(sum x / sum n) (0 < sum x < sum n: glmm_logit refuses the other cases).
    beta0 = math.log(x.sum() / (n.sum() - x.sum()))
    value0 = agq_deviance(beta0, 0.0, x, n, n_nodes)

    grid = np.concatenate([[0.0], np.geomspace(0.03, THETA_MAX, 14)])
    betas, values = _profile_on_grid(x, n, grid, beta0, n_nodes)
    j = int(np.argmin(values))
    if j == 0:
        theta, beta = float(grid[1]), float(betas[1])
    else:
        theta, beta = float(grid[j]), float(betas[j])

    theta, beta, value = _newton(theta, beta, x, n, n_nodes)
    if theta < 0:
        theta = -theta
        value = agq_deviance(beta, theta, x, n, n_nodes)
    if theta < THETA_ZERO or value0 <= value:
        return 0.0, beta0, float(value0)
    return float(theta), float(beta), float(value)


def _hessian(theta: float, beta: float, x, n, n_nodes: int, h: float = HESSIAN_STEP) -> np.ndarray:
    """Hessian of the deviance in (theta, beta): central differences at steps h and 2h combined by
    Richardson extrapolation, ``(4 H(h) - H(2h)) / 3``; both stencils in one batched evaluation.

    At ``theta = 0`` the points with negative theta are valid: the deviance is even in theta.
    """
    pts = np.concatenate([h * _HESSIAN_STENCIL, 2 * h * _HESSIAN_STENCIL])
    d = agq_deviances(beta + pts[:, 1], theta + pts[:, 0], x, n, n_nodes)
    m = len(_HESSIAN_STENCIL)
    return (4 * _stencil_hessian(d[:m], h) - _stencil_hessian(d[m:], 2 * h)) / 3


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
        "q_lrt_p": float(chi2_sf(lrt, df)),
        "q_wald": wald,
        "q_wald_p": float(chi2_sf(wald, df)) if np.isfinite(wald) else float("nan"),
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
        p_value=float(2 * norm_sf(abs(z))),
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
