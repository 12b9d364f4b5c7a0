"""Record how long each test module takes, for the order in which ``make test`` hands modules to
its workers (tests/conftest.py: the longest first).

    .venv/bin/python -m pytest -n 2 --junitxml=/tmp/suite.xml
    .venv/bin/python scripts/module_seconds.py /tmp/suite.xml   # writes tests/module_seconds.json

Seconds are the sums of the junit report's test times (setup, call and teardown) per module.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "module_seconds.json"


def module_path(classname: str) -> str:
    """``tests.models.test_x.TestClass`` -> ``tests/models/test_x.py``."""
    parts = classname.split(".")
    last = max(i for i, part in enumerate(parts) if part.startswith("test_"))
    return "/".join(parts[: last + 1]) + ".py"


def module_seconds(junit: Path) -> dict[str, float]:
    seconds: Counter[str] = Counter()
    for case in ET.parse(junit).iter("testcase"):
        seconds[module_path(case.get("classname", ""))] += float(case.get("time", 0.0))
    return {name: round(value, 1) for name, value in sorted(seconds.items())}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    TARGET.write_text(json.dumps(module_seconds(Path(argv[0])), indent=1) + "\n")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
