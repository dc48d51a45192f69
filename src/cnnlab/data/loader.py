"""Batches straight from an in-memory uint8 tensor.

The whole split sits on the device as uint8 (CIFAR-10's 50k train images are
150 MB); each batch is gathered, scaled, augmented and normalised with a few
tensor ops. This replaces Dataset + PIL + DataLoader, whose per-image Python work
is slower than the model itself on a small CPU.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import torch

from cnnlab.data.augment import BatchAugment
from cnnlab.params import AugmentParams


class Normalizer:
    def __init__(self, mean: Sequence[float], std: Sequence[float], device: torch.device | str = "cpu"):
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class BatchLoader:
    """Iterates (normalised float images, labels) batches.

    shuffle and augment are for training only; evaluation loaders keep order and
    pixels exactly as stored.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 normalizer: Normalizer, *, shuffle: bool = False, augment: AugmentParams | None = None,
                 seed: int = 0, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
        self.batch_size = batch_size
        self.normalize = normalizer
        self.shuffle = shuffle
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.augment = BatchAugment(augment, self.generator) if augment is not None and augment.active else None

    def __len__(self) -> int:
        full, rest = divmod(len(self.labels), self.batch_size)
        return full + (1 if rest > self._dropped_tail() else 0)

    def _dropped_tail(self) -> int:
        # A training batch of one breaks BatchNorm; drop such a tail when shuffling.
        return 1 if self.shuffle else 0

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        order = (torch.randperm(n, generator=self.generator, device=self.device)
                 if self.shuffle else torch.arange(n, device=self.device))
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            x = self.images[idx].float().div_(255.0)
            if self.augment is not None:
                x = self.augment.before_normalize(x)
            x = self.normalize(x)
            if self.augment is not None:
                x = self.augment.after_normalize(x)
            yield x, self.labels[idx]
