"""Modules imported on first use: PyMC costs about a second to import, and the exact engines,
the frequentist code and ``bayes-anlo rates`` never touch it.

``pm = lazy_module("pymc")`` at the top of a model module binds ``pm`` to a stand-in whose first
attribute access (``pm.Model``, ``pm.Data`` ...) imports the package and forwards to it.
Annotations such as ``-> pm.Model`` are strings (``from __future__ import annotations``) and do
not count as an access.

The stand-in is never put in ``sys.modules``: code that walks every imported module (as
``inspect.stack()`` does, which ``arviz_base`` calls at import) would touch it and import PyMC
for nothing. ``sys.modules`` holds the package only once it has really been imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from types import ModuleType

#: When this process imported ``bayes_anlo`` (this module is the first the package imports): a
#: package file modified later may hold code other than the code running
#: (:func:`bayes_anlo.runner.cache.files_changed_since_import`).
PACKAGE_IMPORTED_AT = time.time()

_STAND_INS: dict[str, ModuleType] = {}


class _StandIn(ModuleType):
    """A module that imports ``name`` on the first attribute it does not hold itself."""

    def __init__(self, name: str) -> None:
        super().__init__(name, f"stand-in for {name}, imported on first use")

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # module protocol probes (``__path__``, ``__file__`` ...)
            raise AttributeError(attr)
        return getattr(importlib.import_module(self.__name__), attr)


def lazy_module(name: str) -> ModuleType:
    """The top-level package ``name``, imported on first attribute access (or the module itself
    when it is already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    if name not in _STAND_INS:
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"no module named {name!r}", name=name)
        _STAND_INS[name] = _StandIn(name)
    return _STAND_INS[name]


def is_loaded(name: str) -> bool:
    """Whether ``name`` has been imported and its code has run."""
    module = sys.modules.get(name)
    return module is not None and type(module).__name__ != "_LazyModule"


def lazy_package(package: str, names: dict[str, str], submodules) -> tuple:
    """``__getattr__`` and ``__dir__`` (PEP 562) of a package that imports on first use: a public
    name of ``names`` (name -> module defining it; it wins over a submodule of the same name) or a
    submodule in ``submodules``. Each value is stored in the package's namespace, so later look-ups
    skip ``__getattr__``. Usage: ``__getattr__, __dir__ = lazy_package(__name__, _NAMES, ...)``."""

    def __getattr__(name: str):
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
        elif name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        vars(sys.modules[package])[name] = value
        return value

    def __dir__() -> list[str]:
        module = sys.modules[package]
        return sorted({*vars(module), *module.__all__})

    return __getattr__, __dir__


#: The packages :func:`hide_dask` makes unimportable.
DASK_PACKAGES = ("dask", "distributed")
#: Modules that decide, when they are imported, whether dask is installed (xarray caches the
#: answer): once one is imported, dask can no longer be hidden safely.
_DECIDED_AT_IMPORT = (*DASK_PACKAGES, "xarray")


def hide_dask() -> bool:
    """Make dask unimportable in this process, so that xarray treats it as not installed.

    xarray imports ``dask.array`` when it builds its first Dataset and ``dask.distributed`` on
    every ``to_netcdf`` (to look for a cluster's write lock) whenever dask is installed: about a
    second of a ``bayes-anlo run`` that never computes lazily, and as much again in its
    ``posterior.nc`` writer. A ``None`` entry in ``sys.modules`` makes ``import dask`` raise
    ImportError (Python's import system documents this), which xarray handles as for a missing
    optional dependency. Only for processes of their own that never use dask: the ``run``
    command's process (not a library caller's, nor the ``study`` commands', which schedule on
    Dask) and its helpers.

    It must come before xarray is imported: xarray records at import whether dask is installed,
    and would then import it regardless. So when xarray, dask or distributed is already imported
    it does nothing and returns False.
    """
    return _hide(DASK_PACKAGES, decided_by=_DECIDED_AT_IMPORT)


def hide_pyarrow() -> bool:
    """Make pyarrow unimportable in this process, so that pandas treats it as not installed.

    pandas imports pyarrow when it is itself imported whenever pyarrow is installed (nutpie
    needs it), about a quarter of a second, for Arrow-backed dtypes and readers the package never
    uses. For ``bayes-anlo rates`` in its own process, which never samples with nutpie. Like
    :func:`hide_dask` it must come first: once pandas or pyarrow is imported it does nothing and
    returns False.
    """
    return _hide(("pyarrow",), decided_by=("pyarrow", "pandas"))


def _hide(packages: tuple[str, ...], *, decided_by: tuple[str, ...]) -> bool:
    if any(name in sys.modules for name in decided_by):
        return False
    for name in packages:
        sys.modules[name] = None
    return True
