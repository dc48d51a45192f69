"""split.per_seed: each training seed trains, validates and tests on a split of its own,
and the statistics then pair by seed, never by a column that is another image per seed."""

import yaml

from cnnlab import layout
from cnnlab.compare.runs import workspace_scores
from cnnlab.data.canonical import load_imageset
from cnnlab.data.prepared import load_prepared
from cnnlab.data.split import make_split
from cnnlab.evaluate.run import evaluate_variant
from cnnlab.io import read_json
from cnnlab.params import load_params
from cnnlab.repeat import repeat_run
from cnnlab.train.run import train_variant
from tests.conftest import ROOT


def per_seed_params(workspace, per_seed: bool, seeds: list[int]):
    workspace("baseline", epochs=1, model={"channels": [8], "hidden": 16})
    raw = yaml.safe_load(open("params.yaml"))
    raw["seeds"], raw["split"]["per_seed"] = seeds, per_seed
    open("params.yaml", "w").write(yaml.safe_dump(raw, sort_keys=False))
    return load_params()


def indices_tested(seed: int) -> list[int]:
    rows = layout.seed_run("baseline", seed).test.predictions.read_text().splitlines()[1:]
    return sorted(int(row.split(",")[0]) for row in rows)


def test_each_seed_draws_its_own_split_and_the_first_one_is_the_split_stages(workspace):
    params = per_seed_params(workspace, True, [42, 7])
    data = load_imageset(layout.RAW)
    assert params.split_seed() == 42 and params.split_seed(7) == 7
    # what split@ writes under per_seed: the first training seed's split
    from stages.split import main as split_stage
    split_stage(params)
    assert read_json(layout.SPLIT) == make_split(data, params.split, 42)

    own = load_prepared(params, 7)
    assert own.split == make_split(data, params.split, 7) and own.split != read_json(layout.SPLIT)
    # its normalisation comes from its own training images, not another split's
    train_pixels = data.images[own.split["train"]].double() / 255
    assert own.mean == [round(float(train_pixels[:, c].mean()), 8) for c in range(data.channels)]
    assert load_prepared(params, 42).split == read_json(layout.SPLIT)

    train_variant(params, "baseline")
    evaluate_variant(params, "baseline")
    for seed in params.seeds:
        repeat_run(params, "baseline", seed)
    assert indices_tested(42) == sorted(read_json(layout.SPLIT)["test"])
    assert indices_tested(7) == sorted(own.split["test"]) != indices_tested(42)
    assert read_json(layout.seed_run("baseline", 7).dir / "train" / "metrics.json")["epochs_trained"] == 1

    scores = workspace_scores(params)
    assert scores.same_images is False and scores.correct("baseline").shape == (2, len(own.split["test"]))


def test_without_it_every_seed_shares_data_split_json(workspace):
    params = per_seed_params(workspace, False, [42, 7])
    assert params.split_seed(7) == params.seed == 42
    # the conftest workspace drew data/split.json from seed 0: with per_seed off, nothing re-draws it
    assert load_prepared(params, 7).split == read_json(layout.SPLIT) != make_split(
        load_imageset(layout.RAW), params.split, 7)
    assert not params.draws_own_split(7) and not params.draws_own_split(None)


def test_the_split_stays_fixed_by_default():
    assert yaml.safe_load((ROOT / "params.yaml").read_text())["split"]["per_seed"] is False
