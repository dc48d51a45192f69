import copy

import pytest
import yaml

from cnnlab.errors import UserError
from cnnlab.params import deep_merge, load_params, parse_params
from tests.conftest import ROOT


def raw_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_every_active_variant_resolves_with_its_overrides_on_the_defaults(repo_params):
    assert repo_params.active == ["baseline", "small_filters", "dropout_last", "dropout_all", "augmented"]
    base = repo_params.variant("baseline")
    small = repo_params.variant("small_filters")
    aug = repo_params.variant("augmented")
    assert base.model.args.kernel_size == 5 and base.model.args.convs_per_stage == 1
    assert small.model.args.kernel_size == 3 and small.model.args.convs_per_stage == 2
    # untouched keys come from train: the same channels, optimizer and lr everywhere
    assert small.model.args.channels == base.model.args.channels
    assert {v.train.optimizer for v in map(repo_params.variant, repo_params.active)} == {"adam"}
    assert aug.train.augment.hflip and aug.train.augment.crop_padding > 0 and aug.train.augment.color_jitter > 0
    # as the original: augmentation on the dropout_all model
    assert aug.model.args == repo_params.variant("dropout_all").model.args
    assert not base.train.augment.active


def test_dropout_variants_follow_the_ladder(repo_params):
    last = repo_params.variant("dropout_last").model.args
    every = repo_params.variant("dropout_all").model.args
    assert last.dropout_where == "last" and 0.3 <= last.conv_dropout <= 0.5 and last.fc_dropout > 0
    assert every.dropout_where == "all" and 0.1 <= every.conv_dropout <= 0.2 and every.fc_dropout > 0


@pytest.mark.parametrize("mutate, key, words", [
    (lambda r: r["train"].update(optimzer="sgd"), "train.optimzer", "did you mean 'optimizer'"),
    (lambda r: r["train"].update(lr=-1), "train.lr", "must be > 0"),
    (lambda r: r["train"].update(epochs="ten"), "train.epochs", "must be an integer"),
    (lambda r: r["data"].update(dataset="imagenet"), "data.dataset", "must be one of"),
    (lambda r: r["variants"]["augmented"].update(lr=0), "variants.augmented.lr", "must be > 0"),
    (lambda r: r["variants"]["baseline"].update(model={"kernel_sise": 3}), "variants.baseline.model.kernel_sise",
     "did you mean 'kernel_size'"),
    (lambda r: r.update(active=["baseline", "nope"]), "active", "'nope', which is not under variants"),
    (lambda r: r["saliency"].update(fill="white"), "saliency.fill", "must be"),
    (lambda r: r["data"].update(image_size="large"), "data.image_size", "must be an integer or one of 'auto'"),
    (lambda r: r["data"].update(image_size=4), "data.image_size", "must be >= 8"),
])
def test_bad_params_name_the_key_and_the_fix(mutate, key, words):
    raw = raw_params()
    mutate(raw)
    with pytest.raises(UserError) as err:
        parse_params(raw)
    message = str(err.value)
    assert key in message and words in message


@pytest.mark.parametrize("dataset, size", [
    ("digits", 16),  # 8x8, doubled: the floor that two poolings and an occlusion window need
    ("mnist", 28), ("fashion_mnist", 28), ("cifar10", 32),  # their own size
    ("folder", 32), ("caltech256", 32), ("imagenette", 32), ("shapes", 32),  # no one size
])
def test_image_size_auto_is_the_source_s_own_size_at_least_16(dataset, size):
    raw = raw_params()
    assert raw["data"]["image_size"] == "auto"
    raw["data"]["dataset"] = dataset
    assert parse_params(raw).data.image_size == size
    raw["data"]["image_size"] = 24  # a number is kept as it is
    assert parse_params(raw).data.image_size == 24


def test_a_variant_naming_another_model_replaces_the_model_block():
    base = {"model": {"name": "convnet", "kernel_size": 5}, "lr": 0.1}
    merged = deep_merge(base, {"model": {"name": "other", "depth": 3}, "lr": 0.2})
    assert merged == {"model": {"name": "other", "depth": 3}, "lr": 0.2}
    same = deep_merge(base, {"model": {"kernel_size": 3}})
    assert same["model"] == {"name": "convnet", "kernel_size": 3}
    assert base["model"]["kernel_size"] == 5  # the defaults are not mutated


def test_saliency_fill_takes_mean_or_a_grey_level():
    raw = raw_params()
    raw["saliency"]["fill"] = 0.5
    assert parse_params(copy.deepcopy(raw)).saliency.fill == 0.5
    raw["saliency"]["fill"] = 1.5
    with pytest.raises(UserError, match="saliency.fill"):
        parse_params(raw)


def test_missing_or_broken_params_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("train: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_params(tmp_path / "params.yaml")


@pytest.mark.parametrize("seeds, words", [([], "seeds is empty"), ([1, 2, 1], "seeds lists 1 more than once")])
def test_training_seeds_must_be_listed_once_each(seeds, words):
    raw = raw_params()
    raw["seeds"] = seeds
    with pytest.raises(UserError, match=words):
        parse_params(raw)


def test_a_repeat_run_of_an_unlisted_seed_says_where_to_add_it(repo_params):
    from cnnlab.repeat import repeat_run

    with pytest.raises(UserError, match=r"seed 5 is not under seeds in params.yaml \(42\); add it there"):
        repeat_run(repo_params, "baseline", 5)


@pytest.mark.parametrize("methods, active, error", [
    (["cam"], ["mlp", "skip_mlp"], "saliency.methods lists cam, which needs a global-average-pool + linear head"),
    (["occlusion", "gradcam_plus_plus"], ["mlp"], "lists gradcam_plus_plus, which needs a convolution layer"),
    (["cam", "occlusion"], ["cam_cnn", "mlp"], None),  # cam applies to one of them: the MLP skips it
    (["occlusion", "gradcam"], ["mlp", "skip_mlp"], None),  # the defaults skip what does not fit
])
def test_a_chosen_saliency_method_no_active_variant_can_run_stops_before_training(methods, active, error):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["saliency"]["methods"], raw["active"] = methods, active
    if error is None:
        assert parse_params(raw).saliency.methods == methods
        return
    with pytest.raises(UserError, match="remove .* from saliency.methods") as caught:
        parse_params(raw)
    assert error in str(caught.value) and ", ".join(active) in str(caught.value)
