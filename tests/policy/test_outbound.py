"""Next-best-action under the Korean advertising rules (정보통신망법 제50조), per channel.

Opt-in per channel, "(광고)" + sender + 수신거부 marks, the 21:00-08:00 KST night rule
(scheduled, not dropped; e-mail exempt), transactional answers, frequency caps, and the
rules that make the offers (abandoned cart, review request, inbound answer, win-back).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engage_stream.core.processor import Outcome
from engage_stream.enrichment.profile import snapshot
from engage_stream.policy.outbound import (
    Offer,
    Placement,
    Refusal,
    end_of_night,
    is_night,
    mark_advertising,
    place,
)
from engage_stream.schemas.actions import (
    ConsentBasis,
    NextBestAction,
    Suppression,
    SuppressionReason,
    action_id_for,
)
from engage_stream.schemas.common import Channel
from engage_stream.schemas.enriched import DecisionKind
from engage_stream.schemas.events import CrmEvent, Sender
from tests.core.builders import (
    PROCESSED_AT,
    SHIPPED_POLICY,
    Feeder,
    at,
    cart,
    chat,
    consents,
    delivered,
    email_in,
    kst,
    opted_in,
    policy_with,
    profile,
    scores,
)

OUTBOUND = SHIPPED_POLICY.outbound
ZONE = SHIPPED_POLICY.zone
ASKS = scores("question", 0.9, topic="delivery_status", topic_score=0.9)
"""An e-mail that asks about a topic the policy lets the bank answer by itself."""
CART_DELAY = timedelta(minutes=OUTBOUND.rules.abandoned_cart.delay_minutes)
SENDER = OUTBOUND.sender


def only_message(outcome: Outcome) -> NextBestAction:
    assert outcome.suppressions == []
    (message,) = outcome.messages
    return message


def only_suppression(outcome: Outcome) -> Suppression:
    assert outcome.messages == []
    (suppression,) = outcome.suppressions
    return suppression


def assert_marked_as_advertising(message: NextBestAction) -> None:
    assert message.advertising is True
    assert SENDER.name in message.body
    assert SENDER.contact in message.body
    assert "수신거부" in message.body
    if message.channel is Channel.EMAIL:
        assert message.subject is not None
        assert message.subject.startswith("(광고)")
    else:
        assert message.subject is None
        assert message.body.startswith("(광고)")


# -- abandoned cart -------------------------------------------------------------------------


def test_abandoned_cart_with_email_consent_sends_one_marked_email_after_the_delay() -> None:
    feeder = Feeder(profile=opted_in())
    outcome = feeder.feed(cart("e1", value_krw=30_000, when=at()))
    message = only_message(outcome)
    assert message.channel is Channel.EMAIL
    assert message.subject is not None
    assert message.subject.startswith("(광고) ")
    assert_marked_as_advertising(message)
    assert "무선 이어폰 2개" in message.body
    assert "30,000원" in message.body
    assert message.send_not_before == at() + CART_DELAY
    assert message.consent_basis is ConsentBasis.ADVERTISING_OPT_IN
    assert message.template_id == "abandoned_cart.v1"
    assert message.action_id == action_id_for("e1", "abandoned_cart")
    assert message.source_event_id == "e1"
    assert message.created_at == PROCESSED_AT
    assert message.policy_version == SHIPPED_POLICY.version
    assert message.models == []
    assert outcome.enriched is not None
    (held,) = outcome.enriched.decisions
    assert (held.kind, held.action_id) == (DecisionKind.HELD, message.action_id)
    (decision,) = outcome.decisions  # made when stream time reached the due time
    assert decision.kind is DecisionKind.NEXT_BEST_ACTION
    assert decision.rule == "abandoned_cart"
    assert decision.action_id == message.action_id


@pytest.mark.parametrize("value", [0, 9_999])
def test_an_abandoned_cart_below_the_minimum_value_gives_nothing(value: int) -> None:
    outcome = Feeder(profile=opted_in()).feed(cart("e1", value_krw=value))
    assert outcome.messages == []
    assert outcome.suppressions == []
    assert outcome.enriched is not None
    assert outcome.enriched.decisions == []


def test_an_abandoned_cart_at_the_minimum_value_is_offered() -> None:
    outcome = Feeder(profile=opted_in()).feed(cart("e1", value_krw=10_000))
    only_message(outcome)


def test_without_advertising_consent_nothing_is_sent_and_the_suppression_says_why() -> None:
    outcome = Feeder(profile=profile(consent=consents(email=(False, True)))).feed(cart("e1"))
    suppression = only_suppression(outcome)
    assert suppression.reason is SuppressionReason.NO_ADVERTISING_CONSENT
    assert suppression.rule == "abandoned_cart"
    assert suppression.suppressed_kind == "next_best_action"
    assert suppression.source_event_id == "e1"
    assert suppression.suppression_id == action_id_for("e1", "suppressed:abandoned_cart")
    assert suppression.policy_version == SHIPPED_POLICY.version
    (decision,) = outcome.decisions  # consent is looked at when the reminder is due
    assert decision.kind is DecisionKind.SUPPRESSED
    assert decision.reasons == ["no_advertising_consent"]


def test_a_missing_profile_grants_no_consent_and_the_enriched_record_says_so() -> None:
    outcome = Feeder(profile=None).feed(cart("e1"))
    suppression = only_suppression(outcome)
    assert suppression.reason is SuppressionReason.NO_ADVERTISING_CONSENT
    assert "no profile" in suppression.detail
    assert outcome.enriched is not None
    assert outcome.enriched.profile.found is False


def test_consent_without_an_address_on_file_is_no_contact_address() -> None:
    outcome = Feeder(profile=opted_in(email=None)).feed(cart("e1"))
    assert only_suppression(outcome).reason is SuppressionReason.NO_CONTACT_ADDRESS


# -- channel choice -------------------------------------------------------------------------


def test_the_preferred_sms_channel_is_chosen_over_email_when_sms_is_consented() -> None:
    customer = profile(
        preferred=Channel.SMS, consent=consents(email=(True, True), sms=(True, True))
    )
    message = only_message(Feeder(profile=customer).feed(cart("e1")))
    assert message.channel is Channel.SMS
    assert_marked_as_advertising(message)


def test_the_preferred_channel_without_consent_falls_back_to_consented_email() -> None:
    customer = profile(preferred=Channel.SMS, consent=consents(email=(True, False)))
    message = only_message(Feeder(profile=customer).feed(cart("e1")))
    assert message.channel is Channel.EMAIL


def test_sms_consent_without_a_phone_number_falls_back_to_email() -> None:
    customer = profile(
        preferred=Channel.SMS, phone=None, consent=consents(email=(True, False), sms=(True, False))
    )
    assert only_message(Feeder(profile=customer).feed(cart("e1"))).channel is Channel.EMAIL


def test_email_preferred_does_not_use_other_consented_channels() -> None:
    customer = profile(preferred=Channel.EMAIL, consent=consents(sms=(True, True)))
    suppression = only_suppression(Feeder(profile=customer).feed(cart("e1")))
    assert suppression.reason is SuppressionReason.NO_ADVERTISING_CONSENT


def test_without_channel_preferences_everything_goes_by_email() -> None:
    policy = policy_with({"outbound.channels_by_preference": False})
    customer = profile(
        preferred=Channel.SMS, consent=consents(email=(True, False), sms=(True, False))
    )
    assert only_message(Feeder(policy, profile=customer).feed(cart("e1"))).channel is Channel.EMAIL


# -- night time (21:00-08:00 KST) -----------------------------------------------------------


def sms_customer(night: bool) -> Feeder:
    return Feeder(
        profile=profile(preferred=Channel.SMS, consent=consents(sms=(True, night))),
    )


def test_sms_advertising_at_22_kst_without_night_consent_is_scheduled_for_08() -> None:
    abandoned = kst(2026, 3, 10, 21, 0)  # the message would go at 22:00 after the delay
    message = only_message(sms_customer(night=False).feed(cart("e1", when=abandoned)))
    assert message.channel is Channel.SMS
    assert message.send_not_before == kst(2026, 3, 11, 8, 0)
    assert message.consent_basis is ConsentBasis.ADVERTISING_OPT_IN


def test_sms_advertising_after_midnight_is_scheduled_for_08_the_same_morning() -> None:
    message = only_message(sms_customer(night=False).feed(cart("e1", when=kst(2026, 3, 11, 2, 0))))
    assert message.send_not_before == kst(2026, 3, 11, 8, 0)


def test_night_time_is_judged_in_kst_whatever_offset_the_event_carries() -> None:
    abandoned = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 21:00 KST
    message = only_message(sms_customer(night=False).feed(cart("e1", when=abandoned)))
    assert message.send_not_before == kst(2026, 3, 11, 8, 0)


def test_sms_advertising_with_night_consent_goes_at_once_on_the_night_time_opt_in() -> None:
    abandoned = kst(2026, 3, 10, 21, 0)
    message = only_message(sms_customer(night=True).feed(cart("e1", when=abandoned)))
    assert message.send_not_before == abandoned + CART_DELAY
    assert message.consent_basis is ConsentBasis.NIGHT_TIME_OPT_IN


@pytest.mark.parametrize("channel", [Channel.PUSH, Channel.KAKAO_FRIENDTALK])
def test_push_and_kakao_follow_the_night_rule_too(channel: Channel) -> None:
    given = {channel.value: (True, False)}
    customer = profile(preferred=channel, consent=consents(**given), kakao_friend=True)
    message = only_message(Feeder(profile=customer).feed(cart("e1", when=kst(2026, 3, 10, 23, 0))))
    assert message.channel is channel
    assert message.send_not_before == kst(2026, 3, 11, 8, 0)
    assert_marked_as_advertising(message)


def test_email_advertising_at_22_kst_is_not_delayed() -> None:
    abandoned = kst(2026, 3, 10, 21, 0)
    message = only_message(Feeder(profile=opted_in()).feed(cart("e1", when=abandoned)))
    assert message.channel is Channel.EMAIL
    assert message.send_not_before == abandoned + CART_DELAY
    assert message.consent_basis is ConsentBasis.ADVERTISING_OPT_IN


@pytest.mark.parametrize(
    ("hour", "minute", "night"),
    [(20, 59, False), (21, 0, True), (23, 59, True), (0, 0, True), (7, 59, True), (8, 0, False)],
)
def test_night_time_runs_from_21_00_to_08_00_kst(hour: int, minute: int, night: bool) -> None:
    assert is_night(kst(2026, 3, 10, hour, minute), OUTBOUND, ZONE) is night


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (kst(2026, 3, 10, 21, 0), kst(2026, 3, 11, 8, 0)),
        (kst(2026, 3, 10, 23, 59), kst(2026, 3, 11, 8, 0)),
        (kst(2026, 3, 11, 0, 0), kst(2026, 3, 11, 8, 0)),
        (kst(2026, 3, 11, 7, 59), kst(2026, 3, 11, 8, 0)),
        (kst(2026, 12, 31, 22, 30), kst(2027, 1, 1, 8, 0)),
    ],
)
def test_the_end_of_the_night_is_the_next_08_00_kst(moment: datetime, expected: datetime) -> None:
    assert end_of_night(moment, OUTBOUND, ZONE) == expected


# -- marks ----------------------------------------------------------------------------------


def test_advertising_marks_for_email_go_in_the_subject_and_footer() -> None:
    subject, body = mark_advertising("제목", "본문", Channel.EMAIL, OUTBOUND)
    assert subject == "(광고) 제목"
    assert body.startswith("본문\n\n")
    assert body.endswith(OUTBOUND.opt_out_footer)
    assert f"{SENDER.name} | {SENDER.contact}" in body


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.PUSH, Channel.KAKAO_FRIENDTALK])
def test_advertising_marks_without_a_subject_start_the_body(channel: Channel) -> None:
    subject, body = mark_advertising("제목", "본문", channel, OUTBOUND)
    assert subject is None
    assert body.startswith("(광고) 본문")
    assert "수신거부" in body


def test_place_refuses_advertising_without_consent_but_passes_transactional() -> None:
    nobody = snapshot(None)
    offer = Offer(rule="r", template_id="t", advertising=True, earliest=at(), subject="s", body="b")
    refused = place(offer, nobody, [], OUTBOUND, ZONE)
    assert isinstance(refused, Refusal)
    assert refused.reason is SuppressionReason.NO_ADVERTISING_CONSENT
    transactional = Offer(
        rule="r",
        template_id="t",
        advertising=False,
        earliest=kst(2026, 3, 10, 23, 0),
        subject="s",
        body="b",
        channel=Channel.SMS,
    )
    placed = place(transactional, nobody, [], OUTBOUND, ZONE)
    assert isinstance(placed, Placement)
    assert placed.channel is Channel.SMS
    assert placed.subject is None
    assert placed.body == "b"
    assert placed.send_not_before == kst(2026, 3, 10, 23, 0)
    assert placed.consent_basis is ConsentBasis.TRANSACTIONAL


# -- frequency caps -------------------------------------------------------------------------


def test_a_second_advertisement_within_24_hours_is_suppressed_by_the_frequency_cap() -> None:
    feeder = Feeder(profile=opted_in())
    first = only_message(feeder.feed(cart("e1", when=at())))
    suppression = only_suppression(feeder.feed(cart("e2", when=at(hours=2))))
    assert suppression.reason is SuppressionReason.FREQUENCY_CAP
    assert "24 h" in suppression.detail
    later = only_message(feeder.feed(cart("e3", when=at(hours=25))))
    assert later.action_id != first.action_id
    assert feeder.state is not None
    assert [m.action_id for m in feeder.state.sent] == [first.action_id, later.action_id]


def test_the_weekly_cap_holds_even_when_the_daily_one_does_not() -> None:
    feeder = Feeder(profile=opted_in())
    for day in range(3):
        only_message(feeder.feed(cart(f"d{day}", when=at(days=2 * day))))
    suppression = only_suppression(feeder.feed(cart("d3", when=at(days=6))))
    assert suppression.reason is SuppressionReason.FREQUENCY_CAP
    assert "168 h" in suppression.detail


def test_the_cap_counts_scheduled_send_times_not_event_times() -> None:
    # An SMS due at 21:00 waits for 08:00; an e-mail 24.5 h after that 21:00 goes at once,
    # only 13.5 h after the SMS really goes out: that is within the 24-hour cap.
    feeder = Feeder(profile=profile(preferred=Channel.SMS, consent=consents(sms=(True, False))))
    sms = only_message(feeder.feed(cart("e1", when=kst(2026, 3, 10, 20, 0))))
    assert sms.send_not_before == kst(2026, 3, 11, 8, 0)
    email_only = profile(preferred=Channel.SMS, consent=consents(email=(True, False)))
    outcome = feeder.feed(cart("e2", when=kst(2026, 3, 11, 20, 30)), profile=email_only)
    assert only_suppression(outcome).reason is SuppressionReason.FREQUENCY_CAP


def test_transactional_messages_do_not_count_toward_the_cap() -> None:
    feeder = Feeder(profile=opted_in())
    question = ASKS
    for n in range(3):
        only_message(feeder.feed(email_in(f"q{n}", when=at(minutes=n)), question))
    message = only_message(feeder.feed(cart("e1", when=at(minutes=10))))
    assert message.advertising is True


# -- inbound e-mail: transactional answer ---------------------------------------------------


def test_an_inbound_email_question_gets_a_transactional_answer_even_without_consent() -> None:
    feeder = Feeder(profile=None)
    asked = kst(2026, 3, 10, 23, 30)  # night time does not apply to answers
    event = email_in("q1", "주문한 상품 언제 오나요?", subject="배송 문의", when=asked)
    outcome = feeder.feed(event, ASKS)
    message = only_message(outcome)
    assert message.channel is Channel.EMAIL
    assert message.advertising is False
    assert message.consent_basis is ConsentBasis.TRANSACTIONAL
    assert message.subject == "Re: 배송 문의"
    assert "(광고)" not in message.subject
    assert "(광고)" not in message.body
    assert message.body.startswith("고객님, 도와드릴게요.")
    assert message.send_not_before == asked
    assert message.template_id == "inbound_answer.delivery_status.fake"
    assert message.action_id == action_id_for("q1", "inbound_answer")
    assert [m.name for m in message.models] == [
        "intent-ko",
        "toxicity-ko",
        "topic-ko",
        "sample-shop",
    ]
    assert message.draft is not None
    assert (message.draft.answer_id, message.draft.question_event_id) == (
        "delivery_status.fake",
        "q1",
    )
    (call,) = feeder.drafter.calls
    assert call.question is not None
    assert call.question.text == "배송 문의\n주문한 상품 언제 오나요?"
    assert call.question.topic == "delivery_status"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("", "문의하신 내용에 대한 답변입니다"),
        ("  ", "문의하신 내용에 대한 답변입니다"),
        ("RE: 배송 문의", "RE: 배송 문의"),
        ("환불 문의 " + "가" * 300, ("Re: 환불 문의 " + "가" * 300)[:200]),
        ("Re: " + "가" * 400, ("Re: " + "가" * 400)[:200]),  # was a crash: see the report
    ],
)
def test_the_answer_subject_replies_to_the_question_within_200_characters(
    subject: str, expected: str
) -> None:
    outcome = Feeder().feed(email_in("q1", subject=subject), ASKS)
    assert only_message(outcome).subject == expected


@pytest.mark.parametrize("intent", ["statement", "fragment", "rhetorical_command"])
def test_an_inbound_email_that_asks_nothing_gets_no_answer(intent: str) -> None:
    outcome = Feeder(profile=opted_in()).feed(email_in("q1"), scores(intent, 0.9))
    assert outcome.messages == []
    assert outcome.suppressions == []
    assert outcome.enriched is not None
    assert outcome.enriched.decisions == []


def test_an_inbound_email_without_scores_gets_no_answer() -> None:
    outcome = Feeder(profile=opted_in()).feed(email_in("q1"), None)
    assert outcome.messages == []
    assert outcome.suppressions == []


def test_chat_messages_never_produce_outbound_messages() -> None:
    feeder = Feeder(profile=opted_in())
    outcome = feeder.feed(
        chat("c1", "장바구니 상품 언제 오나요?", sender=Sender.CUSTOMER), scores()
    )
    assert outcome.messages == []
    assert outcome.suppressions == []


# -- review request -------------------------------------------------------------------------


def test_a_delivered_order_asks_for_a_review_after_the_delay_as_advertising() -> None:
    delay = timedelta(hours=OUTBOUND.rules.review_request.delay_hours)
    message = only_message(Feeder(profile=opted_in()).feed(delivered("d1", "ORD-9", when=at())))
    assert message.template_id == "review_request.v1"
    assert message.send_not_before == at() + delay
    assert "ORD-9" in message.body
    assert_marked_as_advertising(message)


def test_a_review_request_without_consent_is_suppressed() -> None:
    suppression = only_suppression(Feeder(profile=profile()).feed(delivered("d1")))
    assert suppression.rule == "review_request"
    assert suppression.reason is SuppressionReason.NO_ADVERTISING_CONSENT


# -- disabled rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "event"),
    [
        ("abandoned_cart", cart("e1")),
        ("review_request", delivered("e1")),
        ("inbound_answer", email_in("e1")),
    ],
)
def test_a_disabled_rule_is_recorded_as_a_rule_disabled_suppression(
    rule: str, event: CrmEvent
) -> None:
    policy = policy_with({f"outbound.rules.{rule}.enabled": False, "version": "test-disabled"})
    feeder = Feeder(policy, profile=opted_in())
    outcome = feeder.feed(event, scores("question", 0.9))
    suppression = only_suppression(outcome)
    assert suppression.rule == rule
    assert suppression.reason is SuppressionReason.RULE_DISABLED
    assert suppression.policy_version == "test-disabled"
    assert feeder.drafter.calls == []


# -- win-back -------------------------------------------------------------------------------


def test_a_profile_inactive_for_30_days_or_more_gets_one_win_back_message() -> None:
    feeder = Feeder()
    updated = opted_in(last_active_at=at(), updated_at=at(days=40))
    outcome = feeder.profile_update(updated, offset=1)
    message = only_message(outcome)
    assert message.template_id == "win_back.v1"
    assert "40일" in message.body
    assert message.send_not_before == at(days=40)
    assert message.source_event_id.startswith("winback:cust-1:")
    assert message.action_id == action_id_for(message.source_event_id, "win_back")
    assert_marked_as_advertising(message)
    assert outcome.enriched is None
    assert outcome.state is not None


def test_exactly_30_days_inactive_counts() -> None:
    updated = opted_in(last_active_at=at(), updated_at=at(days=30))
    only_message(Feeder().profile_update(updated, offset=1))


@pytest.mark.parametrize("days", [0, 10, 29.9])
def test_a_recently_active_profile_gets_no_win_back(days: float) -> None:
    updated = opted_in(last_active_at=at(), updated_at=at(days=days))
    outcome = Feeder().profile_update(updated, offset=1)
    assert outcome.messages == []
    assert outcome.suppressions == []
    assert outcome.state is None


def test_a_profile_that_was_never_active_gets_no_win_back() -> None:
    outcome = Feeder().profile_update(opted_in(updated_at=at(days=400)), offset=1)
    assert outcome.messages == []
    assert outcome.state is None


def test_the_same_inactive_spell_is_won_back_only_once() -> None:
    feeder = Feeder()
    only_message(feeder.profile_update(opted_in(last_active_at=at(), updated_at=at(days=31)), 1))
    again = feeder.profile_update(opted_in(last_active_at=at(), updated_at=at(days=45)), 2)
    assert again.messages == []
    assert again.suppressions == []
    assert again.state is None


def test_a_new_inactive_spell_is_won_back_again() -> None:
    feeder = Feeder()
    first = only_message(
        feeder.profile_update(opted_in(last_active_at=at(), updated_at=at(days=31)), 1)
    )
    back = opted_in(last_active_at=at(days=40), updated_at=at(days=80))
    second = only_message(feeder.profile_update(back, 2))
    assert second.action_id != first.action_id


def test_win_back_without_consent_is_suppressed() -> None:
    updated = profile(last_active_at=at(), updated_at=at(days=40))
    suppression = only_suppression(Feeder().profile_update(updated, offset=1))
    assert suppression.rule == "win_back"
    assert suppression.reason is SuppressionReason.NO_ADVERTISING_CONSENT


def test_a_disabled_win_back_rule_is_recorded_as_suppressed() -> None:
    policy = policy_with({"outbound.rules.win_back.enabled": False})
    updated = opted_in(last_active_at=at(), updated_at=at(days=40))
    suppression = only_suppression(Feeder(policy).profile_update(updated, offset=1))
    assert suppression.reason is SuppressionReason.RULE_DISABLED


def test_a_win_back_counts_toward_the_frequency_cap_of_later_advertising() -> None:
    feeder = Feeder(profile=opted_in())
    only_message(feeder.profile_update(opted_in(last_active_at=at(), updated_at=at(days=40)), 1))
    outcome = feeder.feed(cart("e1", when=at(days=40, hours=3)))
    assert only_suppression(outcome).reason is SuppressionReason.FREQUENCY_CAP


def test_the_same_inactive_spell_is_not_won_back_again_after_60_days_of_other_messages() -> None:
    feeder = Feeder(profile=opted_in())
    only_message(feeder.profile_update(opted_in(last_active_at=at(), updated_at=at(days=31)), 1))
    # A transactional answer (allowed while inactive) 70 days later prunes the sent list.
    only_message(feeder.feed(email_in("q1", when=at(days=101)), ASKS))
    again = feeder.profile_update(opted_in(last_active_at=at(), updated_at=at(days=102)), 2)
    assert again.messages == []
