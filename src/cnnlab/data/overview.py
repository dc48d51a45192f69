"""data_overview: what the data itself looks like, before any model sees it: images per
class in each split (a bar chart here and in `dvc plots show`) and a grid of training images,
a row per class."""

from __future__ import annotations

import numpy as np

from cnnlab import layout
from cnnlab.data.canonical import read_images, read_labels
from cnnlab.figures.data import class_counts_figure, samples_figure
from cnnlab.io import read_json, save_figure, write_csv, write_json
from cnnlab.params import Params

SPLITS = ("train", "val", "test")


def class_counts(labels: np.ndarray, split: dict[str, list[int]], classes: int) -> dict[str, np.ndarray]:
    """Images per class in each split."""
    return {s: np.bincount(labels[np.asarray(split[s], dtype=np.int64)], minlength=classes) for s in SPLITS}


def sample_rows(labels: np.ndarray, train: np.ndarray, per_class: int, max_classes: int, seed: int
                ) -> list[tuple[int, np.ndarray]]:
    """(class, training-image indices) per grid row: a seeded choice of classes when there are
    more than max_classes, and per class a seeded choice of up to per_class images."""
    rng = np.random.default_rng(seed)
    present = np.unique(labels[train])
    shown = np.sort(rng.choice(present, max_classes, replace=False)) if len(present) > max_classes else present
    rows = []
    for c in shown:
        members = train[labels[train] == c]
        rows.append((int(c), np.sort(rng.choice(members, min(per_class, len(members)), replace=False))))
    return rows


def data_overview(params: Params) -> dict:
    labelled = read_labels(layout.RAW)
    split = read_json(layout.SPLIT)
    counts = class_counts(labelled.labels, split, len(labelled.classes))
    files = layout.DATA_OVERVIEW
    write_csv(files.counts, ["class", *SPLITS, "total"],
              [[name, *(int(counts[s][i]) for s in SPLITS), int(sum(counts[s][i] for s in SPLITS))]
               for i, name in enumerate(labelled.classes)])
    save_figure(class_counts_figure(labelled.classes, counts), files.counts_figure)
    p = params.data_overview
    rows = sample_rows(labelled.labels, np.asarray(split["train"], dtype=np.int64), p.samples_per_class,
                       p.max_classes, params.seed)
    images = read_images(layout.RAW)
    save_figure(samples_figure([(labelled.classes[c], images[idx]) for c, idx in rows],
                               f"training images, {len(rows)} of {len(labelled.classes)} classes"),
                files.samples)
    train = counts["train"][counts["train"] > 0]
    summary = {"classes": len(labelled.classes), **{f"{s}_images": int(counts[s].sum()) for s in SPLITS},
               "train_smallest_class": int(train.min()), "train_largest_class": int(train.max()),
               "train_imbalance": round(float(train.max() / train.min()), 4)}
    write_json(files.metrics, summary)
    print(f"data_overview: {summary['classes']} classes; train {summary['train_images']}, val "
          f"{summary['val_images']}, test {summary['test_images']}; class sizes in train "
          f"{summary['train_smallest_class']} to {summary['train_largest_class']}")
    return summary
