"""Optimizer and LR-scheduler factories named in params.yaml."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnlab.params import TrainParams


def make_optimizer(model: nn.Module, p: TrainParams, lr: float | None = None) -> torch.optim.Optimizer:
    """Over the parameters that train (a frozen backbone's are left out)."""
    params = [q for q in model.parameters() if q.requires_grad]
    lr = p.lr if lr is None else lr
    if not isinstance(lr, float):
        raise ValueError("lr: auto must be resolved (lr_find@V) before the optimizer is made")
    if p.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=p.momentum, weight_decay=p.weight_decay,
                               nesterov=p.nesterov and p.momentum > 0)
    if p.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=p.weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=p.weight_decay)


class Schedule:
    """Hides that StepLR steps once per epoch, OneCycleLR and cosine once per batch, and
    that ReduceLROnPlateau steps once per epoch on the epoch's val accuracy."""

    def __init__(self, optimizer: torch.optim.Optimizer, p: TrainParams, batches_per_epoch: int):
        self.per_batch = p.scheduler in ("onecycle", "cosine")
        total = p.epochs * batches_per_epoch
        lr = optimizer.param_groups[0]["lr"]
        if p.scheduler == "step":
            self.scheduler = torch.optim.lr_scheduler.StepLR(optimizer, p.step_size, p.gamma)
        elif p.scheduler == "onecycle":
            # `lr` is the peak; OneCycle warms up to it for pct_start of the steps, then anneals.
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=lr, total_steps=total, pct_start=p.pct_start)
        elif p.scheduler == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
        elif p.scheduler == "plateau":
            # On val accuracy, the number early stopping and the kept epoch are chosen by.
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="max", factor=p.gamma, patience=p.plateau_patience,
                threshold=p.min_delta, threshold_mode="abs")
        else:
            self.scheduler = None
        self.optimizer = optimizer

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def after_batch(self) -> None:
        if self.scheduler is not None and self.per_batch:
            self.scheduler.step()

    def after_epoch(self, val_accuracy: float) -> None:
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(val_accuracy)
        elif self.scheduler is not None and not self.per_batch:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any] | None:
        return None if self.scheduler is None else self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scheduler is not None and state is not None:
            self.scheduler.load_state_dict(state)
