"""ONNX export of trained models (training/export extra: torch, transformers, optimum).

Nothing here imports torch or optimum until an export runs, so the command's help and
the checks of the Hugging Face folder work without them.
"""

from engage_stream.export.exporter import FILES, ExportReport, export_model
from engage_stream.export.hf_dir import ExportError, HfModelDir, read_hf_dir
from engage_stream.export.parity import PARITY_TEXTS, ParityReport

__all__ = [
    "FILES",
    "PARITY_TEXTS",
    "ExportError",
    "ExportReport",
    "HfModelDir",
    "ParityReport",
    "export_model",
    "read_hf_dir",
]
