"""The one registry pattern: every entry's callable resolves where its caller looks for it."""

from pathlib import Path

import pytest

from cnnlab.data.registry import SOURCES
from cnnlab.explain.registry import SALIENCY
from cnnlab.models.registry import MODELS
from cnnlab.registry import resolve
from cnnlab.stage_deps import imported_modules


def callers():
    """(registry name, its references, the module that resolves them, the modules it resolves among)."""
    from cnnlab.data import sources
    from cnnlab.explain import methods
    from cnnlab.models import build

    return [("models", [r for e in MODELS.values() for r in (e.make, e.stats) if r], build, build.MODULES),
            ("saliency", [e.maps for e in SALIENCY.values()], methods, [methods]),
            ("sources", [e.load for e in SOURCES.values()], sources, [sources])]


@pytest.mark.parametrize("index", range(3))
def test_every_reference_resolves_to_a_callable_in_a_module_its_caller_imports(index):
    """Its caller's imports are what dvc.yaml's deps see: a name resolved elsewhere would
    be code a stage runs without depending on it."""
    name, references, caller, modules = callers()[index]
    statically = imported_modules(Path(caller.__file__)) | {caller.__name__}
    for reference in references:
        assert callable(resolve(reference, modules)), (name, reference)
        assert reference.partition(":")[0] in statically, (name, reference)


def test_a_reference_outside_the_callers_modules_is_an_error_naming_it():
    from cnnlab.models import build

    with pytest.raises(LookupError, match="cnnlab.explain.methods is not among the modules"):
        resolve("cnnlab.explain.methods:occlusion", build.MODULES)


def test_the_params_schema_takes_its_names_from_the_registries():
    from typing import get_args, get_type_hints

    from cnnlab.params import DataParams, SaliencyMethod

    assert get_args(get_type_hints(DataParams)["dataset"]) == tuple(SOURCES)
    assert get_args(SaliencyMethod) == tuple(SALIENCY)
