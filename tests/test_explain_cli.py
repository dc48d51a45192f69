"""`cnnlab explain` on real image files: a photo, a grey PNG, a broken file, bad names."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.command import main
from cnnlab.models.build import build_model
from cnnlab.models.registry import parse_model_spec
from cnnlab.runtime.checkpoint import ModelCard, save_checkpoint
from tests.conftest import ROOT

CLASSES = ["airplane", "bird", "cat", "dog"]
SPEC = {"name": "cam_cnn", "channels": [8, 16, 16], "dropout": 0.0}


@pytest.fixture
def files(tmp_path):
    from skimage import data

    torch.manual_seed(0)
    model = build_model(parse_model_spec(SPEC, "m"), 3, 32, len(CLASSES)).eval()
    save_checkpoint(tmp_path / "models" / "tiny", model.state_dict(),
                    ModelCard(SPEC, 3, 32, CLASSES, [0.5, 0.45, 0.4], [0.25, 0.25, 0.25]))
    Image.fromarray(data.chelsea()).save(tmp_path / "cat.jpg", quality=90)  # 451 x 300 RGB
    grey = np.add.outer(np.arange(53), np.arange(37)).astype(np.uint8) * 2
    Image.fromarray(grey, mode="L").save(tmp_path / "grey.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    return tmp_path


def run(files, *args):
    return main(["explain", *[str(a) for a in args], "--model", str(files / "models" / "tiny"),
                 "--out", str(files / "out")])


def test_explains_a_photo_top5_and_three_pictures(files, capsys):
    assert run(files, files / "cat.jpg") == 0
    out = capsys.readouterr().out
    shares = [float(line.split("%")[0]) for line in out.splitlines() if line.strip().endswith(tuple(CLASSES))]
    assert len(shares) == 4 and shares == sorted(shares, reverse=True)  # all 4 classes, most likely first
    assert sum(shares) == pytest.approx(100, abs=0.05)
    pictures = {p.name: np.asarray(Image.open(p)) for p in (files / "out").iterdir()}
    assert set(pictures) == {"cat_original.png", "cat_gradcam_heatmap.png", "cat_gradcam_overlay.png"}
    for name, pixels in pictures.items():
        assert pixels.shape == (256, 256, 3), name  # 32 px input, shown 8x enlarged
    assert pictures["cat_gradcam_heatmap.png"].std() > 5  # a map, not a flat colour
    assert not np.array_equal(pictures["cat_gradcam_overlay.png"], pictures["cat_original.png"])


def test_a_named_target_class_changes_the_map(files, capsys):
    run(files, files / "cat.jpg", "--method", "occlusion")
    top = np.asarray(Image.open(files / "out" / "cat_occlusion_heatmap.png"))
    capsys.readouterr()
    assert run(files, files / "cat.jpg", "--method", "occlusion", "--target", "bird") == 0
    assert "occlusion map for 'bird'" in capsys.readouterr().out
    assert not np.array_equal(np.asarray(Image.open(files / "out" / "cat_occlusion_heatmap.png")), top)


def test_a_grey_png_of_any_size_is_explained(files, capsys):
    assert run(files, files / "grey.png", "--method", "cam") == 0
    assert np.asarray(Image.open(files / "out" / "grey_cam_overlay.png")).shape == (256, 256, 3)


@pytest.mark.parametrize("args, message", [
    (["broken.jpg"], "broken.jpg: truncated or damaged"),
    (["missing.png"], "missing.png: no such file"),
    (["cat.jpg", "--target", "cta"], "--target 'cta' is not a class of this model; did you mean 'cat'"),
])
def test_bad_input_is_one_clear_line_and_writes_nothing(files, capsys, args, message):
    assert run(files, *[files / a if a.endswith((".jpg", ".png")) else a for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not (files / "out").exists()


def test_the_command_line_entry_point_and_imagenet_class_names(files, tmp_path):
    """python -m cnnlab, with torchvision's ImageNet classifier from a local weights file."""
    from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

    checkpoints = tmp_path / "torch_home" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    weights = MobileNet_V2_Weights.DEFAULT
    torch.save(mobilenet_v2().state_dict(), checkpoints / weights.url.rsplit("/", 1)[1])
    result = subprocess.run([sys.executable, "-m", "cnnlab", "explain", str(files / "cat.jpg"), "--model",
                             "imagenet:mobilenet_v2", "--out", str(tmp_path / "in1k"), "--top", "3"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env={"TORCH_HOME": str(tmp_path / "torch_home"), "PATH": "/usr/bin:/bin",
                                 "PYTHONPATH": str(ROOT / "src")})
    assert result.returncode == 0, result.stderr
    named = [line.split("%", 1)[1].strip() for line in result.stdout.splitlines() if "%  " in line]
    assert len(named) == 3 and set(named) <= set(weights.meta["categories"])
    assert (tmp_path / "in1k" / "cat_gradcam_overlay.png").is_file()
