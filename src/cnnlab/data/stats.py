"""Per-channel mean and std of the training portion only, so no test pixel leaks."""

from __future__ import annotations

import torch


def channel_stats(images: torch.Tensor, rows: torch.Tensor | None = None,
                  chunk: int = 8192) -> dict[str, list[float]]:
    """Mean and (population) std per channel of uint8 N x C x H x W images (only `rows`
    of them, if given), on the 0..1 scale.

    From a histogram of the 256 values per channel: the sums are exact integers
    whatever the chunking, and only a chunk of uint8 pixels is ever in memory, so
    memory-mapped images are never copied whole."""
    rows = torch.arange(len(images)) if rows is None else rows
    if len(rows) == 0:
        raise ValueError("no images to compute statistics from")
    chunk = max(1, min(chunk, (16 << 20) // max(1, images[0].numel())))  # at most 16 MB of pixels
    channels = images.shape[1]
    histogram = torch.zeros(channels, 256, dtype=torch.int64)
    for start in range(0, len(rows), chunk):
        x = images[rows[start:start + chunk]]
        for c in range(channels):
            histogram[c] += torch.bincount(x[:, c].flatten(), minlength=256)
    values = torch.arange(256, dtype=torch.float64) / 255.0
    count = histogram.sum(1).to(torch.float64)
    mean = (histogram * values).sum(1) / count
    # Clamp tiny negative variances from rounding; a constant channel gets std 1.
    std = ((histogram * values * values).sum(1) / count - mean * mean).clamp_min(0).sqrt()
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return {"mean": [round(v, 8) for v in mean.tolist()], "std": [round(v, 8) for v in std.tolist()]}


def training_stats(images: torch.Tensor, split: dict[str, list[int]]) -> dict[str, list[float]]:
    """The statistics every model input is normalised with: the split's training images'."""
    return channel_stats(images, torch.tensor(split["train"], dtype=torch.int64))
