"""The typed options of each model family (``options = {...}`` of a spec analysis).

Each family names its table as ``options_schema`` (:mod:`bayes_anlo.models.contract`); the spec
schema reads them through the registry (:func:`bayes_anlo.models.registry.option_schemas`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, field_validator
from pydantic_core import PydanticCustomError

from bayes_anlo.spec_schema import (
    DocType,
    OneLine,
    PositiveMonths,
    Table,
    TextList,
    auto_or_bool,
    cuts_value,
    describe_value,
)


class NoOptions(Table):
    """This model takes no options."""


class NestedOptions(Table):
    """Options of ``nested_beta_binomial``."""

    within: Literal["auto", "beta_binomial", "binomial"] = Field(
        "auto",
        description="within-subgroup model: beta-binomial studies, binomial (one row per "
        "subgroup), or auto (binomial when every subgroup has one row)",
    )


class TwoArmOptions(Table):
    """Options of ``two_arm``."""

    arms: Annotated[list[OneLine], Field(min_length=2, max_length=2)] | None = Field(
        None,
        description="the two arms as [p1, p2] (difference = p1 - p2); default: order of the data",
    )
    hierarchical: Annotated[Any, PlainValidator(auto_or_bool), DocType('true, false or "auto"')] = (
        Field(
            "auto",
            description=(
                "beta-binomial studies within arms: true, false, or auto (when an arm has several "
                "rows)"
            ),
        )
    )

    @field_validator("arms")
    @classmethod
    def _distinct(cls, value):
        if value is not None and value[0] == value[1]:
            raise PydanticCustomError(
                "arms", "must name two different arms, got {got}", {"got": describe_value(value)}
            )
        return value


class PiecewiseExponentialOptions(Table):
    """Options of ``piecewise_exponential``."""

    cuts: (
        Annotated[
            Any,
            PlainValidator(cuts_value),
            DocType('"quantiles" or list of months [0, ...], increasing'),
        ]
        | None
    ) = Field(
        None,
        description='interval starts in months (first 0, strictly increasing), or "quantiles" '
        "of the event times (patient data); default: chosen by the model from the data",
    )
    hierarchical: bool = Field(
        True, description="partially pooled study effects (false: complete pooling)"
    )
    smooth: bool | None = Field(
        None,
        description="random-walk prior linking neighbouring intervals' log hazards "
        "(default: the model's choice)",
    )
    times: Annotated[list[PositiveMonths], Field(min_length=1, max_length=50)] = Field(
        (3, 6, 9, 12), description="landmark times in months (each > 0)"
    )
    horizon: PositiveMonths | None = Field(
        None,
        description="end of the survival grid and of the restricted mean, in months (default: "
        "chosen by the model from the data)",
    )
    grid_size: int = Field(
        73, ge=2, le=2001, description="points of the survival grid from 0 to horizon"
    )
    collapse: TextList = Field(
        (),
        description="columns whose labels describe rather than group (blanked after "
        "where/exclude, so the model pools their rows)",
    )


class MetaRegressionOptions(Table):
    """Options of ``meta_regression``."""

    moderators: TextList | None = Field(
        None,
        description="study-level columns of the data (required; numbers, or factors coded "
        "against their first level in sorted order, as R's factor)",
    )


class ExnexOptions(Table):
    """Options of ``exnex``."""

    weight_ex: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="prior probability that a subtype is exchangeable with the others "
        "(one EX component)",
    )
    weights: Annotated[list[float], Field(min_length=2, max_length=4)] | None = Field(
        None,
        description="prior weights [EX_1, ..., EX_K, NEX] of K = 1 to 3 exchangeable components "
        "and the non-exchangeable one, summing to 1 (overrides weight_ex; priors mu_2, tau_2, "
        "mu_3, tau_3 for components 2 and 3)",
    )

    @field_validator("weights")
    @classmethod
    def _weights_sum_to_one(cls, value):
        if value is None:
            return value
        if any(not 0 <= w <= 1 for w in value) or abs(sum(value) - 1) > 1e-6:
            raise PydanticCustomError(
                "weights",
                "must be probabilities in [0, 1] summing to 1, got {got}",
                {"got": describe_value(value)},
            )
        if sum(value[:-1]) <= 0:
            raise PydanticCustomError("weights", "some EX component needs a positive weight", {})
        return value
