"""bayes_anlo: Bayesian re-analysis of published clinical evidence.

Public entry points::

    import bayes_anlo as ba
    data = ba.load_binary("studies.csv")          # or ba.datasets.load("<name>")
    freq = ba.frequentist.pool_proportions(data, transform="pft", method="DL")
    fit = ba.models.BetaBinomial().fit(data, random_seed=1)   # -> xarray.DataTree
    ba.report.summary(fit)                        # DataFrame
    ba.report.forest(fit)                         # matplotlib Figure

The subpackages (``models``, ``frequentist``, ``report``, ``audit``, ``datasets``, ``exact``,
``checks``, ``survival``, ``data``) and the loaders are imported on first use (PEP 562 module
``__getattr__``), so ``import bayes_anlo`` stays light and a command such as ``bayes-anlo rates``
does not pay for PyMC or matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bayes_anlo.lazy_import import lazy_package

__version__ = "0.1.0"

#: Public subpackages and modules, imported on first attribute access.
_SUBMODULES = frozenset(
    {
        "audit",
        "checks",
        "data",
        "datasets",
        "exact",
        "frequentist",
        "models",
        "report",
        "survival",
    }
)
#: Public names defined in a submodule, imported from there on first access.
_NAMES = {
    "BinaryData": "bayes_anlo.data.binary",
    "load_binary": "bayes_anlo.data.binary",
    "load_survival": "bayes_anlo.data.survival",
    "load_digitised_km": "bayes_anlo.data.survival",
    "load_summaries": "bayes_anlo.data.survival",
    "InputError": "bayes_anlo.errors",
}

__all__ = sorted([*_SUBMODULES, *_NAMES, "__version__"])

if TYPE_CHECKING:  # static checkers and IDEs see the eager imports
    from bayes_anlo import (  # noqa: F401
        audit,
        checks,
        data,
        datasets,
        exact,
        frequentist,
        models,
        report,
        survival,
    )
    from bayes_anlo.data.binary import BinaryData, load_binary  # noqa: F401
    from bayes_anlo.data.survival import (  # noqa: F401
        load_digitised_km,
        load_summaries,
        load_survival,
    )
    from bayes_anlo.errors import InputError  # noqa: F401


__getattr__, __dir__ = lazy_package(__name__, _NAMES, _SUBMODULES)
