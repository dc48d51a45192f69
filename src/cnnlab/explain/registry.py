"""The one saliency registry: method name -> function producing B x H x W maps.

Every method takes (model, normalised images, one target class per image, MapSettings)
and returns signed maps at input resolution, with larger values meaning more evidence
for the target, so a stage, the faithfulness metrics and `cnnlab explain` can run any
of them the same way. Every method leaves the model as it found it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from cnnlab.data.loader import Normalizer
from cnnlab.explain.cam import cam_maps
from cnnlab.explain.gradcam import gradcam_maps
from cnnlab.explain.gradients import gradient_maps, integrated_gradient_maps
from cnnlab.explain.occlusion import occlusion_maps
from cnnlab.explain.perturb import blurred
from cnnlab.explain.reference import random_maps, sobel_maps
from cnnlab.params import SaliencyParams


@dataclass(frozen=True)
class MapSettings:
    params: SaliencyParams
    normalizer: Normalizer  # the model's input normalisation, for fills given as colours
    seed: int = 0


SaliencyFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, MapSettings], torch.Tensor]

# Maps that do not look at the model: reference rows, expected to fail the sanity check.
REFERENCE_METHODS = ("random", "sobel")


def occlusion_fill(p: SaliencyParams, normalizer: Normalizer, images: torch.Tensor) -> torch.Tensor | float:
    """'mean' is 0 after normalisation; 'blur' a blurred copy of each image; a grey
    level is mapped channel by channel."""
    if p.fill == "mean":
        return 0.0
    if p.fill == "blur":
        return blurred(images)
    return normalizer(torch.full((1, normalizer.mean.shape[1], 1, 1), float(p.fill)))[0]


def _occlusion(model, images, targets, s: MapSettings) -> torch.Tensor:
    p = s.params
    return occlusion_maps(model, images, targets, window=p.window, stride=p.stride,
                          fill=occlusion_fill(p, s.normalizer, images), per_eval=p.batch_size, on=p.occlusion_on)


SALIENCY: dict[str, SaliencyFn] = {
    "occlusion": _occlusion,
    "gradcam": lambda model, images, targets, s: gradcam_maps(model, images, targets, s.params.target_layer),
    "gradcam_plus_plus": lambda model, images, targets, s: gradcam_maps(
        model, images, targets, s.params.target_layer, plus=True),
    "cam": lambda model, images, targets, s: cam_maps(model, images, targets),
    "gradient": lambda model, images, targets, s: gradient_maps(model, images, targets),
    "integrated_gradients": lambda model, images, targets, s: integrated_gradient_maps(
        model, images, targets, steps=s.params.integrated_gradients_steps, per_eval=s.params.batch_size),
    "random": lambda model, images, targets, s: random_maps(images, s.seed),
    "sobel": lambda model, images, targets, s: sobel_maps(images),
}


def saliency_maps(method: str, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                  settings: MapSettings) -> torch.Tensor:
    return SALIENCY[method](model, images, targets, settings)
