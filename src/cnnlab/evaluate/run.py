"""evaluate@V: test the trained model."""

from __future__ import annotations

from pathlib import Path

from cnnlab import layout
from cnnlab.evaluate.metrics import Evaluation, evaluate_logits
from cnnlab.figures.results import confusion_figure
from cnnlab.io import save_figure, write_csv, write_json
from cnnlab.params import Params
from cnnlab.runtime.inference import predict, with_tta
from cnnlab.runtime.trained import load_trained


def evaluate_variant(params: Params, name: str, model_dir: Path | None = None, out: Path | None = None,
                     seed: int | None = None) -> Evaluation:
    """Test metrics, predictions, per-class table and confusion matrix of the variant's model
    (train@V's, or the run of training seed `seed` from model_dir), into reports/variants/NAME
    or out."""
    trained = load_trained(params, name, model_dir, seed)
    card, prepared = trained.card, trained.prepared
    tta = params.variant(name).train.tta
    logits, labels = predict(with_tta(trained.model, tta), trained.eval_loader("test"))
    result = evaluate_logits(logits, labels, card.classes)
    files = layout.tested(name) if out is None else layout.TestResults(out)
    summary = result.summary()
    write_json(files.metrics, summary)
    test_index = prepared.split["test"]
    # One row per test image: DVC's confusion template reads actual/predicted;
    # the mistakes gallery and saliency@V read the rest instead of running the model again.
    write_csv(files.predictions, ["index", "actual", "predicted", "confidence"],
              ([test_index[i], card.classes[a], card.classes[p], f"{c:.6f}"]
               for i, (a, p, c) in enumerate(zip(result.labels, result.predicted, result.confidence, strict=True))))
    per_class = result.per_class()
    write_csv(files.per_class, list(per_class[0]), (row.values() for row in per_class))
    save_figure(confusion_figure(result.confusion, card.classes,
                                 f"{name}: test accuracy {result.accuracy:.2%}"), files.confusion)
    print(f"{name}: test accuracy {result.accuracy:.4f}, loss {result.loss:.4f} on {len(labels)} images")
    return result
