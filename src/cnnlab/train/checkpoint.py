"""A trained model on disk: weights (state dict only) plus the JSON that rebuilds it."""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab.io import atomic_write, read_json, write_json
from cnnlab.layout import require
from cnnlab.models import ModelSpec, build_model, parse_model_spec
from cnnlab.weights import load_state_dict

WEIGHTS = "model.pt"
SPEC = "model.json"


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
        return parse_model_spec(self.model, "model.json")


def save_checkpoint(model_dir: Path, state: dict[str, torch.Tensor], card: ModelCard) -> None:
    # Through a buffer: torch names the archive's inner folder after the file, and the
    # temp file's random name would make every save differ by a few bytes.
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(model_dir / WEIGHTS, lambda tmp: tmp.write_bytes(buffer.getvalue()))
    write_json(model_dir / SPEC, asdict(card))


def load_checkpoint(model_dir: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, ModelCard]:
    model_dir = Path(model_dir)
    require(model_dir / WEIGHTS, f"train@{model_dir.name}")
    card = ModelCard(**read_json(model_dir / SPEC))
    model = build_model(card.spec, card.in_channels, card.image_size, len(card.classes))
    model.load_state_dict(load_state_dict(model_dir / WEIGHTS, device))
    return model.to(device).eval(), card
