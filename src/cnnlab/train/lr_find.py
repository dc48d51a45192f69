"""The LR range test (Smith 2017, "Cyclical learning rates"; the procedure of torch-lr-finder).

Train from the initial weights for `iterations` batches while the learning rate
grows exponentially from start_lr to end_lr; smooth the loss exponentially; stop
once it exceeds `diverge` times the best smoothed loss. The suggestion is the
learning rate where the smoothed loss falls fastest (the most negative slope
against log lr), leaving out the first and last few points, whose slopes are
noise and divergence. The model's weights, buffers and the random generator are
restored afterwards, so the test leaves no trace on the training that follows.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from cnnlab.errors import UserError
from cnnlab.params import LRFindParams, TrainParams
from cnnlab.train.optim import make_optimizer

SKIP_START = 10
SKIP_END = 5


@dataclass(frozen=True)
class RangeTest:
    lrs: list[float]  # the learning rate each batch was trained with
    losses: list[float]
    smoothed: list[float]
    suggestion: float
    diverged: bool  # stopped early because the loss blew up

    def rows(self) -> Iterator[tuple[float, float, float]]:
        return zip(self.lrs, self.losses, self.smoothed)


def steepest_descent(lrs: list[float], smoothed: list[float]) -> float:
    """The lr at the most negative gradient of the smoothed loss against log(lr)."""
    if len(smoothed) < SKIP_START + SKIP_END + 3:
        raise UserError(
            f"the LR range test diverged after {len(smoothed)} of its batches, too few to find a slope "
            f"(it needs {SKIP_START + SKIP_END + 3}). Lower lr_find.start_lr or raise lr_find.diverge.")
    loss = np.asarray(smoothed[SKIP_START:len(smoothed) - SKIP_END])
    log_lr = np.log(np.asarray(lrs[SKIP_START:len(lrs) - SKIP_END]))
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
        for i in tqdm(range(f.iterations), desc=f"{label} LR range test", unit="batch", disable=None):
            lr = f.start_lr * factor ** i
            for group in optimizer.param_groups:
                group["lr"] = lr
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
