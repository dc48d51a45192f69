"""The one registry pattern, shared by models, saliency methods and data sources.

A registry is a dict, name -> entry, in a module light enough for params validation
(which every stage runs) to import: the entry holds the settings and names its callable
as "module:function". The callables live in heavier modules, imported by the one module
that calls them (models/build.py, explain/methods.py, data/sources.py), which resolves
the names with `resolve`. So a stage imports an implementation, and has it among its
dvc.yaml deps, only where the stage runs it. Tests check that every name resolves among
the modules its caller imports, and the params schema takes its allowed names (and the
error that lists them) from the registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any


def resolve(reference: str, modules: Iterable[ModuleType]) -> Any:
    """'cnnlab.models.convnet:ConvNet' -> that object, from one of `modules` (already imported)."""
    module, _, name = reference.partition(":")
    for candidate in modules:
        if candidate.__name__ == module:
            return getattr(candidate, name)
    raise LookupError(f"{reference}: {module} is not among the modules its caller imports")


def referenced_modules(references: Iterable[str]) -> set[str]:
    return {r.partition(":")[0] for r in references if r}
