"""Draw a run's figures in worker processes while the run goes on.

Building and drawing figures is most of the CPU time of a run with exact engines (matplotlib's
text layout and glyph rendering), and a figure needs nothing from the fit but its tables.
:class:`FigurePool` takes each analysis's figures as soon as the analysis is done, as recipes
(:class:`~bayes_anlo.report.canvas.FigureRecipe`: the figure function and its tables, which
pickle small and fast) or as built figures (a matplotlib figure pickles with every artist; the
unpickled figure draws the same bytes, which the tests check), and has worker processes build and
draw them (:func:`bayes_anlo.report.canvas.draw`) while the next analysis is fitted.
:meth:`FigurePool.collect` builds and draws what no worker has taken yet in the process itself
and returns every figure's bytes; the run writes them with everything else, so its run directory
stays atomic.

A worker is a helper process of :mod:`bayes_anlo.child_process` (``python -P -m
bayes_anlo.report.figure_pool``, messages pickled over pipes): it ignores SIGINT (Ctrl-C is the
run's to handle), is killed when the pool is left on an error or an interrupt, and exits when its
stdin closes (the run ended, or was killed).
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bayes_anlo import child_process
from bayes_anlo.process_exit import leave

if TYPE_CHECKING:
    import matplotlib.figure

    from bayes_anlo.report.canvas import FigureRecipe

#: Most worker processes a pool starts.
MAX_WORKERS = 3


#: Environment variable that sets the default number of workers (``0`` draws in the process).
WORKERS_ENV = "BAYES_ANLO_FIGURE_WORKERS"


def default_workers() -> int:
    """Worker processes for this machine: :data:`WORKERS_ENV` when it is set (a parallel test
    suite sets 0: its processes already use every CPU), else one per CPU available to the process
    beyond the one that runs the analyses, at most :data:`MAX_WORKERS` (0 with a single CPU)."""
    asked = os.environ.get(WORKERS_ENV, "").strip()
    if asked:
        try:
            return max(0, int(asked))
        except ValueError:
            raise ValueError(f"{WORKERS_ENV} must be a whole number, not {asked!r}") from None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, min((cpus or 1) - 1, MAX_WORKERS))


def _canvas():
    """:mod:`bayes_anlo.report.canvas`, imported when a figure is drawn (a run whose figures all
    come from the result cache never imports matplotlib)."""
    from bayes_anlo.report import canvas

    return canvas


class FigurePool:
    """Figures drawn to bytes by worker processes and, at :meth:`collect`, by this process.

    Use as a context manager: leaving it on an exception kills the workers at once. With
    ``workers=0`` every figure is drawn in this process at :meth:`collect`.
    """

    def __init__(self, workers: int | None = None):
        self.workers = default_workers() if workers is None else max(0, int(workers))
        self._jobs: queue.Queue = queue.Queue()
        self._done: dict[str, dict[str, bytes]] = {}
        #: figure, formats and trim by key; None for a figure given already drawn
        self._figures: dict[str, tuple[matplotlib.figure.Figure, tuple[str, ...], bool] | None] = {}
        self._processes: list[subprocess.Popen] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> FigurePool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)

    def __contains__(self, key: str) -> bool:
        return key in self._figures

    def submit(
        self,
        key: str,
        fig: matplotlib.figure.Figure | FigureRecipe,
        formats: Sequence[str],
        trim: bool,
    ) -> None:
        """Draw ``fig`` (a figure, or a recipe, then built where it is drawn) in ``formats`` under
        ``key`` (``trim``: see :func:`canvas.render`)."""
        if key in self._figures:
            raise ValueError(f"figure {key!r} was already submitted")
        formats = tuple(formats)
        self._figures[key] = (fig, formats, trim)
        self.start()
        if self._processes:
            try:
                job = child_process.message((fig, formats, trim))
            except Exception:  # e.g. a formatter made from a lambda: collect() draws it here
                return
            self._jobs.put((key, job))

    def add_drawn(self, key: str, files: dict[str, bytes]) -> None:
        """Take a figure already drawn (its bytes by format, e.g. from the result cache)."""
        if key in self._figures:
            raise ValueError(f"figure {key!r} was already submitted")
        self._figures[key] = None
        with self._lock:
            self._done[key] = dict(files)

    def collect(self) -> dict[str, dict[str, bytes]]:
        """Every submitted figure's bytes by key and format, in the order submitted. Figures no
        worker has taken, or a worker failed to draw, are drawn here."""
        while True:
            try:
                key, _ = self._jobs.get_nowait()
            except queue.Empty:
                break
            self._draw_here(key)
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        out = {}
        for key in self._figures:  # in the order submitted
            if key not in self._done:  # not given to a worker (none, or it could not be pickled)
                self._draw_here(key)  # or its worker failed: same bytes, or the figure's own error
            out[key] = self._done[key]
        for job in self._figures.values():
            # a figure built by the run (a recipe's figure is closed once drawn)
            if job is not None and not isinstance(job[0], _canvas().FigureRecipe):
                _canvas().close(job[0])
        return out

    def close(self, kill: bool = False) -> None:
        """Stop the workers (at once with ``kill``) and wait for them."""
        for process in self._processes:
            if kill and process.poll() is None:
                process.kill()
            with _quiet():
                process.stdin.close()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        for process in self._processes:
            process.wait()
            with _quiet():
                process.stdout.close()
        self._processes, self._threads = [], []

    # -- internals ----------------------------------------------------------------------------

    def _draw_here(self, key: str) -> None:
        fig, formats, trim = self._figures[key]
        canvas = _canvas()
        drawn = canvas.draw(canvas.built(fig), formats, trim=trim)
        with self._lock:
            self._done[key] = drawn

    def start(self) -> None:
        """Start the workers now (else the first :meth:`submit` does): a run starts them before
        it fits its first analysis, so they load the drawing stack meanwhile."""
        if self._processes or not self.workers:
            return
        for _ in range(self.workers):
            process = child_process.start("bayes_anlo.report.figure_pool")
            if process is None:  # no process can be started here: the run draws every figure
                self.workers = len(self._processes)
                break
            thread = threading.Thread(target=self._serve, args=(process,), daemon=True)
            self._processes.append(process)
            self._threads.append(thread)
            thread.start()

    def _serve(self, process: subprocess.Popen) -> None:
        """Hand jobs to one worker process, one at a time, until the sentinel (None)."""
        while True:
            job = self._jobs.get()
            if job is None:
                return
            key, message = job
            try:
                child_process.send(process.stdin, message)
                answer = child_process.receive(process.stdout)
            except (OSError, ValueError, EOFError):  # its pipe broke, or was closed by close()
                answer = None
            if answer is None:  # the worker is gone: collect() draws this figure here
                return
            status, value = answer
            if status == "ok":
                with self._lock:
                    self._done[key] = value


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is not None and issubclass(exc_type, OSError)


def _draw_job(job) -> dict[str, bytes]:
    fig, formats, trim = job
    canvas = _canvas()
    return canvas.draw(canvas.built(fig), formats, trim=trim)


def warm_up() -> None:
    """Load what drawing needs (matplotlib, pandas, the report's figure modules, the fonts) by
    drawing a small figure, so that a worker started while the run fits draws its first figure
    at once."""
    from bayes_anlo.report import forest_figure, plots, ppc_plots  # noqa: F401 (their imports)

    _canvas().draw(_warm_up_figure())


def _warm_up_figure():
    canvas = _canvas()
    fig = canvas.new_figure(figsize=(2.0, 1.5))
    ax = fig.add_subplot()
    ax.plot([0.0, 1.0], [0.0, 1.0])
    ax.set_title("warm-up")
    fig.tight_layout()
    return canvas.make_literal(fig)


def worker_main() -> None:
    """Load the drawing stack, then draw jobs from stdin until it closes (see the module
    docstring). Dask is hidden from xarray first (:func:`~bayes_anlo.lazy_import.hide_dask`):
    drawing never computes lazily."""
    from bayes_anlo.lazy_import import hide_dask

    hide_dask()
    warm_up()
    child_process.serve(_draw_job)
    leave(0)  # its answers are sent: skip the teardown the run would wait for


if __name__ == "__main__":
    worker_main()
