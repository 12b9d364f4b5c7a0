"""How the package's own processes end (bayes_anlo/process_exit.py) and what ``rates`` hides from
pandas (lazy_import.hide_pyarrow).

The console script and the run's helpers skip Python's teardown once their work is done: what
they printed must still arrive whole, with the same exit status, and a process that still has
work in another thread, or a Dask cluster, must end the normal way. Each check runs a fresh
interpreter (a subprocess): ``leave`` ends the process it runs in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bayes_anlo import cli
from bayes_anlo.process_exit import exit_status

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
RATES = ["rates", "examples/my_studies.csv", "--outcome", "ORR"]


def _console(
    *args: str,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    importtime: bool = False,
    env: dict | None = None,
    **popen,
):
    """The console's command line in a fresh interpreter; ``popen`` goes to ``subprocess.run``
    (``preexec_fn`` for a limit or a closed descriptor in the child)."""
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "-m", "bayes_anlo.cli", *args],
        stdout=stdout,
        stderr=stderr,
        text=True,
        cwd=ROOT,
        env=ENV if env is None else env,
        check=False,
        **popen,
    )


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        check=False,
    )


@pytest.mark.parametrize("extra", [[], ["--json"], ["--by", "subgroup", "--json"]])
def test_console_output_is_whole_through_a_pipe_and_a_file(tmp_path, extra):
    """What the console process prints is what the same command prints in this process."""
    expected = CliRunner().invoke(cli.app, [*RATES, *extra])
    assert expected.exit_code == 0
    piped = _console(*RATES, *extra)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == expected.stdout
    target = tmp_path / "out.txt"
    with target.open("w") as fh:
        written = _console(*RATES, *extra, stdout=fh)
    assert written.returncode == 0, written.stderr
    assert target.read_text() == expected.stdout
    if "--json" in extra:
        assert json.loads(target.read_text())


@pytest.mark.parametrize(
    ("args", "status", "stderr"),
    [
        (["rates", "no_such_file.csv", "--outcome", "ORR"], 2, "error: no_such_file.csv"),
        (["no-such-command"], 2, "error: No such command"),
        (["rates", "examples/my_studies.csv"], 2, "error: Missing option '--outcome'"),
        (["--help"], 0, ""),
    ],
)
def test_console_exit_status_and_error_lines_are_kept(args, status, stderr):
    done = _console(*args)
    assert done.returncode == status
    assert stderr in done.stderr
    assert "Traceback" not in done.stderr


TEARDOWN_PROBE = (
    "import atexit, sys\n"
    "from bayes_anlo.process_exit import leave\n"
    "class Probe:\n"
    "    def __del__(self):\n"  # run when Python frees the module's globals at its teardown
    "        sys.stderr.write('teardown ran\\n')\n"
    "probe = Probe()\n"
    "atexit.register(lambda: sys.stderr.write('exit handler ran\\n'))\n"
    "sys.stdout.write('no newline, still buffered')\n"
)


def test_leave_runs_the_exit_handlers_skips_the_teardown_and_keeps_unflushed_output():
    done = _python(TEARDOWN_PROBE + "leave(4)\n")
    assert done.returncode == 4
    assert done.stdout == "no newline, still buffered"
    assert "exit handler ran" in done.stderr
    assert "teardown ran" not in done.stderr
    # the probe can tell: Python's own exit does free the module's globals
    normal = _python(TEARDOWN_PROBE + "sys.exit(4)\n")
    assert normal.returncode == 4
    assert "exit handler ran" in normal.stderr and "teardown ran" in normal.stderr


def test_main_raises_system_exit_and_leaves_the_caller_in_control(monkeypatch, capsys):
    """``cli.main`` is for a caller in its own process (a script, a notebook): it must not end
    that process; only the console script (``cli.console_script``) leaves at once."""
    before = sys.stdout
    monkeypatch.setattr(sys, "argv", ["bayes-anlo", "datasets"])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 0
    assert sys.stdout is before
    assert "sarcoma_literature_abstracts" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["bayes-anlo", "no-such-command"])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 2


def test_leave_waits_for_a_thread_that_still_works(tmp_path):
    marker = tmp_path / "written-by-the-thread"
    done = _python(
        "import threading, time\n"
        "from pathlib import Path\n"
        "from bayes_anlo.process_exit import can_leave_at_once, leave\n"
        "def work():\n"
        "    time.sleep(0.5)\n"
        f"    Path({str(marker)!r}).write_text('done')\n"
        "threading.Thread(target=work).start()\n"
        "assert not can_leave_at_once()\n"
        "leave(5)\n"
    )
    assert done.returncode == 5, done.stderr
    assert marker.read_text() == "done"


def test_a_process_with_dask_ends_the_normal_way():
    pytest.importorskip("dask")
    done = _python(
        "import atexit, sys, dask\n"
        "from bayes_anlo.process_exit import can_leave_at_once, leave\n"
        "atexit.register(lambda: print('teardown ran', file=sys.stderr))\n"
        "assert not can_leave_at_once()\n"
        "leave(3)\n"
    )
    assert done.returncode == 3
    assert "teardown ran" in done.stderr


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (3, 3)])
def test_exit_status_of_system_exit_codes(code, status):
    assert exit_status(code) == status


def test_a_message_code_is_printed_and_gives_status_1(capsys):
    assert exit_status("went wrong") == 1
    assert capsys.readouterr().err == "went wrong\n"


def test_console_rates_loads_no_pyarrow_and_prints_the_same():
    """pandas imports pyarrow whenever it is installed; the console ``rates`` hides it first."""
    pytest.importorskip("pyarrow")
    done = _console(*RATES, "--json", importtime=True)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "pandas" in imported
    # a hidden package still shows as one failed look-up ("pyarrow"), never its modules
    assert not any(name.startswith("pyarrow.") for name in imported)
    assert done.stdout == CliRunner().invoke(cli.app, [*RATES, "--json"]).stdout


def test_hide_pyarrow_acts_only_before_pandas_is_imported():
    pytest.importorskip("pyarrow")
    done = _python(
        "import sys\n"
        "from bayes_anlo.lazy_import import hide_pyarrow\n"
        "assert hide_pyarrow()\n"
        "import pandas as pd\n"
        "frame = pd.DataFrame({'study': ['a', 'b'], 'events': [1, 2]})\n"
        "assert frame['events'].sum() == 3 and frame['study'].dtype == object\n"
        "assert sys.modules['pyarrow'] is None\n"
    )
    assert done.returncode == 0, done.stderr
    done = _python(
        "import sys, pandas\n"
        "from bayes_anlo.lazy_import import hide_pyarrow\n"
        "assert not hide_pyarrow()\n"
        "assert sys.modules['pyarrow'] is not None\n"
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize(
    ("args", "encoding"),
    [(RATES, None), ([*RATES, "--json"], None), (["datasets"], None), (["datasets"], "ascii")],
)
def test_a_full_disk_under_the_output_is_one_error_line_and_status_2(args, encoding):
    """Also with an ASCII stdout, which click writes to through its binary buffer."""
    env = {**ENV, "PYTHONIOENCODING": encoding} if encoding else ENV
    with open("/dev/full", "w") as full:
        done = _console(*args, stdout=full, env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: standard output could not be written: No space left on device"
    ]


def test_a_reader_that_stops_reading_gives_status_1_without_a_traceback():
    process = subprocess.Popen(
        [sys.executable, "-m", "bayes_anlo.cli", *RATES, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=ENV,
    )
    process.stdout.close()  # before the command writes anything: its write meets a closed pipe
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert b"Traceback" not in err and b"Error" not in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_with_stderr_on_the_full_disk_too_the_status_still_says_so():
    with open("/dev/full", "w") as full:
        done = _console("datasets", stdout=full, stderr=full)
    assert done.returncode == 2


def test_bad_input_with_stderr_on_a_full_disk_is_still_status_2():
    """Found by the differential test of the command line: the error line could not be written,
    and that second error ended the process with 1, as if the command had flagged something."""
    with open("/dev/full", "w") as full:
        done = _console("rates", "/nonexistent.csv", "--outcome", "ORR", stderr=full)
    assert done.returncode == 2


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(
    "args",
    [
        ["run", "models/hcc_pd1_example.toml", "--fast", "--out", "/proc/nope/x"],
        ["run", "models/hcc_pd1_example.toml", "--fast", "--out", "/proc/x"],
        ["design", "--prior", "beta(1, 1)", "--n", "40", "--criterion", "0.2:0.9"]
        + ["--out", "/proc/nope/x"],
    ],
)
def test_an_out_folder_that_cannot_be_created_is_exit_2_with_its_path(args, monkeypatch):
    """Found by the hostile test: a folder the file system refuses to create (/proc) passed the
    --out check and escaped as FileNotFoundError with a traceback (exit 1)."""
    monkeypatch.chdir(ROOT)
    done = CliRunner().invoke(cli.app, args)
    assert done.exit_code == 2, done.output
    assert "could not be written: no such file or directory" in done.stderr
    assert done.exception is None or isinstance(done.exception, SystemExit)


def _limited_output(limit: int):
    """A preexec_fn: files this process writes may not grow beyond ``limit`` bytes."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.skipif(sys.platform != "linux", reason="file-size limits as on Linux")
@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_output_cut_by_a_file_size_limit_is_an_error_not_status_0(tmp_path, unbuffered):
    """Found by the hostile test: with PYTHONUNBUFFERED=1 (common in containers) a text stream
    sits straight on the file, and a short write's remainder was dropped: a 1 KiB limit left
    1024 bytes of the JSON and exit status 0. Now the rest is written or the error is said."""
    target = tmp_path / "out.json"
    env = {**ENV, "PYTHONUNBUFFERED": unbuffered}
    with target.open("w") as fh:
        done = _console(*RATES, "--json", stdout=fh, env=env, preexec_fn=_limited_output(1024))
    assert target.stat().st_size == 1024  # the command's JSON is longer than the limit
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: standard output could not be written: File too large"
    ]


@pytest.mark.skipif(sys.platform != "linux", reason="closes a descriptor in the child")
@pytest.mark.parametrize("args", [RATES, ["datasets"]])
def test_a_closed_standard_output_is_an_error_not_silence(args):
    """Found by the hostile test: ``bayes-anlo rates ... >&-`` printed nothing and exited 0
    (Python has no sys.stdout then, and click's echo prints to nothing)."""
    done = _console(*args, stdout=None, preexec_fn=lambda: os.close(1))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: standard output could not be written: Bad file descriptor (standard output is "
        "closed)"
    ]


def test_unbuffered_output_through_a_pipe_is_whole_and_line_by_line():
    """The buffered writer put under an unbuffered stdout keeps the output as it was."""
    expected = CliRunner().invoke(cli.app, [*RATES, "--by", "subgroup"]).stdout
    done = _console(*RATES, "--by", "subgroup", env={**ENV, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 0 and done.stdout == expected


def test_ctrl_c_in_any_command_is_status_130_with_one_line(monkeypatch):
    """click turns a KeyboardInterrupt inside a command into Abort; the console says
    ``interrupted`` and ends with 128 + SIGINT, as ``run`` does, not ``aborted`` with 1."""
    import bayes_anlo.quick

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bayes_anlo.quick, "quick_rates", interrupted)
    result = CliRunner().invoke(cli.app, RATES)
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines() == ["error: interrupted"]


class _OnTerminal:
    """A command line in a new session with stderr on a pseudo-terminal, as in a user's shell:
    the progress bar then redraws after every finished task (to a pipe it writes a line per
    tenth of the tasks)."""

    def __init__(self, *args: str, env: dict | None = None):
        import pty

        self.leader, follower = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**ENV, "BAYES_ANLO_PROGRESS": "1", **(env or {})},
            stdout=subprocess.PIPE,
            stderr=follower,
            start_new_session=True,
        )
        os.close(follower)
        self.err = b""

    def _read(self) -> bytes:
        try:
            return os.read(self.leader, 65536)
        except OSError:  # EIO: every process holding the terminal has ended
            return b""

    def until(self, pattern: bytes) -> None:
        """Read stderr until ``pattern`` (a regular expression) appears in it."""
        import re

        while not re.search(pattern, self.err):
            chunk = self._read()
            assert chunk, self.err.decode()
            self.err += chunk

    def rest(self, errors: str = "strict") -> str:
        """All of stderr, once the command has ended."""
        while chunk := self._read():
            self.err += chunk
        os.close(self.leader)
        return self.err.decode(errors=errors)


def test_ctrl_c_while_the_run_helpers_start_is_one_line_from_the_run_alone(tmp_path):
    """Ctrl-C right after ``run`` started its helpers (figure workers, tree writer), while they
    import their stack: each used to print a KeyboardInterrupt traceback of its own (they
    ignore SIGINT only once they serve). They now run in process groups of their own
    (child_process.start); the run ends them."""
    import signal
    import time

    from tests.pipeline.conftest import CSV, SPEC

    (tmp_path / "studies.csv").write_text(CSV)
    (tmp_path / "spec.toml").write_text(SPEC)
    command = _OnTerminal(
        *[
            "-m",
            "bayes_anlo.cli",
            "run",
            str(tmp_path / "spec.toml"),
            "--out",
            str(tmp_path / "out"),
        ],
        env={"BAYES_ANLO_FIGURE_WORKERS": "1"},
    )
    command.until(rb"\[1/2\] orr")  # the helpers have just been started
    time.sleep(0.5)  # they import their stack for a second or more
    os.killpg(command.proc.pid, signal.SIGINT)
    command.proc.communicate(timeout=60)
    text = command.rest()
    assert command.proc.returncode == 130, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert "interrupted: nothing was written" in text.strip().splitlines()[-1], text
    assert not (tmp_path / "out").exists()


def test_sigint_to_a_study_ends_it_with_status_130(tmp_path):
    """A real Ctrl-C (SIGINT to the process group) while a serial study computes, once its first
    block has finished (stderr is a pseudo-terminal, so the progress bar shows every block). If
    the command is still running 60 s later, faulthandler's dump of its threads (on SIGABRT)
    is the failure message: where the interrupt was lost (seen twice in full local suite runs,
    the study computing on after the signal, never when the test runs alone)."""
    import signal

    command = _OnTerminal(
        *["-X", "faulthandler", "-m", "bayes_anlo.cli", "study", "coverage", "--quick"],
        *["--replicates", "400", "--no-cache", "--out", str(tmp_path / "out")],
    )
    proc = command.proc
    command.until(rb"\] [1-9]\d*/64")  # the first block has finished
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        proc.communicate()
        pytest.fail("still running 60 s after SIGINT:\n" + command.rest("replace"))
    text = command.rest()
    assert out.startswith(b"coverage:"), out
    assert proc.returncode == 130, text
    assert text.strip().splitlines()[-1] == "error: interrupted", text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    "args",
    [
        ["rates", "{long}", "--outcome", "ORR"],
        ["audit", "{long}"],
        ["audit", "pooled", "{long}", "--printed", "8.8% (6.2-11.7%)"],
        ["map", "{long}", "--outcome", "ORR"],
        ["run", "{long}", "--out", "{tmp}/run"],
        ["sweep", "{long}", "--analysis", "x"],
        ["design", "--prior", "{long}", "--n", "10", "--criterion", "0.2:0.9"],
    ],
)
def test_a_path_the_system_refuses_is_one_error_line_and_status_2(tmp_path, args):
    """Found by the differential test of the command line: a file name longer than the file
    system allows (ENAMETOOLONG from a loader's ``exists()``) ended in a traceback, exit 1."""
    long = str(tmp_path / ("a" * 300 + ".csv"))
    args = [a.format(long=long, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {long}: File name too long"], result.stderr


def test_a_negative_map_seed_is_a_usage_error():
    result = CliRunner().invoke(
        cli.app,
        ["map", "examples/design/ankylosing_spondylitis_placebo.csv", "--outcome", "ASAS20"]
        + ["--seed", "-1"],
    )
    assert result.exit_code == 2, result.output
    assert "--seed" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    "args, option",
    [
        (["design", "--prior", "beta(1, 1)", "--n", "٤٠", "--criterion", "0.2:0.9"], "--n"),
        (["design", "--prior", "beta(1, 1)", "--n", "４０", "--criterion", "0.2:0.9"], "--n"),
        (
            ["map", "examples/design/ankylosing_spondylitis_placebo.csv", "--outcome", "ASAS20"]
            + ["--robust-weight", "٠.٢"],
            "--robust-weight",
        ),
        (["study", "sbc", "--datasets", "２", "--out", "{tmp}/sbc"], "--datasets"),
        (["cache", "--cache-dir", ""], "--cache-dir"),
        (["run", "", "--out", "{tmp}/run"], "SPEC"),
    ],
)
def test_numbers_take_ascii_digits_and_paths_are_not_empty(tmp_path, args, option):
    """As the CSV loaders do: Arabic-Indic or full-width digits are not read as numbers (click's
    int() and float() would), and an empty path is not the working directory."""
    result = CliRunner().invoke(cli.app, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: Invalid value for") and option in line, line


@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_name_the_output_encoding_lacks_is_escaped_not_a_crash(tmp_path, unbuffered):
    """A file named in Chinese on a Latin-1 terminal: the table is printed, the name's
    characters as escapes (as Python writes stderr). The output used to end in a
    UnicodeEncodeError traceback after the work was done."""
    source = tmp_path / "études_中文.csv"
    source.write_bytes((ROOT / "examples" / "my_studies.csv").read_bytes())
    env = {**ENV, "PYTHONIOENCODING": "latin-1"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "bayes_anlo.cli", "rates", str(source), "--outcome", "ORR"],
        capture_output=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("latin-1")
    assert b"Traceback" not in done.stderr
    first = done.stdout.decode("latin-1").splitlines()[0]
    assert first.endswith("tudes_\\u4e2d\\u6587.csv: ORR, k = 8 studies, 49/429 patients")
    assert "\xe9tudes" in first  # é is Latin-1: written as itself
    assert "\nBayes beta-binomial (exact)" in done.stdout.decode("latin-1")  # printed to the end


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_to_a_study_on_a_local_cluster_ends_every_process_quietly(tmp_path, signame):
    """A real Ctrl-C (SIGINT to the whole process group, as a terminal sends it), or SIGTERM to
    the command alone, while a local Dask cluster computes. Ctrl-C: status 130 and the
    command's one line; each worker used to print a KeyboardInterrupt traceback of its own
    (ignoring the signal instead left a busy worker to be killed 4 s later with a warning).
    SIGTERM: the command ends by the signal, as before, but its workers no longer outlive it
    printing tracebacks about their lost connections, and it closes the cluster first (ending at
    once left Python's resource_tracker to warn of leaked semaphores, every time).

    stderr is a pseudo-terminal, as in a user's shell: the progress bar then redraws after every
    finished task (to a pipe the first tenth of 3000 datasets took 13 s more to come)."""
    import signal
    import time

    command = _OnTerminal(
        *["-m", "bayes_anlo.cli", "study", "sbc", "beta_binomial_exact", "--datasets", "3000"],
        *["--workers", "2", "--no-cache", "--out", str(tmp_path / "out")],
    )
    proc = command.proc
    command.until(rb"\] [1-9]\d*/3000")  # the workers have finished a task
    assert proc.poll() is None, command.err.decode()
    if signame == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=60)
    text = command.rest()
    if signame == "SIGINT":
        assert proc.returncode == 130, text
        assert text.strip().splitlines()[-1] == "error: interrupted", text
    else:
        assert proc.returncode == -signal.SIGTERM, text
    for noise in ("Traceback", "KeyboardInterrupt", "distributed.", " - WARNING - ", "leaked"):
        assert noise not in text, text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # no worker outlives the command
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("a process of the study's group is still running")
