"""Each saliency method behind one signature: (model, normalised images, one target class
per image, MapSettings) -> signed B x H x W maps at input resolution, larger meaning more
evidence for the target. The registry (explain/registry.py) names them; every method
leaves the model as it found it."""

from __future__ import annotations

import sys

import torch
from torch import nn

from cnnlab.data.loader import Normalizer
from cnnlab.explain.cam import cam_maps
from cnnlab.explain.gradcam import gradcam_maps
from cnnlab.explain.gradients import gradient_maps, integrated_gradient_maps
from cnnlab.explain.occlusion import occlusion_maps
from cnnlab.explain.perturb import blurred
from cnnlab.explain.reference import random_maps, sobel_maps
from cnnlab.explain.registry import SALIENCY, MapSettings
from cnnlab.params import SaliencyParams
from cnnlab.registry import resolve


def occlusion_fill(p: SaliencyParams, normalizer: Normalizer, images: torch.Tensor) -> torch.Tensor | float:
    """'mean' is 0 after normalisation; 'blur' a blurred copy of each image; a grey
    level is mapped channel by channel."""
    if p.fill == "mean":
        return 0.0
    if p.fill == "blur":
        return blurred(images)
    return normalizer(torch.full((1, normalizer.mean.shape[1], 1, 1), float(p.fill)))[0]


def occlusion(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, s: MapSettings) -> torch.Tensor:
    p = s.params
    return occlusion_maps(model, images, targets, window=p.window, stride=p.stride,
                          fill=occlusion_fill(p, s.normalizer, images), per_eval=p.batch_size, on=p.occlusion_on)


def gradcam(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, s: MapSettings) -> torch.Tensor:
    return gradcam_maps(model, images, targets, s.params.target_layer)


def gradcam_plus_plus(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, s: MapSettings) -> torch.Tensor:
    return gradcam_maps(model, images, targets, s.params.target_layer, plus=True)


def cam(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, s: MapSettings) -> torch.Tensor:
    return cam_maps(model, images, targets)


def gradient(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, s: MapSettings) -> torch.Tensor:
    return gradient_maps(model, images, targets)


def integrated_gradients(model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                         s: MapSettings) -> torch.Tensor:
    return integrated_gradient_maps(model, images, targets, steps=s.params.integrated_gradients_steps,
                                    per_eval=s.params.batch_size)


def random(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, s: MapSettings) -> torch.Tensor:
    return random_maps(images, s.seed)


def sobel(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, s: MapSettings) -> torch.Tensor:
    return sobel_maps(images)


def saliency_maps(method: str, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                  settings: MapSettings) -> torch.Tensor:
    """Method `method`'s maps (a name of the registry)."""
    return resolve(SALIENCY[method].maps, [sys.modules[__name__]])(model, images, targets, settings)
