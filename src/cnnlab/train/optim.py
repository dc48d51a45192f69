"""Optimizer and LR-scheduler factories named in params.yaml."""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.params import TrainParams


def make_optimizer(model: nn.Module, p: TrainParams) -> torch.optim.Optimizer:
    if p.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=p.lr, momentum=p.momentum,
                               weight_decay=p.weight_decay, nesterov=p.momentum > 0)
    return torch.optim.Adam(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)


class Schedule:
    """Hides that StepLR steps once per epoch and OneCycleLR once per batch."""

    def __init__(self, optimizer: torch.optim.Optimizer, p: TrainParams, batches_per_epoch: int):
        self.per_batch = p.scheduler == "onecycle"
        if p.scheduler == "step":
            self.scheduler = torch.optim.lr_scheduler.StepLR(optimizer, p.step_size, p.gamma)
        elif p.scheduler == "onecycle":
            # `lr` is the peak; OneCycle warms up to it and anneals far below.
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=p.lr, total_steps=p.epochs * batches_per_epoch)
        else:
            self.scheduler = None
        self.optimizer = optimizer

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def after_batch(self) -> None:
        if self.scheduler is not None and self.per_batch:
            self.scheduler.step()

    def after_epoch(self) -> None:
        if self.scheduler is not None and not self.per_batch:
            self.scheduler.step()
