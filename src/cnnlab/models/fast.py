"""The fast CIFAR-10 network, after Keller Jordan's airbench: a first layer of 2x2 patch
filters that whiten the training images' patches (set from the data, then frozen), then
blocks of conv -> max-pool -> BatchNorm -> GELU -> conv -> BatchNorm -> GELU (convolutions
that start as the identity where they can, BatchNorm without scales by default), a global
max-pool and a linear head whose logits are scaled down (airbench's 1/9).

The whitening layer has 2k filters for the k = channels x 2 x 2 values of a patch: the
eigenvectors of the patches' covariance, each divided by the square root of its
eigenvalue, and their negatives (so the GELU after it keeps both signs). On the training
patches, the first k outputs then have the identity as covariance.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from cnnlab.errors import UserError
from cnnlab.models.settings import FastArgs

# Whitening is estimated on at most this many training images (airbench uses 5,000).
WHITEN_IMAGES = 5000


def batch_norm(c: int, momentum: float, weights: bool) -> nn.BatchNorm2d:
    norm = nn.BatchNorm2d(c, eps=1e-12, momentum=momentum)  # airbench's eps
    norm.weight.requires_grad_(weights)  # false: the scale stays 1
    return norm


def identity_conv(c_in: int, c_out: int) -> nn.Conv2d:
    """A 3x3 convolution whose first c_in filters start as the identity (torch's dirac_):
    an implicit residual at initialisation, airbench's; the rest keep torch's default init."""
    conv = nn.Conv2d(c_in, c_out, 3, padding="same", bias=False)
    with torch.no_grad():
        nn.init.dirac_(conv.weight[:min(c_in, c_out)])
    return conv


class ConvGroup(nn.Module):
    def __init__(self, c_in: int, c_out: int, momentum: float, norm_weights: bool = False):
        super().__init__()
        self.conv1 = identity_conv(c_in, c_out)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = batch_norm(c_out, momentum, norm_weights)
        self.conv2 = identity_conv(c_out, c_out)
        self.norm2 = batch_norm(c_out, momentum, norm_weights)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.norm1(self.pool(self.conv1(x))))
        return self.act(self.norm2(self.conv2(x)))


class FastNet(nn.Module):
    def __init__(self, args: FastArgs, in_channels: int, image_size: int, num_classes: int):
        super().__init__()
        if (image_size - 1) >> len(args.widths) < 1:  # the 2x2 whitening trims a pixel, each group halves
            raise UserError(f"params.yaml: data.image_size {image_size} is too small for fast's {len(args.widths)} "
                            "groups (each halves the size); raise data.image_size or list fewer model.widths.")
        k = in_channels * 4
        self.whiten = nn.Conv2d(in_channels, 2 * k, kernel_size=2, padding=0, bias=True)
        self.whiten.weight.requires_grad_(False)  # set from the data by init_from_data, then fixed
        self.act = nn.GELU()
        groups, width = [], 2 * k
        for out in args.widths:
            groups.append(ConvGroup(width, out, args.batchnorm_momentum, args.batchnorm_weights))
            width = out
        self.groups = nn.Sequential(*groups)
        self.pool = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten())
        self.head = nn.Linear(width, num_classes, bias=False)
        self.scale = args.logit_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.groups(self.act(self.whiten(x))))) * self.scale

    @torch.no_grad()
    def init_from_data(self, training_images: Callable[[int], torch.Tensor], eps: float = 5e-4) -> None:
        """Set the whitening filters from WHITEN_IMAGES training images (`training_images(n)`:
        n of them, or all there are, normalised, N x C x H x W)."""
        weight = whitening_filters(training_images(WHITEN_IMAGES).float(), eps)
        self.whiten.weight.copy_(torch.cat([weight, -weight]).to(self.whiten.weight))


def whitening_filters(images: torch.Tensor, eps: float) -> torch.Tensor:
    """k filters of shape C x 2 x 2 (k = C*4) that map the images' 2x2 patches to outputs
    with the identity as covariance: eigenvectors of the patch covariance over sqrt(eigenvalue + eps)."""
    c = images.shape[1]
    patches = images.unfold(2, 2, 1).unfold(3, 2, 1)  # N x C x H-1 x W-1 x 2 x 2
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * 4).double()
    patches = patches - patches.mean(0)
    cov = patches.T @ patches / len(patches)
    values, vectors = torch.linalg.eigh(cov)
    return (vectors.T / (values + eps).sqrt()[:, None]).reshape(c * 4, c, 2, 2).float()
