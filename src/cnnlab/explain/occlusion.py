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

from cnnlab.errors import UserError


class Probabilities(nn.Module):
    """Model -> softmax, so attributions are in units of probability."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).softmax(1)


def occlusion_maps(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, *, window: int,
                   stride: int, fill: torch.Tensor | float, per_eval: int) -> torch.Tensor:
    """N x H x W maps for normalised N x C x H x W images; fill is in normalised units
    (a scalar or a C x 1 x 1 per-channel value)."""
    n, c, h, w = images.shape
    if window > min(h, w):
        raise UserError(f"params.yaml: saliency.window {window} is larger than the "
                        f"{h}x{w} images; choose a window of at most {min(h, w)}.")
    if stride > window:
        raise UserError(f"params.yaml: saliency.stride {stride} is larger than saliency.window "
                        f"{window}, which would leave pixels never occluded; make stride <= window.")
    baselines = fill if isinstance(fill, float) else fill.to(images).expand(c, h, w).unsqueeze(0)
    was_training = model.training
    model.eval()  # train-mode BatchNorm would make each map depend on its batch
    try:
        with torch.no_grad():
            maps = Occlusion(Probabilities(model)).attribute(
                images, sliding_window_shapes=(c, window, window), strides=(c, stride, stride),
                baselines=baselines, target=targets, perturbations_per_eval=max(1, per_eval // n))
    finally:
        model.train(was_training)
    # The window spans every channel, so each channel holds the same map.
    return maps[:, 0]
