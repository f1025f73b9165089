"""Kakao as two channels: friendtalk (advertising, channel friends only, quiet 20:00-08:00
whatever the night-time opt-in) and alimtalk (informational only, each message on a template
registered with Kakao), and `kakao` profiles of earlier releases read as friendtalk."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from engage_stream.core.processor import Outcome
from engage_stream.enrichment.profile import snapshot
from engage_stream.policy.outbound import Offer, Placement, Refusal, in_window, place
from engage_stream.policy.policy_file import Policy
from engage_stream.schemas.actions import ConsentBasis, NextBestAction, SuppressionReason
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.enriched import DecisionKind
from tests.core.builders import (
    POLICY_FILE,
    SHIPPED_POLICY,
    Feeder,
    cart,
    consents,
    delivered,
    kst,
    policy_with,
    profile,
)

OUTBOUND = SHIPPED_POLICY.outbound
ZONE = SHIPPED_POLICY.zone
FRIENDTALK, ALIMTALK = Channel.KAKAO_FRIENDTALK, Channel.KAKAO_ALIMTALK


def only_message(outcome: Outcome) -> NextBestAction:
    assert outcome.suppressions == []
    (message,) = outcome.messages
    return message


def only_suppression(outcome: Outcome) -> tuple[SuppressionReason, str]:
    assert outcome.messages == []
    (suppression,) = outcome.suppressions
    return suppression.reason, suppression.detail


def decision_detail(outcome: Outcome) -> str:
    """The placement's decision: the offer is held, and placed once due."""
    (decision,) = outcome.decisions
    return decision.detail


def kakao_fan(
    *, friend: bool = True, night: bool = False, email: bool = False, **kw: Any
) -> Feeder:
    """A customer who prefers Kakao and consents to Kakao advertising (and e-mail, if asked)."""
    given = {"kakao_friendtalk": (True, night)} | ({"email": (True, False)} if email else {})
    customer = profile(preferred=FRIENDTALK, consent=consents(**given), kakao_friend=friend, **kw)
    return Feeder(profile=customer)


# -- friendtalk: advertising to channel friends ---------------------------------------------


def test_a_channel_friend_who_consented_gets_friendtalk_marked_as_advertising() -> None:
    message = only_message(kakao_fan().feed(cart("e1")))
    assert message.channel is FRIENDTALK
    assert message.subject is None
    assert message.body.startswith("(광고) ")
    assert "수신거부" in message.body
    assert message.consent_basis is ConsentBasis.ADVERTISING_OPT_IN
    assert message.kakao_template_code is None


def test_a_non_friend_falls_back_to_the_next_consented_channel_still_marked() -> None:
    outcome = kakao_fan(friend=False, email=True).feed(cart("e1"))
    message = only_message(outcome)
    assert message.channel is Channel.EMAIL
    assert message.advertising is True
    assert message.subject is not None
    assert message.subject.startswith("(광고) ")
    assert "수신거부" in message.body
    assert "passed over kakao_friendtalk: not a friend of the shop's Kakao channel" in (
        decision_detail(outcome)
    )


def test_a_non_friend_with_no_other_consented_channel_is_not_reachable() -> None:
    reason, detail = only_suppression(kakao_fan(friend=False).feed(cart("e1")))
    assert reason is SuppressionReason.NO_CONTACT_ADDRESS
    assert "not a friend of the shop's Kakao channel" in detail


def test_a_friend_without_a_phone_number_on_file_cannot_get_friendtalk() -> None:
    reason, detail = only_suppression(kakao_fan(phone=None).feed(cart("e1")))
    assert reason is SuppressionReason.NO_CONTACT_ADDRESS
    assert detail == "no address on file for kakao_friendtalk"


# -- friendtalk's own night: 20:00-08:00 whatever the opt-in --------------------------------


def test_friendtalk_is_held_from_20_00_even_with_the_night_time_opt_in() -> None:
    # The cart's message is due at 20:30, inside Kakao's window, outside the law's night.
    message = only_message(kakao_fan(night=True).feed(cart("e1", when=kst(2026, 3, 10, 19, 30))))
    assert message.send_not_before == kst(2026, 3, 11, 8, 0)
    assert message.consent_basis is ConsentBasis.ADVERTISING_OPT_IN


def test_sms_at_the_same_time_is_not_held_the_law_s_night_starts_at_21() -> None:
    customer = profile(preferred=Channel.SMS, consent=consents(sms=(True, False)))
    message = only_message(Feeder(profile=customer).feed(cart("e1", when=kst(2026, 3, 10, 19, 30))))
    assert message.send_not_before == kst(2026, 3, 10, 20, 30)


def test_friendtalk_due_after_midnight_waits_for_08_00_the_same_morning() -> None:
    message = only_message(kakao_fan(night=True).feed(cart("e1", when=kst(2026, 3, 11, 1, 0))))
    assert message.send_not_before == kst(2026, 3, 11, 8, 0)


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (kst(2026, 3, 10, 19, 59), False),
        (kst(2026, 3, 10, 20, 0), True),
        (kst(2026, 3, 11, 0, 0), True),
        (kst(2026, 3, 11, 7, 59), True),
        (kst(2026, 3, 11, 8, 0), False),
    ],
)
def test_the_shipped_friendtalk_window_runs_from_20_00_to_08_00(
    moment: datetime, quiet: bool
) -> None:
    window = OUTBOUND.night_time.channel_windows[FRIENDTALK]
    assert in_window(moment, window.start, window.end, ZONE) is quiet


def test_the_law_s_night_stays_21_00_to_08_00_beside_kakao_s() -> None:
    night = OUTBOUND.night_time
    assert (night.start.hour, night.end.hour) == (21, 8)
    assert set(night.channel_windows) == {FRIENDTALK}


# -- alimtalk: informational only, on registered templates ----------------------------------


def test_alimtalk_never_carries_advertising_a_preference_for_it_falls_back_to_email() -> None:
    customer = profile(preferred=ALIMTALK, consent=consents(email=(True, False)))
    message = only_message(Feeder(profile=customer).feed(cart("e1")))
    assert message.channel is Channel.EMAIL
    assert message.advertising is True


def test_advertising_offered_on_alimtalk_alone_is_refused() -> None:
    offer = Offer(
        rule="r",
        template_id="abandoned_cart.v1",
        advertising=True,
        earliest=kst(2026, 3, 10, 14),
        subject="s",
        body="b",
        channel=ALIMTALK,
    )
    everything = consents(email=(True, True), kakao_friendtalk=(True, True))
    refused = place(offer, snapshot(profile(consent=everything)), [], OUTBOUND, ZONE)
    assert isinstance(refused, Refusal)
    assert refused.reason is SuppressionReason.NO_ADVERTISING_CONSENT
    assert "kakao_alimtalk never carries advertising" in refused.detail


def informational_review(codes: dict[str, str]) -> Policy:
    """The shipped policy with the review request sent as a notice (not advertising)."""
    return policy_with(
        {
            "outbound.rules.review_request.advertising": False,
            "outbound.kakao.alimtalk_template_codes": codes,
        }
    )


def test_a_notice_to_a_customer_who_prefers_kakao_goes_by_alimtalk_with_its_code() -> None:
    policy = informational_review({"review_request.v1": "ES_REVIEW_01"})
    customer = profile(preferred=FRIENDTALK, kakao_friend=False)
    message = only_message(Feeder(policy, profile=customer).feed(delivered("d1")))
    assert message.channel is ALIMTALK
    assert message.kakao_template_code == "ES_REVIEW_01"
    assert message.advertising is False
    assert message.consent_basis is ConsentBasis.TRANSACTIONAL
    assert message.subject is None
    assert "(광고)" not in message.body
    assert "수신거부" not in message.body


def test_an_alimtalk_notice_without_a_registered_template_code_is_suppressed() -> None:
    customer = profile(preferred=ALIMTALK)
    outcome = Feeder(informational_review({}), profile=customer).feed(delivered("d1"))
    reason, detail = only_suppression(outcome)
    assert reason is SuppressionReason.NO_ALIMTALK_TEMPLATE
    assert "review_request.v1" in detail
    assert "outbound.kakao.alimtalk_template_codes" in detail
    assert outcome.decisions[0].kind is DecisionKind.SUPPRESSED


def test_a_notice_to_a_kakao_customer_without_a_phone_number_goes_by_email() -> None:
    policy = informational_review({})
    customer = profile(preferred=FRIENDTALK, phone=None)
    message = only_message(Feeder(policy, profile=customer).feed(delivered("d1")))
    assert message.channel is Channel.EMAIL


def test_a_notice_offered_on_friendtalk_goes_by_alimtalk() -> None:
    offer = Offer(
        rule="r",
        template_id="consent_reconfirmation.v1",
        advertising=False,
        earliest=kst(2026, 3, 10, 23),
        subject="s",
        body="b",
        channel=FRIENDTALK,
    )
    placed = place(offer, snapshot(profile()), [], OUTBOUND, ZONE)
    assert isinstance(placed, Placement)
    assert placed.channel is ALIMTALK
    assert placed.template_code == OUTBOUND.kakao.alimtalk_template_codes[offer.template_id]
    assert placed.send_not_before == kst(2026, 3, 10, 23)


def test_a_template_code_for_a_template_the_policy_does_not_have_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"abandoned_cart\.v9 are not templates"):
        policy_with({"outbound.kakao.alimtalk_template_codes": {"abandoned_cart.v9": "X1"}})


# -- profiles of earlier releases ------------------------------------------------------------


def old_profile(**extra: Any) -> CustomerProfile:
    """A profile as the CRM sent it before Kakao was two channels."""
    document = {
        "customer_id": "cust-1",
        "email": "minji@example.com",
        "phone": "010-1234-5678",
        "preferred_channel": "kakao",
        "consents": {
            "email": {"advertising": True},
            "kakao": {"advertising": True, "night_time": True},
        },
        "updated_at": "2026-03-10T14:00:00+09:00",
        **extra,
    }
    return CustomerProfile.model_validate_json(json.dumps(document))


def test_an_old_kakao_profile_is_no_channel_friend_so_its_advertising_goes_by_email() -> None:
    outcome = Feeder(profile=old_profile()).feed(cart("e1"))
    message = only_message(outcome)
    assert message.channel is Channel.EMAIL
    assert "kakao_friendtalk: not a friend" in decision_detail(outcome)


def test_an_old_kakao_profile_once_the_crm_says_friend_gets_friendtalk() -> None:
    message = only_message(Feeder(profile=old_profile(kakao_friend=True)).feed(cart("e1")))
    assert message.channel is FRIENDTALK
    assert message.body.startswith("(광고) ")


def test_a_policy_naming_friendtalk_by_both_its_names_is_refused() -> None:
    document = SHIPPED_POLICY.model_dump(mode="json")
    windows = document["outbound"]["night_time"]["channel_windows"]
    windows["kakao"] = windows["kakao_friendtalk"]
    with pytest.raises(ValidationError, match="kakao and kakao_friendtalk are the same channel"):
        Policy.model_validate(document, context={"policy_file": POLICY_FILE})
