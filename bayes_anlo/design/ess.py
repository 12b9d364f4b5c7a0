"""Prior effective sample size (ESS) of a beta mixture for a binomial rate, by three methods.

* ``moment``: the ``a + b`` of the single beta with the mixture's mean ``m`` and variance ``v``,
  ``m (1 - m) / v - 1``; conservative (small) for mixtures.
* ``elir``: expected local-information ratio (Neuenschwander, Weber, Schmidli & O'Hagan 2020,
  Biometrics 76:578, Eq. 6): ``E_prior[ i(theta) / i_F(theta) ]`` with the prior information
  ``i(theta) = -d^2/dtheta^2 log prior(theta)`` and the Bernoulli Fisher information
  ``i_F(theta) = 1 / (theta (1 - theta))``. The only predictively consistent method of the three
  (the ESS of a posterior after ``n`` patients is, in expectation, the prior's plus ``n``); for a
  single ``Beta(a, b)`` with ``a, b > 1`` it is exactly ``a + b``. It needs every component with
  ``a, b >= 1`` (otherwise the integral diverges). At ``a = 1`` it is discontinuous: the side's
  information term vanishes, so ``Beta(1, 1)`` has ELIR 0 and ``Beta(1, b)`` has 1 (not ``1 + b``);
  RBesT's ``ess`` (which admits ``a, b >= 1`` the same way) gives the same, e.g. the vignette's
  robustified MAP with its ``Beta(1, 1)`` component (26, reproduced in the tests).
* ``morita``: Morita, Thall & Mueller (2008), Biometrics 64:595, in the form of Neuenschwander et
  al. (2020, Eq. 9) that R RBesT's ``ess`` implements: at the prior's (highest) mode ``t``,
  ``(D_prior(t) - D_0(t)) / E_Y[i_Y(t)]``, where ``D`` is minus the second derivative of a log
  density, ``D_0`` that of the flattened ``Beta(t / s, (1 - t) / s)`` (``s = 100``), and the
  denominator the information of one Bernoulli observation, averaged over the prior predictive of
  ``Y``. Liberal (large) for mixtures; close to ``a + b`` for a single beta.

The ELIR integral is computed by adaptive quadrature on the logit scale (``theta = expit(l)``),
split at the components' modes; the tests check it against ``a + b`` and a Monte Carlo estimate.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import integrate, special

from bayes_anlo.design.mixtures import BetaMixture

METHODS = ("elir", "moment", "morita")
#: The flattening factor of Morita's epsilon-information prior (RBesT's default ``s``).
MORITA_S = 100.0


def ess_moment(mixture: BetaMixture) -> float:
    """``m (1 - m) / v - 1`` for the mixture's mean ``m`` and variance ``v``."""
    m, v = mixture.mean(), mixture.var()
    return float(m * (1 - m) / v - 1.0)


def _information_terms(mixture: BetaMixture, theta: np.ndarray):
    """Per ``theta``: the density, and ``-d^2 log p / dtheta^2`` (prior information)."""
    w, a, b = (np.asarray(v, dtype=float) for v in (mixture.weights, mixture.a, mixture.b))
    t = np.asarray(theta, dtype=float)[..., None]
    logf = mixture.component_logpdf(theta)  # log w_k f_k
    log_p = special.logsumexp(logf, axis=-1)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        r = np.exp(logf - log_p[..., None])  # component responsibilities at theta
        g = (a - 1) / t - (b - 1) / (1 - t)  # d log f_k
        curvature = (a - 1) / t**2 + (b - 1) / (1 - t) ** 2  # -d2 log f_k
        mean_g = np.sum(r * g, axis=-1)
        var_g = np.sum(r * g**2, axis=-1) - mean_g**2
        info = np.sum(r * curvature, axis=-1) - var_g
    return np.exp(log_p), info


def local_information(mixture: BetaMixture, theta) -> np.ndarray:
    """``-d^2/dtheta^2 log prior(theta)`` of the mixture."""
    return _information_terms(mixture, np.asarray(theta, dtype=float))[1]


def ess_elir(mixture: BetaMixture) -> float:
    """Expected local-information-ratio ESS (module docstring). Needs ``a, b >= 1``."""
    if min(mixture.a) < 1.0 or min(mixture.b) < 1.0:
        raise ValueError(
            "the ELIR ESS needs every component with a >= 1 and b >= 1 (the integral diverges)"
        )

    def integrand(logit_t):
        t = special.expit(logit_t)
        dens, info = _information_terms(mixture, np.array([t]))
        value = dens[0] * info[0] * (t * (1 - t)) ** 2  # p(t) i(t) / i_F(t) dt/dl
        return float(value) if np.isfinite(value) else 0.0

    centres = sorted(
        float(special.logit(np.clip((a - 1 + 0.5) / (a + b - 1), 1e-9, 1 - 1e-9)))
        for a, b in zip(mixture.a, mixture.b, strict=True)
    )
    edges = [-np.inf, *centres, np.inf]
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi <= lo:
            continue
        value, _ = integrate.quad(integrand, lo, hi, limit=400, epsabs=1e-10, epsrel=1e-10)
        total += value
    return float(total)


def ess_morita(mixture: BetaMixture, s: float = MORITA_S) -> float:
    """Morita's ESS in the Neuenschwander et al. (2020, Eq. 9) form (module docstring)."""
    modes = mixture.modes()
    if modes.size == 0:
        raise ValueError("Morita's ESS needs a mode; this prior's density is flat")
    if modes.size > 1:
        warnings.warn(
            "the prior has several modes; Morita's ESS is taken at the highest one (the concept "
            "is ill-defined for multimodal priors)",
            stacklevel=2,
        )
    t = float(modes[0])
    if not 0.0 < t < 1.0:
        raise ValueError("Morita's ESS needs a mode inside (0, 1); this prior's is at a boundary")
    d_prior = float(local_information(mixture, np.array([t]))[0])
    a0, b0 = t / s, (1 - t) / s
    d_flat = (a0 - 1) / t**2 + (b0 - 1) / (1 - t) ** 2
    p0 = float(mixture.predictive_pmf(1)[0])
    expected_info = p0 / (1 - t) ** 2 + (1 - p0) / t**2
    return float((d_prior - d_flat) / expected_info)


def ess(mixture: BetaMixture, method: str = "elir") -> float:
    """The ESS of ``mixture`` by ``method`` (``elir``, ``moment`` or ``morita``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    return {"elir": ess_elir, "moment": ess_moment, "morita": ess_morita}[method](mixture)


def ess_all(mixture: BetaMixture) -> dict[str, float | None]:
    """``{"elir": ..., "moment": ..., "morita": ...}``, ``None`` for a method undefined for this
    mixture (ELIR with a component below ``a, b = 1``; Morita with no mode or the mode at 0 or
    1)."""
    out: dict[str, float | None] = {}
    for method in METHODS:
        try:
            out[method] = ess(mixture, method)
        except ValueError:
            out[method] = None
    return out
