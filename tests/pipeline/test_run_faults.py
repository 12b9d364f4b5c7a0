"""Faults around `bayes-anlo run`'s run directory (issue 11): concurrent runs, a folder created
mid-run, --force on a folder that is not a run, signals in each phase, a full disk, a read-only or
unusable destination, permissions. Each test asserts: nothing the user had is lost, nothing
half-written is left, and the CLI says what happened in one line (exit 2, or 128 + signal).

Runs use the one-analysis conjugate spec of conftest.py (exact engine). Signals: SIGTERM is sent
in-process (the run's handler turns it into an interrupt); SIGKILL needs a child process, which
pauses at a phase through monkeypatching done by a small driver script (no hooks in the product).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from click.testing import CliRunner

import bayes_anlo.pipeline.run as run_module
import bayes_anlo.pipeline.run_directory as run_directory
from bayes_anlo.cli import app
from bayes_anlo.errors import InputError
from bayes_anlo.outputs import check_output_path
from bayes_anlo.pipeline.run import run_spec
from bayes_anlo.pipeline.run_directory import recover_stale

ROOT = pathlib.Path(__file__).resolve().parents[2]


def digest(directory):
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def hidden_leftovers(parent, name="out"):
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def user_folder(path):
    path.mkdir(parents=True)
    (path / "thesis.tex").write_text("years of work")
    (path / "data").mkdir()
    (path / "data" / "patients.csv").write_text("id,age\n1,50\n")
    return digest(path)


def earlier_run(out):
    """A run directory as an earlier run left it (marker, report, a table); returns its digest."""
    (out / "tables").mkdir(parents=True)
    (out / "run.json").write_text(json.dumps({"format": run_directory.RUN_FORMAT, "seed": 1}))
    (out / "report.md").write_text("# an earlier run\n")
    (out / "tables" / "orr__posterior.csv").write_text("variable,median\npooled_rate,0.2\n")
    return digest(out)


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def no_fitting(monkeypatch):
    """Make any fit fail loudly: a destination check must come before the fitting."""

    def refuse(*args, **kwargs):
        raise AssertionError("fitting started before the destination was checked")

    monkeypatch.setattr(run_module, "run_analysis", refuse)


# ------------------------------------------------------------------------------------------
# concurrent runs and folders appearing mid-run
# ------------------------------------------------------------------------------------------
def test_second_run_finishing_first_is_not_replaced_by_the_first(
    small_spec_path, tmp_path, monkeypatch
):
    """Two runs to one --out: B starts and finishes while A computes; A must not replace B."""
    out = tmp_path / "out"
    real_audits = run_module.run_audits
    state = {"nested": False}

    def audits_with_a_concurrent_run(spec):
        if not state["nested"]:
            state["nested"] = True
            run_spec(small_spec_path, out, log=None)  # run B, complete, while run A is computing
        return real_audits(spec)

    monkeypatch.setattr(run_module, "run_audits", audits_with_a_concurrent_run)
    with pytest.raises(InputError, match="changed while this run was computing"):
        run_spec(small_spec_path, out, log=None)  # run A
    assert (out / "report.html").is_file() and json.loads((out / "run.json").read_text())["format"]
    assert hidden_leftovers(tmp_path) == []


def test_folder_created_at_out_while_computing_is_left_untouched(
    small_spec_path, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    before = {}

    def audits_and_a_user_creates_the_folder(spec):
        before.update(user_folder(out))
        return {}

    monkeypatch.setattr(run_module, "run_audits", audits_and_a_user_creates_the_folder)
    result = cli("run", small_spec_path, "--out", out)
    assert result.exit_code == 2, result.output
    assert (
        "changed while this run was computing" in result.stderr and "Traceback" not in result.stderr
    )
    assert digest(out) == before
    assert hidden_leftovers(tmp_path) == []


def test_forced_run_does_not_replace_a_folder_swapped_in_after_the_check(
    small_spec_path, tmp_path, monkeypatch
):
    """--force checked a run directory at start; by the end a user's folder stands there instead."""
    out = tmp_path / "out"
    earlier_run(out)
    before = {}

    def audits_and_a_swap(spec):
        shutil.rmtree(out)
        before.update(user_folder(out))
        return {}

    monkeypatch.setattr(run_module, "run_audits", audits_and_a_swap)
    with pytest.raises(InputError, match="changed while this run was computing"):
        run_spec(small_spec_path, out, force=True, log=None)
    assert digest(out) == before
    assert hidden_leftovers(tmp_path) == []


def test_exchange_that_displaced_a_different_folder_swaps_it_back(tmp_path):
    """The race between the final check and the exchange: the displaced folder is not the one
    checked at start, so the swap is undone."""
    checked = tmp_path / "out"
    checked.mkdir()
    (checked / "run.json").write_text(json.dumps({"format": run_directory.RUN_FORMAT}))
    identity = run_directory.Identity.of(checked)
    new = tmp_path / ".out.partial-1-x"
    new.mkdir()
    (new / "report.html").write_text("new")
    shutil.rmtree(checked)
    user_folder(checked)
    (checked / "run.json").write_text(
        json.dumps({"format": run_directory.RUN_FORMAT, "other": "run"})
    )
    before = digest(checked)
    with pytest.raises(InputError, match="changed while"):
        run_directory.place(new, checked, identity)
    assert digest(checked) == before and not new.exists()


# ------------------------------------------------------------------------------------------
# --force only on run directories
# ------------------------------------------------------------------------------------------
def test_force_on_a_folder_that_is_not_a_run_exits_2_and_keeps_it(
    small_spec_path, tmp_path, monkeypatch
):
    no_fitting(monkeypatch)
    project = tmp_path / "project"
    before = user_folder(project)
    result = cli("run", small_spec_path, "--out", project, "--force")
    assert result.exit_code == 2, result.output
    assert (
        result.stderr.startswith(f"error: {project}:")
        and "not a bayes_anlo run directory" in result.stderr
    )
    assert digest(project) == before


def test_force_on_a_folder_with_a_foreign_run_json_keeps_it(small_spec_path, tmp_path, monkeypatch):
    no_fitting(monkeypatch)
    project = tmp_path / "project"
    before = user_folder(project)
    (project / "run.json").write_text(json.dumps({"job": "someone else's tool"}))
    before = digest(project)
    result = cli("run", small_spec_path, "--out", project, "--force")
    assert result.exit_code == 2 and digest(project) == before


def test_force_replaces_a_run_directory_and_the_new_one_carries_the_marker(
    small_spec_path, tmp_path
):
    out = tmp_path / "out"
    run_spec(small_spec_path, out, log=None)
    first = json.loads((out / "run.json").read_text())
    (out / "notes.txt").write_text("added later")
    run_spec(small_spec_path, out, force=True, log=None)
    assert not (out / "notes.txt").exists()
    assert (
        json.loads((out / "run.json").read_text())["format"]
        == first["format"]
        == run_directory.RUN_FORMAT
    )
    assert hidden_leftovers(tmp_path) == []


# ------------------------------------------------------------------------------------------
# signals
# ------------------------------------------------------------------------------------------
def _terminate_self(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler raises before this returns
    raise AssertionError("SIGTERM was not handled")


@pytest.mark.parametrize("phase", ["run_analysis", "compose_report"])
def test_sigterm_while_fitting_or_writing_leaves_the_old_run_and_no_leftovers(
    small_spec_path, tmp_path, monkeypatch, phase
):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip(
            "signal handlers can only be installed in the main thread"
        )  # SIGTERM would kill the worker
    out = tmp_path / "out"
    before = earlier_run(out)
    monkeypatch.setattr(run_module, phase, _terminate_self)
    result = cli("run", small_spec_path, "--out", out, "--force")
    assert result.exit_code == 128 + signal.SIGTERM, result.output
    assert "interrupted" in result.stderr and "Traceback" not in result.stderr
    assert digest(out) == before
    assert hidden_leftovers(tmp_path) == []


def test_sigterm_during_the_rename_is_held_until_the_new_run_is_in_place(
    small_spec_path, tmp_path, monkeypatch
):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be installed in the main thread")
    out = tmp_path / "out"
    earlier_run(out)
    old_record = (out / "run.json").read_text()
    real_place = run_module.place

    def place_with_sigterm(*args):
        os.kill(os.getpid(), signal.SIGTERM)  # blocked while the run is put in place
        real_place(*args)

    monkeypatch.setattr(run_module, "place", place_with_sigterm)
    result = cli("run", small_spec_path, "--out", out, "--force")
    assert result.exit_code == 128 + signal.SIGTERM, result.output
    assert "interrupted after the run directory was complete" in result.stderr
    assert (out / "run.json").read_text() != old_record and (out / "report.html").is_file()
    assert hidden_leftovers(tmp_path) == []


def test_sigterm_handler_is_restored_after_a_run(small_spec_path, tmp_path):
    previous = signal.getsignal(signal.SIGTERM)
    run_spec(small_spec_path, tmp_path / "out", log=None)
    assert signal.getsignal(signal.SIGTERM) is previous


def test_leftovers_of_a_kill_between_the_renames_are_restored_on_the_next_start(tmp_path):
    """State after SIGKILL between the two renames of a --force run (where the atomic exchange is
    not available): DIR is gone, the old run sits in .DIR.old-PID-..., the new one in a partial."""
    out = tmp_path / "out"
    pid = dead_pid()
    old = tmp_path / f".out.old-{pid}-1700000000000"
    old.mkdir()
    (old / "run.json").write_text(json.dumps({"format": run_directory.RUN_FORMAT}))
    (old / "report.md").write_text("the previous run")
    before = digest(old)
    partial = tmp_path / f".out.partial-{pid}-abcd1234"
    partial.mkdir()
    (partial / "report.md").write_text("half")
    live = tmp_path / f".out.partial-{os.getpid()}-live0000"  # a run still in progress: kept
    live.mkdir()
    notes = []
    recover_stale(out, notes.append)
    assert digest(out) == before
    assert hidden_leftovers(tmp_path) == [live.name]
    assert any("restored" in n for n in notes) and any("removed" in n for n in notes)


def test_next_cli_start_cleans_stale_partials_with_a_message(small_spec_path, tmp_path):
    stale = tmp_path / f".out.partial-{dead_pid()}-abcd1234"
    stale.mkdir()
    (stale / "posterior.nc").write_bytes(b"half written")
    result = cli("run", small_spec_path, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert f"removed {stale}" in result.stderr
    assert hidden_leftovers(tmp_path) == []


DRIVER = textwrap.dedent('''
    """Run the CLI, pausing at a phase (by monkeypatching) so the test can kill this process."""
    import os, pathlib, sys, time
    import bayes_anlo.pipeline.run as run
    import bayes_anlo.pipeline.run_directory as rd
    from bayes_anlo.cli import main

    phase, ready = sys.argv[1], pathlib.Path(sys.argv[2])

    def pause():
        ready.write_text(str(os.getpid()))
        time.sleep(300)

    def pausing(function):
        def wrapper(*args, **kwargs):
            pause()
            return function(*args, **kwargs)
        return wrapper

    if phase == "fitting":
        run.run_analysis = pausing(run.run_analysis)
    elif phase == "writing":
        real = run.compose_report
        def compose_then_pause(spec, results, record, directory, audits):
            (directory / "report.md").write_text("half")
            pause()
        run.compose_report = compose_then_pause
    elif phase == "between-renames":
        rd._exchange = lambda a, b: False  # the two-rename path
        real_rename = os.rename
        def rename(src, dst):
            real_rename(src, dst)
            if ".old-" in os.fspath(dst):
                pause()
        rd.os.rename = rename
    sys.argv = ["bayes-anlo", *sys.argv[3:]]
    main()
''')


def kill_at(phase, sig, small_spec_path, out, tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    ready = tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [
            sys.executable,
            str(driver),
            phase,
            str(ready),
            "run",
            str(small_spec_path),
            "--out",
            str(out),
            "--force",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 400
    while not ready.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"child never reached {phase}: {child.communicate()[1][-2000:]}")
        time.sleep(0.2)
    child.send_signal(sig)
    _, stderr = child.communicate(timeout=120)
    return child.returncode, stderr


def test_sigkill_between_renames_then_next_start_restores_the_previous_run(
    small_spec_path, tmp_path
):
    out = tmp_path / "out"
    before = earlier_run(out)
    code, _ = kill_at("between-renames", signal.SIGKILL, small_spec_path, out, tmp_path)
    assert code == -signal.SIGKILL
    assert not out.exists() and any(n.startswith(".out.old-") for n in hidden_leftovers(tmp_path))
    notes = []
    recover_stale(out, notes.append)
    assert digest(out) == before and hidden_leftovers(tmp_path) == []
    assert any("restored" in n for n in notes)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("phase", "sig"),
    [
        ("fitting", signal.SIGKILL),
        ("writing", signal.SIGKILL),
        ("fitting", signal.SIGTERM),
        ("writing", signal.SIGTERM),
    ],
)
def test_signal_in_a_child_process_never_loses_the_previous_run(
    small_spec_path, tmp_path, phase, sig
):
    out = tmp_path / "out"
    before = earlier_run(out)
    code, stderr = kill_at(phase, sig, small_spec_path, out, tmp_path)
    assert digest(out) == before
    if sig == signal.SIGTERM:
        assert (
            code == 128 + signal.SIGTERM and "interrupted" in stderr and "Traceback" not in stderr
        )
        assert hidden_leftovers(tmp_path) == []
    else:
        assert code == -signal.SIGKILL
        recover_stale(out, lambda line: None)
        assert hidden_leftovers(tmp_path) == [] and digest(out) == before


# ------------------------------------------------------------------------------------------
# full disk, read-only and unusable destinations, permissions
# ------------------------------------------------------------------------------------------
def test_full_disk_while_writing_posterior_exits_2_without_partial_output(
    small_spec_path, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    before = earlier_run(out)
    real = pathlib.Path.write_bytes

    def full_disk(self, data):
        if self.name == "posterior.nc":
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", full_disk)
    # posterior.nc written by this process (the helper of pipeline/tree_writer.py would not see
    # the patch; test_tree_writer.py gives it a real disk error)
    monkeypatch.setenv("BAYES_ANLO_FIGURE_WORKERS", "0")
    result = cli("run", small_spec_path, "--out", out, "--force")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {out}: could not be written: no space left on the device (posterior.nc)"
    ]
    assert "Traceback" not in result.stderr
    assert digest(out) == before and hidden_leftovers(tmp_path) == []


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 300 kB tmpfs (root and mount permission needed; otherwise the test is skipped)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode()[:200]}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_really_full_disk_exits_2_and_leaves_nothing(small_spec_path, small_tmpfs):
    (small_tmpfs / "filler").write_bytes(b"\0" * 150_000)
    result = cli("run", small_spec_path, "--out", small_tmpfs / "out")
    assert result.exit_code == 2, result.output
    assert "no space left" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["filler"]


def test_read_only_target_fails_before_fitting(small_spec_path, small_tmpfs, monkeypatch):
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    no_fitting(monkeypatch)
    result = cli("run", small_spec_path, "--out", small_tmpfs / "out")
    assert result.exit_code == 2, result.output
    assert "read-only file system" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "case",
    ["parent_is_a_file", "dot", "cwd", "ancestor_of_spec", "name_300_chars", "out_is_a_file"],
)
def test_unusable_out_fails_before_fitting_with_exit_2(
    small_spec_path, tmp_path, tmp_path_factory, monkeypatch, case
):
    no_fitting(monkeypatch)
    elsewhere = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(elsewhere)
    (tmp_path / "afile").write_text("x")
    out = {
        "parent_is_a_file": tmp_path / "afile" / "out",
        "dot": ".",
        "cwd": str(elsewhere),
        "ancestor_of_spec": str(small_spec_path.parent),
        "name_300_chars": tmp_path / ("r" * 300),
        "out_is_a_file": tmp_path / "afile",
    }[case]
    before = digest(tmp_path)
    result = cli("run", small_spec_path, "--out", out, "--force")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert digest(tmp_path) == before


@pytest.mark.parametrize("command", ["audit", "sweep"])
@pytest.mark.parametrize("case", ["a_folder", "missing_folder", "parent_is_a_file"])
def test_audit_and_sweep_out_check_the_file_first(small_spec_path, tmp_path, command, case):
    (tmp_path / "afile").write_text("x")
    out = {
        "a_folder": tmp_path,
        "missing_folder": tmp_path / "nowhere" / "t.csv",
        "parent_is_a_file": tmp_path / "afile" / "t.csv",
    }[case]
    args = (
        ["audit", "npc_qin2025"]
        if command == "audit"
        else ["sweep", small_spec_path, "--analysis", "dcr_single"]
    ) + ["--out", out]
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {out}:") and "Traceback" not in result.stderr


def test_check_output_path_accepts_a_new_file_and_a_new_nested_folder(tmp_path):
    assert check_output_path(tmp_path / "t.csv") == tmp_path / "t.csv"
    assert check_output_path(tmp_path / "a" / "b", kind="directory") == tmp_path / "a" / "b"


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_run_directory_permissions_follow_the_umask(small_spec_path, tmp_path, umask):
    previous = os.umask(umask)
    try:
        run_spec(small_spec_path, tmp_path / "out", log=None)
    finally:
        os.umask(previous)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (tmp_path / "out" / "report.html").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "out" / "tables").stat().st_mode & 0o777 == 0o777 & ~umask


def test_an_output_file_that_is_a_device_or_fifo_is_refused_not_replaced(tmp_path):
    """Found by the differential test of the command line: ``audit FILE --out /dev/null`` passed
    the output check, and the atomic write (a sibling renamed over the target) replaced the
    /dev/null device with a regular file."""
    from bayes_anlo.outputs import write_bytes_atomic

    with pytest.raises(InputError, match="not a regular file"):
        check_output_path("/dev/null")  # only checked: nothing is written
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        check_output_path(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        write_bytes_atomic(b"x", fifo)
    paper = tmp_path / "paper.txt"
    paper.write_text("Objective response rate was 20% (6/30).\n")
    result = CliRunner().invoke(app, ["audit", "draft", str(paper), "--out", str(fifo)])
    assert result.exit_code == 2, result.output
    assert "not a regular file" in result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the FIFO
