"""Input pipeline and training throughput: cnnlab's in-memory batches vs the usual
torchvision ImageFolder + PIL transforms + DataLoader loop, on CIFAR-10 JPEGs.

Same images, same batch size, same augmentation (flip, 4-px pad-and-crop, colour
jitter 0.2), same thread count, measured in one run:
  (a) input pipeline alone: decoded, augmented, normalised batches per second;
  (b) training images/second of the baseline model fed by each pipeline;
  (c) the model-only ceiling: the same training steps on one pre-made batch.

    python benchmarks/input_pipeline.py [--archive PATH] [--images N] [--train-batches N]

Needs ../shared/data/cifar10-jpg.tar.gz (or --archive); extracts it once under
benchmarks/out/ for the ImageFolder baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import tarfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from cnnlab.data.folder import load_folder
from cnnlab.data.loader import BatchLoader, Normalizer
from cnnlab.data.stats import channel_stats
from cnnlab.models.build import build_model
from cnnlab.models.registry import parse_model_spec
from cnnlab.params import AugmentParams

HERE = Path(__file__).resolve().parent
DEFAULT_ARCHIVE = HERE.parents[1] / "shared" / "data" / "cifar10-jpg.tar.gz"
AUGMENT = AugmentParams(hflip=True, crop_padding=4, color_jitter=0.2)
BASELINE = {"name": "convnet", "channels": [32, 64], "kernel_size": 5, "convs_per_stage": 1, "hidden": 256}


def extract_once(archive: Path, out: Path) -> Path:
    root = out / "cifar10"
    if not (root / "train").exists():
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tf:
            tf.extractall(out, filter="data")  # no member may leave `out`
    return root


def torchvision_loader(train_dir: Path, indices: list[int], batch: int, workers: int, mean, std):
    from torchvision import datasets, transforms

    tf = transforms.Compose([
        transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, padding=4),
        transforms.ColorJitter(AUGMENT.color_jitter, AUGMENT.color_jitter, AUGMENT.color_jitter),
        transforms.ToTensor(), transforms.Normalize(mean, std)])
    subset = torch.utils.data.Subset(datasets.ImageFolder(str(train_dir), transform=tf), indices)
    return torch.utils.data.DataLoader(subset, batch_size=batch, shuffle=True, num_workers=workers,
                                       persistent_workers=workers > 0, drop_last=True)


def images_per_second(batches, limit: int | None = None, step=None) -> float:
    """Images/s over one pass (or `limit` batches), after one warm-up batch."""
    iterator = iter(batches)
    x, y = next(iterator)
    if step:
        step(x, y)
    seen, started = 0, time.perf_counter()
    for i, (x, y) in enumerate(iterator):
        if limit is not None and i >= limit:
            break
        if step:
            step(x, y)
        seen += len(y)
    return seen / (time.perf_counter() - started)


def trainer(seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(parse_model_spec(BASELINE, "benchmark"), 3, 32, 10)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    ap.add_argument("--images", type=int, default=10_000, help="training images used by every pipeline")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--train-batches", type=int, default=60, help="batches timed for training throughput")
    args = ap.parse_args()
    if not args.archive.exists():
        raise SystemExit(f"{args.archive} not found; pass --archive with the CIFAR-10 JPEG archive.")
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads, {os.cpu_count()} cores, batch {args.batch_size}")

    root = extract_once(args.archive, HERE / "out")
    started = time.perf_counter()
    data = load_folder(root / "train", 32, 3)
    decode_s = time.perf_counter() - started
    g = torch.Generator().manual_seed(0)
    indices = torch.randperm(len(data.labels), generator=g)[:args.images].sort().values
    images, labels = data.images[indices], data.labels[indices]
    stats = channel_stats(images)
    norm = Normalizer(stats["mean"], stats["std"])
    ours = BatchLoader(images, labels, args.batch_size, norm, shuffle=True, augment=AUGMENT, seed=0)
    print(f"one-time decode of {len(data.labels)} JPEGs into memory (the download stage): {decode_s:.1f} s")

    results: dict[str, float] = {}
    results["input_cnnlab"] = images_per_second(ours)
    for workers in (0, 2):
        loader = torchvision_loader(root / "train", indices.tolist(), args.batch_size, workers,
                                    stats["mean"], stats["std"])
        results[f"input_dataloader_w{workers}"] = images_per_second(loader)
        results[f"train_dataloader_w{workers}"] = images_per_second(loader, args.train_batches, trainer())
    results["train_cnnlab"] = images_per_second(ours, args.train_batches, trainer())
    x, y = next(iter(ours))
    results["train_model_only"] = images_per_second(((x, y) for _ in range(args.train_batches + 1)),
                                                    None, trainer())

    best_dl_input = max(results["input_dataloader_w0"], results["input_dataloader_w2"])
    best_dl_train = max(results["train_dataloader_w0"], results["train_dataloader_w2"])
    ratios = {
        "input: cnnlab / best DataLoader": results["input_cnnlab"] / best_dl_input,
        "train: cnnlab / model-only ceiling": results["train_cnnlab"] / results["train_model_only"],
        "train: best DataLoader / model-only ceiling": best_dl_train / results["train_model_only"],
        "train: cnnlab / best DataLoader": results["train_cnnlab"] / best_dl_train,
    }
    print(f"\n{'measurement':42s} images/s")
    for k, v in results.items():
        print(f"{k:42s} {v:10.0f}")
    print(f"\n{'ratio':42s} value   target")
    targets = {"input: cnnlab / best DataLoader": ">= 10", "train: cnnlab / model-only ceiling": ">= 0.90"}
    for k, v in ratios.items():
        print(f"{k:42s} {v:6.2f}   {targets.get(k, '')}")
    out = HERE / "out" / "input_pipeline.json"
    out.write_text(json.dumps({"threads": threads, "batch_size": args.batch_size, "images": args.images,
                               "decode_seconds": decode_s, "images_per_second": results, "ratios": ratios},
                              indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
