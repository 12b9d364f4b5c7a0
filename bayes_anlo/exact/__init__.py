"""Quadrature and conjugate engines for low-dimensional posteriors (fast path and NUTS check).

* :func:`beta_binomial_exact` - grid over (logit mu, log kappa) for the beta-binomial model;
* :func:`logit_normal_exact` - grid over (mu, tau), study effects by adaptive Gauss-Hermite;
* :mod:`bayes_anlo.exact.exnex` - EXNEX with one EX component, grid over (mu, tau);
  :mod:`bayes_anlo.exact.exnex_components` - EXNEX with any number of EX components, by
  enumerating the assignments of subtypes to components (basket-trial decisions, exact draws);
* :mod:`bayes_anlo.exact.conjugate` - one Beta-binomial rate, two independent rates
  (``P(p1 > p2)``, quantiles of ``p1 - p2``).

Names are imported from their modules on first access (PEP 562), so that importing one engine
does not import the others.
"""

# ruff: noqa: F401  (the imports under TYPE_CHECKING are for static checkers only)
from __future__ import annotations

from typing import TYPE_CHECKING

from bayes_anlo.lazy_import import lazy_package

#: Public name -> the module defining it.
_NAMES = {
    "BetaPosterior": "bayes_anlo.exact.conjugate",
    "ExactPosterior": "bayes_anlo.exact.posterior",
    "Grid2D": "bayes_anlo.exact.grid",
    "TwoArmExact": "bayes_anlo.exact.conjugate",
    "adaptive_grid": "bayes_anlo.exact.grid",
    "beta_binomial_exact": "bayes_anlo.exact.beta_binomial",
    "beta_update": "bayes_anlo.exact.conjugate",
    "logit_normal_exact": "bayes_anlo.exact.logit_normal",
    "prob_greater": "bayes_anlo.exact.conjugate",
}
#: Modules of the package reachable as attributes (``ba.exact.nested``).
_SUBMODULES = frozenset(
    {
        "beta_binomial",
        "conjugate",
        "exnex",
        "grid",
        "grid3d",
        "logit_normal",
        "nested",
        "posterior",
        "special_functions",
    }
)

__all__ = sorted(_NAMES)

if TYPE_CHECKING:  # static checkers and IDEs see the eager imports
    from bayes_anlo.exact.beta_binomial import beta_binomial_exact
    from bayes_anlo.exact.conjugate import BetaPosterior, TwoArmExact, beta_update, prob_greater
    from bayes_anlo.exact.grid import Grid2D, adaptive_grid
    from bayes_anlo.exact.logit_normal import logit_normal_exact
    from bayes_anlo.exact.posterior import ExactPosterior


__getattr__, __dir__ = lazy_package(__name__, _NAMES, _SUBMODULES)
