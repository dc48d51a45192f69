"""Occlusion sensitivity: how much the target class's probability drops when a
window of the image is covered, averaged over the windows covering each pixel.

Captum's Occlusion does the sliding and averaging: windows start every `stride`
pixels and the last one in each direction is clipped at the border, so every pixel
is covered. `perturbations_per_eval` sends many occluded copies through the model
per forward pass.
"""

from __future__ import annotations

import torch
from captum.attr import Occlusion
from torch import nn

from cnnlab.batching import images_per_batch
from cnnlab.errors import UserError
from cnnlab.explain.layers import evaluating


class Probabilities(nn.Module):
    """Model -> softmax, so attributions are in units of probability."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).softmax(1)


# Occluded copies per forward pass hold at most this many input values (64 MB of float32).
OCCLUSION_VALUES = 1 << 24


def occlusion_maps(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, *, window: int,
                   stride: int, fill: torch.Tensor | float, per_eval: int, on: str = "probability") -> torch.Tensor:
    """N x H x W maps for normalised N x C x H x W images: the drop in the target's
    probability (or logit) when a window is covered with `fill`, in normalised units:
    a scalar, a C x 1 x 1 colour, or N x C x H x W (e.g. a blurred copy of each image).
    At most `per_eval` occluded copies go through the model at once, fewer when the
    images are large."""
    n, c, h, w = images.shape
    if window > min(h, w):
        raise UserError(f"params.yaml: saliency.window {window} is larger than the "
                        f"{h}x{w} images; choose a window of at most {min(h, w)}.")
    if stride > window:
        raise UserError(f"params.yaml: saliency.stride {stride} is larger than saliency.window "
                        f"{window}, which would leave pixels never occluded; make stride <= window.")
    if isinstance(fill, float):
        baselines: torch.Tensor | float = fill
    elif fill.dim() == 4:
        baselines = fill.to(images)
    else:
        baselines = fill.to(images).expand(c, h, w).unsqueeze(0)
    copies = images_per_batch(c * h * w, OCCLUSION_VALUES, per_eval)
    forward = Probabilities(model) if on == "probability" else model
    with evaluating(model), torch.no_grad():
        maps = Occlusion(forward).attribute(
            images, sliding_window_shapes=(c, window, window), strides=(c, stride, stride),
            baselines=baselines, target=targets, perturbations_per_eval=max(1, copies // n))
    # The window spans every channel, so each channel holds the same map.
    return maps[:, 0]
