"""A trained variant as an MLflow pyfunc model: uint8 images in, class probabilities out.

train@V logs it with MLflow's models-from-code (log_model below): the run keeps this
file, the weights (model.pt, a state dict) and the model card (model.json), never a pickle.
Loading rebuilds the network from cnnlab's model registry and reads the weights with
torch.load(weights_only=True), so it needs cnnlab installed where it loads:

    model = mlflow.pyfunc.load_model("runs:/<run id>/model")   # or "models:/cnnlab/<version>"
    probabilities = model.predict(images)  # uint8 N x C x H x W, as data/raw/images.npy holds them
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import mlflow
import numpy as np
from mlflow.pyfunc import PythonModel

WEIGHTS, CARD = "weights", "card"  # the names of the two files among the model's artifacts


class TrainedClassifier(PythonModel):
    # No type hints on these two: MLflow would read predict's as an input schema of its own
    # (the signature logged with the model is the schema). It says so once per process.
    def load_context(self, context):
        import torch

        from cnnlab.data.loader import Normalizer
        from cnnlab.runtime.checkpoint import load_model_files

        self.model, self.card = load_model_files(context.artifacts[WEIGHTS], context.artifacts[CARD])
        self.normalize = Normalizer(self.card.mean, self.card.std)
        self.torch = torch

    def predict(self, context, model_input, params=None):
        """Probabilities, N x classes (float32), in the order of the card's classes."""
        torch = self.torch
        images = np.asarray(model_input)
        expected = (self.card.in_channels, self.card.image_size, self.card.image_size)
        if images.ndim != 4 or images.shape[1:] != expected or images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images of shape N x {' x '.join(map(str, expected))}, "
                             f"got {images.dtype} {images.shape}")
        with torch.inference_mode():
            x = self.normalize(torch.from_numpy(np.ascontiguousarray(images)).float() / 255.0)
            return torch.softmax(self.model(x), dim=1).numpy()


def log_model(weights: Path, card: Path, example: np.ndarray) -> None:
    """Log the trained model as the active MLflow run's pyfunc model "model": this file as its
    code, weights and card as its artifacts, `example` (uint8 images) as its input example,
    and the signature of what the model answers for them."""
    from mlflow.models import infer_signature

    probabilities = classifier(str(weights), str(card)).predict(None, example)
    mlflow.pyfunc.log_model(
        name="model", python_model=__file__, artifacts={WEIGHTS: str(weights), CARD: str(card)},
        signature=infer_signature(example, probabilities), input_example=example,
        # Given, not inferred: MLflow would otherwise load the model in a subprocess to find them.
        pip_requirements=[f"{package}=={version(package)}" for package in ("cnnlab", "torch", "mlflow", "numpy")])


def classifier(weights: str, card: str) -> TrainedClassifier:
    """The pyfunc model straight from a model folder's files (as MLflow loads it)."""
    model = TrainedClassifier()
    model.load_context(type("Context", (), {"artifacts": {WEIGHTS: weights, CARD: card}})())
    return model


mlflow.models.set_model(TrainedClassifier())
