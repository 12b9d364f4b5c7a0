"""A text progress display for :func:`bayes_anlo.runner.execute.run` (``progress=``)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def progress_printer(
    label: str, stream: TextIO | None = None, *, width: int = 30
) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback drawing ``label [#####.....] done/total  seconds``.

    On a terminal the bar redraws in place; elsewhere (a log file, a pipe) it writes one line per
    tenth of the tasks and one at the end, so a log stays short.
    """
    out = sys.stderr if stream is None else stream
    live = out.isatty()
    start = time.perf_counter()
    state = {"shown": -1}

    def show(done: int, total: int) -> None:
        tenth = 10 if total == 0 else (10 * done) // total
        if not live and tenth == state["shown"] and done != total:
            return
        state["shown"] = tenth
        filled = width if total == 0 else (width * done) // total
        bar = "#" * filled + "." * (width - filled)
        line = f"{label} [{bar}] {done}/{total}  {time.perf_counter() - start:.0f} s"
        if live:
            out.write("\r" + line + ("\n" if done == total else ""))
        else:
            out.write(line + "\n")
        out.flush()

    return show
