"""The runner's text progress display in a log (not a terminal): short, ends at the total."""

from __future__ import annotations

import io

from bayes_anlo.runner import run
from bayes_anlo.runner.progress import progress_printer
from tests.runner._tasks import cheap, exact_tasks


def test_log_progress_writes_at_most_one_line_per_tenth_and_ends_complete(tmp_path):
    log = io.StringIO()
    show = progress_printer("sweep", log)
    for done in range(0, 101):
        show(done, 100)
    lines = log.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0].startswith("sweep [" + "." * 30 + "] 0/100")
    assert lines[-1].startswith("sweep [" + "#" * 30 + "] 100/100")


def test_run_reports_cached_tasks_then_each_new_one(tmp_path):
    tasks = exact_tasks(3)
    run(tasks[:1], cheap, cache_dir=tmp_path)
    log = io.StringIO()
    run(tasks, cheap, cache_dir=tmp_path, progress=progress_printer("study", log))
    counts = [line.split("] ")[1].split()[0] for line in log.getvalue().splitlines()]
    assert counts == ["1/3", "2/3", "3/3"]
