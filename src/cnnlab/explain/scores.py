"""Faithfulness of every method's maps on one set of images: the numbers saliency@V records."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnlab.explain.faithfulness import (
    RANDOMISATION_MAX_CORRELATION,
    deletion_insertion,
    pointing_hits,
    rank_correlations,
    reinitialised,
)
from cnnlab.explain.methods import saliency_maps
from cnnlab.explain.registry import REFERENCE_METHODS, MapSettings


def faithfulness_scores(model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                        maps: dict[str, torch.Tensor], settings: MapSettings, steps: int,
                        masks: torch.Tensor | None = None) -> dict[str, dict[str, Any]]:
    """Per method: mean deletion and insertion AUC, the mean rank correlation with the
    maps of a re-initialised model (and whether that passes), and with object masks the
    pointing-game accuracy."""
    fresh = reinitialised(model, settings.seed + 1)
    scores: dict[str, dict[str, Any]] = {}
    for method, method_maps in maps.items():
        curves = deletion_insertion(model, images, targets, method_maps.to(images.device), steps,
                                    settings.params.batch_size)
        correlation = float(rank_correlations(method_maps, saliency_maps(method, fresh, images, targets, settings))
                            .mean())
        row = {"deletion_auc": round(float(curves.deletion_auc.mean()), 6),
               "insertion_auc": round(float(curves.insertion_auc.mean()), 6),
               "randomisation_rank_correlation": round(correlation, 6),
               "passes_randomisation": correlation < RANDOMISATION_MAX_CORRELATION,
               "reference": method in REFERENCE_METHODS}
        if masks is not None:
            row["pointing_accuracy"] = round(float(pointing_hits(method_maps, masks).float().mean()), 6)
        scores[method] = row
    return scores
