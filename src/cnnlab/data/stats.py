"""Per-channel mean and std of the training portion only, so no test pixel leaks."""

from __future__ import annotations

import torch


def channel_stats(images: torch.Tensor, chunk: int = 8192) -> dict[str, list[float]]:
    """Mean and (population) std per channel of uint8 N x C x H x W images, on the 0..1 scale."""
    if len(images) == 0:
        raise ValueError("no images to compute statistics from")
    channels = images.shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros(channels, dtype=torch.float64)
    for start in range(0, len(images), chunk):
        x = images[start:start + chunk].to(torch.float64) / 255.0
        total += x.sum(dim=(0, 2, 3))
        squares += (x * x).sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    # Clamp tiny negative variances from rounding; a constant channel gets std 1.
    std = (squares / count - mean * mean).clamp_min(0).sqrt()
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return {"mean": [round(v, 8) for v in mean.tolist()], "std": [round(v, 8) for v in std.tolist()]}
