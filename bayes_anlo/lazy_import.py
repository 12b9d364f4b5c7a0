"""Modules imported on first use: PyMC costs about a second to import, and the exact engines,
the frequentist code and ``bayes-anlo rates`` never touch it.

``pm = lazy_module("pymc")`` at the top of a model module binds ``pm`` to a module whose code runs
on the first attribute access (``pm.Model``, ``pm.Data`` ...), by the standard library's
:class:`importlib.util.LazyLoader`. Annotations such as ``-> pm.Model`` are strings (``from
__future__ import annotations``) and do not count as an access.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The top-level package ``name``, executed on first attribute access (or the module itself
    when it is already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def is_loaded(name: str) -> bool:
    """Whether ``name`` has been imported and its code has run: a lazy module that was never
    touched is still of LazyLoader's placeholder type (``_LazyModule``)."""
    module = sys.modules.get(name)
    return module is not None and type(module).__name__ != "_LazyModule"
