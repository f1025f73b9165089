"""Customer questions from the sample shop's check files, each with the answer it expects.

`bank-check.jsonl` holds questions with the knowledge-bank answer that answers them (or
none), `topic-check.jsonl` questions with their topic only; `knowledge-bank.yaml` says which
of the customer's orders each answer speaks of. The stream asks a question only where the
customer's order is in that state, so a draft for it can be checked against the order's
facts, and the file's topic and answer id become the question's label.

The files are read with json and yaml directly: importing `engage_stream.drafting` would
load ONNX Runtime into every producer. Missing or unreadable files give no lines, and the
stream then uses its built-in lines alone (the worker image has no `data/` folder).
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.samples.content import sample_content

SHOP_DATA_DIR = PROJECT_ROOT / "data" / "sample-shop"

OrderState = Literal["placed", "shipped", "delivered", "cancelled", "refunded"]
"""Where a customer's latest order stands: the last step it has reached."""
OrderNeed = Literal["any", "placed", "shipped", "delivered", "cancelled", "refunded"]
"""Which order an answer speaks of: any order, or one in that state (the bank's `order:`)."""
ORDER_STATES: tuple[OrderState, ...] = ("placed", "shipped", "delivered", "cancelled", "refunded")

ORDER_NUMBER = re.compile(r"(?:ORD-)?\d{8}-\d{4}")
"""How the check files write an order number; the stream puts the customer's own in."""

_CATALOGUE = sample_content().catalogue
NICKNAMES = tuple(
    sorted(
        {name for p in _CATALOGUE.products for name in (p.name, *p.nicknames)},
        key=lambda name: (-len(name), name),
    )
)
"""How the check files name the catalogue's products (data/catalogue.yaml), longest first:
the stream puts the customer's own item in, so a question asks about what they ordered."""
_PRODUCT = re.compile("|".join(re.escape(n) for n in NICKNAMES))

_EXACT_SHARE = 0.5
"""With an order, this share of questions needs exactly the order's state."""
_ANY_ORDER_SHARE = 0.15
"""And this share is about any order (a payment amount, a tax invoice)."""
_TOPIC_CHECK_SHARE = 0.25
"""Of the general questions, this share comes from topic-check (no answer id)."""


def default_shop_dir() -> Path | None:
    """The repository's data/sample-shop when it is there, else None (built-in lines only)."""
    return SHOP_DATA_DIR if SHOP_DATA_DIR.is_dir() else None


@dataclass(frozen=True, slots=True)
class ShopLine:
    text: str
    topic: str
    answer_id: str | None
    need: OrderNeed | None
    """The order the question is about: its answer's; `any` for a line that names an order
    number, or a topic-check line on a topic whose answers mostly speak of an order; None:
    a general question, fine without any order."""
    judged: bool = True
    """The answer id is a judgement (bank-check: that answer, or none fits); False for a
    topic-check line, whose answer nobody judged."""

    def text_for(self, order_id: str | None, item: str | None = None) -> str:
        """The text with the customer's own order number and item in place of the file's."""
        text = self.text
        if order_id is not None:
            text = ORDER_NUMBER.sub(order_id, text)
        if item is not None:
            text = _PRODUCT.sub(nickname(item), text)
        return text


def nickname(item: str) -> str:
    """What a customer calls an item: the catalogue nickname it contains (경량 패딩 자켓 ->
    패딩), else its name."""
    short = [n for n in NICKNAMES if n in item and n != item]
    return min(short, key=len) if short else item


def blank_products(text: str) -> str:
    """The text with every product name or nickname as `@` (to compare lines)."""
    return _PRODUCT.sub("@", text)


@dataclass(frozen=True)
class LinePool:
    """One channel's questions, grouped by the order state they need."""

    general: tuple[ShopLine, ...] = ()
    general_extra: tuple[ShopLine, ...] = ()
    """General questions from topic-check, drawn less often than the bank-check ones."""
    any_order: tuple[ShopLine, ...] = ()
    by_state: Mapping[OrderState, tuple[ShopLine, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.general or self.general_extra)

    def choose(self, rng: random.Random, state: OrderState | None) -> ShopLine:
        """A question that fits `state`, preferring ones about an order in exactly that state."""
        if state is not None:
            draw = rng.random()
            exact = self.by_state.get(state, ())
            if draw < _EXACT_SHARE and exact:
                return rng.choice(exact)
            if draw < _EXACT_SHARE + _ANY_ORDER_SHARE and self.any_order:
                return rng.choice(self.any_order)
        extra = bool(self.general_extra) and (not self.general or rng.random() < _TOPIC_CHECK_SHARE)
        return rng.choice(self.general_extra if extra else self.general)

    @classmethod
    def of(cls, bank_check: Iterable[ShopLine], topic_check: Iterable[ShopLine]) -> LinePool:
        general: list[ShopLine] = []
        extra: list[ShopLine] = []
        any_order: list[ShopLine] = []
        by_state: dict[OrderState, list[ShopLine]] = {}
        for source, lines in ((general, bank_check), (extra, topic_check)):
            for line in lines:
                if line.need is None:
                    source.append(line)
                elif line.need == "any":
                    any_order.append(line)
                else:
                    by_state.setdefault(line.need, []).append(line)
        return cls(
            tuple(general),
            tuple(extra),
            tuple(any_order),
            {state: tuple(lines) for state, lines in by_state.items()},
        )


@dataclass(frozen=True)
class ShopLines:
    chat: LinePool = field(default_factory=LinePool)
    email: LinePool = field(default_factory=LinePool)
    """E-mail texts are "subject\\nbody"."""
    needs: Mapping[str, OrderNeed | None] = field(default_factory=dict)
    """The bank's answers: id -> the order it speaks of."""

    def __bool__(self) -> bool:
        return bool(self.chat or self.email)


@functools.lru_cache(maxsize=4)
def load_shop_lines(directory: Path | None) -> ShopLines:
    """Read the check files and the bank's order needs; what is missing adds nothing.

    A bank-check line whose answer the bank does not have is left out: its order state
    cannot be known, and its label would point nowhere."""
    if directory is None:
        return ShopLines()
    answers = _bank_answers(directory / "knowledge-bank.yaml")
    needs = {answer_id: need for answer_id, (_, need) in answers.items()}
    order_topics = _order_topics(answers.values())
    bank_check: dict[str, list[ShopLine]] = {"chat": [], "email": []}
    for row in _rows(directory / "bank-check.jsonl"):
        answer_id = row.get("answer_id")
        topic = row.get("topic")
        if not isinstance(topic, str) or not (answer_id is None or answer_id in needs):
            continue
        need = needs[answer_id] if isinstance(answer_id, str) else None
        _add(bank_check, row, topic, answer_id, need)
    topic_check: dict[str, list[ShopLine]] = {"chat": [], "email": []}
    for row in _rows(directory / "topic-check.jsonl"):
        topic = row.get("label")
        if isinstance(topic, str):
            need = "any" if topic in order_topics else None
            _add(topic_check, row, topic, None, need, judged=False)
    return ShopLines(
        chat=LinePool.of(bank_check["chat"], topic_check["chat"]),
        email=LinePool.of(bank_check["email"], topic_check["email"]),
        needs=needs,
    )


def _add(
    into: dict[str, list[ShopLine]],
    row: Mapping[str, Any],
    topic: str,
    answer_id: str | None,
    need: OrderNeed | None,
    judged: bool = True,
) -> None:
    text, channel = row.get("text"), row.get("channel")
    if not isinstance(text, str) or channel not in into or not text.strip():
        return
    if channel == "email":
        subject, _, body = text.partition("\n")
        if not subject.strip() or not body.strip():
            return
    if need is None and ORDER_NUMBER.search(text):
        need = "any"
    into[channel].append(ShopLine(text, topic, answer_id, need, judged))


def _rows(path: Path) -> Iterator[Mapping[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            yield row


def _order_topics(answers: Iterable[tuple[str, OrderNeed | None]]) -> set[str]:
    """Topics most of whose answers speak of an order: a question on one without an answer
    id is still most likely about the customer's order."""
    counts: dict[str, list[int]] = {}
    for topic, need in answers:
        counts.setdefault(topic, [0, 0])[need is not None] += 1
    return {topic for topic, (general, ordered) in counts.items() if ordered > general}


def _bank_answers(path: Path) -> dict[str, tuple[str, OrderNeed | None]]:
    """Answer id -> (topic, order need); libyaml, where it is built in, reads the bank ten
    times faster than the pure-Python loader."""
    try:
        text = path.read_text(encoding="utf-8")
        if yaml.__with_libyaml__:
            document = yaml.load(text, Loader=yaml.CSafeLoader)
        else:
            document = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    answers = document.get("answers") if isinstance(document, dict) else None
    found: dict[str, tuple[str, OrderNeed | None]] = {}
    for answer in answers if isinstance(answers, list) else []:
        if not isinstance(answer, dict):
            continue
        answer_id, topic, order = answer.get("id"), answer.get("topic"), answer.get("order")
        if not isinstance(answer_id, str) or not isinstance(topic, str):
            continue
        if order is None or order == "any" or order in ORDER_STATES:
            found[answer_id] = (topic, cast("OrderNeed | None", order))
    return found
