import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.data.loader import Normalizer
from cnnlab.errors import UserError
from cnnlab.explain.methods import occlusion_fill, saliency_maps
from cnnlab.explain.occlusion import occlusion_maps
from cnnlab.explain.registry import MapSettings
from cnnlab.explain.sampling import sample_per_class
from cnnlab.figures.saliency import map_panels, saliency_panels
from cnnlab.models.build import build_model
from cnnlab.models.registry import parse_model_spec
from cnnlab.params import SaliencyParams


def small_model(batch_norm=False):
    torch.manual_seed(0)
    spec = parse_model_spec({"name": "convnet", "channels": [6, 8], "kernel_size": 3, "hidden": 16,
                             "batch_norm": batch_norm}, "m")
    return build_model(spec, 3, 16, 4).eval()


def one_window_at_a_time(model, image, target, window, stride, fill):
    """The definition: occlude one window, measure the drop in p(target), spread it
    over the window's pixels, average where windows overlap. Windows start every
    `stride` pixels until one reaches the far edge; the last is clipped there, so
    every pixel is covered."""
    _, h, w = image.shape
    starts = lambda size: [k * stride for k in range(math.ceil((size - window) / stride) + 1)]  # noqa: E731
    with torch.no_grad():
        p0 = model(image[None]).softmax(1)[0, target]
        total = torch.zeros(h, w)
        count = torch.zeros(h, w)
        for top in starts(h):
            for left in starts(w):
                occluded = image.clone()
                occluded[:, top:top + window, left:left + window] = fill
                drop = p0 - model(occluded[None]).softmax(1)[0, target]
                total[top:top + window, left:left + window] += drop
                count[top:top + window, left:left + window] += 1
    assert count.min() >= 1
    return total / count


@pytest.mark.parametrize("window, stride, fill", [(4, 2, 0.0), (5, 3, 0.0), (6, 6, -1.5), (3, 1, 0.7)])
def test_batched_occlusion_equals_the_one_mask_loop(window, stride, fill):
    model = small_model()
    images = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    targets = torch.tensor([0, 3, 1])
    maps = occlusion_maps(model, images, targets, window=window, stride=stride, fill=fill, per_eval=64)
    assert maps.shape == (3, 16, 16)
    for i in range(3):
        expected = one_window_at_a_time(model, images[i], int(targets[i]), window, stride, fill)
        torch.testing.assert_close(maps[i], expected, atol=1e-5, rtol=0)
    assert maps.abs().max() > 1e-4  # a real signal, not all zeros


def test_occlusion_of_a_batchnorm_model_in_train_mode_is_done_in_eval_and_restores_the_mode():
    model = small_model(batch_norm=True)
    model.train()
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    running = bn.running_mean.clone()
    images = torch.randn(2, 3, 16, 16)
    maps = occlusion_maps(model, images, torch.tensor([0, 1]), window=4, stride=4, fill=0.0, per_eval=8)
    assert model.training and torch.equal(bn.running_mean, running)
    model.eval()
    single = occlusion_maps(model, images[:1], torch.tensor([0]), window=4, stride=4, fill=0.0, per_eval=3)
    torch.testing.assert_close(maps[:1], single, atol=1e-6, rtol=0)  # independent of batching


def test_bad_windows_are_user_errors():
    model = small_model()
    x = torch.randn(1, 3, 16, 16)
    with pytest.raises(UserError, match="saliency.window 20"):
        occlusion_maps(model, x, torch.tensor([0]), window=20, stride=2, fill=0.0, per_eval=4)
    with pytest.raises(UserError, match="saliency.stride 5"):
        occlusion_maps(model, x, torch.tensor([0]), window=4, stride=5, fill=0.0, per_eval=4)


def test_fill_mean_is_zero_and_a_grey_level_is_normalised_per_channel():
    norm = Normalizer([0.5, 0.4, 0.2], [0.25, 0.2, 0.1])
    x = torch.zeros(1, 3, 4, 4)
    assert occlusion_fill(SaliencyParams(fill="mean"), norm, x) == 0.0
    grey = occlusion_fill(SaliencyParams(fill=0.6), norm, x)
    torch.testing.assert_close(grey.flatten(), torch.tensor([0.4, 1.0, 4.0]))


def test_registry_runs_occlusion_with_the_params():
    model = small_model()
    x = torch.randn(2, 3, 16, 16)
    params = SaliencyParams(window=4, stride=2, fill="mean", batch_size=16)
    settings = MapSettings(params, Normalizer([0.0] * 3, [1.0] * 3))
    maps = saliency_maps("occlusion", model, x, torch.tensor([1, 2]), settings)
    direct = occlusion_maps(model, x, torch.tensor([1, 2]), window=4, stride=2, fill=0.0, per_eval=16)
    torch.testing.assert_close(maps, direct)


def test_per_class_sample_is_seeded_and_balanced():
    labels = np.repeat(np.arange(4), [5, 1, 7, 3])
    first = sample_per_class(labels, 2, seed=3)
    assert np.bincount(labels[first]).tolist() == [2, 1, 2, 2]
    assert np.array_equal(first, sample_per_class(labels, 2, seed=3))
    assert not np.array_equal(sample_per_class(labels, 2, seed=4), first) or len(set(labels)) == 1


def rendered(grid) -> np.ndarray:
    """The PNG the saliency stage writes (save_figure's dpi, no trimming), as pixels."""
    buf = io.BytesIO()
    grid.figure().savefig(buf, format="png", dpi=100)
    return np.asarray(Image.open(buf).convert("RGB")).astype(int)


def test_saliency_panels_show_the_image_its_signed_map_and_the_positive_overlay():
    images = np.stack([np.full((3, 16, 16), v, dtype=np.uint8) for v in (40, 200)])
    maps = np.zeros((2, 16, 16), dtype=np.float32)
    maps[0, 4:8, 4:8] = 0.5
    maps[1, 8:12, 8:12] = -0.5
    grid = saliency_panels(images, maps, ["a", "b"], ["m1", "m2"], "title")
    picture, s = rendered(grid), grid.scale

    def at(row, col, y, x):  # the PNG pixel showing map pixel (y, x) of a panel
        top, left = grid.box(row, col)
        return picture[top + y * s + s // 2, left + x * s + s // 2]

    assert picture.shape[:2] == grid.canvas.shape[:2]  # placed pixel for pixel
    assert at(0, 0, 5, 5).tolist() == [40, 40, 40] and at(1, 0, 0, 0).tolist() == [200, 200, 200]
    red, white, blue = at(0, 1, 5, 5), at(0, 1, 0, 0), at(1, 1, 9, 9)
    assert red[0] > red[2] + 40 and blue[2] > blue[0] + 40 and white.min() > 230
    assert at(0, 2, 0, 0).tolist() == [40, 40, 40]  # overlay: the image where the map is 0 ...
    assert at(0, 2, 5, 5).tolist() != [40, 40, 40]  # ... coloured where it is positive ...
    assert at(1, 2, 9, 9).tolist() == [200, 200, 200]  # ... and untouched where it is negative


def test_map_panels_put_each_map_over_its_image_in_grey_with_its_own_colour_bar():
    images = np.stack([np.full((3, 8, 8), 120, dtype=np.uint8)] * 2)
    small, large = np.zeros((2, 8, 8), np.float32), np.zeros((2, 8, 8), np.float32)
    small[:, 2, 2], large[:, 2, 2] = 1e-4, -30.0
    grid = map_panels(images, [("small", small), ("large", large)], ["x", "y"], "t")
    picture, s = rendered(grid), grid.scale
    top, left = grid.box(0, 1)
    spot = picture[top + 2 * s + s // 2, left + 2 * s + s // 2]
    assert spot[0] > spot[2] + 30  # a tiny positive value is full red on its own scale
    top, left = grid.box(1, 2)
    spot, elsewhere = picture[top + 2 * s + s // 2, left + 2 * s + s // 2], picture[top + s, left + 6 * s]
    assert spot[2] > spot[0] + 30 and abs(int(elsewhere[0]) - int(elsewhere[2])) < 8
    bar = picture[top:top + grid.panel_h, left + grid.panel_w + 4 + 3]  # the colour bar's middle column
    assert bar[0, 0] > bar[0, 2] + 30 and bar[-1, 2] > bar[-1, 0] + 30  # +limit red at the top, -limit blue below
    labels = sorted(text for _, _, text, _ in grid.texts if text not in ("x", "y", "small", "large"))
    assert labels == sorted(["-0.0001", "0.0001", "-0.0001", "0.0001", "-30", "30", "-30", "30"])
