"""The original claims: the file is checked like params, and each gets the verdict its numbers give."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from cnnlab.compare.claims import Claim, Scores, dataset_name, judge, load_claims
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


def pair(better="a", worse="b", dataset="cifar10") -> Claim:
    return Claim("id", "a beats b", dataset, "validation accuracy", {better: 80, worse: 70}, better=better,
                 worse=worse)


def test_a_clear_difference_in_the_claimed_direction_is_reproduced_and_the_other_way_contradicted():
    rng = np.random.default_rng(0)
    strong, weak = rng.random((1, 2000)) < 0.8, rng.random((1, 2000)) < 0.7
    j = judge(pair(), scores({"a": strong, "b": weak}))
    assert j.verdict == "reproduced" and j.note == "" and j.numbers.startswith("a 79.4 [77.6, 81.2] vs b 70.7")
    assert "exact McNemar" in j.numbers
    assert judge(pair(), scores({"a": weak, "b": strong})).verdict == "contradicted"


def test_a_close_call_on_one_seed_is_inconclusive_and_says_what_would_settle_it():
    rng = np.random.default_rng(1)
    a, b = rng.random((1, 300)) < 0.75, rng.random((1, 300)) < 0.75
    j = judge(pair(), scores({"a": a, "b": b}, dataset="digits"))
    assert j.verdict == "inconclusive"
    assert j.note.startswith("judged on digits, not cifar10; one seed: the interval is the test set's sampling "
                             "error alone; run 3 or more seeds")


def test_with_seeds_an_inconclusive_claim_says_how_many_seeds_would_settle_it():
    rng = np.random.default_rng(2)
    a = np.stack([rng.random(2000) < 0.75 + w for w in (0.01, -0.01, 0.02)])
    b = np.stack([rng.random(2000) < 0.74 + w for w in (-0.01, 0.01, 0.0)])
    j = judge(pair(), scores({"a": a, "b": b}))
    assert j.verdict == "inconclusive" and "seeds in all would settle it" in j.note
    assert "P(a wins on a new seed)" in j.numbers and "paired t over 3 seeds" in j.numbers


def test_missing_variants_are_not_run():
    j = judge(pair(worse="c"), scores({"a": np.ones((1, 5), bool), "b": np.ones((1, 5), bool)}))
    assert j.verdict == "not run" and j.note == "c not in this run (add to active)"


def test_a_bar_is_reached_missed_or_too_close_to_call():
    bar = Claim("r", "reaches 91%", "cifar10", "test accuracy", {"r": 91}, variant="r", at_least=91)
    rng = np.random.default_rng(3)
    assert judge(bar, scores({"r": rng.random((1, 10000)) < 0.93})).verdict == "reproduced"
    assert judge(bar, scores({"r": rng.random((1, 10000)) < 0.89})).verdict == "contradicted"
    assert judge(bar, scores({"r": rng.random((1, 10000)) < 0.91})).verdict == "inconclusive"


def test_training_time_needs_three_seeds_for_a_verdict():
    claim = Claim("t", "f trains faster", "cifar10", "training time", faster="f", slower="s")
    ones = np.ones((1, 5), bool)
    j = judge(claim, scores({"f": ones, "s": ones}, {"f": [10.0], "s": [30.0]}))
    assert j.verdict == "inconclusive" and "run 3 or more seeds" in j.note and "f 10.0 s vs s 30.0 s" in j.numbers
    three = np.ones((3, 5), bool)
    j = judge(claim, scores({"f": three, "s": three}, {"f": [10.0, 11.0, 10.5], "s": [30.0, 29.0, 31.5]}))
    assert j.verdict == "reproduced" and "s saved" in j.numbers


def test_a_folder_of_cifar10_is_recognised_by_its_classes():
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    assert dataset_name("folder", classes) == "cifar10"
    assert dataset_name("folder", ["a", "b"]) == "folder" and dataset_name("digits", classes) == "digits"
