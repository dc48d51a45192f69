"""Batches straight from a uint8 tensor (in memory or memory-mapped).

Small splits sit on the device as uint8 (CIFAR-10's 50k train images are 150 MB);
each batch is gathered, scaled, augmented and normalised with a few tensor ops.
This replaces Dataset + PIL + DataLoader, whose per-image Python work is slower
than the model itself on a small CPU. Large data (Caltech-256 at 224 px is 4.6 GB)
stays memory-mapped on the host and only each batch is gathered from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from cnnlab.batching import images_per_batch
from cnnlab.data.augment import BatchAugment
from cnnlab.params import AugmentParams

# A split bigger than this stays on the host and is sent to the GPU batch by batch.
DEVICE_RESIDENT_BYTES = 2 << 30
# Evaluation batches hold at most this many input values (16 MB of float32): a network's
# activations are tens of times its input, and huge batches only add page faults.
EVAL_BATCH_VALUES = 1 << 22


def eval_batch_size(train_batch_size: int, input_values: int) -> int:
    """Up to 256 images per evaluation batch (no gradients), fewer for large inputs, but
    never fewer than training used. input_values: one input's size as the model sees it."""
    return images_per_batch(input_values, EVAL_BATCH_VALUES, 256, least=train_batch_size)


class Normalizer:
    def __init__(self, mean: Sequence[float], std: Sequence[float], device: torch.device | str = "cpu"):
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def apply_(self, x: torch.Tensor) -> torch.Tensor:
        """In place, for a batch nobody else holds (saves two batch-sized temporaries)."""
        return x.sub_(self.mean).div_(self.std)


class TensorBatches:
    """(inputs, labels) batches of rows `indices` of a tensor, in order or shuffled by
    a seeded generator; `transform` turns each gathered batch into model input.

    The generator is public so a resumed training can restore it.
    """

    def __init__(self, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int, *,
                 indices: torch.Tensor | None = None, shuffle: bool = False, seed: int = 0,
                 device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        indices = torch.arange(len(labels)) if indices is None else torch.as_tensor(indices, dtype=torch.int64)
        self.labels = labels[indices].to(self.device)
        if self.device.type == "cpu":
            self.inputs, self.rows = inputs, indices
        elif inputs[:1].element_size() * inputs[0].numel() * len(indices) <= DEVICE_RESIDENT_BYTES:
            self.inputs, self.rows = inputs[indices].to(self.device), None
        else:
            self.inputs, self.rows = inputs, indices
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.epoch = 0  # passes begun; a resumed training sets it to the epochs it has done

    def __len__(self) -> int:
        full, rest = divmod(len(self.labels), self.batch_size)
        return full + (1 if rest > self._dropped_tail() else 0)

    def _dropped_tail(self) -> int:
        # A training batch of one breaks BatchNorm; drop such a tail when shuffling.
        return 1 if self.shuffle else 0

    def gather(self, positions: torch.Tensor) -> torch.Tensor:
        if self.rows is None:
            return self.inputs[positions]
        return self.inputs[self.rows[positions.cpu()]].to(self.device, non_blocking=True)

    def transform(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Model input from the gathered rows at `positions` (of this loader's rows)."""
        return x

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self.epoch += 1
        n = len(self.labels)
        order = (torch.randperm(n, generator=self.generator, device=self.device)
                 if self.shuffle else torch.arange(n, device=self.device))
        for b in range(len(self)):
            positions = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield self.transform(self.gather(positions), positions), self.labels[positions]


class BatchLoader(TensorBatches):
    """Iterates (normalised float images, labels) batches of uint8 images.

    shuffle and augment are for training only; evaluation loaders keep order and
    pixels exactly as stored.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 normalizer: Normalizer, *, indices: torch.Tensor | None = None, shuffle: bool = False,
                 augment: AugmentParams | None = None, seed: int = 0, device: torch.device | str = "cpu"):
        super().__init__(images, labels, batch_size, indices=indices, shuffle=shuffle, seed=seed, device=device)
        self.normalize = normalizer
        self.augment = (BatchAugment(augment, self.generator, normalizer.mean, len(self.labels))
                        if augment is not None and augment.active else None)

    def transform(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        x = x.float().div_(255.0)
        if self.augment is not None:
            x = self.augment.before_normalize(x, positions, self.epoch)
        x = self.normalize.apply_(x)
        if self.augment is not None:
            x = self.augment.after_normalize(x)
        return x
