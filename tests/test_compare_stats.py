"""The statistics of comparisons against scipy's own answers, against known answers, and
against the nominal 5% error rate on simulated variants."""

import math

import numpy as np
import pytest
from scipy import stats as st

from cnnlab.compare import stats
from cnnlab.compare.stats import (
    Estimate,
    accuracy,
    chance_level,
    compare,
    fewest_seeds,
    fresh_seed_win,
    holm,
    image_sampling_variance,
    outlying_seeds,
    over_seeds,
    power,
    seeds_to_settle,
)
from tests.simulated import simulated_pairs


def right_wrong(rng, p, images, seeds=1):
    return rng.random((seeds, images)) < p


def verdict(result) -> str:
    """What the report says of 'A beats B' as a family of one (tests/test_claims.py checks it does)."""
    if not result.difference.judged:
        return "too few seeds"
    if result.p_value >= stats.LEVEL:
        return "inconclusive"
    return "reproduced" if result.difference.value > 0 else "contradicted"


def bound(rate: float, runs: int) -> float:
    """The rate plus three binomial standard errors of a simulation of `runs` draws."""
    return rate + 3 * math.sqrt(rate * (1 - rate) / runs)


# --- one seed: the test set's sampling error, exact, and no verdict -------------------------------

def test_one_seed_accuracy_is_the_exact_binomial_interval_over_test_images():
    rng = np.random.default_rng(1)
    correct = right_wrong(rng, 0.7, 2000)
    est = accuracy(correct)
    ref = st.binomtest(int(correct.sum()), 2000).proportion_ci(0.95, method="exact")
    assert (est.low, est.high) == pytest.approx((ref.low, ref.high))
    assert est.value == pytest.approx(correct.mean()) and est.seeds == 1 and est.std is None
    assert est.method == "exact binomial over 2,000 test images, one seed: the test set's sampling error alone"
    assert not est.judged
    with pytest.raises(ValueError, match="one seed"):
        est.p_value()
    # the binomial sampling error: half-width about 1.96 * sqrt(p (1 - p) / n), 2 points here
    half = 1.96 * np.sqrt(est.value * (1 - est.value) / 2000)
    assert (est.high - est.low) / 2 == pytest.approx(half, rel=0.1)


def test_one_seed_comparison_shows_exact_mcnemar_on_the_disagreements_and_no_verdict():
    a = np.array([[1] * 15 + [0] * 5 + [1] * 50 + [0] * 30])
    b = np.array([[0] * 15 + [1] * 5 + [1] * 50 + [0] * 30])
    result = compare(a.astype(bool), b.astype(bool))
    assert result.p_value == pytest.approx(st.binomtest(15, 20, 0.5).pvalue)
    assert result.test == "exact McNemar (15 vs 5 images only one got right)" and result.p_a_beats_b is None
    assert result.difference.value == pytest.approx(0.10)
    share = st.binomtest(15, 20).proportion_ci(0.95, method="exact")
    assert result.difference.low == pytest.approx(20 * (2 * share.low - 1) / 100)
    assert result.difference.high == pytest.approx(20 * (2 * share.high - 1) / 100)
    # the interval and the exact test agree (p = 0.041 < 0.05, 0 outside), yet one seed cannot judge the variants
    assert result.p_value < 0.05 and result.difference.low > 0
    assert verdict(result) == "too few seeds"


def test_with_few_disagreements_the_one_seed_interval_agrees_with_the_exact_test():
    """4 images only A got right, none only B: McNemar's exact p is 0.125, and the exact
    interval spans zero with it, where a bootstrap over the images would exclude zero."""
    a = np.array([[True] * 4 + [True] * 90 + [False] * 6])
    b = np.array([[False] * 4 + [True] * 90 + [False] * 6])
    d = a[0].astype(float) - b[0]
    boot = st.bootstrap((d,), np.mean, method="percentile", rng=np.random.default_rng(0)).confidence_interval
    assert boot.low > 0
    result = compare(a, b)
    assert result.p_value == pytest.approx(0.125) and result.difference.low < 0 < result.difference.high


# --- two or more seeds on the same images: seeds and the test set -------------------------------

def anova_by_least_squares(x: np.ndarray) -> tuple[float, float, float]:
    """MS_seeds, MS_images, MS_residual of a two-way layout, from least-squares fits of nested
    models (an independent route to the same mean squares)."""
    n, images = x.shape
    y = x.ravel()
    seed_of, image_of = np.repeat(np.arange(n), images), np.tile(np.arange(images), n)

    def rss(*factors):
        columns = [np.ones_like(y)] + [np.eye(k)[f][:, 1:] for f, k in factors]
        design = np.column_stack(columns)
        fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
        return float(np.sum((y - fitted) ** 2))

    full = rss((seed_of, n), (image_of, images))
    return ((rss((image_of, images)) - full) / (n - 1), (rss((seed_of, n)) - full) / (images - 1),
            full / ((n - 1) * (images - 1)))


def test_the_test_set_term_is_the_crossed_designs_variance_component():
    rng = np.random.default_rng(30)
    x = (rng.random((4, 25)) < rng.uniform(0.2, 0.9, 25)).astype(float) - (rng.random((4, 25)) < 0.5)
    ms_seeds, ms_images, ms_residual = anova_by_least_squares(x)
    assert image_sampling_variance(x) == pytest.approx((ms_images - ms_residual) / x.size)
    est = stats.seeds_and_test_set(x, "paired t")
    # Var(grand mean) = (MS_seeds + MS_images - MS_residual) / (n N), its seed part the paired t's
    assert est.se ** 2 == pytest.approx((ms_seeds + ms_images - ms_residual) / x.size)
    assert est.std ** 2 / 4 == pytest.approx(ms_seeds / x.size)
    half = st.t.ppf(0.975, 3) * est.se
    assert (est.low, est.high) == pytest.approx((x.mean() - half, x.mean() + half))
    # images that do not differ beyond the seeds' coin flips add nothing (never a negative variance)
    flat = np.tile(rng.random((4, 1)) < 0.5, (1, 25)).astype(float)
    assert image_sampling_variance(flat) == 0.0


def test_the_variance_estimate_matches_the_spread_of_simulated_means():
    """Over simulated test sets, seeds and coin flips, the mean estimated variance of the mean
    difference is the variance the means really have (within 15%), while the spread over seeds
    alone misses the test set's share."""
    rng = np.random.default_rng(31)
    means, estimated, seed_part = [], [], []
    for a, b in simulated_pairs(rng, 300, 3, 0.005, images=2000):
        d = compare(a, b).difference
        means.append(d.value)
        estimated.append(d.se ** 2)
        seed_part.append(d.std ** 2 / 3)
    truth = np.var(means, ddof=1)
    assert np.mean(estimated) == pytest.approx(truth, rel=0.15)
    assert np.mean(seed_part) < 0.8 * truth


def test_p_and_interval_come_from_one_test_whatever_the_null():
    rng = np.random.default_rng(12)
    for seeds in (2, 3, 5):
        for a, b in simulated_pairs(rng, 40, seeds, 0.005, gap=0.004, images=1500):
            d = compare(a, b).difference
            for null in (0.0, d.low - 1e-4, d.low + 1e-4, d.high - 1e-4, d.high + 1e-4, 0.01):
                assert (d.p_value(null) < 0.05) == (not d.low <= null <= d.high), (seeds, null)


def test_swapping_the_seeds_changes_nothing():
    rng = np.random.default_rng(13)
    for seeds in (2, 3):
        a, b = next(simulated_pairs(rng, 1, seeds, 0.01, gap=0.01, images=3000))
        one, other = compare(a, b), compare(a[::-1], b[::-1])
        assert one.p_value == pytest.approx(other.p_value, rel=1e-12)
        assert (one.difference.low, one.difference.high) == pytest.approx((other.difference.low,
                                                                           other.difference.high), rel=1e-12)
        assert one.p_a_beats_b == pytest.approx(other.p_a_beats_b, rel=1e-12)


def test_seeds_on_their_own_splits_are_students_t_over_seeds():
    """split.per_seed: each seed's test images are their own sample, so the spread of the
    per-seed values holds the test set's error already."""
    rng = np.random.default_rng(16)
    a = np.stack([right_wrong(rng, p, 3000)[0] for p in (0.70, 0.74, 0.72)])
    b = np.stack([right_wrong(rng, p, 3000)[0] for p in (0.69, 0.71, 0.70)])
    result = compare(a, b, same_images=False)
    ci = st.ttest_rel(a.mean(1), b.mean(1)).confidence_interval(0.95)
    assert (result.difference.low, result.difference.high) == pytest.approx((ci.low, ci.high))
    assert result.p_value == pytest.approx(st.ttest_rel(a.mean(1), b.mean(1)).pvalue)
    assert result.difference.method.startswith("paired t over 3 seeds, each tested on its own 3,000 images")
    own = accuracy(a, same_images=False)
    assert (own.low, own.high) == pytest.approx(tuple(st.ttest_1samp(a.mean(1), 0).confidence_interval(0.95)))


def test_seeds_on_their_own_splits_keep_to_the_nominal_rate():
    rng = np.random.default_rng(17)
    runs, wrong = 300, 0
    for _ in range(runs):  # each seed: new images, new per-image deviations
        pairs = [next(simulated_pairs(rng, 1, 1, 0.005, images=1000)) for _ in range(3)]
        a, b = (np.concatenate([pair[i] for pair in pairs]) for i in (0, 1))
        wrong += verdict(compare(a, b, same_images=False)) != "inconclusive"
    assert wrong / runs <= bound(0.05, runs), wrong / runs


# --- the error rate the verdicts promise, and their power ---------------------------------------

RUNS = 300


@pytest.mark.parametrize("seeds", [1, 2, 3, 5, 10])
def test_identical_variants_get_a_verdict_at_most_at_the_nominal_rate(seeds):
    """Equal skill on the population of images, 10,000 test images, each variant its own
    per-image strengths, each trained model moving by 0, 0.5 or 1 point from seed to seed:
    a verdict either way is wrong, and comes at most 5% of the time (plus three simulation
    standard errors, 3.8 points at 300 runs). Measured here (wobble 0, 0.5, 1): 0, 0, 0% at 2
    seeds; 0, 0.3, 2.3% at 3; 1.7, 0.7, 3.3% at 5; 2.3, 2.7, 4.7% at 10. A t over seeds alone,
    blind to the shared test set, gave 10% at 5 seeds and 19% at 10."""
    runs = 20 if seeds == 1 else RUNS  # one seed never judges: a few runs show it
    for wobble in (0.0, 0.005, 0.01):
        rng = np.random.default_rng(100 * seeds + int(1000 * wobble))
        verdicts = [verdict(compare(a, b)) for a, b in simulated_pairs(rng, runs, seeds, wobble)]
        if seeds == 1:
            assert set(verdicts) == {"too few seeds"}
        wrong = sum(v in ("reproduced", "contradicted") for v in verdicts) / runs
        assert wrong <= bound(0.05, runs), (seeds, wobble, wrong)


@pytest.mark.parametrize("seeds, at_least", [(5, 0.5), (10, 0.8)])
def test_a_real_one_point_gain_is_found_with_enough_seeds(seeds, at_least):
    """A beats B by 1 point, each variant's per-seed test accuracy spread by 0.5 (as the
    CIFAR-10 ladder's, 0.5 to 0.8), moderate per-image differences: reproduced in most runs
    (measured: 63% at 5 seeds, 96% at 10; with the stronger per-image differences of the test
    above, 53% and 83%). A rule that always says "inconclusive" fails here."""
    rng = np.random.default_rng(200 + seeds)
    verdicts = [verdict(compare(a, b)) for a, b in simulated_pairs(rng, RUNS, seeds, 0.005, gap=0.01,
                                                                   interaction=0.5, total_sd=True)]
    assert verdicts.count("reproduced") / RUNS > at_least, verdicts.count("reproduced") / RUNS
    assert "contradicted" not in verdicts


# --- known answers ------------------------------------------------------------------------------

# The README's CIFAR-10 test accuracies of seeds 42, 43 and 44 (percent).
DROPOUT_LAST = np.array([79.6, 79.9, 78.9])
DROPOUT_ALL = np.array([77.6, 77.0, 78.2])


def test_the_cifar10_seeds_give_the_known_paired_t_before_the_test_set_term():
    d = over_seeds(DROPOUT_ALL - DROPOUT_LAST, "paired t over 3 seeds")
    assert d.value == pytest.approx(-1.8667, abs=1e-4)
    assert (round(d.low, 2), round(d.high, 2)) == (-4.61, 0.88)
    assert d.std == pytest.approx(1.1060, abs=1e-4)


def test_the_chance_of_winning_on_a_new_seed_is_the_t_predictive():
    """0.141 for dropout_all against dropout_last; the posterior of the mean (0.05), a normal
    predictive (0.07) or t with n rather than n - 1 df (0.12) would each give another number."""
    d = DROPOUT_ALL - DROPOUT_LAST
    assert fresh_seed_win(d) == pytest.approx(0.1409, abs=5e-4)
    assert round(fresh_seed_win(d), 2) == 0.14


def test_the_predictive_is_calibrated_for_a_seed_not_yet_run():
    """Over simulated seeds, the predictive probability that a new seed's difference exceeds
    what it then turns out to be is uniform (probability integral transform): 95% of new seeds
    fall inside its central 95%, half inside its central half, at 3 and at 5 seeds."""
    rng = np.random.default_rng(40)
    for n in (3, 5):
        draws = rng.normal(0.3, 1.0, (6000, n + 1))
        pit = np.array([1 - fresh_seed_win(row[:n], row[n]) for row in draws])
        inside95, inside50 = np.mean((pit > 0.025) & (pit < 0.975)), np.mean((pit > 0.25) & (pit < 0.75))
        tolerance = 3 * math.sqrt(0.05 * 0.95 / 6000)
        assert abs(inside95 - 0.95) < tolerance and abs(inside50 - 0.5) < 3 * math.sqrt(0.25 / 6000), (n, inside95)


def test_holm_against_worked_examples():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5]) == [0.5] and holm([]) == []
    assert holm([0.3, 0.4, 0.9]) == pytest.approx([0.9, 0.9, 0.9])  # capped at 1, never below a smaller one's
    # the README's four ladder p: the second 'reproduced' (0.019) becomes inconclusive at 4 x ... 3 x 0.019
    assert holm([0.003, 0.019, 0.10, 0.67]) == pytest.approx([0.012, 0.057, 0.2, 0.67])


def test_holm_keeps_the_family_wise_error_at_five_percent():
    """Eight true nulls with correlated p (as tests on the same seeds are): any rejection in at
    most 5% of families, where testing each at 5% rejects something in far more."""
    rng = np.random.default_rng(41)
    shared = rng.normal(size=(4000, 1))
    z = 0.5 * shared + math.sqrt(0.75) * rng.normal(size=(4000, 8))
    p = 2 * st.norm.sf(np.abs(z))
    any_holm = np.mean([min(holm(list(row))) < 0.05 for row in p])
    assert any_holm <= bound(0.05, 4000) and np.mean(p.min(axis=1) < 0.05) > 0.2


def test_a_claim_asking_two_questions_of_one_number_counts_once():
    """"Is the gain zero?" and "is it +3?" cannot both be true: the claim counts once while
    either is left (Shaffer's refinement), where plain Holm counts both."""
    # sorted 0.01 (claim 0), 0.02 (claim 1), 0.03 (claim 0), 0.5 (claim 1); claims left 2, 2, 2, 1
    assert holm([0.01, 0.03, 0.02, 0.5], [0, 0, 1, 1]) == pytest.approx([0.02, 0.06, 0.04, 0.5])
    assert holm([0.01, 0.03, 0.02, 0.5]) == pytest.approx([0.04, 0.06, 0.06, 0.5])


def test_counting_each_claim_once_keeps_the_family_wise_error_at_five_percent():
    """Four claims, each asking of one estimate (in standard errors) whether it is 0 and
    whether it is 2.5; the truth is one of the two, or the claim's midpoint (neither): a
    wrong rejection anywhere in the family in at most 5% of families."""
    rng = np.random.default_rng(43)
    truth = rng.choice([0.0, 2.5, 1.25], size=(4000, 4))
    estimate = truth + rng.normal(size=truth.shape)
    wrong = 0
    for t, e in zip(truth, estimate, strict=True):
        p = [v for x in e for v in (2 * st.norm.sf(abs(x)), 2 * st.norm.sf(abs(x - 2.5)))]
        adjusted = holm(p, [0, 0, 1, 1, 2, 2, 3, 3])
        nulls = [v for x in t for v in (x == 0.0, x == 2.5)]
        wrong += any(a < 0.05 and null for a, null in zip(adjusted, nulls, strict=True))
    assert wrong / 4000 <= bound(0.05, 4000), wrong / 4000


def test_seeds_to_settle_at_eighty_percent_power_with_the_sds_uncertainty():
    """The augmentation claim on the README's numbers: -0.93 points with an SD over seeds of
    3.35: 104 seeds at 80% power, from 30 (SD at its 95% interval's low end) to about 4,000
    (its high end)."""
    d = over_seeds(np.array([78.7, 77.9, 73.4]) - np.array([77.6, 77.0, 78.2]), "paired t over 3 seeds")
    settle = seeds_to_settle(d)
    assert (settle.seeds, settle.fewest) == (104, 30) and 3900 <= settle.most <= 4100
    # the power at that count, checked against a simulation of the t-test it stands for
    rng = np.random.default_rng(42)
    n = settle.seeds
    draws = rng.normal(d.value, d.std, (4000, n))
    found = np.mean(st.ttest_1samp(draws, 0.0, axis=1).pvalue < 0.05)
    assert found == pytest.approx(power(d.value, d.std, 0.0, n), abs=0.02) and found >= 0.78
    assert power(d.value, d.std, 0.0, n - 1) < 0.8 <= power(d.value, d.std, 0.0, n)


def test_no_number_of_seeds_beats_the_test_sets_own_error():
    # a difference of 0.1 point against a test-set SD of 0.3 point: seeds cannot shrink the latter
    assert fewest_seeds(0.001, 0.005, 0.003 ** 2) is None
    assert fewest_seeds(0.02, 0.005, 0.003 ** 2) == 4  # 2 points: a few seeds do
    one = Estimate(0.01, 0.0, 0.02, "exact", 1)
    assert seeds_to_settle(one) is None  # one seed: no spread to plan on


def test_chance_is_guessing_or_the_largest_class():
    assert chance_level(["a", "b", "c", "d"] * 5, 4) == 0.25
    assert chance_level(["a"] * 7 + ["b"] * 3, 2) == 0.7
    assert chance_level(["a"] * 5, 10) == 1.0  # one class present: always right by saying it


def test_an_outlying_seed_is_flagged_and_agreeing_seeds_are_not():
    # augmented on CIFAR-10: 73.4 against 78.7 and 77.9 (MAD 0.8; 4.5 away)
    assert outlying_seeds([78.7, 77.9, 73.4], 0.41) == [False, False, True]
    assert outlying_seeds([79.6, 79.9, 78.9], 0.4) == [False, False, False]
    # within the test set's sampling error nothing is far, however small the MAD
    assert outlying_seeds([80.0, 80.0, 80.5], 0.4) == [False, False, False]
    assert outlying_seeds([80.0, 70.0], 0.4) == [False, False]  # two seeds: no median to stand out from


def test_mismatched_runs_are_an_error_not_a_guess():
    with pytest.raises(ValueError, match="same seeds and test images"):
        compare(np.ones((3, 10), bool), np.ones((2, 10), bool))
