"""The one training loop, and the one evaluation pass every stage uses."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from cnnlab.errors import UserError
from cnnlab.params import TrainParams
from cnnlab.train.optim import Schedule, make_optimizer


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    lr: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class FitResult:
    history: list[EpochRecord]
    best_epoch: int
    best_state: dict[str, torch.Tensor]
    train_seconds: float

    @property
    def best(self) -> EpochRecord:
        return self.history[self.best_epoch - 1]


@torch.no_grad()
def predict(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels for every batch, in order, with the model in eval mode."""
    was_training = model.training
    model.eval()
    logits, labels = [], []
    try:
        for x, y in batches:
            logits.append(model(x).float().cpu())
            labels.append(y.cpu())
    finally:
        model.train(was_training)
    return torch.cat(logits), torch.cat(labels)


def loss_and_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    loss = F.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(1) == labels).double().mean().item()
    return loss, accuracy


def fit(model: nn.Module, train_batches, val_batches, p: TrainParams,
        on_epoch: Callable[[EpochRecord], None] | None = None, label: str = "") -> FitResult:
    """Train for p.epochs; keep the weights of the epoch with the best val accuracy."""
    optimizer = make_optimizer(model, p)
    schedule = Schedule(optimizer, p, len(train_batches))
    history: list[EpochRecord] = []
    best_epoch, best_acc, best_state = 0, -1.0, {}
    started = time.perf_counter()
    for epoch in tqdm(range(1, p.epochs + 1), desc=f"{label} epochs", unit="epoch", disable=None):
        model.train()
        lr = schedule.lr
        loss_sum, correct, seen = 0.0, 0, 0
        for b, (x, y) in enumerate(tqdm(train_batches, desc=f"epoch {epoch}", unit="batch",
                                        leave=False, disable=None)):
            out = model(x)
            loss = F.cross_entropy(out, y)
            if not math.isfinite(loss.item()):
                raise UserError(
                    f"training diverged{' (' + label + ')' if label else ''}: loss is {loss.item()} "
                    f"at epoch {epoch}, batch {b + 1}, lr {schedule.lr:g}. Lower the learning rate "
                    f"(train.lr, or lr under this variant) or add a scheduler, then run again.")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.after_batch()
            loss_sum += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            seen += len(y)
        schedule.after_epoch()
        val_loss, val_acc = loss_and_accuracy(*predict(model, val_batches))
        record = EpochRecord(epoch, loss_sum / seen, correct / seen, val_loss, val_acc, lr)
        history.append(record)
        if val_acc > best_acc:
            best_epoch, best_acc = epoch, val_acc
            best_state = copy.deepcopy(model.state_dict())
        if on_epoch is not None:
            on_epoch(record)
    return FitResult(history, best_epoch, best_state, time.perf_counter() - started)
