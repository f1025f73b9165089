"""The knowledge bank a shop writes: its rules, its answers, and the frame of every reply.

A YAML file the shop's customer-service team owns (`data/sample-shop/knowledge-bank.yaml`
is the sample shop's). `load_bank_file` reads and checks it: every answer is polite in
every sentence, uses only the fields it may use (the facts of the order it speaks of, the
shop's own rules, the sender from the policy file), and belongs to a topic the topic model
knows. Every problem names the answer id and what is wrong.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from engage_stream.drafting.fields import FieldError, FieldText, parse
from engage_stream.drafting.politeness import is_polite

OrderNeed = Literal["any", "placed", "shipped", "delivered", "cancelled", "refunded"]
"""Which of the customer's orders an answer speaks of: any order, or one in that state."""

_ORDER = frozenset({"order_id", "item", "order_total", "placed_at"})
ORDER_FIELDS: dict[OrderNeed, frozenset[str]] = {
    "any": _ORDER,
    "placed": _ORDER,
    "shipped": _ORDER | {"carrier", "tracking_number", "eta"},
    "delivered": _ORDER | {"carrier", "tracking_number", "eta", "delivered_at"},
    "cancelled": _ORDER | {"cancelled_at"},
    "refunded": _ORDER | {"cancelled_at", "refund_amount", "refunded_at"},
}
"""The order fields an answer may use, by the order it speaks of."""
SENDER_FIELDS = frozenset({"shop_name", "contact"})
"""Filled from the policy file's sender at run time, so bank and policy cannot disagree."""
CUSTOMER_FIELDS = frozenset({"name"})
MAX_ANSWER_CHARS = 300
_ID = r"^[a-z][a-z0-9_.-]{0,63}$"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SAMPLE_VALUES = {
    "name": "김민지",
    "order_id": "ORD-20261128-0042",
    "item": "경량 패딩 자켓",
    "order_total": "89,000원",
    "placed_at": "11월 28일",
    "carrier": "CJ대한통운",
    "tracking_number": "612345678901",
    "eta": "11월 30일(월)",
    "delivered_at": "11월 30일",
    "cancelled_at": "11월 29일",
    "refund_amount": "89,000원",
    "refunded_at": "11월 29일",
    "shop_name": "engage-stream 샵",
    "contact": "고객센터 1588-0000",
}


class BankError(Exception):
    """The knowledge bank cannot be used; `problems` name the answer id and the fault."""

    def __init__(self, source: Path | str, problems: list[str]) -> None:
        super().__init__(f"knowledge bank {source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnswerSpec(_Spec):
    id: str = Field(pattern=_ID)
    topic: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=100, description="For the agent's screen.")
    order: OrderNeed | None = Field(
        default=None, description="The customer's order the answer speaks of; none: general."
    )
    auto_send: bool = Field(
        default=False, description="May go to the customer by e-mail without a person."
    )
    questions: list[str] = Field(min_length=1, max_length=50)
    answer: str = Field(min_length=1, max_length=1_000)


class RepliesSpec(_Spec):
    """The frame around an answer: each list's first alternative whose fields are known."""

    greeting: list[str] = Field(min_length=1)
    apology: list[str] = Field(min_length=1, description="Instead of the greeting: upset.")
    calm: list[str] = Field(min_length=1, description="After an abusive turn: de-escalates.")
    closing: list[str] = Field(min_length=1)
    no_answer: dict[str, str] = Field(
        description="By topic, and `default`: said when no answer fits the question."
    )
    max_chars: int = Field(default=400, ge=100, le=1_000)

    @field_validator("no_answer")
    @classmethod
    def _has_default(cls, value: dict[str, str]) -> dict[str, str]:
        if "default" not in value:
            raise ValueError("needs a `default` line")
        return value


class BankFileSpec(_Spec):
    name: str = Field(pattern=_ID)
    version: str = Field(min_length=1, max_length=100)
    shop: dict[str, str] = Field(default_factory=dict, description="Rules stated once.")
    replies: RepliesSpec
    answers: list[AnswerSpec] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Answer:
    id: str
    topic: str
    title: str
    order: OrderNeed | None
    auto_send: bool
    questions: tuple[str, ...]
    text: FieldText


@dataclass(frozen=True)
class BankFile:
    """A checked bank file: answers parsed once, shop rules as field values."""

    spec: BankFileSpec
    answers: tuple[Answer, ...]
    sha256: str
    """Of the file's bytes: which version of the shop's text made a draft."""

    @property
    def topics(self) -> set[str]:
        return {a.topic for a in self.answers}

    def check_topics(self, labels: Collection[str], source: str) -> None:
        """Every topic the bank uses (answers and no-answer lines) is a label of the topic
        model; `source` names the model in the message."""
        used = self.topics | (set(self.spec.replies.no_answer) - {"default"})
        unknown = sorted(used - set(labels))
        if unknown:
            raise BankError(
                self.spec.name,
                [f"topics {unknown} are not labels of {source} (its labels: {sorted(labels)})"],
            )


def load_bank_file(path: Path, topics: Collection[str] | None = None) -> BankFile:
    """Read and check a bank file; with `topics`, also that every topic is one of them."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        document = yaml.safe_load(raw.decode("utf-8"))
    except OSError as exc:
        raise BankError(path, [f"cannot read: {exc.strerror}"]) from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BankError(path, [f"not readable YAML: {exc}"]) from None
    try:
        spec = BankFileSpec.model_validate(document)
    except ValidationError as exc:
        problems = [_located(error, document) for error in exc.errors(include_url=False)]
        raise BankError(path, problems) from None
    bank = BankFile(spec, tuple(_answers(path, spec)), hashlib.sha256(raw).hexdigest())
    if topics is not None:
        bank.check_topics(topics, "the topic model")
    return bank


def _located(error: ErrorDetails, document: object) -> str:
    """A validation error with the answer's id instead of its list index."""
    loc = [str(part) for part in error["loc"]]
    message = error["msg"].removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "answers" and isinstance(document, dict):
        answers = document.get("answers")
        index = int(loc[1])
        if isinstance(answers, list) and index < len(answers) and isinstance(answers[index], dict):
            name = answers[index].get("id") or f"#{index + 1}"
            return f"answer {name}: {'.'.join(loc[2:]) or 'entry'}: {message}"
    return f"{'.'.join(loc) or 'file'}: {message}"


def _answers(path: Path, spec: BankFileSpec) -> Iterable[Answer]:
    problems: list[str] = []
    seen: set[str] = set()
    answers: list[Answer] = []
    shop = set(spec.shop)
    for entry in spec.answers:
        where = f"answer {entry.id}"
        if entry.id in seen:
            problems.append(f"{where}: the id is used twice")
        seen.add(entry.id)
        try:
            text = parse(entry.answer)
        except FieldError as exc:
            problems.append(f"{where}: {exc}")
            continue
        allowed = SENDER_FIELDS | shop | (ORDER_FIELDS[entry.order] if entry.order else set())
        unknown = sorted(text.fields - allowed)
        if unknown:
            why = f"order: {entry.order}" if entry.order else "no `order:`"
            problems.append(
                f"{where}: unknown fields {unknown} (allowed with {why}: "
                f"{sorted(allowed - shop)} and the shop: keys)"
            )
            continue
        problems += _polite(where, text, spec.shop)
        answers.append(
            Answer(
                id=entry.id,
                topic=entry.topic,
                title=entry.title,
                order=entry.order,
                auto_send=entry.auto_send,
                questions=tuple(entry.questions),
                text=text,
            )
        )
    problems += _replies(spec)
    if problems:
        raise BankError(path, problems)
    return answers


def _polite(where: str, text: FieldText, shop: Mapping[str, str]) -> list[str]:
    """Each sentence of the answer, rendered with sample values, ends politely."""
    rendered = text.render({**_SAMPLE_VALUES, **shop})
    if rendered is None:
        return [f"{where}: does not render with every field known"]
    problems = []
    if len(rendered) > MAX_ANSWER_CHARS:
        problems.append(
            f"{where}: {len(rendered)} characters; keep answers under {MAX_ANSWER_CHARS}"
        )
    for sentence in sentences(rendered):
        if not is_polite(sentence):
            problems.append(f"{where}: {sentence!r} does not end politely (해요체 or 합니다체)")
    return problems


def _replies(spec: BankFileSpec) -> list[str]:
    replies = spec.replies
    allowed = CUSTOMER_FIELDS | SENDER_FIELDS | set(spec.shop)
    lines = [
        *(("greeting", line) for line in replies.greeting),
        *(("apology", line) for line in replies.apology),
        *(("calm", line) for line in replies.calm),
        *(("closing", line) for line in replies.closing),
        *((f"no_answer.{topic}", line) for topic, line in replies.no_answer.items()),
    ]
    problems = []
    for where, line in lines:
        try:
            text = parse(line)
        except FieldError as exc:
            problems.append(f"replies.{where}: {exc}")
            continue
        unknown = sorted(text.fields - allowed)
        if unknown:
            problems.append(f"replies.{where}: unknown fields {unknown}")
            continue
        problems += _polite(f"replies.{where}", text, spec.shop)
    if problems:
        return problems
    for name in ("greeting", "apology", "calm", "closing"):
        if not any(not parse(line).required - set(spec.shop) for line in getattr(replies, name)):
            problems.append(f"replies.{name}: needs an alternative that renders without a name")
    return problems


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]
