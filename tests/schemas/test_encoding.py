"""Every document leaves as the same compact UTF-8 JSON, whichever shell writes it."""

from __future__ import annotations

import json
from dataclasses import replace

from engage_stream.schemas.encoding import encoded
from engage_stream.schemas.enriched import ScoredEvent
from engage_stream.schemas.scores import Scores
from tests.core.builders import chat, email_in, scores, source


def test_encoded_is_the_documents_json_as_utf8_bytes() -> None:
    event = chat("e-1", "배송 언제 와요?? 😭 주문번호 A-1")
    document = ScoredEvent(event=event, source=source(7), predictions=scores("question").view())

    raw = encoded(document)

    assert isinstance(raw, bytes)
    assert raw == document.model_dump_json().encode()
    assert "배송 언제 와요?? 😭".encode() in raw  # Korean and emoji as they are, not \u escapes
    assert ScoredEvent.model_validate_json(raw) == document


def test_encoded_round_trips_an_email_with_newlines_and_quotes() -> None:
    event = email_in("e-2", body='첫 줄\n"따옴표" 둘째 줄\t탭', subject="문의 \\ 백슬래시")

    assert json.loads(encoded(event))["payload"]["body"] == '첫 줄\n"따옴표" 둘째 줄\t탭'


def test_scores_read_from_a_view_give_that_view_back() -> None:
    view = scores("complaint", toxicity="toxic").view()

    decoded = Scores.from_view(view)

    assert decoded is not None
    assert decoded.view() is view  # not built again for the enriched record
    assert decoded.intent is not None
    assert decoded.intent.label == "complaint"


def test_the_kept_view_does_not_count_when_scores_are_compared() -> None:
    made = scores("question")

    decoded = Scores.from_view(made.view())

    assert decoded is not None
    assert decoded == replace(decoded, decoded_from=None)
    assert decoded.view() == made.view()
