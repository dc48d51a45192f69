"""Stratified train/val/test indices with a fixed seed.

When the source has an official test split it is the test set, untouched, and
validation is carved from the rest; otherwise test and validation are both carved
from the whole, each stratified by class.
"""

from __future__ import annotations

import numpy as np

from cnnlab.data.canonical import ImageSet, Labels
from cnnlab.errors import UserError
from cnnlab.params import Params, SplitParams


def _carve(indices: np.ndarray, labels: np.ndarray, fraction: float, seed: int,
           classes: list[str], what: str) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(labels[indices], minlength=len(classes))
    present = counts[counts > 0]
    n_take = int(np.ceil(fraction * len(indices)))
    if present.min() < 2 or n_take < len(present) or len(indices) - n_take < len(present):
        rare = classes[int(np.argmin(np.where(counts > 0, counts, np.iinfo(int).max)))]
        raise UserError(
            f"cannot carve a stratified {what} set of {fraction:.0%} from {len(indices)} images: "
            f"class '{rare}' has {present.min()} image(s) and each of the {len(present)} classes "
            f"needs at least one on each side. Add images, or change split.{what}_fraction.")
    # Imported here, not at the top: scikit-learn takes about 2 s to import, and every stage that
    # loads the prepared data imports this module, while only split@ (and a seed that draws its
    # own split) ever carves one.
    from sklearn.model_selection import train_test_split

    rest, taken = train_test_split(indices, test_size=n_take, random_state=seed,
                                   stratify=labels[indices], shuffle=True)
    return np.sort(rest), np.sort(taken)


def make_split(data: ImageSet | Labels, params: SplitParams, seed: int) -> dict[str, list[int]]:
    labels = np.asarray(data.labels)
    official = np.asarray(data.official_test)
    everything = np.arange(len(labels))
    if official.any():
        pool, test = everything[~official], everything[official]
    else:
        pool, test = _carve(everything, labels, params.test_fraction, seed, data.classes, "test")
    train, val = _carve(pool, labels, params.val_fraction, seed, data.classes, "val")
    return {"train": train.tolist(), "val": val.tolist(), "test": test.tolist()}


def split_for(data: ImageSet | Labels, params: Params, training_seed: int | None = None) -> dict[str, list[int]]:
    """The split the run of this training seed uses: split@'s (data/split.json) by default,
    or under split.per_seed the seed's own, drawn the same way from the same seed."""
    return make_split(data, params.split, params.split_seed(training_seed))
