import numpy as np
import pytest
import torch

from cnnlab.data.split import make_split
from cnnlab.data.stats import channel_stats
from cnnlab.errors import UserError
from cnnlab.params import SplitParams
from tests.conftest import synthetic_set


def test_split_is_stratified_disjoint_complete_and_seed_stable():
    data = synthetic_set(n_per_class=50, classes=4)
    params = SplitParams(val_fraction=0.2, test_fraction=0.3)
    split = make_split(data, params, seed=7)
    parts = [set(split[k]) for k in ("train", "val", "test")]
    assert sum(map(len, parts)) == len(data.labels) == len(set.union(*parts))
    labels = data.labels.numpy()
    for name, expected in (("test", 15), ("val", 7)):  # 30% of 50; 20% of the remaining 35
        counts = np.bincount(labels[split[name]], minlength=4)
        assert np.all(np.abs(counts - expected) <= 1), (name, counts)
    assert make_split(data, params, seed=7) == split
    assert make_split(data, params, seed=8) != split


def test_official_test_split_is_the_test_set_untouched():
    data = synthetic_set(n_per_class=30, classes=3, official_test=10)
    split = make_split(data, SplitParams(val_fraction=0.25, test_fraction=0.5), seed=0)
    assert split["test"] == torch.nonzero(data.official_test)[:, 0].tolist()
    assert len(split["val"]) == 15 and len(split["train"]) == 45
    assert not set(split["val"]) & set(split["test"])


def test_a_class_too_small_to_stratify_says_which():
    data = synthetic_set(n_per_class=10, classes=3)
    keep = torch.cat([torch.arange(20), torch.tensor([20])])  # class c2 keeps one image
    from cnnlab.data.canonical import ImageSet

    tiny = ImageSet(data.images[keep], data.labels[keep], data.classes, data.official_test[keep], "t")
    with pytest.raises(UserError, match="class 'c2' has 1 image"):
        make_split(tiny, SplitParams(), seed=0)


def test_channel_stats_match_numpy():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(37, 3, 9, 11), dtype=np.uint8)
    stats = channel_stats(torch.from_numpy(images), chunk=5)
    scaled = images.astype(np.float64) / 255.0
    np.testing.assert_allclose(stats["mean"], scaled.mean(axis=(0, 2, 3)), atol=1e-8)
    np.testing.assert_allclose(stats["std"], scaled.std(axis=(0, 2, 3)), atol=1e-8)


def test_a_constant_channel_gets_std_one_not_zero():
    images = torch.zeros((4, 2, 3, 3), dtype=torch.uint8)
    images[:, 1] = torch.randint(0, 255, (4, 3, 3), dtype=torch.uint8)
    stats = channel_stats(images)
    assert stats["std"][0] == 1.0 and stats["mean"][0] == 0.0
