"""The outputs of download, split and stats, loaded together for the later stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from cnnlab import layout
from cnnlab.data.canonical import ImageSet, load_imageset
from cnnlab.data.loader import BatchLoader, Normalizer
from cnnlab.io import read_json
from cnnlab.params import AugmentParams

Stats = tuple[Sequence[float], Sequence[float]]


@dataclass
class Prepared:
    data: ImageSet  # its images memory-mapped: index it, never copy it whole
    split: dict[str, list[int]]
    mean: list[float]
    std: list[float]

    def indices(self, name: str) -> torch.Tensor:
        return torch.tensor(self.split[name], dtype=torch.int64)

    def normalizer(self, device: torch.device | str = "cpu", stats: Stats | None = None) -> Normalizer:
        """The dataset's own statistics unless a model brings its own (pretrained weights)."""
        mean, std = stats if stats is not None else (self.mean, self.std)
        return Normalizer(mean, std, device)

    def loader(self, name: str, batch_size: int, device: torch.device | str = "cpu", *,
               stats: Stats | None = None, shuffle: bool = False, augment: AugmentParams | None = None,
               seed: int = 0) -> BatchLoader:
        return BatchLoader(self.data.images, self.data.labels, batch_size, self.normalizer(device, stats),
                           indices=self.indices(name), shuffle=shuffle, augment=augment, seed=seed,
                           device=device)


def load_prepared() -> Prepared:
    stats = read_json(layout.require(layout.STATS, "stats"))
    split = read_json(layout.require(layout.SPLIT, "split"))
    return Prepared(load_imageset(layout.RAW), split, stats["mean"], stats["std"])
