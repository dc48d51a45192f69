"""Input-gradient methods, through Captum: the vanilla gradient and integrated gradients.

Both give a C x H x W attribution per image; the map is its sum over channels, signed
(positive: raising those pixels raises the target logit)."""

from __future__ import annotations

import torch
from captum.attr import IntegratedGradients, Saliency
from torch import nn

from cnnlab.explain.layers import evaluating


def _summed(attributions: torch.Tensor) -> torch.Tensor:
    return attributions.sum(1).detach()


def gradient_maps(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    with evaluating(model):
        return _summed(Saliency(model).attribute(images, target=targets, abs=False))


def integrated_gradient_maps(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, *,
                             steps: int, per_eval: int) -> torch.Tensor:
    """Integrated gradients from the all-zero input: the training mean colour once normalised."""
    with evaluating(model):
        attributions = IntegratedGradients(model).attribute(
            images, baselines=torch.zeros_like(images), target=targets, n_steps=steps,
            internal_batch_size=max(len(images), per_eval))
    return _summed(attributions)
