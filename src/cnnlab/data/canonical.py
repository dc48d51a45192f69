"""The one form every data source is turned into, and its on-disk layout.

`data/raw/` holds plain numpy arrays and JSON (no pickle, so loading is safe):
images.npy (uint8, N x C x H x W), labels.npy (int64), official_test.npy (bool)
and meta.json (class names, where the data came from).

images.npy is opened memory-mapped, never read whole: Caltech-256 at 224 px is
4.6 GB, and each stage touches only the pages it needs (the OS page cache shares
them between stages and drops them under memory pressure). Sources that decode
large data write straight into the memory-mapped file too (`stored_at`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cnnlab.data.decode import BAD_KINDS
from cnnlab.io import replace_dir, write_csv
from cnnlab.layout import require

if TYPE_CHECKING:
    import torch

# torch is imported where tensors are made, not here: the stages that only read labels or
# pixels (split, the misclassified gallery, the report's constants) start a few seconds sooner.


@dataclass(frozen=True)
class SkippedFile:
    """A source file left out because it is not a usable image."""
    file: str  # relative to the source folder or archive
    kind: str  # one of cnnlab.data.decode.BAD_KINDS
    reason: str  # in plain words


@dataclass
class ImageSet:
    images: torch.Tensor  # uint8, N x C x H x W
    labels: torch.Tensor  # int64, N
    classes: list[str]
    official_test: torch.Tensor  # bool, N: item came from the source's own test split
    source: str
    # The images.npy file `images` is a memory map of, when it is one.
    stored_at: Path | None = None
    # bool, N x H x W: where each image's object is, for sources that know (shapes).
    masks: torch.Tensor | None = None
    # Files of the source left out, with the reason (written to skipped.csv).
    skipped: list[SkippedFile] = field(default_factory=list)

    def __post_init__(self) -> None:
        import torch

        n = len(self.images)
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError("images must be a uint8 N x C x H x W tensor")
        if len(self.labels) != n or len(self.official_test) != n:
            raise ValueError("images, labels and official_test must have the same length")
        if self.masks is not None and tuple(self.masks.shape) != (n, *self.images.shape[-2:]):
            raise ValueError("masks must be N x H x W, one per image")

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def has_official_test(self) -> bool:
        return bool(self.official_test.any())


CHUNK = 4096


def conform(data: ImageSet, image_size: int, channels: int, target: Path | None = None) -> ImageSet:
    """Resize to image_size x image_size and convert to 1 or 3 channels, chunk by chunk.

    With a target the result is written there as a memory-mapped .npy file, so a
    large result never has to fit in memory.
    """
    shape = (len(data.images), channels, image_size, image_size)
    if tuple(data.images.shape) == shape:
        return data
    import torch
    import torch.nn.functional as F

    out = (np.lib.format.open_memmap(target, mode="w+", dtype=np.uint8, shape=shape) if target is not None
           else np.empty(shape, dtype=np.uint8))
    for start in range(0, len(data.images), CHUNK):
        x = to_channels(data.images[start:start + CHUNK], channels)
        if x.shape[-2:] != (image_size, image_size):
            x = F.interpolate(x.float(), size=(image_size, image_size), mode="bilinear",
                              antialias=True, align_corners=False).round_().clamp_(0, 255).to(torch.uint8)
        out[start:start + CHUNK] = x.numpy()
    masks = data.masks
    if masks is not None and masks.shape[-1] != image_size:
        masks = F.interpolate(masks[:, None].float(), size=(image_size, image_size), mode="nearest")[:, 0].bool()
    return ImageSet(torch.from_numpy(out), data.labels, data.classes, data.official_test, data.source,
                    stored_at=target, masks=masks, skipped=data.skipped)


def to_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    import torch

    have = images.shape[1]
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    if have == 3 and channels == 1:
        # ITU-R 601-2 luma, as PIL's convert("L").
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (images.float() * weights).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    raise ValueError(f"cannot convert {have} channels to {channels}")


IMAGES = "images.npy"
LABELS = "labels.npy"
OFFICIAL_TEST = "official_test.npy"
META = "meta.json"
MASKS = "masks.npy"  # only for sources that know where each image's object is
SKIPPED = "skipped.csv"  # the source's files left out, and why (a header only when none)


def save_imageset(data: ImageSet, out_dir: Path) -> None:
    """Write atomically: the directory appears complete or not at all."""
    replace_dir(Path(out_dir), lambda tmp: write_imageset(data, tmp))


def build_imageset(make: Callable[[Path], ImageSet], out_dir: Path) -> ImageSet:
    """``make(images_file)`` may decode straight into the memory-mapped images_file
    inside the new folder; the folder replaces out_dir only once complete."""
    made: list[ImageSet] = []

    def fill(tmp: Path) -> None:
        made.append(make(tmp / IMAGES))
        write_imageset(made[0], tmp)

    replace_dir(Path(out_dir), fill)
    return made[0]


def write_imageset(data: ImageSet, out_dir: Path) -> None:
    """Write the files of data/raw into out_dir (a fresh folder)."""
    images_file = out_dir / IMAGES
    if data.stored_at != images_file:  # else the source decoded straight into it
        out = np.lib.format.open_memmap(images_file, mode="w+", dtype=np.uint8, shape=tuple(data.images.shape))
        for start in range(0, len(data.images), CHUNK):
            out[start:start + CHUNK] = data.images[start:start + CHUNK].numpy()
        out.flush()
        del out
    np.save(out_dir / LABELS, data.labels.numpy().astype(np.int64))
    np.save(out_dir / OFFICIAL_TEST, data.official_test.numpy().astype(bool))
    if data.masks is not None:
        np.save(out_dir / MASKS, data.masks.numpy().astype(bool))
    write_csv(out_dir / SKIPPED, ["file", "kind", "reason"], ((s.file, s.kind, s.reason) for s in data.skipped))
    meta = {"classes": data.classes, "source": data.source, "count": len(data.labels),
            "channels": data.channels, "image_size": data.image_size}
    (out_dir / META).write_text(json.dumps(meta, indent=2) + "\n")


@dataclass(frozen=True)
class Labels:
    """What a split is drawn from: every image's class and whether it is in the source's test split."""
    labels: np.ndarray  # int64, N
    official_test: np.ndarray  # bool, N
    classes: list[str]


def read_labels(raw_dir: str | Path = "data/raw") -> Labels:
    raw_dir = Path(raw_dir)
    meta = json.loads(require(raw_dir / META, "download").read_text())
    return Labels(np.load(raw_dir / LABELS), np.load(raw_dir / OFFICIAL_TEST), list(meta["classes"]))


def read_images(raw_dir: str | Path = "data/raw", mode: str = "r") -> np.ndarray:
    """images.npy memory-mapped: read-only ("r") or copy-on-write ("c": nothing writes back)."""
    return np.load(require(Path(raw_dir) / IMAGES, "download"), mmap_mode=mode)


def load_imageset(raw_dir: str | Path = "data/raw") -> ImageSet:
    """The canonical set as tensors, its images memory-mapped copy-on-write."""
    import torch

    raw_dir = Path(raw_dir)
    labelled = read_labels(raw_dir)
    meta = json.loads((raw_dir / META).read_text())
    return ImageSet(
        images=torch.from_numpy(read_images(raw_dir, mode="c")),
        labels=torch.from_numpy(labelled.labels),
        classes=labelled.classes,
        official_test=torch.from_numpy(labelled.official_test),
        source=meta["source"],
        stored_at=raw_dir / IMAGES,
        masks=torch.from_numpy(np.load(raw_dir / MASKS)) if (raw_dir / MASKS).exists() else None,
        skipped=read_skipped(raw_dir / SKIPPED),
    )


def read_skipped(path: Path) -> list[SkippedFile]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [SkippedFile(row["file"], row["kind"], row["reason"]) for row in csv.DictReader(f)]


def download_metrics(data: ImageSet) -> dict:
    """What the download stage counts: images kept, classes, and files skipped by kind."""
    kinds = {kind: sum(s.kind == kind for s in data.skipped) for kind in BAD_KINDS}
    return {"images": len(data.labels), "classes": len(data.classes),
            "skipped": {"total": len(data.skipped), **kinds}}


def skipped_line(metrics: dict, listed_in: str) -> str | None:
    """One line on the skipped files, or None when there were none."""
    skipped = metrics["skipped"]
    if not skipped["total"]:
        return None
    kinds = ", ".join(f"{skipped[kind]} {kind.replace('_', ' ')}" for kind in BAD_KINDS if skipped.get(kind))
    return (f"skipped {skipped['total']} of {metrics['images'] + skipped['total']:,} image files that are "
            f"not usable images ({kinds}); each is listed with its reason in {listed_in}")
