"""Every saliency method of the registry, against Captum or a direct computation."""

from typing import get_args

import numpy as np
import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam
from scipy import ndimage
from torch import nn

from cnnlab.data.loader import Normalizer
from cnnlab.errors import UserError
from cnnlab.explain.cam import cam_all_classes, cam_maps
from cnnlab.explain.gradcam import gradcam_maps
from cnnlab.explain.methods import saliency_maps
from cnnlab.explain.reference import random_maps, sobel_maps
from cnnlab.explain.registry import SALIENCY, MapSettings
from cnnlab.models.build import build_model
from cnnlab.models.registry import parse_model_spec
from cnnlab.params import SaliencyMethod, SaliencyParams

MODEL_METHODS = ["occlusion", "gradcam", "gradcam_plus_plus", "cam", "gradient", "integrated_gradients"]


def cam_model(seed=0, size=16):
    torch.manual_seed(seed)
    spec = parse_model_spec({"name": "cam_cnn", "channels": [6, 8, 10], "dropout": 0.2}, "m")
    model = build_model(spec, 3, size, 5)
    # Non-trivial BatchNorm statistics, so eval mode really differs from train mode.
    with torch.no_grad():
        model.train()
        model(torch.randn(32, 3, size, size, generator=torch.Generator().manual_seed(seed + 1)))
    return model.eval()


def plain_cnn(inplace: bool, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=inplace), nn.MaxPool2d(2),
                         nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(inplace=inplace),
                         nn.Flatten(), nn.Linear(8 * 8 * 8, 4)).eval()


def images(n=3, size=16, seed=2):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def settings(**overrides):
    p = SaliencyParams(**{"window": 4, "stride": 2, "integrated_gradients_steps": 16, **overrides})
    return MapSettings(p, Normalizer([0.5] * 3, [0.25] * 3), seed=7)


def test_every_registered_method_has_its_maps_and_every_maps_function_is_registered():
    import inspect

    from cnnlab.explain import methods

    functions = {name for name, f in vars(methods).items() if inspect.isfunction(f)
                 and f.__module__ == methods.__name__ and name not in ("occlusion_fill", "saliency_maps")}
    assert functions == set(SALIENCY)
    assert set(get_args(SaliencyMethod)) == set(SALIENCY)


def test_each_model_has_the_features_the_saliency_methods_are_told_it_has():
    """The registry's claim decides which methods saliency@V skips: check it on the built model."""
    from cnnlab.errors import UserError
    from cnnlab.explain.cam import cam_parts
    from cnnlab.explain.layers import conv_layers
    from cnnlab.explain.registry import CAM_HEAD, CONVOLUTIONS, FEATURE_WORDS
    from cnnlab.models.build import build_model
    from cnnlab.models.registry import MODELS, parse_model_spec

    declared = set().union(*(e.features for e in MODELS.values()))
    assert declared == set(FEATURE_WORDS)
    for name, entry in MODELS.items():
        raw = {"name": name, "weights": "none", "freeze": "none"} if "weights" in entry.args.__dataclass_fields__ \
            else {"name": name}
        model = build_model(parse_model_spec(raw, name), 3, 32, 4)
        assert bool(conv_layers(model)) == (CONVOLUTIONS in entry.features), name
        try:
            cam_parts(model)
            has_cam_head = True
        except UserError:
            has_cam_head = False
        assert has_cam_head == (CAM_HEAD in entry.features), name


def test_gradcam_equals_captum_layer_gradcam_with_bilinear_upsampling():
    model, x, targets = plain_cnn(inplace=False), images(), torch.tensor([0, 3, 1])
    ours = gradcam_maps(model, x, targets)  # the last conv: model[3]
    coarse = LayerGradCam(model, model[3]).attribute(x, target=targets)
    captum = LayerAttribution.interpolate(coarse, (16, 16), interpolate_mode="bilinear")[:, 0]
    torch.testing.assert_close(ours, captum, atol=1e-5, rtol=0)
    assert ours.abs().max() > 1e-3 and (ours < 0).any(), "signed, not rectified"


def test_gradcam_is_not_fooled_by_an_in_place_relu_after_its_layer():
    x, targets = images(), torch.tensor([2, 0, 1])
    safe = gradcam_maps(plain_cnn(inplace=False), x, targets)
    inplace = gradcam_maps(plain_cnn(inplace=True), x, targets)
    torch.testing.assert_close(inplace, safe, atol=1e-6, rtol=0)


def test_gradcam_equals_cam_on_a_gap_linear_model_and_cam_adds_up_to_the_logits():
    model, x, targets = cam_model(), images(), torch.tensor([4, 0, 2])
    cam = cam_maps(model, x, targets)
    torch.testing.assert_close(gradcam_maps(model, x, targets, "features"), cam, atol=1e-5, rtol=0)
    # At feature resolution (4x4 for 16 px with two pools), the map's sum plus the bias is the logit.
    features, fc = model.cam_parts()
    with torch.no_grad():
        coarse = torch.einsum("ck,bkhw->bchw", fc.weight, features(x)) / 16
        torch.testing.assert_close(coarse.sum((2, 3)) + fc.bias, model(x), atol=1e-5, rtol=0)
    assert cam_all_classes(model, x).shape == (3, 5, 16, 16)


def test_cam_names_the_missing_head_and_the_alternative():
    with pytest.raises(UserError, match="global-average-pool.*gradcam"):
        cam_maps(plain_cnn(inplace=False), images(), torch.tensor([0, 1, 2]))


def test_an_unknown_target_layer_is_one_clear_error():
    with pytest.raises(UserError, match="'classifier.9' is not a layer.*features"):
        gradcam_maps(cam_model(), images(), torch.tensor([0, 1, 2]), "classifier.9")


@pytest.mark.parametrize("method", MODEL_METHODS)
def test_maps_have_input_size_differ_by_target_and_batch_like_single_images(method):
    model, x = cam_model(), images()
    s = settings()
    a = saliency_maps(method, model, x, torch.tensor([0, 1, 2]), s)
    b = saliency_maps(method, model, x, torch.tensor([3, 4, 0]), s)
    assert a.shape == (3, 16, 16) and torch.isfinite(a).all()
    assert (a - b).abs().amax(dim=(1, 2)).min() > 1e-4, "every image's map must depend on its target"
    one_by_one = torch.cat([saliency_maps(method, model, x[i:i + 1], torch.tensor([i]), s) for i in range(3)])
    torch.testing.assert_close(a, one_by_one, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("method", list(get_args(SaliencyMethod)))
def test_every_method_leaves_modes_parameters_and_gradients_as_they_were(method):
    model = cam_model()
    model.train()
    model.features[1].eval()  # a frozen BatchNorm inside a training model keeps its own mode
    modes = {name: m.training for name, m in model.named_modules()}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    saliency_maps(method, model, images(), torch.tensor([0, 1, 2]), settings())
    assert {name: m.training for name, m in model.named_modules()} == modes
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert all(p.grad is None for p in model.parameters())


def test_occlusion_on_logits_with_a_blurred_fill_matches_the_definition():
    from cnnlab.explain.perturb import blurred

    model, x, targets = cam_model(), images(2), torch.tensor([1, 3])
    maps = saliency_maps("occlusion", model, x, targets, settings(fill="blur", occlusion_on="logit",
                                                                      window=8, stride=8))
    fill = blurred(x)
    with torch.no_grad():
        for i in range(2):
            base = model(x[i:i + 1])[0, targets[i]]
            for top in (0, 8):
                for left in (0, 8):
                    occluded = x[i:i + 1].clone()
                    occluded[..., top:top + 8, left:left + 8] = fill[i:i + 1, :, top:top + 8, left:left + 8]
                    drop = base - model(occluded)[0, targets[i]]
                    assert maps[i, top:top + 8, left:left + 8].allclose(drop.expand(8, 8), atol=1e-5)


def test_reference_maps_sobel_equals_scipy_and_random_repeats_for_its_seed():
    x = images(2)
    grey = x.mean(1).numpy()
    for i in range(2):
        expected = np.hypot(ndimage.sobel(grey[i], axis=0, mode="nearest"),
                            ndimage.sobel(grey[i], axis=1, mode="nearest"))
        np.testing.assert_allclose(sobel_maps(x)[i].numpy(), expected, atol=1e-5)
    assert torch.equal(random_maps(x, 3), random_maps(x, 3))
    assert not torch.equal(random_maps(x, 3), random_maps(x, 4))


@pytest.mark.parametrize("on", ["probability", "logit"])
def test_occlusion_equals_captums_occlusion_one_copy_at_a_time(on):
    from captum.attr import Occlusion

    from cnnlab.explain.occlusion import Probabilities, occlusion_maps

    model, x, targets = cam_model(), images(4), torch.tensor([0, 1, 2, 3])
    forward = Probabilities(model) if on == "probability" else model
    with torch.no_grad():
        captum = Occlusion(forward).attribute(x, sliding_window_shapes=(3, 6, 6), strides=(3, 3, 3), baselines=0.0,
                                              target=targets, perturbations_per_eval=1)[:, 0]
    ours = occlusion_maps(model, x, targets, window=6, stride=3, fill=0.0, per_eval=64, on=on)
    torch.testing.assert_close(ours, captum, atol=1e-5, rtol=0)
