"""How sure a comparison of accuracies is: intervals for one variant and for the
difference between two, the p-value that goes with each interval, Holm's adjustment
for a family of them, and how many seeds would settle a question.

The input is always who got which test image right: a bool matrix of seeds x test
images, the same images (and, for two variants, the same seeds, in the same order)
for everything compared. The question asked of it is about the variant, not about
one trained model on one test set: what accuracy (or difference) would it have on
average over training seeds, on images from the same source. Two things move a
measured number away from that:

- the seed: each training seed gives another model (the spread of per-seed accuracies);
- the test set: a finite sample of images. When every seed is tested on the same
  images, this error is shared by all seeds, so adding seeds never averages it out,
  and the spread over seeds cannot see it.

Two or more seeds on the same test images: seeds x images is a two-way crossed design,
and the variance of the grand mean is, from the ANOVA mean squares (seeds s, images i,
residual r, n seeds, N images),

    Var = (MS_s + MS_i - MS_r) / (n N) = Var(per-seed means) / n + (MS_i - MS_r) / (n N),

the paired t's variance over seeds plus the test set's own term (the per-image effect
beyond what the seeds' coin flips explain; never below zero). The interval is Student's
t on it with n - 1 degrees of freedom, the seeds': the variance estimate is no surer
than its seed part. (Satterthwaite's df, which rises towards N as the image term grows,
made false verdicts at two seeds twice the nominal rate in simulation, because the df is
largest exactly when the seeds' variance happens to be under-estimated.) The p-value is
the same t statistic's, so p < 0.05 exactly when the interval excludes the null.

Two or more seeds each on its own split (split.per_seed): each seed's test images are an
independent sample, so the spread of the per-seed values already holds the test set's
error; plain Student t over seeds.

One seed: nothing says how far another seed would move the result, so no verdict. The
interval shown is the test set's sampling error of this one trained model, exact:
Clopper-Pearson for an accuracy, and for a difference the same on the images only one
of the two got right (the interval that goes with the exact McNemar test, whose p is
shown beside it).

tests/test_compare_stats.py checks these against scipy, against known answers, and by
simulation: variants of equal skill, each with its own per-image strengths, each trained
model moving by 0 to 1 point from seed to seed, get a verdict at most 5% of the time at
2, 3, 5 and 10 seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

LEVEL = 0.05  # the error rate every verdict promises: of the family of claims in a run, after Holm
CONFIDENCE = 1 - LEVEL
MIN_SEEDS = 2  # a verdict needs the spread over seeds, which one seed cannot show
POWER = 0.8  # what "seeds to settle" plans for
MOST_SEEDS = 10_000  # beyond this, "seeds to settle" just says "more than"


@dataclass(frozen=True)
class Estimate:
    """A mean (an accuracy, a difference of two, a time saved) with its 95% interval."""
    value: float
    low: float
    high: float
    method: str  # what the interval takes in, e.g. "t over 5 seeds and the test set's sampling error"
    seeds: int
    std: float | None = None  # SD over seeds of the per-seed values; None with one seed
    se: float | None = None  # the standard error the interval is built on; None for an exact one-seed interval
    test_variance: float = 0.0  # the part of se**2 that more seeds would not shrink (the shared test set's)
    per_seed: tuple[float, ...] = ()

    @property
    def judged(self) -> bool:
        """Whether the interval takes in seed-to-seed spread, so that a verdict can rest on it."""
        return self.se is not None

    def p_value(self, null: float = 0.0) -> float:
        """Two-sided p that the true value is `null`, from the t statistic the interval is
        built on: below LEVEL exactly when `null` lies outside the interval."""
        if self.se is None:
            raise ValueError(f"one seed's interval ({self.method}) says nothing of seed-to-seed spread")
        if self.se == 0:
            return 1.0 if self.value == null else 0.0
        return float(2 * stats.t.sf(abs(self.value - null) / self.se, self.seeds - 1))


@dataclass(frozen=True)
class Comparison:
    a: Estimate
    b: Estimate
    difference: Estimate  # A minus B
    p_value: float  # that A and B tie, from the same test as `difference`'s interval, so the two agree
    test: str  # which test gave p_value
    p_a_beats_b: float | None  # that A beats B on a fresh seed (same test images); None with one seed


def as_matrix(correct: np.ndarray) -> np.ndarray:
    matrix = np.asarray(correct)
    if matrix.ndim == 1:
        matrix = matrix[None]
    if matrix.ndim != 2 or matrix.shape[0] < 1 or matrix.shape[1] < 1:
        raise ValueError("expected seeds x test images of right/wrong, with at least one of each")
    return matrix.astype(np.float64)


def t_interval(value: float, se: float, seeds: int, method: str, std: float, test_variance: float,
               per_seed: np.ndarray) -> Estimate:
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, seeds - 1)) * se
    return Estimate(value, value - half, value + half, method, seeds, std, se, test_variance,
                    tuple(float(v) for v in per_seed))


def over_seeds(values: np.ndarray, method: str) -> Estimate:
    """Student t over independent per-seed values (times, or accuracies on per-seed splits)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < MIN_SEEDS:
        raise ValueError(f"an interval over seeds needs {MIN_SEEDS} or more, got {len(values)}")
    std = float(values.std(ddof=1))
    return t_interval(float(values.mean()), std / math.sqrt(len(values)), len(values), method, std, 0.0, values)


def image_sampling_variance(x: np.ndarray) -> float:
    """(MS_images - MS_residual) / (n N) of seeds x images values, at least 0: the variance
    of the grand mean that comes from which images the test set happens to hold."""
    n, images = x.shape
    if images < 2:
        return 0.0
    mean = x.mean()
    per_seed, per_image = x.mean(axis=1), x.mean(axis=0)
    ss_seeds = images * float(np.sum((per_seed - mean) ** 2))
    ss_images = n * float(np.sum((per_image - mean) ** 2))
    ss_total = float(np.sum(x * x)) - x.size * mean ** 2
    ms_images = ss_images / (images - 1)
    ms_residual = (ss_total - ss_seeds - ss_images) / ((n - 1) * (images - 1))
    return max(0.0, (ms_images - ms_residual) / x.size)


def seeds_and_test_set(x: np.ndarray, what: str) -> Estimate:
    """The mean of seeds x images values (right/wrong, or A minus B) tested on the same
    images, with the crossed design's variance (see the module's docstring)."""
    n, images = x.shape
    per_seed = x.mean(axis=1)
    std = float(per_seed.std(ddof=1))
    test_variance = image_sampling_variance(x)
    se = math.sqrt(std ** 2 / n + test_variance)
    return t_interval(float(x.mean()), se, n, f"{what} over {n} seeds and {images:,} test images "
                      f"(seed-to-seed spread and the test set's sampling error)", std, test_variance, per_seed)


def over_own_splits(x: np.ndarray, what: str) -> Estimate:
    n, images = x.shape
    return over_seeds(x.mean(axis=1), f"{what} over {n} seeds, each tested on its own {images:,} images "
                                      f"(split.per_seed), which holds the test set's sampling error")


def accuracy(correct: np.ndarray, same_images: bool = True) -> Estimate:
    """Mean test accuracy over seeds, with its 95% interval. same_images: whether every seed
    was tested on the same images (False when each seed drew its own split)."""
    matrix = as_matrix(correct)
    seeds, images = matrix.shape
    if seeds == 1:
        right = int(matrix.sum())
        interval = stats.binomtest(right, images).proportion_ci(CONFIDENCE, method="exact")
        return Estimate(right / images, float(interval.low), float(interval.high),
                        f"exact binomial over {images:,} test images, one seed: the test set's sampling error "
                        f"alone", 1, per_seed=(right / images,))
    est = seeds_and_test_set(matrix, "t") if same_images else over_own_splits(matrix, "t")
    return replace(est, low=max(0.0, est.low), high=min(1.0, est.high))  # no accuracy lies outside [0, 1]


def compare(correct_a: np.ndarray, correct_b: np.ndarray, same_images: bool = True) -> Comparison:
    """A against B, paired by seed and by test image (column j of a seed is the same image
    for A and B; across seeds too unless same_images is False)."""
    a, b = as_matrix(correct_a), as_matrix(correct_b)
    if a.shape != b.shape:
        raise ValueError(f"A and B must be scored on the same seeds and test images: {a.shape} vs {b.shape}")
    seeds, images = a.shape
    if seeds >= MIN_SEEDS:
        x = a - b
        difference = seeds_and_test_set(x, "paired t") if same_images else over_own_splits(x, "paired t")
        return Comparison(accuracy(a, same_images), accuracy(b, same_images), difference, difference.p_value(),
                          "paired t", fresh_seed_win(np.array(difference.per_seed)))
    only_a = int(np.sum((a[0] == 1) & (b[0] == 0)))
    only_b = int(np.sum((a[0] == 0) & (b[0] == 1)))
    disagree = only_a + only_b
    p = 1.0 if disagree == 0 else float(stats.binomtest(only_a, disagree, 0.5).pvalue)
    value = (only_a - only_b) / images
    method = f"exact McNemar interval over {images:,} test images, one seed: the test set's sampling error alone"
    if disagree == 0:
        difference = Estimate(0.0, 0.0, 0.0, method, 1, per_seed=(0.0,))
    else:
        share = stats.binomtest(only_a, disagree).proportion_ci(CONFIDENCE, method="exact")
        low, high = (disagree * (2 * q - 1) / images for q in (share.low, share.high))
        difference = Estimate(value, float(low), float(high), method, 1, per_seed=(value,))
    return Comparison(accuracy(a, same_images), accuracy(b, same_images), difference, p,
                      f"exact McNemar ({only_a} vs {only_b} images only one got right)", None)


def fresh_seed_win(d: np.ndarray, threshold: float = 0.0) -> float:
    """P(one more seed's paired difference > threshold), from the t predictive distribution
    of a new draw: mean(d) + s * sqrt(1 + 1/n) * t(n-1). Exact for normal seed-to-seed
    variation: the seed not yet run is uncertain both by its own spread and by how little
    n seeds pin the mean down, and s is itself estimated (hence t, with n - 1 df)."""
    n, mean, std = len(d), float(np.mean(d)), float(np.std(d, ddof=1))
    if std == 0:
        return 1.0 if mean > threshold else 0.0 if mean < threshold else 0.5
    return float(stats.t.sf((threshold - mean) / (std * math.sqrt(1 + 1 / n)), df=n - 1))


def holm(p_values: Sequence[float], claims: Sequence[int] | None = None) -> list[float]:
    """Holm's step-down adjustment: the smallest p times the number of hypotheses that could
    still be true, the next likewise among the rest, ..., each at least the one before and at
    most 1. Rejecting where the adjusted p < LEVEL keeps the chance of any wrong rejection in
    the family at LEVEL or less, whatever the tests' dependence.

    Plain Holm counts every hypothesis not yet rejected (m, m - 1, ...). `claims` says which
    claim each hypothesis belongs to when one claim asks two questions of one number, "is the
    gain zero?" and "is it +3?": both cannot be true, so a claim counts once while any of its
    hypotheses is left (Shaffer's refinement of Holm, 1986). With one hypothesis per claim the
    two are the same."""
    m = len(p_values)
    claims = list(range(m)) if claims is None else list(claims)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        could_be_true = len({claims[j] for j in order[rank:]})
        running = max(running, min(1.0, could_be_true * p_values[i]))
        adjusted[i] = running
    return adjusted


def power(distance: float, std: float, test_variance: float, seeds: int, level: float = LEVEL) -> float:
    """Chance that `seeds` seeds show a true difference of `distance` from the null at `level`,
    two-sided, with seed-to-seed SD `std` and the test set's variance term as measured."""
    se = math.sqrt(std ** 2 / seeds + test_variance)
    if se == 0:
        return 1.0 if distance else 0.0
    critical, shift = stats.t.ppf(1 - level / 2, seeds - 1), abs(distance) / se
    # Both tails as upper tails: scipy's noncentral t cdf turns NaN far out in the lower tail.
    return float(stats.nct.sf(critical, seeds - 1, shift) + stats.nct.sf(critical, seeds - 1, -shift))


def fewest_seeds(distance: float, std: float, test_variance: float, level: float = LEVEL) -> int | None:
    """The fewest seeds (2 or more) that reach POWER; None when not even MOST_SEEDS would
    (the test set's own error can be too wide for a small difference, however many seeds)."""
    if distance == 0 or power(distance, std, test_variance, MOST_SEEDS, level) < POWER:
        return None
    low, high = MIN_SEEDS, MOST_SEEDS  # power rises with seeds: bisect for the first that reaches POWER
    while low < high:
        middle = (low + high) // 2
        enough = power(distance, std, test_variance, middle, level) >= POWER
        low, high = (low, middle) if enough else (middle + 1, high)
    return low


@dataclass(frozen=True)
class SeedsToSettle:
    """Seeds in all for POWER at the difference measured: at the seed SD measured, and at
    either end of that SD's 95% interval (an SD from few seeds is itself very uncertain).
    None: more than MOST_SEEDS."""
    seeds: int | None
    fewest: int | None
    most: int | None


def seeds_to_settle(estimate: Estimate, null: float = 0.0, level: float = LEVEL) -> SeedsToSettle | None:
    """How many seeds would show the measured distance from `null` at `level`, if it is the
    truth; None when that cannot be said (one seed, no spread, or no distance)."""
    if not estimate.judged or estimate.std is None or estimate.value == null:
        return None
    if estimate.std == 0 and estimate.test_variance == 0:
        return None
    df = estimate.seeds - 1
    sd_low = estimate.std * math.sqrt(df / stats.chi2.ppf(1 - LEVEL / 2, df))
    sd_high = estimate.std * math.sqrt(df / stats.chi2.ppf(LEVEL / 2, df))
    distance, v = estimate.value - null, estimate.test_variance
    return SeedsToSettle(*(fewest_seeds(distance, sd, v, level) for sd in (estimate.std, sd_low, sd_high)))


def chance_level(labels: Sequence[str], classes: int) -> float:
    """What a model that learnt nothing scores: guessing among `classes`, or always answering
    the test set's largest class."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    return max(1 / classes, float(counts.max()) / len(labels))


def outlying_seeds(values: Sequence[float], floor: float) -> list[bool]:
    """Which seeds lie more than 3 median absolute deviations from the median of their
    siblings' and their own values; the MAD is taken as at least `floor` (the test set's
    sampling SD), so that seeds agreeing to within sampling error flag nothing."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 3:
        return [False] * len(x)
    median = float(np.median(x))
    scale = max(float(np.median(np.abs(x - median))), floor)
    return [bool(abs(v - median) > 3 * scale) for v in x]
