"""Numbers as a paper prints them: value, number of decimals, and an optional relation sign.

A printed number stands for every real value that rounds to it. ``"13.3"`` (one decimal) stands
for the interval ``[13.25, 13.35]``; both ends are included, so a value exactly on a rounding tie
(``62.5`` printed as ``"63"`` by rounding half-up or as ``"62"`` by rounding half-even) reproduces
either printing. Comparisons allow a relative slack of ``1e-9`` for floating-point error in the
recomputed value, so that, e.g., ``5 / 8 * 100`` is still treated as the exact tie ``62.5``.

A p-value may be printed as a bound: ``"<0.01"``, ``"< 0.001"``, ``"≤0.05"``, ``">0.05"``. A bound
is reproduced by any value on the stated side of it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: Relative slack for floating-point error when comparing a recomputed value with a printing.
REL_TOL = 1e-9

_NUMBER = re.compile(r"^(?P<rel><=|>=|≤|≥|<|>|=)?\s*(?P<num>[+-]?(\d+(\.\d*)?|\.\d+))$")
_RELATIONS = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "≤": "<=", "≥": ">=", "=": "=", None: "="}


@dataclass(frozen=True)
class Printed:
    """A printed number.

    Attributes
    ----------
    text : str
        The text as given (``"13.3"``, ``"<0.01"``).
    value : float
        Its numeric value.
    decimals : int
        Digits printed after the decimal point (``"13.3"`` -> 1, ``"16"`` -> 0).
    relation : str
        ``"="`` for an ordinary rounded number, else ``"<"``, ``"<="``, ``">"``, ``">="``.
    """

    text: str
    value: float
    decimals: int
    relation: str = "="

    @property
    def half_unit(self) -> float:
        """Half a unit in the last printed place: the rounding radius of the printing."""
        return 0.5 * 10.0 ** (-self.decimals)

    @property
    def bounds(self) -> tuple[float, float]:
        """The closed interval of values this printing stands for."""
        if self.relation == "=":
            return self.value - self.half_unit, self.value + self.half_unit
        if self.relation in ("<", "<="):
            return -math.inf, self.value
        return self.value, math.inf

    def matches(self, x: float) -> bool:
        """True when the real value ``x`` would be printed as this text (see module docstring)."""
        if x is None or not math.isfinite(x):
            return False
        slack = REL_TOL * max(1.0, abs(x))
        if self.relation == "=":
            return abs(x - self.value) <= self.half_unit + slack
        if self.relation == "<":
            return x < self.value + slack
        if self.relation == "<=":
            return x <= self.value + slack
        if self.relation == ">":
            return x > self.value - slack
        return x >= self.value - slack

    def is_tie(self, x: float) -> bool:
        """True when ``x`` lies on a rounding tie at this precision (half-up and half-even
        differ)."""
        if self.relation != "=" or not math.isfinite(x):
            return False
        scaled = x * 10.0**self.decimals
        frac = scaled - math.floor(scaled)
        return abs(frac - 0.5) <= REL_TOL * max(1.0, abs(scaled))

    def is_truncation_of(self, x: float) -> bool:
        """True when the printing is ``x`` cut (not rounded) to the printed decimals."""
        if self.relation != "=" or not math.isfinite(x):
            return False
        scale = 10.0**self.decimals
        cut = math.floor(abs(x) * scale * (1 + REL_TOL)) / scale
        return abs(math.copysign(cut, x) - self.value) <= REL_TOL * max(1.0, abs(x))

    def format(self, x: float) -> str:
        """``x`` formatted at this printing's precision (how the paper would have printed it)."""
        if x is None or not math.isfinite(x):
            return "NA"
        return f"{x:.{self.decimals}f}"

    def __str__(self) -> str:
        return self.text


def parse_printed(text: str, *, allow_relation: bool = False) -> Printed:
    """Parse a printed number; raises ``ValueError`` with a readable reason when it is not one.

    ``allow_relation`` admits a leading ``<``, ``<=``, ``>``, ``>=`` (p-values printed as bounds).
    """
    raw = str(text).strip()
    if raw.endswith("%"):
        raise ValueError(f"{raw!r} has a percent sign; give the number without it")
    if "," in raw:
        raise ValueError(f"{raw!r} has a comma; use a point as the decimal separator")
    match = _NUMBER.match(raw)
    if not match:
        raise ValueError(f"{raw!r} is not a number")
    relation = _RELATIONS[match.group("rel")]
    if relation != "=" and not allow_relation:
        raise ValueError(f"{raw!r}: a bound ({match.group('rel')}) is only allowed for p-values")
    num = match.group("num")
    decimals = len(num.split(".", 1)[1]) if "." in num else 0
    return Printed(raw, float(num), decimals, relation)


def printings_agree(a: Printed, b: Printed) -> bool:
    """True when two printings could stand for the same real value.

    Printed to the same precision they must be equal; otherwise their rounding intervals must
    overlap: ``"13.3"`` and ``"13"`` agree (13.3 rounds to 13); ``"22"`` and ``"16"`` do not.
    """
    if a.relation == b.relation == "=" and a.decimals == b.decimals:
        return abs(a.value - b.value) <= REL_TOL * max(1.0, abs(a.value))
    lo_a, hi_a = a.bounds
    lo_b, hi_b = b.bounds
    slack = REL_TOL * max(1.0, abs(a.value), abs(b.value))
    return lo_a <= hi_b + slack and lo_b <= hi_a + slack


def format_number(x: float, digits: int = 4) -> str:
    """A compact text for a recomputed number in notes (``digits`` significant figures)."""
    if x is None or not math.isfinite(x):
        return "NA"
    return f"{x:.{digits}g}"
