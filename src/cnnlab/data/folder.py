"""A directory or archive of class subfolders (the ImageFolder layout) -> ImageSet.

Archives are read member by member, never extracted, so no member can land
outside its folder and nothing is left on disk if reading fails. Layouts:

    root/<class>/<file>                       every image goes into the split pool
    root/train/<class>/..., root/test/<class>/...   the official test split is kept

A single wrapping folder (as in `cifar10/train/...`) is looked through. `val`,
`valid` or `validation` stands in for `test` when there is no `test` folder
(Imagenette ships train/ and val/); otherwise it joins the training pool.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Iterator

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

from cnnlab.data.canonical import ImageSet
from cnnlab.errors import UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".bmp", ".tif", ".tiff", ".webp", ".gif")
TEST_NAMES = ("test", "val", "valid", "validation")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")


def is_image_name(rel: PurePosixPath) -> bool:
    hidden = any(p.startswith(".") or p == "__MACOSX" for p in rel.parts)
    return not hidden and rel.suffix.lower() in IMAGE_EXTENSIONS


def safe_relative(name: str, archive: Path) -> PurePosixPath:
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts:
        raise UserError(f"{archive}: member '{name}' points outside the archive's folder; "
                        f"refusing to read it. Re-create the archive with relative paths.")
    return rel


def list_images(path: Path) -> list[PurePosixPath]:
    """Relative paths of every image file under a directory or in an archive, in read order."""
    return [rel for rel, _ in iter_images(path, wanted=None)]


def iter_images(path: Path, wanted: set[PurePosixPath] | None) -> Iterator[tuple[PurePosixPath, Path | bytes | None]]:
    """(relative path, source) of every image file, in a fixed order. The source is
    the file's path (a folder), its bytes (an archive, only for paths in `wanted`),
    or None (not wanted, or listing only)."""
    if path.is_dir():
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                full = Path(dirpath) / name
                rel = PurePosixPath(full.relative_to(path).as_posix())
                if is_image_name(rel):
                    yield rel, full
    elif path.name.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                rel = safe_relative(info.filename, path)
                if not info.is_dir() and is_image_name(rel):
                    yield rel, zf.read(info) if wanted is not None and rel in wanted else None
    elif path.name.lower().endswith(ARCHIVE_SUFFIXES):
        try:
            # Stream mode: one pass, members in archive order.
            with tarfile.open(path, mode="r|*") as tf:
                for member in tf:
                    rel = safe_relative(member.name, path)
                    if member.isfile() and is_image_name(rel):
                        wanted_now = wanted is not None and rel in wanted
                        yield rel, tf.extractfile(member).read() if wanted_now else None
        except tarfile.TarError as exc:
            raise UserError(f"{path} is not a readable archive ({exc}). Check the file "
                            f"or unpack it and point data.path at the folder.") from None
    else:
        raise UserError(f"data.path {path} is neither a folder nor a "
                        f"{'/'.join(ARCHIVE_SUFFIXES)} archive.")


def strip_wrappers(paths: list[PurePosixPath]) -> list[PurePosixPath]:
    """Drop leading folders that every file shares, down to class (or split) level."""
    while paths and all(len(p.parts) > 2 for p in paths):
        first = {p.parts[0] for p in paths}
        if len(first) != 1:
            break
        paths = [PurePosixPath(*p.parts[1:]) for p in paths]
    return paths


def assign(paths: list[PurePosixPath], where: Path) -> tuple[list[str], list[int], list[bool], list[int]]:
    """Classes, label and is-test per file, and which files are used (by index)."""
    tops = {p.parts[0] for p in paths if len(p.parts) > 1}
    split_names = tops & ({"train"} | set(TEST_NAMES))
    has_split = "train" in tops and len(split_names) > 1 and tops <= ({"train"} | set(TEST_NAMES))
    test_name = next((n for n in TEST_NAMES if n in tops), None) if has_split else None
    keys: list[tuple[int, str, bool]] = []
    depth = 3 if has_split else 2
    for i, p in enumerate(paths):
        if len(p.parts) < depth:
            continue  # a loose file beside the class folders, as ImageFolder ignores
        if has_split:
            keys.append((i, p.parts[1], p.parts[0] == test_name))
        else:
            keys.append((i, p.parts[0], False))
    train_classes = sorted({c for _, c, t in keys if not t})
    extra = sorted({c for _, c, t in keys if t} - set(train_classes))
    if extra:
        raise UserError(f"{where}: the {test_name}/ split has classes with no training images: "
                        f"{', '.join(extra)}. Add them under train/ or remove them from {test_name}/.")
    if len(train_classes) < 2:
        raise UserError(f"{where}: found {len(train_classes)} class folder(s) with images "
                        f"({', '.join(train_classes) or 'none'}); a classifier needs at least 2. Lay the "
                        f"images out as <class>/<image> or train/<class>/<image> + test/<class>/<image>.")
    index = {c: k for k, c in enumerate(train_classes)}
    used = [i for i, _, _ in keys]
    return train_classes, [index[c] for _, c, _ in keys], [t for _, _, t in keys], used


# What a file that is not a readable image raises while decoding.
DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError)
# Transparent pixels are composited on this colour, the same for every image.
BACKGROUND = (255, 255, 255)


def to_8bit(img: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float greys as 8-bit grey, scaled rather than clipped: I;16
    by its type's range (0..65535), I and F by the image's own range (they carry any
    scale). PIL's own convert("L") clips these, which turns most 16-bit scans white."""
    if img.mode.startswith("I;16"):
        values = np.asarray(img, dtype=np.float64) / 257.0
    else:
        values = np.asarray(img, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        values = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), mode="L")


def faithful(img: Image.Image, mode: str) -> Image.Image:
    """The picture as a person sees it, in `mode` (RGB or L): upright per its EXIF
    orientation, high-bit-depth greys scaled, transparency over a fixed background."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        img = to_8bit(img)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        img = Image.alpha_composite(backdrop, rgba)
    return img.convert(mode)


def decode(data: bytes, size: int, mode: str) -> np.ndarray:
    """Decode (an animation's first frame), make it faithful, resize the shorter side to
    `size` and centre-crop square."""
    with Image.open(io.BytesIO(data)) as img:
        img.draft(mode, (size, size))  # JPEG: decode at reduced scale when much larger
        img = faithful(img, mode)
        if img.size != (size, size):
            img = ImageOps.fit(img, (size, size), method=Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def decode_into(out: np.ndarray, items: Iterator[tuple[int, PurePosixPath, Path | bytes]], where: Path) -> None:
    """Decode every (row, name, source) into out[row] on a pool of threads, at most a few
    thousand images in flight, with a progress bar (quiet when not on a terminal)."""
    channels, size = out.shape[1], out.shape[2]
    mode = "RGB" if channels == 3 else "L"
    bad: list[str] = []

    def work(row: int, name: PurePosixPath, source: Path | bytes) -> None:
        try:
            out[row] = decode(source.read_bytes() if isinstance(source, Path) else source, size, mode)
        except DECODE_ERRORS as exc:
            bad.append(f"{name} ({exc.__class__.__name__}: {exc})")

    # PIL releases the GIL while decoding and resizing, so threads use every core.
    workers = os.cpu_count() or 1
    in_flight: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool, \
            tqdm(total=len(out), desc=f"decoding {where.name}", unit="img", disable=None) as bar:
        for row, name, source in items:
            in_flight.append(pool.submit(work, row, name, source))
            while len(in_flight) > 64 * workers:
                in_flight.popleft().result()
                bar.update()
        for future in in_flight:
            future.result()
            bar.update()
    if bad:
        shown = "\n  ".join(sorted(bad)[:5])
        raise UserError(f"{where}: {len(bad)} file(s) could not be read as images:\n  {shown}\n"
                        f"Remove or re-save them, then run the pipeline again.")


def load_folder(path: str | Path, image_size: int, channels: int, target: Path | None = None) -> ImageSet:
    """Read a folder or archive of class subfolders. With a target, the images are
    decoded straight into that memory-mapped .npy file (two passes over the source:
    one to list and label the files, one to decode them), so none has to fit in memory."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"data.path '{path}' does not exist. Point data.path in params.yaml at a "
                        f"folder or archive of class subfolders (see README, 'Your own images').")
    names = list_images(path)
    if not names:
        raise UserError(f"{path}: no image files found (looked for {', '.join(IMAGE_EXTENSIONS)}).")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise UserError(f"{path}: the archive holds {twice} more than once; re-create it with each file once.")
    classes, labels, is_test, used = assign(strip_wrappers(names), path)
    shape = (len(used), channels, image_size, image_size)
    out = (np.lib.format.open_memmap(target, mode="w+", dtype=np.uint8, shape=shape) if target is not None
           else np.empty(shape, dtype=np.uint8))
    row_of = {names[i]: row for row, i in enumerate(used)}
    items = ((row_of[rel], rel, source) for rel, source in iter_images(path, set(row_of)) if rel in row_of)
    decode_into(out, items, path)
    return ImageSet(torch.from_numpy(out), torch.tensor(labels, dtype=torch.int64), classes,
                    torch.tensor(is_test, dtype=torch.bool), f"folder:{path}", stored_at=target)
