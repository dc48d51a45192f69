"""Is a saliency map faithful to the model? Three measurements.

- Deletion and insertion (Petsiuk et al., RISE): remove the pixels in order of
  saliency (set them to the training mean colour), or insert them in that order into
  a blurred copy, and integrate the target's probability over the fraction changed.
  A faithful map makes the deletion curve fall fast (low AUC) and the insertion curve
  rise fast (high AUC). Every step of every image goes through the model in batches.
- Model randomisation (Adebayo et al., "Sanity checks for saliency maps"): the rank
  correlation between a method's maps on the trained model and on the same
  architecture re-initialised. A method whose maps barely change does not explain
  the model, whatever it looks like.
- The pointing game (Zhang et al.): on images whose object mask is known, is the
  map's maximum inside the object?
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.batching import images_per_batch
from cnnlab.explain.layers import evaluating
from cnnlab.explain.perturb import blurred

# Perturbed copies per forward pass hold at most this many input values (64 MB of float32).
PERTURBED_VALUES = 1 << 24
# A method whose maps keep at least this rank correlation with the maps of a
# re-initialised model fails the randomisation check.
RANDOMISATION_MAX_CORRELATION = 0.5


def saliency_ranks(maps: torch.Tensor) -> torch.Tensor:
    """B x (H*W): each pixel's place in its map's order, 0 for the most salient (ties by position)."""
    order = maps.flatten(1).argsort(dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    return ranks


def perturbation_curves(model: nn.Module, base: torch.Tensor, source: torch.Tensor, targets: torch.Tensor,
                        maps: torch.Tensor, steps: int, per_eval: int = 256) -> torch.Tensor:
    """B x (steps + 1): p(target) of `base` with the first k/steps of its pixels, in the
    map's order, taken from `source` (deletion: base the image, source the mean colour;
    insertion: base a blurred copy, source the image)."""
    b, c, h, w = base.shape
    ranks = saliency_ranks(maps).view(b, 1, h, w)
    counts = torch.round(torch.linspace(0, h * w, steps + 1, device=base.device)).long()
    # Every (image, step) pair, image-major, so results fill the B x (steps + 1) table in order.
    rows = torch.arange(b, device=base.device).repeat_interleave(steps + 1)
    kept = counts.repeat(b)
    chunk = images_per_batch(c * h * w, PERTURBED_VALUES, per_eval)
    probabilities = torch.empty(b * (steps + 1))
    with evaluating(model), torch.no_grad():
        for first in range(0, len(rows), chunk):
            r, k = rows[first:first + chunk], kept[first:first + chunk]
            batch = torch.where(ranks[r] < k.view(-1, 1, 1, 1), source[r], base[r])
            p = model(batch).softmax(1).gather(1, targets[r].view(-1, 1)).squeeze(1)
            probabilities[first:first + len(r)] = p.cpu()
    return probabilities.view(b, steps + 1)


def area_under(curves: torch.Tensor) -> torch.Tensor:
    """Trapezoidal area of curves sampled evenly on [0, 1]."""
    return torch.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), dim=1)


@dataclass(frozen=True)
class DeletionInsertion:
    deletion: torch.Tensor  # B x (steps + 1) probabilities
    insertion: torch.Tensor

    @property
    def deletion_auc(self) -> torch.Tensor:
        return area_under(self.deletion)

    @property
    def insertion_auc(self) -> torch.Tensor:
        return area_under(self.insertion)


def deletion_insertion(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, maps: torch.Tensor,
                       steps: int = 16, per_eval: int = 256) -> DeletionInsertion:
    """Both curves for normalised images (0 is the training mean colour)."""
    deletion = perturbation_curves(model, images, torch.zeros_like(images), targets, maps, steps, per_eval)
    insertion = perturbation_curves(model, blurred(images), images, targets, maps, steps, per_eval)
    return DeletionInsertion(deletion, insertion)


def reinitialised(model: nn.Module, seed: int) -> nn.Module:
    """A copy of the model with every layer's parameters drawn afresh (as at construction)."""
    fresh = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in fresh.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return fresh


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks (scipy.stats.rankdata's
    default, written out here so that each saliency stage does not import scipy.stats: a
    second of its start-up)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(starts_group)
    ends = np.r_[starts[1:], len(values)]  # one past each group's last position
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = ((starts + ends + 1) / 2)[np.cumsum(starts_group) - 1]
    return ranks


def rank_correlations(maps: torch.Tensor, other: torch.Tensor) -> np.ndarray:
    """Per image: Spearman's rank correlation of |map| against |other map| (the
    absolute value, as Adebayo et al.: a map that only flips sign has not changed)."""
    result = []
    for a, b in zip(maps.abs().flatten(1).cpu().numpy(), other.abs().flatten(1).cpu().numpy(), strict=True):
        if np.ptp(a) == 0 or np.ptp(b) == 0:  # a constant map has no order
            result.append(1.0 if np.array_equal(a, b) else 0.0)
        else:
            result.append(float(np.corrcoef(average_ranks(a), average_ranks(b))[0, 1]))
    return np.asarray(result)


def pointing_hits(maps: torch.Tensor, masks: torch.Tensor, tolerance: int | None = None) -> torch.Tensor:
    """B booleans: does each map's maximum fall on its object (mask B x H x W), or within
    `tolerance` pixels of it? Zhang et al. allow 15 px at 224 px; by default the same
    share of the image side (2 px at 32 px)."""
    h, w = masks.shape[-2:]
    if tolerance is None:
        tolerance = round(min(h, w) * 15 / 224)
    near = masks.float().unsqueeze(1)
    if tolerance > 0:
        near = F.max_pool2d(near, 2 * tolerance + 1, stride=1, padding=tolerance)
    top = maps.flatten(1).argmax(dim=1)
    return near.flatten(1).gather(1, top.view(-1, 1).to(near.device)).squeeze(1).bool()
