"""The data sources' loaders (data/registry.py names them): each returns the canonical ImageSet.

`digits` ships inside scikit-learn and needs no network: it is the default. The
torchvision datasets (and Caltech-256 and Imagenette, which download as folders of
JPEGs) download when a network is there; offline they fail fast with a remedy and
leave no partial directory behind. Files already in data.download_dir are used
without a network.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnnlab.data.canonical import ImageSet, conform
from cnnlab.data.folder import load_folder
from cnnlab.data.registry import SOURCES
from cnnlab.data.shapes import MIN_SIZE, make_shapes
from cnnlab.downloads import downloading_into
from cnnlab.io import sweep_stale, temp_prefix
from cnnlab.params import DataParams
from cnnlab.registry import resolve


def load_digits(p: DataParams, target: Path | None) -> ImageSet:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 8x8 intensities 0..16 -> uint8 0..255
    pixels = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return ImageSet(torch.from_numpy(pixels[:, None]), torch.from_numpy(digits.target.astype(np.int64)),
                    [str(c) for c in digits.target_names], torch.zeros(len(pixels), dtype=torch.bool),
                    "digits (scikit-learn)")


@dataclass(frozen=True)
class Download:
    """Files a source downloads, and what a user without a network places by hand instead."""
    url: str
    files: str  # what to place by hand, relative to data.download_dir
    present: Callable[[Path], bool]  # are the files in this folder?
    fetch: Callable[[Path], None]  # download them into this (empty) folder


def ensure_downloaded(name: str, download: Download, download_dir: Path) -> None:
    """Files already in download_dir are used as they are; otherwise download them.

    The download goes into a private staging folder and is moved in only when
    complete (torchvision checks each archive's published MD5 on the way); on failure
    nothing is left behind (download_dir too, if this made it)."""
    if download.present(download_dir):
        return

    def explain(exc: Exception) -> str:
        return (f"Could not download {name} ({exc.__class__.__name__}: {exc}).\n"
                f"Without a network, either place the files by hand: fetch {download.url} and put "
                f"{download.files} under {download_dir}/, then run again;\n"
                f"or use your own copy as an image folder: set data.dataset=folder and data.path to a "
                f"folder or archive of class subfolders (README, 'Your own images').")

    with downloading_into(download_dir, explain):
        # Named after this process, so the next run sweeps away what a killed download left.
        sweep_stale(download_dir / name)
        staging = Path(tempfile.mkdtemp(prefix=temp_prefix(download_dir / name), dir=download_dir))
        try:
            download.fetch(staging)
            for entry in staging.iterdir():
                target = download_dir / entry.name
                if target.exists():
                    shutil.rmtree(target) if target.is_dir() else target.unlink()
                entry.replace(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


# --- torchvision datasets held as arrays (small images, both splits) -----------------------------

def _torchvision_arrays(dataset_class: str, files: str, url: str) -> tuple[Download, Callable[[Path, bool], object]]:
    def construct(root: Path, train: bool, download: bool = False):
        import torchvision.datasets as tvd

        return getattr(tvd, dataset_class)(str(root), train=train, download=download)

    def present(root: Path) -> bool:
        try:
            construct(root, True), construct(root, False)
            return True
        except RuntimeError:
            return False

    def fetch(root: Path) -> None:
        construct(root, True, True)
        construct(root, False, True)

    return Download(url, files, present, fetch), construct


ARRAY_SOURCES = {
    "cifar10": _torchvision_arrays(
        "CIFAR10", "cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta)",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
    "mnist": _torchvision_arrays(
        "MNIST", "MNIST/raw/ (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                 "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)",
        "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    "fashion_mnist": _torchvision_arrays(
        "FashionMNIST", "FashionMNIST/raw/ (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
}


def load_torchvision_set(name: str, download_dir: Path) -> ImageSet:
    download, construct = ARRAY_SOURCES[name]
    ensure_downloaded(name, download, download_dir)
    train, test = construct(download_dir, True), construct(download_dir, False)
    parts = []
    for split in (train, test):
        pixels = torch.as_tensor(np.asarray(split.data), dtype=torch.uint8)
        pixels = pixels[:, None] if pixels.ndim == 3 else pixels.permute(0, 3, 1, 2)
        parts.append((pixels, torch.as_tensor(np.asarray(split.targets), dtype=torch.int64)))
    (tr_x, tr_y), (te_x, te_y) = parts
    is_test = torch.cat([torch.zeros(len(tr_y), dtype=torch.bool), torch.ones(len(te_y), dtype=torch.bool)])
    return ImageSet(torch.cat([tr_x, te_x]).contiguous(), torch.cat([tr_y, te_y]), list(train.classes),
                    is_test, f"{name} (torchvision)")


# --- datasets that download as folders of large images ------------------------------------------

CALTECH256_URL = "https://data.caltech.edu/records/nyy15-4j048/files/256_ObjectCategories.tar"
CALTECH256_FOLDER = "caltech256/256_ObjectCategories"
IMAGENETTE_CLASSES = {  # Imagenette's WordNet ids -> names (fast.ai's list, as torchvision has it)
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn",
    "n03417042": "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball", "n03888257": "parachute",
}


def caltech256_download() -> Download:
    def fetch(root: Path) -> None:
        import torchvision.datasets as tvd

        tvd.Caltech256(str(root), download=True)
        (root / "caltech256" / "256_ObjectCategories.tar").unlink(missing_ok=True)  # extracted

    return Download(CALTECH256_URL, "caltech256/256_ObjectCategories/ (the class folders inside "
                                    "256_ObjectCategories.tar)",
                    lambda root: (root / CALTECH256_FOLDER).is_dir(), fetch)


def imagenette_size(image_size: int) -> str:
    """The smallest of Imagenette's downloads (shorter side 160, 320 or full) that covers image_size."""
    return "160px" if image_size <= 160 else "320px" if image_size <= 320 else "full"


def imagenette_folder(image_size: int) -> str:
    return {"160px": "imagenette2-160", "320px": "imagenette2-320", "full": "imagenette2"}[imagenette_size(image_size)]


def imagenette_download(image_size: int) -> Download:
    folder = imagenette_folder(image_size)

    def fetch(root: Path) -> None:
        import torchvision.datasets as tvd

        tvd.Imagenette(str(root), split="train", size=imagenette_size(image_size), download=True)
        for archive in root.glob("*.tgz"):
            archive.unlink()  # extracted

    return Download(f"https://s3.amazonaws.com/fast-ai-imageclas/{folder}.tgz",
                    f"{folder}/ (train/ and val/ with one folder per WordNet id, as in {folder}.tgz)",
                    lambda root: (root / folder / "train").is_dir(), fetch)


def load_folder_source(p: DataParams, target: Path | None, path: Path | None = None) -> ImageSet:
    """data.path (or `path`): a folder or archive of class subfolders."""
    return load_folder(Path(p.path) if path is None else path, p.image_size, p.channels, target, p.on_bad_image,
                       p.max_image_pixels)


def load_downloaded_folder(name: str, download: Download, folder: str, rename: Callable[[str], str],
                           p: DataParams, target: Path | None) -> ImageSet:
    download_dir = Path(p.download_dir)
    ensure_downloaded(name, download, download_dir)
    data = load_folder_source(p, target, download_dir / folder)
    data.classes = [rename(c) for c in data.classes]
    data.source = f"{name} ({download_dir / folder})"
    return data


def load_caltech256(p: DataParams, target: Path | None) -> ImageSet:
    # Folders are named 001.ak47 ... 257.clutter: sorted by number, named without it.
    return load_downloaded_folder("caltech256", caltech256_download(), CALTECH256_FOLDER,
                                  lambda c: c.split(".", 1)[-1], p, target)


def load_imagenette(p: DataParams, target: Path | None) -> ImageSet:
    return load_downloaded_folder("imagenette", imagenette_download(p.image_size), imagenette_folder(p.image_size),
                                  lambda wnid: IMAGENETTE_CLASSES.get(wnid, wnid), p, target)


def load_shapes(p: DataParams, target: Path | None) -> ImageSet:
    return make_shapes(p.synthetic_images, max(p.image_size, MIN_SIZE), p.synthetic_seed)


def load_cifar10(p: DataParams, target: Path | None) -> ImageSet:
    return load_torchvision_set("cifar10", Path(p.download_dir))


def load_mnist(p: DataParams, target: Path | None) -> ImageSet:
    return load_torchvision_set("mnist", Path(p.download_dir))


def load_fashion_mnist(p: DataParams, target: Path | None) -> ImageSet:
    return load_torchvision_set("fashion_mnist", Path(p.download_dir))


def load_source(params: DataParams, target: Path | None = None) -> ImageSet:
    """The configured dataset in canonical form, at the configured size and channels.

    With a target (an images.npy path), large images are decoded or resized straight
    into that memory-mapped file."""
    load = resolve(SOURCES[params.dataset].load, [sys.modules[__name__]])
    return conform(load(params, target), params.image_size, params.channels, target)
