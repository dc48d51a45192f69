"""Name -> (argument dataclass, constructor). Adding a model is one entry here."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

from torch import nn

from cnnlab.errors import UserError
from cnnlab.models import transfer
from cnnlab.models.cam_cnn import CamCNN, CamCNNArgs
from cnnlab.models.convnet import ConvNet, ConvNetArgs, ImprovedCNNArgs, MyCNNArgs
from cnnlab.models.mlp import MLP, MLPArgs, SkipMLP, SkipMLPArgs
from cnnlab.models.resnet import ResNetArgs, build_resnet18
from cnnlab.schema import build

Stats = tuple[list[float], list[float]]
CONV, CAM = frozenset({"convolutions"}), frozenset({"cam_head"})


def _no_stats(args: Any, in_channels: int) -> Stats | None:
    return None


def _no_check(args: Any, where: str) -> None:
    return None


@dataclass(frozen=True)
class ModelEntry:
    args: type
    # (args, in_channels, image_size, num_classes) -> module producing logits
    make: Callable[[Any, int, int, int], nn.Module]
    summary: str
    # The input normalisation the model needs instead of the dataset's (pretrained weights).
    input_stats: Callable[[Any, int], Stats | None] = _no_stats
    # Checks that need more than the argument types (run once, when params are loaded).
    check: Callable[[Any, str], None] = _no_check
    # What the saliency methods may need of it (explain/registry.py's words; a test
    # builds every model and checks the claim).
    features: frozenset[str] = frozenset()


def _transfer(arch: str) -> ModelEntry:
    return ModelEntry(transfer.TransferArgs, partial(transfer.TransferNet, arch),
                      transfer.ARCHITECTURES[arch].summary,
                      input_stats=partial(transfer.input_stats, arch), check=partial(transfer.check_args, arch),
                      features=CONV)


MODELS: dict[str, ModelEntry] = {
    "convnet": ModelEntry(ConvNetArgs, ConvNet,
                          "configurable CNN: conv stages + max-pool, hidden linear, optional BN/dropout",
                          features=CONV),
    "mycnn": ModelEntry(MyCNNArgs, ConvNet,
                        "Caltech-256 MyCNN: 4 conv-BN-ReLU-maxpool blocks 32-256, 4x4 avg-pool, 512 hidden",
                        features=CONV),
    "improved_cnn": ModelEntry(ImprovedCNNArgs, ConvNet,
                               "Caltech-256 ImprovedCNN: MyCNN with two convs per block and more dropout",
                               features=CONV),
    "cam_cnn": ModelEntry(CamCNNArgs, CamCNN,
                          "configurable CNN with a global-average-pool + linear head (CAM-ready)",
                          features=CONV | CAM),
    "resnet18": ModelEntry(ResNetArgs, build_resnet18,
                           "ResNet-18, CIFAR form (3x3 stem) for small images, ImageNet form for large",
                           features=CONV | CAM),
    "mlp": ModelEntry(MLPArgs, MLP, "multi-layer perceptron on flattened pixels"),
    "skip_mlp": ModelEntry(SkipMLPArgs, SkipMLP, "residual MLP: blocks of two linear layers with a skip"),
    "vgg16": _transfer("vgg16"),
    "mobilenet_v2": _transfer("mobilenet_v2"),
    "mobilenet_v3_large": _transfer("mobilenet_v3_large"),
}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    args: Any


def parse_model_spec(raw: Any, where: str) -> ModelSpec:
    """Validate a ``model:`` mapping (``name`` plus that model's arguments)."""
    if not isinstance(raw, dict) or "name" not in raw:
        raise UserError(f"params.yaml: {where} must be a mapping with a 'name' "
                        f"(one of {', '.join(MODELS)}), got {raw!r}.")
    name = raw["name"]
    if name not in MODELS:
        raise UserError(f"params.yaml: {where}.name '{name}' is not a known model; "
                        f"choose one of {', '.join(MODELS)}.")
    args = build(MODELS[name].args, {k: v for k, v in raw.items() if k != "name"}, where)
    MODELS[name].check(args, where)
    return ModelSpec(name, args)


def build_model(spec: ModelSpec, in_channels: int, image_size: int, num_classes: int, *,
                pretrained: bool = False) -> nn.Module:
    """Instantiate; input shape and class count always come from the data.

    pretrained: load the model's pretrained weights (for training). A trained
    checkpoint is rebuilt without them, since its own state dict replaces them.
    """
    model = MODELS[spec.name].make(spec.args, in_channels, image_size, num_classes)
    if pretrained and hasattr(model, "load_pretrained"):
        model.load_pretrained()
    return model


def input_stats(spec: ModelSpec, in_channels: int) -> Stats | None:
    """The normalisation a model's weights were trained with, or None to use the dataset's."""
    return MODELS[spec.name].input_stats(spec.args, in_channels)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
