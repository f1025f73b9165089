"""The sample shop's shipped texts (engage_stream/samples/data): each file says what it is,
is read once and checked, and the stream built from them is the one it always was."""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib import resources
from pathlib import Path

import pytest

from engage_stream.samples import content as content_module
from engage_stream.samples import generator
from engage_stream.samples.content import SampleContentError, load_content, sample_content
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.samples.shop_lines import NICKNAMES
from engage_stream.schemas.events import TicketCategory

DATA = Path(str(resources.files("engage_stream.samples") / "data"))

STREAM_DIGEST = "8fbb3a65bf5a5cb810c7046d3747f6ef9af755298800e9a481b2a887132cc5ac"
"""The built-in stream (seed 7, 40 customers, no corpora, no shop files): profiles and
the first 1,500 events. Recorded before the literals moved out of generator.py, and again
when Kakao became two channels: profiles name `kakao_friendtalk` (was `kakao`) and say
`kakao_friend`; written back in the old names they give the earlier digest, f0441ed8f536…"""


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    return copy


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_the_built_in_stream_is_the_one_it_always_was() -> None:
    stream = SampleStream(SampleConfig(seed=7, customers=40, data_dir=None, shop_dir=None))
    digest = hashlib.sha256()
    documents = [p.model_dump(mode="json", exclude_defaults=True) for p in stream.profiles]
    documents += [e.model_dump(mode="json", exclude_defaults=True) for e in stream.events(1_500)]
    for document in documents:
        digest.update(json.dumps(document, sort_keys=True, ensure_ascii=False).encode())
    assert digest.hexdigest() == STREAM_DIGEST, (
        "the built-in sample stream changed: benchmarks and evaluation runs across this "
        "change are not comparable; if it was meant, record the new STREAM_DIGEST"
    )


def test_every_data_file_says_what_it_is_and_that_it_was_written_for_the_sample_shop() -> None:
    files = sorted(DATA.glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        header = path.read_text("utf-8").split("\n\n", 1)[0]
        assert header.startswith("# "), path.name
        assert "Written for the sample shop" in header, path.name


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.yaml")))
def test_every_data_file_is_read_and_a_missing_one_is_named(data_copy: Path, name: str) -> None:
    (data_copy / name).unlink()
    with pytest.raises(SampleContentError, match=name):
        load_content(data_copy)


def test_the_content_is_read_once_and_not_per_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sample_content() is sample_content()

    def refuse(*_: object) -> None:
        raise AssertionError("a data file was read again")

    monkeypatch.setattr(content_module, "_read", refuse)
    stream = SampleStream(SampleConfig(seed=2, customers=10, data_dir=None, shop_dir=None))
    assert len(list(stream.events(300))) == 300


@pytest.mark.parametrize(
    ("name", "old", "new", "says"),
    [
        ("customer-lines.yaml", "주문번호 {order_id} 건이요", "주문번호 건이요", "order_id"),
        ("customer-lines.yaml", '"{item} 주문한 건이요"', '"{item} {size} 주문"', "item"),
        ("email-frame.yaml", "급하면 {phone}로", "급하면 {phones}로", "phone"),
        ("people.yaml", "roman: kim, weight: 213", "roman: kim, weight: -1", "greater than 0"),
        ("people.yaml", "roman: kim,", "roman: 12,", "valid string"),
        ("catalogue.yaml", "sku: SKU-TEE-02", "sku: SKU-TEE-01", "share a sku"),
        ("catalogue.yaml", "price_krw: 19900", "price_krw: 19900\n    colour: red", "colour"),
        ("topics.yaml", "category: delivery", "category: shipping", "category"),
        ("topics.yaml", "  account: account\n", "  account: membership\n", "shop_question_tickets"),
        ("bot-lines.yaml", "greeting: 안녕하세요", "greeting: ''\nx: 안녕하세요", "greeting"),
    ],
)
def test_a_broken_data_file_is_refused_with_its_name(
    data_copy: Path, name: str, old: str, new: str, says: str
) -> None:
    _edit(data_copy, name, old, new)
    with pytest.raises(SampleContentError, match=name) as refused:
        load_content(data_copy)
    assert says in str(refused.value)


def test_a_category_no_ticket_can_be_logged_under_is_refused(data_copy: Path) -> None:
    text = (data_copy / "topics.yaml").read_text("utf-8")
    start = text.index("    tickets:\n", text.index("  account:"))
    end = text.index("  product:", start)
    (data_copy / "topics.yaml").write_text(text[:start] + text[end:], "utf-8")
    with pytest.raises(SampleContentError, match="no ticket for"):
        load_content(data_copy)


def test_a_frustrated_customer_needs_four_different_complaints_to_choose_from(
    data_copy: Path,
) -> None:
    text = (data_copy / "customer-lines.yaml").read_text("utf-8")
    start = text.index("negative:\n")
    end = text.index("abusive:\n")
    kept = "negative:\n  - 답답하네요 진짜\n  - 하 진짜\n  - 너무 불편하네요\n"
    (data_copy / "customer-lines.yaml").write_text(text[:start] + kept + text[end:], "utf-8")
    with pytest.raises(SampleContentError, match="negative"):
        load_content(data_copy)


def test_the_generators_lines_are_the_data_files_lines() -> None:
    content = sample_content()
    for topic in content.topics.topics.values():
        assert set(topic.questions) <= set(generator.CUSTOMER_LINES)
        assert set(topic.answers) <= set(generator.BOT_LINES)
        assert {(e.subject, e.body) for e in topic.emails} <= set(generator.EMAIL_QUESTIONS)
    assert generator.BOT_FALLBACK[: len(content.bot.not_understood)] == content.bot.not_understood
    assert content.customer.human_requests == generator.HUMAN_REQUESTS
    assert content.catalogue.carriers == generator.CARRIERS
    assert {p.name for p in content.catalogue.products} <= set(NICKNAMES)
    assert "운동화" in NICKNAMES, "a nickname from the catalogue file"
    tickets = content.topics.tickets()
    assert set(tickets) == set(TicketCategory)
    assert next(iter(tickets)) == TicketCategory.OTHER, "the order the stream draws from"
