"""How good is a drafted extraction? Compare it with a hand extraction of the same paper.

A drafted row and a hand row *match* when they are of the same kind (``percent``, ``interval`` =
``proportion_ci`` or ``estimate_ci``, ``pvalue``, ``heterogeneity``, ``ratio``, ``sum``) and print
the same numbers (value and, for intervals, both bounds; for heterogeneity, I2 and P; for a sum,
the total and the multiset of parts), and every count or denominator the draft filled equals the
hand row's. Each row matches at most once.

* **recall**: matched hand rows / hand rows of the kinds the drafter recognises (rows of other
  checks, ``estimate``, ``count``, ``at_most``, ``at_least``, ``mean``, ``note``, are reported
  apart and not counted);
  ``recall_own`` leaves out the hand rows that cross-reference two places (location ``X vs Y``:
  a count in the text checked against table cells), a judgement the drafter does not attempt;
* **not real**: drafted rows that match no hand row and print no number the hand extraction
  records under any check, as a share of all drafted rows. The hand extractions leave out some
  real statistics (other papers' results quoted in a discussion), so this is an upper bound on
  the share of drafted rows that are not statistics of the paper.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

KINDS = {
    "percent": "percent",
    "proportion_ci": "interval",
    "estimate_ci": "interval",
    "pvalue": "pvalue",
    "heterogeneity": "heterogeneity",
    "ratio": "ratio",
    "sum": "sum",
}


def _num(text: str) -> float | None:
    t = str(text).strip().lstrip("<>=≤≥ ").strip()
    try:
        return float(t)
    except ValueError:
        return None


def _p(text: str) -> tuple[str, float | None]:
    t = str(text).strip()
    rel = t[0] if t[:1] in "<>≤≥" else "="
    return rel, _num(t)


def _parts(text: str) -> tuple[float, ...]:
    sep = ";" if ";" in text else "+"
    out = []
    for part in str(text).split(sep):
        value = _num(part.rsplit("=", 1)[-1]) if part.strip() else None
        if value is not None:
            out.append(value)
    return tuple(sorted(out))


def match_key(row) -> tuple | None:
    """What a row prints, as a comparable key (``None`` for a check the drafter does not make)."""
    kind = KINDS.get(str(row["check"]).strip().lower())
    if kind is None:
        return None
    if kind == "percent" or kind == "ratio":
        return kind, _num(row["value"])
    if kind == "interval":
        return kind, _num(row["value"]), _num(row["lower"]), _num(row["upper"])
    if kind == "pvalue":
        return kind, _p(row["value"])
    if kind == "heterogeneity":
        return kind, _num(row["statistic"]), _p(row["value"])
    return kind, _num(row["value"]), _parts(row["components"])


def _table_of(location: str) -> str:
    """``"Table 7"`` for a location in Table 7, ``""`` for running text."""
    m = re.match(r"\s*(table\s+\w+)", str(location), re.IGNORECASE)
    return " ".join(m.group(1).lower().split()) if m else ""


def _counts_agree(draft_row, hand_row) -> bool:
    for column in ("count", "n"):
        d = str(draft_row.get(column, "")).strip()
        if d and d != str(hand_row.get(column, "")).strip():
            return False
    return True


@dataclass(frozen=True)
class DraftQuality:
    """The comparison of a draft with a hand extraction (see the module docstring)."""

    recall: float
    #: recall without the hand rows that cross-reference places (location "X vs Y": a count in
    #: the text checked against table cells), which the drafter does not attempt
    recall_own: float
    cross_references: int
    not_real_share: float
    hand_rows: int
    matched: int
    draft_rows: int
    not_real: int
    by_kind: pd.DataFrame
    missed: pd.DataFrame
    unmatched_draft: pd.DataFrame

    def summary(self) -> str:
        return (
            f"recall {self.matched}/{self.hand_rows} = {self.recall:.1%} ({self.recall_own:.1%} "
            f"without {self.cross_references} cross-references); drafted rows not in "
            f"the hand extraction {self.not_real}/{self.draft_rows} = {self.not_real_share:.1%}"
        )


def compare_draft(draft: pd.DataFrame, hand: pd.DataFrame) -> DraftQuality:
    """Compare a drafted extraction with a hand extraction (both as extraction tables)."""
    draft = draft.fillna("").astype(str)
    hand = hand.fillna("").astype(str)
    free: dict[tuple, list[int]] = defaultdict(list)
    for i, row in draft.iterrows():
        key = match_key(row)
        if key is not None:
            free[key].append(i)
    used: set[int] = set()
    matched_hand: list[bool] = []
    kinds: list[str] = []
    for _, row in hand.iterrows():
        key = match_key(row)
        kinds.append(key[0] if key else str(row["check"]))
        if key is None:
            matched_hand.append(False)
            continue
        candidates = [i for i in free.get(key, []) if i not in used]
        exact = [i for i in candidates if _counts_agree(draft.loc[i], row)]
        place = _table_of(row["location"])
        exact.sort(key=lambda i: _table_of(draft.at[i, "location"]) != place)  # same table first
        pick = exact[0] if exact else None
        if pick is not None:
            used.add(pick)
        matched_hand.append(pick is not None)
    hand = hand.assign(kind=kinds, matched=matched_hand)
    recognised = hand[hand["kind"].isin(set(KINDS.values()))]
    other_values = {_num(v) for v in hand["value"]} - {None}
    unmatched = draft[~draft.index.isin(used)]
    real = unmatched["value"].map(_num).isin(other_values) & (unmatched["value"] != "")
    not_real = unmatched[~real]
    by_kind = (
        recognised.groupby("kind")["matched"]
        .agg(hand_rows="size", matched="sum")
        .assign(recall=lambda f: f["matched"] / f["hand_rows"])
    )
    n_hand, n_matched = len(recognised), int(recognised["matched"].sum())
    own = recognised[~recognised["location"].str.contains(r"\svs\.?\s", regex=True)]
    return DraftQuality(
        recall=n_matched / n_hand if n_hand else float("nan"),
        recall_own=float(own["matched"].mean()) if len(own) else float("nan"),
        cross_references=n_hand - len(own),
        not_real_share=len(not_real) / len(draft) if len(draft) else 0.0,
        hand_rows=n_hand,
        matched=n_matched,
        draft_rows=len(draft),
        not_real=len(not_real),
        by_kind=by_kind,
        missed=recognised[~recognised["matched"]].drop(columns=["kind", "matched"]),
        unmatched_draft=not_real,
    )


__all__ = ["DraftQuality", "KINDS", "compare_draft", "match_key"]
