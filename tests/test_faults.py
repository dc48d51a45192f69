"""Faults a user meets: a stage killed mid-write, a GPU running out of memory."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from cnnlab.data.canonical import load_imageset
from cnnlab.errors import UserError
from cnnlab.io import atomic_write, temp_prefix
from cnnlab.runtime.device import batch_fits
from tests.conftest import ROOT


def jpeg_folder(root: Path, per_class: int, side: int) -> Path:
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i:04d}.jpg", quality=90)
    return root


def download(cwd: Path, data_path: Path) -> subprocess.Popen:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"].update({"dataset": "folder", "path": str(data_path), "image_size": 64})
    (cwd / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return subprocess.Popen([sys.executable, str(ROOT / "stages" / "download.py")], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_stage_killed_mid_write_leaves_the_last_whole_output_and_no_debris(tmp_path):
    small = jpeg_folder(tmp_path / "small", 5, 32)
    big = jpeg_folder(tmp_path / "big", 300, 640)  # several seconds of decoding on 2 cores
    work = tmp_path / "work"
    work.mkdir()
    first = download(work, small)
    assert first.wait(120) == 0, first.stdout.read()
    before = load_imageset(work / "data" / "raw")

    second = download(work, big)
    data = work / "data"
    deadline = time.monotonic() + 60
    # Kill once the new data/raw is being written beside the old one.
    while not any(p.name.startswith(".raw.") and (p / "images.npy").exists() for p in data.iterdir()):
        assert second.poll() is None and time.monotonic() < deadline, "the stage ended before it was killed"
        time.sleep(0.01)
    second.send_signal(signal.SIGKILL)
    second.wait(30)

    after = load_imageset(data / "raw")  # the previous output, whole
    assert torch.equal(after.images, before.images) and after.classes == before.classes
    assert [p.name for p in data.iterdir() if p.name.startswith(".raw.")], "the half-written folder is there"

    third = download(work, small)  # the next run sweeps the killed one's debris away
    assert third.wait(120) == 0, third.stdout.read()
    assert sorted(p.name for p in data.iterdir()) == ["download.json", "raw"]


def test_atomic_write_never_sweeps_a_live_writers_file(tmp_path):
    target = tmp_path / "out.json"
    live = tmp_path / f"{temp_prefix(target)}abc.tmp"  # this process is alive
    live.write_text("{")
    atomic_write(target, lambda tmp: tmp.write_text("{}"))
    assert live.exists() and target.read_text() == "{}"


def test_out_of_memory_names_the_batch_size_and_what_to_set():
    with pytest.raises(UserError) as err:
        with batch_fits(256, "variants.resnet18.batch_size", torch.device("cuda", 0)):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    message = str(err.value)
    assert message.startswith("out of CUDA memory with batch size 256 (variants.resnet18.batch_size)")
    assert "set variants.resnet18.batch_size to 128 or lower" in message and "\n" not in message


def test_out_of_memory_in_a_real_training_run_names_the_variants_key(workspace, monkeypatch):
    from cnnlab.models.convnet import ConvNet
    from cnnlab.train.run import train_variant

    params = workspace("baseline", epochs=1, batch_size=24)
    real_forward = ConvNet.forward

    def forward(self, x):  # as a GPU does: the batch of 24 does not fit, smaller ones do
        if len(x) >= 24 and self.training:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.50 GiB")
        return real_forward(self, x)

    monkeypatch.setattr(ConvNet, "forward", forward)
    with pytest.raises(UserError, match=r"batch size 24 \(variants.baseline.batch_size\): set "
                                        r"variants.baseline.batch_size to 12 or lower"):
        train_variant(params, "baseline")


def test_a_loss_turning_nan_stops_naming_epoch_and_batch_and_keeps_the_last_good_epoch(workspace, monkeypatch,
                                                                                        capsys):
    from cnnlab import layout
    from cnnlab.io import read_json
    from cnnlab.models.convnet import ConvNet
    from cnnlab.train.run import train_variant

    params = workspace("baseline", epochs=3, batch_size=16)
    full, rest = divmod(len(read_json(layout.SPLIT)["train"]), 16)
    per_epoch = full + (rest > 1)  # a shuffled tail of one image is dropped (BatchNorm)
    real_forward = ConvNet.forward
    calls = {"train": 0}

    def forward(self, x):  # the second epoch's first batch blows up
        out = real_forward(self, x)
        if self.training:
            calls["train"] += 1
            if calls["train"] == per_epoch + 1:
                return out * float("nan")
        return out

    monkeypatch.setattr(ConvNet, "forward", forward)
    with pytest.raises(UserError, match=r"diverged \(baseline\): loss is nan at epoch 2, batch 1"):
        train_variant(params, "baseline")
    saved = torch.load(layout.resume_file("baseline"), weights_only=True)
    assert len(saved["history"]) == 1  # the last good epoch is kept

    monkeypatch.setattr(ConvNet, "forward", real_forward)
    result = train_variant(params, "baseline")
    assert "resuming after epoch 1" in capsys.readouterr().out
    assert len(result.history) == 3 and result.resumed_from == 1
