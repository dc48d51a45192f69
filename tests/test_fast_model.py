"""The fast (airbench) network: its first layer whitens the training images' 2x2 patches."""

import numpy as np
import pytest
import torch

from cnnlab.errors import UserError
from cnnlab.models.build import build_model, count_parameters
from cnnlab.models.fast import whitening_filters
from cnnlab.models.registry import parse_model_spec


def correlated_images(n: int = 300, seed: int = 0) -> torch.Tensor:
    """Smooth random images whose neighbouring pixels and channels are strongly correlated."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, 1, 9, 9, generator=g)
    smooth = torch.nn.functional.interpolate(base, size=16, mode="bilinear", align_corners=False)
    return torch.cat([smooth, 0.8 * smooth + 0.2 * torch.randn(n, 1, 16, 16, generator=g),
                      torch.randn(n, 1, 16, 16, generator=g)], 1)


def patch_matrix(images: torch.Tensor) -> np.ndarray:
    """Every 2x2 patch as a row of channel-major values, as a 2x2 convolution reads it (numpy, by loops)."""
    x = images.numpy()
    rows = [x[:, :, i:i + 2, j:j + 2].reshape(len(x), -1) for i in range(x.shape[2] - 1) for j in range(x.shape[3] - 1)]
    return np.concatenate(rows)


def test_the_whitening_filters_give_the_training_patches_an_identity_covariance():
    images = correlated_images()
    filters = whitening_filters(images, eps=0.0)
    out = torch.nn.functional.conv2d(images, filters)  # N x 12 x 15 x 15
    flat = out.permute(0, 2, 3, 1).reshape(-1, 12).double()
    cov = torch.cov(flat.T)
    torch.testing.assert_close(cov, torch.eye(12, dtype=torch.float64), atol=1e-3, rtol=0)
    # against numpy: the same covariance of the patches, the same eigen-decomposition up to signs
    patches = patch_matrix(images)
    values = np.linalg.eigvalsh(np.cov(patches.T, bias=True))
    norms = filters.reshape(12, -1).double().norm(dim=1).numpy()
    np.testing.assert_allclose(np.sort(norms), np.sort(1 / np.sqrt(values)), rtol=1e-3)
    # the correlated input is far from white: the check has something to undo
    assert np.abs(np.cov(patches.T) - np.eye(12)).max() > 0.5


def test_the_network_sets_its_first_layer_from_the_data_and_keeps_it_fixed():
    spec = parse_model_spec({"name": "fast", "widths": [16, 32, 32]}, "m")
    model = build_model(spec, 3, 16, 10)
    images = correlated_images(64)
    asked = []
    model.init_from_data(lambda n: asked.append(n) or images[:n])
    assert asked == [5000]  # airbench's sample size, whatever the split holds
    weight = model.whiten.weight
    torch.testing.assert_close(weight[:12], whitening_filters(images, 5e-4))
    torch.testing.assert_close(weight[12:], -weight[:12])
    assert not weight.requires_grad and model.whiten.bias.requires_grad
    norm_scales = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert norm_scales == 2 * (16 + 32 + 32)  # two BatchNorms a group, their scales fixed at 1 (airbench's)
    assert count_parameters(model) == count_parameters(model, trainable_only=False) - weight.numel() - norm_scales
    scaled = build_model(parse_model_spec({"name": "fast", "widths": [16, 32, 32], "batchnorm_weights": True}, "m"),
                         3, 16, 10)
    assert count_parameters(scaled) == count_parameters(scaled, trainable_only=False) - weight.numel()
    out = model(images[:5])
    assert out.shape == (5, 10) and torch.isfinite(out).all()


def test_an_image_too_small_for_its_groups_is_one_clear_error():
    spec = parse_model_spec({"name": "fast", "widths": [16, 32, 32, 64]}, "m")
    with pytest.raises(UserError, match="data.image_size 8 is too small for fast's 4 groups.*model.widths"):
        build_model(spec, 3, 8, 10)


class PixelLinear(torch.nn.Module):
    """A fixed linear map of the pixels: every output depends on where each pixel is."""

    def __init__(self, c: int, h: int, w: int, classes: int = 4):
        super().__init__()
        self.weight = torch.randn(classes, c * h * w, generator=torch.Generator().manual_seed(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weight.T


def shifted(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """x moved by (dy, dx) pixels, what enters at the edge mirrored (numpy "reflect"), by index."""
    h, w = x.shape[-2:]
    rows = [abs(i - dy) if i - dy < 0 else (2 * (h - 1) - (i - dy) if i - dy >= h else i - dy) for i in range(h)]
    cols = [abs(j - dx) if j - dx < 0 else (2 * (w - 1) - (j - dx) if j - dx >= w else j - dx) for j in range(w)]
    return x[..., rows, :][..., cols]


def test_test_time_augmentation_averages_the_mirror_and_the_shifted_views():
    from cnnlab.runtime.inference import with_tta

    x = torch.rand(3, 2, 5, 6, generator=torch.Generator().manual_seed(0))
    model = PixelLinear(2, 5, 6)
    assert with_tta(model, "none") is model
    logits = lambda a: model(torch.from_numpy(np.ascontiguousarray(a)))  # noqa: E731
    mirror = lambda a: (logits(a) + logits(a[..., ::-1])) / 2  # noqa: E731
    a = x.numpy()
    torch.testing.assert_close(with_tta(model, "flip")(x), mirror(a))
    # the image moved one pixel down-right and one up-left (the padded image cut at two corners)
    expected = mirror(a) / 2 + (mirror(shifted(a, 1, 1)) + mirror(shifted(a, -1, -1))) / 4
    torch.testing.assert_close(with_tta(model, "flip_translate")(x), expected)
    assert not torch.allclose(with_tta(model, "flip")(x), model(x))
    from cnnlab.runtime.inference import predict

    model.eval()  # evaluating through the wrapper leaves the model in eval mode
    predict(with_tta(model, "flip"), [(x, torch.zeros(3))])
    assert not model.training


def test_each_convolution_starts_as_the_identity_on_its_first_channels():
    model = build_model(parse_model_spec({"name": "fast", "widths": [16, 32, 32]}, "m"), 3, 16, 10)
    conv = model.groups[1].conv1  # 16 in, 32 out: its first 16 filters pass their channel through
    x = torch.randn(2, 16, 5, 5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(conv(x)[:, :16], x)
    assert not torch.allclose(conv(x)[:, 16:], torch.zeros(2, 16, 5, 5))  # the others keep torch's init
    square = model.groups[1].conv2
    torch.testing.assert_close(square(torch.ones(1, 32, 4, 4)), torch.ones(1, 32, 4, 4))
