"""The one evaluation pass every stage uses, and the precision and memory layout that
training and evaluation share."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UserError
from cnnlab.params import TrainParams


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


class TestTimeAugment(nn.Module):
    """The model's mean logits over the image and its mirror (flip), and, for
    flip_translate, half of that plus half the same over the image shifted one pixel
    up-left and one down-right (edges mirrored): airbench's test-time augmentation."""

    def __init__(self, model: nn.Module, mode: str):
        super().__init__()
        self.model, self.mode = model, mode
        self.train(model.training)  # so that predict() hands the model back in the mode it had

    def mirrored(self, x: torch.Tensor) -> torch.Tensor:
        both = self.model(torch.cat([x, x.flip(-1)])).float()
        return (both[:len(x)] + both[len(x):]) / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.mirrored(x)
        if self.mode == "flip_translate":
            h, w = x.shape[-2:]
            padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
            shifted = (self.mirrored(padded[..., :h, :w]) + self.mirrored(padded[..., 2:, 2:])) / 2
            logits = (logits + shifted) / 2
        return logits


def with_tta(model: nn.Module, mode: str) -> nn.Module:
    """The model as testing sees it under train.tta (none: itself)."""
    return model if mode == "none" else TestTimeAugment(model, mode)


def loss_and_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    loss = F.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(1) == labels).double().mean().item()
    return loss, accuracy


def precision_context(p: TrainParams, device: torch.device) -> contextlib.AbstractContextManager:
    """Where the forward passes of training and validation run: plain float32, or under
    bfloat16 autocast (weights, gradients and optimizer state stay float32)."""
    if p.precision == "fp32":
        return contextlib.nullcontext()
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UserError(f"train.precision is bf16 but {torch.cuda.get_device_name(device)} has no bfloat16 "
                        f"support; set train.precision to fp32 (or -S train.precision=fp32).")
    return torch.autocast(device.type, dtype=torch.bfloat16)


def memory_format(p: TrainParams) -> torch.memory_format:
    # oneDNN's and cuDNN's bf16 convolutions are fastest in channels-last order (2.5x over
    # float32 for small_filters on a 2-core Zen 4); float32 keeps the default order.
    return torch.channels_last if p.precision == "bf16" else torch.contiguous_format


def as_input(x: torch.Tensor, fmt: torch.memory_format) -> torch.Tensor:
    return x.contiguous(memory_format=fmt) if x.dim() == 4 else x


def device_of(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return torch.device("cpu") if first is None else first.device
