"""One rank of the data-parallel check in tests/test_distributed.py (torchrun runs it as
`-m tests.distributed_worker OUT`), and the same training in one process.

A convnet without dropout or BatchNorm, so that two ranks must give one process's weights;
augmentation is on, so the check covers every rank drawing the same flips and crops."""

from __future__ import annotations

import sys

import torch

from cnnlab.data.loader import BatchLoader, Normalizer
from cnnlab.models.build import build_model
from cnnlab.models.registry import parse_model_spec
from cnnlab.params import AugmentParams, TrainParams
from cnnlab.runtime.device import seed_everything
from cnnlab.runtime.distributed import current
from cnnlab.train.loop import FitResult, fit
from tests.conftest import synthetic_set

SPEC = {"name": "convnet", "channels": [8, 16], "kernel_size": 3, "hidden": 32}


def train() -> FitResult:
    torch.set_num_threads(1)
    data = synthetic_set(n_per_class=30, classes=3, size=8, seed=1)
    norm = Normalizer([0.3] * 3, [0.3] * 3)
    idx = torch.randperm(len(data.labels), generator=torch.Generator().manual_seed(0))
    tr, va = idx[:69], idx[69:]  # 69 training images: the last batch of 16 is 5, split 3 and 2
    seed_everything(0)
    model = build_model(parse_model_spec(SPEC, "m"), 3, 8, 3)
    p = TrainParams(model=SPEC, epochs=3, batch_size=16, optimizer="sgd", lr=0.05, momentum=0.9,
                    augment=AugmentParams(hflip=True, crop_padding=1))
    train_batches = BatchLoader(data.images[tr], data.labels[tr], 16, norm, shuffle=True, seed=0,
                                augment=p.augment)
    return fit(model, train_batches, BatchLoader(data.images[va], data.labels[va], 64, norm), p, label="ddp")


if __name__ == "__main__":
    result = train()
    if current().main:
        torch.save({"state": result.best_state, "history": [r.as_dict() for r in result.history],
                    "world": current().size}, sys.argv[1])
