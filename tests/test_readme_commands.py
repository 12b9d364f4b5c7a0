"""Every `bayes-anlo` command that README.md shows runs, with its documented exit status.

The commands are read from README's ```bash blocks (lines calling ``bayes-anlo`` or
``.venv/bin/bayes-anlo``) and run in a fresh temporary copy of the files they name (``examples/``,
``models/``), through the same entry point as the console script. The expected exit status is 0
unless the line's comment says ``exit N``; either way it must be one that README's command-line
table documents for that command, and nothing may print a traceback.

Left out, on purpose: ``make reanalysis`` and ``make test`` (they create a virtualenv and run the
whole suite: CI runs ``make test`` itself, and ``make reanalysis`` is the full ``run`` of
``models/sarcoma_meta_analysis.toml``), and the Python block (its NUTS fit is covered by the model
tests). Commands run exactly as shown: the quick start's ``run`` is a one-study conjugate spec that
takes seconds; a README ``run`` of a NUTS spec should show ``--fast``, the smoke mode, or this file
stops being quick.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bayes_anlo.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: What a README command may read, copied into the temporary working directory.
NEEDED = ("examples", "models")


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def readme_commands(text: str = README) -> list[tuple[list[str], int | None]]:
    """``(arguments after bayes-anlo, exit status named in the comment or None)`` per command."""
    found = []
    for block in bash_blocks(text):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            words = shlex.split(command)
            if not words or Path(words[0]).name != "bayes-anlo":
                continue
            status = re.search(r"\bexit (\d+)", comment)
            found.append((words[1:], int(status.group(1)) if status else None))
    return found


def documented_statuses(text: str = README) -> dict[str, set[int]]:
    """Command -> exit statuses listed in the last column of README's command-line table."""
    table = {}
    for line in text.splitlines():
        match = re.match(r"\|\s*`bayes-anlo (\w+)[^`]*`\s*\|.*\|\s*([^|]*)\|\s*$", line)
        if match:
            table[match.group(1)] = {int(x) for x in re.findall(r"\d+", match.group(2))}
    return table


COMMANDS = readme_commands()


def test_readme_shows_commands_and_documents_their_statuses():
    statuses = documented_statuses()
    assert {"validate", "datasets", "rates", "run", "audit", "sweep"} <= set(statuses)
    assert len(COMMANDS) >= 6
    for args, _ in COMMANDS:
        assert args[0] in statuses, (
            f"README shows `bayes-anlo {args[0]}` but its table does not document it"
        )


def test_parsers_read_what_they_should():
    text = (
        "| `bayes-anlo rates FILE` | quick | 0, 2 bad input |\n"
        "```bash\n.venv/bin/bayes-anlo rates x.csv --outcome ORR   # exit 2: why\nmake test\n```\n"
    )
    assert readme_commands(text) == [(["rates", "x.csv", "--outcome", "ORR"], 2)]
    assert documented_statuses(text) == {"rates": {0, 2}}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    base = tmp_path_factory.mktemp("readme")
    for name in NEEDED:
        shutil.copytree(ROOT / name, base / name)
    return base


@pytest.mark.parametrize(("args", "status"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS])
def test_readme_command_runs(args, status, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    if args[0] == "run" and "--out" in args:  # a fresh directory each time (a rerun is not --force)
        out = Path(args[args.index("--out") + 1])
        shutil.rmtree(workdir / out, ignore_errors=True)
    expected = 0 if status is None else status
    assert expected in documented_statuses()[args[0]]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code == expected, result.output[-3000:]
