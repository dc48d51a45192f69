"""Every `dvc exp run` line of the README's experiments table runs, as written, on tiny
stand-in data placed where the line expects it.

A change of defaults once broke the MNIST line silently (Grad-CAM became a default
method; an MLP has none). Here each line's `-S` overrides are applied with DVC's own
code (what `dvc exp run -S` does to params.yaml), then the test appends its own to make
the run tiny (one epoch, a few images to explain), places stand-in files where the
line's dataset and weights are read from, and runs every stage of the resolved
dvc.yaml in DVC's order, each stage's command as dvc.yaml writes it. The stages run in
this one process rather than one process each, which keeps six whole pipelines within
the test budget; the real `dvc exp run` is what tests/test_pipeline_e2e.py runs.
"""

from __future__ import annotations

import os
import pickle
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from tests.conftest import ROOT
from tests.fresh_repo import copy_repository

CLASSES = 3  # fewer than any real dataset has


def readme_lines() -> list[str]:
    """The first `dvc exp run ...` of each row of the README's experiments table."""
    text = (ROOT / "README.md").read_text()
    table = text.split("### Every experiment, one line each", 1)[1].split("\n\n", 3)[2]
    lines = []
    for row in table.splitlines():
        found = re.search(r"`(dvc exp run [^`]+)`", row)
        if found:
            lines.append(found.group(1))
    return lines


LINES = readme_lines()


def test_the_readme_table_has_one_line_per_experiment_family():
    assert len(LINES) == 7, LINES
    assert {re.search(r"data.dataset=(\w+)", line).group(1) for line in LINES} == {
        "cifar10", "caltech256", "mnist", "imagenette"}


def overrides_of(line: str) -> list[str]:
    words = shlex.split(line)
    assert words[:3] == ["dvc", "exp", "run"], line
    return [words[i + 1] for i, w in enumerate(words) if w == "-S"]


def apply(repo: Path, overrides: list[str]) -> dict:
    """What `dvc exp run -S ...` does to params.yaml, with DVC's own code."""
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import apply_overrides

    for path, changes in to_path_overrides(overrides).items():
        apply_overrides(repo / path, changes)
    return yaml.safe_load((repo / "params.yaml").read_text())


SIDE = 32  # the largest image side the test runs at: saliency at 224 px costs minutes a variant


def tiny(params: dict) -> list[str]:
    """The test's own overrides: one epoch everywhere, a couple of images to explain on a few
    points of the faithfulness curves, images and a transfer model's input no larger than
    SIDE (test_transfer.py tests the resize inside a transfer model)."""
    extra = ["train.epochs=1", "train.patience=0", "saliency.max_images=2", "saliency.faithfulness_steps=4",
             "lr_find.iterations=20"]
    extra += [f"variants.{v}.epochs=1" for v in params["active"] if "epochs" in (params["variants"][v] or {})]
    from cnnlab.models.settings import TransferArgs
    from cnnlab.params import parse_params

    resolved = parse_params(params)
    if resolved.data.image_size > SIDE:
        extra.append(f"data.image_size={SIDE}")
    extra += [f"variants.{v}.model.input_size={SIDE}" for v in params["active"]
              if isinstance(resolved.variant(v).model.args, TransferArgs)]
    return extra


# --- stand-in data, in the files and folders each source reads ----------------------------------

def rng_images(n: int, size: int, channels: int, seed: int) -> np.ndarray:
    """Images whose class is visible (a brighter square per class), so training is not noise."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 80, (n, size, size, channels), dtype=np.uint8)
    for i in range(n):
        k = i % CLASSES
        x[i, k * size // 4:(k + 2) * size // 4, size // 4:size // 2] = 220
    return x


def stand_in_cifar10(root: Path, monkeypatch) -> None:
    """cifar-10-batches-py/ as torchvision reads it; its archive checksums cannot match
    stand-in files, so those checks are switched off."""
    import torchvision.datasets.cifar as cifar

    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        x = rng_images(6, 32, 3, k)
        batch = {"data": x.transpose(0, 3, 1, 2).reshape(6, -1), "labels": [i % CLASSES for i in range(6)]}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": ["airplane", "automobile", "bird"]}))
    monkeypatch.setattr(cifar.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(cifar, "check_integrity", lambda *args, **kwargs: True)  # the metadata file's


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def stand_in_mnist(root: Path, monkeypatch) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n, seed in (("train", 30, 0), ("t10k", 9, 1)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng_images(n, 28, 1, seed)[..., 0])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % CLASSES)


def jpegs(folder: Path, count: int, size: int, label: int) -> None:
    folder.mkdir(parents=True)
    for i, pixels in enumerate(rng_images(count * CLASSES, size, 3, label)[label::CLASSES][:count]):
        Image.fromarray(pixels).save(folder / f"{i:04d}.jpg", quality=90)


def stand_in_caltech256(root: Path, monkeypatch) -> None:
    for k, name in enumerate(["001.ak47", "002.american-flag", "003.backpack"]):
        jpegs(root / "caltech256" / "256_ObjectCategories" / name, 8, 48, k)


def stand_in_imagenette(root: Path, monkeypatch) -> None:
    for k, wnid in enumerate(["n01440764", "n02102040", "n02979186"]):
        jpegs(root / "imagenette2-160" / "train" / wnid, 8, 48, k)
        jpegs(root / "imagenette2-160" / "val" / wnid, 2, 48, k)


STAND_INS = {"cifar10": stand_in_cifar10, "mnist": stand_in_mnist, "caltech256": stand_in_caltech256,
             "imagenette": stand_in_imagenette}


def stand_in_weights(params: dict, torch_home: Path) -> None:
    """The ImageNet weights a transfer variant reads from $TORCH_HOME/hub/checkpoints:
    random, and only the backbone (`features`), the part cnnlab loads."""
    from torchvision import models as tvm

    from cnnlab.models.settings import TransferArgs
    from cnnlab.models.transfer import hub_checkpoint
    from cnnlab.params import parse_params

    resolved = parse_params(params)
    for variant in params["active"]:
        spec = resolved.variant(variant).model
        if not isinstance(spec.args, TransferArgs):
            continue
        arch = spec.name
        weights = tvm.get_model_weights(arch).DEFAULT
        with torch.device("meta"):
            features = tvm.get_model(arch).features
        state = {}
        for key, value in features.state_dict().items():
            if key.endswith("running_var"):
                state[f"features.{key}"] = torch.ones(value.shape)
            elif key.endswith("num_batches_tracked"):
                state[f"features.{key}"] = torch.zeros((), dtype=torch.int64)
            else:
                state[f"features.{key}"] = torch.randn(value.shape) * 0.05
        target = hub_checkpoint(weights.url)
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, target)


# --- the run ---------------------------------------------------------------------------------------

def run_stages(repo: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every stage of the resolved dvc.yaml, in DVC's order, each command as written."""
    # A stage ends its process with os._exit once its work is done; in this one it ends the stage.
    monkeypatch.setattr(os, "_exit", lambda code: (_ for _ in ()).throw(SystemExit(code)))
    import networkx as nx
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        order = list(reversed(list(nx.topological_sort(dvc_repo.index.graph))))
        commands = [(stage.addressing.split(":")[-1], stage.cmd) for stage in order]
    for name, cmd in commands:
        words = shlex.split(cmd)
        assert words[0] == "python" and words[1].startswith("stages/"), cmd
        saved = sys.argv
        sys.argv = words[1:]
        try:
            runpy.run_path(str(repo / words[1]), run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise AssertionError(f"stage {name} ({cmd}) stopped with status {exc.code}") from None
        finally:
            sys.argv = saved
    return [name for name, _ in commands]


@pytest.mark.slow(seconds=110)
@pytest.mark.parametrize("line", LINES, ids=[re.search(r"dataset=(\w+)", x).group(1) + f"-{i}"
                                              for i, x in enumerate(LINES)])
def test_each_readme_experiment_line_runs_as_written(line, tmp_path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    copy_repository(repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    params = apply(repo, overrides_of(line))
    params = apply(repo, tiny(params))
    monkeypatch.chdir(repo)
    for var in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    STAND_INS[params["data"]["dataset"]](repo / params["data"]["download_dir"], monkeypatch)
    stand_in_weights(params, tmp_path / "torch")

    stages = run_stages(repo, monkeypatch)

    assert "report" in stages and all(f"saliency@{v}" in stages for v in params["active"])
    summary = yaml.safe_load((repo / "reports" / "summary.json").read_text())
    assert set(summary) == set(params["active"])
    assert all(summary[v]["seeds"] == len(params["seeds"]) for v in params["active"])  # every seed ran
    for variant in params["active"]:
        saliency = yaml.safe_load((repo / f"reports/variants/{variant}/saliency_metrics.json").read_text())
        asked = params["saliency"]["methods"]
        skipped = saliency.get("skipped", {})
        assert set(asked) == set(saliency["methods"]) - {"random", "sobel"} | set(skipped), variant
    assert "error" not in capsys.readouterr().err.lower()
