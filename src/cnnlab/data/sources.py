"""Data sources registry: `data.dataset` -> a loader returning the canonical ImageSet.

`digits` ships inside scikit-learn and needs no network: it is the default. The
torchvision datasets download when a network is there; offline they fail fast with
a remedy and leave no partial directory behind.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from cnnlab.data.canonical import ImageSet, conform
from cnnlab.data.folder import load_folder
from cnnlab.errors import UserError
from cnnlab.params import DataParams

DOWNLOAD_TIMEOUT_S = 20


def load_digits_set() -> ImageSet:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 8x8 intensities 0..16 -> uint8 0..255
    pixels = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return ImageSet(torch.from_numpy(pixels[:, None]), torch.from_numpy(digits.target.astype(np.int64)),
                    [str(c) for c in digits.target_names], torch.zeros(len(pixels), dtype=torch.bool),
                    "digits (scikit-learn)")


@dataclass(frozen=True)
class TorchvisionSource:
    dataset_class: str  # name in torchvision.datasets
    files: str  # what a user places by hand, relative to data.download_dir
    url: str

    def construct(self, root: Path, train: bool, download: bool):
        import torchvision.datasets as tvd

        return getattr(tvd, self.dataset_class)(str(root), train=train, download=download)


TORCHVISION = {
    "cifar10": TorchvisionSource(
        "CIFAR10", "cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta)",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
    "mnist": TorchvisionSource(
        "MNIST", "MNIST/raw/ (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                 "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)",
        "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    "fashion_mnist": TorchvisionSource(
        "FashionMNIST", "FashionMNIST/raw/ (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
}


def fetch_torchvision(name: str, download_dir: Path) -> tuple[object, object]:
    """Both splits, from files already in download_dir or else downloaded there."""
    source = TORCHVISION[name]
    try:
        return source.construct(download_dir, True, False), source.construct(download_dir, False, False)
    except RuntimeError:
        pass  # not there yet: download
    existed = download_dir.exists()
    download_dir.mkdir(parents=True, exist_ok=True)
    # Download into a private folder and move it in only when both splits verify.
    staging = Path(tempfile.mkdtemp(prefix=f".partial-{name}-", dir=download_dir))
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        source.construct(staging, True, True)
        source.construct(staging, False, True)
        for entry in staging.iterdir():
            target = download_dir / entry.name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            entry.replace(target)
    except Exception as exc:  # noqa: BLE001 - any failure means the same remedy
        raise UserError(
            f"Could not download {name} ({exc.__class__.__name__}: {exc}).\n"
            f"Without a network, either place the files by hand: fetch {source.url} and put "
            f"{source.files} under {download_dir}/, then run again;\n"
            f"or use your own copy as an image folder: set data.dataset=folder and data.path to a "
            f"folder or archive of class subfolders (README, 'Your own images')."
        ) from None
    finally:
        socket.setdefaulttimeout(previous_timeout)
        shutil.rmtree(staging, ignore_errors=True)
        if not existed and download_dir.exists() and not any(download_dir.iterdir()):
            download_dir.rmdir()
    return source.construct(download_dir, True, False), source.construct(download_dir, False, False)


def load_torchvision_set(name: str, download_dir: Path) -> ImageSet:
    train, test = fetch_torchvision(name, download_dir)
    parts = []
    for split in (train, test):
        pixels = torch.as_tensor(np.asarray(split.data), dtype=torch.uint8)
        pixels = pixels[:, None] if pixels.ndim == 3 else pixels.permute(0, 3, 1, 2)
        parts.append((pixels, torch.as_tensor(np.asarray(split.targets), dtype=torch.int64)))
    (tr_x, tr_y), (te_x, te_y) = parts
    is_test = torch.cat([torch.zeros(len(tr_y), dtype=torch.bool), torch.ones(len(te_y), dtype=torch.bool)])
    return ImageSet(torch.cat([tr_x, te_x]).contiguous(), torch.cat([tr_y, te_y]), list(train.classes),
                    is_test, f"{name} (torchvision)")


SOURCES: dict[str, Callable[[DataParams], ImageSet]] = {
    "digits": lambda p: load_digits_set(),
    "cifar10": lambda p: load_torchvision_set("cifar10", Path(p.download_dir)),
    "mnist": lambda p: load_torchvision_set("mnist", Path(p.download_dir)),
    "fashion_mnist": lambda p: load_torchvision_set("fashion_mnist", Path(p.download_dir)),
    "folder": lambda p: load_folder(p.path, p.image_size, p.channels),
}


def load_source(params: DataParams) -> ImageSet:
    """The configured dataset in canonical form, at the configured size and channels."""
    return conform(SOURCES[params.dataset](params), params.image_size, params.channels)
