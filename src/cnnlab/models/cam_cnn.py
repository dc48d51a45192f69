"""A configurable CNN whose head is global average pooling + one linear layer.

That head is what Class Activation Mapping needs: the logit of class k is the
spatial mean of sum_c w[k, c] * A_c plus a bias, where A is the last conv layer's
output, so the map sum_c w[k, c] * A_c says where the evidence for k lies. Every
layer but the last is conv -> BatchNorm -> ReLU -> Dropout -> MaxPool (as the
Imagenette experiment used); the last one has no pooling, so its maps go to the
GAP unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.models.checks import require_poolable
from cnnlab.models.dropout import Dropout
from cnnlab.models.settings import CamCNNArgs


class CamCNN(nn.Module):
    """features (conv layers) -> pool (GAP) -> fc (linear): the CAM layer is features[-1]'s output."""

    def __init__(self, args: CamCNNArgs, in_channels: int, image_size: int, num_classes: int):
        super().__init__()
        pools = len(args.channels) - 1
        require_poolable(image_size, pools, "cam_cnn")
        layers: list[nn.Module] = []
        width = in_channels
        for i, out in enumerate(args.channels):
            layers += [nn.Conv2d(width, out, args.kernel_size, padding="same", bias=False),
                       nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            if args.dropout > 0:
                layers.append(Dropout(args.dropout))
            if i < pools:
                layers.append(nn.MaxPool2d(2))
            width = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)))

    def cam_parts(self) -> tuple[nn.Module, nn.Linear]:
        """(the layers before the GAP, the linear head): what CAM reads."""
        return self.features, self.fc
