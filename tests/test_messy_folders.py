"""A folder as phones, scrapers and old archives leave it: every image mode, odd names,
system junk and broken files. Read as a folder, a tar.gz and a zip, with the same outcome."""

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from cnnlab.data.canonical import build_imageset, load_imageset
from cnnlab.data.folder import load_folder
from cnnlab.errors import UserError
from tests.conftest import ROOT, class_image, make_image_tree, png_bytes

SIZE = 16
MAX_PIXELS = 40 * 40  # the "bomb" below is 64 x 64


def encoded(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def marked(colour: tuple[int, int, int]) -> np.ndarray:
    """16 x 16 grey with a coloured mark in the top-left corner (shows rotation)."""
    pixels = np.full((SIZE, SIZE, 3), 90, dtype=np.uint8)
    pixels[:4, :4] = colour
    return pixels


def rotated_photo() -> tuple[bytes, np.ndarray]:
    """A photo stored sideways with EXIF orientation 6, and the upright picture it shows."""
    stored = Image.fromarray(marked((255, 0, 0)))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    return encoded(stored, exif=exif), np.asarray(stored.transpose(Image.Transpose.ROTATE_270))


def grey16() -> tuple[bytes, np.ndarray]:
    """A 16-bit scan using the whole range, and its 8-bit picture (scaled, not clipped)."""
    values = np.tile(np.linspace(0, 65535, SIZE).astype(np.uint16), (SIZE, 1))
    expected = np.rint(values / 257.0).astype(np.uint8)
    return encoded(Image.fromarray(values)), np.repeat(expected[..., None], 3, axis=2)


def jpeg_bytes(pixels: np.ndarray) -> bytes:
    return encoded(Image.fromarray(pixels), "JPEG", quality=95)


def animated_gif() -> bytes:
    frames = [Image.fromarray(class_image(k, SIZE)).convert("P") for k in range(2)]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])


def messy_files() -> dict[str, bytes]:
    """Relative path -> bytes. Two classes that must load, and everything that must not."""
    palette = Image.new("P", (SIZE, SIZE), 1)
    palette.putpalette([0, 0, 0, 200, 50, 50] + [0] * 762)
    palette_transparent = palette.copy()
    palette_transparent.info["transparency"] = 0
    good_jpeg = jpeg_bytes(class_image(0, SIZE))
    files = {
        # class "cats": every image mode, odd names
        "phone dump/cats/IMG 0001.JPG": good_jpeg,
        "phone dump/cats/rotated.png": rotated_photo()[0],
        "phone dump/cats/scan16.PNG": grey16()[0],
        "phone dump/cats/one-bit.png": encoded(Image.new("1", (SIZE, SIZE), 1)),
        "phone dump/cats/grey.png": encoded(Image.new("L", (SIZE, SIZE), 77)),
        "phone dump/cats/grey alpha.png": encoded(Image.new("LA", (SIZE, SIZE), (77, 128))),
        "phone dump/cats/palette.gif": encoded(palette, "GIF"),
        "phone dump/cats/palette transparent.png": encoded(palette_transparent),
        "phone dump/cats/rgba.png": encoded(Image.new("RGBA", (SIZE, SIZE), (10, 20, 30, 0))),
        "phone dump/cats/cmyk.jpg": encoded(Image.new("CMYK", (SIZE, SIZE), (0, 255, 255, 0)), "JPEG"),
        "phone dump/cats/ycbcr.jpg": encoded(Image.new("YCbCr", (SIZE, SIZE), (120, 100, 160)), "JPEG"),
        "phone dump/cats/int32.tif": encoded(Image.fromarray(np.arange(SIZE * SIZE, dtype=np.int32)
                                                             .reshape(SIZE, SIZE)), "TIFF"),
        "phone dump/cats/float.tiff": encoded(Image.fromarray(np.linspace(-1, 1, SIZE * SIZE, dtype=np.float32)
                                                              .reshape(SIZE, SIZE)), "TIFF"),
        "phone dump/cats/animated.gif": animated_gif(),
        # class "chiens été": non-ASCII names
        "phone dump/chiens été/chien №1.png": png_bytes(class_image(1, SIZE)),
        "phone dump/chiens été/Hund Ärger.jpeg": jpeg_bytes(class_image(1, SIZE, seed=2)),
        # bad files with an image extension: skipped and listed
        "phone dump/cats/empty.jpg": b"",
        "phone dump/cats/truncated.jpg": good_jpeg[: len(good_jpeg) // 2],
        "phone dump/chiens été/saved page.png": b"<!DOCTYPE html><html>404 Not Found</html>",
        "phone dump/chiens été/bomb.png": encoded(Image.new("L", (64, 64), 3)),
        # never looked at
        "phone dump/cats/.hidden.jpg": b"junk",
        "phone dump/.thumbnails/cats/t.jpg": b"junk",
        "phone dump/__MACOSX/cats/._IMG 0001.JPG": b"\x00\x05\x16\x07 AppleDouble",
        "phone dump/.DS_Store": b"\x00\x00\x00\x01Bud1",
        "phone dump/cats/Thumbs.db": b"\xd0\xcf\x11\xe0",
        "phone dump/cats/notes.txt": b"taken on holiday",
        "phone dump/README.md": b"# my photos",
    }
    return files


GOOD = 16  # images in messy_files() that load (14 cats, 2 chiens)
SKIPPED = {
    "cats/empty.jpg": ("empty", "empty file (0 bytes)"),
    "cats/truncated.jpg": ("truncated", "truncated or damaged: "),
    "chiens été/saved page.png": ("not_an_image", "not an image: "),
    "chiens été/bomb.png": ("too_large", "too large: 64x64 = 4,096 pixels, above data.max_image_pixels (1,600)"),
}


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root / "phone dump"


def as_archive(root: Path, files: dict[str, bytes], kind: str) -> Path:
    if kind == "zip":
        path = root / "photos.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for rel, data in files.items():
                zf.writestr(rel, data)
        return path
    path = root / "photos.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for rel, data in files.items():
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("messy")
    files = messy_files()
    return {"folder": write_tree(root / "tree", files),
            "tar.gz": as_archive(root, files, "tar.gz"), "zip": as_archive(root, files, "zip")}


def holds(images: torch.Tensor, expected: np.ndarray) -> bool:
    want = torch.from_numpy(np.ascontiguousarray(expected.transpose(2, 0, 1)))
    return any(torch.equal(row, want) for row in images)


@pytest.mark.parametrize("kind", ["folder", "tar.gz", "zip"])
def test_a_messy_folder_loads_its_images_faithfully_and_lists_what_it_skipped(sources, kind):
    data = load_folder(sources[kind], SIZE, 3, max_pixels=MAX_PIXELS)
    assert data.classes == ["cats", "chiens été"]
    assert len(data.labels) == GOOD and torch.bincount(data.labels).tolist() == [14, 2]
    # Named as in the source: inside an archive, with the archive's wrapping folder.
    prefix = "" if kind == "folder" else "phone dump/"
    assert {s.file: s.kind for s in data.skipped} == {prefix + f: k for f, (k, _) in SKIPPED.items()}
    for s in data.skipped:
        assert s.reason.startswith(SKIPPED[s.file.removeprefix(prefix)][1])
        assert "<" not in s.reason and "0x" not in s.reason
    assert holds(data.images, rotated_photo()[1])  # upright, as EXIF says
    assert holds(data.images, grey16()[1])  # 16-bit scaled: a full ramp, not white


def test_folder_and_archives_give_the_same_images(sources):
    loaded = {kind: load_folder(path, SIZE, 3, max_pixels=MAX_PIXELS) for kind, path in sources.items()}
    for kind in ("tar.gz", "zip"):
        assert torch.equal(loaded[kind].images, loaded["folder"].images)
        assert torch.equal(loaded[kind].labels, loaded["folder"].labels)
        assert [(s.file.removeprefix("phone dump/"), s.kind, s.reason) for s in loaded[kind].skipped] == \
            [(s.file, s.kind, s.reason) for s in loaded["folder"].skipped]


def test_on_bad_image_fail_names_every_bad_file_and_writes_nothing(sources, tmp_path):
    raw = tmp_path / "data" / "raw"
    with pytest.raises(UserError) as err:
        build_imageset(lambda images_file: load_folder(sources["folder"], SIZE, 3, images_file, "fail", MAX_PIXELS),
                       raw)
    message = str(err.value)
    assert "4 file(s) are not usable images" in message and "\n" not in message
    for name, (_, reason) in SKIPPED.items():
        assert f"{name} ({reason}" in message
    assert "data.on_bad_image: skip" in message
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_skipping_into_a_memory_map_keeps_only_the_good_rows(sources, tmp_path):
    raw = tmp_path / "raw"
    data = build_imageset(lambda images_file: load_folder(sources["zip"], SIZE, 3, images_file,
                                                          max_pixels=MAX_PIXELS), raw)
    in_memory = load_folder(sources["zip"], SIZE, 3, max_pixels=MAX_PIXELS)
    loaded = load_imageset(raw)
    assert torch.equal(loaded.images, in_memory.images) and len(loaded.images) == GOOD
    assert loaded.skipped == data.skipped == in_memory.skipped
    assert sorted(p.name for p in raw.iterdir()) == ["images.npy", "labels.npy", "meta.json",
                                                      "official_test.npy", "skipped.csv"]


@pytest.mark.parametrize("tree, words", [
    ({"a/1.png": "ok", "b/1.png": "ok", "c/notes.txt": "text"}, "no usable training image: c"),
    ({"a/1.png": "ok", "b/1.png": "ok", "empty/.DS_Store": "junk"}, "no usable training image: empty"),
    ({"a/1.png": "ok", "b/1.png": "bad", "b/2.jpg": "empty"}, "after skipping 2 unreadable file(s)"),
    ({"only/1.png": "ok", "only/2.png": "ok"}, "found 1 class folder(s) with images (only)"),
    ({"a/notes.txt": "text", "b/.hidden.png": "ok"}, "no image files found"),
    ({"a/1.png": "bad", "b/1.png": "bad"}, "no usable training image"),
])
def test_empty_classes_one_class_or_no_images_stop_with_a_clear_error(tmp_path, tree, words):
    content = {"ok": png_bytes(class_image(0)), "bad": b"not an image", "empty": b"", "text": b"hi",
               "junk": b"\x00"}
    for rel, what in tree.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(content[what])
    with pytest.raises(UserError, match=words.replace("(", r"\(").replace(")", r"\)")):
        load_folder(tmp_path, 8, 3)


def download_in(workspace: Path, data_path: Path, **data) -> subprocess.CompletedProcess:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"].update({"dataset": "folder", "path": str(data_path), "image_size": SIZE, **data})
    (workspace / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, str(ROOT / "stages" / "download.py")], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_download_stage_counts_and_lists_skipped_files(sources, tmp_path):
    done = download_in(tmp_path, sources["tar.gz"], max_image_pixels=MAX_PIXELS)
    assert done.returncode == 0, done.stderr
    summary = [line for line in done.stdout.splitlines() if "skipped" in line]
    assert summary == ["download: skipped 4 of 20 image files that are not usable images (1 empty, "
                       "1 not an image, 1 truncated, 1 too large); each is listed with its reason in "
                       "data/raw/skipped.csv"]
    metrics = json.loads((tmp_path / "data" / "download.json").read_text())
    assert metrics == {"images": GOOD, "classes": 2, "skipped": {
        "total": 4, "empty": 1, "not_an_image": 1, "truncated": 1, "too_large": 1}}
    listed = (tmp_path / "data" / "raw" / "skipped.csv").read_text(encoding="utf-8").splitlines()
    assert listed[0] == "file,kind,reason" and len(listed) == 5
    assert listed[1].startswith("phone dump/cats/empty.jpg,empty,empty file")

    failed = download_in(tmp_path, sources["tar.gz"], max_image_pixels=MAX_PIXELS, on_bad_image="fail")
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1
    assert "phone dump/cats/truncated.jpg (truncated or damaged" in failed.stderr
    # the last good data/raw stays as it was
    assert len(load_imageset(tmp_path / "data" / "raw").labels) == GOOD


def tar_with(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    good = png_bytes(class_image(0))
    with tarfile.open(path, "w:gz" if path.name.endswith(".gz") else "w") as tf:
        for name in ("ok/a/1.png", "ok/b/1.png"):
            info = tarfile.TarInfo(name)
            info.size = len(good)
            tf.addfile(info, io.BytesIO(good))
        member.size = len(data)
        tf.addfile(member, io.BytesIO(data))
    return path


def symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def hardlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.LNKTYPE, target
    return info


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz"])
@pytest.mark.parametrize("member, named", [
    (tarfile.TarInfo("../escape/b/2.png"), "../escape/b/2.png"),
    (tarfile.TarInfo("/etc/cnnlab/b/2.png"), "/etc/cnnlab/b/2.png"),
    (symlink("ok/a/link.png", "../../../etc/passwd"), "ok/a/link.png"),
    (symlink("ok/a/abs.png", "/etc/passwd"), "ok/a/abs.png"),
    (hardlink("ok/a/hard.png", "../outside.png"), "ok/a/hard.png"),
])
def test_tar_members_that_escape_are_refused_by_name_and_nothing_is_written(tmp_path, suffix, member, named):
    archive = tar_with(tmp_path / f"evil{suffix}", member, png_bytes(class_image(1)) if member.isfile() else b"")
    before = sorted(tmp_path.parent.rglob("*"))
    with pytest.raises(UserError, match="outside the archive") as err:
        load_folder(archive, 8, 3)
    assert f"'{named}'" in str(err.value)
    assert sorted(tmp_path.parent.rglob("*")) == before


@pytest.mark.parametrize("name, link", [("../escape/b/2.png", None), ("/abs/b/2.png", None),
                                        ("ok/a/link.png", "../../../etc/passwd")])
def test_zip_members_that_escape_are_refused_by_name(tmp_path, name, link):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for good in ("ok/a/1.png", "ok/b/1.png"):
            zf.writestr(good, png_bytes(class_image(0)))
        info = zipfile.ZipInfo(name)
        if link:
            info.external_attr = (0o120777 << 16)  # a symbolic link; its content is the target
        zf.writestr(info, link or png_bytes(class_image(1)))
    before = sorted(tmp_path.parent.rglob("*"))
    with pytest.raises(UserError, match="outside the archive") as err:
        load_folder(archive, 8, 3)
    assert f"'{name}'" in str(err.value)
    assert sorted(tmp_path.parent.rglob("*")) == before


def test_links_inside_the_archive_are_left_alone(tmp_path):
    archive = tar_with(tmp_path / "links.tar", symlink("ok/a/same.png", "1.png"))
    data = load_folder(archive, 8, 3)
    assert len(data.labels) == 2 and not data.skipped


def test_upper_case_extensions_and_spaces_in_a_plain_tree(tmp_path):
    make_image_tree(tmp_path, {"a b": 2, "c": 2})
    for path in (tmp_path / "a b").iterdir():
        path.rename(path.with_name(path.stem + " copy.PNG"))
    data = load_folder(tmp_path, 8, 3)
    assert data.classes == ["a b", "c"] and torch.bincount(data.labels).tolist() == [2, 2]
