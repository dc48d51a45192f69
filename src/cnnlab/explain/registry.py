"""The one saliency registry: method name -> function producing N x H x W maps.

Every method takes (model, normalised images, target classes, SaliencyParams,
normaliser) so a stage can run any of them the same way.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from cnnlab.data.loader import Normalizer
from cnnlab.explain.occlusion import occlusion_maps
from cnnlab.params import SaliencyParams

SaliencyFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, SaliencyParams, Normalizer], torch.Tensor]


def occlusion_fill(p: SaliencyParams, normalizer: Normalizer) -> torch.Tensor | float:
    """'mean' is 0 after normalisation; a grey level is mapped channel by channel."""
    if p.fill == "mean":
        return 0.0
    return normalizer(torch.full((1, normalizer.mean.shape[1], 1, 1), float(p.fill)))[0]


def _occlusion(model, images, targets, p: SaliencyParams, normalizer: Normalizer) -> torch.Tensor:
    return occlusion_maps(model, images, targets, window=p.window, stride=p.stride,
                          fill=occlusion_fill(p, normalizer), per_eval=p.batch_size)


SALIENCY: dict[str, SaliencyFn] = {
    "occlusion": _occlusion,
}
