"""A fixed, seeded sample of test items per class."""

from __future__ import annotations

import numpy as np


def sample_per_class(labels: np.ndarray, per_class: int, seed: int, max_images: int | None = None) -> np.ndarray:
    """Positions into `labels`: up to `per_class` of each class, ordered by class.

    With more classes than max_images allows, a seeded choice of classes is kept
    (each with its full per-class sample), so the panel stays a readable size."""
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        chosen.append(np.sort(rng.choice(members, size=min(per_class, len(members)), replace=False)))
    if max_images is not None and sum(map(len, chosen)) > max_images:
        keep = np.sort(rng.choice(len(chosen), size=max(1, max_images // max(1, per_class)), replace=False))
        chosen = [chosen[k][:max_images] for k in keep]
    return np.concatenate(chosen) if chosen else np.array([], dtype=int)
