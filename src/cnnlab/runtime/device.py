"""Device choice, seeding and out-of-memory errors: what every stage that runs a model needs."""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import Iterator

import numpy as np
import torch

from cnnlab.errors import UserError


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"params.yaml: train.device '{name}' is not a device; use auto, cpu or cuda.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"params.yaml: train.device is '{name}' but no CUDA GPU is visible; "
                        f"use auto or cpu.")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"params.yaml: train.device is '{name}' but this machine has "
                        f"{torch.cuda.device_count()} GPU(s), cuda:0 to cuda:{torch.cuda.device_count() - 1}.")
    return device


@contextlib.contextmanager
def batch_fits(batch_size: int, key: str, device: torch.device) -> Iterator[None]:
    """Turn running out of accelerator memory into one line that names the batch size
    that failed and what to set instead (the params key it comes from)."""
    try:
        yield
    except torch.OutOfMemoryError:
        smaller = max(1, batch_size // 2)
        hint = (f"set {key} to {smaller} or lower" if batch_size > 1 else
                "the model does not fit even one image; use a smaller model or data.image_size")
        raise UserError(f"out of {device.type.upper()} memory with batch size {batch_size} ({key}): {hint}, "
                        f"then run again (a training carries on after its last completed epoch).") from None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # Same params + same machine => same metrics to the last digit.
    deterministic_algorithms()
    torch.backends.cudnn.benchmark = False


def deterministic_algorithms() -> None:
    """torch.use_deterministic_algorithms(True, warn_only=True), without its import of
    torch._inductor's config (2.3 s at the start of every training stage) to flag kernels
    that torch.compile would generate: cnnlab compiles nothing, so the eager flag is all
    there is to set, unless the inductor is already loaded."""
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch._C._set_deterministic_algorithms(True, warn_only=True)
    # With the flag, torch also fills every new tensor's memory (NaN for floats) before a kernel
    # writes it, so that a kernel reading memory it never wrote shows up: a debugging aid that
    # cost 7% of fast's training steps on a CPU (benchmarks/deterministic_fill.py: max-pool's
    # and BatchNorm's buffers, convolution outputs), for weights that are the same without it.
    torch._C._set_deterministic_fill_uninitialized_memory(False)
