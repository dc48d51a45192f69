"""The one saliency registry: a method's name, what it needs of a model, and its maps.

This module stays light (no torch at import): params.yaml's validation takes the method
names, and which models each applies to, from here, and every stage validates params.
Each entry names its maps function in explain/methods.py, which the stages that draw maps
import (cnnlab/registry.py: the one registry pattern). Adding a method: one function
there (and its own module if it is large), one entry here; params, `cnnlab explain` and
the report pick it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnlab.data.loader import Normalizer
    from cnnlab.params import SaliencyParams

# What a model may have that a method needs: the model registry's `features` say which
# models have them (a test builds every model and checks).
CONVOLUTIONS = "convolutions"
CAM_HEAD = "cam_head"
FEATURE_WORDS = {CONVOLUTIONS: "a convolution layer", CAM_HEAD: "a global-average-pool + linear head"}


@dataclass(frozen=True)
class MapSettings:
    params: SaliencyParams
    normalizer: Normalizer  # the model's input normalisation, for fills given as colours
    seed: int = 0


@dataclass(frozen=True)
class SaliencyMethod:
    maps: str  # "module:function" (explain/methods.py): (model, images, targets, MapSettings) -> B x H x W
    summary: str
    needs: frozenset[str] = frozenset()  # model features without which the method cannot apply
    # Maps that do not look at the model: reference rows, expected to fail the sanity check,
    # always scored beside the methods asked for.
    reference: bool = False


METHODS = "cnnlab.explain.methods"

SALIENCY: dict[str, SaliencyMethod] = {
    "occlusion": SaliencyMethod(f"{METHODS}:occlusion",
                                "the target's drop when a square is occluded (Captum's Occlusion)"),
    "gradcam": SaliencyMethod(f"{METHODS}:gradcam",
                              "Grad-CAM at saliency.target_layer (default: the last convolution)",
                              needs=frozenset({CONVOLUTIONS})),
    "gradcam_plus_plus": SaliencyMethod(f"{METHODS}:gradcam_plus_plus",
                                        "Grad-CAM++: Grad-CAM with higher-order weights",
                                        needs=frozenset({CONVOLUTIONS})),
    "cam": SaliencyMethod(f"{METHODS}:cam", "class activation map of a global-average-pool + linear head",
                          needs=frozenset({CAM_HEAD})),
    "gradient": SaliencyMethod(f"{METHODS}:gradient", "the target logit's gradient x input (Captum's Saliency)"),
    "integrated_gradients": SaliencyMethod(f"{METHODS}:integrated_gradients",
                                           "integrated gradients from a black image (Captum)"),
    "random": SaliencyMethod(f"{METHODS}:random", "seeded noise: the floor every method must beat", reference=True),
    "sobel": SaliencyMethod(f"{METHODS}:sobel", "edge strength of the image itself", reference=True),
}
REFERENCE_METHODS = tuple(name for name, m in SALIENCY.items() if m.reference)
DEFAULT_METHODS = ("occlusion", "gradcam")


def missing_for(method: str, features: frozenset[str]) -> str | None:
    """Why `method` cannot explain a model with these features, or None when it can."""
    lacking = sorted(SALIENCY[method].needs - features)
    return f"needs {' and '.join(FEATURE_WORDS[f] for f in lacking)}" if lacking else None

