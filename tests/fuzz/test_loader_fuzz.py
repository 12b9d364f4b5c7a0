"""Property-based fuzzing of every CSV loader through the CLI (issue 11, item 2).

Generated valid files of each format (binary outcomes, patient data, digitised KM coordinates,
numbers at risk, published summaries, audit extractions) and corruptions of them (CR-only and mixed
line endings, NUL bytes, byte-order marks, bad numbers, stray quotes, truncation, random bytes and
text, huge cells, trailing empty columns, semicolons, duplicated rows, non-UTF-8 bytes) are run
through ``bayes-anlo validate --kind ...``, ``rates`` and ``audit`` in-process. Each must

* end with its documented status: 0 (valid), 1 (``audit`` flagged a printed number), 2 (bad
  input), never an uncaught exception (the console script would print a traceback);
* on status 2, print only ``error:``/``warning:`` lines, each located as ``FILE:ROW:COLUMN: ``
  (or ``FILE:ROW: ``, ``FILE: COLUMN: ``, ``FILE: ``; never an empty ``::``) with a row that exists
  in the file;
* finish within :data:`HANG_SECONDS` (a guard against hangs, not a speed test).

Valid files must load (status 0), and keep loading the same rows with other line endings and
byte-order marks; one bad number put into a valid file must be reported at its row and column.

Examples are derandomised (the same on every run). ``BAYES_ANLO_FUZZ=long`` runs many more per
property; ``make test-slow`` runs the long mode through :func:`test_long_fuzz_run`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_anlo.cli import app
from tests.fuzz.strategies import BAD_NUMBERS, FORMATS, binary_csv, corrupted

LONG = os.environ.get("BAYES_ANLO_FUZZ") == "long"
#: Examples per property: small in the default suite (it runs on 2 shared cores), large in long
#: mode.
EXAMPLES = 600 if LONG else 25
#: No single CLI call on these small files may take longer (a hang guard, generous for a busy
#: machine).
HANG_SECONDS = 60

settings.register_profile(
    "loader-fuzz",
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
FUZZ = settings.get_profile("loader-fuzz")
EXPECTED_STATUS = {"validate": {0, 2}, "rates": {0, 2}, "audit": {0, 1, 2}}
LOCATION = re.compile(r"(?::(?P<row>\d+)(?::(?P<column>.+?))?|: (?P<only_column>.+?))?: \S")

runner = CliRunner()


@contextmanager
def hang_guard(seconds: int, what: str):
    """Fail (instead of blocking the suite) when a call does not return within ``seconds``."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expired(signum, frame):
        raise TimeoutError(f"{what} did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(args: list[str]):
    with hang_guard(HANG_SECONDS, " ".join(args)):
        result = runner.invoke(app, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"uncaught {type(result.exception).__name__} for {args}:\n{tb}")
    return result


def check_located(result, file: Path, data: bytes, command: str, what: str) -> None:
    """The documented status, and every stderr line an ``error:``/``warning:`` located in the
    file."""
    shown = (
        f"\ncorruption: {what}\nfile bytes: {data[:300]!r}\nexit {result.exit_code}"
        f"\nstderr:\n{result.stderr}"
    )
    assert result.exit_code in EXPECTED_STATUS[command], f"undocumented exit status{shown}"
    assert "Traceback" not in result.stderr + result.stdout, f"traceback{shown}"
    lines = result.stderr.splitlines()
    assert all(line.startswith(("error: ", "warning: ")) for line in lines), (
        f"unlabelled stderr line{shown}"
    )
    errors = [line for line in lines if line.startswith("error: ")]
    assert (result.exit_code == 2) == bool(errors), (
        f"exit 2 if and only if errors are printed{shown}"
    )
    n_lines = data.count(b"\n") + data.count(b"\r") + 2
    for line in errors:
        head = f"error: {file}"
        assert line.startswith(head), f"error does not name the file{shown}"
        match = LOCATION.match(line[len(head) :])
        assert match, f"error line is not located as FILE[:ROW[:COLUMN]]: {line!r}{shown}"
        if match.group("row"):
            assert 1 <= int(match.group("row")) <= n_lines, f"row outside the file: {line!r}{shown}"


def write(tmp_dir: Path, data: bytes) -> Path:
    path = tmp_dir / "input.csv"
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# ------------------------------------------------------------------------------------------
# valid files load, whatever their line endings and byte-order marks
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_valid_files_load_with_any_line_endings(kind, fuzz_dir):
    strategy, args = FORMATS[kind]

    @settings(FUZZ, max_examples=max(5, EXAMPLES // 3))
    @given(valid=strategy, ending=st.sampled_from(["\n", "\r\n", "\r"]), boms=st.integers(0, 2))
    def check(valid, ending, boms):
        text, n_rows = valid
        data = "\ufeff".encode() * boms + text.replace("\n", ending).encode("utf-8")
        path = write(fuzz_dir, data)
        result = run_cli([a.replace("{file}", str(path)) for a in args])
        assert result.exit_code == 0, f"a valid {kind} file was refused:\n{text}\n{result.stderr}"
        if kind in ("binary", "ipd", "km", "risk", "summaries"):
            count = int(re.search(r"OK \((\d+)", result.stdout).group(1))
            expected = n_rows if kind != "km" else None
            if expected is not None:
                assert count == expected, f"{count} rows loaded, {n_rows} written:\n{result.stdout}"

    check()


# ------------------------------------------------------------------------------------------
# corrupted files: a documented status and located messages, never a traceback or a hang
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_corrupted_files_end_with_a_documented_status(kind, fuzz_dir):
    strategy, args = FORMATS[kind]
    command = args[0]

    @FUZZ
    @given(st.data())
    def check(data):
        text, _ = data.draw(strategy, label="valid file")
        raw, what = data.draw(corrupted(text.encode("utf-8")), label="corruption")
        path = write(fuzz_dir, raw)
        result = run_cli([a.replace("{file}", str(path)) for a in args])
        check_located(result, path, raw, command, what)

    check()


@settings(FUZZ, max_examples=max(3, EXAMPLES // 10))
@given(data=st.data())
def test_rates_on_corrupted_binary_files(data, tmp_path_factory):
    """`rates` reads the same files: status 0 or 2 with located errors (the analysis itself is
    the exact engine, so each valid example costs well under a second)."""
    text, _ = data.draw(binary_csv(), label="valid file")
    raw, what = data.draw(corrupted(text.encode("utf-8")), label="corruption")
    path = write(tmp_path_factory.mktemp("rates"), raw)
    result = run_cli(["rates", str(path), "--outcome", "ORR", "--json"])
    check_located(result, path, raw, "rates", what)


# ------------------------------------------------------------------------------------------
# one bad number is reported at its own row and column
# ------------------------------------------------------------------------------------------
@FUZZ
@given(
    valid=binary_csv(),
    bad=st.sampled_from([b for b in BAD_NUMBERS if b.strip() and b != "1e-400"]),
    data=st.data(),
)
def test_a_bad_count_is_reported_at_its_cell(valid, bad, data, tmp_path_factory):
    text, n_rows = valid
    lines = text.splitlines()
    index = data.draw(st.integers(1, n_rows), label="data row")
    column = data.draw(st.sampled_from(["events", "n"]), label="column")
    import csv
    import io

    records = list(csv.reader(io.StringIO(text)))
    records[index][records[0].index(column)] = bad
    from tests.fuzz.strategies import to_csv

    raw = to_csv(records[0], records[1:]).encode("utf-8")
    assert len(lines) == n_rows + 1
    path = write(tmp_path_factory.mktemp("cell"), raw)
    result = run_cli(["validate", str(path)])
    assert result.exit_code == 2, (
        f"{bad!r} in row {index + 1}, column {column} was accepted:\n{result.stdout}"
    )
    expected = f"error: {path}:{index + 1}:{column}: "
    assert any(line.startswith(expected) for line in result.stderr.splitlines()), (
        f"no error located at row {index + 1}, column {column} for {bad!r}:\n{result.stderr}"
    )


# ------------------------------------------------------------------------------------------
# a few through the real console script, and the long mode
# ------------------------------------------------------------------------------------------
CONSOLE_SCRIPT = Path(sys.executable).with_name("bayes-anlo")


@pytest.mark.skipif(
    not CONSOLE_SCRIPT.exists(), reason="console script bayes-anlo is not installed"
)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_console_script_refuses_a_fifo(tmp_path):
    """A FIFO would block a reader forever: it is refused before it is opened (exit 2, no hang)."""
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [str(CONSOLE_SCRIPT), "validate", str(fifo)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {fifo}: ") and "regular file" in proc.stderr, proc.stderr


def test_cr_only_file_with_a_nul_byte_is_located(tmp_path):
    bad = tmp_path / "mac.csv"
    bad.write_bytes(b"study,outcome,events,n\rA,ORR,3,10\rB,ORR,4\x00,12\r")
    result = run_cli(["validate", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {bad}:3:events: ") and "NUL" in result.stderr, (
        result.stderr
    )


@pytest.mark.slow
def test_long_fuzz_run():
    """`make test-slow`: this module again with ``BAYES_ANLO_FUZZ=long`` (600 examples per
    property)."""
    env = {**os.environ, "BAYES_ANLO_FUZZ": "long"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(Path(__file__)),
            "-q",
            "-p",
            "no:randomly",
            "-n",
            "0",
            "-m",
            "not slow",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
