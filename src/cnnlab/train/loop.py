"""The one training loop."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel

from cnnlab.data.loader import TensorBatches
from cnnlab.errors import UserError
from cnnlab.params import TrainParams
from cnnlab.progress import bar, say
from cnnlab.runtime.distributed import World, current, shard, total, wrap
from cnnlab.runtime.inference import as_input, device_of, loss_and_accuracy, memory_format, precision_context, predict
from cnnlab.train.lookahead import Lookahead
from cnnlab.train.optim import Schedule, make_optimizer
from cnnlab.train.resume import ResumeStore

ONE = World()  # a single process


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
    stopped_early: bool = False
    resumed_from: int = 0  # the last epoch a previous, interrupted run completed
    compile_seconds: float = 0.0  # torch.compile's, before the first epoch (not in train_seconds)

    @property
    def best(self) -> EpochRecord:
        return self.history[self.best_epoch - 1]


def warmed_up_decay(decay: float, updates: int) -> float:
    """The decay of the `updates`-th average (counting from 0): min(decay, (1 + n) / (10 + n)),
    TensorFlow's ExponentialMovingAverage with num_updates, so that early on the average
    follows the fast-changing weights instead of lingering at the initial ones."""
    return min(decay, (1 + updates) / (10 + updates))


def weight_average(model: nn.Module, decay: float) -> AveragedModel | None:
    """The exponential moving average of the model's weights and buffers (None when decay is 0)."""
    if decay == 0:
        return None

    def average(averaged: list[torch.Tensor], current: list[torch.Tensor], updates: torch.Tensor | int) -> None:
        weight = 1 - warmed_up_decay(decay, int(updates))
        for a, c in zip(averaged, current, strict=True):
            if a.is_floating_point():
                a.lerp_(c, weight)
            else:  # BatchNorm's batch count
                a.copy_(c)

    return AveragedModel(model, multi_avg_fn=average, use_buffers=True)


def batch_loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor, n: int, p: TrainParams,
               world: World = ONE) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, logits) of one training batch of n images (x, y: this rank's slice of it)."""
    with precision_context(p, x.device):
        out = net(as_input(x, memory_format(p))).float()
        if world.active:  # the slice's sum over the global batch, times the ranks DDP divides by
            loss = F.cross_entropy(out, y, label_smoothing=p.label_smoothing, reduction="sum") * (world.size / n)
        else:
            loss = F.cross_entropy(out, y, label_smoothing=p.label_smoothing)
    return loss, out


def train_epoch(net: nn.Module, batches: TensorBatches, optimizer: torch.optim.Optimizer, schedule: Schedule,
                p: TrainParams, epoch: int, label: str, world: World = ONE,
                average: AveragedModel | Lookahead | None = None) -> tuple[float, float]:
    """One pass over the training batches: mean loss and accuracy as trained (over the
    whole of each batch, when ranks each train on a slice of it)."""
    net.train()
    loss_sum, correct, seen = 0.0, 0, 0
    for b, (x, y) in enumerate(bar(batches, desc=f"epoch {epoch}", unit="batch", leave=False, show=world.main)):
        n = len(y)
        x, y = shard(x, y, world)
        loss, out = batch_loss(net, x, y, n, p, world)
        if world.active:
            summed, right = total([loss.item() * n / world.size, float((out.argmax(1) == y).sum())], world, x.device)
            mean = summed / n
        else:
            mean, right = loss.item(), (out.argmax(1) == y).sum().item()
        if not math.isfinite(mean):
            raise UserError(
                f"training diverged{' (' + label + ')' if label else ''}: loss is {mean} "
                f"at epoch {epoch}, batch {b + 1}, lr {schedule.lr:g}. Lower the learning rate "
                f"(train.lr, or lr under this variant) or add a scheduler, then run again.")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.after_batch()
        if average is not None:
            average.update_parameters(net.module if world.active else net)
        loss_sum += mean * n
        correct += int(right)
        seen += n
    return loss_sum / seen, correct / seen


def batch_sizes(batches: TensorBatches) -> list[int]:
    """The sizes of the batches a pass gives: the first, and the last where it is smaller
    (its size follows from the loader's own count, which knows what tail it drops)."""
    n, size = len(batches.labels), batches.batch_size
    return list(dict.fromkeys([min(size, n), min(size, n - (len(batches) - 1) * size)]))


def compiled_for_training(net: nn.Module, model: nn.Module, batches: TensorBatches, p: TrainParams,
                          world: World = ONE) -> tuple[nn.Module, float]:
    """`net` through torch.compile (p.compile names the backend), compiled now, forward and
    backward, for every batch size a pass gives, so that the seconds returned are the
    compile time and the epochs' seconds are training alone. The warm-up leaves no trace:
    weights, BatchNorm statistics, gradients, every random stream and the loader's epoch
    are put back, so the training is the one it would be uncompiled. Validation runs the
    model as it is: a second graph per batch size would compile for a small share of the work."""
    started = time.perf_counter()
    compiled = torch.compile(net, backend=p.compile)
    weights, streams, epoch = copy.deepcopy(model.state_dict()), rng_state(batches.generator), batches.epoch
    x, y = next(iter(batches))
    compiled.train()
    try:
        for n in batch_sizes(batches):
            xs, ys = shard(x[:n], y[:n], world)
            batch_loss(compiled, xs, ys, n, p, world)[0].backward()
    except Exception as exc:  # noqa: BLE001 - any compiler failure is the same advice
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"torch.compile with backend {p.compile} failed: {first[:300]}. Inductor needs a C++ "
                        "compiler on a CPU (and Triton on a GPU); set train.compile: none (or eager, which "
                        "only traces) to train without it.") from exc
    model.load_state_dict(weights)
    model.zero_grad(set_to_none=True)
    restore_rng(streams, batches.generator)
    batches.epoch = epoch
    return compiled, time.perf_counter() - started


def fit(model: nn.Module, train_batches: TensorBatches, val_batches: Iterable, p: TrainParams,
        on_epoch: Callable[[EpochRecord], None] | None = None, label: str = "",
        store: ResumeStore | None = None, resume: dict[str, Any] | None = None) -> FitResult:
    """Train for p.epochs (fewer with early stopping); keep the weights of the epoch
    with the best val accuracy (the last to beat the best before it by more than
    p.min_delta). With a store, the state after each epoch is saved
    there; `resume` is such a saved state to carry on from. Under torchrun, every rank
    trains a slice of each batch (runtime/distributed.py) and rank 0 saves and prints."""
    model.to(memory_format=memory_format(p))
    world = current()
    net = wrap(model, world, device_of(model))
    optimizer = make_optimizer(model, p)
    schedule = Schedule(optimizer, p, len(train_batches))
    average = (Lookahead(model, p.ema, p.lookahead, p.epochs * len(train_batches)) if p.lookahead
               else weight_average(model, p.ema))
    judged = model if average is None else average.module  # what is validated, kept and saved
    history: list[EpochRecord] = []
    best_epoch, best_acc, best_state, seconds = 0, -1.0, {}, 0.0
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        schedule.load_state_dict(resume["scheduler"])
        if average is not None:
            average.load_state_dict(resume["average"])
        history = [EpochRecord(**r) for r in resume["history"]]
        best_epoch, best_acc, best_state = resume["best_epoch"], resume["best_accuracy"], resume["best_state"]
        seconds = resume["seconds"]
        restore_rng(resume["rng"], train_batches.generator)
    first = len(history) + 1
    train_batches.epoch = first - 1  # alternating flips go on from the epoch reached
    compile_seconds = 0.0
    if p.compile != "none":
        net, compile_seconds = compiled_for_training(net, model, train_batches, p, world)
    stopped_early = False
    for epoch in bar(range(first, p.epochs + 1), desc=f"{label} epochs", unit="epoch", initial=first - 1,
                     total=p.epochs, show=world.main):
        started = time.perf_counter()
        lr = schedule.lr
        train_loss, train_acc = train_epoch(net, train_batches, optimizer, schedule, p, epoch, label, world,
                                            average)
        if isinstance(average, Lookahead):
            average.end_epoch()
        validated = p.validate == "each_epoch" or epoch == p.epochs
        if validated:
            with precision_context(p, device_of(model)):
                logits, labels = predict(judged, val_batches)
            val_loss, val_acc = loss_and_accuracy(logits.float(), labels)
        else:  # not measured: no number (params allow no plateau or early stopping here)
            val_loss = val_acc = math.nan
        schedule.after_epoch(val_acc)
        record = EpochRecord(epoch, train_loss, train_acc, val_loss, val_acc, lr)
        history.append(record)
        if validated and val_acc > best_acc + p.min_delta:
            best_epoch, best_acc = epoch, val_acc
            best_state = copy.deepcopy(judged.state_dict())
        seconds += time.perf_counter() - started
        if world.main:
            say(epoch_line(label, record, p.epochs, time.perf_counter() - started))
        stopped_early = p.patience > 0 and epoch - best_epoch >= p.patience and epoch < p.epochs
        if on_epoch is not None:  # before the save: a kill between the two repeats a log, never skips one
            on_epoch(record)
        if store is not None and world.main and epoch < p.epochs and not stopped_early:
            store.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": schedule.state_dict(), "history": [r.as_dict() for r in history],
                        "average": None if average is None else average.state_dict(),
                        "best_epoch": best_epoch, "best_accuracy": best_acc, "best_state": best_state,
                        "seconds": seconds, "rng": rng_state(train_batches.generator)})
        if stopped_early:
            break
    return FitResult(history, best_epoch, best_state, seconds, stopped_early, first - 1, compile_seconds)


def epoch_line(label: str, r: EpochRecord, epochs: int, seconds: float) -> str:
    val = ("val not run (validate: last_epoch)" if math.isnan(r.val_accuracy)
           else f"val loss {r.val_loss:.4f} acc {r.val_accuracy:.4f}")
    return (f"{label + ' ' if label else ''}epoch {r.epoch}/{epochs}: train loss {r.train_loss:.4f} acc "
            f"{r.train_accuracy:.4f}, {val}, lr {r.lr:.3g}, {seconds:.1f} s")


def rng_state(loader_generator: torch.Generator) -> dict[str, Any]:
    """Every random stream training draws from: dropout (torch's global generator, and
    CUDA's), shuffling and augmentation (the loader's)."""
    state = {"torch": torch.get_rng_state(), "loader": loader_generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], loader_generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    loader_generator.set_state(state["loader"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
