"""The LR range test (Smith 2017, "Cyclical learning rates"; the procedure of torch-lr-finder).

Train from the initial weights for `iterations` batches while the learning rate
grows exponentially from start_lr to end_lr; smooth the loss exponentially; stop
once it exceeds `diverge` times the best smoothed loss. The suggestion is the
learning rate where the smoothed loss falls fastest (the most negative slope
against log lr) on its way down to its lowest point, leaving out the first few
points, whose slopes are noise. (torch-lr-finder searches up to a few points from
the end instead; on ResNet-18 that picked lr 1.9, on the loss's recovery from a
spike that stayed under the divergence threshold.) The model's weights, buffers and the random generator are
restored afterwards, so the test leaves no trace on the training that follows.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UserError
from cnnlab.params import LRFindParams, TrainParams
from cnnlab.progress import bar
from cnnlab.train.optim import make_optimizer

SKIP_START = 10


@dataclass(frozen=True)
class RangeTest:
    lrs: list[float]  # the learning rate each batch was trained with
    losses: list[float]
    smoothed: list[float]
    suggestion: float
    diverged: bool  # stopped early because the loss blew up

    def rows(self) -> Iterator[tuple[float, float, float]]:
        return zip(self.lrs, self.losses, self.smoothed, strict=True)


def steepest_descent(lrs: list[float], smoothed: list[float]) -> float:
    """The lr at the most negative gradient of the smoothed loss against log(lr), on the
    way down to the lowest smoothed loss. Past that minimum the loss can fall steeply
    again as it recovers from a spike, and that slope says nothing about a good lr."""
    lowest = int(np.argmin(smoothed))
    if lowest - SKIP_START < 3:
        raise UserError(
            f"the LR range test's loss stopped falling after {lowest + 1} of its batches, too soon to "
            f"find a slope (the first {SKIP_START} are too noisy to use). Lower lr_find.start_lr, or "
            f"raise lr_find.iterations.")
    loss = np.asarray(smoothed[SKIP_START:lowest + 1])
    log_lr = np.log(np.asarray(lrs[SKIP_START:lowest + 1]))
    return float(lrs[SKIP_START + int(np.argmin(np.gradient(loss, log_lr)))])


def endless(batches: Iterable) -> Iterator:
    while True:
        yield from batches


def lr_range_test(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], p: TrainParams,
                  f: LRFindParams, label: str = "") -> RangeTest:
    saved_state = copy.deepcopy(model.state_dict())
    saved_rng = torch.get_rng_state()
    was_training = model.training
    optimizer = make_optimizer(model, p, lr=f.start_lr)
    factor = (f.end_lr / f.start_lr) ** (1.0 / (f.iterations - 1))
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    best, diverged = math.inf, False
    model.train()
    try:
        stream = endless(batches)
        for i in bar(range(f.iterations), desc=f"{label} LR range test", unit="batch"):
            lr = f.start_lr * factor ** i
            for group in optimizer.param_groups:
                group["lr"] = lr * group["lr_scale"]
            x, y = next(stream)
            loss = F.cross_entropy(model(x), y, label_smoothing=p.label_smoothing)
            value = loss.item()
            if not math.isfinite(value):
                diverged = True
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            average = value if not smoothed else f.smoothing * value + (1 - f.smoothing) * smoothed[-1]
            lrs.append(lr)
            losses.append(value)
            smoothed.append(average)
            best = min(best, average)
            if average > f.diverge * best:
                diverged = True
                break
    finally:
        model.load_state_dict(saved_state)
        torch.set_rng_state(saved_rng)
        model.train(was_training)
    return RangeTest(lrs, losses, smoothed, steepest_descent(lrs, smoothed), diverged)
