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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Iterator

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

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


def read_files(path: Path) -> Iterator[tuple[PurePosixPath, bytes]]:
    """(relative path, bytes) of every image file under a directory or in an archive."""
    if path.is_dir():
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                full = Path(dirpath) / name
                rel = PurePosixPath(full.relative_to(path).as_posix())
                if is_image_name(rel):
                    yield rel, full.read_bytes()
    elif path.name.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                rel = safe_relative(info.filename, path)
                if not info.is_dir() and is_image_name(rel):
                    yield rel, zf.read(info)
    elif path.name.lower().endswith(ARCHIVE_SUFFIXES):
        try:
            # Stream mode: one pass, members in archive order.
            with tarfile.open(path, mode="r|*") as tf:
                for member in tf:
                    rel = safe_relative(member.name, path)
                    if member.isfile() and is_image_name(rel):
                        yield rel, tf.extractfile(member).read()
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


def decode(data: bytes, size: int, mode: str) -> np.ndarray:
    """Decode, convert, resize the shorter side to `size` and centre-crop square."""
    with Image.open(io.BytesIO(data)) as img:
        img.draft(mode, (size, size))  # JPEG: decode at reduced scale when much larger
        img = img.convert(mode)
        if img.size != (size, size):
            img = ImageOps.fit(img, (size, size), method=Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def decode_all(blobs: list[bytes], names: list[PurePosixPath], size: int, channels: int,
               where: Path) -> torch.Tensor:
    mode = "RGB" if channels == 3 else "L"
    out = np.empty((len(blobs), channels, size, size), dtype=np.uint8)
    bad: list[str] = []

    def work(i: int) -> None:
        try:
            out[i] = decode(blobs[i], size, mode)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            bad.append(f"{names[i]} ({exc.__class__.__name__}: {exc})")

    # PIL releases the GIL while decoding, so threads use every core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(work, range(len(blobs)), chunksize=256))
    if bad:
        shown = "\n  ".join(sorted(bad)[:5])
        raise UserError(f"{where}: {len(bad)} file(s) could not be read as images:\n  {shown}\n"
                        f"Remove or re-save them, then run the pipeline again.")
    return torch.from_numpy(out)


def load_folder(path: str | Path, image_size: int, channels: int) -> ImageSet:
    path = Path(path)
    if not path.exists():
        raise UserError(f"data.path '{path}' does not exist. Point data.path in params.yaml at a "
                        f"folder or archive of class subfolders (see README, 'Your own images').")
    names, blobs = [], []
    for rel, data in read_files(path):
        names.append(rel)
        blobs.append(data)
    if not names:
        raise UserError(f"{path}: no image files found (looked for {', '.join(IMAGE_EXTENSIONS)}).")
    classes, labels, is_test, used = assign(strip_wrappers(names), path)
    images = decode_all([blobs[i] for i in used], [names[i] for i in used], image_size, channels, path)
    return ImageSet(images, torch.tensor(labels, dtype=torch.int64), classes,
                    torch.tensor(is_test, dtype=torch.bool), f"folder:{path}")
