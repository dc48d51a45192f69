"""The configurable CNN behind the CIFAR-10 ablation ladder and the Caltech-256 CNNs.

One builder covers the 5x5 baseline, stacked 3x3 filters, both dropout placements,
BatchNorm and an adaptive pooling before the classifier: each is a different set of
arguments, so variants differ only in what params.yaml says they differ in.
`mycnn` and `improved_cnn` are this builder with other defaults (presets), so the
Caltech-256 experiments and the ladder share one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from cnnlab.models.checks import require_poolable
from cnnlab.schema import bounded


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


class ConvNet(nn.Module):
    """conv stages -> flatten -> hidden linear -> class logits."""

    def __init__(self, args: ConvNetArgs, in_channels: int, image_size: int, num_classes: int):
        super().__init__()
        require_poolable(image_size, len(args.channels), "the model")
        layers: list[nn.Module] = []
        width = in_channels
        for stage, out in enumerate(args.channels):
            for _ in range(args.convs_per_stage):
                layers.append(nn.Conv2d(width, out, args.kernel_size, padding="same",
                                        bias=not args.batch_norm))
                if args.batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU(inplace=True))
                if args.dropout_where == "all" and args.conv_dropout > 0:
                    layers.append(nn.Dropout(args.conv_dropout))
                width = out
            layers.append(nn.MaxPool2d(2))
        side = image_size >> len(args.channels)
        if args.pool_to > 0:
            layers.append(nn.AdaptiveAvgPool2d(args.pool_to))
            side = args.pool_to
        if args.dropout_where == "last" and args.conv_dropout > 0:
            layers.append(nn.Dropout(args.conv_dropout))
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = [nn.Flatten(), nn.Linear(width * side * side, args.hidden),
                                 nn.ReLU(inplace=True)]
        if args.fc_dropout > 0:
            head.append(nn.Dropout(args.fc_dropout))
        head.append(nn.Linear(args.hidden, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
