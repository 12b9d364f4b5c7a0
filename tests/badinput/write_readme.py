"""Rewrite the case tables of README.md from cases.toml (run after adding cases):

    .venv/bin/python tests/badinput/write_readme.py

The text before the first ``## `` heading is kept; one table per format follows, in the order of
:data:`SECTIONS`. ``test_readme_lists_every_case`` checks that no case is left out.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = {
    "b": "Binary-outcome CSV (bayes_anlo/data/binary.py, bayes_anlo/data/csv_reader.py)",
    "s": "Analysis specs (bayes_anlo/spec.py, pipeline)",
    "k": "Digitised Kaplan-Meier coordinates (bayes_anlo/data/survival.py)",
    "r": "Numbers at risk (bayes_anlo/data/survival.py)",
    "m": "Published survival summaries (bayes_anlo/data/survival.py)",
    "i": "Individual patient data (bayes_anlo/data/survival.py)",
    "a": "Audit extractions (bayes_anlo/audit/extraction.py)",
}


def location(case: dict) -> str:
    name = Path(case.get("expect_file", case["file"])).name
    row, column = (str(v[0] if isinstance(v, list) else v) for v in (case["row"], case["column"]))
    if row and column:
        return f"{name}:{row}:{column}:"
    if row:
        return f"{name}:{row}:"
    if column:
        return f"{name}: {column}:"
    return f"{name}:"


def expected(case: dict) -> str:
    if "row" not in case:
        return f"exit {case.get('exit', 2)}, no error" + (
            " (loads)" if case.get("exit", 2) == 0 else " (flagged)"
        )
    reason = case.get("reason", [])
    reasons = " ".join(f"*{r}*" for r in ([reason] if isinstance(reason, str) else reason))
    prefix = case.get("prefix", "error")
    extra = " (also via the console script)" if case.get("subprocess") else ""
    if case.get("sentinel"):
        extra += f" and `{case['sentinel']}` is never created"
    if case.get("absent"):
        extra += " and no " + ", ".join(repr(a) for a in case["absent"]) + " in the output"
    return f"{prefix}: `{location(case)}` … {reasons}{extra}"


def command(case: dict) -> str:
    return " ".join("FILE" if a == "{file}" else "OUT" if a == "{out}" else a for a in case["args"])


def tables(cases: list[dict]) -> str:
    out = []
    for group, title in SECTIONS.items():
        rows = [c for c in cases if c["id"][0] == group]
        out += [f"## {title}", "", "| case | input | command | expected |", "|---|---|---|---|"]
        out += [
            f"| `{c['id']}` | `{c['file']}`: {c['description'].replace('|', '/')} | `{command(c)}` "
            f"| {expected(c)} |"
            for c in rows
        ]
        out.append("")
    return "\n".join(out)


def main() -> None:
    cases = tomllib.loads((HERE / "cases.toml").read_text(encoding="utf-8"))["case"]
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    intro = readme[: readme.index("\n## ") + 1]
    (HERE / "README.md").write_text(intro + "\n" + tables(cases), encoding="utf-8")


if __name__ == "__main__":
    main()
