"""The consent re-confirmation rule (정보통신망법 제50조 ⑧): which consents are due, the
notice's id and channel, and what the notice says. What the core sends is in
tests/core/test_reconfirmation.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engage_stream.policy.rules import CONSENT_RECONFIRMATION
from engage_stream.policy.rules.consent_reconfirmation import (
    ConsentReconfirmationRule,
    age_periods,
    awaits_reconfirmation,
    due_consents,
    notice_channel,
    notice_id,
)
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import ChannelConsent, Consents
from tests.core.builders import SHIPPED_POLICY, at

SPEC = SHIPPED_POLICY.outbound.consent_reconfirmation
ZONE = SHIPPED_POLICY.zone
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")


def given(days_ago: float, *, advertising: bool = True, night: bool = False) -> ChannelConsent:
    return ChannelConsent(advertising=advertising, night_time=night, updated_at=at(days=-days_ago))


def test_the_shipped_policy_confirms_every_730_days_and_lets_advertising_continue() -> None:
    assert SPEC.enabled
    assert SPEC.reconfirm_after_days == 730
    assert SPEC.advertising_waits is False
    codes = SHIPPED_POLICY.outbound.kakao.alimtalk_template_codes
    assert CONSENT_RECONFIRMATION.template in codes  # friendtalk consents are confirmed by alimtalk


@pytest.mark.parametrize(
    ("days_ago", "period"),
    [(0, 0), (729.9, 0), (730, 1), (1_000, 1), (1_459.9, 1), (1_460, 2), (2_200, 3)],
)
def test_a_consent_is_due_every_730_days_from_when_it_was_given(
    days_ago: float, period: int
) -> None:
    assert age_periods(SPEC, given(days_ago), at()) == period


def test_an_undated_consent_or_no_consent_is_never_due() -> None:
    assert age_periods(SPEC, ChannelConsent(advertising=True), at()) == 0
    assert age_periods(SPEC, given(2_000, advertising=False), at()) == 0


def test_due_consents_are_listed_per_channel_with_their_period() -> None:
    consents = Consents(email=given(800), sms=given(100), kakao_friendtalk=given(1_500))
    due = due_consents(SPEC, consents, "cust-1", at(), ZONE)
    assert [(d.channel, d.period) for d in due] == [
        (Channel.EMAIL, 1),
        (Channel.KAKAO_FRIENDTALK, 2),
    ]
    assert due[0].consented_at == at(days=-800)
    assert due[0].source_id == "reconfirm:cust-1:email:20231231T140000:p1"


def test_a_disabled_rule_owes_no_notice() -> None:
    disabled = SPEC.model_copy(update={"enabled": False})
    assert due_consents(disabled, Consents(email=given(800)), "cust-1", at(), ZONE) == []


def test_the_notice_id_is_one_per_customer_channel_consent_and_period() -> None:
    consented = at(days=-800)
    first = notice_id("cust-1", Channel.EMAIL, consented, 1, ZONE)
    assert first == notice_id("cust-1", Channel.EMAIL, consented, 1, ZONE)
    others = {
        notice_id("cust-2", Channel.EMAIL, consented, 1, ZONE),
        notice_id("cust-1", Channel.SMS, consented, 1, ZONE),
        notice_id("cust-1", Channel.EMAIL, consented + timedelta(seconds=1), 1, ZONE),
        notice_id("cust-1", Channel.EMAIL, consented, 2, ZONE),
    }
    assert first not in others
    assert len(others) == 4


def test_the_notice_id_is_an_identifier_even_for_the_longest_customer_id() -> None:
    long_id = "C" * 128
    made = notice_id(long_id, Channel.KAKAO_FRIENDTALK, at(), 3, ZONE)
    assert len(made) <= 128
    assert IDENTIFIER.match(made)
    assert made != notice_id("D" * 128, Channel.KAKAO_FRIENDTALK, at(), 3, ZONE)


def test_advertising_waits_for_a_due_consent_only_when_the_policy_says_so() -> None:
    waits = ConsentReconfirmationRule(advertising_waits=True)
    assert awaits_reconfirmation(waits, given(731), at())
    assert not awaits_reconfirmation(waits, given(100), at())
    assert not awaits_reconfirmation(SPEC, given(731), at())


def test_a_kakao_consent_is_confirmed_by_alimtalk_the_others_on_their_channel() -> None:
    assert notice_channel(Channel.KAKAO_FRIENDTALK) is Channel.KAKAO_ALIMTALK
    for channel in (Channel.EMAIL, Channel.SMS, Channel.PUSH):
        assert notice_channel(channel) is channel


def _notice(spec: ConsentReconfirmationRule, consent: ChannelConsent, channel: Channel) -> str:
    (due,) = due_consents(spec, Consents(**{channel.value: consent}), "cust-1", at(), ZONE)
    offer = CONSENT_RECONFIRMATION.offer(
        spec, due, at(), ("engage-stream 샵", "고객센터 1588-0000"), SHIPPED_POLICY.messages, ZONE
    )
    assert offer.advertising is False
    assert offer.remembered is True
    assert offer.earliest == at()
    assert offer.template_id == "consent_reconfirmation.v1"
    assert offer.channel is notice_channel(channel)
    assert "(광고)" not in offer.subject + offer.body
    assert "수신거부" not in offer.subject + offer.body
    return offer.body


def test_the_notice_says_who_sends_what_was_consented_to_when_and_how_to_change_it() -> None:
    body = _notice(SPEC, given(800, night=True), Channel.SMS)
    assert "engage-stream 샵" in body
    assert "2023년 12월 31일에 문자 메시지로" in body
    assert "야간 수신에도 함께 동의" in body
    assert "마이페이지 > 알림 설정" in body
    assert "고객센터 1588-0000으로 요청" in body
    assert "따로 하실 일은 없습니다" in body


def test_a_notice_without_night_consent_does_not_mention_it() -> None:
    body = _notice(SPEC, given(800), Channel.KAKAO_FRIENDTALK)
    assert "카카오톡 채널 메시지로" in body
    assert "야간" not in body


def test_when_advertising_waits_the_notice_asks_the_customer_to_confirm() -> None:
    body = _notice(ConsentReconfirmationRule(advertising_waits=True), given(800), Channel.PUSH)
    assert "앱 푸시 알림으로" in body
    assert "동의를 다시 확인해 주세요" in body
    assert "따로 하실 일은 없습니다" not in body
