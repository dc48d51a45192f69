"""Name -> (argument dataclass, constructor). Adding a model is one entry here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from cnnlab.errors import UserError
from cnnlab.models.convnet import ConvNet, ConvNetArgs
from cnnlab.schema import build


@dataclass(frozen=True)
class ModelEntry:
    args: type
    # (args, in_channels, image_size, num_classes) -> module producing logits
    make: Callable[[Any, int, int, int], nn.Module]
    summary: str


MODELS: dict[str, ModelEntry] = {
    "convnet": ModelEntry(ConvNetArgs, ConvNet,
                          "configurable CNN: conv stages + max-pool, hidden linear, optional BN/dropout"),
}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    args: Any


def parse_model_spec(raw: Any, where: str) -> ModelSpec:
    """Validate a ``model:`` mapping (``name`` plus that model's arguments)."""
    if not isinstance(raw, dict) or "name" not in raw:
        raise UserError(f"params.yaml: {where} must be a mapping with a 'name' "
                        f"(one of {', '.join(MODELS)}), got {raw!r}.")
    name = raw["name"]
    if name not in MODELS:
        raise UserError(f"params.yaml: {where}.name '{name}' is not a known model; "
                        f"choose one of {', '.join(MODELS)}.")
    args = build(MODELS[name].args, {k: v for k, v in raw.items() if k != "name"}, where)
    return ModelSpec(name, args)


def build_model(spec: ModelSpec, in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """Instantiate; input shape and class count always come from the data."""
    return MODELS[spec.name].make(spec.args, in_channels, image_size, num_classes)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
