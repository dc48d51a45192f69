"""train@V: fit one variant, keep its best epoch, record it in MLflow."""

from __future__ import annotations

from dataclasses import asdict

from cnnlab import layout, tracking
from cnnlab.data.prepared import load_prepared
from cnnlab.evaluate.figures import curves_figure
from cnnlab.io import save_figure, write_csv, write_json
from cnnlab.models import build_model, count_parameters
from cnnlab.params import Params
from cnnlab.train.checkpoint import ModelCard, save_checkpoint
from cnnlab.train.device import pick_device, seed_everything
from cnnlab.train.loop import EpochRecord, FitResult, fit

HISTORY_COLUMNS = list(EpochRecord.__dataclass_fields__)


def history_table(history: list[EpochRecord]) -> dict[str, list[float]]:
    return {k: [getattr(r, k) for r in history] for k in HISTORY_COLUMNS}


def train_variant(params: Params, name: str) -> FitResult:
    variant = params.variant(name)
    p = variant.train
    out = layout.model_dir(name)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(p.device)
    prepared = load_prepared()
    data = prepared.data

    seed_everything(params.seed)
    model = build_model(variant.model, data.channels, data.image_size, len(data.classes)).to(device)
    train_batches = prepared.loader("train", p.batch_size, device, shuffle=True,
                                    augment=p.augment, seed=params.seed)
    val_batches = prepared.loader("val", max(256, p.batch_size), device)

    logged = {"variant": name, "seed": params.seed, "data": asdict(params.data),
              "split": asdict(params.split), "train": asdict(p)}
    with tracking.start_run(name, logged, out) as mlflow:
        def on_epoch(record: EpochRecord) -> None:
            mlflow.log_metrics({k: v for k, v in record.as_dict().items() if k != "epoch"},
                               step=record.epoch)

        result = fit(model, train_batches, val_batches, p, on_epoch=on_epoch, label=name)
        parameters = count_parameters(model)
        card = ModelCard(model=p.model, in_channels=data.channels, image_size=data.image_size,
                         classes=data.classes)
        save_checkpoint(out, result.best_state, card)
        write_csv(out / "history.csv", HISTORY_COLUMNS,
                  ([r.epoch] + [f"{getattr(r, k):.6g}" for k in HISTORY_COLUMNS[1:]] for r in result.history))
        metrics = {"best_epoch": result.best_epoch, "val_accuracy": round(result.best.val_accuracy, 6),
                   "val_loss": round(result.best.val_loss, 6), "parameters": parameters}
        write_json(out / "metrics.json", metrics)
        # Wall time can never repeat to the byte, so it lives apart from the metrics
        # that must (dvc metrics still shows it).
        timing = {"train_seconds": round(result.train_seconds, 2), "device": device.type,
                  "train_images_per_second": round(
                      p.epochs * len(prepared.split["train"]) / max(result.train_seconds, 1e-9), 1)}
        write_json(out / "timing.json", timing)
        save_figure(curves_figure({name: history_table(result.history)}), out / "curves.png")
        mlflow.log_metrics({"best_val_accuracy": metrics["val_accuracy"], "parameters": parameters,
                            "train_seconds": timing["train_seconds"]})
        mlflow.log_artifact(str(out / "history.csv"))
        mlflow.log_artifact(str(out / "curves.png"))
        mlflow.log_artifact(str(out / "model.pt"), artifact_path="model")
        mlflow.log_artifact(str(out / "model.json"), artifact_path="model")
    print(f"{name}: best val accuracy {metrics['val_accuracy']:.4f} at epoch {result.best_epoch}, "
          f"{parameters:,} parameters, {timing['train_seconds']:.1f} s")
    return result
