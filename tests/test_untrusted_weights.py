"""Weights from elsewhere load as tensors only: a pickle that would run code is refused."""

import os

import pytest
import torch

from cnnlab.command import main
from cnnlab.errors import UserError
from cnnlab.layout import TrainedModel
from cnnlab.models.build import build_model
from cnnlab.models.registry import parse_model_spec
from cnnlab.runtime.checkpoint import ModelCard, load_checkpoint, save_checkpoint
from cnnlab.weights import load_state_dict

SPEC = {"name": "cam_cnn", "channels": [4, 8], "dropout": 0.0}


class Payload:
    """Unpickling this runs a shell command (what a crafted model file does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture
def model_dir(tmp_path):
    model = build_model(parse_model_spec(SPEC, "m"), 3, 16, 3)
    card = ModelCard(SPEC, 3, 16, ["a", "b", "c"], [0.5] * 3, [0.25] * 3)
    save_checkpoint(tmp_path / "tiny", model.state_dict(), card)
    return tmp_path / "tiny"


def test_a_pickle_that_runs_code_is_refused_and_never_runs(model_dir, tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"conv.weight": Payload(marker)}, TrainedModel(model_dir).weights)
    with pytest.raises(UserError) as err:
        load_checkpoint(model_dir)
    assert not marker.exists(), "the payload ran"
    message = str(err.value)
    assert str(TrainedModel(model_dir).weights) in message
    assert "weights_only=True" in message and "state_dict()" in message
    assert "\n" not in message


def test_the_explain_command_refuses_it_in_one_line(model_dir, tmp_path, capsys):
    marker = tmp_path / "pwned"
    torch.save(Payload(marker), TrainedModel(model_dir).weights)
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (16, 16), (10, 20, 30)).save(image)
    assert main(["explain", str(image), "--model", str(model_dir), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "need code to load (posix.system)" in err and "\n" not in err
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_a_whole_pickled_model_is_refused_with_what_to_save_instead(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(build_model(parse_model_spec(SPEC, "m"), 3, 16, 3), path)
    with pytest.raises(UserError, match="save model.state_dict"):
        load_state_dict(path)


def test_a_plain_state_dict_loads(model_dir):
    model, card = load_checkpoint(model_dir)
    assert card.classes == ["a", "b", "c"] and not model.training
