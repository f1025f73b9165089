"""The shipped knowledge bank and encoder load together and answer the issue's questions;
checked here, never rebuilt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from engage_stream.config.settings import load_settings
from engage_stream.drafting.bank_file import load_bank_file
from engage_stream.drafting.draft import Question
from engage_stream.drafting.drafter import Drafter
from engage_stream.drafting.facts import OrderFacts
from engage_stream.drafting.knowledge import MANIFEST, SOURCE
from engage_stream.drafting.politeness import is_polite
from engage_stream.inference.model_folder import load_model_folder, sha256_of
from tests.drafting.conftest import SENDER, SEOUL, SHOP_BANK

SETTINGS = load_settings()
BANK = SETTINGS.model_path(SETTINGS.knowledge_bank)
ENCODER = SETTINGS.model_path(SETTINGS.model_embedding)


@pytest.fixture(scope="module")
def drafter() -> Iterator[Drafter]:
    with Drafter.load(BANK, ENCODER, sender=SENDER, zone=SEOUL, device="cpu") as loaded:
        yield loaded


def test_the_shipped_bank_is_the_sample_shop_s_file_built_by_the_shipped_encoder() -> None:
    manifest = json.loads((BANK / MANIFEST).read_text())
    assert manifest["sha256"][SOURCE] == sha256_of(SHOP_BANK), "run `engage-stream bank build`"
    folder = load_model_folder(ENCODER)
    assert manifest["encoder"]["sha256"] == sha256_of(folder.weight_files["int8"])
    topics = load_model_folder(SETTINGS.model_path(SETTINGS.model_topic)).head("topic").labels
    assert manifest["topics"] == list(topics)
    load_bank_file(SHOP_BANK, topics)


def test_a_shipped_padding_jacket_question_is_answered_with_its_tracking(
    drafter: Drafter,
) -> None:
    order = OrderFacts(
        order_id="ORD-G1",
        status="shipped",
        items=("경량 패딩 자켓",),
        placed_at=datetime(2026, 11, 27, 3, tzinfo=UTC),
        carrier="CJ대한통운",
        tracking_number="612345678901",
        estimated_delivery=date(2026, 11, 30),
    )
    question = Question("주문한 패딩 언제 와요?", "delivery_status", 0.9, "E1")
    draft = drafter.draft(question, order=order, name="김하준", budget_ms=2_000)
    assert draft.kind == "grounded"
    assert draft.suggestions[0].answer_id == "delivery_status.shipped"
    assert all(fact in draft.text for fact in ("경량 패딩 자켓", "CJ대한통운", "612345678901"))
    assert is_polite(draft.text)
    assert {m.name for m in draft.models} == {"sample-shop", load_model_folder(ENCODER).name}
