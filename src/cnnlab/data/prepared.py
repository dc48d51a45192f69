"""The outputs of download, split and stats, loaded together for the later stages."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlab import layout
from cnnlab.data.canonical import ImageSet, load_imageset
from cnnlab.data.loader import BatchLoader, Normalizer
from cnnlab.io import read_json
from cnnlab.params import AugmentParams


@dataclass
class Prepared:
    data: ImageSet
    split: dict[str, list[int]]
    mean: list[float]
    std: list[float]

    def part(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.tensor(self.split[name], dtype=torch.int64)
        return self.data.images[idx], self.data.labels[idx]

    def normalizer(self, device: torch.device | str = "cpu") -> Normalizer:
        return Normalizer(self.mean, self.std, device)

    def loader(self, name: str, batch_size: int, device: torch.device | str = "cpu", *,
               shuffle: bool = False, augment: AugmentParams | None = None, seed: int = 0) -> BatchLoader:
        images, labels = self.part(name)
        return BatchLoader(images, labels, batch_size, self.normalizer(device), shuffle=shuffle,
                           augment=augment, seed=seed, device=device)


def load_prepared() -> Prepared:
    stats = read_json(layout.require(layout.STATS, "stats"))
    split = read_json(layout.require(layout.SPLIT, "split"))
    return Prepared(load_imageset(layout.RAW), split, stats["mean"], stats["std"])
