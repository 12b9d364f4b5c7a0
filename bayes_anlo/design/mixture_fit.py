"""Fitting a beta mixture to draws by EM, and choosing the number of components.

:func:`fit_beta_mixture` maximises ``sum_i log sum_k w_k Beta(x_i; a_k, b_k)`` by EM (Dempster,
Laird & Rubin 1977): the E-step gives each draw's component responsibilities; the M-step sets the
weights to the mean responsibilities and each component's ``(a, b)`` to the weighted beta maximum
likelihood, which solves ``psi(a) - psi(a + b) = E_r[log x]``, ``psi(b) - psi(a + b) =
E_r[log(1 - x)]`` (a concave problem, solved here by Newton's method). EM crawls once components
overlap, so after a few dozen EM steps the same likelihood is maximised directly by quasi-Newton
(L-BFGS with the analytic gradient), which converges in a few dozen more. As R RBesT's EM does by
default (``constrain_gt1``), ``a, b >= 1`` is imposed, so that every component has a bounded
density and the ELIR effective sample size exists. Several deterministic starts are run (blocks of
the sorted draws moment-matched, with and without one broad component) and the best kept.

:func:`auto_fit` fits 1..``max_components`` components and keeps the one with the smallest
information criterion ``-2 loglik + penalty * parameters`` (``3K - 1`` parameters): ``"aic"``
(penalty 2), ``"bic"`` (``log N``) or ``"rbest"`` (penalty 6, the default ``k = 6`` of RBesT's
``automixfit``, which favours fewer components than AIC on the large samples MAP priors use).
:func:`approximation_accuracy` says how close the chosen mixture is to the draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from bayes_anlo.design.mixtures import BetaMixture

CRITERIA = ("rbest", "aic", "bic")
#: The smallest a and b of a fitted component (RBesT's ``constrain_gt1``).
MIN_AB = 1.0
#: Draws are kept this far from 0 and 1 (log x must be finite).
EDGE = 1e-12


@dataclass(frozen=True)
class MixtureFit:
    """One EM fit: the mixture, its log-likelihood on the draws, and how EM ended."""

    mixture: BetaMixture
    loglik: float
    draws: int
    converged: bool

    @property
    def parameters(self) -> int:
        return 3 * self.mixture.size - 1

    def criterion(self, name: str) -> float:
        """``-2 loglik + penalty * parameters`` for ``name`` in :data:`CRITERIA`."""
        penalty = {"rbest": 6.0, "aic": 2.0, "bic": float(np.log(self.draws))}[name]
        return -2.0 * self.loglik + penalty * self.parameters


def _beta_mle(c1: float, c2: float, a: float, b: float) -> tuple[float, float]:
    """Maximise ``(a - 1) c1 + (b - 1) c2 - log B(a, b)`` over ``a, b >= MIN_AB`` (projected
    Newton from the warm start ``(a, b)``; the objective is concave)."""

    def objective(a, b):
        return (a - 1.0) * c1 + (b - 1.0) * c2 - special.betaln(a, b)

    a, b = max(a, MIN_AB), max(b, MIN_AB)
    current = objective(a, b)
    for _ in range(100):
        s = a + b
        ga = c1 - special.digamma(a) + special.digamma(s)
        gb = c2 - special.digamma(b) + special.digamma(s)
        ts = special.polygamma(1, s)
        jaa = special.polygamma(1, a) - ts
        jbb = special.polygamma(1, b) - ts
        jab = -ts
        free_a = not (a <= MIN_AB and ga < 0)
        free_b = not (b <= MIN_AB and gb < 0)
        if free_a and free_b:
            det = jaa * jbb - jab * jab
            da, db = (jbb * ga - jab * gb) / det, (jaa * gb - jab * ga) / det
        else:
            da = ga / jaa if free_a else 0.0
            db = gb / jbb if free_b else 0.0
        step = 1.0
        while True:
            na, nb = max(a + step * da, MIN_AB), max(b + step * db, MIN_AB)
            value = objective(na, nb)
            if value >= current - 1e-15 or step < 1e-10:
                break
            step /= 2.0
        done = abs(na - a) < 1e-10 * (1 + a) and abs(nb - b) < 1e-10 * (1 + b)
        a, b, current = na, nb, max(value, current)
        if done:
            break
    return float(a), float(b)


def _moment_ab(x: np.ndarray) -> tuple[float, float]:
    m, v = float(np.mean(x)), float(np.var(x))
    n = m * (1 - m) / v - 1 if v > 0 else 1e3
    n = max(n, 2.0 * MIN_AB / min(m, 1 - m) + 1e-3)
    return m * n, (1 - m) * n


def _starts(x: np.ndarray, k: int) -> list[BetaMixture]:
    xs = np.sort(x)
    blocks = np.array_split(xs, k)
    ab = [_moment_ab(blk) for blk in blocks]
    first = BetaMixture.of(np.ones(k), [p[0] for p in ab], [p[1] for p in ab])
    if k == 1:
        return [first]
    wide = list(ab)
    wide[-1] = _moment_ab(xs)  # one component spanning all the draws (as RBesT's start does)
    second = BetaMixture.of(np.ones(k), [p[0] for p in wide], [p[1] for p in wide])
    return [first, second]


def _row_logsumexp(m: np.ndarray) -> np.ndarray:
    top = m.max(axis=1)
    return top + np.log(np.exp(m - top[:, None]).sum(axis=1))


def _em(lx, l1x, start: BetaMixture, iterations: int) -> BetaMixture:
    """``iterations`` EM steps from ``start``."""
    w, a, b = (np.array(v) for v in (start.weights, start.a, start.b))
    n = lx.size
    for _ in range(iterations):
        with np.errstate(divide="ignore"):
            lli = (a - 1) * lx[:, None] + (b - 1) * l1x[:, None] + np.log(w) - special.betaln(a, b)
        resp = np.exp(lli - _row_logsumexp(lli)[:, None])
        total = resp.sum(axis=0)
        for k in range(w.size):
            if total[k] < 1e-8 * n:
                continue
            c1 = float(resp[:, k] @ lx) / total[k]
            c2 = float(resp[:, k] @ l1x) / total[k]
            a[k], b[k] = _beta_mle(c1, c2, a[k], b[k])
        w = np.maximum(total / n, 1e-12)
        w /= w.sum()
    return BetaMixture.of(w, a, b)


def _unpack(theta: np.ndarray, k: int):
    logits = np.concatenate([[0.0], theta[: k - 1]])
    w = np.exp(logits - special.logsumexp(logits))
    ea, eb = np.exp(theta[k - 1 : 2 * k - 1]), np.exp(theta[2 * k - 1 :])
    return w, MIN_AB + ea, MIN_AB + eb, ea, eb


def _polish(lx, l1x, start: BetaMixture, max_iter: int) -> tuple[BetaMixture, float, bool]:
    """Maximise the same likelihood directly (L-BFGS with its analytic gradient) from the EM
    estimate: EM is slow once components overlap, quasi-Newton is not. Parameters: weight
    logits, ``log(a - 1)``, ``log(b - 1)``, so ``a, b > 1``."""
    k = start.size
    w0, a0, b0 = (np.asarray(v) for v in (start.weights, start.a, start.b))
    theta0 = np.concatenate(
        [
            np.log(w0[1:] / w0[0]),
            np.log(np.maximum(a0 - MIN_AB, 1e-8)),
            np.log(np.maximum(b0 - MIN_AB, 1e-8)),
        ]
    )

    def negloglik(theta):
        w, a, b, ea, eb = _unpack(theta, k)
        lli = (a - 1) * lx[:, None] + (b - 1) * l1x[:, None] + np.log(w) - special.betaln(a, b)
        norm = _row_logsumexp(lli)
        resp = np.exp(lli - norm[:, None])
        total = resp.sum(axis=0)
        psi_ab = special.digamma(a + b)
        ga = resp.T @ lx - total * (special.digamma(a) - psi_ab)
        gb = resp.T @ l1x - total * (special.digamma(b) - psi_ab)
        gw = total - lx.size * w
        grad = np.concatenate([gw[1:], ga * ea, gb * eb])
        return -float(norm.sum()), -grad

    res = optimize.minimize(
        negloglik,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "ftol": 1e-13, "gtol": 1e-7},
    )
    w, a, b, _, _ = _unpack(res.x, k)
    order = np.argsort(-w)  # largest weight first, as components are usually read
    # converged: the optimiser met its tolerance, or stopped where the gradient is already nil
    # (EM had converged, so no line search could improve)
    converged = bool(res.success) or float(np.abs(res.jac).max()) < 1e-6 * lx.size
    return BetaMixture.of(w[order], a[order], b[order]), -float(res.fun), converged


def fit_beta_mixture(
    draws, components: int, *, em_steps: int = 20, max_iter: int = 1000
) -> MixtureFit:
    """EM fit of a ``components``-component beta mixture (``a, b >= 1``) to ``draws`` in (0, 1).

    Deterministic (no random starts): ``em_steps`` EM iterations from each start, then the
    likelihood maximised directly (``max_iter`` quasi-Newton steps at most); ``converged`` says
    whether that maximisation met its tolerance.
    """
    x = np.asarray(draws, dtype=float).ravel()
    if x.size < 10 * components or not np.all(np.isfinite(x)):
        raise ValueError("need finite draws, at least 10 per component")
    if np.any((x < 0) | (x > 1)):
        raise ValueError("draws of a rate lie in [0, 1]")
    if int(components) < 1:
        raise ValueError("components must be >= 1")
    x = np.clip(x, EDGE, 1 - EDGE)
    lx, l1x = np.log(x), np.log1p(-x)
    fits = []
    # The products here are tiny (draws x components): a multi-threaded BLAS only adds thread
    # hand-offs, which cost seconds on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"):
        for start in _starts(x, int(components)):
            em = _em(lx, l1x, start, em_steps)
            mixture, loglik, converged = _polish(lx, l1x, em, max_iter)
            fits.append(MixtureFit(mixture, loglik, x.size, converged))
    return max(fits, key=lambda f: f.loglik)


@dataclass(frozen=True)
class AutoFit:
    """The fits for each number of components, and the chosen one."""

    fits: tuple[MixtureFit, ...]
    criterion: str

    @property
    def best(self) -> MixtureFit:
        return min(self.fits, key=lambda f: f.criterion(self.criterion))

    def table(self) -> list[dict]:
        """One row per number of components: log-likelihood, parameters, AIC, BIC, RBesT's IC."""
        best = self.best
        return [
            {
                "components": f.mixture.size,
                "loglik": f.loglik,
                "parameters": f.parameters,
                **{name: f.criterion(name) for name in CRITERIA},
                "chosen": f is best,
                "converged": f.converged,
            }
            for f in self.fits
        ]


def auto_fit(draws, *, max_components: int = 4, criterion: str = "rbest") -> AutoFit:
    """Fit 1..``max_components`` components; :attr:`AutoFit.best` minimises ``criterion``."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}, not {criterion!r}")
    if int(max_components) < 1:
        raise ValueError("max_components must be >= 1")
    fits = tuple(fit_beta_mixture(draws, k) for k in range(1, int(max_components) + 1))
    return AutoFit(fits, criterion)


def approximation_accuracy(mixture: BetaMixture, draws) -> dict[str, float]:
    """How well ``mixture`` represents ``draws``: the Kolmogorov-Smirnov distance between the
    mixture's CDF and the draws' empirical CDF, and mixture minus draws for the mean, sd and the
    2.5%, 50% and 97.5% quantiles."""
    x = np.sort(np.asarray(draws, dtype=float).ravel())
    n = x.size
    cdf = mixture.cdf(x)
    ks = float(max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n)))
    q = np.quantile(x, [0.025, 0.5, 0.975])
    mq = mixture.ppf([0.025, 0.5, 0.975])
    return {
        "ks_distance": ks,
        "mean_difference": mixture.mean() - float(x.mean()),
        "sd_difference": mixture.sd() - float(x.std(ddof=1)),
        "q2.5_difference": float(mq[0] - q[0]),
        "median_difference": float(mq[1] - q[1]),
        "q97.5_difference": float(mq[2] - q[2]),
    }
