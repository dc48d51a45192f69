"""evaluate@V's per-image test predictions, which its gallery of mistakes and saliency@V read
instead of running the model over the test set again."""

from __future__ import annotations

import csv
import io

from cnnlab import layout


def read_predictions(name: str) -> list[dict[str, str]]:
    """One row per test image: index (into data/raw), actual, predicted, confidence."""
    path = layout.require(layout.tested(name).predictions, f"evaluate@{name}")
    return parse_predictions(path.read_text(encoding="utf-8"))


def parse_predictions(text: str) -> list[dict[str, str]]:
    """The rows of a predictions.csv's text (read from the workspace or from DVC's cache)."""
    return list(csv.DictReader(io.StringIO(text)))


def confident_mistakes(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The misclassified rows, most confident first: they say the most about what the model gets wrong."""
    wrong = [r for r in rows if r["actual"] != r["predicted"]]
    return sorted(wrong, key=lambda r: -float(r["confidence"]))
