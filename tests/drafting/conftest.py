"""A tiny drafter folder: the tiny exported encoder, a bank of real chatbot answers, the
default templates; made by the same `ship` code that makes models/drafter-ko."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from engage_stream.training.corpora import load_chatbot
from engage_stream.training.splits import PairSplit, split_pairs
from tests.tiny_models import TinyModels, tiny_models


@dataclass(frozen=True)
class TinyDrafter:
    folder: Path
    data: PairSplit


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory)


@pytest.fixture(scope="session")
def tiny_drafter(tiny: TinyModels, tmp_path_factory: pytest.TempPathFactory) -> TinyDrafter:
    from engage_stream.training.drafter import DrafterConfig, ship

    full = split_pairs(load_chatbot())
    data = PairSplit(
        train_questions=full.train_questions[:300],
        train_answers=full.train_answers[:300],
        val_questions=full.val_questions[:60],
        val_answers=full.val_answers[:60],
        seed=full.seed,
    )
    folder = tmp_path_factory.mktemp("drafters") / "drafter-ko"
    ship(tiny.hf_encoder, folder, data, "question", DrafterConfig(budget_ms=2_000.0), {})
    return TinyDrafter(folder, data)
