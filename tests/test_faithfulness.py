"""Deletion / insertion, the randomisation check and the pointing game, against direct computations."""

import numpy as np
import torch
from scipy.stats import rankdata, spearmanr
from torch import nn

from cnnlab.explain.faithfulness import (
    area_under,
    average_ranks,
    deletion_insertion,
    perturbation_curves,
    pointing_hits,
    rank_correlations,
    reinitialised,
    saliency_ranks,
)
from cnnlab.explain.perturb import blurred


def linear_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(2 * 6 * 6, 3)).eval()


def one_curve_at_a_time(model, base, source, target, saliency, steps):
    """The definition for one image: sort the pixels by saliency, replace the first
    round(k/steps * H*W) of them, read p(target)."""
    h, w = saliency.shape
    order = np.argsort(-saliency.flatten().numpy(), kind="stable")
    values = []
    for k in range(steps + 1):
        n = int(round(k * h * w / steps))
        mask = torch.zeros(h * w, dtype=torch.bool)
        mask[torch.from_numpy(order[:n].copy())] = True
        image = torch.where(mask.view(1, h, w), source, base)
        with torch.no_grad():
            values.append(model(image[None]).softmax(1)[0, target].item())
    return values


def test_batched_curves_equal_the_one_image_loop_for_deletion_and_insertion():
    model = linear_model()
    g = torch.Generator().manual_seed(1)
    x, maps = torch.randn(3, 2, 6, 6, generator=g), torch.randn(3, 6, 6, generator=g)
    targets = torch.tensor([0, 2, 1])
    curves = deletion_insertion(model, x, targets, maps, steps=5, per_eval=4)  # chunks cut across images
    for i in range(3):
        deletion = one_curve_at_a_time(model, x[i], torch.zeros_like(x[i]), int(targets[i]), maps[i], 5)
        insertion = one_curve_at_a_time(model, blurred(x)[i], x[i], int(targets[i]), maps[i], 5)
        np.testing.assert_allclose(curves.deletion[i].numpy(), deletion, atol=1e-6)
        np.testing.assert_allclose(curves.insertion[i].numpy(), insertion, atol=1e-6)
    np.testing.assert_allclose(curves.deletion_auc.numpy(), np.trapezoid(curves.deletion.numpy(), dx=0.2, axis=1),
                               atol=1e-6)


def test_the_exact_attribution_deletes_faster_and_inserts_faster_than_its_reverse():
    """For a linear model, weight x input is each pixel's exact share of the logit."""
    model = linear_model(3)
    x = torch.randn(8, 2, 6, 6, generator=torch.Generator().manual_seed(4))
    targets = torch.arange(8) % 3
    weights = model[1].weight.view(3, 2, 6, 6)[targets]
    exact = (weights * x).sum(1)
    good = deletion_insertion(model, x, targets, exact, steps=12)
    bad = deletion_insertion(model, x, targets, -exact, steps=12)
    assert (good.deletion_auc < bad.deletion_auc).all()
    assert good.insertion_auc.mean() > bad.insertion_auc.mean()


def test_curves_start_at_the_untouched_image_and_end_at_the_replacement():
    model = linear_model()
    x = torch.randn(2, 2, 6, 6, generator=torch.Generator().manual_seed(5))
    targets = torch.tensor([1, 0])
    curves = perturbation_curves(model, x, torch.zeros_like(x), targets, torch.rand(2, 6, 6), steps=4)
    with torch.no_grad():
        full = model(x).softmax(1)[torch.arange(2), targets]
        empty = model(torch.zeros_like(x)).softmax(1)[torch.arange(2), targets]
    torch.testing.assert_close(curves[:, 0], full)
    torch.testing.assert_close(curves[:, -1], empty)
    torch.testing.assert_close(area_under(torch.ones(1, 5)), torch.tensor([1.0]))


def test_average_ranks_match_scipy_with_and_without_ties():
    g = np.random.default_rng(2)
    for values in (g.normal(size=50), g.integers(0, 5, size=60).astype(np.float32), np.array([3.0, 3.0, 3.0, 1.0])):
        np.testing.assert_array_equal(average_ranks(values), rankdata(values))
    assert average_ranks(np.array([0.5, 0.1, 0.5, 0.9])).tolist() == [2.5, 1.0, 2.5, 4.0]


def test_rank_correlation_matches_scipy_on_maps_with_ties():
    g = torch.Generator().manual_seed(9)
    # occlusion at a stride and ReLU'd Grad-CAM give maps with many equal values
    a, b = (torch.randint(0, 4, (5, 6, 6), generator=g).float() for _ in range(2))
    expected = [spearmanr(a[i].flatten(), b[i].flatten()).statistic for i in range(5)]
    np.testing.assert_allclose(rank_correlations(a, b), expected, atol=1e-12)


def test_ranks_put_the_most_salient_pixel_first():
    maps = torch.tensor([[[0.1, 0.9], [0.5, -1.0]]])
    assert saliency_ranks(maps).tolist() == [[2, 0, 1, 3]]


def test_rank_correlation_is_spearman_of_absolute_maps():
    g = torch.Generator().manual_seed(6)
    a, b = torch.randn(4, 8, 8, generator=g), torch.randn(4, 8, 8, generator=g)
    expected = [spearmanr(a[i].abs().flatten(), b[i].abs().flatten()).statistic for i in range(4)]
    np.testing.assert_allclose(rank_correlations(a, b), expected, atol=1e-9)
    np.testing.assert_allclose(rank_correlations(a, -a), 1.0)  # only the sign flipped: no change
    assert abs(rank_correlations(a, b).mean()) < 0.3
    assert rank_correlations(torch.zeros(1, 4, 4), torch.zeros(1, 4, 4)).tolist() == [1.0]


def test_reinitialised_draws_fresh_weights_and_leaves_the_model_alone():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fresh = reinitialised(model, seed=1)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not torch.equal(fresh[0].weight, model[0].weight)
    assert not torch.equal(fresh[3].weight, model[3].weight)
    assert torch.equal(reinitialised(model, seed=1)[0].weight, fresh[0].weight)  # seeded


def test_pointing_hits_when_the_maximum_is_inside_the_mask():
    maps = torch.zeros(2, 4, 4)
    maps[0, 1, 1] = 1.0
    maps[1, 3, 3] = 1.0
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[:, :2, :2] = True
    assert pointing_hits(maps, masks).tolist() == [True, False]


def test_our_blur_is_torchvisions_gaussian_blur():
    from torchvision.transforms.v2.functional import gaussian_blur

    for size in (8, 32, 50):
        x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(size))
        sigma = max(1.0, size / 16)
        kernel = 2 * int(np.ceil(2 * sigma)) + 1
        torch.testing.assert_close(blurred(x), gaussian_blur(x, [kernel, kernel], [sigma, sigma]), atol=1e-5, rtol=0)
