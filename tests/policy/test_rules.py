"""The next-best-action rules, one module each behind one protocol: each has its spec in the
policy file and its template, triggers on its own input only, and the core applies them all.
What they decide end to end is in test_outbound.py and tests/core."""

from __future__ import annotations

from collections.abc import Callable, Collection

import pytest

from engage_stream.drafting.draft import Question
from engage_stream.policy.policy_file import OutboundRules
from engage_stream.policy.rules import NEXT_BEST_ACTIONS
from engage_stream.policy.rules.inbound_answer import InboundAnswerRule, reply_to, unsure
from engage_stream.policy.rules.rule import Drafted, Moment, Offer, Referral, RuleSpec, no_draft
from engage_stream.schemas.actions import HandoffReason
from engage_stream.schemas.common import Channel
from engage_stream.schemas.events import CrmEvent
from engage_stream.schemas.scores import Scores
from tests.core.builders import (
    DRAFT_STAMP,
    SHIPPED_POLICY,
    FakeDrafter,
    at,
    cart,
    delivered,
    email_in,
    opted_in,
    order_placed,
    page_view,
    scores,
)

RULES = {rule.name: rule for rule in NEXT_BEST_ACTIONS}
SPECS = SHIPPED_POLICY.outbound.rules
ZONE = SHIPPED_POLICY.zone
INBOUND = SPECS.inbound_answer


def moment(
    event: CrmEvent,
    *,
    scores: Scores | None = None,
    small_talk_topics: Collection[str] = (),
    draft: Callable[[], Drafted] = no_draft,
) -> Moment:
    return Moment(
        event=event,
        profile=None,
        at=event.occurred_at,
        zone=ZONE,
        scores=scores,
        small_talk_topics=small_talk_topics,
        draft=draft,
    )


def test_every_rule_has_a_spec_in_the_policy_file_and_the_policy_no_rule_without_one() -> None:
    assert set(RULES) == set(OutboundRules.model_fields)
    for name in RULES:
        assert isinstance(SPECS.spec(name), RuleSpec)


def test_rule_and_template_names_are_those_replays_compare_with() -> None:
    assert {name: rule.template for name, rule in RULES.items()} == {
        "abandoned_cart": "abandoned_cart.v1",
        "review_request": "review_request.v1",
        "win_back": "win_back.v1",
        "inbound_answer": "inbound_answer",
    }


@pytest.mark.parametrize(
    ("event", "applies"),
    [
        (cart("e1", value_krw=30_000), {"abandoned_cart"}),
        (cart("e1", value_krw=9_999), set()),
        (delivered("d1", "ORD-1"), {"review_request"}),
        (order_placed("o1", "ORD-1"), set()),
        (page_view("p1"), set()),
        (email_in("q1"), set()),  # without scores nothing says it asks
    ],
)
def test_each_rule_triggers_on_its_own_input_only(event: CrmEvent, applies: set[str]) -> None:
    found = {name for name, rule in RULES.items() if rule.occasion(SPECS.spec(name), moment(event))}
    assert found == applies


@pytest.mark.parametrize(
    ("intent", "topic", "asks"),
    [
        ("question", "delivery_status", True),
        ("statement", "delivery_status", True),  # a shop topic asks, whatever the speech act
        ("question", "other", False),  # small talk
        ("question", None, True),  # no topic model: the speech act decides
        ("statement", None, False),
    ],
)
def test_an_inbound_email_applies_when_it_asks_the_shop_something(
    intent: str, topic: str | None, asks: bool
) -> None:
    seen = moment(
        email_in("q1"),
        scores=scores(intent, 0.9, topic=topic, topic_score=0.9) if topic else scores(intent, 0.9),
        small_talk_topics=SHIPPED_POLICY.handoff.drafting.small_talk_topics,
    )
    assert (RULES["inbound_answer"].occasion(INBOUND, seen) == "q1") is asks


def test_a_profile_rule_ignores_events_and_an_event_rule_ignores_profiles() -> None:
    inactive = opted_in(last_active_at=at(), updated_at=at(days=40))
    profile_moment = Moment(event=None, profile=inactive, at=inactive.updated_at, zone=ZONE)
    for name, rule in RULES.items():
        occasion = rule.occasion(SPECS.spec(name), profile_moment)
        assert (occasion is not None) is (name == "win_back")
    assert RULES["win_back"].occasion(SPECS.win_back, moment(cart("e1"))) is None


def test_the_inbound_answer_is_offered_by_email_from_its_template() -> None:
    asked = email_in("q1", subject="배송 문의")
    drafter = FakeDrafter()
    draft = drafter.draft(Question("언제 와요?", "delivery_status", 0.9, "q1"))
    seen = moment(
        asked,
        scores=scores("question", 0.9, topic="delivery_status", topic_score=0.9),
        draft=lambda: draft,
    )
    offer = RULES["inbound_answer"].offer(INBOUND, seen, SHIPPED_POLICY.messages)
    assert isinstance(offer, Offer)
    assert offer.template_id == "inbound_answer.delivery_status.fake"
    assert offer.channel is Channel.EMAIL
    assert offer.subject == "Re: 배송 문의"
    assert offer.body.startswith(draft.text + "\n\n")
    assert draft.models == (DRAFT_STAMP,)


def test_an_unsure_inbound_answer_is_referred_to_a_person() -> None:
    draft = FakeDrafter(auto_send=False).draft(Question("불량이에요", "delivery_status", 0.9))
    seen = moment(
        email_in("q1"),
        scores=scores("question", 0.9, topic="delivery_status", topic_score=0.9),
        draft=lambda: draft,
    )
    referral = RULES["inbound_answer"].offer(INBOUND, seen, SHIPPED_POLICY.messages)
    assert referral == Referral(
        HandoffReason.EMAIL_NEEDS_AGENT, "answer delivery_status.fake needs a person"
    )


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("", ""),
        ("  ", ""),
        (" 배송 문의 ", "Re: 배송 문의"),
        ("RE: 환불", "RE: 환불"),
        ("re:x", "re:x"),
    ],
)
def test_the_reply_keeps_the_customers_subject(subject: str, expected: str) -> None:
    assert reply_to(subject) == expected


def test_unsure_says_why_for_a_topic_the_policy_does_not_answer() -> None:
    draft = FakeDrafter().draft(Question("불량", "defect_claim", 0.95))
    topic = scores("question", 0.9, topic="defect_claim", topic_score=0.95).topic
    strict = InboundAnswerRule.model_validate(INBOUND.model_dump())
    assert unsure(strict, draft, topic) == "topic defect_claim is not answered automatically"
