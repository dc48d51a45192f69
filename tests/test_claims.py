"""The original claims: the file is checked like params, and each gets the verdict its numbers give."""

import re

import numpy as np
import pytest
import yaml

from cnnlab.compare.claims import Claim, Judgement, Scores, dataset_name, judge_all, load_claims, original_numbers
from cnnlab.compare.stats import holm
from cnnlab.errors import UserError
from tests.conftest import ROOT


def test_the_claims_file_names_only_variants_and_datasets_that_exist(repo_params):
    from typing import get_args, get_type_hints

    from cnnlab.params import DataParams

    claims = load_claims(ROOT / "claims.yaml")
    assert len(claims) == 11
    datasets = set(get_args(get_type_hints(DataParams)["dataset"]))
    for c in claims:
        assert set(c.variants) <= set(repo_params.variants), c.id
        assert c.dataset in datasets, c.id
    ladder = [c for c in claims if c.id.startswith(("small_filters", "dropout", "augmented"))]
    assert [(c.better, c.worse) for c in ladder] == [("small_filters", "baseline"), ("dropout_last", "small_filters"),
                                                     ("dropout_all", "dropout_last"), ("augmented", "dropout_all")]


@pytest.mark.parametrize("entry, words", [
    ({"id": "x", "claim": "c", "dataset": "cifar10", "original_measure": "m", "bettr": "a", "worse": "b"},
     "claims.yaml: claims[0].bettr is not a known key; did you mean 'better'?"),
    ({"id": "x", "claim": "c", "dataset": "cifar10", "original_measure": "m", "better": "a"},
     "claims[0] (x) must name better and worse"),
    ({"id": "x", "claim": "c", "dataset": "cifar10", "original_measure": "m", "variant": "a", "at_least": "high"},
     "claims[0].at_least must be a number"),
    ({"id": "x", "claim": "c", "dataset": "cifar10", "original_measure": "m", "better": "a", "worse": "b",
      "by": 3, "within": 0.5}, "claims[0] (x) has `by` (a size) or `within` (a tie's margin)"),
    ({"id": "x", "claim": "c", "dataset": "cifar10", "original_measure": "m", "variant": "a", "at_least": 90,
      "by": 3}, "go with better and worse"),
    ({"id": "x", "claim": "c", "dataset": "cifar10", "original_measure": "m", "better": "a", "worse": "b",
      "within": -1}, "claims[0].within must be >= 0"),
])
def test_a_broken_claims_file_names_the_entry_and_the_fix(tmp_path, entry, words):
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump({"claims": [entry]}))
    with pytest.raises(UserError) as err:
        load_claims(path)
    assert words in str(err.value) and "\n" not in str(err.value)


def scores(correct: dict[str, np.ndarray], seconds: dict[str, list[float]] | None = None,
           dataset: str = "cifar10") -> Scores:
    seconds = seconds or {}
    return Scores(lambda v: correct[v], lambda v: np.array(seconds[v]), list(correct), dataset)


def pair(better="a", worse="b", dataset="cifar10", **size) -> Claim:
    return Claim("id", "a beats b", dataset, "validation accuracy", {better: 80, worse: 70}, better=better,
                 worse=worse, **size)


def one(claim: Claim, data: Scores) -> Judgement:
    """The judgement of a claim judged alone (a family of one)."""
    (j,) = judge_all([claim], data)
    return j


def seeds_of(rng, accuracies, images=4000):
    """seeds x images of right/wrong, each seed right on exactly its accuracy's share of the
    images, the easiest first in one fixed order of difficulty shared by every model (so that
    models agree on most images, as CNNs do)."""
    order = np.random.default_rng(99).permutation(images)
    rows = np.zeros((len(accuracies), images), dtype=bool)
    for row, acc in zip(rows, accuracies, strict=True):
        row[order[:round(acc * images)]] = True
    return rows


def test_a_clear_difference_in_the_claimed_direction_is_reproduced_and_the_other_way_contradicted():
    rng = np.random.default_rng(0)
    strong, weak = seeds_of(rng, [0.80, 0.81, 0.79]), seeds_of(rng, [0.70, 0.72, 0.71])
    j = one(pair(), scores({"a": strong, "b": weak}))
    assert j.verdict == "reproduced" and j.note == "" and j.numbers.startswith("a 80.0 [")
    assert "difference +9.0 [" in j.numbers and "P(a beats b on a new seed): 0.99" in j.numbers
    assert j.p_values().startswith(f"{j.questions[0].p:.3g} (Holm {j.questions[0].p:.3g})")  # a family of one
    assert one(pair(), scores({"a": weak, "b": strong})).verdict == "contradicted"


def test_the_verdict_of_a_lone_claim_is_its_p_below_five_percent_on_the_claimed_side():
    """What the simulations of tests/test_compare_stats.py count as a verdict is what the
    report gives, claim by claim."""
    from cnnlab.compare.stats import compare
    from tests.simulated import simulated_pairs

    rng = np.random.default_rng(5)
    for seeds in (2, 3, 5):
        for a, b in simulated_pairs(rng, 15, seeds, 0.005, gap=0.006, images=3000):
            p = compare(a, b).p_value
            j = one(pair(), scores({"a": a, "b": b}))
            expected = "inconclusive" if p >= 0.05 else "reproduced" if a.mean() > b.mean() else "contradicted"
            assert j.verdict == expected and j.questions[0].adjusted == pytest.approx(p)


def test_one_seed_gives_no_verdict_but_says_which_way_it_leans():
    rng = np.random.default_rng(1)
    strong, weak = rng.random((1, 2000)) < 0.8, rng.random((1, 2000)) < 0.7
    j = one(pair(), scores({"a": strong, "b": weak}, dataset="digits"))
    assert j.verdict == "too few seeds" and j.questions == ()
    assert j.note == ("judged on digits, not cifar10; this seed leans towards the claim; too few seeds to judge "
                      "(one seed; 2 or more needed: add seeds to `seeds` in params.yaml, 3 or more to see the spread)")
    # the test images' own interval, labelled as such, and the exact McNemar p that goes with it
    assert "exact McNemar interval over 2,000 test images, one seed: the test set's sampling error alone; " \
           "exact McNemar (" in j.numbers
    assert "leans against the claim" in one(pair(), scores({"a": weak, "b": strong})).note


def test_an_inconclusive_claim_leans_and_says_how_many_seeds_would_settle_it():
    rng = np.random.default_rng(2)
    a = seeds_of(rng, [0.755, 0.745, 0.765])
    b = seeds_of(rng, [0.735, 0.752, 0.745])
    j = one(pair(), scores({"a": a, "b": b}))
    assert j.verdict == "inconclusive" and "P(a beats b on a new seed)" in j.numbers
    assert j.note.startswith("leans towards the claim; about ")
    assert re.search(r"about \d+ seeds in all would settle it \(80% power\) at the spread measured; \d+ to "
                     r"[\d,]+ over that spread's 95% interval$", j.note), j.note


def test_a_claimed_size_is_judged_apart_from_the_direction():
    """"Adds 3 points": a gain of about +1 reproduces the direction yet is credibly below +3; a
    gain of about +3 is consistent with it; about +6 is credibly above."""
    rng = np.random.default_rng(3)
    base = seeds_of(rng, [0.700, 0.705, 0.695], images=10_000)
    for gain, size in ((0.01, "credibly below +3"), (0.03, "consistent with +3"), (0.06, "credibly above +3")):
        better = seeds_of(rng, [0.700 + gain, 0.705 + gain + 0.001, 0.695 + gain - 0.001], images=10_000)
        j = one(pair(by=3), scores({"a": better, "b": base}))
        assert (j.verdict, j.size) == ("reproduced", size), (gain, j.size, j.p_values())
        assert [q.what for q in j.questions] == ["direction", "size"] and "; size: " in j.p_values()
    assert "a by +3 points" in original_numbers(pair(by=3))


def test_a_tie_is_reproduced_when_the_whole_interval_clears_the_margin():
    """"At least as good as, within 0.25 points": two equal variants reproduce it, where the same
    numbers judged as "better" could never be; a clear shortfall contradicts it."""
    rng = np.random.default_rng(4)
    b = seeds_of(rng, [0.980, 0.981, 0.979, 0.980, 0.981], images=10_000)
    tied = seeds_of(rng, [0.980, 0.980, 0.981, 0.979, 0.981], images=10_000)
    tie = pair(within=0.25)
    j = one(tie, scores({"a": tied, "b": b}))
    assert j.verdict == "reproduced" and j.estimate.low > -0.0025 and j.questions[0].what == "margin"
    assert one(pair(), scores({"a": tied, "b": b})).verdict == "inconclusive"
    worse = seeds_of(rng, [0.970, 0.971, 0.969, 0.970, 0.972], images=10_000)
    assert one(tie, scores({"a": worse, "b": b})).verdict == "contradicted"


def test_the_claims_of_a_run_are_one_holm_family():
    """A claim that passes alone (p = 0.036) fails beside three claims that do not."""
    rng = np.random.default_rng(6)
    strong = seeds_of(rng, [0.760, 0.752, 0.771])
    weak = seeds_of(rng, [0.742, 0.741, 0.750])
    alone = one(pair(), scores({"a": strong, "b": weak}))
    assert alone.verdict == "reproduced" and 0.01 < alone.questions[0].p < 0.05
    others = [pair(better=f"x{i}", worse=f"y{i}") for i in range(3)]
    same = {f"{k}{i}": seeds_of(rng, [0.75, 0.751, 0.749]) for i in range(3) for k in "xy"}
    family = judge_all([pair()] + others, scores({"a": strong, "b": weak, **same}))
    assert family[0].verdict == "inconclusive"
    raw = [j.questions[0].p for j in family]
    assert [j.questions[0].adjusted for j in family] == pytest.approx(holm(raw))
    assert "the 0.013 level Holm asks of the first of 4 claims" in family[0].note


def test_the_cifar10_ladder_gets_a_direction_and_a_size_verdict_on_every_rung():
    """The README's three seeds, as per-image predictions made to match them: each ladder claim
    gets a direction verdict and a size verdict against the original's +4, +1, +2, +3, both
    Holm-adjusted in one family, and an inconclusive one says how many seeds would settle it."""
    from tests.simulated import README_ACCURACIES, ladder_predictions

    predictions = ladder_predictions()
    for name, accuracies in README_ACCURACIES.items():
        assert list(predictions[name].mean(axis=1) * 100) == pytest.approx(accuracies)
    claims = load_claims(ROOT / "claims.yaml")
    judged = judge_all(claims, Scores(predictions.__getitem__, lambda v: np.zeros(3), list(predictions), "cifar10"))
    ladder = judged[:4]
    assert [j.claim.by for j in ladder] == [4, 1, 2, 3]
    for j in ladder:
        assert [q.what for q in j.questions] == ["direction", "size"]
        assert j.verdict in ("reproduced", "contradicted", "inconclusive")
        assert re.fullmatch(r"(credibly below|consistent with|credibly above) \+[1-4]", j.size)
        assert all(q.adjusted >= q.p for q in j.questions)
        if j.verdict == "inconclusive":
            assert "would settle it (80% power at the 0.013 level Holm asks of the first of 4 claims)" in j.note
    # the paired means are the README's (small_filters - baseline: +2.3, ...)
    assert [round(100 * j.estimate.value, 2) for j in ladder] == [2.27, 4.5, -1.87, -0.93]
    # the README's per-seed differences of dropout_all and dropout_last: P(beats on a new seed): 0.14
    assert "P(dropout_all beats dropout_last on a new seed): 0.14" in ladder[2].numbers
    # Holm over the eight questions, counting each claim once
    raw = [q.p for j in ladder for q in j.questions]
    adjusted = holm(raw, [0, 0, 1, 1, 2, 2, 3, 3])
    assert [q.adjusted for j in ladder for q in j.questions] == pytest.approx(adjusted)
    assert [j.verdict for j in judged[4:]] == ["not run"] * 7


def test_missing_variants_are_not_run():
    j = one(pair(worse="c"), scores({"a": np.ones((1, 5), bool), "b": np.ones((1, 5), bool)}))
    assert j.verdict == "not run" and j.note == "c not in this run (add to active)"


def test_a_bar_is_reached_missed_or_too_close_to_call():
    bar = Claim("r", "reaches 91%", "cifar10", "test accuracy", {"r": 91}, variant="r", at_least=91)
    rng = np.random.default_rng(3)
    assert one(bar, scores({"r": seeds_of(rng, [0.93, 0.932, 0.929], 10_000)})).verdict == "reproduced"
    assert one(bar, scores({"r": seeds_of(rng, [0.89, 0.893, 0.888], 10_000)})).verdict == "contradicted"
    assert one(bar, scores({"r": seeds_of(rng, [0.91, 0.912, 0.907], 10_000)})).verdict == "inconclusive"
    lone = one(bar, scores({"r": seeds_of(rng, [0.93], 10_000)}))
    assert lone.verdict == "too few seeds" and "this seed leans towards the claim" in lone.note


def test_training_time_needs_two_seeds_for_a_verdict():
    claim = Claim("t", "f trains faster", "cifar10", "training time", faster="f", slower="s")
    ones = np.ones((1, 5), bool)
    j = one(claim, scores({"f": ones, "s": ones}, {"f": [10.0], "s": [30.0]}))
    assert j.verdict == "too few seeds" and "one timing each" in j.note and "f 10.0 s vs s 30.0 s" in j.numbers
    three = np.ones((3, 5), bool)
    j = one(claim, scores({"f": three, "s": three}, {"f": [10.0, 11.0, 10.5], "s": [30.0, 29.0, 31.5]}))
    assert j.verdict == "reproduced" and "s saved" in j.numbers


def test_a_folder_of_cifar10_is_recognised_by_its_classes():
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    assert dataset_name("folder", classes) == "cifar10"
    assert dataset_name("folder", ["a", "b"]) == "folder" and dataset_name("digits", classes) == "digits"


def test_every_family_names_variants_of_params_and_every_claim_answers_one(repo_params):
    from cnnlab.compare.claims import load_claims_file

    loaded = load_claims_file(ROOT / "claims.yaml")
    families = {f.id: f for f in loaded.families}
    assert {"ladder", "optimizers", "resnet", "mlps", "transfer", "cam"} <= set(families)
    for f in loaded.families:
        assert f.question.endswith("?") and set(f.variants) <= set(repo_params.variants), f.id
    for c in loaded.claims:
        assert c.family in families and set(c.variants) <= set(families[c.family].variants), c.id
    assert set(repo_params.active) <= set(families["ladder"].variants)  # the default run has its section


def test_a_claim_naming_an_unknown_family_or_variants_outside_it_is_one_clear_error(tmp_path):
    import yaml

    from cnnlab.compare.claims import load_claims_file

    raw = yaml.safe_load((ROOT / "claims.yaml").read_text())
    raw["claims"][0]["family"] = "ladders"
    bad = tmp_path / "claims.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(UserError, match=r"claims\[0\] \(small_filters_beat_baseline\) names family 'ladders', "
                                        r"which is not under families \(known: ladder, optimizers"):
        load_claims_file(bad)
    raw["claims"][0]["family"] = "mlps"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(UserError, match="compares variants outside its family 'mlps'"):
        load_claims_file(bad)
