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
    # The side of every image of the source; None where images come in many sizes or are
    # made at the size asked for. `data.image_size: auto` starts from it.
    native_size: int | None = None


SOURCES: dict[str, Source] = {
    "digits": Source("cnnlab.data.sources:load_digits", "scikit-learn's 8x8 digits, bundled (the default)",
                     native_size=8),
    "shapes": Source("cnnlab.data.sources:load_shapes", "synthetic shapes with object masks (the pointing game)"),
    "cifar10": Source("cnnlab.data.sources:load_cifar10", "CIFAR-10 through torchvision", downloads=True,
                      native_size=32),
    "mnist": Source("cnnlab.data.sources:load_mnist", "MNIST through torchvision", downloads=True, native_size=28),
    "fashion_mnist": Source("cnnlab.data.sources:load_fashion_mnist", "Fashion-MNIST through torchvision",
                            downloads=True, native_size=28),
    "caltech256": Source("cnnlab.data.sources:load_caltech256", "Caltech-256, a folder of JPEGs", downloads=True),
    "imagenette": Source("cnnlab.data.sources:load_imagenette", "Imagenette (fast.ai), a folder of JPEGs",
                         downloads=True),
    "folder": Source("cnnlab.data.sources:load_folder_source", "data.path: a folder or archive of class subfolders"),
}

# data.image_size: auto. At least 16 px: two 2x2 poolings and an 8 px occlusion window still
# fit; 32 px (CIFAR-10's) where the images have no one size.
AUTO_SIZE_FLOOR = 16
AUTO_SIZE_MIXED = 32


def auto_image_size(dataset: str) -> int:
    """The size `data.image_size: auto` means for a source: its own, at least AUTO_SIZE_FLOOR
    (upscaling 8x8 digits to 32 px only quadrupled every stage's pixels), else AUTO_SIZE_MIXED."""
    native = SOURCES[dataset].native_size
    return max(native, AUTO_SIZE_FLOOR) if native else AUTO_SIZE_MIXED
