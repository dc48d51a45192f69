"""Class Activation Mapping for models whose head is global average pooling + one linear layer.

With that head, logit_k = sum over locations of sum_c w[k, c] * A_c / (h * w) + b_k,
where A is the h x w feature map before the pooling, so one forward pass gives every
class's map: sum_c w[k, c] * A_c / (h * w), each location's share of the logit (Zhou
et al.'s map divided by h * w, which makes it equal Grad-CAM at that layer). Maps are
upsampled bilinearly to the input size.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.errors import UserError
from cnnlab.explain.gradcam import upsample
from cnnlab.explain.layers import evaluating


def cam_parts(model: nn.Module) -> tuple[nn.Module, nn.Linear]:
    """(features, linear) of a GAP + linear model; a clear error for any other."""
    from torchvision.models import ResNet

    if hasattr(model, "cam_parts"):
        return model.cam_parts()
    if isinstance(model, ResNet):
        body = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool,
                             model.layer1, model.layer2, model.layer3, model.layer4)
        return body, model.fc
    last = [name for name, m in model.named_modules() if m is not model][-1:] or ["(none)"]
    raise UserError(f"CAM needs a global-average-pool + linear head, and {type(model).__name__} has none "
                    f"(its last layer is '{last[0]}'); use gradcam for this model (saliency.methods).")


def cam_all_classes(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """B x classes x H x W: every class's CAM, from one forward pass."""
    features, linear = cam_parts(model)
    with evaluating(model), torch.no_grad():
        activations = features(images)  # B x K x h x w
        b, _, h, w = activations.shape
        maps = torch.einsum("ck,bkhw->bchw", linear.weight, activations) / (h * w)
    c = maps.shape[1]
    return upsample(maps.reshape(b * c, h, w), images.shape[-2:]).view(b, c, *images.shape[-2:])


def cam_maps(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    everything = cam_all_classes(model, images)
    return everything[torch.arange(len(images), device=everything.device), targets]
