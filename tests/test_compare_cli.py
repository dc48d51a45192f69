"""`cnnlab compare A B` on evaluated variants of a workspace."""

import pytest
import yaml

from cnnlab import layout
from cnnlab.command import main
from cnnlab.io import write_csv
from tests.conftest import ROOT


def predictions(name: str, right: int, total: int = 300, seed: int = 42) -> None:
    """What repeat@NAME-SEED leaves: the run's predictions on the test images."""
    write_csv(layout.seed_run(name, seed).dir / "test" / "predictions.csv",
              ["index", "actual", "predicted", "confidence"],
              [[i, 1, 1 if i < right else 0, 0.9] for i in range(total)])


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["variants"].update({name: {} for name in ("wide", "narrow", "twin", "other")})
    raw["active"] = ["wide", "narrow", "twin", "other"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    predictions("wide", 270)
    predictions("narrow", 240)
    predictions("twin", 268)
    return tmp_path


def test_one_seed_shows_both_intervals_and_the_exact_test_but_gives_no_verdict(workspace, capsys):
    assert main(["compare", "wide", "narrow"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "wide    90.0 [86.0, 93.2] % test accuracy"
    assert out[1].startswith("narrow  80.0 [75.0, 84.4] %   (95% intervals: exact binomial over 300 test images, "
                             "one seed: the test set's sampling error alone)")
    assert out[2].startswith("wide - narrow: +10.0 [+7.7, +10.0] points (exact McNemar interval")
    assert out[3] == "exact McNemar (30 vs 0 images only one got right): p = 1.86e-09"
    assert out[4].startswith("P(wide beats narrow on a new seed): needs 2 or more seeds")
    assert out[5].startswith("this seed leans towards the claim; too few seeds to judge (one seed; 2 or more needed")
    assert out[-1] == "verdict on 'wide beats narrow': too few seeds"


def test_a_two_image_gap_on_one_seed_leans_but_is_not_judged(workspace, capsys):
    assert main(["compare", "twin", "wide"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("this seed leans against the claim") and out[-1].endswith(": too few seeds")


def test_an_unknown_name_is_one_line_listing_the_known_ones(workspace, capsys):
    assert main(["compare", "wid", "narrow"]) == 2
    err = capsys.readouterr().err
    assert err == "error: no evaluated variant 'wid' in this workspace; the ones there are: wide, narrow, twin.\n"


def test_runs_on_different_test_images_are_refused(workspace, capsys):
    predictions("other", 100, total=200)
    assert main(["compare", "wide", "other"]) == 2
    assert "tested on different images" in capsys.readouterr().err


def with_seeds(workspace, runs: dict[int, tuple[int, int]]) -> None:
    """Seeds beyond 42, each with (right of wide, right of narrow)."""
    raw = yaml.safe_load((workspace / "params.yaml").read_text())
    raw["seeds"] = [42, *runs]
    (workspace / "params.yaml").write_text(yaml.safe_dump(raw))
    for seed, (w, n) in runs.items():
        predictions("wide", w, seed=seed)
        predictions("narrow", n, seed=seed)


def test_with_three_seeds_the_interval_takes_in_seeds_and_test_set_and_a_fresh_seed_win_is_estimated(workspace,
                                                                                                    capsys):
    with_seeds(workspace, {7: (272, 244), 3: (268, 239)})
    assert main(["compare", "wide", "narrow"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith("(95% intervals: t over 3 seeds and 300 test images (seed-to-seed spread and the test "
                           "set's sampling error))")
    assert out[2].startswith("wide - narrow: +9.7 [") and "paired t over 3 seeds and 300 test images" in out[2]
    from cnnlab.compare.runs import read_local, seed_matrix
    from cnnlab.compare.stats import compare
    from cnnlab.params import load_params

    seeds = load_params().seeds
    result = compare(seed_matrix("wide", seeds, read_local)[1], seed_matrix("narrow", seeds, read_local)[1])
    assert out[3] == f"paired t: p = {result.p_value:.3g}" and result.p_value < 0.05
    assert out[4] == "P(wide beats narrow on a new seed): 1.00"
    assert out[-1] == "verdict on 'wide beats narrow': reproduced"


def test_an_inconclusive_comparison_says_how_many_seeds_would_settle_it(workspace, capsys):
    with_seeds(workspace, {7: (262, 266), 3: (271, 262)})
    assert main(["compare", "wide", "narrow"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "verdict on 'wide beats narrow': inconclusive"
    assert out[-2] == ("leans towards the claim; about 19 seeds in all would settle it (80% power) at the spread "
                       "measured; 7 to 673 over that spread's 95% interval")
