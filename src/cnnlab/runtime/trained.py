"""A trained variant with its data: what evaluate, saliency and explain all start from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab import layout
from cnnlab.data.loader import BatchLoader, Normalizer
from cnnlab.data.prepared import Prepared, load_prepared
from cnnlab.params import Params
from cnnlab.runtime.checkpoint import ModelCard, load_checkpoint
from cnnlab.runtime.device import pick_device


@dataclass
class Trained:
    model: nn.Module  # in eval mode, on `device`
    card: ModelCard
    device: torch.device
    prepared: Prepared

    @property
    def normalizer(self) -> Normalizer:
        """The normalisation the model was trained with."""
        return self.prepared.normalizer(self.device, (self.card.mean, self.card.std))

    def eval_loader(self, split: str) -> BatchLoader:
        """The split in order, unaugmented, normalised as in training."""
        return self.prepared.eval_loader(split, self.model, self.device, stats=(self.card.mean, self.card.std))

    def inputs(self, rows: torch.Tensor) -> torch.Tensor:
        """Model input for dataset rows (normalised floats on the device)."""
        return self.normalizer(self.prepared.data.images[rows].to(self.device).float() / 255.0)


def load_trained(params: Params, variant: str, model_dir: Path | None = None, seed: int | None = None
                 ) -> Trained:
    """Variant's trained model (from models/VARIANT, or the run of training seed `seed` in
    model_dir) with its data (that seed's split, under split.per_seed)."""
    device = pick_device(params.variant(variant).train.device)
    model, card = load_checkpoint(layout.trained(variant).dir if model_dir is None else model_dir, device)
    return Trained(model, card, device, load_prepared(params, seed))
