"""Per-sample augmentation applied to a whole batch at once.

Each image in the batch draws its own flip, crop offset, jitter factors and cutout
position from one seeded generator, but the work is a handful of tensor ops per
batch rather than a PIL call per image. Inputs are float images on the 0..1 scale.
The colour ops follow torchvision's adjust_brightness/contrast/saturation formulas
(tests compare against them).
"""

from __future__ import annotations

import torch

from cnnlab.params import AugmentParams


def _uniform(n: int, low: float, high: float, g: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=g, device=device) * (high - low) + low


def random_hflip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    flip = torch.rand(len(x), generator=g, device=x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def crop_at(x: torch.Tensor, padding: int, top: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
    """Zero-pad by `padding`, then take an H x W window at (top, left) per image."""
    n, c, h, w = x.shape
    wide = w + 2 * padding
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    rows = top.view(n, 1, 1) + torch.arange(h, device=x.device).view(1, h, 1)
    cols = left.view(n, 1, 1) + torch.arange(w, device=x.device).view(1, 1, w)
    # One gather over the flattened padded image: far cheaper than 4-D fancy indexing.
    flat = (rows * wide + cols).view(n, 1, h * w).expand(n, c, h * w)
    return padded.flatten(2).gather(2, flat).view(n, c, h, w)


def random_crop(x: torch.Tensor, padding: int, g: torch.Generator) -> torch.Tensor:
    n = len(x)
    top = torch.randint(0, 2 * padding + 1, (n,), generator=g, device=x.device)
    left = torch.randint(0, 2 * padding + 1, (n,), generator=g, device=x.device)
    return crop_at(x, padding, top, left)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    r, gr, b = x.unbind(1)
    return (0.2989 * r + 0.587 * gr + 0.114 * b).unsqueeze(1)


def _blend_(x: torch.Tensor, other: torch.Tensor | float, ratio: torch.Tensor) -> torch.Tensor:
    """In place: ratio * x + (1 - ratio) * other, clamped to [0, 1] (torchvision's _blend)."""
    ratio = ratio.view(-1, 1, 1, 1)
    x.mul_(ratio)
    if not isinstance(other, float) or other != 0.0:
        x.add_((1.0 - ratio) * other)
    return x.clamp_(0.0, 1.0)


def adjust_colors(x: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor,
                  saturation: torch.Tensor) -> torch.Tensor:
    """Brightness, then contrast, then saturation, each factor per image."""
    x = _blend_(x.clone(), 0.0, brightness)
    _blend_(x, grayscale(x).mean(dim=(1, 2, 3), keepdim=True), contrast)
    if x.shape[1] == 3:
        _blend_(x, grayscale(x), saturation)
    return x


def color_jitter(x: torch.Tensor, strength: float, g: torch.Generator) -> torch.Tensor:
    n, lo, hi = len(x), max(0.0, 1.0 - strength), 1.0 + strength
    return adjust_colors(x, _uniform(n, lo, hi, g, x.device), _uniform(n, lo, hi, g, x.device),
                         _uniform(n, lo, hi, g, x.device))


def cutout(x: torch.Tensor, size: int, g: torch.Generator, fill: float = 0.0) -> torch.Tensor:
    """Fill one size x size square per image (clipped at the border), centred anywhere."""
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=g, device=x.device).view(n, 1, 1)
    cx = torch.randint(0, w, (n,), generator=g, device=x.device).view(n, 1, 1)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    half = size // 2
    inside = (ys >= cy - half) & (ys < cy - half + size) & (xs >= cx - half) & (xs < cx - half + size)
    return x.masked_fill(inside.unsqueeze(1), fill)


class BatchAugment:
    """The training-time augmentation of one variant."""

    def __init__(self, params: AugmentParams, generator: torch.Generator):
        self.params = params
        self.g = generator

    def before_normalize(self, x: torch.Tensor) -> torch.Tensor:
        p = self.params
        if p.hflip:
            x = random_hflip(x, self.g)
        if p.crop_padding > 0:
            x = random_crop(x, p.crop_padding, self.g)
        if p.color_jitter > 0:
            x = color_jitter(x, p.color_jitter, self.g)
        return x

    def after_normalize(self, x: torch.Tensor) -> torch.Tensor:
        # Cutout fills with 0 after normalisation, i.e. the training mean colour.
        if self.params.cutout > 0:
            x = cutout(x, self.params.cutout, self.g)
        return x
