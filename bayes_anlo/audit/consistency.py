"""The same quantity printed in several places (abstract, results text, table): do they agree?

Rows of an extraction with the same ``quantity`` (compared case- and space-insensitively) are one
group. Within a group every pair of rows is compared on the facets both print:

* counts and denominators (``count``, ``n``; a ``sum`` row's total and a ``count`` row's value
  are counts): equal as whole numbers;
* printed numbers of the same kind (percentage, interval bounds, p-value, median, I2...): the
  two printings must be able to stand for one real value, i.e. their rounding intervals overlap
  (``13.3`` agrees with ``13``; ``73.3`` does not agree with ``53.3``).

A group gives one ``consistency`` row: ``ok`` or ``inconsistent`` with the disagreements listed.
"""

from __future__ import annotations

from collections import defaultdict

from bayes_anlo.audit.checks import CheckOutcome
from bayes_anlo.audit.extraction import Item
from bayes_anlo.audit.printed import Printed, printings_agree

_VALUE_KIND = {
    "percent": "percent",
    "proportion_ci": "percent",
    "pvalue": "p",
    "ratio": "ratio",
    "mean": "mean",
    "estimate_ci": "estimate",
    "estimate": "estimate",
    "heterogeneity": "p (heterogeneity)",
}


def facets(item: Item) -> dict[str, int | Printed | tuple]:
    """The comparable facets an item prints: name -> whole number or :class:`Printed`."""
    out: dict = {}
    c = item.check
    if c in ("percent", "proportion_ci", "ratio"):
        out["count"], out["n"] = item.count, item.n
    elif c == "pvalue" and None not in (item.count, item.n, item.count2, item.n2):
        out["groups"] = (item.count, item.n, item.count2, item.n2)
    elif c in ("sum", "count") and item.value is not None and item.value.decimals == 0:
        out["count"] = int(item.value.value)
    if item.value is not None and c in _VALUE_KIND:
        out[_VALUE_KIND[c]] = item.value
    if item.lower is not None and c in ("proportion_ci", "estimate_ci"):
        out["lower bound"], out["upper bound"] = item.lower, item.upper
    if item.statistic is not None and c == "heterogeneity":
        out["I2"] = item.statistic
    return out


def _agree(a, b) -> bool:
    if isinstance(a, Printed) and isinstance(b, Printed):
        return printings_agree(a, b)
    return a == b


def _show(x) -> str:
    if isinstance(x, tuple):
        return f"{x[0]}/{x[1]} vs {x[2]}/{x[3]}"
    return str(x)


def group_key(quantity: str) -> str:
    return " ".join(quantity.lower().split())


def consistency_groups(items: tuple[Item, ...]) -> list[list[Item]]:
    """Groups of two or more items sharing a quantity, in order of first appearance."""
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        if item.check != "note":
            groups[group_key(item.quantity)].append(item)
    return [g for g in groups.values() if len(g) > 1]


def check_consistency(group: list[Item]) -> CheckOutcome:
    """Compare every pair of printings of one quantity (see module docstring)."""
    details = []
    disagreeing: dict[str, None] = {}
    compared: set[str] = set()
    all_facets = [facets(item) for item in group]
    for i, a in enumerate(group):
        for j in range(i + 1, len(group)):
            b = group[j]
            fa, fb = all_facets[i], all_facets[j]
            for name in sorted(fa.keys() & fb.keys()):
                if fa[name] is None or fb[name] is None:
                    continue
                compared.add(name)
                same = _agree(fa[name], fb[name])
                details.append(
                    {
                        "method": name,
                        "value": float("nan"),
                        "low": float("nan"),
                        "high": float("nan"),
                        "recomputed": (
                            f"{a.item_id} {_show(fa[name])} vs {b.item_id} {_show(fb[name])}"
                        ),
                        "match": same,
                    }
                )
                if not same:
                    disagreeing[name] = None
    if not compared:
        return CheckOutcome("unverifiable", (), "", "no facet printed in common", details)
    text = "compared " + ", ".join(sorted(compared))
    if disagreeing:
        notes = []
        for name in disagreeing:
            shown = [
                f"{item.location} {_show(f[name])}"
                for item, f in zip(group, all_facets, strict=True)
                if f.get(name) is not None
            ]
            notes.append(f"{name}: " + " / ".join(shown))
        return CheckOutcome("inconsistent", (), text, "; ".join(notes), details)
    return CheckOutcome("ok", ("consistent",), text, "", details)
