"""cnnlab's CPU dropout (uniform numbers compared with p) against torch's nn.Dropout
(bernoulli_), measured in one run: the mask alone, and whole training steps of the
ladder variants that drop out, through cnnlab's one training loop.

    python benchmarks/dropout.py [--variants dropout_last dropout_all augmented] [--batches 40]
"""

from __future__ import annotations

import argparse
import time

import torch
from mixed_precision import images_per_second
from torch import nn

from cnnlab.models.dropout import Dropout, dropout
from cnnlab.runtime.device import pick_device


def with_torch_dropout(model: nn.Module) -> None:
    """The baseline: every cnnlab Dropout replaced by torch's own, same p."""
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, Dropout):
                setattr(parent, name, nn.Dropout(child.p))


def mask_ms(fn, x: torch.Tensor, repeats: int = 30) -> float:
    fn(x)
    started = time.perf_counter()
    for _ in range(repeats):
        fn(x)
    return (time.perf_counter() - started) / repeats * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", nargs="+", default=["dropout_last", "dropout_all", "augmented"])
    ap.add_argument("--batches", type=int, default=40, help="training batches per timed epoch")
    args = ap.parse_args()
    device = pick_device("cpu")
    print(f"{torch.get_num_threads()} threads, {args.batches} batches an epoch")
    x = torch.randn(64, 32, 32, 32)
    ours = mask_ms(lambda t: dropout(t, 0.4, True), x)
    theirs = mask_ms(lambda t: nn.functional.dropout(t, 0.4, True), x)
    print(f"dropout of a 64x32x32x32 batch: nn.Dropout {theirs:.1f} ms, cnnlab {ours:.1f} ms, "
          f"speed-up {theirs / ours:.2f}x")
    for variant in args.variants:
        base = images_per_second(variant, "fp32", args.batches, device, prepare=with_torch_dropout)
        fast = images_per_second(variant, "fp32", args.batches, device)
        print(f"{variant:14s} nn.Dropout {base:6.0f} img/s   cnnlab {fast:6.0f} img/s   speed-up {fast / base:.2f}x")


if __name__ == "__main__":
    main()
