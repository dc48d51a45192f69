"""Per-sample augmentation applied to a whole batch at once.

Each image in the batch draws its own flip, crop offset, jitter factors and cutout
position from one seeded generator, but the work is a handful of tensor ops per
batch rather than a PIL call per image. Inputs are float images on the 0..1 scale.
The colour ops follow torchvision's adjust_brightness/contrast/saturation formulas
(tests compare against them).
"""

from __future__ import annotations

import math

import torch

from cnnlab.params import AugmentParams


def _uniform(n: int, low: float, high: float, g: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=g, device=device) * (high - low) + low


def random_hflip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return flip_where(x, torch.rand(len(x), generator=g, device=x.device) < 0.5)


def flip_where(x: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """The images of x mirrored left-right where `flip` (one bool per image) is true."""
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def alternating_flips(rows: torch.Tensor, first: torch.Tensor, epoch: int) -> torch.Tensor:
    """Which images of a batch to flip in this epoch (1, 2, ...) under alternating flips:
    each row's own draw `first[row]` in odd epochs, its opposite in even ones."""
    return first[rows] ^ (epoch % 2 == 0)


Fill = torch.Tensor | str | None  # zeros (None), a per-channel colour (1 x C x 1 x 1), or "reflect"


def pad(x: torch.Tensor, padding: int, fill: Fill = None) -> torch.Tensor:
    """Pad every side by `padding` with zeros, with a per-channel colour, or mirrored."""
    if fill is None or isinstance(fill, str):
        return torch.nn.functional.pad(x, (padding,) * 4, mode="constant" if fill is None else fill)
    n, c, h, w = x.shape
    padded = fill.to(x).expand(n, c, h + 2 * padding, w + 2 * padding).clone()
    padded[..., padding:padding + h, padding:padding + w] = x
    return padded


def crop_at(x: torch.Tensor, padding: int, top: torch.Tensor, left: torch.Tensor,
            fill: Fill = None) -> torch.Tensor:
    """Pad by `padding` (zeros, the `fill` colour, or "reflect"), then take an H x W window at (top, left) per image."""
    n, c, h, w = x.shape
    wide = w + 2 * padding
    padded = pad(x, padding, fill)
    rows = top.view(n, 1, 1) + torch.arange(h, device=x.device).view(1, h, 1)
    cols = left.view(n, 1, 1) + torch.arange(w, device=x.device).view(1, 1, w)
    # One gather over the flattened padded image: far cheaper than 4-D fancy indexing.
    flat = (rows * wide + cols).view(n, 1, h * w).expand(n, c, h * w)
    return padded.flatten(2).gather(2, flat).view(n, c, h, w)


def random_crop(x: torch.Tensor, padding: int, g: torch.Generator, fill: Fill = None) -> torch.Tensor:
    n = len(x)
    top = torch.randint(0, 2 * padding + 1, (n,), generator=g, device=x.device)
    left = torch.randint(0, 2 * padding + 1, (n,), generator=g, device=x.device)
    return crop_at(x, padding, top, left, fill)


def resized_crop_at(x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Crop box (x0, y0, x1, y1, in pixels) of each image and resize it bilinearly back to H x W.

    One affine grid_sample for the whole batch. It samples like torchvision's
    resized_crop with antialias off (the tests compare them), except next to the box's
    edges, where torchvision, cropping first, repeats the edge pixel and this reads the
    image's real neighbour."""
    n, _, h, w = x.shape
    x0, y0, x1, y1 = boxes.to(x).unbind(1)
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    # Output pixel centres map linearly onto the box; align_corners=False coordinates.
    theta[:, 0, 0] = (x1 - x0) / w
    theta[:, 0, 2] = (x0 + x1) / w - 1
    theta[:, 1, 1] = (y1 - y0) / h
    theta[:, 1, 2] = (y0 + y1) / h - 1
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_resized_crop(x: torch.Tensor, min_scale: float, g: torch.Generator,
                        ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> torch.Tensor:
    """torchvision's RandomResizedCrop, per image: a box of area fraction in [min_scale, 1]
    and aspect ratio log-uniform in `ratio`, placed uniformly, resized back to H x W.
    A box that does not fit is shrunk to fit (torchvision redraws, then falls back to
    a centre crop)."""
    n, _, h, w = x.shape
    area = _uniform(n, min_scale, 1.0, g, x.device) * h * w
    log_ratio = _uniform(n, math.log(ratio[0]), math.log(ratio[1]), g, x.device)
    aspect = torch.exp(log_ratio)
    box_w = torch.sqrt(area * aspect).clamp(1.0, float(w))
    box_h = torch.sqrt(area / aspect).clamp(1.0, float(h))
    x0 = torch.rand(n, generator=g, device=x.device) * (w - box_w)
    y0 = torch.rand(n, generator=g, device=x.device) * (h - box_h)
    return resized_crop_at(x, torch.stack([x0, y0, x0 + box_w, y0 + box_h], 1))


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


def cutout(x: torch.Tensor, size: int, g: torch.Generator, fill: float = 0.0, p: float = 1.0) -> torch.Tensor:
    """Fill one size x size square (clipped at the border), centred anywhere, in each
    image with probability p (albumentations' CoarseDropout with one hole)."""
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=g, device=x.device).view(n, 1, 1)
    cx = torch.randint(0, w, (n,), generator=g, device=x.device).view(n, 1, 1)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    half = size // 2
    inside = (ys >= cy - half) & (ys < cy - half + size) & (xs >= cx - half) & (xs < cx - half + size)
    if p < 1.0:
        inside &= (torch.rand(n, generator=g, device=x.device) < p).view(n, 1, 1)
    return x.masked_fill(inside.unsqueeze(1), fill)


class BatchAugment:
    """The training-time augmentation of one variant, over a dataset of `rows` images."""

    def __init__(self, params: AugmentParams, generator: torch.Generator, mean: torch.Tensor | None = None,
                 rows: int = 0):
        self.params = params
        self.g = generator
        # The mean colour (1 x C x 1 x 1, 0..1 scale): padding for crop_fill: mean.
        self.crop_fill: Fill = {"mean": mean, "reflect": "reflect"}.get(params.crop_fill)
        if params.crop_fill == "mean" and mean is None:
            raise ValueError("crop_fill: mean needs the mean colour")
        # Alternating flips: every row's first-epoch flip, drawn once from the seeded generator.
        self.first_flips = (torch.rand(rows, generator=generator, device=generator.device) < 0.5
                            if params.hflip == "alternate" else None)

    def before_normalize(self, x: torch.Tensor, rows: torch.Tensor | None = None, epoch: int = 1) -> torch.Tensor:
        """rows: the batch's positions in the dataset, and epoch, for alternating flips."""
        p = self.params
        if p.resized_crop > 0:
            x = random_resized_crop(x, p.resized_crop, self.g)
        if self.first_flips is not None:
            if rows is None:
                raise ValueError("alternating flips need each image's row")
            x = flip_where(x, alternating_flips(rows, self.first_flips, epoch))
        elif p.hflip:
            x = random_hflip(x, self.g)
        if p.crop_padding > 0:
            x = random_crop(x, p.crop_padding, self.g, self.crop_fill)
        if p.color_jitter > 0:
            x = color_jitter(x, p.color_jitter, self.g)
        return x

    def after_normalize(self, x: torch.Tensor) -> torch.Tensor:
        # Cutout fills with 0 after normalisation, i.e. the training mean colour.
        if self.params.cutout > 0:
            x = cutout(x, self.params.cutout, self.g, p=self.params.cutout_p)
        return x
