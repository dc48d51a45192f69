"""Building the registry's models: what training, checkpoints and explanations call.

Every module a registry entry names is imported here, so whatever builds a model
depends on all the model code (dvc.yaml's deps follow imports), and nothing that only
validates params does.
"""

from __future__ import annotations

from torch import nn

from cnnlab.models import cam_cnn, convnet, fast, mlp, resnet, transfer  # every module MODELS names
from cnnlab.models.registry import ModelSpec
from cnnlab.registry import resolve

Stats = tuple[list[float], list[float]]
MODULES = (cam_cnn, convnet, fast, mlp, resnet, transfer)


def build_model(spec: ModelSpec, in_channels: int, image_size: int, num_classes: int, *,
                pretrained: bool = False) -> nn.Module:
    """Instantiate; input shape and class count always come from the data.

    pretrained: load the model's pretrained weights (for training). A trained
    checkpoint is rebuilt without them, since its own state dict replaces them.
    """
    entry = spec.entry
    model = resolve(entry.make, MODULES)(*entry.bound, spec.args, in_channels, image_size, num_classes)
    if pretrained and hasattr(model, "load_pretrained"):
        model.load_pretrained()
    return model


def input_stats(spec: ModelSpec, in_channels: int) -> Stats | None:
    """The normalisation a model's weights were trained with, or None to use the dataset's."""
    entry = spec.entry
    return resolve(entry.stats, MODULES)(*entry.bound, spec.args, in_channels) if entry.stats else None


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
