"""What a run measured, as the statistics take it: per variant, who got which test image
right (seeds x test images, each seed in test-index order) and each seed's training
time, read from runs/V/S/ (repeat@V-S) for every seed under `seeds`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from cnnlab import layout
from cnnlab.compare.claims import Scores, dataset_name
from cnnlab.compare.stats import chance_level
from cnnlab.data.canonical import META
from cnnlab.errors import UserError
from cnnlab.io import read_json
from cnnlab.params import Params
from cnnlab.predictions import parse_predictions


def right_or_wrong(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(test indices, right or wrong) from a predictions.csv's text, sorted by test index."""
    rows = parse_predictions(text)
    index = np.array([int(r["index"]) for r in rows], dtype=np.int64)
    right = np.array([r["actual"] == r["predicted"] for r in rows], dtype=bool)
    order = np.argsort(index)
    return index[order], right[order]


def seed_matrix(name: str, seeds: list[int], read: Callable[[str], str]) -> tuple[np.ndarray, np.ndarray]:
    """(seeds x test indices, seeds x test images of right or wrong) for variant name;
    read(path) gives a file's text. The rows of indices are equal unless each seed drew
    its own split (split.per_seed)."""
    runs = [right_or_wrong(read(str(layout.seed_run(name, s).test.predictions))) for s in seeds]
    if len({len(index) for index, _ in runs}) > 1:
        raise UserError(f"the runs of {name} were tested on different numbers of images; re-run them (dvc repro).")
    return np.stack([index for index, _ in runs]), np.stack([right for _, right in runs])


def same_images(indices: np.ndarray) -> bool:
    """Whether every seed (row) was tested on the same images."""
    return bool(np.all(indices == indices[:1]))


def read_local(path: str) -> str:
    return layout.require(Path(path), "repeat").read_text(encoding="utf-8")


def workspace_scores(params: Params) -> Scores:
    """The scores of the active variants in this workspace, over every seed under `seeds`."""
    names = [v for v in params.active
             if all(layout.seed_run(v, s).test.predictions.exists() for s in params.seeds)]
    matrices = {name: seed_matrix(name, params.seeds, read_local) for name in names}
    if len({index.tobytes() for index, _ in matrices.values()}) > 1:
        raise UserError("the variants' runs are on different test images; re-run them all (dvc repro).")
    correct = {name: m for name, (_, m) in matrices.items()}
    shared = all(same_images(index) for index, _ in matrices.values())
    seconds = {name: np.array([read_json(layout.seed_run(name, s).train.timing)["train_seconds"]
                               for s in params.seeds]) for name in names}
    meta = read_json(layout.RAW / META)
    chance = 0.0
    if names:  # every variant is tested on the same images: the first one's labels are everyone's
        first = layout.seed_run(names[0], params.training_seed()).test.predictions
        labels = [r["actual"] for r in parse_predictions(read_local(str(first)))]
        chance = chance_level(labels, len(meta["classes"]))
    return Scores(lambda v: correct[v], lambda v: seconds[v], names,
                  dataset_name(params.data.dataset, meta["classes"]), shared, chance)
