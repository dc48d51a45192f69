"""`cnnlab compare A B` on evaluated variants of a workspace."""

import pytest
import yaml

from cnnlab import layout
from cnnlab.command import main
from cnnlab.io import write_csv
from tests.conftest import ROOT


def predictions(name: str, right: int, total: int = 300, seed: int = 42) -> None:
    """What repeat@NAME-SEED leaves: the run's predictions on the test images."""
    write_csv(layout.run_dir(name, seed) / "test" / "predictions.csv", ["index", "actual", "predicted", "confidence"],
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


def test_a_clear_gap_is_reproduced_with_both_intervals(workspace, capsys):
    assert main(["compare", "wide", "narrow"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "wide    90.0 [86.0, 93.2] % test accuracy"
    assert out[1].startswith("narrow  80.0 [75.0, 84.4] %   (95% intervals: exact binomial over 300 test images")
    assert out[2].startswith("wide - narrow: +10.0 [+7.7, +10.0] points (exact McNemar interval")
    assert out[3] == "exact McNemar on seed 1 (30 vs 0 images only one got right): p = 1.86e-09"
    assert out[-1] == "verdict on 'wide beats narrow': reproduced"


def test_a_two_image_gap_is_inconclusive(workspace, capsys):
    assert main(["compare", "wide", "twin"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "verdict on 'wide beats twin': inconclusive"


def test_an_unknown_name_is_one_line_listing_the_known_ones(workspace, capsys):
    assert main(["compare", "wid", "narrow"]) == 2
    err = capsys.readouterr().err
    assert err == "error: no evaluated variant 'wid' in this workspace; the ones there are: wide, narrow, twin.\n"


def test_runs_on_different_test_images_are_refused(workspace, capsys):
    predictions("other", 100, total=200)
    assert main(["compare", "wide", "other"]) == 2
    assert "tested on different images" in capsys.readouterr().err


def test_with_three_seeds_the_interval_is_over_seeds_and_a_fresh_seed_win_is_estimated(workspace, capsys):
    raw = yaml.safe_load((workspace / "params.yaml").read_text())
    raw["seeds"] = [42, 7, 3]
    (workspace / "params.yaml").write_text(yaml.safe_dump(raw))
    for seed, (w, n) in zip((7, 3), ((272, 244), (268, 239))):
        predictions("wide", w, seed=seed)
        predictions("narrow", n, seed=seed)
    assert main(["compare", "wide", "narrow"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "(95% intervals: t over 3 seeds)" in out[1] and "(paired t over 3 seeds)" in out[2]
    assert out[3].startswith("paired t-test: p = 0.0")
    # 3 signs alike: 2 of the 8 sign patterns are as extreme, the least an exact test can say with 3 seeds
    assert out[3].endswith("; exact sign-flip permutation p = 0.25, the smallest 3 seeds allow")
    assert out[4] == "P(wide beats narrow on a new seed): 1.00"
    assert out[-1] == "verdict on 'wide beats narrow': reproduced"
