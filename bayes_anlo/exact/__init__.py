"""Quadrature and conjugate engines for low-dimensional posteriors (fast path and NUTS check).

* :func:`beta_binomial_exact` - grid over (logit mu, log kappa) for the beta-binomial model;
* :func:`logit_normal_exact` - grid over (mu, tau), study effects by adaptive Gauss-Hermite;
* :mod:`bayes_anlo.exact.exnex` - EXNEX with one EX component, grid over (mu, tau);
  :mod:`bayes_anlo.exact.exnex_components` - EXNEX with any number of EX components, by
  enumerating the assignments of subtypes to components (basket-trial decisions, exact draws);
* :mod:`bayes_anlo.exact.conjugate` - one Beta-binomial rate, two independent rates
  (``P(p1 > p2)``, quantiles of ``p1 - p2``).
"""

from bayes_anlo.exact.beta_binomial import beta_binomial_exact
from bayes_anlo.exact.conjugate import BetaPosterior, TwoArmExact, beta_update, prob_greater
from bayes_anlo.exact.grid import Grid2D, adaptive_grid
from bayes_anlo.exact.logit_normal import logit_normal_exact
from bayes_anlo.exact.posterior import ExactPosterior

__all__ = [
    "BetaPosterior",
    "ExactPosterior",
    "Grid2D",
    "TwoArmExact",
    "adaptive_grid",
    "beta_binomial_exact",
    "beta_update",
    "logit_normal_exact",
    "prob_greater",
]
