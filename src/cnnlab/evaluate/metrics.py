"""Test-set metrics from logits.

Confusion, precision, recall and F1 come from one bincount; they follow
scikit-learn's definitions (zero_division=0, macro average over every class) and
the tests check them against it. Computing them here keeps scikit-learn's 2 s
import out of every evaluate stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cnnlab.runtime.inference import loss_and_accuracy


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """rows: actual class, columns: predicted class."""
    flat = labels.astype(np.int64) * num_classes + predicted.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def precision_recall_f1(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    hits = np.diag(confusion).astype(np.float64)
    precision = _ratio(hits, confusion.sum(0))
    recall = _ratio(hits, confusion.sum(1))
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1, confusion.sum(1)


@dataclass
class Evaluation:
    classes: list[str]
    labels: np.ndarray  # true class per test item
    predicted: np.ndarray
    confidence: np.ndarray  # softmax probability of the predicted class
    loss: float
    accuracy: float

    @property
    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.labels, self.predicted, len(self.classes))

    def per_class(self) -> list[dict[str, object]]:
        precision, recall, f1, support = precision_recall_f1(self.confusion)
        return [{"class": c, "precision": round(float(p), 6), "recall": round(float(r), 6),
                 "f1": round(float(f), 6), "support": int(s)}
                for c, p, r, f, s in zip(self.classes, precision, recall, f1, support, strict=True)]

    def summary(self) -> dict[str, float]:
        _, _, f1, _ = precision_recall_f1(self.confusion)
        return {"test_accuracy": round(self.accuracy, 6), "test_loss": round(self.loss, 6),
                "test_macro_f1": round(float(f1.mean()), 6), "test_size": int(len(self.labels))}


def evaluate_logits(logits: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> Evaluation:
    loss, accuracy = loss_and_accuracy(logits, labels)
    confidence, predicted = logits.softmax(1).max(1)
    return Evaluation(classes, labels.numpy(), predicted.numpy(), confidence.numpy(), loss, accuracy)
