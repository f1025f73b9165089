"""The sample shop's knowledge bank, built with a stand-in encoder, and a drafter over it.

The stand-in encoder hashes character trigrams into a fixed-width unit vector: nothing
learnt, deterministic, fast, and enough to exercise every code path that a real encoder
takes (the shipped encoder is tested in test_shipped_drafter.py).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.drafting.drafter import Drafter
from engage_stream.drafting.knowledge import KnowledgeBank, build_bank
from engage_stream.inference.embedder import Embeddings
from engage_stream.schemas.actions import ModelStamp

SHOP_BANK = PROJECT_ROOT / "data" / "sample-shop" / "knowledge-bank.yaml"
SEOUL = ZoneInfo("Asia/Seoul")
SENDER = {"shop_name": "engage-stream 샵", "contact": "고객센터 1588-0000"}
WIDTH = 64


@dataclass
class HashEncoder:
    """Character trigrams hashed into WIDTH buckets; `delay_s` makes it slow on purpose."""

    delay_s: float = 0.0
    calls: list[str] = field(default_factory=list)

    @property
    def stamp(self) -> ModelStamp:
        return ModelStamp(name="hash-encoder", version="test", sha256="4" * 64)

    def embed(self, texts: Sequence[str]) -> Embeddings:
        self.calls.extend(texts)
        if self.delay_s:
            time.sleep(self.delay_s)
        rows = np.zeros((len(texts), WIDTH), dtype=np.float32)
        for i, text in enumerate(texts):
            squeezed = "".join(text.split())
            for j in range(max(1, len(squeezed) - 2)):
                digest = hashlib.sha256(squeezed[j : j + 3].encode()).digest()
                rows[i, digest[0] % WIDTH] += 1.0
        norms = np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        return Embeddings(rows / norms, [False] * len(texts), self.stamp)


TOPICS = (
    "account",
    "contact_hours",
    "coupon_points",
    "defect_claim",
    "delivery_address",
    "delivery_status",
    "exchange_request",
    "order_cancel",
    "other",
    "payment",
    "product_info",
    "receipt",
    "refund_status",
    "restock",
    "return_request",
    "shipping_fee",
)
"""The sample shop's taxonomy, as the topic head's manifest lists it."""


@pytest.fixture(scope="session")
def bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("banks") / "knowledge-bank"
    build_bank(SHOP_BANK, out, topics=TOPICS, topic_model="topics-test", encoder=HashEncoder())
    return out


@pytest.fixture(scope="session")
def bank(bank_dir: Path) -> KnowledgeBank:
    return KnowledgeBank.load(bank_dir)


@pytest.fixture
def drafter(bank: KnowledgeBank) -> Iterator[Drafter]:
    with Drafter(bank, HashEncoder(), sender=SENDER, zone=SEOUL, budget_ms=2_000) as made:
        yield made
