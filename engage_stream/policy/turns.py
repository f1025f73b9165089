"""A chat turn as the handoff rules see it, the streaks computed from the turns, and the
question a handoff's draft should answer.

Streaks are derived from the stored turns each time rather than kept as counters, so an
event processed twice cannot count twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engage_stream.enrichment.state import ConversationState, Position, Turn
from engage_stream.policy.policy_file import HandoffPolicy
from engage_stream.privacy import mask_text
from engage_stream.schemas.events import ChatMessageEvent, Sender
from engage_stream.schemas.scores import Scores

_SPACES = re.compile(r"\s+")


def squeeze(text: str) -> str:
    """Patterns are matched without spaces: Korean spacing in chat is unreliable."""
    return _SPACES.sub("", text)


@dataclass(frozen=True, slots=True)
class Streaks:
    negative: int
    unanswered: int
    low_confidence: int


class TurnReader:
    """Compiled patterns of the handoff policy; reads turns, keeps no state."""

    def __init__(self, policy: HandoffPolicy) -> None:
        self.policy = policy
        self._human = [re.compile(p) for p in policy.human_request_patterns]
        self._complaint = [re.compile(p) for p in policy.negative.complaint_patterns]
        self._bot_failure = [re.compile(p) for p in policy.bot_failure_patterns]

    def asks_for_human(self, text: str) -> bool:
        squeezed = squeeze(text)
        return any(p.search(squeezed) for p in self._human)

    def turn(self, event: ChatMessageEvent, scores: Scores | None, position: Position) -> Turn:
        text = event.payload.text
        sender = event.payload.sender
        if sender is not Sender.CUSTOMER:
            helpful = not any(p.search(text) for p in self._bot_failure)
            return Turn(
                position=position,
                event_id=event.event_id,
                sender=sender,
                text=mask_text(text),
                at=event.occurred_at,
                helpful=helpful,
            )
        intent = scores.intent if scores else None
        toxicity = scores.toxicity if scores else None
        topic = scores.topic if scores else None
        return Turn(
            position=position,
            event_id=event.event_id,
            sender=sender,
            text=mask_text(text),
            at=event.occurred_at,
            intent=intent.label if intent else None,
            intent_score=intent.score if intent else None,
            toxicity=toxicity.label if toxicity else None,
            toxicity_score=toxicity.score if toxicity else None,
            topic=topic.label if topic else None,
            topic_score=topic.score if topic else None,
            negative=self.negative(text, scores),
        )

    def negative(self, text: str, scores: Scores | None) -> bool:
        """Toxic enough, a negative speech act, or a complaint word."""
        spec = self.policy.negative
        if scores is not None:
            tox = scores.toxicity
            toxic = tox is not None and tox.label != spec.none_label
            if toxic and tox is not None and tox.score >= spec.toxicity_min_score:
                return True
            if scores.intent is not None and scores.intent.label in spec.intents:
                return True
        squeezed = squeeze(text)
        return any(p.search(squeezed) for p in self._complaint)

    def streaks(self, conversation: ConversationState) -> Streaks:
        return streaks(conversation.turns, self.policy.low_confidence.max_intent_score)

    def open_question(self, turns: Sequence[Turn]) -> Turn | None:
        """The customer's last turn that asked the shop something and got no helpful reply
        after it: what a person taking over should answer first. A turn asks something
        when its topic is a shop topic (without a topic model: when its speech act asks).
        A turn that asks for a person ("환불 때문에 상담원 연결해 주세요") counts only when no
        earlier turn asked: the question is what they wanted before giving up on the bot."""
        fallback: Turn | None = None
        for turn in reversed(turns):
            if turn.sender is not Sender.CUSTOMER:
                if turn.helpful:
                    break
                continue
            if not self._asks(turn):
                continue
            if self.asks_for_human(turn.text):
                fallback = fallback or turn
                continue
            return turn
        return fallback

    def _asks(self, turn: Turn) -> bool:
        drafting = self.policy.drafting
        if turn.topic is not None:
            return turn.topic not in drafting.small_talk_topics
        return turn.intent in drafting.question_intents


def streaks(turns: Sequence[Turn], low_confidence_below: float) -> Streaks:
    """Negative and low-confidence streaks count the customer's own consecutive turns (bot
    replies in between do not break them); the unanswered streak ends at a helpful reply."""
    customer = [t for t in turns if t.sender is Sender.CUSTOMER]
    unanswered = 0
    for turn in reversed(turns):
        if turn.sender is Sender.CUSTOMER:
            unanswered += 1
        elif turn.helpful:
            break
    return Streaks(
        negative=_run(t.negative for t in reversed(customer)),
        unanswered=unanswered,
        low_confidence=_run(
            t.intent_score is not None and t.intent_score < low_confidence_below
            for t in reversed(customer)
        ),
    )


def _run(flags: Iterable[bool]) -> int:
    count = 0
    for flag in flags:
        if not flag:
            break
        count += 1
    return count
