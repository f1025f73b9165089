"""Reply drafting at run time: a sentence encoder over a response bank, plus templates.

`Drafter.load(models/drafter-ko)` then `draft(text, intent=..., profile=...)` or
`await adraft(...)`; no torch, only ONNX Runtime, `tokenizers` and NumPy.
"""

from engage_stream.drafting.bank import DrafterError, ResponseBank, load_bank
from engage_stream.drafting.drafter import Draft, Drafter
from engage_stream.drafting.politeness import is_polite
from engage_stream.drafting.templates import TemplateError, TemplateSet

__all__ = [
    "Draft",
    "Drafter",
    "DrafterError",
    "ResponseBank",
    "TemplateError",
    "TemplateSet",
    "is_polite",
    "load_bank",
]
