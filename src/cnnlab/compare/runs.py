"""What a run measured, as the statistics take it: per variant, who got which test image
right (seeds x test images, in test-index order) and each seed's training time."""

from __future__ import annotations

import numpy as np

from cnnlab import layout
from cnnlab.compare.claims import Scores, dataset_name
from cnnlab.errors import UserError
from cnnlab.io import read_json
from cnnlab.params import Params
from cnnlab.predictions import read_predictions


def correct_on_test(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(test indices, right or wrong) of variant name's run, sorted by test index."""
    rows = read_predictions(name)
    index = np.array([int(r["index"]) for r in rows], dtype=np.int64)
    right = np.array([r["actual"] == r["predicted"] for r in rows], dtype=bool)
    order = np.argsort(index)
    return index[order], right[order]


def workspace_scores(params: Params) -> Scores:
    """The scores of the active variants in this workspace (one seed each)."""
    names = [v for v in params.active if (layout.variant_report_dir(v) / "predictions.csv").exists()]
    correct, seconds, indices = {}, {}, {}
    for name in names:
        indices[name], right = correct_on_test(name)
        correct[name] = right[None]
        seconds[name] = np.array([read_json(layout.model_dir(name) / "timing.json")["train_seconds"]])
    if len({tuple(i) for i in indices.values()}) > 1:
        raise UserError("the variants' predictions are on different test images; re-run evaluate for all "
                        "of them (dvc repro).")
    meta = read_json(layout.RAW / "meta.json")
    return Scores(lambda v: correct[v], lambda v: seconds[v], names,
                  dataset_name(params.data.dataset, meta["classes"]))
