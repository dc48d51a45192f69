"""How sure a comparison of accuracies is: intervals for one variant and for the
difference between two, and the verdict on a claimed difference.

The input is always who got which test image right: a bool matrix of seeds x test
images, the same images (and, for two variants, the same seeds, in the same order)
for everything compared.

- Three or more seeds: the interval is over seeds, Student's t on the per-seed
  accuracies (paired by seed for a difference). A percentile bootstrap over so few
  values is far too narrow: over three seeds of two identical models it calls a
  difference real about a quarter of the time (tests/test_compare_stats.py measures
  it), where t keeps to the nominal 5%.
- One seed: nothing says how much a new seed would move the result, so the interval
  is the test set's own sampling error, exact rather than bootstrapped: Clopper-Pearson
  for an accuracy, and for a difference the same on the images only one of the two
  got right (the interval that goes with the exact McNemar test, so the two never
  disagree). A bootstrap over test images can: with 4 images only A got right and none
  only B, it excludes zero while McNemar's p is 0.125.
- Two seeds: a bootstrap over test images of the per-image mean over both seeds; when
  each seed drew its own split (split.per_seed), column j is a different image in each
  seed, so the images are resampled within each seed instead (scipy resamples each
  sample on its own) and the statistic is the mean of the two seeds' means.

Every resampling uses a fixed generator, so a report is byte-identical when re-run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 9999
MIN_SEEDS = 3  # from here on, intervals are over seeds
BOOTSTRAP_SEED = 0
BATCH = 500  # resamples per vectorised step: bounds memory on large test sets


@dataclass(frozen=True)
class Estimate:
    """A mean (an accuracy, or a difference of two) with its 95% interval."""
    value: float
    low: float
    high: float
    method: str  # what the interval is over, e.g. "t over 5 seeds"
    seeds: int
    std: float | None  # across seeds; None with fewer than two


@dataclass(frozen=True)
class Comparison:
    a: Estimate
    b: Estimate
    difference: Estimate  # A minus B
    p_value: float
    test: str  # which test gave p_value: the one whose interval `difference` is, so the two agree
    p_a_beats_b: float | None  # that A beats B on a fresh seed; None with fewer than MIN_SEEDS
    # From MIN_SEEDS on: the exact sign-flip permutation p over seeds, which assumes nothing
    # of their distribution but cannot go below 2 / 2**seeds (0.25 with three).
    sign_flip_p: float | None = None

    def sign_flip(self) -> str:
        """The sign-flip p in words, saying when it is the smallest the seeds allow."""
        if self.sign_flip_p is None:
            return ""
        floor = 2 / 2 ** self.difference.seeds
        return (f"exact sign-flip permutation p = {self.sign_flip_p:.3g}"
                + (f", the smallest {self.difference.seeds} seeds allow" if self.sign_flip_p <= floor + 1e-12 else ""))


def as_matrix(correct: np.ndarray) -> np.ndarray:
    matrix = np.asarray(correct)
    if matrix.ndim == 1:
        matrix = matrix[None]
    if matrix.ndim != 2 or matrix.shape[0] < 1 or matrix.shape[1] < 1:
        raise ValueError("expected seeds x test images of right/wrong, with at least one of each")
    return matrix.astype(np.float64)


def bootstrap_mean(samples: tuple[np.ndarray, ...], method: str, seeds: int) -> Estimate:
    """The mean of the samples' means, each sample resampled on its own (one sample: its mean)."""
    mean = float(np.mean([x.mean() for x in samples]))
    if all(np.all(x == samples[0][0]) for x in samples):  # nothing varies: nothing to resample
        return Estimate(mean, mean, mean, method, seeds, None)
    result = stats.bootstrap(samples, lambda *xs, axis=-1: np.mean([x.mean(axis=axis) for x in xs], axis=0),
                             confidence_level=CONFIDENCE, n_resamples=RESAMPLES, method="percentile",
                             vectorized=True, batch=BATCH, rng=np.random.default_rng(BOOTSTRAP_SEED))
    interval = result.confidence_interval
    return Estimate(mean, float(interval.low), float(interval.high), method, seeds, None)


def t_mean(values: np.ndarray, method: str) -> Estimate:
    mean, std = float(values.mean()), float(values.std(ddof=1))
    if std == 0:
        return Estimate(mean, mean, mean, method, len(values), 0.0)
    interval = stats.ttest_1samp(values, 0.0).confidence_interval(CONFIDENCE)
    return Estimate(mean, float(interval.low), float(interval.high), method, len(values), std)


def two_seed_bootstrap(per_image: np.ndarray, same_images: bool, what: str) -> Estimate:
    """Two seeds: per_image is seeds x images (of right/wrong, or of A minus B)."""
    seeds, images = per_image.shape
    if same_images:  # resample images, each with its outcome in every seed
        return bootstrap_mean((per_image.mean(axis=0),), f"{what} over {images:,} test images, {seeds} seeds", seeds)
    return bootstrap_mean(tuple(per_image), f"{what} over {images:,} test images within each of {seeds} seeds "
                                            f"(each its own split)", seeds)


def accuracy(correct: np.ndarray, same_images: bool = True) -> Estimate:
    """Mean test accuracy over seeds, with its 95% interval. same_images: whether every seed
    was tested on the same images (False when each seed drew its own split)."""
    matrix = as_matrix(correct)
    seeds, images = matrix.shape
    per_seed = matrix.mean(axis=1)
    if seeds >= MIN_SEEDS:
        return t_mean(per_seed, f"t over {seeds} seeds")
    if seeds == 1:
        right = int(matrix.sum())
        interval = stats.binomtest(right, images).proportion_ci(CONFIDENCE, method="exact")
        return Estimate(right / images, float(interval.low), float(interval.high),
                        f"exact binomial over {images:,} test images, one seed", 1, None)
    estimate = two_seed_bootstrap(matrix, same_images, "bootstrap")
    std = float(per_seed.std(ddof=1))
    return Estimate(estimate.value, estimate.low, estimate.high, estimate.method, seeds, std)


def compare(correct_a: np.ndarray, correct_b: np.ndarray, same_images: bool = True) -> Comparison:
    """A against B, paired by seed and by test image (column j of a seed is the same image
    for A and B; across seeds too unless same_images is False)."""
    a, b = as_matrix(correct_a), as_matrix(correct_b)
    if a.shape != b.shape:
        raise ValueError(f"A and B must be scored on the same seeds and test images: {a.shape} vs {b.shape}")
    seeds, images = a.shape
    if seeds >= MIN_SEEDS:
        d = a.mean(axis=1) - b.mean(axis=1)
        difference = t_mean(d, f"paired t over {seeds} seeds")
        flips = stats.permutation_test((d,), np.mean, permutation_type="samples", vectorized=True,
                                       n_resamples=RESAMPLES, rng=np.random.default_rng(BOOTSTRAP_SEED))
        t_p = 1.0 if difference.std == 0 and difference.value == 0 else \
            0.0 if difference.std == 0 else float(stats.ttest_1samp(d, 0.0).pvalue)
        return Comparison(accuracy(a, same_images), accuracy(b, same_images), difference, t_p,
                          "paired t-test", fresh_seed_win(d), float(flips.pvalue))
    only_a = int(np.sum((a[0] == 1) & (b[0] == 0)))
    only_b = int(np.sum((a[0] == 0) & (b[0] == 1)))
    disagree = only_a + only_b
    p = 1.0 if disagree == 0 else float(stats.binomtest(only_a, disagree, 0.5).pvalue)
    test = f"exact McNemar on seed 1 ({only_a} vs {only_b} images only one got right)"
    if seeds == 1:
        value = (only_a - only_b) / images
        if disagree == 0:
            difference = Estimate(0.0, 0.0, 0.0, "exact McNemar interval, no disagreements", 1, None)
        else:
            share = stats.binomtest(only_a, disagree).proportion_ci(CONFIDENCE, method="exact")
            low, high = (disagree * (2 * q - 1) / images for q in (share.low, share.high))
            difference = Estimate(value, float(low), float(high),
                                  f"exact McNemar interval over {images:,} test images, one seed", 1, None)
    else:
        difference = two_seed_bootstrap(a - b, same_images, "paired bootstrap")
    return Comparison(accuracy(a, same_images), accuracy(b, same_images), difference, p, test, None)


def fresh_seed_win(d: np.ndarray) -> float:
    """P(A beats B on a seed not yet run): the t predictive distribution of one more paired
    difference, mean(d) + s * sqrt(1 + 1/n) * t(n-1)."""
    n, mean, std = len(d), float(d.mean()), float(d.std(ddof=1))
    if std == 0:
        return 1.0 if mean > 0 else 0.0 if mean < 0 else 0.5
    return float(stats.t.cdf(mean / (std * math.sqrt(1 + 1 / n)), df=n - 1))


VERDICTS = ("reproduced", "contradicted", "inconclusive", "not run")


def verdict(difference: Estimate, claimed_sign: int = 1) -> str:
    """reproduced: the interval lies wholly on the claimed side of zero; contradicted:
    wholly on the other; inconclusive: it spans zero."""
    low, high = sorted((difference.low * claimed_sign, difference.high * claimed_sign))
    if low > 0:
        return "reproduced"
    if high < 0:
        return "contradicted"
    return "inconclusive"


def seeds_to_decide(difference: Estimate, max_seeds: int = 1000) -> int | None:
    """How many seeds in all would make an interval of this width exclude zero, if the
    mean difference and its spread across seeds stay as measured; None when that cannot
    be said (fewer than two seeds, or no difference at all)."""
    if difference.std is None or difference.std == 0 or difference.value == 0:
        return None
    for n in range(max(difference.seeds, 2), max_seeds + 1):
        if stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * difference.std / math.sqrt(n) < abs(difference.value):
            return n
    return None
