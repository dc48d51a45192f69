"""The configurable CNN behind the CIFAR-10 ablation ladder and the Caltech-256 CNNs.

One builder covers the 5x5 baseline, stacked 3x3 filters, both dropout placements,
BatchNorm and an adaptive pooling before the classifier: each is a different set of
arguments, so variants differ only in what params.yaml says they differ in.
`mycnn` and `improved_cnn` are this builder with other defaults (presets), so the
Caltech-256 experiments and the ladder share one implementation.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.models.checks import require_poolable
from cnnlab.models.dropout import Dropout
from cnnlab.models.settings import ConvNetArgs


class ConvNet(nn.Module):
    """conv stages -> flatten -> hidden linear -> class logits."""

    def __init__(self, args: ConvNetArgs, in_channels: int, image_size: int, num_classes: int):
        super().__init__()
        require_poolable(image_size, len(args.channels), "the model")
        layers: list[nn.Module] = []
        width = in_channels
        for out in args.channels:
            for _ in range(args.convs_per_stage):
                layers.append(nn.Conv2d(width, out, args.kernel_size, padding="same",
                                        bias=not args.batch_norm))
                if args.batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU(inplace=True))
                if args.dropout_where == "all" and args.conv_dropout > 0:
                    layers.append(Dropout(args.conv_dropout))
                width = out
            layers.append(nn.MaxPool2d(2))
        side = image_size >> len(args.channels)
        if args.pool_to > 0:
            layers.append(nn.AdaptiveAvgPool2d(args.pool_to))
            side = args.pool_to
        if args.dropout_where == "last" and args.conv_dropout > 0:
            layers.append(Dropout(args.conv_dropout))
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = [nn.Flatten(), nn.Linear(width * side * side, args.hidden),
                                 nn.ReLU(inplace=True)]
        if args.fc_dropout > 0:
            head.append(Dropout(args.fc_dropout))
        head.append(nn.Linear(args.hidden, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
