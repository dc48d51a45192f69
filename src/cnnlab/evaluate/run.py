"""evaluate@V and misclassified@V."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab import layout
from cnnlab.data.canonical import load_imageset
from cnnlab.figures.results import confusion_figure, gallery_figure
from cnnlab.evaluate.metrics import Evaluation, evaluate_logits
from cnnlab.io import save_figure, write_csv, write_json
from cnnlab.params import Params
from cnnlab.predictions import PREDICTIONS, confident_mistakes, read_predictions
from cnnlab.train.loop import predict
from cnnlab.trained import load_trained

def evaluate_variant(params: Params, name: str, model_dir: Path | None = None, out: Path | None = None,
                     seed: int | None = None) -> Evaluation:
    """Test metrics, predictions, per-class table and confusion matrix of the variant's model
    (train@V's, or the run of training seed `seed` from model_dir), into reports/variants/NAME
    or out."""
    trained = load_trained(params, name, model_dir, seed)
    card, prepared = trained.card, trained.prepared
    logits, labels = predict(trained.model, trained.loader("test"))
    result = evaluate_logits(logits, labels, card.classes)
    out = layout.variant_report_dir(name) if out is None else out
    summary = result.summary()
    write_json(out / "metrics.json", summary)
    test_index = prepared.split["test"]
    # One row per test image: DVC's confusion template reads actual/predicted;
    # misclassified@V reads the rest instead of running the model again.
    write_csv(out / PREDICTIONS, ["index", "actual", "predicted", "confidence"],
              ([test_index[i], card.classes[a], card.classes[p], f"{c:.6f}"]
               for i, (a, p, c) in enumerate(zip(result.labels, result.predicted, result.confidence))))
    per_class = result.per_class()
    write_csv(out / "per_class.csv", list(per_class[0]), (row.values() for row in per_class))
    save_figure(confusion_figure(result.confusion, card.classes,
                                 f"{name}: test accuracy {result.accuracy:.2%}"), out / "confusion.png")
    print(f"{name}: test accuracy {result.accuracy:.4f}, loss {result.loss:.4f} on {len(labels)} images")
    return result


def misclassified_gallery(params: Params, name: str) -> int:
    rows = read_predictions(name)
    wrong = confident_mistakes(rows)
    shown = wrong[:params.misclassified.max_images]
    images = load_imageset(layout.RAW).images
    pictures = np.stack([images[int(r["index"])].numpy() for r in shown]) if shown else np.zeros((0,))
    captions = [f"true: {r['actual']}\npred: {r['predicted']} ({float(r['confidence']):.2f})" for r in shown]
    out = layout.variant_report_dir(name)
    title = (f"{name}: {len(wrong)} of {len(rows)} test images misclassified"
             + (f" (the {len(shown)} most confident shown)" if len(shown) < len(wrong) else ""))
    save_figure(gallery_figure(pictures, captions, title), out / "misclassified.png")
    write_json(out / "misclassified.json", {"misclassified": len(wrong),
                                            "misclassified_fraction": round(len(wrong) / max(1, len(rows)), 6)})
    print(f"{name}: {len(wrong)} misclassified test images")
    return len(wrong)
