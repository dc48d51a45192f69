"""Input pipeline, training and evaluation throughput: cnnlab's in-memory batches vs the
usual torchvision ImageFolder + PIL transforms + DataLoader loop, on CIFAR-10 JPEGs.

Same images, same batch size (128 by default), same augmentation for training (flip,
4-px pad-and-crop, colour jitter 0.2), same thread count, measured in one run:
  (a) input pipeline alone: decoded, augmented, normalised batches per second;
  (b) per model (params.yaml's variants: baseline, small_filters, resnet18, fast by default),
      training images/second fed by each pipeline, and the model-only ceiling (the same
      steps on one pre-made batch);
  (c) per model, evaluation images/second (forward passes without gradients, no
      augmentation) fed by each pipeline.
Each timing runs for about --seconds (at least 3 batches) after a warm-up batch.

    python benchmarks/input_pipeline.py [--archive PATH] [--images N] [--models a,b] [--seconds S]

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
from cnnlab.params import AugmentParams, load_params

HERE = Path(__file__).resolve().parent
DEFAULT_ARCHIVE = HERE.parents[1] / "shared" / "data" / "cifar10-jpg.tar.gz"
AUGMENT = AugmentParams(hflip=True, crop_padding=4, color_jitter=0.2)


def extract_once(archive: Path, out: Path) -> Path:
    root = out / "cifar10"
    if not (root / "train").exists():
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tf:
            tf.extractall(out, filter="data")  # no member may leave `out`
    return root


def torchvision_loader(train_dir: Path, indices: list[int], batch: int, workers: int, mean, std, train: bool = True):
    from torchvision import datasets, transforms

    augment = [transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, padding=4),
               transforms.ColorJitter(AUGMENT.color_jitter, AUGMENT.color_jitter, AUGMENT.color_jitter)]
    tf = transforms.Compose((augment if train else []) + [transforms.ToTensor(), transforms.Normalize(mean, std)])
    subset = torch.utils.data.Subset(datasets.ImageFolder(str(train_dir), transform=tf), indices)
    return torch.utils.data.DataLoader(subset, batch_size=batch, shuffle=train, num_workers=workers,
                                       persistent_workers=workers > 0, drop_last=train)


def images_per_second(batches, seconds: float | None = None, step=None) -> float:
    """Images/s over one pass, or for about `seconds` (at least 3 batches), after one warm-up batch."""
    iterator = iter(batches)
    x, y = next(iterator)
    if step:
        step(x, y)
    seen, count, started = 0, 0, time.perf_counter()
    for x, y in iterator:
        if step:
            step(x, y)
        seen, count = seen + len(y), count + 1
        if seconds is not None and count >= 3 and time.perf_counter() - started >= seconds:
            break
    return seen / (time.perf_counter() - started)


def trainer(spec, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(spec, 3, 32, 10)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def evaluator(spec, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(spec, 3, 32, 10).eval()

    def step(x, y):
        with torch.inference_mode():
            model(x).argmax(1)

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    ap.add_argument("--images", type=int, default=10_000, help="training images used by every pipeline")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--models", default="baseline,small_filters,resnet18,fast", help="variants of params.yaml")
    ap.add_argument("--seconds", type=float, default=20.0, help="about how long each timing runs")
    args = ap.parse_args()
    if not args.archive.exists():
        raise SystemExit(f"{args.archive} not found; pass --archive with the CIFAR-10 JPEG archive.")
    params = load_params(HERE.parent / "params.yaml")
    specs = {name: params.variant(name).model for name in args.models.split(",")}
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
    ours_eval = BatchLoader(images, labels, args.batch_size, norm)
    print(f"one-time decode of {len(data.labels)} JPEGs into memory (the download stage): {decode_s:.1f} s")

    def loader(workers: int, train: bool):
        return torchvision_loader(root / "train", indices.tolist(), args.batch_size, workers, stats["mean"],
                                  stats["std"], train)

    results: dict[str, float] = {"input_cnnlab": images_per_second(ours)}
    for workers in (0, 2):
        results[f"input_dataloader_w{workers}"] = images_per_second(loader(workers, True))
    ratios = {"input: cnnlab / best DataLoader":
              results["input_cnnlab"] / max(results["input_dataloader_w0"], results["input_dataloader_w2"])}
    for name, spec in specs.items():
        for workers in (0, 2):
            results[f"{name} train_dataloader_w{workers}"] = images_per_second(loader(workers, True), args.seconds,
                                                                              trainer(spec))
            results[f"{name} eval_dataloader_w{workers}"] = images_per_second(loader(workers, False), args.seconds,
                                                                             evaluator(spec))
        results[f"{name} train_cnnlab"] = images_per_second(ours, args.seconds, trainer(spec))
        results[f"{name} eval_cnnlab"] = images_per_second(ours_eval, args.seconds, evaluator(spec))
        x, y = next(iter(ours))
        one_batch = ((x, y) for _ in range(10**6))
        results[f"{name} train_model_only"] = images_per_second(one_batch, args.seconds, trainer(spec))
        best_train = max(results[f"{name} train_dataloader_w0"], results[f"{name} train_dataloader_w2"])
        best_eval = max(results[f"{name} eval_dataloader_w0"], results[f"{name} eval_dataloader_w2"])
        ratios[f"{name} train: cnnlab / best DataLoader"] = results[f"{name} train_cnnlab"] / best_train
        ratios[f"{name} eval: cnnlab / best DataLoader"] = results[f"{name} eval_cnnlab"] / best_eval
        ratios[f"{name} train: cnnlab / model-only ceiling"] = (results[f"{name} train_cnnlab"]
                                                                / results[f"{name} train_model_only"])

    print(f"\n{'measurement':44s} images/s")
    for k, v in results.items():
        print(f"{k:44s} {v:10.0f}")
    print(f"\n{'ratio':44s} value   target")
    for k, v in ratios.items():
        target = ">= 10" if k.startswith("input") else ">= 0.90" if "ceiling" in k else ""
        print(f"{k:44s} {v:6.2f}   {target}")
    out = HERE / "out" / "input_pipeline.json"
    out.write_text(json.dumps({"threads": threads, "batch_size": args.batch_size, "images": args.images,
                               "decode_seconds": decode_s, "images_per_second": results, "ratios": ratios},
                              indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
