"""A trained model on disk: weights (state dict only) plus the JSON that rebuilds it."""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab.io import atomic_write, read_json, write_json
from cnnlab.layout import TrainedModel, require
from cnnlab.models.build import build_model
from cnnlab.models.registry import ModelSpec, parse_model_spec
from cnnlab.weights import load_state_dict


@dataclass(frozen=True)
class ModelCard:
    model: dict  # the `model:` block: name + arguments
    in_channels: int
    image_size: int
    classes: list[str]
    # The input normalisation the model was trained with (the dataset's statistics,
    # or a pretrained model's own), which every later use must apply too.
    mean: list[float]
    std: list[float]

    @property
    def spec(self) -> ModelSpec:
        return parse_model_spec(self.model, TrainedModel(Path()).card.name)


def save_checkpoint(model_dir: Path, state: dict[str, torch.Tensor], card: ModelCard) -> None:
    # Through a buffer: torch names the archive's inner folder after the file, and the
    # temp file's random name would make every save differ by a few bytes.
    buffer = io.BytesIO()
    torch.save(state, buffer)
    files = TrainedModel(model_dir)
    atomic_write(files.weights, lambda tmp: tmp.write_bytes(buffer.getvalue()))
    write_json(files.card, asdict(card))


def load_checkpoint(model_dir: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, ModelCard]:
    files = TrainedModel(Path(model_dir))
    require(files.weights, f"train@{files.dir.name}")
    return load_model_files(files.weights, files.card, device)


def load_model_files(weights: str | Path, card_file: str | Path,
                     device: torch.device | str = "cpu") -> tuple[nn.Module, ModelCard]:
    """The model its card describes, with its weights, in eval mode (the two files may live
    apart, as among an MLflow model's artifacts)."""
    card = ModelCard(**read_json(card_file))
    model = build_model(card.spec, card.in_channels, card.image_size, len(card.classes))
    model.load_state_dict(load_state_dict(weights, device))
    return model.to(device).eval(), card
