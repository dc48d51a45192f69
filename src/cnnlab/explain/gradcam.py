"""Grad-CAM and Grad-CAM++: a layer's activations weighted by the target logit's gradient.

The activations are taken with a forward hook that hands the rest of the network a
copy of the layer's output, so an in-place ReLU right after the layer (common in
torchvision models) cannot overwrite what was stored; their gradient comes from
torch.autograd.grad, so no module backward hooks are involved and nothing lands in
the parameters' `.grad`. Maps are signed (not rectified, as in Captum's
LayerGradCam) and upsampled bilinearly to the input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.explain.layers import evaluating, find_layer


def layer_activations_and_gradients(model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                                    layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, dlogit_target/dA) of `layer` for each image: two B x K x h x w tensors."""
    stored: list[torch.Tensor] = []

    def keep(_module, _inputs, output):
        stored.append(output)
        return output.clone()  # what the rest of the network may modify in place

    handle = layer.register_forward_hook(keep)
    try:
        with evaluating(model), torch.enable_grad():
            # Input gradients make every activation part of the graph, frozen backbone or not.
            logits = model(images.detach().clone().requires_grad_(True))
            if not stored:
                raise RuntimeError(f"{type(layer).__name__} was not used by the model's forward pass")
            score = logits.gather(1, targets.view(-1, 1)).sum()  # images are independent in eval mode
            (gradients,) = torch.autograd.grad(score, stored[-1])
    finally:
        handle.remove()
    return stored[-1].detach(), gradients.detach()


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(maps.unsqueeze(1), size=size, mode="bilinear", align_corners=False).squeeze(1)


def gradcam_maps(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, layer_name: str = "",
                 plus: bool = False) -> torch.Tensor:
    """B x H x W Grad-CAM (or Grad-CAM++) maps of `targets` at `layer_name` (default: the last conv)."""
    _, layer = find_layer(model, layer_name)
    activations, gradients = layer_activations_and_gradients(model, images, targets, layer)
    if plus:
        weights = gradcam_plus_plus_weights(activations, gradients)
    else:
        weights = gradients.mean(dim=(2, 3), keepdim=True)
    return upsample((weights * activations).sum(1), images.shape[-2:])


def gradcam_plus_plus_weights(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
    """Chattopadhyay et al.'s channel weights, with the exponential-score closed form
    (higher derivatives of exp(score) as powers of the first), as in pytorch-grad-cam."""
    g2, g3 = gradients.pow(2), gradients.pow(3)
    denominator = 2 * g2 + activations.sum(dim=(2, 3), keepdim=True) * g3
    alpha = g2 / torch.where(denominator != 0, denominator, torch.ones_like(denominator))
    return (alpha * F.relu(gradients)).sum(dim=(2, 3), keepdim=True)
