"""The sample shop's written content (data/*.yaml): names, catalogue, topics, chat lines.

The texts live in data files, one per concept, so that the generator's modules hold only
the logic of who does what when. The files ship inside the package and are read once, on
first use, and checked against the models below: a broken file is a packaging bug and
stops the import with the file's name, rather than skewing a stream later.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Annotated, Any, Self, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from engage_stream.schemas.events import TicketCategory

Text = Annotated[str, StringConstraints(min_length=1), Field(strict=True)]
Weight = Annotated[int, Field(gt=0, strict=True)]
Category = Annotated[TicketCategory, Field(strict=False)]
"""Written as its value (`delivery`)."""


class SampleContentError(ValueError):
    """A shipped data file is missing or does not hold what its model says."""


class _Data(BaseModel):
    """Lists in the files become tuples; texts and numbers must be written as such (a bare
    `yes` or `12` where a text belongs is refused, not turned into one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def _require_placeholder(templates: tuple[str, ...], name: str) -> None:
    for template in templates:
        if _placeholders(template) != {name}:
            raise ValueError(f"{template!r} must hold {{{name}}} and no other field")


# --- people ---------------------------------------------------------------------------------


class Surname(_Data):
    name: Text
    roman: Text
    weight: Weight


class GivenName(_Data):
    name: Text
    roman: Text


class People(_Data):
    surnames: tuple[Surname, ...] = Field(min_length=1)
    given_names: tuple[GivenName, ...] = Field(min_length=1)
    email_domains: tuple[Text, ...] = Field(min_length=1)


# --- catalogue ------------------------------------------------------------------------------


class Product(_Data):
    sku: Text
    name: Text
    price_krw: Weight
    category: Text
    nicknames: tuple[Text, ...] = ()


class CancelReason(_Data):
    reason: Text
    weight: Weight


class Catalogue(_Data):
    products: tuple[Product, ...] = Field(min_length=3)
    """At least three: a visit views up to three different products."""
    carriers: tuple[Text, ...] = Field(min_length=1)
    cancel_reasons: tuple[CancelReason, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        for what in ("sku", "name"):
            values = [getattr(product, what) for product in self.products]
            if len(set(values)) != len(values):
                raise ValueError(f"two products share a {what}")
        return self

    @property
    def categories(self) -> list[str]:
        return sorted({product.category for product in self.products})


# --- topics ---------------------------------------------------------------------------------


class ChatPair(_Data):
    question: Text
    answer: Text
    """The bot's right answer to the question."""


class Email(_Data):
    subject: Text
    body: Text


class Ticket(_Data):
    subject: Text
    description: Text


class Topic(_Data):
    category: Category
    chat: tuple[ChatPair, ...] = Field(min_length=1)
    emails: tuple[Email, ...] = ()
    tickets: tuple[Ticket, ...] = ()

    @property
    def questions(self) -> list[str]:
        return [pair.question for pair in self.chat]

    @property
    def answers(self) -> list[str]:
        return [pair.answer for pair in self.chat]


class Topics(_Data):
    topics: Mapping[str, Topic] = Field(min_length=1)
    other_tickets: tuple[Ticket, ...] = Field(min_length=1)
    shop_question_tickets: Mapping[str, Category] = Field(default_factory=dict)
    """A check-file topic -> the ticket its question becomes at a handoff (else OTHER)."""

    @model_validator(mode="after")
    def _every_category_has_a_ticket(self) -> Self:
        missing = set(TicketCategory) - set(self.tickets())
        if missing:
            raise ValueError(f"no ticket for {sorted(missing)}: every category can be logged")
        return self

    def tickets(self) -> dict[TicketCategory, list[tuple[str, str]]]:
        """(subject, description) by category: `other` first, then in the topics' order."""
        found: dict[TicketCategory, list[tuple[str, str]]] = {
            TicketCategory.OTHER: [(t.subject, t.description) for t in self.other_tickets]
        }
        for topic in self.topics.values():
            found.setdefault(topic.category, []).extend(
                (t.subject, t.description) for t in topic.tickets
            )
        return {category: lines for category, lines in found.items() if lines}


# --- chat and e-mail lines ------------------------------------------------------------------


class CustomerLines(_Data):
    greetings: tuple[Text, ...] = Field(min_length=1)
    order_mentions: tuple[Text, ...] = Field(min_length=1)
    item_mentions: tuple[Text, ...] = Field(min_length=1)
    human_requests: tuple[Text, ...] = Field(min_length=1)
    human_requests_impatient: tuple[Text, ...] = Field(min_length=1)
    complaints: tuple[Text, ...] = Field(min_length=1)
    negative: tuple[Text, ...] = Field(min_length=4)
    """At least four: a frustrated customer sends three or four different ones in a row."""
    abusive: tuple[Text, ...] = Field(min_length=1)
    thanks: tuple[Text, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _templates(self) -> Self:
        _require_placeholder(self.order_mentions, "order_id")
        _require_placeholder(self.item_mentions, "item")
        return self


class BotLines(_Data):
    greeting: Text
    not_understood: tuple[Text, ...] = Field(min_length=1)
    ask_order_number: tuple[Text, ...] = ()
    helpful: tuple[Text, ...] = Field(min_length=1)
    handoff: tuple[Text, ...] = Field(min_length=1)
    apology: tuple[Text, ...] = Field(min_length=1)
    abuse_warning: tuple[Text, ...] = Field(min_length=1)
    closing: tuple[Text, ...] = Field(min_length=1)

    @property
    def fallback(self) -> tuple[str, ...]:
        """Every reply of a bot that cannot answer."""
        return self.not_understood + self.ask_order_number


class EmailFrame(_Data):
    greeting: Text
    closing: Text
    order_number: Text
    phone: Text
    greeted_by: Text
    thanked_by: Text

    @model_validator(mode="after")
    def _templates(self) -> Self:
        _require_placeholder((self.order_number,), "order_id")
        _require_placeholder((self.phone,), "phone")
        return self


# --- loading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleContent:
    people: People
    catalogue: Catalogue
    topics: Topics
    customer: CustomerLines
    bot: BotLines
    email: EmailFrame


_Model = TypeVar("_Model", bound=BaseModel)


def load_content(folder: Traversable) -> SampleContent:
    """Every data file in `folder`, validated; raises SampleContentError naming the file."""
    return SampleContent(
        people=_read(folder, "people.yaml", People),
        catalogue=_read(folder, "catalogue.yaml", Catalogue),
        topics=_read(folder, "topics.yaml", Topics),
        customer=_read(folder, "customer-lines.yaml", CustomerLines),
        bot=_read(folder, "bot-lines.yaml", BotLines),
        email=_read(folder, "email-frame.yaml", EmailFrame),
    )


@functools.cache
def sample_content() -> SampleContent:
    """The content shipped with the package, read once per process."""
    return load_content(resources.files(__name__.rpartition(".")[0]) / "data")


def _read(folder: Traversable, name: str, model: type[_Model]) -> _Model:
    try:
        text = (folder / name).read_text(encoding="utf-8")
        # libyaml where it is built in; both loaders read the same documents.
        if yaml.__with_libyaml__:
            document: Any = yaml.load(text, Loader=yaml.CSafeLoader)
        else:
            document = yaml.safe_load(text)
        return model.model_validate(document)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError) as error:
        raise SampleContentError(f"sample data {name}: {error}") from error
