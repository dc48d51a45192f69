"""Every model's settings (its `model:` arguments in params.yaml): what the model registry
validates params against. Kept apart from the networks, and free of torch at import, so
that validating params (which every stage does) builds and imports no model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cnnlab.errors import UserError
from cnnlab.schema import bounded

# The names of torchvision's weights entries for each transfer architecture, so params
# are checked without importing torchvision (a test keeps them equal to torchvision's).
TRANSFER_WEIGHTS: dict[str, tuple[str, ...]] = {
    "vgg16": ("IMAGENET1K_V1", "IMAGENET1K_FEATURES"),
    "mobilenet_v2": ("IMAGENET1K_V1", "IMAGENET1K_V2"),
    "mobilenet_v3_large": ("IMAGENET1K_V1", "IMAGENET1K_V2"),
}


@dataclass(frozen=True)
class ConvNetArgs:
    # One stage per entry: `convs_per_stage` convolutions with this many filters,
    # then 2x2 max-pooling.
    channels: list[int] = bounded([32, 64], ge=1)
    kernel_size: int = bounded(5, ge=1)
    convs_per_stage: int = bounded(1, ge=1)
    hidden: int = bounded(256, ge=1)
    batch_norm: bool = False
    # "last": one dropout after the last conv stage; "all": after every conv layer.
    dropout_where: Literal["last", "all"] = "last"
    conv_dropout: float = bounded(0.0, ge=0.0, lt=1.0)
    fc_dropout: float = bounded(0.0, ge=0.0, lt=1.0)
    # Adaptive average pooling to pool_to x pool_to before the classifier (0: off), so
    # the classifier's size does not depend on the image size.
    pool_to: int = bounded(0, ge=0)


@dataclass(frozen=True)
class MyCNNArgs(ConvNetArgs):
    """Caltech-256 MyCNN: four conv-BN-ReLU-maxpool blocks 32-64-128-256, adaptive
    average pooling to 4x4, then Linear 4096->512, ReLU, Dropout 0.5."""
    channels: list[int] = bounded([32, 64, 128, 256], ge=1)
    kernel_size: int = bounded(3, ge=1)
    hidden: int = bounded(512, ge=1)
    batch_norm: bool = True
    fc_dropout: float = bounded(0.5, ge=0.0, lt=1.0)
    pool_to: int = bounded(4, ge=0)


@dataclass(frozen=True)
class ImprovedCNNArgs(MyCNNArgs):
    """MyCNN with two convs per block and dropout on the classifier's input as well."""
    convs_per_stage: int = bounded(2, ge=1)
    dropout_where: Literal["last", "all"] = "last"
    conv_dropout: float = bounded(0.5, ge=0.0, lt=1.0)


@dataclass(frozen=True)
class MLPArgs:
    hidden: list[int] = bounded([512, 256], ge=1)
    dropout: float = bounded(0.0, ge=0.0, lt=1.0)


@dataclass(frozen=True)
class SkipMLPArgs:
    # One residual block per entry, of that width.
    hidden: list[int] = bounded([256, 256, 128], ge=1)
    dropout: float = bounded(0.0, ge=0.0, lt=1.0)


@dataclass(frozen=True)
class CamCNNArgs:
    channels: list[int] = bounded([32, 64, 128, 256], ge=1)
    kernel_size: int = bounded(3, ge=1)
    dropout: float = bounded(0.1, ge=0.0, lt=1.0)


@dataclass(frozen=True)
class FastArgs:
    """airbench's network; airbench94's widths are 64, 256, 256 (a GPU setting)."""
    widths: list[int] = bounded([64, 256, 256], ge=1)
    batchnorm_momentum: float = bounded(0.4, gt=0.0, le=1.0)  # torch's convention (airbench: 0.6 in its own)
    logit_scale: float = bounded(1 / 9, gt=0.0)
    # BatchNorm's scales train (true) or stay 1 (false, airbench's: with GELU after them
    # only the biases matter much, and fewer parameters move).
    batchnorm_weights: bool = False


@dataclass(frozen=True)
class ResNetArgs:
    form: Literal["auto", "cifar", "imagenet"] = "auto"


@dataclass(frozen=True)
class TransferArgs:
    # A torchvision weights entry (DEFAULT, IMAGENET1K_V1, ...) or none (random init).
    weights: str = "DEFAULT"
    # A local state dict of the torchvision model, used instead of the download.
    weights_path: str = ""
    # backbone | none | a backbone layer name (it and every layer before it are frozen)
    freeze: str = "backbone"
    # Hidden sizes of the new head (empty: a single linear layer), and its dropout.
    head: list[int] = bounded([256], ge=1)
    head_dropout: float = bounded(0.2, ge=0.0, lt=1.0)
    # Images are resized to input_size x input_size inside the model.
    input_size: int = bounded(224, ge=32)

    @property
    def pretrained(self) -> bool:
        return self.weights.lower() != "none" or bool(self.weights_path)


def check_transfer(arch: str, args: TransferArgs, where: str) -> None:
    """What the argument types cannot say: the weights name, and the layer to freeze up to."""
    known = ("DEFAULT",) + TRANSFER_WEIGHTS[arch]
    if args.weights.lower() != "none" and args.weights not in known:
        raise UserError(f"params.yaml: {where}.weights '{args.weights}' is not a weights entry of {arch}; "
                        f"choose one of {', '.join(known)}, or none.")
    if args.weights.lower() == "none" and args.weights_path:
        raise UserError(f"params.yaml: {where}.weights_path is set but {where}.weights is none; "
                        f"name the weights the file holds (e.g. DEFAULT) so their statistics are used.")
    if args.weights.lower() == "none" and args.freeze != "none":
        raise UserError(f"params.yaml: {where}.freeze is '{args.freeze}' but weights is none: a frozen "
                        f"random backbone learns nothing. Set freeze: none, or use pretrained weights.")
    if args.freeze not in ("backbone", "none"):
        names = [f"features.{n}" for n, _ in backbone_layers(arch)]
        if args.freeze not in names:
            tops = [n for n in names if n.count(".") == 1]
            raise UserError(f"params.yaml: {where}.freeze '{args.freeze}' is not a layer of {arch}'s "
                            f"backbone; use backbone, none, or one of {', '.join(tops)}.")


def backbone_layers(arch: str) -> list[tuple[str, object]]:
    """The named layers of torchvision's `features` for arch, built on the meta device
    (no memory, no init); torchvision is imported only when a freeze layer is named."""
    import torch
    from torchvision import models as tvm

    with torch.device("meta"):
        return [(n, m) for n, m in tvm.get_model(arch, weights=None).features.named_modules() if n]
