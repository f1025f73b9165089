"""`infra/policies.yaml`: the shipped file loads; a bad one names the file and the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engage_stream.policy.policy_file import Policy, PolicyError, label_problems, load_policy
from engage_stream.schemas.actions import HandoffReason, Priority
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import Tier
from tests.core.builders import POLICY_FILE

Document = dict[str, Any]


@pytest.fixture(scope="module")
def shipped_document() -> Document:
    document: Document = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    return document


def write(tmp_path: Path, document: Document) -> Path:
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


# -- the shipped file -----------------------------------------------------------------------


def test_the_shipped_policy_file_loads() -> None:
    policy = load_policy(POLICY_FILE)
    assert policy.version
    assert policy.timezone == "Asia/Seoul"
    assert str(policy.zone) == "Asia/Seoul"
    assert set(policy.handoff.priority) == set(HandoffReason)
    assert policy.handoff.queues[-1].reasons == []
    assert policy.handoff.queues[-1].tiers == []


def test_the_shipped_policy_follows_the_korean_advertising_rules() -> None:
    outbound = load_policy(POLICY_FILE).outbound
    assert outbound.advertising_prefix == "(광고)"
    assert "수신거부" in outbound.opt_out_footer
    assert outbound.sender.name
    assert outbound.sender.contact
    assert (outbound.night_time.start.hour, outbound.night_time.end.hour) == (21, 8)
    assert outbound.night_time.exempt_channels == [Channel.EMAIL]
    assert any(c.window_hours == 24 and c.max_messages == 1 for c in outbound.frequency_caps)
    rules = outbound.rules
    assert rules.abandoned_cart.advertising
    assert rules.review_request.advertising
    assert rules.win_back.advertising
    assert rules.inbound_answer.advertising is False


def test_the_shipped_handoff_policy_escalates_abuse_and_cares_for_vips() -> None:
    handoff = load_policy(POLICY_FILE).handoff
    assert handoff.vip_tiers == [Tier.VIP]
    assert handoff.priority[HandoffReason.ABUSIVE_LANGUAGE] is Priority.HIGH
    assert handoff.queues[0].reasons == [HandoffReason.ABUSIVE_LANGUAGE]


def test_a_policy_round_trips_through_its_own_dump() -> None:
    policy = load_policy(POLICY_FILE)
    assert Policy.model_validate(policy.model_dump(mode="json")) == policy


# -- errors name the file and the field -----------------------------------------------------


def _set(path: str, value: Any) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        *parents, last = path.split(".")
        node = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value

    return change


def _drop_priority(document: Document) -> None:
    del document["handoff"]["priority"]["low_confidence"]


def _condition_on_the_last_queue(document: Document) -> None:
    document["handoff"]["queues"][-1]["tiers"] = ["gold"]


def _unknown_key(document: Document) -> None:
    document["outbound"]["night_time"]["starts"] = "22:00"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            _set("handoff.human_request_patterns", ["상담("]),
            "handoff.human_request_patterns",
            "상담(",
        ),
        (_set("handoff.bot_failure_patterns", ["[잘"]), "handoff.bot_failure_patterns", "[잘"),
        (
            _set("handoff.negative.complaint_patterns", ["화가|(짜증"]),
            "handoff.negative.complaint_patterns",
            "not a regular expression",
        ),
        (_drop_priority, "handoff.priority", "low_confidence"),
        (
            _set("handoff.priority.abusive_language", "critical"),
            "handoff.priority.abusive_language",
            "'urgent'",
        ),
        (_condition_on_the_last_queue, "handoff.queues", "last queue rule"),
        (_set("handoff.queues", []), "handoff.queues", "at least 1"),
        (
            _set("outbound.opt_out_footer", "알림 설정에서 끌 수 있습니다."),
            "outbound.opt_out_footer",
            "수신거부",
        ),
        (_set("timezone", "Asia/Nowhere"), "timezone", "Asia/Nowhere"),
        (
            _set("handoff.queues", [{"queue": "claims", "topics": ["refund_status"]}]),
            "handoff.queues",
            "last queue rule",
        ),
        (_set("handoff.drafting.budget_ms", 0), "handoff.drafting.budget_ms", "greater than 0"),
        (_set("handoff.abusive.min_score", 1.5), "handoff.abusive.min_score", "1"),
        (_set("outbound.night_time.start", "25:00"), "outbound.night_time.start", ""),
        (
            _set("outbound.frequency_caps.0.window_hours", 0),
            "outbound.frequency_caps.0.window_hours",
            "",
        ),
        (
            _set("outbound.rules.win_back.inactive_days", -1),
            "outbound.rules.win_back.inactive_days",
            "",
        ),
        (_set("handoff.vip_tiers", ["platinum"]), "handoff.vip_tiers.0", "'vip'"),
        (_unknown_key, "outbound.night_time.starts", "Extra inputs"),
        (_set("version", ""), "version", ""),
    ],
)
def test_an_invalid_policy_is_refused_with_the_file_and_the_field(
    tmp_path: Path,
    shipped_document: Document,
    change: Callable[[Document], None],
    field: str,
    words: str,
) -> None:
    document = copy.deepcopy(shipped_document)
    change(document)
    path = write(tmp_path, document)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert message.startswith(f"policy file {path}: ")
    assert f"{field}:" in message
    assert words in message


def test_a_missing_policy_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(PolicyError, match=r"policy file .*absent\.yaml: cannot read"):
        load_policy(path)


def test_a_policy_file_that_is_not_yaml_says_so(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"broken\.yaml: not valid YAML"):
        load_policy(path)


def test_an_empty_policy_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"empty\.yaml: "):
        load_policy(path)


def test_a_missing_section_is_named(tmp_path: Path, shipped_document: Document) -> None:
    document = copy.deepcopy(shipped_document)
    del document["outbound"]["rules"]["win_back"]
    with pytest.raises(PolicyError, match=r"outbound\.rules\.win_back: Field required"):
        load_policy(write(tmp_path, document))


def test_the_footer_check_ignores_spacing(tmp_path: Path, shipped_document: Document) -> None:
    document = copy.deepcopy(shipped_document)
    document["outbound"]["opt_out_footer"] = "무료 수신 거부: 080-000-0000"
    assert "수신 거부" in load_policy(write(tmp_path, document)).outbound.opt_out_footer


def test_a_night_window_within_one_day_is_allowed(
    tmp_path: Path, shipped_document: Document
) -> None:
    document = copy.deepcopy(shipped_document)
    document["outbound"]["night_time"] = {"start": "00:00", "end": "06:00", "exempt_channels": []}
    night = load_policy(write(tmp_path, document)).outbound.night_time
    assert night.start < night.end
    assert night.exempt_channels == []


# -- label names: the models' own ------------------------------------------------------------

SHIPPED_LABELS = {
    "intent": (
        "fragment",
        "statement",
        "question",
        "command",
        "rhetorical_question",
        "rhetorical_command",
        "intonation_dependent",
    ),
    "toxicity": ("none", "offensive", "hate"),
    "topic": (
        "delivery_status",
        "refund_status",
        "defect_claim",
        "return_request",
        "exchange_request",
        "other",
        "delivery_address",
        "order_cancel",
        "payment",
        "receipt",
        "coupon_points",
        "account",
        "product_info",
        "restock",
        "shipping_fee",
        "contact_hours",
    ),
}


def test_the_shipped_policy_names_only_labels_the_shipped_heads_have() -> None:
    policy = load_policy(POLICY_FILE)
    assert label_problems(policy, SHIPPED_LABELS) == []


@pytest.mark.parametrize(
    ("change", "field", "label"),
    [
        (_set("handoff.abusive.labels", ["offensive", "rude"]), "handoff.abusive.labels", "rude"),
        (
            _set("outbound.rules.inbound_answer.intents", ["question", "greeting"]),
            "outbound.rules.inbound_answer.intents",
            "greeting",
        ),
        (_set("handoff.negative.intents", ["sarcasm"]), "handoff.negative.intents", "sarcasm"),
        (
            _set("handoff.queues.2.topics", ["refunds"]),
            "handoff.queues[2].topics",
            "refunds",
        ),
        (
            _set("outbound.rules.inbound_answer.auto_answer_topics", ["delivery"]),
            "outbound.rules.inbound_answer.auto_answer_topics",
            "delivery",
        ),
        (
            _set("handoff.drafting.small_talk_topics", ["chitchat"]),
            "handoff.drafting.small_talk_topics",
            "chitchat",
        ),
    ],
)
def test_a_label_the_heads_do_not_have_is_named_with_its_field(
    tmp_path: Path,
    shipped_document: Document,
    change: Callable[[Document], None],
    field: str,
    label: str,
) -> None:
    """The file loads (a shop may use its own taxonomy); the worker refuses to start."""
    document = copy.deepcopy(shipped_document)
    change(document)
    policy = load_policy(write(tmp_path, document))
    (problem,) = label_problems(policy, SHIPPED_LABELS, "the test models")
    assert problem.startswith(f"{field}: ['{label}'] are not")
    assert "the test models" in problem


def test_a_shop_s_own_taxonomy_works_once_the_policy_uses_its_names(
    tmp_path: Path, shipped_document: Document
) -> None:
    document = copy.deepcopy(shipped_document)
    _set("handoff.queues.2.topics", ["배송"])(document)
    _set("outbound.rules.inbound_answer.auto_answer_topics", ["배송"])(document)
    _set("handoff.drafting.small_talk_topics", ["잡담"])(document)
    policy = load_policy(write(tmp_path, document))
    labels = {**SHIPPED_LABELS, "topic": ("배송", "교환", "잡담")}
    assert label_problems(policy, labels) == []
