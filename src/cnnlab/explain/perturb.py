"""The blurred copy of an image that occlusion (fill: blur) and the insertion metric start from."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """The 1-D kernel torchvision's gaussian_blur uses: 2*ceil(2 sigma)+1 taps, normalised."""
    radius = math.ceil(2 * sigma)
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def blurred(images: torch.Tensor) -> torch.Tensor:
    """A strong Gaussian blur (sigma a sixteenth of the image side, at least one pixel;
    reflected borders): shapes and colours survive, the detail a classifier keys on does not.
    Separable, as torchvision's gaussian_blur (the tests compare them), without importing
    torchvision's transforms in every stage."""
    n, c, h, w = images.shape
    sigma = max(1.0, min(h, w) / 16)
    kernel = gaussian_kernel(sigma).to(images)
    r = len(kernel) // 2
    x = F.pad(images.reshape(n * c, 1, h, w), (r, r, r, r), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1))
    x = F.conv2d(x, kernel.view(1, 1, -1, 1))
    return x.view(n, c, h, w)
