"""The one form every data source is turned into, and its on-disk layout.

`data/raw/` holds plain numpy arrays and JSON (no pickle, so loading is safe):
images.npy (uint8, N x C x H x W), labels.npy (int64), official_test.npy (bool)
and meta.json (class names, where the data came from).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.io import replace_dir
from cnnlab.layout import require


@dataclass
class ImageSet:
    images: torch.Tensor  # uint8, N x C x H x W
    labels: torch.Tensor  # int64, N
    classes: list[str]
    official_test: torch.Tensor  # bool, N: item came from the source's own test split
    source: str

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError("images must be a uint8 N x C x H x W tensor")
        if len(self.labels) != n or len(self.official_test) != n:
            raise ValueError("images, labels and official_test must have the same length")

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def has_official_test(self) -> bool:
        return bool(self.official_test.any())


def conform(data: ImageSet, image_size: int, channels: int) -> ImageSet:
    """Resize to image_size x image_size and convert to 1 or 3 channels."""
    images = data.images
    if images.shape[1] != channels:
        images = to_channels(images, channels)
    if images.shape[-2:] != (image_size, image_size):
        chunks = []
        for start in range(0, len(images), 4096):
            x = images[start:start + 4096].float()
            x = F.interpolate(x, size=(image_size, image_size), mode="bilinear",
                              antialias=True, align_corners=False)
            chunks.append(x.round_().clamp_(0, 255).to(torch.uint8))
        images = torch.cat(chunks)
    return ImageSet(images, data.labels, data.classes, data.official_test, data.source)


def to_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    have = images.shape[1]
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    if have == 3 and channels == 1:
        # ITU-R 601-2 luma, as PIL's convert("L").
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (images.float() * weights).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    raise ValueError(f"cannot convert {have} channels to {channels}")


def save_imageset(data: ImageSet, out_dir: Path) -> None:
    """Write atomically: the directory appears complete or not at all."""
    def write(tmp: Path) -> None:
        np.save(tmp / "images.npy", data.images.numpy())
        np.save(tmp / "labels.npy", data.labels.numpy().astype(np.int64))
        np.save(tmp / "official_test.npy", data.official_test.numpy().astype(bool))
        meta = {"classes": data.classes, "source": data.source, "count": len(data.labels),
                "channels": data.channels, "image_size": data.image_size}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

    replace_dir(Path(out_dir), write)


def load_imageset(raw_dir: str | Path = "data/raw") -> ImageSet:
    raw_dir = Path(raw_dir)
    meta = json.loads(require(raw_dir / "meta.json", "download").read_text())
    return ImageSet(
        images=torch.from_numpy(np.load(raw_dir / "images.npy")),
        labels=torch.from_numpy(np.load(raw_dir / "labels.npy")),
        classes=list(meta["classes"]),
        official_test=torch.from_numpy(np.load(raw_dir / "official_test.npy")),
        source=meta["source"],
    )
