"""Shared fixtures: small real images made on the fly, a repo root, the params."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.data.canonical import ImageSet

ROOT = Path(__file__).resolve().parents[1]
SHARED_CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


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
