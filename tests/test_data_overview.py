"""data_overview: class counts per split and a seeded grid of training images."""

import csv
import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab import layout
from cnnlab.data.canonical import ImageSet, write_imageset
from cnnlab.data.overview import data_overview, sample_rows
from cnnlab.io import read_json, write_json
from cnnlab.params import DataOverviewParams


def imbalanced_set(root) -> tuple[np.ndarray, dict]:
    """Three classes of 30, 12 and 6 images, each a flat colour of its own, and a split."""
    labels = np.repeat([0, 1, 2], [30, 12, 6])
    colours = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200]], dtype=np.uint8)
    images = np.broadcast_to(colours[labels][:, :, None, None], (len(labels), 3, 16, 16)).copy()
    (root / layout.RAW).mkdir(parents=True)
    write_imageset(ImageSet(torch.from_numpy(images), torch.from_numpy(labels), ["red", "green", "blue"],
                            torch.zeros(len(labels), dtype=torch.bool), "test set"), root / layout.RAW)
    order = np.random.default_rng(0).permutation(len(labels))
    split = {"train": order[:30].tolist(), "val": order[30:39].tolist(), "test": order[39:].tolist()}
    write_json(root / layout.SPLIT, split)
    return labels, split


def test_counts_per_split_and_a_seeded_grid_of_training_images(tmp_path, monkeypatch, repo_params):
    monkeypatch.chdir(tmp_path)
    labels, split = imbalanced_set(tmp_path)
    params = dataclasses.replace(repo_params, data_overview=DataOverviewParams(samples_per_class=4, max_classes=20))
    summary = data_overview(params)
    with layout.DATA_OVERVIEW.counts.open() as f:
        rows = list(csv.DictReader(f))
    for row, c in zip(rows, range(3), strict=True):
        for s in ("train", "val", "test"):
            assert int(row[s]) == int((labels[split[s]] == c).sum())
        assert int(row["total"]) == [30, 12, 6][c]
    train = np.bincount(labels[split["train"]], minlength=3)
    assert summary == read_json(layout.DATA_OVERVIEW.metrics)
    assert (summary["train_images"], summary["val_images"], summary["test_images"]) == (30, 9, 9)
    assert summary["train_largest_class"] == train.max() and summary["train_smallest_class"] == train.min()
    assert summary["train_imbalance"] == pytest.approx(train.max() / train.min(), abs=1e-4)
    # the grid: a row per class, in the class's own colour (so its images are that class's)
    with Image.open(layout.DATA_OVERVIEW.samples) as img:
        pixels = np.asarray(img.convert("RGB")).reshape(-1, 3)
    for colour in ([200, 30, 30], [30, 200, 30], [30, 30, 200]):
        assert (np.abs(pixels.astype(int) - colour).max(1) < 8).sum() > 100, colour
    with Image.open(layout.DATA_OVERVIEW.counts_figure) as img:
        assert min(img.size) > 200 and np.asarray(img.convert("L")).std() > 10


def test_sample_rows_come_from_the_training_split_and_are_seeded():
    labels = np.repeat(np.arange(30), 10)
    train = np.arange(0, 300, 2)  # half of each class
    rows = sample_rows(labels, train, per_class=3, max_classes=8, seed=1)
    assert len(rows) == 8 and [c for c, _ in rows] == sorted(c for c, _ in rows)
    for c, idx in rows:
        assert len(idx) == 3 and set(idx) <= set(train) and (labels[idx] == c).all()
    again = sample_rows(labels, train, per_class=3, max_classes=8, seed=1)
    assert [(c, i.tolist()) for c, i in rows] == [(c, i.tolist()) for c, i in again]
    other = sample_rows(labels, train, per_class=3, max_classes=8, seed=2)
    assert [(c, i.tolist()) for c, i in rows] != [(c, i.tolist()) for c, i in other]
    # a class with fewer training images than asked shows what it has
    few = sample_rows(np.array([0, 0, 1]), np.array([0, 1, 2]), per_class=5, max_classes=4, seed=0)
    assert [(c, len(i)) for c, i in few] == [(0, 2), (1, 1)]
