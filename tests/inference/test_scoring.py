"""The model stage: customer texts only, each distinct text scored once, a bounded cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engage_stream.config.settings import load_settings
from engage_stream.inference.embedder import Embedder
from engage_stream.inference.model_folder import EMBEDDING
from engage_stream.inference.scoring import Scorer
from engage_stream.schemas.actions import ModelStamp
from engage_stream.schemas.events import CrmEvent, crm_event_adapter

Bindings = dict[str, Path]


def chat(n: int, text: str, sender: str = "customer") -> CrmEvent:
    return crm_event_adapter.validate_python(
        {
            "event_id": f"e{n}",
            "event_type": "chat.message",
            "occurred_at": datetime(2026, 11, 26, tzinfo=UTC).isoformat(),
            "customer_id": "c1",
            "source": "kakao",
            "payload": {"text": text, "sender": sender},
        }
    )


def page_view(n: int) -> CrmEvent:
    return crm_event_adapter.validate_python(
        {
            "event_id": f"p{n}",
            "event_type": "page.view",
            "occurred_at": datetime(2026, 11, 26, tzinfo=UTC).isoformat(),
            "customer_id": "c1",
            "source": "web",
            "payload": {"url": "https://shop.example/"},
        }
    )


@pytest.fixture(scope="module")
def models() -> Bindings:
    """The registry's defaults: the shipped multi-head model for every head."""
    return load_settings().model_bindings()


@pytest.fixture
def scorer(models: Bindings) -> Iterator[Scorer]:
    loaded = Scorer.load(models, device="cpu", precision="fp32", cache_size=2)
    yield loaded
    loaded.close()


def test_only_customer_texts_are_scored(scorer: Scorer) -> None:
    results, timing = scorer.score(
        [chat(1, "배송 언제 와요?"), chat(2, "곧 도착해요", "bot"), page_view(3)]
    )
    assert results[0] is not None
    assert results[0].intent is not None
    assert results[0].topic is not None
    assert results[1:] == [None, None]
    assert timing.texts == 1
    assert timing.cached == 0


def test_a_text_repeated_in_a_batch_goes_through_the_models_once(scorer: Scorer) -> None:
    results, timing = scorer.score([chat(1, "네"), chat(2, "네"), chat(3, "감사합니다")])
    assert timing.texts == 2
    assert results[0] is results[1]


def test_a_text_seen_before_costs_no_model_time_and_scores_the_same(scorer: Scorer) -> None:
    (first,), _ = scorer.score([chat(1, "상담원 연결해 주세요")])
    (again,), timing = scorer.score([chat(2, "상담원 연결해 주세요")])
    assert timing.texts == 0
    assert timing.cached == 1
    assert timing.seconds_by_model == {}
    assert again == first
    assert (scorer.hits, scorer.misses) == (1, 1)


def test_the_cache_keeps_only_the_most_recent_texts(scorer: Scorer) -> None:
    scorer.score([chat(1, "하나"), chat(2, "둘"), chat(3, "셋")])  # cache_size=2: 하나 is out
    _, timing = scorer.score([chat(4, "둘"), chat(5, "셋")])
    assert timing.texts == 0
    _, timing = scorer.score([chat(6, "하나")])
    assert timing.texts == 1


def test_cache_size_zero_scores_every_batch(models: Bindings) -> None:
    with_no_cache = Scorer.load(models, device="cpu", cache_size=0)
    try:
        with_no_cache.score([chat(1, "네")])
        _, timing = with_no_cache.score([chat(2, "네")])
        assert timing.texts == 1
    finally:
        with_no_cache.close()


# -- the vectors the drafter reads ---------------------------------------------------------


def test_the_scoring_pass_keeps_the_vectors_the_drafter_s_encoder_would_make(
    scorer: Scorer, models: Bindings
) -> None:
    encoder = Embedder.load(models["intent"], head=EMBEDDING, device="cpu", precision="fp32")
    try:
        vectors = scorer.share_vectors(encoder.stamp)
        assert vectors is not None
        assert vectors.spaces_free  # WordPiece: "a\n b" and "a b" are the same tokens
        texts = ["배송 언제 와요?", "환불은 며칠 걸리나요", "네"]
        scorer.score([chat(n, text) for n, text in enumerate(texts)])
        alone = encoder.embed(texts).vectors
    finally:
        encoder.close()
    for text, row in zip(texts, alone, strict=True):
        kept = vectors.get(text)
        assert kept is not None
        assert float(kept @ row) > 0.9999


def test_texts_scored_from_the_cache_keep_their_vectors(scorer: Scorer) -> None:
    vectors = scorer.share_vectors(scorer.stamps[0])
    assert vectors is not None
    scorer.score([chat(1, "상담원 연결해 주세요")])
    scorer.score([chat(2, "상담원 연결해 주세요")])  # a cache hit: no model run
    assert vectors.get("상담원 연결해 주세요") is not None


def test_no_vectors_are_shared_for_a_model_the_scorer_does_not_run(scorer: Scorer) -> None:
    other = ModelStamp(name="another-encoder", version="1", sha256="5" * 64)
    assert scorer.share_vectors(other) is None
    assert scorer.vectors is None
