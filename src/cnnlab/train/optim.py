"""Optimizer and LR-scheduler factories named in params.yaml."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnlab.params import TrainParams

# Layers whose bias bias_lr_scale speeds up: a shift after normalisation, cheap to move fast.
NORMALIZATION = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def make_optimizer(model: nn.Module, p: TrainParams, lr: float | None = None) -> torch.optim.Optimizer:
    """Over the parameters that train (a frozen backbone's are left out). With bias_lr_scale,
    the normalisation layers' biases form a second group at lr x bias_lr_scale whose weight
    decay per step is the other group's (airbench's "bias_scaler"); every group keeps its
    `lr_scale`."""
    lr = p.lr if lr is None else lr
    if not isinstance(lr, float):
        raise ValueError("lr: auto must be resolved (lr_find@V) before the optimizer is made")
    scaled = {id(m.bias) for m in model.modules() if isinstance(m, NORMALIZATION) and m.bias is not None}
    weights, biases = [], []
    for q in model.parameters():
        if q.requires_grad:
            (biases if p.bias_lr_scale != 1.0 and id(q) in scaled else weights).append(q)
    groups = [{"params": q, "lr_scale": scale} for q, scale in ((weights, 1.0), (biases, p.bias_lr_scale)) if q]
    for group in groups:
        group["lr"] = lr * group["lr_scale"]
        if p.optimizer == "sgd" and p.decoupled_weight_decay:
            # airbench's form: over the group's peak lr, so each step shrinks the weights by
            # (lr_t / lr) x weight_decay whatever peak lr is chosen.
            group["weight_decay"] = p.weight_decay / group["lr"]
        else:  # a group's lr scale does not scale its decay
            group["weight_decay"] = p.weight_decay / group["lr_scale"]
    if p.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=p.momentum, nesterov=p.nesterov and p.momentum > 0)
    if p.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    return torch.optim.Adam(groups, lr=lr, decoupled_weight_decay=p.decoupled_weight_decay)


# The triangular schedule starts at this fraction of the peak lr (airbench's 0.2).
TRIANGLE_START = 0.2


class Schedule:
    """Hides that StepLR steps once per epoch, OneCycleLR and cosine once per batch, and
    that ReduceLROnPlateau steps once per epoch on the epoch's val accuracy."""

    def __init__(self, optimizer: torch.optim.Optimizer, p: TrainParams, batches_per_epoch: int):
        self.per_batch = p.scheduler in ("onecycle", "cosine", "triangle")
        total = p.epochs * batches_per_epoch
        peaks = [group["lr"] for group in optimizer.param_groups]
        if p.scheduler == "step":
            self.scheduler = torch.optim.lr_scheduler.StepLR(optimizer, p.step_size, p.gamma)
        elif p.scheduler == "onecycle":
            # `lr` is the peak; OneCycle warms up to it for pct_start of the steps, then anneals.
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=peaks, total_steps=total, pct_start=p.pct_start)
        elif p.scheduler == "triangle":
            # Linear from TRIANGLE_START x lr up to lr at pct_start of the steps, then linear
            # down to 0 at the last; momentum is left alone.
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=peaks, total_steps=total, pct_start=p.pct_start, anneal_strategy="linear",
                div_factor=1 / TRIANGLE_START, final_div_factor=float("inf"), cycle_momentum=False)
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
