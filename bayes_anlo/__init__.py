"""bayes_anlo: Bayesian re-analysis of published clinical evidence.

Public entry points::

    import bayes_anlo as ba
    data = ba.load_binary("studies.csv")          # or ba.datasets.load("<name>")
    freq = ba.frequentist.pool_proportions(data, transform="pft", method="DL")
    fit = ba.models.BetaBinomial().fit(data, random_seed=1)   # -> xarray.DataTree
    ba.report.summary(fit); ba.report.forest(fit)               # DataFrame; matplotlib Figure
"""

from bayes_anlo import datasets, frequentist, report
from bayes_anlo.data.binary import BinaryData, load_binary
from bayes_anlo.errors import InputError

__version__ = "0.1.0"
__all__ = [
    "BinaryData",
    "InputError",
    "datasets",
    "frequentist",
    "load_binary",
    "report",
    "__version__",
]
