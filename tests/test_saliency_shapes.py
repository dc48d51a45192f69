"""On the synthetic shapes, where each object's mask is known: do the maps point at the
object, delete faster than a random map, and fail when the model is randomised?"""

import numpy as np
import pytest
import torch

from cnnlab.data.canonical import conform, load_imageset, save_imageset
from cnnlab.data.loader import BatchLoader, Normalizer
from cnnlab.data.shapes import SHAPES, make_shapes, shape_mask
from cnnlab.explain.methods import saliency_maps
from cnnlab.explain.registry import MapSettings
from cnnlab.explain.scores import faithfulness_scores
from cnnlab.models.build import build_model
from cnnlab.models.registry import parse_model_spec
from cnnlab.params import SaliencyParams, TrainParams
from cnnlab.runtime.device import seed_everything
from cnnlab.train.loop import fit

SPEC = {"name": "cam_cnn", "channels": [16, 32, 64], "dropout": 0.0}


def test_shapes_are_seeded_balanced_and_their_masks_cover_the_object():
    a, b = make_shapes(40, 32, seed=3), make_shapes(40, 32, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert not torch.equal(make_shapes(40, 32, seed=4).images, a.images)
    assert np.bincount(a.labels.numpy()).tolist() == [10] * len(SHAPES)
    area = a.masks.float().mean((1, 2))
    assert (area > 0.02).all() and (area < 0.5).all()
    # Every object pixel has the object's one colour; the clutter around it varies.
    for i in range(5):
        inside = a.images[i][:, a.masks[i]]
        assert (inside == inside[:, :1]).all()
    r = 8
    expected = {"circle": np.pi * r * r, "square": (1.6 * r) ** 2, "triangle": 2 * r * r,
                "cross": 2 * (2 * r) * (2 * r / 3) - (2 * r / 3) ** 2}
    for kind, area_px in expected.items():
        assert abs(shape_mask(kind, 32, 16, 16, r).sum() - area_px) < 0.15 * area_px, kind


def test_masks_survive_saving_and_resizing(tmp_path):
    data = make_shapes(12, 32, seed=0)
    save_imageset(data, tmp_path / "raw")
    loaded = load_imageset(tmp_path / "raw")
    assert torch.equal(loaded.masks, data.masks)
    small = conform(data, 16, 1)
    assert small.masks.shape == (12, 16, 16)
    assert torch.equal(small.masks, data.masks[:, ::2, ::2])  # nearest neighbour


@pytest.fixture(scope="module")
def trained():
    data = make_shapes(1200, 32, seed=0)
    train, test = torch.arange(960), torch.arange(960, 1200)
    norm = Normalizer([0.4] * 3, [0.25] * 3)
    seed_everything(0)
    model = build_model(parse_model_spec(SPEC, "m"), 3, 32, len(SHAPES))
    p = TrainParams(model=SPEC, epochs=10, batch_size=32, lr=3e-3, scheduler="onecycle")
    result = fit(model, BatchLoader(data.images[train], data.labels[train], 32, norm, shuffle=True),
                 BatchLoader(data.images[test], data.labels[test], 256, norm), p)
    model.load_state_dict(result.best_state)
    assert result.best.val_accuracy > 0.9, "the shapes must be learnable for the scores to mean anything"
    shown = test[:60]
    x = norm(data.images[shown].float() / 255)
    return model.eval(), x, data.labels[shown], data.masks[shown], norm


def test_gradcam_and_occlusion_point_at_the_object_and_beat_the_random_map(trained):
    model, x, labels, masks, norm = trained
    settings = MapSettings(SaliencyParams(window=6, stride=2), norm, seed=0)
    maps = {m: saliency_maps(m, model, x, labels, settings) for m in ("gradcam", "occlusion", "cam", "random")}
    scores = faithfulness_scores(model, x, labels, maps, settings, steps=16, masks=masks)
    for method in ("gradcam", "occlusion", "cam"):
        s = scores[method]
        assert s["pointing_accuracy"] >= 0.8, (method, s)
        assert s["pointing_accuracy"] >= scores["random"]["pointing_accuracy"] + 0.4, (method, s)
        assert s["deletion_auc"] < scores["random"]["deletion_auc"], (method, s)
        assert s["insertion_auc"] > scores["random"]["insertion_auc"], (method, s)
    assert scores["gradcam"]["passes_randomisation"], scores["gradcam"]
    assert not scores["random"]["passes_randomisation"] and scores["random"]["reference"]
