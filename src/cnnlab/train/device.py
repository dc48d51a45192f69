"""Device choice and seeding, the two things every stage that runs a model needs."""

from __future__ import annotations

import random

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
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # Same params + same machine => same metrics to the last digit.
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
