"""Training throughput of the CIFAR-10 ladder variants in float32 (the baseline) and
with `train.precision: bf16`, through cnnlab's one training loop, measured in one run.

bf16 pays where the hardware has bfloat16 instructions (AVX512-BF16 or AMX on a CPU,
Ampere and later on a GPU); elsewhere it is emulated and slower, which this shows too.

    python benchmarks/mixed_precision.py [--variants small_filters dropout_all] [--batches 40]
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

import torch
from torch import nn

from cnnlab.data.loader import BatchLoader, Normalizer
from cnnlab.models.build import build_model
from cnnlab.params import load_params
from cnnlab.runtime.device import pick_device, seed_everything
from cnnlab.train.loop import fit


def images_per_second(variant: str, precision: str, batches: int, device: torch.device,
                      prepare: Callable[[nn.Module], None] | None = None) -> float:
    """Training images per second: one warm-up epoch, then the best of two one-epoch
    trainings, each timed by fit() itself (training and validation pass). `prepare` may
    change the built model in place first (benchmarks/dropout.py swaps its dropout)."""
    params = load_params("params.yaml").variant(variant)
    p = dataclasses.replace(params.train, precision=precision, epochs=1, scheduler="none", patience=0)
    seed_everything(0)
    images = torch.randint(0, 256, (batches * p.batch_size, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (len(images),))
    norm = Normalizer([0.5] * 3, [0.25] * 3, device)
    train = BatchLoader(images, labels, p.batch_size, norm, shuffle=True, seed=0, device=device,
                        augment=p.augment)
    val = BatchLoader(images[:p.batch_size], labels[:p.batch_size], p.batch_size, norm, device=device)
    model = build_model(params.model, 3, 32, 10).to(device)
    if prepare is not None:
        prepare(model)
    seconds = [fit(model, train, val, p).train_seconds for _ in range(3)][1:]
    return len(images) / min(seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", nargs="+", default=["baseline", "small_filters", "dropout_all", "augmented"])
    ap.add_argument("--batches", type=int, default=40, help="training batches per timed epoch")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    device = pick_device(args.device)
    print(f"device {device}, {torch.get_num_threads()} threads, {args.batches} batches an epoch")
    for variant in args.variants:
        fp32 = images_per_second(variant, "fp32", args.batches, device)
        bf16 = images_per_second(variant, "bf16", args.batches, device)
        print(f"{variant:14s} fp32 {fp32:7.0f} img/s   bf16 {bf16:7.0f} img/s   bf16 / fp32 = {bf16 / fp32:.2f}x")


if __name__ == "__main__":
    main()
