"""Reply drafting: the shop's knowledge bank (`bank_file`, `knowledge`), the facts of an
order (`facts`), what a draft is (`draft`) and the drafter that writes one (`drafter`).

`Drafter.load(models/knowledge-bank, models/multihead-ko, sender=..., zone=...)`, then
`draft(Question(text, topic, score), order=OrderFacts(...), name=..., tone=...)`; no torch,
only ONNX Runtime, `tokenizers` and NumPy. Nothing is imported here, so the core can read
drafts (`draft`, `facts`) without loading the engine.
"""
