"""The run-time inference engine: ONNX Runtime, `tokenizers` and NumPy, never torch.

`Classifier.load(models/intent-ko)` or `Classifier.from_settings(settings, "intent-ko")`,
then `predict(texts)` from any thread or `await apredict(texts)` from the event loop.
"""

from engage_stream.inference.classifier import Classifier
from engage_stream.inference.embedder import Embedder, Embeddings
from engage_stream.inference.model_folder import (
    ModelFolder,
    ModelFolderError,
    ModelManifest,
    load_model_folder,
)
from engage_stream.inference.providers import DeviceError, RuntimeChoice
from engage_stream.schemas.scores import Prediction

__all__ = [
    "Classifier",
    "DeviceError",
    "Embedder",
    "Embeddings",
    "ModelFolder",
    "ModelFolderError",
    "ModelManifest",
    "Prediction",
    "RuntimeChoice",
    "load_model_folder",
]
