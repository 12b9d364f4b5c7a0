"""The one registry of model families: spec name -> class implementing
:class:`~bayes_anlo.models.contract.Model`.

Everything the spec layer needs to know about a family comes from here and from the class's
declarations: which families exist, the data they read (``kind``), their prior sets, methods,
grouping column (``by``) and option schema. A new family (meta-regression, EXNEX, MAP) is one
module with a :class:`~bayes_anlo.models.contract.Model` subclass and one line in :data:`FAMILIES`.
"""

from __future__ import annotations

from bayes_anlo.models.beta_binomial import BetaBinomial, CompletePooling
from bayes_anlo.models.contract import Model
from bayes_anlo.models.exnex import Exnex
from bayes_anlo.models.logit_normal import LogitNormal
from bayes_anlo.models.meta_regression import MetaRegression
from bayes_anlo.models.nested_beta_binomial import NestedBetaBinomial
from bayes_anlo.models.piecewise_exponential import PiecewiseExponential
from bayes_anlo.models.two_arm import TwoArm

#: spec name -> family class, in the order the documentation lists them.
FAMILIES: dict[str, type[Model]] = {
    cls.name: cls
    for cls in (
        BetaBinomial,
        NestedBetaBinomial,
        LogitNormal,
        TwoArm,
        CompletePooling,
        PiecewiseExponential,
        MetaRegression,
        Exnex,
    )
}


def family(name: str) -> type[Model]:
    """The class registered as ``name`` (KeyError naming the known families otherwise)."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r} (known: {', '.join(FAMILIES)})") from None


def option_schemas() -> dict[str, type]:
    """Family name -> the typed table of its spec options."""
    return {name: cls.options_schema for name, cls in FAMILIES.items()}


def grouped_models() -> dict[str, str]:
    """Families that take the analysis key ``by``, with its default column."""
    return {name: cls.grouping for name, cls in FAMILIES.items() if cls.grouping}


def survival_models() -> frozenset[str]:
    """Families that read survival data (every other family reads events out of n)."""
    return frozenset(name for name, cls in FAMILIES.items() if cls.kind == "survival")
