"""What one training leaves behind, and its writing: the model at its best epoch, the
history, the metrics that repeat to the byte, and the wall times that cannot."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from cnnlab.figures.results import curves_figure
from cnnlab.io import number_cell, save_figure, write_csv, write_json
from cnnlab.layout import TrainedModel
from cnnlab.runtime.checkpoint import ModelCard, save_checkpoint
from cnnlab.train.loop import EpochRecord, FitResult

HISTORY_COLUMNS = list(EpochRecord.__dataclass_fields__)


def history_table(history: list[EpochRecord]) -> dict[str, list[float]]:
    return {k: [getattr(r, k) for r in history] for k in HISTORY_COLUMNS}


@dataclass
class TrainingRecord:
    name: str
    result: FitResult
    state: dict[str, torch.Tensor]  # the whole model at its best epoch
    card: ModelCard
    metrics: dict[str, Any]  # repeat to the byte on the same machine
    # Wall time can never repeat to the byte, so it lives apart from the metrics that
    # must (dvc metrics still shows it).
    timing: dict[str, Any]


def training_record(name: str, result: FitResult, state: dict[str, torch.Tensor], card: ModelCard, lr: float,
                    parameters: int, total_parameters: int, seconds: float, feature_seconds: float,
                    device: str, train_images: int) -> TrainingRecord:
    metrics = {"best_epoch": result.best_epoch, "epochs_trained": len(result.history),
               "val_accuracy": round(result.best.val_accuracy, 6), "val_loss": round(result.best.val_loss, 6),
               "parameters": parameters, "total_parameters": total_parameters, "lr": lr}
    timing: dict[str, Any] = {"train_seconds": round(seconds, 2), "device": device,
                              "train_images_per_second": round(
                                  len(result.history) * train_images / max(seconds, 1e-9), 1)}
    if feature_seconds:
        timing["feature_seconds"] = round(feature_seconds, 2)
    if result.compile_seconds:
        timing["compile_seconds"] = round(result.compile_seconds, 2)
    if result.resumed_from:
        timing["resumed_after_epoch"] = result.resumed_from
    return TrainingRecord(name, result, state, card, metrics, timing)


def write_record(files: TrainedModel, record: TrainingRecord) -> None:
    save_checkpoint(files.dir, record.state, record.card)
    history = record.result.history
    write_csv(files.history, HISTORY_COLUMNS, ([r.epoch] + [number_cell(getattr(r, k)) for k in HISTORY_COLUMNS[1:]]
                                               for r in history))
    write_json(files.metrics, record.metrics)
    write_json(files.timing, record.timing)
    save_figure(curves_figure({record.name: history_table(history)}), files.curves)


def summary_lines(record: TrainingRecord, run: str, scheduler: str) -> list[str]:
    """What the terminal says after a training: the result, and advice when it may be cut short."""
    result, m = record.result, record.metrics
    lines = [f"{run}: best val accuracy {m['val_accuracy']:.4f} at epoch {result.best_epoch}"
             f"{' (stopped early)' if result.stopped_early else ''}, {m['parameters']:,} trainable parameters, "
             f"{record.timing['train_seconds']:.1f} s"
             + (f" (and {result.compile_seconds:.1f} s compiling before it)" if result.compile_seconds else "")]
    # (with validate: last_epoch no earlier epoch was measured: nothing to compare the last with)
    if result.best_epoch == len(result.history) and len(result.history) > 1 and \
            not math.isnan(result.history[-2].val_accuracy):
        schedule = ("; so may scheduler: plateau with patience, which trains until val accuracy stops improving"
                    if scheduler != "plateau" else "")
        lines.append(f"{run}: possibly under-trained: its best validation epoch was its last ({result.best_epoch}); "
                     f"more epochs (epochs under variants.{record.name}) may still help{schedule}.")
    return lines
