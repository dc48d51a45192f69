"""A fixed, seeded sample of test items per class."""

from __future__ import annotations

import numpy as np


def sample_per_class(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Positions into `labels`: up to `per_class` of each class, ordered by class."""
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        chosen.append(np.sort(rng.choice(members, size=min(per_class, len(members)), replace=False)))
    return np.concatenate(chosen) if chosen else np.array([], dtype=int)
