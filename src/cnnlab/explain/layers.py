"""A model's layers for an explanation: finding Grad-CAM's layer, and running the model
without changing it.

Every saliency method evaluates the model in eval mode (train-mode BatchNorm would
make a map depend on its batch and move the running statistics) and must hand the
model back exactly as it found it: each module's own train/eval flag (a frozen
backbone is kept in eval inside a model in train mode), its parameters, and no
gradients left in `.grad`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn

from cnnlab.errors import UserError


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """The model in eval mode for the block; every module's own mode restored after."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def find_layer(model: nn.Module, name: str = "") -> tuple[str, nn.Module]:
    """The named layer, or the model's last convolution (in definition order) when name is ''."""
    if not name:
        convs = conv_layers(model)
        if not convs:
            raise UserError(f"{type(model).__name__} has no convolution layer for Grad-CAM; "
                            f"name a layer with saliency.target_layer or use another method.")
        return convs[-1]
    layers = dict(model.named_modules())
    if name not in layers:
        convs = [n for n, _ in conv_layers(model)][-5:]
        raise UserError(f"saliency.target_layer '{name}' is not a layer of {type(model).__name__}; "
                        f"its last convolutions are {', '.join(convs) or 'none'}. Fix it in params.yaml.")
    return name, layers[name]
