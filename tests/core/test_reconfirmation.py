"""Consent re-confirmation in the core (정보통신망법 제50조 ⑧): a two-year-old advertising
consent gets one transactional notice per channel and period, on the customer's next event or
profile update, as of that input's time; and advertising waits for it only when the policy
says so."""

from __future__ import annotations

from datetime import datetime

from engage_stream.core.processor import Outcome
from engage_stream.schemas.actions import (
    ConsentBasis,
    NextBestAction,
    SuppressionReason,
    action_id_for,
)
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import ChannelConsent, Consents, CustomerProfile
from engage_stream.schemas.enriched import DecisionKind
from tests.core.builders import (
    PROCESSED_AT,
    SHIPPED_POLICY,
    Feeder,
    at,
    cart,
    page_view,
    policy_with,
    profile,
    source,
)

RULE = "consent_reconfirmation"
WAITS = policy_with({"outbound.consent_reconfirmation.advertising_waits": True})


def consent(days_ago: float, *, night: bool = False) -> ChannelConsent:
    return ChannelConsent(advertising=True, night_time=night, updated_at=at(days=-days_ago))


def customer(
    *, preferred: Channel = Channel.EMAIL, updated_at: datetime | None = None, **consents: float
) -> CustomerProfile:
    """`customer(email=800)`: advertising consents given that many days before T0."""
    given = Consents(**{name: consent(days) for name, days in consents.items()})
    return profile(
        preferred=preferred, consent=given, kakao_friend=True, updated_at=updated_at or at()
    )


def notices(outcome: Outcome) -> list[NextBestAction]:
    return [m for m in outcome.messages if m.template_id == "consent_reconfirmation.v1"]


def only_notice(outcome: Outcome) -> NextBestAction:
    (notice,) = notices(outcome)
    return notice


# -- one notice per channel and period -------------------------------------------------------


def test_a_two_year_old_consent_gets_one_transactional_re_confirmation_notice() -> None:
    feeder = Feeder(profile=customer(email=731))
    outcome = feeder.feed(page_view("p1", when=at(hours=2)))
    notice = only_notice(outcome)
    assert notice.channel is Channel.EMAIL
    assert notice.advertising is False
    assert notice.consent_basis is ConsentBasis.TRANSACTIONAL
    assert notice.subject is not None
    assert "(광고)" not in notice.subject + notice.body
    assert "수신거부" not in notice.body
    assert "이메일로" in notice.body
    assert notice.send_not_before == at(hours=2)  # the event's time, not the clock
    assert notice.created_at == PROCESSED_AT
    assert notice.source_event_id.startswith("reconfirm:cust-1:email:")
    assert notice.action_id == action_id_for(notice.source_event_id, RULE)
    assert outcome.enriched is not None
    (decision,) = outcome.enriched.decisions
    assert (decision.kind, decision.rule) == (DecisionKind.NEXT_BEST_ACTION, RULE)
    assert decision.action_id == notice.action_id


def test_the_notice_is_sent_once_per_period_and_remembered_in_the_state() -> None:
    feeder = Feeder(profile=customer(email=731))
    first = only_notice(feeder.feed(page_view("p1")))
    for n in range(2, 5):
        assert notices(feeder.feed(page_view(f"p{n}", when=at(days=n)))) == []
    assert feeder.state is not None
    assert [m.action_id for m in feeder.state.sent] == [first.action_id]
    next_period = only_notice(feeder.feed(page_view("p9", when=at(days=730))))
    assert next_period.action_id != first.action_id
    assert next_period.source_event_id.endswith(":p2")


def test_a_consent_not_yet_two_years_old_gets_no_notice() -> None:
    outcome = Feeder(profile=customer(email=729)).feed(page_view("p1"))
    assert outcome.messages == []
    assert outcome.suppressions == []


def test_a_consent_the_customer_confirmed_again_starts_the_count_again() -> None:
    feeder = Feeder(profile=customer(email=731))
    only_notice(feeder.feed(page_view("p1")))
    confirmed = customer(email=-1)  # the CRM moved updated_at: confirmed a day after T0
    assert notices(feeder.feed(page_view("p2", when=at(days=700)), profile=confirmed)) == []
    again = feeder.feed(page_view("p3", when=at(days=732)), profile=confirmed)
    assert only_notice(again).source_event_id.endswith(":p1")


def test_each_due_channel_gets_its_own_notice_on_its_own_channel() -> None:
    feeder = Feeder(profile=customer(email=800, sms=900, push=100))
    sent = notices(feeder.feed(page_view("p1")))
    assert [m.channel for m in sent] == [Channel.EMAIL, Channel.SMS]
    assert [m.subject is None for m in sent] == [False, True]
    assert "문자 메시지로" in sent[1].body


def test_a_kakao_consent_is_confirmed_by_alimtalk_with_the_registered_template_code() -> None:
    notice = only_notice(Feeder(profile=customer(kakao_friendtalk=800)).feed(page_view("p1")))
    assert notice.channel is Channel.KAKAO_ALIMTALK
    codes = SHIPPED_POLICY.outbound.kakao.alimtalk_template_codes
    assert notice.kakao_template_code == codes["consent_reconfirmation.v1"]
    assert notice.subject is None
    assert "카카오톡 채널 메시지로" in notice.body


def test_a_kakao_consent_without_a_registered_code_for_the_notice_is_suppressed() -> None:
    policy = policy_with({"outbound.kakao.alimtalk_template_codes": {}})
    outcome = Feeder(policy, profile=customer(kakao_friendtalk=800)).feed(page_view("p1"))
    assert outcome.messages == []
    (suppression,) = outcome.suppressions
    assert (suppression.rule, suppression.reason) == (RULE, SuppressionReason.NO_ALIMTALK_TEMPLATE)


def test_a_notice_with_no_address_to_go_to_is_suppressed_each_time_under_one_id() -> None:
    feeder = Feeder(profile=profile(email=None, consent=Consents(email=consent(800))))
    first = feeder.feed(page_view("p1"))
    (suppression,) = first.suppressions
    assert (suppression.rule, suppression.reason) == (RULE, SuppressionReason.NO_CONTACT_ADDRESS)
    assert "no address on file for email" in suppression.detail
    (again,) = feeder.feed(page_view("p2")).suppressions
    assert again.suppression_id == suppression.suppression_id


def test_a_disabled_re_confirmation_sends_nothing() -> None:
    policy = policy_with({"outbound.consent_reconfirmation.enabled": False})
    outcome = Feeder(policy, profile=customer(email=800)).feed(page_view("p1"))
    assert outcome.messages == []
    assert outcome.suppressions == []


def test_without_a_profile_nothing_is_owed() -> None:
    assert Feeder(profile=None).feed(page_view("p1")).messages == []


# -- profile updates trigger it too; replays decide alike ------------------------------------


def test_a_profile_update_gets_the_notice_as_of_its_own_time_once() -> None:
    feeder = Feeder()
    updated = customer(email=800, updated_at=at(days=3))
    outcome = feeder.profile_update(updated, offset=1)
    notice = only_notice(outcome)
    assert notice.send_not_before == at(days=3)
    assert outcome.enriched is None
    assert outcome.state is not None
    republished = feeder.profile_update(updated, offset=2)
    assert republished.messages == []
    assert republished.state is None
    assert notices(feeder.feed(page_view("p1", when=at(days=4)), profile=updated)) == []


def test_a_profile_update_with_nothing_due_changes_nothing() -> None:
    outcome = Feeder().profile_update(customer(email=100), offset=1)
    assert (outcome.messages, outcome.suppressions, outcome.state) == ([], [], None)


def test_an_event_processed_again_gives_the_same_notice_with_the_same_id() -> None:
    feeder = Feeder(profile=customer(email=800))
    first = only_notice(feeder.feed(page_view("p1"), offset=10))
    feeder.feed(page_view("p2", when=at(hours=1)), offset=11)
    again = feeder.core.process(
        page_view("p1"), source(10), None, feeder.profile, feeder.state, PROCESSED_AT
    )
    assert only_notice(again) == first


# -- advertising beside a due consent --------------------------------------------------------


def test_by_default_advertising_continues_beside_the_notice_and_the_notice_caps_nothing() -> None:
    feeder = Feeder(profile=customer(email=800))
    outcome = feeder.feed(cart("e1"))
    assert outcome.suppressions == []
    notice, offer = outcome.messages
    assert notice.template_id == "consent_reconfirmation.v1"
    assert (offer.template_id, offer.advertising) == ("abandoned_cart.v1", True)


def test_when_the_policy_says_so_advertising_waits_for_the_re_confirmation() -> None:
    outcome = Feeder(WAITS, profile=customer(email=800)).feed(cart("e1"))
    notice = only_notice(outcome)
    assert "동의를 다시 확인해 주세요" in notice.body
    (suppression,) = outcome.suppressions
    assert suppression.rule == "abandoned_cart"
    assert suppression.reason is SuppressionReason.CONSENT_NOT_RECONFIRMED
    assert "email (given 2023-12-31)" in suppression.detail


def test_advertising_that_waits_on_one_channel_goes_on_a_fresh_one() -> None:
    feeder = Feeder(WAITS, profile=customer(preferred=Channel.SMS, sms=800, email=10))
    outcome = feeder.feed(cart("e1"))
    (advertising,) = [m for m in outcome.messages if m.advertising]
    assert advertising.channel is Channel.EMAIL
    details = [d.detail for d in outcome.decisions if d.rule == "abandoned_cart"]
    assert details == [
        f"email, advertising_opt_in, not before {advertising.send_not_before.isoformat()} "
        "(passed over sms: consent awaits its re-confirmation)"
    ]


def test_once_the_crm_shows_the_consent_confirmed_advertising_goes_again() -> None:
    feeder = Feeder(WAITS, profile=customer(email=800))
    feeder.feed(cart("e1"))
    outcome = feeder.feed(cart("e2", when=at(days=2)), profile=customer(email=-1))
    (message,) = outcome.messages
    assert message.advertising is True
