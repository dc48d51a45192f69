"""The outputs of download, split and stats, loaded together for the later stages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from cnnlab import layout
from cnnlab.data.canonical import ImageSet, load_imageset
from cnnlab.data.loader import BatchLoader, Normalizer, eval_batch_size
from cnnlab.data.split import split_for
from cnnlab.data.stats import training_stats
from cnnlab.io import read_json
from cnnlab.params import AugmentParams, Params

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


    def eval_loader(self, name: str, model: nn.Module, device: torch.device | str = "cpu", *,
                    stats: Stats | None = None, train_batch_size: int = 1) -> BatchLoader:
        """The split in order, unaugmented, in batches as large as evaluating `model`
        affords (never smaller than training's)."""
        side = getattr(model, "input_size", self.data.image_size)  # a model may resize inside
        size = eval_batch_size(train_batch_size, self.data.channels * side * side)
        return self.loader(name, size, device, stats=stats)

def load_prepared(params: Params | None = None, training_seed: int | None = None) -> Prepared:
    """The split and statistics of split@ and stats@ (data/split.json, data/stats.json), or,
    for a training seed that draws its own split (split.per_seed), that split and the
    statistics of its training images, drawn here: the same function of the same seed."""
    data = load_imageset(layout.RAW)
    if params is not None and params.draws_own_split(training_seed):
        split = split_for(data, params, training_seed)
        stats = training_stats(data.images, split)
    else:
        stats = read_json(layout.require(layout.STATS, "stats"))
        split = read_json(layout.require(layout.SPLIT, "split"))
    return Prepared(data, split, stats["mean"], stats["std"])
