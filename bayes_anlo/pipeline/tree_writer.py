"""Write a run's ``posterior.nc`` in a helper process while the run writes everything else.

Serialising the run's DataTree to netCDF (xarray with h5netcdf) costs a second or two, most of it
Python-level HDF5 bookkeeping, plus the import of xarray's optional backends; the run's tables,
figures and report do not depend on it. :class:`TreeWriter` starts its helper
(:mod:`bayes_anlo.child_process`) when the run starts, so the helper's imports overlap the
run's work; :meth:`TreeWriter.submit` hands it the finished tree and the path;
:meth:`TreeWriter.wait` returns once the file is written, or raises the helper's disk error
(``OSError`` with its errno, so a full disk is exit 2 as before). If the helper cannot be started
or dies, the run writes the file itself: the bytes are the same either way
(:func:`netcdf_bytes`). Leaving the writer on an error kills the helper before the run removes
its partial directory.
"""

from __future__ import annotations

from pathlib import Path

from bayes_anlo import child_process
from bayes_anlo.process_exit import leave

_MODULE = "bayes_anlo.pipeline.tree_writer"


def netcdf_bytes(tree) -> bytes:
    """``tree`` as netCDF-4 bytes (h5netcdf), serialised in memory: a full disk is then an OSError
    of the write that follows, never an error inside the HDF5 library."""
    return bytes(tree.to_netcdf(engine="h5netcdf"))


def write_tree(tree, path: Path) -> None:
    Path(path).write_bytes(netcdf_bytes(tree))


class TreeWriter:
    """The helper that writes ``posterior.nc`` (in the run's process when ``enabled`` is False,
    or when no helper can run)."""

    def __init__(self, enabled: bool = True):
        self._process = child_process.start(_MODULE) if enabled else None
        self._started = self._process is not None
        self._pending: tuple | None = None

    @property
    def started(self) -> bool:
        """Whether a helper process was started (it may have ended since)."""
        return self._started

    def __enter__(self) -> TreeWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)

    def submit(self, tree, path: Path) -> None:
        """Start writing ``tree`` to ``path`` (an absolute path in the run's partial directory)."""
        self._pending = (tree, Path(path))
        if self._process is not None:
            try:
                child_process.send(self._process.stdin, (tree, str(path)))
                self._process.stdin.close()
            except (OSError, ValueError):  # the helper is gone: wait() writes it here
                self.close(kill=True)

    def wait(self) -> None:
        """Return once the submitted tree is written; raise the helper's disk error."""
        if self._pending is None:
            return
        tree, path = self._pending
        answer = None
        if self._process is not None:
            try:
                answer = child_process.receive(self._process.stdout)
            except (OSError, ValueError, EOFError):
                answer = None
            self.close()
        self._pending = None
        if answer is not None and answer[0] == "ok":
            return
        if answer is not None and answer[0] == "oserror":
            errno, strerror, filename = answer[1]
            raise OSError(errno, strerror, filename)
        write_tree(tree, path)  # no helper, or it failed: here (its own error, if any, is raised)

    def close(self, kill: bool = False) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if kill and process.poll() is None:
            process.kill()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        process.wait()


def helper_main() -> None:
    """Load the netCDF stack at once, while the run works (a one-variable dataset written in
    memory imports what xarray loads on its first write), then write the one tree sent. Dask is
    hidden from xarray first (:func:`~bayes_anlo.lazy_import.hide_dask`): this process never
    computes lazily."""
    from bayes_anlo.lazy_import import hide_dask

    hide_dask()
    import xarray

    xarray.Dataset({"x": ("d", [0.0])}).to_netcdf(engine="h5netcdf")

    child_process.serve(lambda job: write_tree(job[0], Path(job[1])), once=True)
    leave(0)  # its answers are sent: skip the teardown the run would wait for


if __name__ == "__main__":
    helper_main()
