"""The data sources registry: `data.dataset` -> what the source is and where it loads from.

Light (params validation reads the names here); each entry's loader is a function of
data/sources.py taking (DataParams, target images file or None) -> ImageSet.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    load: str  # "module:function", resolved by data/sources.py
    summary: str
    # Downloads when its files are not in data.download_dir yet (offline: fails fast with a remedy).
    downloads: bool = False


SOURCES: dict[str, Source] = {
    "digits": Source("cnnlab.data.sources:load_digits", "scikit-learn's 8x8 digits, bundled (the default)"),
    "shapes": Source("cnnlab.data.sources:load_shapes", "synthetic shapes with object masks (the pointing game)"),
    "cifar10": Source("cnnlab.data.sources:load_cifar10", "CIFAR-10 through torchvision", downloads=True),
    "mnist": Source("cnnlab.data.sources:load_mnist", "MNIST through torchvision", downloads=True),
    "fashion_mnist": Source("cnnlab.data.sources:load_fashion_mnist", "Fashion-MNIST through torchvision",
                            downloads=True),
    "caltech256": Source("cnnlab.data.sources:load_caltech256", "Caltech-256, a folder of JPEGs", downloads=True),
    "imagenette": Source("cnnlab.data.sources:load_imagenette", "Imagenette (fast.ai), a folder of JPEGs",
                         downloads=True),
    "folder": Source("cnnlab.data.sources:load_folder_source", "data.path: a folder or archive of class subfolders"),
}
