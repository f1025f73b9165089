"""Kakao as two channels in the contracts: profiles say who is a channel friend, alimtalk
messages carry their template code, and `kakao` data of earlier releases reads as friendtalk."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.enrichment.state import CustomerState
from engage_stream.schemas.actions import ConsentBasis, NextBestAction, SuppressionReason
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import CONSENT_CHANNELS, Consents, CustomerProfile
from engage_stream.schemas.enriched import EnrichedEvent
from engage_stream.schemas.stored import read_stored

OLD_PROFILE = {
    "customer_id": "C00042",
    "name": "이서연",
    "email": "seoyeon@example.co.kr",
    "phone": "010-2345-6789",
    "tier": "silver",
    "preferred_channel": "kakao",
    "consents": {
        "email": {"advertising": False, "night_time": False, "updated_at": None},
        "kakao": {
            "advertising": True,
            "night_time": True,
            "updated_at": "2024-05-01T10:00:00+09:00",
        },
    },
    "updated_at": "2026-11-26T00:00:00Z",
}
"""A profile as an earlier release's CRM sent it: one Kakao channel, no friend flag."""


def test_an_old_format_profile_reads_kakao_as_friendtalk_and_not_as_a_friend() -> None:
    profile = CustomerProfile.model_validate_json(json.dumps(OLD_PROFILE))
    assert profile.preferred_channel is Channel.KAKAO_FRIENDTALK
    friendtalk = profile.consents.kakao_friendtalk
    assert (friendtalk.advertising, friendtalk.night_time) == (True, True)
    assert friendtalk.updated_at == datetime(2024, 5, 1, 1, 0, tzinfo=UTC)
    assert profile.kakao_friend is False
    assert profile.consents.for_channel(Channel.KAKAO_FRIENDTALK) is friendtalk
    again = json.loads(profile.model_dump_json())
    assert "kakao" not in again["consents"]
    assert again["preferred_channel"] == "kakao_friendtalk"


def test_a_stored_old_profile_reads_back_the_same_way() -> None:
    profile = read_stored(CustomerProfile, json.dumps(OLD_PROFILE))
    assert profile.consents.kakao_friendtalk.advertising is True


def test_both_the_old_and_the_new_kakao_consent_at_once_is_refused() -> None:
    document = json.loads(json.dumps(OLD_PROFILE))
    document["consents"]["kakao_friendtalk"] = {"advertising": False}
    with pytest.raises(ValidationError, match="not both"):
        CustomerProfile.model_validate(document)


def test_alimtalk_takes_no_consent_because_it_never_carries_advertising() -> None:
    with pytest.raises(ValidationError, match="kakao_alimtalk"):
        Consents.model_validate({"kakao_alimtalk": {"advertising": True}})
    everything = Consents.model_validate(
        {c.value: {"advertising": True, "night_time": True} for c in CONSENT_CHANNELS}
    )
    assert everything.for_channel(Channel.KAKAO_ALIMTALK).advertising is False
    assert Channel.KAKAO_ALIMTALK not in CONSENT_CHANNELS


def test_the_old_channel_name_reads_as_friendtalk_wherever_a_channel_is_read() -> None:
    assert Channel("kakao") is Channel.KAKAO_FRIENDTALK
    with pytest.raises(ValueError, match="kakaotalk"):
        Channel("kakaotalk")
    stored = {
        "customer_id": "C00042",
        "sent": [
            {
                "position": {"source": "crm.events/3", "offset": 17},
                "action_id": "a-17",
                "channel": "kakao",
                "advertising": True,
                "send_at": "2026-11-20T09:00:00+09:00",
            }
        ],
    }
    state = read_stored(CustomerState, json.dumps(stored))
    assert state.sent[0].channel is Channel.KAKAO_FRIENDTALK


def test_an_old_enriched_record_with_the_kakao_consent_reads() -> None:
    path = PROJECT_ROOT / "schemas/examples/enriched-event/handoff-decision.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    consents = document["profile"]["consents"]
    consents["kakao"] = consents.pop("kakao_friendtalk")
    document["profile"]["preferred_channel"] = "kakao"
    enriched = EnrichedEvent.model_validate(document)
    assert enriched.profile.preferred_channel is Channel.KAKAO_FRIENDTALK
    assert enriched.profile.kakao_friend is False


def _message(**changes: object) -> dict[str, object]:
    message: dict[str, object] = {
        "action_id": "a-1",
        "source_event_id": "reconfirm:C00042:kakao-friendtalk:20240501T100000:p1",
        "customer_id": "C00042",
        "created_at": "2026-11-26T00:00:01Z",
        "policy_version": "test",
        "channel": "kakao_alimtalk",
        "template_id": "consent_reconfirmation.v1",
        "body": "고객님, 안녕하세요.",
        "advertising": False,
        "send_not_before": "2026-11-26T00:00:00Z",
        "consent_basis": ConsentBasis.TRANSACTIONAL.value,
        "kakao_template_code": "ES_CONSENT_RECONFIRM_01",
    }
    message.update(changes)
    return message


def test_an_alimtalk_message_carries_its_template_code() -> None:
    message = NextBestAction.model_validate(_message())
    assert message.kakao_template_code == "ES_CONSENT_RECONFIRM_01"
    with pytest.raises(ValidationError, match="kakao_template_code"):
        NextBestAction.model_validate(_message(kakao_template_code=None))


def test_only_alimtalk_messages_carry_a_template_code() -> None:
    with pytest.raises(ValidationError, match="kakao_template_code"):
        NextBestAction.model_validate(_message(channel="email"))
    email = NextBestAction.model_validate(_message(channel="email", kakao_template_code=None))
    assert email.kakao_template_code is None


def test_an_alimtalk_message_is_never_advertising() -> None:
    with pytest.raises(ValidationError, match="never carries advertising"):
        NextBestAction.model_validate(
            _message(advertising=True, consent_basis=ConsentBasis.ADVERTISING_OPT_IN.value)
        )


def test_the_new_suppression_reasons_have_their_wire_names() -> None:
    assert SuppressionReason("no_alimtalk_template") is SuppressionReason.NO_ALIMTALK_TEMPLATE
    assert SuppressionReason("consent_not_reconfirmed") is SuppressionReason.CONSENT_NOT_RECONFIRMED
