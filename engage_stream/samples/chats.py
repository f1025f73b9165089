"""Chat conversations with the shop's bot: which kind a customer has, and its turns.

The kinds are normal Q&A, a shop question from the check files that fits the customer's
order (mostly one the bot cannot answer), small talk from the corpora, a customer asking
for a person, a frustrated one, an abusive one, and a complaint (more often from VIP and
gold customers). The lines are the shipped ones (data/*-lines.yaml, data/topics.yaml);
what is said when, and how fast, is decided here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from engage_stream.samples.content import Topic, sample_content
from engage_stream.samples.corpora import CorpusLines
from engage_stream.samples.makers import Asked
from engage_stream.samples.orders import Order, OrderBook
from engage_stream.samples.shop_lines import LinePool
from engage_stream.schemas.customers import Tier
from engage_stream.schemas.events import Sender, TicketCategory

_CONTENT = sample_content()
TOPICS = _CONTENT.topics.topics
"""The built-in support topics by name."""
_TOPIC_NAMES = list(TOPICS)
_SHOP_QUESTION_TICKETS = _CONTENT.topics.shop_question_tickets
"""The ticket a handed-off shop question becomes; other topics are OTHER."""

GREETINGS = _CONTENT.customer.greetings
ORDER_MENTIONS = _CONTENT.customer.order_mentions
ITEM_MENTIONS = _CONTENT.customer.item_mentions
"""A customer naming the order before asking about it."""
HUMAN_REQUESTS = _CONTENT.customer.human_requests
HUMAN_REQUESTS_IMPATIENT = _CONTENT.customer.human_requests_impatient
COMPLAINTS = _CONTENT.customer.complaints
NEGATIVE = _CONTENT.customer.negative
ABUSIVE = _CONTENT.customer.abusive
THANKS = _CONTENT.customer.thanks
CUSTOMER_LINES = (
    *(q for topic in TOPICS.values() for q in topic.questions),
    *HUMAN_REQUESTS,
    *COMPLAINTS,
    *NEGATIVE,
    *ABUSIVE,
    *THANKS,
)
"""Every built-in customer line (the corpora add more when they are there)."""

BOT_GREETING = _CONTENT.bot.greeting
BOT_NOT_UNDERSTOOD = _CONTENT.bot.not_understood
"""The bot saying it did not understand, in words the policy's bot_failure_patterns
recognise."""
BOT_FALLBACK = _CONTENT.bot.fallback
"""What a bot that cannot answer says: it did not understand, or asks for the order."""
BOT_HANDOFF = _CONTENT.bot.handoff
BOT_APOLOGY = _CONTENT.bot.apology
BOT_ABUSE_WARNING = _CONTENT.bot.abuse_warning
BOT_CLOSING = _CONTENT.bot.closing
BOT_HELPFUL = _CONTENT.bot.helpful
"""A generic reply that still answers: what the bot says when it does understand."""
BOT_LINES = (
    BOT_GREETING,
    *(a for topic in TOPICS.values() for a in topic.answers),
    *BOT_FALLBACK,
    *BOT_HANDOFF,
    *BOT_APOLOGY,
    *BOT_ABUSE_WARNING,
    *BOT_CLOSING,
    *BOT_HELPFUL,
)


@dataclass
class Conversation:
    """Turns of one chat: (seconds after the previous turn, sender, text, label)."""

    turns: list[tuple[float, Sender, str, Asked | None]] = field(default_factory=list)
    ticket: TicketCategory | None = None
    """The ticket the CRM may log after the chat."""

    @property
    def elapsed(self) -> float:
        return sum(turn[0] for turn in self.turns)

    def customer(self, delay: float, text: str, asked: Asked | None = None) -> None:
        self.turns.append((delay, Sender.CUSTOMER, text, asked))

    def bot(self, delay: float, text: str) -> None:
        self.turns.append((delay, Sender.BOT, text, None))


class ChatScenarios:
    """Draws conversations from the timeline's own random source, so that a chat takes the
    same draws, in the same order, whichever module writes it."""

    def __init__(
        self, rng: random.Random, corpus: CorpusLines, shop: LinePool, orders: OrderBook
    ) -> None:
        self.rng = rng
        self.corpus = corpus
        self.shop = shop
        self.orders = orders

    def conversation(self, at: float, customer_id: str, tier: Tier) -> Conversation:
        """A chat starting at `at`, of a kind drawn for the customer's tier."""
        weights = {
            "qa": 44,
            "shop_question": 40 if self.shop else 0,
            "small_talk": 10 if self.corpus else 0,
            "human": 14,
            "frustrated": 12,
            "abusive": 6,
            "complaint": {Tier.VIP: 60, Tier.GOLD: 25}.get(tier, 10),
        }
        scenario = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        if scenario == "shop_question":
            return self._shop_question(at, customer_id)
        return {
            "qa": self._qa,
            "small_talk": self._small_talk,
            "human": self._human,
            "frustrated": self._frustrated,
            "abusive": self._abusive,
            "complaint": self._complaint,
        }[scenario]()

    def _typing(self) -> float:
        return self.rng.uniform(6, 45)

    def _bot_delay(self) -> float:
        return self.rng.uniform(0.6, 2.5)

    def _topic(self) -> Topic:
        return TOPICS[self.rng.choice(_TOPIC_NAMES)]

    def _opening(self, c: Conversation) -> None:
        if self.rng.random() < 0.3:
            c.customer(0.0, self.rng.choice(GREETINGS))
            c.bot(self._bot_delay(), BOT_GREETING)

    def _ask(self, c: Conversation, topic: Topic, answered: bool = True) -> None:
        rng = self.rng
        pair = rng.choice(topic.chat)
        answer = pair.answer
        if not answered:
            answer = rng.choice(BOT_FALLBACK)
        elif rng.random() < 0.08:  # the bot misreads now and then
            answer = rng.choice(topic.answers)
        c.customer(self._typing() if c.turns else 0.0, pair.question)
        c.bot(self._bot_delay(), answer)

    def _qa(self) -> Conversation:
        rng, c = self.rng, Conversation()
        topic = self._topic()
        self._opening(c)
        self._ask(c, topic)
        if rng.random() < 0.4:
            self._ask(c, topic)
        if rng.random() < 0.6:
            c.customer(self._typing(), rng.choice(THANKS))
            if rng.random() < 0.7:
                c.bot(self._bot_delay(), rng.choice(BOT_CLOSING))
        return c

    def _shop_question(self, at: float, customer_id: str) -> Conversation:
        """A question from the check files that fits the customer's order when it is asked.
        Mostly the bot does not understand it and the customer wants a person: the handoff
        whose draft the knowledge bank must answer; otherwise the bot helps."""
        rng, c = self.rng, Conversation()
        self._opening(c)
        typing, follow_up = self._typing() if c.turns else 0.0, rng.uniform(3, 15)
        asked_at = at + c.elapsed + typing + follow_up
        order = self.orders.latest(customer_id, asked_at)
        line = self.shop.choose(rng, order.state(asked_at) if order else None)
        text = line.text_for(order.order_id, order.item) if order else line.text_for(None)
        if order is not None and line.need is not None and rng.random() < 0.4:
            c.customer(typing, self._mention(order))
            c.customer(follow_up, text, (line.topic, line.answer_id, line.judged))
        else:
            c.customer(typing + follow_up, text, (line.topic, line.answer_id, line.judged))
        if rng.random() < 0.7:
            c.bot(self._bot_delay(), rng.choice(BOT_NOT_UNDERSTOOD))
            c.customer(self._typing(), rng.choice(HUMAN_REQUESTS))
            if rng.random() < 0.7:
                c.bot(self._bot_delay(), rng.choice(BOT_HANDOFF))
            c.ticket = _SHOP_QUESTION_TICKETS.get(line.topic, TicketCategory.OTHER)
        else:
            c.bot(self._bot_delay(), rng.choice(BOT_HELPFUL))
            c.customer(self._typing(), rng.choice(THANKS))
        return c

    def _mention(self, order: Order) -> str:
        if self.rng.random() < 0.6:
            return self.rng.choice(ORDER_MENTIONS).format(order_id=order.order_id)
        return self.rng.choice(ITEM_MENTIONS).format(item=order.item)

    def _small_talk(self) -> Conversation:
        rng, c = self.rng, Conversation()
        for _ in range(rng.randint(1, 3)):
            delay = self._typing() if c.turns else 0.0
            if self.corpus.small_talk and (not self.corpus.out_of_scope or rng.random() < 0.5):
                question, answer = rng.choice(self.corpus.small_talk)
                c.customer(delay, question)
                c.bot(self._bot_delay(), answer)
            else:
                c.customer(delay, rng.choice(self.corpus.out_of_scope))
                c.bot(self._bot_delay(), rng.choice(BOT_NOT_UNDERSTOOD))
        if rng.random() < 0.3:
            self._ask(c, self._topic())
        return c

    def _off_topic_or_question(self, c: Conversation) -> None:
        """A first line the bot does not understand: out of scope, or a question it misreads."""
        rng = self.rng
        delay = self._typing() if c.turns else 0.0
        if self.corpus.out_of_scope and rng.random() < 0.3:
            c.customer(delay, rng.choice(self.corpus.out_of_scope))
            c.bot(self._bot_delay(), rng.choice(BOT_NOT_UNDERSTOOD))
        else:
            c.customer(delay, rng.choice(self._topic().questions))
            c.bot(self._bot_delay(), rng.choice(BOT_FALLBACK))

    def _human(self) -> Conversation:
        rng, c = self.rng, Conversation()
        self._opening(c)
        topic = self._topic()
        if rng.random() < 0.5:
            self._ask(c, topic)
        else:
            self._off_topic_or_question(c)
        c.customer(self._typing(), rng.choice(HUMAN_REQUESTS))
        if rng.random() < 0.35:
            c.customer(rng.uniform(20, 90), rng.choice(HUMAN_REQUESTS_IMPATIENT))
        if rng.random() < 0.7:
            c.bot(self._bot_delay(), rng.choice(BOT_HANDOFF))
        c.ticket = topic.category
        return c

    def _frustrated(self) -> Conversation:
        rng, c = self.rng, Conversation()
        self._off_topic_or_question(c)
        first, *more = rng.sample(NEGATIVE, k=rng.randint(3, 4))
        c.customer(self._typing(), first)
        if rng.random() < 0.5:
            c.bot(self._bot_delay(), rng.choice(BOT_NOT_UNDERSTOOD))
        for line in more:  # unanswered, in a row
            c.customer(rng.uniform(4, 30), line)
        return c

    def _abusive(self) -> Conversation:
        rng, c = self.rng, Conversation()
        topic = self._topic()
        self._ask(c, topic, answered=rng.random() < 0.5)
        c.customer(self._typing(), rng.choice(ABUSIVE))
        if rng.random() < 0.6:
            c.bot(self._bot_delay(), rng.choice(BOT_ABUSE_WARNING))
        if rng.random() < 0.5:
            c.customer(rng.uniform(3, 20), rng.choice(ABUSIVE))
        c.ticket = topic.category
        return c

    def _complaint(self) -> Conversation:
        rng, c = self.rng, Conversation()
        c.customer(0.0, rng.choice(COMPLAINTS))
        c.bot(self._bot_delay(), rng.choice(BOT_APOLOGY))
        if rng.random() < 0.6:
            c.customer(self._typing(), rng.choice(COMPLAINTS + NEGATIVE))
        if rng.random() < 0.3:
            c.customer(self._typing(), rng.choice(HUMAN_REQUESTS))
        c.ticket = rng.choice(
            [TicketCategory.DELIVERY, TicketCategory.REFUND, TicketCategory.PRODUCT]
        )
        return c
