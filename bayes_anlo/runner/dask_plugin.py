"""The Dask worker plugin of the runner, in a module of its own: importing ``distributed`` costs
most of a second, which only a run on Dask should pay."""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin

from bayes_anlo.runner.execute import compile_directory, set_compile_directory


class CompileDirectory(WorkerPlugin):
    """Dask worker plugin: gives each worker its own PyTensor compile directory at start-up."""

    name = "bayes-anlo-compile-directory"

    def __init__(self, root: str | None = None):
        self.root = root

    def setup(self, worker) -> None:
        set_compile_directory(compile_directory(self.root, worker.name))
