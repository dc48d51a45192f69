"""Shared fixtures: small real images made on the fly, a repo root, the params."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.data.canonical import ImageSet

ROOT = Path(__file__).resolve().parents[1]
SHARED_CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def unavailable(message: str) -> NoReturn:
    """A tool a test needs is missing: a failure under CI (which must run every test), else a
    skip whose reason says how to get it."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, one core per worker for torch's threads, in the worker and in the
    stages it starts: two workers with a thread per core each would fight over the cores."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first (by the seconds their `slow` marks expect), each file's tests
    kept together and in order: pytest-xdist hands out whole files in this order, so the long
    ones start at once and the short ones fill in."""
    def expected_seconds(item: pytest.Item) -> float:
        mark = item.get_closest_marker("slow")
        return mark.kwargs.get("seconds", 60) if mark else 0

    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    per_file: dict[str, float] = {}
    for item in items:
        per_file[file_of(item)] = max(per_file.get(file_of(item), 0), expected_seconds(item))
    items.sort(key=lambda item: per_file[file_of(item)], reverse=True)  # stable


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def class_image(label: int, size: int = 12, seed: int = 0) -> np.ndarray:
    """An RGB image whose colour encodes its class, with a little noise."""
    rng = np.random.default_rng(seed)
    base = np.array([(label * 70) % 256, (label * 130 + 40) % 256, (255 - label * 50) % 256], dtype=np.int16)
    noise = rng.integers(-10, 11, size=(size, size, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def make_image_tree(root: Path, layout: dict[str, int], size: int = 12) -> None:
    """layout: relative class folder -> image count, e.g. {"train/cat": 3}."""
    for k, (folder, count) in enumerate(sorted(layout.items())):
        label = sorted({f.split("/")[-1] for f in layout}).index(folder.split("/")[-1])
        for i in range(count):
            path = root / folder / f"{i:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png_bytes(class_image(label, size, seed=k * 100 + i)))


def synthetic_set(n_per_class: int = 20, classes: int = 3, size: int = 8, channels: int = 3,
                  seed: int = 0, official_test: int = 0) -> ImageSet:
    """Linearly separable images: class k is brightest in a different quadrant."""
    g = torch.Generator().manual_seed(seed)
    images, labels = [], []
    for c in range(classes):
        x = torch.randint(0, 60, (n_per_class, channels, size, size), generator=g)
        half = size // 2
        r, q = divmod(c % 4, 2)
        x[:, :, r * half:(r + 1) * half, q * half:(q + 1) * half] += 150 + 20 * (c // 4)
        images.append(x.clamp(0, 255).to(torch.uint8))
        labels.append(torch.full((n_per_class,), c, dtype=torch.int64))
    labels_t = torch.cat(labels)
    is_test = torch.zeros(len(labels_t), dtype=torch.bool)
    if official_test:
        for c in range(classes):
            is_test[torch.nonzero(labels_t == c)[:official_test, 0]] = True
    return ImageSet(torch.cat(images), labels_t, [f"c{c}" for c in range(classes)], is_test, "synthetic")


@pytest.fixture
def repo_params():
    from cnnlab.params import load_params

    return load_params(ROOT / "params.yaml")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A folder laid out like the repository after download, split and stats, on a small
    synthetic set (3 classes, 16 px); stages run in it. Returns a params maker:
    workspace(variant_name, **overrides) -> Params with that variant (only) active."""
    import yaml

    from cnnlab import layout
    from cnnlab.data.canonical import save_imageset
    from cnnlab.data.split import make_split
    from cnnlab.data.stats import channel_stats
    from cnnlab.io import write_json
    from cnnlab.params import parse_params

    monkeypatch.chdir(tmp_path)
    for var in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME"):
        monkeypatch.delenv(var, raising=False)
    data = synthetic_set(n_per_class=40, classes=3, size=16)
    save_imageset(data, layout.RAW)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    split = make_split(data, parse_params(raw).split, seed=0)
    write_json(layout.SPLIT, split)
    write_json(layout.STATS, channel_stats(data.images, torch.tensor(split["train"])))

    def make(variant: str, **overrides):
        changed = yaml.safe_load(yaml.safe_dump(raw))
        changed["variants"][variant] = {**(changed["variants"].get(variant) or {}), **overrides}
        changed["active"] = [variant]
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
        return parse_params(changed)

    return make
