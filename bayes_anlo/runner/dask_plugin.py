"""The Dask worker plugin of the runner and the start-up of a local cluster's workers, in a
module of its own: importing ``distributed`` costs most of a second, which only a run on Dask
should pay."""

from __future__ import annotations

import signal
import threading

from distributed.diagnostics.plugin import WorkerPlugin

from bayes_anlo.runner.execute import compile_directory, set_compile_directory


class CompileDirectory(WorkerPlugin):
    """Dask worker plugin: gives each worker its own PyTensor compile directory at start-up."""

    name = "bayes-anlo-compile-directory"

    def __init__(self, root: str | None = None):
        self.root = root

    def setup(self, worker) -> None:
        set_compile_directory(compile_directory(self.root, worker.name))


def dask_setup(worker) -> None:
    """Start-up of each worker process of a local cluster (``preload``): ignore SIGINT. A Ctrl-C
    in the terminal goes to every process of its group, the cluster's workers included; the
    command handles it for them (:func:`bayes_anlo.runner.execute.dask_client` ends the workers
    and closes the cluster; the command exits with status 130). A worker used to end in a
    KeyboardInterrupt traceback of its own, and its nanny to log its loss and start another."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
