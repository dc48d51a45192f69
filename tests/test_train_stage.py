"""train@V and lr_find@V on a prepared workspace: lr auto, frozen-backbone features, the card."""

import json

import pytest
import torch

from cnnlab import layout
from cnnlab.io import read_json
from cnnlab.runtime.trained import load_trained
from cnnlab.train.lr_choice import lr_find_variant
from cnnlab.train.run import train_variant


def test_lr_find_passes_a_fixed_lr_on_without_running_anything(workspace):
    params = workspace("baseline", lr=0.004, epochs=1)
    found = lr_find_variant(params, "baseline")
    assert found == {"lr": 0.004, "source": "params.yaml"}
    assert sorted(p.name for p in layout.lr_find("baseline").dir.iterdir()) == ["lr.json"]


def test_lr_auto_trains_with_the_range_tests_suggestion(workspace):
    params = workspace("baseline", lr="auto", epochs=1, model={"channels": [8], "hidden": 16})
    with pytest.raises(Exception, match="lr_find@baseline"):
        train_variant(params, "baseline")  # the stage that feeds it has not run
    found = lr_find_variant(params, "baseline")
    folder = layout.lr_find("baseline").dir
    assert found["source"] == "lr_find" and 1e-7 < found["lr"] < 10
    rows = (folder / "range_test.csv").read_text().splitlines()
    assert rows[0] == "lr,loss,smoothed_loss" and len(rows) > 20
    assert (folder / "range_test.png").stat().st_size > 10_000
    train_variant(params, "baseline")
    assert read_json(layout.trained("baseline").dir / "metrics.json")["lr"] == found["lr"]


def test_a_frozen_backbone_trains_its_head_on_features_computed_once(workspace, tmp_path, monkeypatch):
    from torchvision import models

    torch.manual_seed(1)
    weights = models.mobilenet_v3_large().state_dict()
    torch.save(weights, tmp_path / "mnv3.pth")
    params = workspace("mobilenet_v3_large", epochs=3, batch_size=16,
                       model={"name": "mobilenet_v3_large", "weights_path": str(tmp_path / "mnv3.pth"),
                              "input_size": 32, "head": [16]})
    calls = []
    import cnnlab.train.run as run

    original = run.extract_features
    monkeypatch.setattr(run, "extract_features",
                        lambda backbone, batches: calls.append(len(batches.labels)) or original(backbone, batches))
    result = train_variant(params, "mobilenet_v3_large")
    split = read_json(layout.SPLIT)
    assert calls == [len(split["train"]), len(split["val"])]  # once per split, not per epoch
    assert len(result.history) == 3
    timing = read_json(layout.trained("mobilenet_v3_large").dir / "timing.json")
    assert 0 < timing["feature_seconds"] <= timing["train_seconds"]
    card = json.loads((layout.trained("mobilenet_v3_large").dir / "model.json").read_text())
    assert card["mean"] == [0.485, 0.456, 0.406] and card["std"] == [0.229, 0.224, 0.225]
    # the saved model: the file's backbone, untouched, and the trained head
    trained = load_trained(params, "mobilenet_v3_large")
    saved = trained.model.backbone.features.state_dict()
    assert all(torch.equal(v, weights[f"features.{k}"]) for k, v in saved.items())
    # later stages normalise with the weights' statistics, as training did
    rows = torch.tensor(split["test"][:4])
    x = trained.prepared.data.images[rows].float() / 255
    expected = (x - torch.tensor(card["mean"]).view(1, 3, 1, 1)) / torch.tensor(card["std"]).view(1, 3, 1, 1)
    assert torch.allclose(trained.inputs(rows), expected)


def test_the_terminal_flags_a_run_whose_best_epoch_was_its_last_and_names_the_fix(workspace, capsys):
    params = workspace("baseline", lr=1e-30, epochs=3, model={"channels": [8], "hidden": 16})
    train_variant(params, "baseline")  # weights as good as fixed: the first epoch stays best
    assert "under-trained" not in capsys.readouterr().out
    params = workspace("baseline", lr=3e-4, epochs=2, scheduler="step", model={"channels": [8], "hidden": 16})
    result = train_variant(params, "baseline")  # learns slowly: still improving at the end
    assert result.best_epoch == 2 and result.history[1].val_accuracy > result.history[0].val_accuracy
    out = capsys.readouterr().out
    assert ("baseline: possibly under-trained: its best validation epoch was its last (2); more epochs "
            "(epochs under variants.baseline) may still help; so may scheduler: plateau with patience") in out
    params = workspace("baseline", lr=3e-4, epochs=2, scheduler="plateau", model={"channels": [8], "hidden": 16})
    train_variant(params, "baseline")
    out = capsys.readouterr().out
    assert "may still help." in out and "so may scheduler" not in out  # it is on plateau already


def test_a_bf16_training_saves_float32_weights_that_evaluate_in_float32(workspace):
    params = workspace("baseline", lr=0.003, epochs=2, precision="bf16", model={"channels": [8], "hidden": 16})
    train_variant(params, "baseline")
    trained = load_trained(params, "baseline")
    assert all(t.dtype == torch.float32 for t in trained.model.state_dict().values() if t.is_floating_point())
    logits = trained.model(next(iter(trained.eval_loader("test")))[0])
    assert logits.dtype == torch.float32
    assert read_json(layout.trained("baseline").dir / "metrics.json")["val_accuracy"] > 0.5


def test_saliency_skips_the_default_methods_a_model_cannot_have_and_says_why(workspace, capsys):
    """The README's MNIST line: Grad-CAM is a default method, and an MLP has no convolution."""
    from cnnlab.evaluate.run import evaluate_variant
    from cnnlab.explain.run import explain_variant
    from cnnlab.report.build import VariantResult, skipped_methods
    from cnnlab.report.document import to_markdown

    params = workspace("mlp", epochs=1)
    assert params.saliency.methods == ["occlusion", "gradcam"]
    train_variant(params, "mlp")
    evaluate_variant(params, "mlp")
    summary = explain_variant(params, "mlp")
    assert set(summary["methods"]) == {"occlusion", "random", "sobel"}
    assert summary["skipped"] == {"gradcam": "needs a convolution layer; mlp has none"}
    assert read_json(layout.tested("mlp").saliency_metrics)["skipped"] == summary["skipped"]
    assert "mlp: skipped gradcam: it needs a convolution layer, and mlp has none" in capsys.readouterr().out
    result = VariantResult("mlp", "", {}, {}, {}, {}, summary, {}, [])
    assert "mlp: gradcam (needs a convolution layer; mlp has none)" in to_markdown(skipped_methods([result]))


def test_the_mistakes_view_shows_no_more_images_than_saliency_max_images(workspace):
    import dataclasses

    from cnnlab.explain.registry import MapSettings
    from cnnlab.explain.run import MISTAKES_SHOWN, mistakes_view
    from cnnlab.io import write_csv

    params = workspace("baseline", epochs=1, model={"channels": [8], "hidden": 16})
    train_variant(params, "baseline")
    trained = load_trained(params, "baseline")
    test = trained.prepared.split["test"]
    classes = trained.card.classes
    labels = trained.prepared.data.labels
    # Eight confident mistakes, whatever the model predicts: the view reads evaluate@V's rows.
    rows = [[i, classes[int(labels[i])], classes[(int(labels[i]) + 1) % 3], f"{0.9 - k / 100:.6f}"]
            for k, i in enumerate(test[:8])]
    write_csv(layout.tested("baseline").predictions, ["index", "actual", "predicted", "confidence"], rows)
    for cap, shown in ((20, MISTAKES_SHOWN), (2, 2)):
        settings = MapSettings(dataclasses.replace(params.saliency, max_images=cap), trained.normalizer)
        figure = mistakes_view(trained, "baseline", ["gradient"], settings)
        assert any(f"the {shown} most confident mistakes" in text.get_text() for text in figure.texts)


def test_the_fast_network_is_whitened_from_the_training_split_and_saved_so(workspace):
    from cnnlab.data.canonical import load_imageset
    from cnnlab.models.fast import whitening_filters

    params = workspace("fast", epochs=1, batch_size=32, model={"name": "fast", "widths": [8, 16]})
    train_variant(params, "fast")
    stats, split = read_json(layout.STATS), read_json(layout.SPLIT)
    data = load_imageset(layout.RAW)
    mean, std = torch.tensor(stats["mean"]).view(1, -1, 1, 1), torch.tensor(stats["std"]).view(1, -1, 1, 1)
    train = (data.images[torch.tensor(split["train"])].float() / 255 - mean) / std  # the training split only
    saved = torch.load(layout.trained("fast").weights)["whiten.weight"]
    torch.testing.assert_close(saved[:12], whitening_filters(train, 5e-4), rtol=1e-4, atol=1e-4)
    trained = load_trained(params, "fast")  # evaluate@V and saliency@V rebuild it from the file
    torch.testing.assert_close(trained.model.whiten.weight.cpu(), saved)


def test_validating_only_the_last_epoch_leaves_the_others_empty_everywhere_a_user_looks(workspace, capsys):
    import math

    from mlflow.tracking import MlflowClient

    from cnnlab import tracking
    from cnnlab.report.build import read_history

    params = workspace("baseline", lr=3e-3, epochs=3, validate="last_epoch", model={"channels": [8], "hidden": 16})
    result = train_variant(params, "baseline")
    assert [math.isnan(r.val_accuracy) for r in result.history] == [True, True, False]
    assert result.best_epoch == 3  # the one validated epoch is the one kept
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("baseline epoch ")]
    assert ["val not run (validate: last_epoch)" in line for line in lines] == [True, True, False]
    assert "best val accuracy" in out and "under-trained" not in out  # one measured epoch: no trend to flag
    files = layout.trained("baseline")
    rows = files.history.read_text().splitlines()
    assert rows[1].split(",")[3:5] == ["", ""] and rows[3].split(",")[4] != ""  # val_loss, val_accuracy
    history = read_history(files.history)  # what the report reads back
    assert math.isnan(history["val_accuracy"][0]) and history["val_accuracy"][2] == pytest.approx(
        result.history[2].val_accuracy, abs=1e-6)
    metrics = read_json(files.metrics)
    assert metrics["val_accuracy"] == pytest.approx(result.history[2].val_accuracy, abs=1e-6)
    client = MlflowClient(tracking_uri=tracking.tracking_uri())
    run_id = read_json(files.mlflow_run)["run_id"]
    assert [m.step for m in client.get_metric_history(run_id, "val_accuracy")] == [3]
    assert [m.step for m in client.get_metric_history(run_id, "train_loss")] == [1, 2, 3]
