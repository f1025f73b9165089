"""Reply drafting at run time: the shop's knowledge bank, retrieval, grounded answers.

`Drafter.load(models/knowledge-bank, models/multihead-ko, sender=..., zone=...)`, then
`draft(Question(text, topic, score), order=OrderFacts(...), name=..., tone=...)`; no torch,
only ONNX Runtime, `tokenizers` and NumPy.
"""

from engage_stream.drafting.bank_file import Answer, BankError, BankFile, load_bank_file
from engage_stream.drafting.drafter import Draft, Drafter, Question, Suggestion, Tone
from engage_stream.drafting.facts import OrderFacts
from engage_stream.drafting.knowledge import KnowledgeBank, build_bank
from engage_stream.drafting.politeness import is_polite

__all__ = [
    "Answer",
    "BankError",
    "BankFile",
    "Draft",
    "Drafter",
    "KnowledgeBank",
    "OrderFacts",
    "Question",
    "Suggestion",
    "Tone",
    "build_bank",
    "is_polite",
    "load_bank_file",
]
