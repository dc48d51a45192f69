"""Multi-layer perceptrons on flattened pixels (the MNIST experiments).

`mlp`: Linear -> ReLU (-> Dropout) per hidden size, then a linear classifier.
`skip_mlp`: residual blocks, each two linear layers with a ReLU between, added to
the block's input (through a linear bridge where the widths differ), then ReLU.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.models.dropout import Dropout
from cnnlab.models.settings import MLPArgs, SkipMLPArgs


def perceptron(in_features: int, hidden: list[int], dropout: float, num_classes: int) -> list[nn.Module]:
    """Linear -> ReLU (-> Dropout) per hidden size, then a linear layer to the classes."""
    layers: list[nn.Module] = []
    width = in_features
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, num_classes))
    return layers


class MLP(nn.Module):
    def __init__(self, args: MLPArgs, in_channels: int, image_size: int, num_classes: int):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), *perceptron(in_channels * image_size * image_size,
                                                           args.hidden, args.dropout, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ResidualBlock(nn.Module):
    """relu(fc2(relu(fc1(x))) + bridge(x)); bridge is the identity when widths agree."""

    def __init__(self, width_in: int, width_out: int, dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(width_in, width_out)
        self.fc2 = nn.Linear(width_out, width_out)
        self.dropout = Dropout(dropout) if dropout > 0 else nn.Identity()
        self.bridge = nn.Identity() if width_in == width_out else nn.Linear(width_in, width_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inner = self.fc2(self.dropout(torch.relu(self.fc1(x))))
        return torch.relu(inner + self.bridge(x))


class SkipMLP(nn.Module):
    def __init__(self, args: SkipMLPArgs, in_channels: int, image_size: int, num_classes: int):
        super().__init__()
        width = in_channels * image_size * image_size
        blocks: list[nn.Module] = []
        for size in args.hidden:
            blocks.append(ResidualBlock(width, size, args.dropout))
            width = size
        self.flatten = nn.Flatten()
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.blocks(self.flatten(x)))
