"""Simulated variants for the statistics' tests: numbers only, no training."""

import math

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def simulated_pairs(rng, runs, seeds, wobble, gap=0.0, images=10_000, interaction=1.0, total_sd=False):
    """Pairs of variants (seeds x images of right/wrong each), a fresh test set for every pair.

    Each image has a difficulty (logit ~ N(1.5, 2): about 73% right, from hopeless to trivial)
    and each variant its own per-image deviation from it (SD `interaction` in logits), so two
    variants of equal skill still differ on any finite test set by which images it holds:
    the test set's sampling error, shared by every seed. Each trained model's skill moves
    by `wobble` (SD, in accuracy) from seed to seed, on top of its images' coin flips; with
    total_sd, `wobble` is the SD of per-seed test accuracies, coin flips included. `gap`:
    A's true advantage, in accuracy."""
    for _ in range(runs):
        z = rng.normal(1.5, 2.0, images)
        za, zb = z + rng.normal(0, interaction, images), z + rng.normal(0, interaction, images)
        spread = float(np.mean(sigmoid(za) * (1 - sigmoid(za))))  # d accuracy / d logit shift
        model_sd = math.sqrt(max(0.0, wobble ** 2 - spread / images)) if total_sd else wobble
        shift = rng.normal(0, model_sd / spread, (2, seeds, 1))
        a = rng.random((seeds, images), dtype=np.float32) < sigmoid(za + gap / spread + shift[0]).astype(np.float32)
        b = rng.random((seeds, images), dtype=np.float32) < sigmoid(zb + shift[1]).astype(np.float32)
        yield a, b


# The README's three-seed CIFAR-10 ladder as per-image test predictions: each run gets exactly
# its measured test accuracy on 10,000 images, and the runs overlap as trained CNNs do (hard
# images are hard for every model; each variant has its own strengths; each seed its own
# coin flips). Test accuracy (%) of seeds 42, 43 and 44, from the README's CIFAR-10 table.
README_ACCURACIES = {
    "baseline": (72.3, 72.2, 73.6),
    "small_filters": (74.6, 74.7, 75.6),
    "dropout_last": (79.6, 79.9, 78.9),
    "dropout_all": (77.6, 77.0, 78.2),
    "augmented": (78.7, 77.9, 73.4),
}
SEEDS = [42, 43, 44]
IMAGES = 10_000


def ladder_predictions(images: int = IMAGES, seed: int = 0) -> dict[str, np.ndarray]:
    """Per variant: seeds x images of right (True) or wrong, each row right on exactly its
    README accuracy's share of the images."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0.0, 2.0, images)
    out = {}
    for name, accuracies in README_ACCURACIES.items():
        strengths = difficulty + rng.normal(0.0, 0.7, images)
        rows = []
        for acc in accuracies:
            score = strengths + rng.normal(0.0, 1.0, images)
            right = np.zeros(images, dtype=bool)
            right[np.argsort(-score)[:round(acc / 100 * images)]] = True
            rows.append(right)
        out[name] = np.stack(rows)
    return out
