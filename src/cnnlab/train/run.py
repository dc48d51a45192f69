"""train@V: fit one variant, keep its best epoch, record it in MLflow; and the LR range test."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlab import layout, tracking
from cnnlab.data.canonical import LABELS, META
from cnnlab.data.loader import BatchLoader, Normalizer, TensorBatches
from cnnlab.data.prepared import Prepared, load_prepared
from cnnlab.figures.lr_find import lr_find_figure
from cnnlab.io import read_json, save_figure, write_csv, write_json
from cnnlab.models.build import build_model, count_parameters, input_stats
from cnnlab.params import Params, TrainParams, Variant
from cnnlab.runtime.checkpoint import ModelCard
from cnnlab.runtime.device import batch_fits, pick_device, seed_everything
from cnnlab.runtime.distributed import current, rank_device, relaunch
from cnnlab.runtime.inference import predict
from cnnlab.train.loop import EpochRecord, FitResult, fit
from cnnlab.train.lr_find import lr_range_test
from cnnlab.train.record import summary_lines, training_record, write_record
from cnnlab.train.resume import ResumeStore, fingerprint


@dataclass
class Setup:
    """What training and the LR range test of one variant start from."""
    variant: Variant
    device: torch.device
    prepared: Prepared
    model: nn.Module
    mean: list[float]  # the input normalisation: the dataset's, or the pretrained weights'
    std: list[float]

    def train_loader(self, p: TrainParams, seed: int) -> BatchLoader:
        return self.prepared.loader("train", p.batch_size, self.device, stats=(self.mean, self.std),
                                    shuffle=True, augment=p.augment, seed=seed)

    def eval_loader(self, split: str, train_batch_size: int) -> BatchLoader:
        return self.prepared.eval_loader(split, self.model, self.device, stats=(self.mean, self.std),
                                         train_batch_size=train_batch_size)


def set_up(params: Params, name: str, seed: int | None = None) -> Setup:
    """The variant's model (initialised from `seed`, by default the first training seed) and data."""
    variant = params.variant(name)
    device = rank_device(pick_device(variant.train.device), current())
    prepared = load_prepared(params, seed)
    data = prepared.data
    seed_everything(params.training_seed(seed))
    model = build_model(variant.model, data.channels, data.image_size, len(data.classes), pretrained=True)
    mean, std = input_stats(variant.model, data.channels) or (prepared.mean, prepared.std)
    if hasattr(model, "init_from_data"):  # a layer set from the training images (fast's whitening)
        train, normalize = prepared.indices("train"), Normalizer(mean, std)
        # n images spread evenly over the split: a folder source lists its images class by class
        model.init_from_data(lambda n: normalize(data.images[train[::max(1, len(train) // n)][:n]].float() / 255))
    return Setup(variant, device, prepared, model.to(device), list(mean), list(std))


def resolved(p: TrainParams, name: str) -> tuple[TrainParams, str]:
    """The variant's params with `lr: auto` replaced by lr_find@V's suggestion."""
    if p.lr != "auto":
        return p, "params.yaml"
    found = read_json(layout.require(layout.lr_find(name).lr, f"lr_find@{name}"))
    return dataclasses.replace(p, lr=float(found["lr"])), "lr_find"


def run_lr_range_test(params: Params, name: str, out: layout.LRFindResults) -> None:
    """lr_find@V with `lr: auto`: the LR range test, its table, plot and suggestion in out."""
    p = params.variant(name).train
    s = set_up(params, name)
    with batch_fits(p.batch_size, batch_size_key(params, name), s.device):
        test = lr_range_test(s.model, s.train_loader(p, params.seed), p, params.lr_find, label=name)
    write_json(out.lr, {"lr": test.suggestion, "source": "lr_find", "diverged": test.diverged,
                        "iterations": len(test.lrs)})
    write_csv(out.table, ["lr", "loss", "smoothed_loss"],
              ([f"{a:.6g}", f"{b:.6g}", f"{c:.6g}"] for a, b, c in test.rows()))
    save_figure(lr_find_figure(test.lrs, test.losses, test.smoothed, test.suggestion,
                               f"{name}: LR range test ({p.optimizer}, batch {p.batch_size})"),
                out.plot)


def frozen_backbone(model: nn.Module) -> tuple[nn.Module, nn.Module] | None:
    """(backbone, head) of a model whose whole backbone is frozen, else None."""
    if getattr(model, "backbone_frozen", False):
        return model.backbone, model.head
    return None


def extract_features(backbone: nn.Module, batches: BatchLoader) -> torch.Tensor:
    features, _ = predict(backbone, batches)  # eval mode, no gradients
    return features


@dataclass
class Fitted:
    result: FitResult
    state: dict[str, torch.Tensor]  # the whole model at its best epoch
    feature_seconds: float  # computing a frozen backbone's features, once (0 otherwise)


def fit_variant(s: Setup, p: TrainParams, seed: int, label: str, **fit_args: Any) -> Fitted:
    """Train the model of s; a frozen backbone without augmentation sees the same images
    every epoch, so its features are computed once and only the head trains, on them."""
    frozen = frozen_backbone(s.model) if not p.augment.active else None
    if frozen is None:
        result = fit(s.model, s.train_loader(p, seed), s.eval_loader("val", p.batch_size), p, label=label,
                     **fit_args)
        return Fitted(result, result.best_state, 0.0)
    backbone, head = frozen
    started = time.perf_counter()
    # Batches sized for the backbone alone: only the head ever sees the training batch size.
    train_features = extract_features(backbone, s.eval_loader("train", 1))
    val_features = extract_features(backbone, s.eval_loader("val", 1))
    feature_seconds = time.perf_counter() - started
    labels = s.prepared.data.labels
    result = fit(head, TensorBatches(train_features, labels[s.prepared.indices("train")], p.batch_size,
                                     shuffle=True, seed=seed, device=s.device),
                 TensorBatches(val_features, labels[s.prepared.indices("val")], 256, device=s.device),
                 p, label=label, **fit_args)
    head.load_state_dict(result.best_state)
    return Fitted(result, s.model.state_dict(), feature_seconds)


def batch_size_key(params: Params, name: str) -> str:
    """Where this variant's batch size is set: under the variant, or in train."""
    return set_at(params, name, "batch_size")


def set_at(params: Params, name: str, key: str) -> str:
    """The params key that sets a training param of this variant: under the variant, or in train."""
    return f"variants.{name}.{key}" if key in (params.variants[name] or {}) else f"train.{key}"


def resume_store(name: str, seed: int, p: TrainParams, device: torch.device, first: bool = True,
                 split: dict[str, list[int]] | None = None) -> ResumeStore:
    """Where an interrupted training of `name` left its state, keyed by everything that
    decides the result: the params (lr resolved), the seed, the device kind and the data
    (the run's own split, when it draws one)."""
    return ResumeStore(layout.resume_file(name, None if first else seed), fingerprint(
        name, seed, asdict(p), device.type, split,
        files=(layout.SPLIT, layout.STATS, layout.RAW / META, layout.RAW / LABELS)))


def train_variant(params: Params, name: str, seed: int | None = None, out: Path | None = None) -> FitResult:
    """Train variant `name` from training seed `seed` into `out`: by default the first seed,
    into models/NAME (train@V); another seed's run goes into its own folder (repeat@V-S)."""
    seed = params.training_seed(seed)
    ranks = relaunch(params.variant(name).train.processes, set_at(params, name, "processes"))
    if ranks is not None:  # the whole stage ran again under torchrun; its rank 0 wrote the outputs
        raise SystemExit(ranks)
    first = seed == params.training_seed()
    s = set_up(params, name, seed)
    p, lr_source = resolved(s.variant.train, name)
    data = s.prepared.data
    files = layout.trained(name) if out is None else layout.TrainedModel(out)
    files.dir.mkdir(parents=True, exist_ok=True)
    store = resume_store(name, seed, p, s.device, first,
                         s.prepared.split if params.draws_own_split(seed) else None)
    resume = store.load()
    if resume is not None:
        print(f"{name}: resuming after epoch {len(resume['history'])} of an interrupted training")
    if not current().main:  # another rank: it trains its slice of every batch, rank 0 records; its stage ends
        with batch_fits(p.batch_size, batch_size_key(params, name), s.device):
            fit_variant(s, p, seed, name, resume=resume)
        raise SystemExit(0)

    logged = {"variant": name, "seed": seed, "split_seed": params.split_seed(seed), "data": asdict(params.data),
              "split": asdict(params.split), "train": asdict(p), "lr_source": lr_source}
    with tracking.start_run(name, logged, files.mlflow_run, resume["mlflow_run"] if resume else None, seed,
                            name if first else f"{name} seed {seed}") as run:
        store.extra["mlflow_run"] = run.id

        def on_epoch(epoch: EpochRecord) -> None:
            run.log_metrics({k: v for k, v in epoch.as_dict().items() if k != "epoch" and not math.isnan(v)},
                            step=epoch.epoch)

        with batch_fits(p.batch_size, batch_size_key(params, name), s.device):
            fitted = fit_variant(s, p, seed, name, on_epoch=on_epoch, store=store, resume=resume)
        card = ModelCard(model=p.model, in_channels=data.channels, image_size=data.image_size,
                         classes=data.classes, mean=s.mean, std=s.std)
        record = training_record(name, fitted.result, fitted.state, card, p.lr, count_parameters(s.model),
                                 count_parameters(s.model, trainable_only=False),
                                 fitted.feature_seconds + fitted.result.train_seconds, fitted.feature_seconds,
                                 s.device.type, len(s.prepared.split["train"]))
        write_record(files, record)
        run.log_metrics({"best_val_accuracy": record.metrics["val_accuracy"],
                         "parameters": record.metrics["parameters"],
                         "train_seconds": record.timing["train_seconds"]})
        for path in (files.history, files.curves):
            run.log_artifact(path)
        example = data.images[torch.as_tensor(s.prepared.split["val"][:2])].numpy()
        from cnnlab import serving  # MLflow's pyfunc: only where a model is logged

        serving.log_model(files.weights, files.card, example)  # into the run open here
        if layout.lr_find(name).plot.exists():
            run.log_artifact(layout.lr_find(name).plot)
    store.clear()
    for line in summary_lines(record, name if first else f"{name} (seed {seed})", p.scheduler):
        print(line)
    return record.result
