"""The one model registry: a name in params.yaml -> its settings, its builder and what it has.

Light on purpose (cnnlab/registry.py: the one registry pattern): params validation (every
stage) reads the settings classes and checks from here and imports no network. Each entry
names its builder as "module:function"; models/build.py imports every module the entries
name and builds from them, so a stage that builds a model depends on the model code, and
one that only reads params does not.
Adding a model: its settings class in models/settings.py, its network in a module of its
own, one entry here (and its module in build.py's import list; a test checks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from cnnlab.errors import UserError
from cnnlab.models.settings import (
    CamCNNArgs,
    ConvNetArgs,
    FastArgs,
    ImprovedCNNArgs,
    MLPArgs,
    MyCNNArgs,
    ResNetArgs,
    SkipMLPArgs,
    TransferArgs,
    check_transfer,
)
from cnnlab.schema import build

# What the saliency methods may need of a model (explain/registry.py's words; a test
# builds every model and checks each entry's claim).
CONV, CAM = frozenset({"convolutions"}), frozenset({"cam_head"})


def _no_check(args: Any, where: str) -> None:
    return None


@dataclass(frozen=True)
class ModelEntry:
    args: type  # the settings dataclass (models/settings.py)
    # "module:function" building (*bound, args, in_channels, image_size, num_classes) -> logits
    make: str
    summary: str
    bound: tuple = ()  # leading arguments of make (and stats): a transfer model's architecture
    # "module:function" giving (*bound, args, in_channels) -> the input normalisation the
    # weights need instead of the dataset's (pretrained models), or "" for none
    stats: str = ""
    # Checks that need more than the argument types (run once, when params are loaded).
    check: Callable[[Any, str], None] = _no_check
    features: frozenset[str] = field(default_factory=frozenset)


def _transfer(arch: str, summary: str) -> ModelEntry:
    return ModelEntry(TransferArgs, "cnnlab.models.transfer:TransferNet", summary, bound=(arch,),
                      stats="cnnlab.models.transfer:input_stats", check=partial(check_transfer, arch), features=CONV)


MODELS: dict[str, ModelEntry] = {
    "convnet": ModelEntry(ConvNetArgs, "cnnlab.models.convnet:ConvNet",
                          "configurable CNN: conv stages + max-pool, hidden linear, optional BN/dropout",
                          features=CONV),
    "mycnn": ModelEntry(MyCNNArgs, "cnnlab.models.convnet:ConvNet",
                        "Caltech-256 MyCNN: 4 conv-BN-ReLU-maxpool blocks 32-256, 4x4 avg-pool, 512 hidden",
                        features=CONV),
    "improved_cnn": ModelEntry(ImprovedCNNArgs, "cnnlab.models.convnet:ConvNet",
                               "Caltech-256 ImprovedCNN: MyCNN with two convs per block and more dropout",
                               features=CONV),
    "cam_cnn": ModelEntry(CamCNNArgs, "cnnlab.models.cam_cnn:CamCNN",
                          "configurable CNN with a global-average-pool + linear head (CAM-ready)",
                          features=CONV | CAM),
    "fast": ModelEntry(FastArgs, "cnnlab.models.fast:FastNet",
                       "airbench's CIFAR-10 net: 2x2 patch-whitening layer set from the data, conv-pool-BN-GELU "
                       "groups, global max-pool", features=CONV),
    "resnet18": ModelEntry(ResNetArgs, "cnnlab.models.resnet:build_resnet18",
                           "ResNet-18, CIFAR form (3x3 stem) for small images, ImageNet form for large",
                           features=CONV | CAM),
    "mlp": ModelEntry(MLPArgs, "cnnlab.models.mlp:MLP", "multi-layer perceptron on flattened pixels"),
    "skip_mlp": ModelEntry(SkipMLPArgs, "cnnlab.models.mlp:SkipMLP",
                           "residual MLP: blocks of two linear layers with a skip"),
    "vgg16": _transfer("vgg16", "VGG16 (ImageNet), new head on its 512x7x7 features"),
    "mobilenet_v2": _transfer("mobilenet_v2", "MobileNetV2 (ImageNet), new head on its 1280 pooled features"),
    "mobilenet_v3_large": _transfer("mobilenet_v3_large",
                                    "MobileNetV3-Large (ImageNet), new head on its 960 pooled features"),
}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    args: Any

    @property
    def entry(self) -> ModelEntry:
        return MODELS[self.name]


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
