"""Run a list of tasks serially, on a local Dask cluster or on an external scheduler.

Every result passes through :func:`~bayes_anlo.runner.cache.canonical_json` (workers send it as
that text), so the returned results, and the cached files, are byte-identical wherever a task ran
and whether it was computed or read back. Dask workers run one thread each (PyTensor compilation
is not thread-safe), and each worker compiles into its own PyTensor directory
(:class:`~bayes_anlo.runner.dask_plugin.CompileDirectory`); a worker process keeps its compiled
models between tasks (:mod:`bayes_anlo.models.compile_cache`). A worker lost mid-run has its
tasks rerun elsewhere by the scheduler; results finished before an interruption are in the
cache and are not recomputed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from bayes_anlo import interrupt
from bayes_anlo.errors import InputError
from bayes_anlo.runner.cache import ResultCache, canonical_json, modules_fingerprint, task_key
from bayes_anlo.runner.tasks import FitTask, fit_summary

#: Seconds to wait for a Dask scheduler given by address before reporting it unreachable.
SCHEDULER_TIMEOUT = 10
#: Module each worker process of a local cluster runs at start-up (its ``dask_setup``: the
#: worker ignores Ctrl-C, which :func:`dask_client` handles for it).
LOCAL_WORKER_PRELOAD = "bayes_anlo.runner.dask_plugin"
#: Directory (under the worker's temporary directory) holding the per-worker compile directories
#: when no ``compile_root`` is given.
DEFAULT_COMPILE_ROOT = "bayes_anlo_pytensor"


def compile_directory(root: str | Path | None, worker_name) -> Path:
    """The PyTensor base compile directory of one worker: ``<root>/worker-<name>``."""
    base = Path(tempfile.gettempdir()) / DEFAULT_COMPILE_ROOT if root is None else Path(root)
    return base / f"worker-{re.sub(r'[^A-Za-z0-9_.-]', '_', str(worker_name))}"


def set_compile_directory(path: Path) -> bool:
    """Point PyTensor of this process at ``path`` (through ``PYTENSOR_FLAGS``, read when PyTensor
    is first imported). False if PyTensor is already imported here and the flag would be ignored."""
    import sys

    if "pytensor" in sys.modules:
        return False
    path.mkdir(parents=True, exist_ok=True)
    flags = [f for f in os.environ.get("PYTENSOR_FLAGS", "").split(",") if f.strip()]
    flags = [f for f in flags if not f.strip().startswith("base_compiledir=")]
    os.environ["PYTENSOR_FLAGS"] = ",".join([*flags, f"base_compiledir={path}"])
    return True


def call_task(fn: Callable[[FitTask], dict], task: FitTask) -> str:
    """Run ``fn(task)`` and return the result as canonical JSON text (what a worker sends)."""
    return canonical_json(fn(task))


@contextlib.contextmanager
def interrupt_ends_workers(cluster) -> Iterator[None]:
    """While a local cluster runs, Ctrl-C (SIGINT) first kills its workers, which ignore the
    signal (:func:`bayes_anlo.runner.dask_plugin.dask_setup`), after telling their nannies to close
    rather than start new workers (a new worker, started while the cluster closed, logged the
    cancelled tasks and a heartbeat traceback of its own), and turns logging off until the
    cluster is closed (the nannies would report each lost worker, the client
    the results it could not gather, and distributed's ``sync`` an error of its own in the
    callback that cancels an interrupted call), then raises KeyboardInterrupt as
    Python does: the command ends with its own "interrupted" line, without waiting for running
    tasks and without a traceback or warning from the cluster. SIGTERM kills the workers the
    same way, then has its usual effect: the handler that was installed runs, or, where there was
    none, the cluster is closed as for Ctrl-C and the process then ends by the signal (workers
    left without their parent printed tracebacks, and ending before the cluster was closed left
    Python's resource_tracker to warn of leaked semaphores). Results already
    finished are in the result cache. Outside the main thread (where Python does not handle
    signals) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    logging_off_from: list[int] = []  # the process's logging.disable level before the signal
    terminated: list[int] = []  # SIGTERM with no handler of the command's own: re-sent at the end

    def end_workers() -> None:
        if logging_off_from:
            return
        logging_off_from.append(logging.root.manager.disable)
        logging.disable(logging.CRITICAL)
        from distributed.core import Status

        for nanny in list(cluster.workers.values()):
            if nanny.status == Status.running:  # close when its worker ends, not start another
                nanny.status = Status.closing_gracefully
            pid = getattr(nanny, "pid", None)
            if pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def on_interrupt(signum, frame):
        end_workers()
        raise KeyboardInterrupt

    def on_terminate(signum, frame):
        end_workers()
        if callable(previous[signal.SIGTERM]):
            previous[signal.SIGTERM](signum, frame)
        elif previous[signal.SIGTERM] in (signal.SIG_DFL, None):
            terminated.append(signum)  # close the cluster first, then end by the signal
            raise KeyboardInterrupt

    previous = {signal.SIGINT: signal.getsignal(signal.SIGINT)}
    previous[signal.SIGTERM] = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, on_interrupt)
    if previous[signal.SIGTERM] != signal.SIG_IGN:
        signal.signal(signal.SIGTERM, on_terminate)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for level in logging_off_from:
            logging.disable(level)
        if terminated:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)


@contextlib.contextmanager
def dask_client(scheduler: str, n_workers: int, timeout: float | None = None) -> Iterator:
    """A Dask client: of a new local cluster (``"local"``: ``n_workers`` processes, one thread
    each) or of the scheduler at an address (an InputError if it does not answer within
    ``timeout`` seconds, default :data:`SCHEDULER_TIMEOUT`)."""
    timeout = SCHEDULER_TIMEOUT if timeout is None else timeout
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise InputError(
            "Dask runs need `pip install bayes_anlo[dist]` (dask, distributed)"
        ) from exc
    if scheduler == "local":
        try:
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                preload=[LOCAL_WORKER_PRELOAD],
            )
        except (RuntimeError, OSError, TimeoutError) as exc:  # e.g. "Nanny failed to start."
            raise InputError(
                f"--workers {n_workers}: could not start a local Dask cluster "
                f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); on a busy "
                "or small machine use fewer workers or none (serial); tasks already finished "
                "are in the result cache and a rerun resumes",
                file="command line",
            ) from None
        with interrupt_ends_workers(cluster), cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=f"{timeout}s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise InputError(
            f"cannot reach the Dask scheduler {scheduler!r} within {timeout:g} s: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            file="command line",
        ) from None
    with client:
        yield client


def run(
    tasks: Sequence[FitTask],
    fn: Callable[[FitTask], dict] = fit_summary,
    *,
    scheduler: str | None = None,
    n_workers: int = 2,
    cache_dir: str | Path | None = None,
    compile_root: str | Path | None = None,
    timeout: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    code_modules: Sequence[str] | None = None,
) -> list[dict]:
    """Results of ``fn`` (a module-level function) on every task, in task order.

    ``scheduler``: None (serial, in this process), ``"local"`` (a new ``LocalCluster`` of
    ``n_workers`` processes) or an address such as ``"tcp://10.0.0.5:8786"``. With ``cache_dir``
    a task whose result is stored there is not run, and each result is stored as soon as it
    arrives. ``progress(done, total)`` is called after each task (cached ones count as done at
    the start). ``compile_root`` is where Dask workers keep their PyTensor compile directories
    (a path on the worker machines; default their temporary directory). ``code_modules`` narrows
    the code fingerprint of the cache keys to those modules and what they import from the package
    (:func:`~bayes_anlo.runner.cache.modules_fingerprint`); default: the whole package.
    """
    if int(n_workers) < 1:
        raise InputError(f"workers must be at least 1, not {n_workers}", file="command line")
    cache = None if cache_dir is None else ResultCache(cache_dir)
    fingerprint = None if code_modules is None else modules_fingerprint(code_modules)
    keys = [task_key(task, fn, fingerprint) for task in tasks]
    results: dict[str, dict] = {}
    if cache is not None:
        for key in dict.fromkeys(keys):
            stored = cache.get(key)
            if stored is not None:
                results[key] = stored
    pending = {key: task for key, task in zip(keys, tasks, strict=True) if key not in results}
    total, done = len(set(keys)), len(results)
    if progress is not None:
        progress(done, total)

    def store(key: str, text: str) -> None:
        nonlocal done
        results[key] = json.loads(text)
        if cache is not None:
            cache.put(key, results[key])
        done += 1
        if progress is not None:
            progress(done, total)

    if pending and scheduler is None:
        for key, task in pending.items():
            interrupt.check()
            store(key, call_task(fn, task))
        interrupt.check()
    elif pending:
        from dask.distributed import as_completed

        root = None if compile_root is None else str(compile_root)
        with dask_client(scheduler, int(n_workers), timeout) as client:
            from bayes_anlo.runner.dask_plugin import CompileDirectory

            client.register_plugin(CompileDirectory(root))
            futures = {
                client.submit(call_task, fn, task, key=f"bayes-anlo-task-{key}"): key
                for key, task in pending.items()
            }
            for future in as_completed(futures):
                store(futures[future], future.result())
    return [results[key] for key in keys]
