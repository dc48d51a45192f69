"""The MLflow pyfunc model of a trained variant: logged from code, loaded back by MLflow, it
answers class probabilities equal to the model's own, and refuses input it cannot be right for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab import layout
from cnnlab.models.build import build_model
from cnnlab.models.registry import parse_model_spec
from cnnlab.runtime.checkpoint import ModelCard, save_checkpoint

SPEC = {"name": "convnet", "channels": [4], "hidden": 8}
CLASSES = ["a", "b", "c"]


@pytest.fixture
def logged(tmp_path, monkeypatch):
    """A tiny model saved as train@V saves it, logged into a fresh store: (run id, model, images)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    from cnnlab import serving, tracking

    torch.manual_seed(0)
    model = build_model(parse_model_spec(SPEC, "m"), 1, 12, len(CLASSES)).eval()
    card = ModelCard(SPEC, 1, 12, CLASSES, [0.4], [0.3])
    save_checkpoint(tmp_path / "m", model.state_dict(), card)
    files = layout.TrainedModel(tmp_path / "m")
    images = np.random.default_rng(0).integers(0, 256, (5, 1, 12, 12), dtype=np.uint8)
    with tracking.start_run("m", {"x": 1}, tmp_path / "run.json") as run:
        serving.log_model(files.weights, files.card, images[:2])
    return run.id, model, images


def test_the_logged_model_loads_and_answers_the_models_probabilities(logged, tmp_path):
    import mlflow

    run_id, model, images = logged
    loaded = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    probabilities = loaded.predict(images)
    with torch.no_grad():
        expected = torch.softmax(model((torch.from_numpy(images).float() / 255 - 0.4) / 0.3), 1).numpy()
    assert probabilities.shape == (5, len(CLASSES)) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)
    schema = loaded.metadata.get_input_schema().to_dict()[0]["tensor-spec"]
    assert schema["dtype"] == "uint8" and list(schema["shape"]) == [-1, 1, 12, 12]


def test_nothing_is_pickled_and_the_code_is_the_serving_module(logged):
    import mlflow

    run_id, _, _ = logged
    local = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model"))
    stored = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
    assert not [f for f in stored if f.endswith((".pkl", ".pickle", ".cloudpickle"))], stored
    assert "serving.py" in {Path(f).name for f in stored}
    assert {"artifacts/model.pt", "artifacts/model.json"} <= stored


def test_images_of_the_wrong_size_or_type_are_refused_with_the_expected_shape(logged):
    import mlflow

    run_id, _, images = logged
    loaded = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    for bad in (images[:, :, :8, :8], images.astype(np.float32)):
        with pytest.raises(Exception, match=r"shape|dtype|type"):  # MLflow checks the signature first
            loaded.predict(bad)
    raw = loaded.unwrap_python_model()  # past MLflow's check: the model's own
    assert type(raw).__name__ == "TrainedClassifier"
    for bad in (images[:, :, :8, :8], images.astype(np.float32), images[0]):
        with pytest.raises(ValueError, match=r"expected uint8 images of shape N x 1 x 12 x 12"):
            raw.predict(None, bad)
