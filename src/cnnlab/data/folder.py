"""A directory or archive of class subfolders (the ImageFolder layout) -> ImageSet.

Archives are read member by member, never extracted, so no member can land
outside its folder and nothing is left on disk if reading fails. Layouts:

    root/<class>/<file>                       every image goes into the split pool
    root/train/<class>/..., root/test/<class>/...   the official test split is kept

A single wrapping folder (as in `cifar10/train/...`) is looked through. `val`,
`valid` or `validation` stands in for `test` when there is no `test` folder
(Imagenette ships train/ and val/); otherwise it joins the training pool.

Hidden files and folders, `__MACOSX`, `Thumbs.db`, `desktop.ini` and files without an
image extension are not looked at. A file with an image extension that does not decode
(empty, truncated, not an image, too many pixels) is skipped and listed with its
reason (`data.on_bad_image: skip`, the default), or stops the load naming it (`fail`).
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np
import torch

from cnnlab.data.canonical import CHUNK, ImageSet, SkippedFile
from cnnlab.data.decode import MAX_IMAGE_PIXELS, BadImage, decode
from cnnlab.errors import UserError
from cnnlab.progress import bar as progress_bar

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".bmp", ".tif", ".tiff", ".webp", ".gif")
TEST_NAMES = ("test", "val", "valid", "validation")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
# What operating systems and archivers leave beside the images (dot-files are ignored too).
SYSTEM_NAMES = ("__MACOSX", "Thumbs.db", "desktop.ini")
# How many bad files an error message names before it says "and N more".
SHOWN = 10


def is_ignored(rel: PurePosixPath) -> bool:
    return any(part.startswith(".") or part in SYSTEM_NAMES for part in rel.parts)


def is_image_name(rel: PurePosixPath) -> bool:
    return not is_ignored(rel) and rel.suffix.lower() in IMAGE_EXTENSIONS


def safe_relative(name: str, archive: Path) -> PurePosixPath:
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts:
        raise UserError(f"{archive}: member '{name}' points outside the archive's folder; "
                        f"refusing to read it. Re-create the archive with relative paths.")
    return rel


def check_link(name: str, target: str, relative_to_member: bool, archive: Path) -> None:
    """A link member must point inside the archive (links are never followed, but one
    pointing out is a sign of a crafted archive)."""
    base = posixpath.dirname(name) if relative_to_member else ""
    resolved = posixpath.normpath(posixpath.join(base, target))
    if posixpath.isabs(target) or resolved == ".." or resolved.startswith("../"):
        raise UserError(f"{archive}: member '{name}' is a link to '{target}', outside the archive's "
                        f"folder; refusing to read it. Re-create the archive without it.")


@dataclass(frozen=True)
class Member:
    rel: PurePosixPath
    is_dir: bool
    source: Path | bytes | None  # a file's path (folder) or bytes (archive, when wanted)


def iter_members(path: Path, wanted: set[PurePosixPath] | None) -> Iterator[Member]:
    """Every folder and file not ignored, in a fixed order. A file's source is its path
    (a folder), its bytes (an archive, only for paths in `wanted`) or None."""
    if path.is_dir():
        for dirpath, dirnames, filenames in os.walk(path):
            here = PurePosixPath(Path(dirpath).relative_to(path).as_posix())
            dirnames[:] = sorted(d for d in dirnames if not is_ignored(PurePosixPath(d)))
            for name in dirnames:
                yield Member(here / name, True, None)
            for name in sorted(filenames):
                if not is_ignored(PurePosixPath(name)):
                    yield Member(here / name, False, Path(dirpath) / name)
    elif path.name.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    rel = safe_relative(info.filename, path)
                    if is_ignored(rel):
                        continue
                    if stat.S_ISLNK(info.external_attr >> 16):
                        check_link(info.filename, zf.read(info).decode("utf-8", "replace"), True, path)
                        continue
                    wanted_now = wanted is not None and rel in wanted
                    yield Member(rel, info.is_dir(), zf.read(info) if wanted_now else None)
        except zipfile.BadZipFile as exc:
            raise UserError(f"{path} is not a readable zip archive ({exc}). Check the file "
                            f"or unpack it and point data.path at the folder.") from None
    elif path.name.lower().endswith(ARCHIVE_SUFFIXES):
        try:
            # Stream mode: one pass, members in archive order.
            with tarfile.open(path, mode="r|*") as tf:
                for member in tf:
                    rel = safe_relative(member.name, path)
                    if is_ignored(rel):
                        continue
                    if member.issym() or member.islnk():
                        check_link(member.name, member.linkname, member.issym(), path)
                        continue
                    if member.isdir() or member.isfile():
                        wanted_now = member.isfile() and wanted is not None and rel in wanted
                        yield Member(rel, member.isdir(), tf.extractfile(member).read() if wanted_now else None)
        except tarfile.TarError as exc:
            raise UserError(f"{path} is not a readable archive ({exc}). Check the file "
                            f"or unpack it and point data.path at the folder.") from None
    else:
        raise UserError(f"data.path {path} is neither a folder nor a "
                        f"{'/'.join(ARCHIVE_SUFFIXES)} archive.")


def survey(path: Path) -> tuple[list[PurePosixPath], set[PurePosixPath]]:
    """Every image file (in read order) and every folder, as relative paths."""
    images: list[PurePosixPath] = []
    folders: set[PurePosixPath] = set()
    for m in iter_members(path, wanted=None):
        if m.is_dir:
            folders.add(m.rel)
            continue
        folders.update(p for p in m.rel.parents if p != PurePosixPath("."))
        if is_image_name(m.rel):
            images.append(m.rel)
    return images, folders


def wrapper_depth(paths: list[PurePosixPath]) -> int:
    """How many leading folders every file shares, down to class (or split) level."""
    depth = 0
    while paths and all(len(p.parts) > depth + 2 for p in paths) and len({p.parts[depth] for p in paths}) == 1:
        depth += 1
    return depth


def below(paths: Iterable[PurePosixPath], prefix: tuple[str, ...]) -> list[PurePosixPath]:
    """The paths inside the wrapping folders `prefix`, relative to them."""
    n = len(prefix)
    return [PurePosixPath(*p.parts[n:]) for p in paths if len(p.parts) > n and p.parts[:n] == prefix]


@dataclass(frozen=True)
class ClassAssignment:
    """Which class (and split) each listed image file belongs to."""
    classes: list[str]
    labels: list[int]  # per used file
    is_test: list[bool]  # per used file
    used: list[int]  # indices into the listed images
    class_folders: set[str]  # every folder at class level, with images or not


def assign(paths: list[PurePosixPath], folders: set[PurePosixPath], where: Path) -> ClassAssignment:
    """Classes, label and is-test per file, and which files are used (by index), in
    path order."""
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
    if has_split:
        class_folders = {f.parts[1] for f in folders if len(f.parts) == 2 and f.parts[0] in split_names}
    else:
        class_folders = {f.parts[0] for f in folders if len(f.parts) == 1}
    index = {c: k for k, c in enumerate(train_classes)}
    keys.sort(key=lambda key: paths[key[0]].parts)  # one order, however an archive lists its members
    return ClassAssignment(train_classes, [index[c] for _, c, _ in keys], [t for _, _, t in keys],
                  [i for i, _, _ in keys], class_folders)


def check_classes(assigned: ClassAssignment, counts: list[int], where: Path, skipped: int) -> None:
    """Stop on class folders without a usable training image, or fewer than two classes."""
    empty = sorted((assigned.class_folders - set(assigned.classes))
                   | {c for c, n in zip(assigned.classes, counts, strict=True) if n == 0})
    if empty:
        why = (f" (after skipping {skipped} unreadable file(s), listed in skipped.csv beside the data)"
               if skipped else "")
        raise UserError(f"{where}: class folder(s) with no usable training image{why}: "
                        f"{', '.join(empty[:SHOWN])}{' ...' if len(empty) > SHOWN else ''}. "
                        f"Add images to them or remove them.")
    kept = [c for c, n in zip(assigned.classes, counts, strict=True) if n > 0]
    if len(kept) < 2:
        raise UserError(f"{where}: found {len(kept)} class folder(s) with images "
                        f"({', '.join(kept) or 'none'}); a classifier needs at least 2. Lay the "
                        f"images out as <class>/<image> or train/<class>/<image> + test/<class>/<image>.")


def decode_into(out: np.ndarray, items: Iterator[tuple[int, PurePosixPath, Path | bytes]], where: Path,
                max_pixels: int) -> dict[int, SkippedFile]:
    """Decode every (row, name, source) into out[row] on a pool of threads, at most a few
    thousand images in flight, with a progress bar (quiet when not on a terminal).
    Returns the rows that could not be decoded, with the reason."""
    channels, size = out.shape[1], out.shape[2]
    mode = "RGB" if channels == 3 else "L"
    bad: dict[int, SkippedFile] = {}

    def work(row: int, name: PurePosixPath, source: Path | bytes) -> None:
        try:
            out[row] = decode(source.read_bytes() if isinstance(source, Path) else source, size, mode, max_pixels)
        except BadImage as exc:
            bad[row] = SkippedFile(str(name), exc.kind, exc.reason)

    # PIL releases the GIL while decoding and resizing, so threads use every core.
    workers = os.cpu_count() or 1
    in_flight: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool, \
            progress_bar(total=len(out), desc=f"decoding {where.name}", unit="img") as bar:
        for row, name, source in items:
            in_flight.append(pool.submit(work, row, name, source))
            while len(in_flight) > 64 * workers:
                in_flight.popleft().result()
                bar.update()
        for future in in_flight:
            future.result()
            bar.update()
    return bad


def refuse(bad: list[SkippedFile], where: Path) -> UserError:
    shown = "; ".join(f"{s.file} ({s.reason})" for s in bad[:SHOWN])
    more = f"; and {len(bad) - SHOWN} more" if len(bad) > SHOWN else ""
    return UserError(f"{where}: {len(bad)} file(s) are not usable images: {shown}{more}. Remove or re-save "
                     f"them, or set data.on_bad_image: skip to leave them out (listed in data/raw/skipped.csv).")


def without_rows(out: np.ndarray, drop: set[int], target: Path | None) -> np.ndarray:
    """out without the rows in drop; written to target (replacing the file out maps) if given."""
    keep = np.array([r for r in range(len(out)) if r not in drop], dtype=np.int64)
    if target is None:
        return out[keep]
    everything = target.with_name(f".all-{target.name}")
    os.replace(target, everything)
    old = np.load(everything, mmap_mode="r")
    new = np.lib.format.open_memmap(target, mode="w+", dtype=np.uint8, shape=(len(keep), *out.shape[1:]))
    for start in range(0, len(keep), CHUNK):
        new[start:start + CHUNK] = old[keep[start:start + CHUNK]]
    new.flush()
    del old
    everything.unlink()
    return new


def load_folder(path: str | Path, image_size: int, channels: int, target: Path | None = None,
                on_bad_image: Literal["skip", "fail"] = "skip", max_pixels: int = MAX_IMAGE_PIXELS) -> ImageSet:
    """Read a folder or archive of class subfolders. With a target, the images are
    decoded straight into that memory-mapped .npy file (two passes over the source:
    one to list and label the files, one to decode them), so none has to fit in memory."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"data.path '{path}' does not exist. Point data.path in params.yaml at a "
                        f"folder or archive of class subfolders (see README, 'Your own images').")
    names, folders = survey(path)
    if not names:
        raise UserError(f"{path}: no image files found (looked for {', '.join(IMAGE_EXTENSIONS)}, "
                        f"in any letter case).")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise UserError(f"{path}: the archive holds {twice} more than once; re-create it with each file once.")
    wrapper = names[0].parts[:wrapper_depth(names)]
    assigned = assign(below(names, wrapper), set(below(folders, wrapper)), path)
    check_classes(assigned, np.bincount(assigned.labels, minlength=len(assigned.classes)).tolist(), path, 0)
    shape = (len(assigned.used), channels, image_size, image_size)
    out = (np.lib.format.open_memmap(target, mode="w+", dtype=np.uint8, shape=shape) if target is not None
           else np.empty(shape, dtype=np.uint8))
    row_of = {names[i]: row for row, i in enumerate(assigned.used)}
    items = ((row_of[m.rel], m.rel, m.source) for m in iter_members(path, set(row_of))
             if not m.is_dir and m.rel in row_of)
    bad = decode_into(out, items, path, max_pixels)
    skipped = [bad[row] for row in sorted(bad, key=lambda r: bad[r].file)]
    labels, is_test = assigned.labels, assigned.is_test
    if skipped:
        if on_bad_image == "fail":
            raise refuse(skipped, path)
        labels = [y for row, y in enumerate(labels) if row not in bad]
        is_test = [t for row, t in enumerate(is_test) if row not in bad]
        training = np.array([y for y, t in zip(labels, is_test, strict=True) if not t], dtype=np.int64)
        check_classes(assigned, np.bincount(training, minlength=len(assigned.classes)).tolist(), path, len(skipped))
        out = without_rows(out, set(bad), target)
    return ImageSet(torch.from_numpy(out), torch.tensor(labels, dtype=torch.int64), assigned.classes,
                    torch.tensor(is_test, dtype=torch.bool), f"folder:{path}", stored_at=target,
                    skipped=skipped)
