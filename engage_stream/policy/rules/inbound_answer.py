"""Inbound answer: an e-mail that asks the shop something is answered by e-mail only when
the answer is sure to answer it: a confident topic the policy lets answer itself, a bank
answer that may go out without a person, all its facts known. Anything less is referred to
a person (`email_needs_agent`), with the suggestions, rather than sending the customer an
answer that answers nothing. Not advertising: an answer to the customer's own question.

Template `inbound_answer` (its messages' template ids are `inbound_answer.<answer id>`);
values: `reply_to` ("Re: " and the customer's subject, empty when they wrote none),
`answer` (the drafted answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pydantic import Field

from engage_stream.policy.rules.rule import Drafted, Moment, Offer, Referral, RuleSpec
from engage_stream.policy.templates import MessageTemplates
from engage_stream.schemas.actions import HandoffReason
from engage_stream.schemas.common import Channel
from engage_stream.schemas.events import EmailInboundEvent
from engage_stream.schemas.scores import Prediction

SUBJECT_CHARS = 200
"""The longest subject a message may have (`NextBestAction.subject`)."""


class InboundAnswerRule(RuleSpec):
    """An inbound e-mail that asks something is answered by e-mail only when the answer
    is sure to answer it; otherwise it goes to a person with the suggestions."""

    intents: list[str] = Field(min_length=1, description="Speech acts that ask something.")
    auto_answer_topics: list[str] = Field(
        default_factory=list, description="Topics whose answers may be sent without a person."
    )
    min_topic_score: float = Field(ge=0, le=1, description="The topic model must be this sure.")
    min_answer_score: float = Field(ge=0, le=3, description="The bank's score of the answer.")


def reply_to(subject: str) -> str:
    """The customer's subject as a reply's ("Re: 배송 문의"), or "" when they wrote none."""
    subject = subject.strip()
    if not subject:
        return ""
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def unsure(spec: InboundAnswerRule, draft: Drafted, topic: Prediction | None) -> str | None:
    """Why the draft may not go to the customer by itself, or None when it may."""
    answer = draft.answer
    if topic is None or topic.label not in spec.auto_answer_topics:
        return f"topic {topic.label if topic else 'unknown'} is not answered automatically"
    if topic.score < spec.min_topic_score:
        return f"topic {topic.label} only {topic.score:.2f} sure"
    if answer is None:
        return f"no answer in the bank fits ({draft.fallback or 'no_answer'})"
    if answer.topic != topic.label:
        return f"the best answer ({answer.answer_id}) is about {answer.topic}"
    if not answer.auto_send:
        return f"answer {answer.answer_id} needs a person"
    if answer.score < spec.min_answer_score:
        return f"answer {answer.answer_id} scores only {answer.score:.2f}"
    return None


class InboundAnswer:
    name = "inbound_answer"
    template = "inbound_answer"
    sample: Mapping[str, object] = MappingProxyType(
        {
            "reply_to": "Re: 배송 문의",
            "answer": "고객님, 문의하신 주문은 오늘 출고되어 내일 도착할 예정입니다.",
        }
    )

    def occasion(self, spec: InboundAnswerRule, moment: Moment) -> str | None:
        """Applies when the e-mail asks the shop something: its topic is not small talk
        (without a topic model: its speech act is one that asks)."""
        event = moment.event
        if not isinstance(event, EmailInboundEvent):
            return None
        scores = moment.scores
        topic = scores.topic if scores else None
        if topic is not None:
            asks = topic.label not in moment.small_talk_topics
        else:
            asks = (
                scores is not None
                and scores.intent is not None
                and (scores.intent.label in spec.intents)
            )
        return event.event_id if asks else None

    def offer(
        self, spec: InboundAnswerRule, moment: Moment, messages: MessageTemplates
    ) -> Offer | Referral:
        event = moment.event
        assert isinstance(event, EmailInboundEvent)
        draft = moment.draft()
        why = unsure(spec, draft, moment.scores.topic if moment.scores else None)
        if why is not None:
            return Referral(HandoffReason.EMAIL_NEEDS_AGENT, why)
        answer = draft.answer
        assert answer is not None
        message = messages.render(
            self.template, {"reply_to": reply_to(event.payload.subject), "answer": draft.text}
        )
        return Offer(
            rule=self.name,
            template_id=f"{self.name}.{answer.answer_id}",
            advertising=spec.advertising,
            earliest=event.occurred_at,
            subject=message.subject[:SUBJECT_CHARS],
            body=message.body,
            channel=Channel.EMAIL,
        )
