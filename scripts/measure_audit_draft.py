"""Measure `bayes-anlo audit draft` on the three seed papers against the bundled hand extractions.

Prints, per paper and in all, the recall of the hand rows of the kinds the drafter recognises and
the share of drafted rows that are not in the hand extraction (an upper bound on drafted rows that
are not real statistics; see bayes_anlo.audit.draft_quality). Usage, from the repository root:

    .venv/bin/python scripts/measure_audit_draft.py [SEED_DIR] [--missed]

SEED_DIR holds the seed texts (default: tests/audit/fixtures/seeds, else /work/shared/seeds).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from bayes_anlo.audit import bundled_audit_path
from bayes_anlo.audit.draft import draft_extraction
from bayes_anlo.audit.draft_quality import compare_draft
from bayes_anlo.audit.paper_text import read_paper_text

#: bundled audit -> seed text file name
SEEDS = {
    "npc_qin2025": "000_8244fcdffbc92567.txt",
    "sarcoma_cai2022": "003_c39130c357ef1613.txt",
    "sarcoma_meta_li2025": "004_4467cdd37a5c6f82.txt",
}


def measure(seed_dir: Path) -> dict:
    out = {}
    for name, file in SEEDS.items():
        draft = draft_extraction(read_paper_text(seed_dir / file))
        hand = pd.read_csv(bundled_audit_path(name), dtype=str, keep_default_na=False)
        out[name] = compare_draft(draft, hand)
    return out


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    seed_dir = Path(args[0]) if args else Path("/work/shared/seeds")
    results = measure(seed_dir)
    hand = matched = drafted = not_real = cross = cross_matched = 0
    for name, q in results.items():
        print(f"{name}: {q.summary()}")
        print(q.by_kind.to_string(float_format=lambda x: f"{x:.1%}"))
        if "--missed" in argv:
            print(q.missed[["location", "check", "printed", "value", "lower", "upper"]].to_string())
            print(q.unmatched_draft[["location", "check", "printed", "value"]].to_string())
        hand, matched = hand + q.hand_rows, matched + q.matched
        own_rows = q.hand_rows - q.cross_references
        cross, cross_matched = cross + own_rows, cross_matched + round(q.recall_own * own_rows)
        drafted, not_real = drafted + q.draft_rows, not_real + q.not_real
    print(
        f"all three: recall {matched}/{hand} = {matched / hand:.1%} (without cross-references "
        f"{cross_matched}/{cross} = {cross_matched / cross:.1%}); drafted rows not in the hand "
        f"extractions {not_real}/{drafted} = {not_real / drafted:.1%}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
