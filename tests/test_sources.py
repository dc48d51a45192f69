import io
import shutil
import struct
import tarfile
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.data import sources
from cnnlab.data.canonical import conform, load_imageset, save_imageset
from cnnlab.data.folder import load_folder
from cnnlab.errors import UserError
from cnnlab.params import DataParams
from tests.conftest import SHARED_CIFAR, class_image, make_image_tree, png_bytes


def test_digits_are_bundled_and_conformed_to_size_and_channels():
    data = sources.load_source(DataParams(dataset="digits", image_size=32, channels=3))
    assert data.images.shape == (1797, 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.classes == [str(d) for d in range(10)]
    assert torch.bincount(data.labels).min() >= 170
    assert not data.has_official_test
    assert int(data.images.max()) == 255 and int(data.images.min()) == 0
    # grey replicated to three identical channels
    assert torch.equal(data.images[:, 0], data.images[:, 2])
    grey = sources.load_source(DataParams(dataset="digits", image_size=16, channels=1))
    assert grey.images.shape == (1797, 1, 16, 16)


def test_conform_matches_torch_resize_and_converts_rgb_to_luma():
    data = sources.load_digits(DataParams(), None)
    big = conform(data, 24, 1)
    expected = torch.nn.functional.interpolate(data.images[:5].float(), size=(24, 24), mode="bilinear",
                                               antialias=True).round().clamp(0, 255).to(torch.uint8)
    assert torch.equal(big.images[:5], expected)
    rgb = torch.tensor([[[[255]], [[0]], [[0]]]], dtype=torch.uint8)
    from cnnlab.data.canonical import to_channels

    assert int(to_channels(rgb, 1)) == round(0.299 * 255)


def test_flat_folder_of_class_subfolders(tmp_path):
    make_image_tree(tmp_path / "pets", {"cat": 4, "dog": 3, "fox": 2})
    (tmp_path / "pets" / "notes.txt").write_text("not an image")
    (tmp_path / "pets" / ".hidden").mkdir()
    (tmp_path / "pets" / ".hidden" / "x.png").write_bytes(png_bytes(class_image(0)))
    data = load_folder(tmp_path / "pets", 8, 3)
    assert data.classes == ["cat", "dog", "fox"]
    assert torch.bincount(data.labels).tolist() == [4, 3, 2]
    assert data.images.shape == (9, 3, 8, 8) and not data.has_official_test


def test_train_test_layout_keeps_the_official_split_inside_a_wrapper_folder(tmp_path):
    make_image_tree(tmp_path / "wrap" / "ds", {"train/a": 5, "train/b": 4, "test/a": 2, "test/b": 1})
    data = load_folder(tmp_path / "wrap", 12, 3)
    assert data.classes == ["a", "b"]
    assert int(data.official_test.sum()) == 3
    assert torch.bincount(data.labels[data.official_test]).tolist() == [2, 1]
    # pixels survive decoding exactly (PNG, no resize)
    first = np.asarray(Image.open(tmp_path / "wrap/ds/train/a/000.png")).transpose(2, 0, 1)
    train_a = data.images[(~data.official_test) & (data.labels == 0)]
    assert any(torch.equal(img, torch.from_numpy(first.copy())) for img in train_a)


def test_val_folder_stands_in_for_test_like_imagenette(tmp_path):
    make_image_tree(tmp_path / "nette", {"train/x": 3, "train/y": 3, "val/x": 2, "val/y": 2})
    assert int(load_folder(tmp_path / "nette", 8, 3).official_test.sum()) == 4


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_archives_read_the_same_as_the_folder(tmp_path, kind):
    make_image_tree(tmp_path / "src" / "flowers", {"train/rose": 3, "train/tulip": 2, "test/rose": 1,
                                                  "test/tulip": 1})
    base = str(tmp_path / "flowers")
    archive = shutil.make_archive(base, "gztar" if kind == "tar.gz" else "zip", tmp_path / "src")
    from_dir = load_folder(tmp_path / "src", 12, 3)
    from_archive = load_folder(archive, 12, 3)
    assert from_archive.classes == from_dir.classes
    assert torch.equal(from_archive.labels.sort().values, from_dir.labels.sort().values)
    assert int(from_archive.official_test.sum()) == 2
    assert sorted(x.sum().item() for x in from_archive.images) == sorted(x.sum().item() for x in from_dir.images)


def test_non_square_images_are_resized_and_centre_cropped(tmp_path):
    wide = np.zeros((20, 40, 3), dtype=np.uint8)
    wide[:, 10:30] = 200  # bright centre square: survives the centre crop
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        Image.fromarray(wide).save(tmp_path / cls / "w.png")
    data = load_folder(tmp_path, 10, 1)
    assert data.images.shape == (2, 1, 10, 10)
    assert data.images.float().mean() > 150


def tar_of_images(archive: Path, members: tuple[str, ...]) -> Path:
    """A tar holding one small PNG under each member name, as written (no normalising)."""
    with tarfile.open(archive, "w") as tf:
        for name in members:
            data = png_bytes(class_image(1))
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return archive


@pytest.mark.parametrize("layout, words", [
    ({"only": 3}, "at least 2"),
    ({"train/a": 2, "train/b": 2, "test/a": 1, "test/c": 1}, "no training images: c"),
])
def test_unusable_layouts_explain_themselves(tmp_path, layout, words):
    make_image_tree(tmp_path, layout)
    with pytest.raises(UserError, match=words):
        load_folder(tmp_path, 8, 3)


def test_missing_path_and_unknown_file_kind(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_folder(tmp_path / "nowhere", 8, 3)
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(UserError, match="neither a folder"):
        load_folder(tmp_path / "data.csv", 8, 3)


def test_imageset_round_trips_through_data_raw(tmp_path):
    make_image_tree(tmp_path / "imgs", {"train/a": 2, "train/b": 2, "test/a": 1, "test/b": 1})
    data = load_folder(tmp_path / "imgs", 8, 3)
    save_imageset(data, tmp_path / "raw")
    back = load_imageset(tmp_path / "raw")
    assert torch.equal(back.images, data.images) and torch.equal(back.labels, data.labels)
    assert torch.equal(back.official_test, data.official_test) and back.classes == data.classes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs", "raw"]  # no temp dirs left


# --- torchvision sources, from local files (no network) -----------------------------------------

def write_idx(path: Path, array: np.ndarray) -> None:
    """The MNIST idx format: magic (dtype 0x08 = uint8, ndim), sizes, data."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_family_reads_files_placed_by_hand(tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    write_idx(raw / "train-images-idx3-ubyte", rng.integers(0, 256, (30, 28, 28)))
    write_idx(raw / "train-labels-idx1-ubyte", np.arange(30) % 10)
    write_idx(raw / "t10k-images-idx3-ubyte", rng.integers(0, 256, (10, 28, 28)))
    write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(10))
    data = sources.load_source(DataParams(dataset=name, image_size=32, channels=1, download_dir=str(tmp_path)))
    assert data.images.shape == (40, 1, 32, 32)
    assert int(data.official_test.sum()) == 10 and data.labels[-10:].tolist() == list(range(10))
    assert len(data.classes) == 10


@pytest.mark.parametrize("name, module, files", [
    ("cifar10", "cifar", "cifar-10-batches-py/"), ("mnist", "mnist", "MNIST/raw/"),
    ("caltech256", "caltech", "caltech256/256_ObjectCategories/"), ("imagenette", "imagenette", "imagenette2-160/"),
])
def test_offline_download_fails_fast_with_a_remedy_and_leaves_nothing(tmp_path, monkeypatch, name, module, files):
    import importlib

    tv_module = importlib.import_module(f"torchvision.datasets.{module}")

    def offline(url, download_root, *args, **kwargs):
        # What a real failure leaves: a half-written file, then the network error.
        Path(download_root).mkdir(parents=True, exist_ok=True)
        (Path(download_root) / "partial.tar.gz").write_bytes(b"\x1f\x8b half")
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(tv_module, "download_and_extract_archive", offline)
    target = tmp_path / "deep" / "downloads"
    started = time.perf_counter()
    with pytest.raises(UserError) as err:
        sources.load_source(DataParams(dataset=name, download_dir=str(target)))
    assert time.perf_counter() - started < 5
    message = str(err.value)
    assert f"Could not download {name}" in message and "Name or service not known" in message
    assert f"put {files}" in message and "data.dataset=folder" in message
    assert not (tmp_path / "deep").exists(), "a failed download must leave no directory behind"


def test_offline_download_keeps_what_the_user_already_had(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    monkeypatch.setattr(cifar, "download_and_extract_archive",
                        lambda *a, **k: (_ for _ in ()).throw(urllib.error.URLError("offline")))
    target = tmp_path / "downloads"
    (target / "mine").mkdir(parents=True)
    with pytest.raises(UserError):
        sources.load_source(DataParams(dataset="cifar10", download_dir=str(target)))
    assert [p.name for p in target.iterdir()] == ["mine"]


@pytest.mark.cifar
@pytest.mark.skipif(not SHARED_CIFAR.exists(), reason="../shared/data/cifar10-jpg.tar.gz is not here")
def test_cifar10_jpeg_archive_reads_as_a_folder_source():
    data = load_folder(SHARED_CIFAR, 32, 3)
    assert data.classes == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                            "ship", "truck"]
    assert int((~data.official_test).sum()) == 50_000 and int(data.official_test.sum()) == 10_000
    assert torch.bincount(data.labels[data.official_test]).tolist() == [1000] * 10
    mean = data.images[~data.official_test].float().mean((0, 2, 3)) / 255
    # CIFAR-10's published train means, within JPEG re-encoding error
    assert torch.allclose(mean, torch.tensor([0.4914, 0.4822, 0.4465]), atol=0.005)


# --- Caltech-256 and Imagenette: folders of JPEGs, downloaded or placed by hand ------------------

def jpeg_tree(root: Path, folders: dict[str, int], size: tuple[int, int] = (40, 30)) -> None:
    for k, (folder, count) in enumerate(sorted(folders.items())):
        for i in range(count):
            path = root / folder / f"{i:04d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((size[1], size[0], 3), 30 * k, dtype=np.uint8)).save(path, quality=95)


def test_caltech256_reads_the_class_folders_placed_by_hand(tmp_path):
    root = tmp_path / "caltech256" / "256_ObjectCategories"
    jpeg_tree(root, {"001.ak47": 3, "002.american-flag": 2, "257.clutter": 2})
    (root / "001.ak47" / "RENAME2").write_text("not an image, as in the real archive")
    data = sources.load_source(DataParams(dataset="caltech256", image_size=24, download_dir=str(tmp_path)))
    assert data.classes == ["ak47", "american-flag", "clutter"]
    assert torch.bincount(data.labels).tolist() == [3, 2, 2] and not data.has_official_test
    assert data.images.shape == (7, 3, 24, 24)


def test_imagenette_picks_its_smallest_download_and_names_the_classes(tmp_path):
    assert [sources.imagenette_folder(s) for s in (128, 160, 224, 320, 400)] == [
        "imagenette2-160", "imagenette2-160", "imagenette2-320", "imagenette2-320", "imagenette2"]
    root = tmp_path / "imagenette2-160"
    jpeg_tree(root, {"train/n01440764": 3, "train/n03888257": 2, "val/n01440764": 1, "val/n03888257": 1})
    data = sources.load_source(DataParams(dataset="imagenette", image_size=32, download_dir=str(tmp_path)))
    assert data.classes == ["tench", "parachute"]
    assert int(data.official_test.sum()) == 2  # val/ is the test set


def test_large_images_decode_straight_into_a_memory_map(tmp_path):
    jpeg_tree(tmp_path / "big", {"train/a": 3, "train/b": 3, "test/a": 1, "test/b": 1}, size=(300, 260))
    in_memory = load_folder(tmp_path / "big", 224, 3)
    target = tmp_path / "raw" / "images.npy"
    target.parent.mkdir()
    mapped = load_folder(tmp_path / "big", 224, 3, target)
    assert mapped.stored_at == target and torch.equal(mapped.images, in_memory.images)
    assert torch.equal(torch.from_numpy(np.load(target)), in_memory.images)
    save_imageset(mapped, tmp_path / "raw2")  # an ImageSet backed by another file is copied
    assert torch.equal(load_imageset(tmp_path / "raw2").images, in_memory.images)


def mapped_from(tensor: torch.Tensor, path: Path) -> bool:
    """Whether the tensor's memory is a mapping of the file (Linux: /proc/self/maps)."""
    address = tensor.data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == str(path.resolve()):
            low, high = (int(v, 16) for v in fields[0].split("-"))
            if low <= address < high:
                return True
    return False


def test_build_imageset_decodes_into_the_new_folder_and_swaps_it_in_whole(tmp_path):
    from cnnlab.data.canonical import build_imageset

    jpeg_tree(tmp_path / "imgs", {"a": 2, "b": 2}, size=(64, 64))
    raw = tmp_path / "data" / "raw"
    data = build_imageset(lambda images_file: load_folder(tmp_path / "imgs", 32, 3, images_file), raw)
    assert data.stored_at.parent.name.startswith(".raw.")  # decoded in place, in the new folder
    assert sorted(p.name for p in raw.iterdir()) == ["images.npy", "labels.npy", "meta.json", "official_test.npy",
                                                      "skipped.csv"]
    loaded = load_imageset(raw)
    assert torch.equal(loaded.images, data.images) and mapped_from(loaded.images, raw / "images.npy")

    def broken(images_file):
        load_folder(tmp_path / "imgs", 32, 3, images_file)
        raise RuntimeError("the decode failed half-way")

    with pytest.raises(RuntimeError):
        build_imageset(broken, raw)
    assert torch.equal(load_imageset(raw).images, data.images)  # the last good one stays
    assert sorted(p.name for p in raw.parent.iterdir()) == ["raw"]  # no temp folder left


def test_duplicate_archive_members_are_refused(tmp_path):
    archive = tar_of_images(tmp_path / "dup.tar", ("a/1.png", "b/1.png", "a/1.png"))
    with pytest.raises(UserError, match="a/1.png more than once"):
        load_folder(archive, 8, 3)
