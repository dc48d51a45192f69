"""The statistics of comparisons against scipy's own answers, against differences built
in, and against the nominal 5% error rate on simulated identical variants."""

import numpy as np
import pytest
from scipy import stats as st

from cnnlab.compare import stats
from cnnlab.compare.stats import Estimate, accuracy, compare, seeds_to_decide, verdict


def right_wrong(rng, p, images, seeds=1):
    return rng.random((seeds, images)) < p


def test_one_seed_accuracy_is_the_exact_binomial_interval_over_test_images():
    rng = np.random.default_rng(1)
    correct = right_wrong(rng, 0.7, 2000)
    est = accuracy(correct)
    ref = st.binomtest(int(correct.sum()), 2000).proportion_ci(0.95, method="exact")
    assert (est.low, est.high) == pytest.approx((ref.low, ref.high))
    assert est.value == pytest.approx(correct.mean()) and est.seeds == 1 and est.std is None
    assert est.method == "exact binomial over 2,000 test images, one seed"
    # the binomial sampling error: half-width about 1.96 * sqrt(p (1 - p) / n), 2 points here
    half = 1.96 * np.sqrt(est.value * (1 - est.value) / 2000)
    assert (est.high - est.low) / 2 == pytest.approx(half, rel=0.1)


def test_two_seeds_bootstrap_the_per_image_mean_over_test_images():
    rng = np.random.default_rng(6)
    correct = right_wrong(rng, 0.7, 1000, seeds=2)
    est = accuracy(correct)
    ref = st.bootstrap((correct.mean(axis=0),), np.mean, n_resamples=stats.RESAMPLES, method="percentile",
                       rng=np.random.default_rng(stats.BOOTSTRAP_SEED), vectorized=True, batch=stats.BATCH)
    assert (est.low, est.high) == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high))
    assert est.std == pytest.approx(correct.mean(axis=1).std(ddof=1))


def test_two_seeds_on_their_own_splits_resample_the_images_within_each_seed():
    """split.per_seed: column j is another image in each seed, so a per-image mean over
    seeds means nothing; each seed's images are resampled on their own (scipy resamples
    each sample independently) and the two seeds' accuracies averaged."""
    rng = np.random.default_rng(16)
    correct = np.stack([right_wrong(rng, p, 3000)[0] for p in (0.70, 0.74)])
    est = accuracy(correct, same_images=False)
    ref = st.bootstrap(tuple(correct.astype(float)), lambda x, y, axis=-1: (x.mean(axis) + y.mean(axis)) / 2,
                       n_resamples=stats.RESAMPLES, method="percentile", vectorized=True, batch=stats.BATCH,
                       rng=np.random.default_rng(stats.BOOTSTRAP_SEED))
    assert (est.low, est.high) == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high))
    assert est.value == pytest.approx(correct.mean()) and est.std == pytest.approx(correct.mean(1).std(ddof=1))
    assert est.method == "bootstrap over 3,000 test images within each of 2 seeds (each its own split)"
    # the sampling error of the mean of two independent accuracies
    p1, p2 = correct.mean(1)
    half = 1.96 * np.sqrt(p1 * (1 - p1) / 3000 + p2 * (1 - p2) / 3000) / 2
    assert (est.high - est.low) / 2 == pytest.approx(half, rel=0.1)
    # the images shared across seeds would be the other computation, over per-image means
    assert (accuracy(correct).low, accuracy(correct).high) != pytest.approx((est.low, est.high), abs=1e-4)


def test_two_seeds_on_their_own_splits_keep_to_the_nominal_rate(monkeypatch):
    """Identical variants, each seed tested on its own images (A and B on the same ones
    within a seed): the within-seed paired bootstrap calls a difference at most 5% of the time."""
    monkeypatch.setattr(stats, "RESAMPLES", 1999)
    rng = np.random.default_rng(17)
    wrong = 0
    for _ in range(300):
        seeds = [identical_variants(rng, 1) for _ in range(2)]  # each seed: new images, new difficulties
        a, b = (np.concatenate([pair[i] for pair in seeds]) for i in (0, 1))
        result = compare(a, b, same_images=False)
        assert result.difference.method.endswith("within each of 2 seeds (each its own split)")
        wrong += verdict(result.difference) != "inconclusive"
    assert wrong / 300 <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 300), wrong / 300


def test_many_seeds_accuracy_is_students_t_over_seeds():
    rng = np.random.default_rng(2)
    correct = np.stack([right_wrong(rng, p, 500)[0] for p in (0.70, 0.72, 0.69, 0.71, 0.73)])
    est = accuracy(correct)
    per_seed = correct.mean(axis=1)
    ci = st.ttest_1samp(per_seed, 0).confidence_interval(0.95)
    assert (est.low, est.high) == pytest.approx((ci.low, ci.high))
    assert est.std == pytest.approx(per_seed.std(ddof=1)) and est.method == "t over 5 seeds"


def test_paired_seeds_give_scipys_paired_t_and_an_exact_sign_flip_p_value():
    rng = np.random.default_rng(3)
    a = np.stack([right_wrong(rng, 0.75, 400)[0] for _ in range(5)])
    b = np.stack([right_wrong(rng, 0.70, 400)[0] for _ in range(5)])
    result = compare(a, b)
    ci = st.ttest_rel(a.mean(1), b.mean(1)).confidence_interval(0.95)
    assert (result.difference.low, result.difference.high) == pytest.approx((ci.low, ci.high))
    d = a.mean(1) - b.mean(1)
    assert result.difference.value == pytest.approx(d.mean())
    # the p-value is the paired t-test's, the test the interval belongs to
    assert result.p_value == pytest.approx(st.ttest_rel(a.mean(1), b.mean(1)).pvalue)
    assert result.test == "paired t-test"
    assert np.all(d > 0)  # all five signs agree: 2 of the 32 sign patterns are as extreme
    assert result.sign_flip_p == pytest.approx(2 / 32)
    assert result.sign_flip() == "exact sign-flip permutation p = 0.0625, the smallest 5 seeds allow"
    assert 0.5 < result.p_a_beats_b < 1


def test_with_seeds_the_p_value_and_the_interval_never_disagree():
    """p < 0.05 exactly when the 95% interval excludes zero, whatever the draw."""
    rng = np.random.default_rng(12)
    for _ in range(200):
        a, b = (np.stack([right_wrong(rng, p + rng.normal(0, 0.01), 300)[0] for _ in range(3)])
                for p in (0.72, 0.71))
        result = compare(a, b)
        assert (result.p_value < 0.05) == (verdict(result.difference) != "inconclusive")


def test_one_seed_comparison_uses_exact_mcnemar_on_the_disagreements():
    a = np.array([[1] * 15 + [0] * 5 + [1] * 50 + [0] * 30])
    b = np.array([[0] * 15 + [1] * 5 + [1] * 50 + [0] * 30])
    result = compare(a.astype(bool), b.astype(bool))
    assert result.p_value == pytest.approx(st.binomtest(15, 20, 0.5).pvalue)
    assert "15 vs 5" in result.test and result.p_a_beats_b is None
    assert result.difference.value == pytest.approx(0.10)
    share = st.binomtest(15, 20).proportion_ci(0.95, method="exact")
    assert result.difference.low == pytest.approx(20 * (2 * share.low - 1) / 100)
    assert result.difference.high == pytest.approx(20 * (2 * share.high - 1) / 100)
    # the interval and the exact test agree: p = 0.041 < 0.05 and the interval excludes 0
    assert result.p_value < 0.05 and verdict(result.difference) == "reproduced"


def test_differences_built_in_are_found_and_their_direction_judged():
    rng = np.random.default_rng(4)
    better, worse = right_wrong(rng, 0.80, 3000), right_wrong(rng, 0.70, 3000)
    assert verdict(compare(better, worse).difference) == "reproduced"
    assert verdict(compare(worse, better).difference) == "contradicted"
    assert verdict(compare(better, worse).difference, claimed_sign=-1) == "contradicted"
    same = right_wrong(rng, 0.75, 3000)
    assert verdict(compare(same, same.copy()).difference) == "inconclusive"


def identical_variants(rng, seeds, images=360, skill=7, wobble=0.01):
    """Two variants of equal skill: the same image difficulties, and each trained model off
    by a seed-to-seed wobble (about a point by default)."""
    difficulty = rng.beta(skill, 1 if skill > 10 else 3, images)

    def one():
        return np.stack([rng.random(images) < np.clip(difficulty + rng.normal(0, wobble), 0, 1)
                         for _ in range(seeds)])
    return one(), one()


@pytest.mark.parametrize("seeds, runs, skill, wobble", [
    (1, 1000, 7, 0.0), (1, 1000, 60, 0.0), (2, 300, 7, 0.0), (3, 1000, 7, 0.01), (5, 1000, 7, 0.01),
    (3, 1000, 60, 0.01)])
def test_identical_variants_get_a_verdict_at_most_at_the_nominal_rate(monkeypatch, seeds, runs, skill, wobble):
    """skill 7: about 70% right with many disagreements; 60: about 98% right, a handful.
    Fewer than three seeds cannot see seed-to-seed wobble, so there the two trained models
    are equally good (what their interval is about: the test set's sampling error)."""
    monkeypatch.setattr(stats, "RESAMPLES", 1999)  # the same intervals, computed faster
    rng = np.random.default_rng(10 + seeds + skill)
    wrong = sum(verdict(compare(*identical_variants(rng, seeds, skill=skill, wobble=wobble)).difference)
                != "inconclusive" for _ in range(runs))
    # 5% nominal, plus three binomial standard errors for the simulation's own noise
    assert wrong / runs <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / runs), wrong / runs


def test_one_seed_cannot_see_seed_to_seed_wobble():
    """Why the report asks for three seeds: a model's own seed moves it by about a point,
    which a single run's test-image interval knows nothing of."""
    rng = np.random.default_rng(8)
    wrong = sum(verdict(compare(*identical_variants(rng, 1, skill=60, wobble=0.01)).difference) != "inconclusive"
                for _ in range(300))
    assert wrong / 300 > 0.08


def test_with_few_disagreements_the_interval_agrees_with_the_exact_test_where_a_bootstrap_would_not():
    """Why one seed uses the exact interval: 4 images only A got right, none only B got
    right. McNemar's exact p is 0.125; a bootstrap over the images excludes zero anyway."""
    a = np.array([[True] * 4 + [True] * 90 + [False] * 6])
    b = np.array([[False] * 4 + [True] * 90 + [False] * 6])
    d = a[0].astype(float) - b[0]
    boot = st.bootstrap((d,), np.mean, method="percentile", rng=np.random.default_rng(0)).confidence_interval
    assert boot.low > 0  # the bootstrap would call it reproduced
    result = compare(a, b)
    assert result.p_value == pytest.approx(0.125)
    assert verdict(result.difference) == "inconclusive" and result.difference.low < 0


def test_a_percentile_bootstrap_over_three_seeds_would_not_be_calibrated():
    """Why seeds use Student's t: the bootstrap interval over 3 values misjudges ~1 in 4."""
    rng = np.random.default_rng(5)
    wrong = 0
    for _ in range(400):
        d = rng.normal(0, 0.01, 3)
        ci = st.bootstrap((d,), np.mean, method="percentile", n_resamples=999, rng=rng).confidence_interval
        wrong += ci.low > 0 or ci.high < 0
    assert wrong / 400 > 0.15


def test_seeds_to_decide_at_the_measured_spread():
    diff = Estimate(0.01, -0.015, 0.035, "paired t over 3 seeds", 3, 0.01)
    # the smallest n with t(0.975, n-1) * 0.01 / sqrt(n) < 0.01: t(5) = 2.57 > sqrt(6), t(6) = 2.45 < sqrt(7)
    assert seeds_to_decide(diff) == 7
    assert seeds_to_decide(Estimate(0.01, 0, 0.02, "bootstrap", 1, None)) is None


def test_mismatched_runs_are_an_error_not_a_guess():
    with pytest.raises(ValueError, match="same seeds and test images"):
        compare(np.ones((3, 10), bool), np.ones((2, 10), bool))
