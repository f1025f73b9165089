"""Experiments in the core: a control customer gets a `holdout` suppression instead of the
offer, a global-control customer gets no advertising at all (transactional messages still
go), a variant sends what it changes, and every output carries the arm it was decided in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engage_stream.core.processor import EngagementCore, Outcome
from engage_stream.enrichment.state import CustomerState
from engage_stream.policy.experiments import RuleExperiment, arm_of, in_global_control
from engage_stream.policy.policy_file import Policy
from engage_stream.schemas.actions import ArmStamp, SuppressionReason
from engage_stream.schemas.common import Channel
from engage_stream.schemas.enriched import DecisionKind
from engage_stream.schemas.events import CrmEvent
from engage_stream.schemas.scores import Scores
from tests.core.builders import (
    PROCESSED_AT,
    PROFILES_TOPIC,
    SHIPPED_POLICY,
    FakeDrafter,
    Feeder,
    at,
    cart,
    consents,
    delivered,
    email_in,
    opted_in,
    policy_with,
    scores,
    source,
)

GLOBAL = {"id": "global-test", "enabled": True, "share": 10, "conversion_window_hours": 168}
WIN_BACK = {
    "id": "win-back-test",
    "enabled": True,
    "conversion_window_hours": 240,
    "arms": [
        {"name": "control", "weight": 20, "control": True},
        {"name": "as-is", "weight": 20},
        {"name": "later", "weight": 20, "delay_minutes": 90},
        {"name": "short-text", "weight": 20, "template": "win_back.v2-test"},
        {"name": "by-sms", "weight": 20, "channel": "sms"},
    ],
}
CART = {
    "id": "cart-test",
    "enabled": True,
    "conversion_window_hours": 72,
    "arms": [
        {"name": "control", "weight": 50, "control": True},
        {"name": "half-hour", "weight": 50, "delay_minutes": 30},
    ],
}
QUESTION = scores(intent="question", topic="delivery_status", topic_score=0.95)
CUSTOMERS = [f"C{i:05d}" for i in range(600)]


def with_experiments(**experiments: Any) -> Policy:
    return policy_with({"experiments": {"rules": {}, **experiments}})


@pytest.fixture(scope="module")
def variant_policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    """WIN_BACK's arms, with a template of its own beside the shipped ones."""
    folder = tmp_path_factory.mktemp("messages")
    for template in SHIPPED_POLICY.messages.folder.glob("*.j2"):
        (folder / template.name).write_text(template.read_text(encoding="utf-8"), "utf-8")
    (folder / "win_back.v2-test.j2").write_text(
        "{% block subject %}{{ days }}일 만이에요{% endblock %}"
        "{% block body %}다시 만나 반가워요. 새로 들어온 상품을 둘러보세요.{% endblock %}",
        "utf-8",
    )
    document = SHIPPED_POLICY.model_dump(mode="json")
    document["messages"] = str(folder)
    document["experiments"] = {"rules": {"win_back": WIN_BACK}}
    return Policy.model_validate(document)


def customer_in(experiment: dict[str, Any], arm: str) -> str:
    split = RuleExperiment.model_validate(experiment)
    return next(c for c in CUSTOMERS if arm_of(split, c).name == arm)


def everyone(core: EngagementCore, customer: str) -> list[Outcome]:
    """One customer's advertising occasions (a cart, a delivery, a win-back snapshot) and a
    question by e-mail (its answer is transactional), each a few days apart."""
    profile = opted_in(customer_id=customer, consent=consents(email=(True, False)))
    state: CustomerState | None = None
    outcomes = []
    inputs: list[tuple[CrmEvent, Scores | None]] = [
        (cart(f"{customer}-cart", customer_id=customer), None),
        (delivered(f"{customer}-delivered", when=at(days=4), customer_id=customer), None),
        (email_in(f"{customer}-question", when=at(days=8), customer_id=customer), QUESTION),
    ]
    for offset, (event, event_scores) in enumerate(inputs):
        outcome = core.process(event, source(offset), event_scores, profile, state, PROCESSED_AT)
        state = outcome.state or state
        outcomes.append(outcome)
    later = opted_in(customer_id=customer, last_active_at=at(days=8), updated_at=at(days=50))
    outcomes.append(
        core.process_profile(later, source(3, topic=PROFILES_TOPIC), state, PROCESSED_AT)
    )
    return outcomes


def stamps(outcome: Outcome) -> list[list[ArmStamp]]:
    decided = outcome.enriched.decisions if outcome.enriched is not None else []
    return [
        *(m.arms for m in outcome.messages),
        *(s.arms for s in outcome.suppressions),
        *(d.arms for d in decided if d.kind is not DecisionKind.DUPLICATE),
    ]


# -- the global control group -----------------------------------------------------------------


def test_a_global_control_customer_never_gets_advertising_and_still_gets_answers() -> None:
    policy = with_experiments(global_control=GLOBAL, rules={"abandoned_cart": CART})
    held = policy.experiments.global_control
    assert held is not None
    core = EngagementCore(policy, FakeDrafter())
    inside = [c for c in CUSTOMERS if in_global_control(held, c)]
    assert 30 <= len(inside) <= 90  # about 10 % of 600
    for customer in CUSTOMERS:
        outcomes = everyone(core, customer)
        messages = [m for o in outcomes for m in o.messages]
        suppressions = [s for o in outcomes for s in o.suppressions]
        answers = [m for m in messages if not m.advertising]
        assert [m.template_id for m in answers] == ["inbound_answer.delivery_status.fake"]
        assert answers[0].arms == []  # transactional: in no experiment
        if customer in inside:
            assert [m for m in messages if m.advertising] == []
            assert sorted(s.rule for s in suppressions) == [
                "abandoned_cart",
                "review_request",
                "win_back",
            ]
            for s in suppressions:
                assert s.reason is SuppressionReason.HOLDOUT
                assert s.detail == "global control group global-test: no advertising at all"
                assert [(a.experiment, a.arm, a.control) for a in s.arms] == [
                    ("global-test", "control", True)
                ]
        else:
            advertised = [m for m in messages if m.advertising]
            assert advertised, customer
            for arms in [*(m.arms for m in advertised), *(s.arms for s in suppressions)]:
                assert (arms[0].experiment, arms[0].arm, arms[0].control) == (
                    "global-test",
                    "treatment",
                    False,
                )


def test_a_rule_experiment_is_run_among_the_customers_outside_the_global_control() -> None:
    policy = with_experiments(global_control=GLOBAL, rules={"abandoned_cart": CART})
    core = EngagementCore(policy, FakeDrafter())
    seen: set[tuple[str, ...]] = set()
    for customer in CUSTOMERS[:200]:
        outcome = core.process(
            cart(f"{customer}-cart", customer_id=customer),
            source(0),
            None,
            opted_in(customer_id=customer),
            None,
            PROCESSED_AT,
        )
        for arms in stamps(outcome):
            seen.add(tuple(f"{a.experiment}/{a.arm}" for a in arms))
    assert seen == {
        ("global-test/control",),
        ("global-test/treatment", "cart-test/control"),
        ("global-test/treatment", "cart-test/half-hour"),
    }


# -- a rule's arms ----------------------------------------------------------------------------


def test_a_control_customer_gets_a_holdout_suppression_instead_of_the_offer() -> None:
    customer = customer_in(CART, "control")
    feeder = Feeder(with_experiments(rules={"abandoned_cart": CART}))
    outcome = feeder.feed(cart("e1", customer_id=customer), profile=opted_in(customer_id=customer))

    assert outcome.messages == []
    (held,) = outcome.suppressions
    assert held.reason is SuppressionReason.HOLDOUT
    assert held.detail == "experiment cart-test, arm control: the control gets nothing"
    (stamp,) = held.arms
    assert stamp == ArmStamp(
        experiment="cart-test",
        arm="control",
        control=True,
        assigned_at=at(),
        conversion_window_hours=72,
    )
    assert outcome.enriched is not None
    (decision,) = outcome.enriched.decisions
    assert decision.kind is DecisionKind.SUPPRESSED
    assert decision.reasons == ["holdout"]
    assert decision.arms == [stamp]


def test_an_arm_is_stamped_on_what_happens_after_it_whatever_that_is() -> None:
    """Intent to treat: the arm is assigned before consent, so a treated customer without
    consent counts in the arm with the suppression that follows."""
    customer = customer_in(CART, "half-hour")
    feeder = Feeder(with_experiments(rules={"abandoned_cart": CART}))
    outcome = feeder.feed(cart("e1", customer_id=customer), profile=None)

    (refused,) = outcome.suppressions
    assert refused.reason is SuppressionReason.NO_ADVERTISING_CONSENT
    assert [(a.experiment, a.arm) for a in refused.arms] == [("cart-test", "half-hour")]


def _win_back(policy: Policy, arm: str, **profile: Any) -> Outcome:
    customer = customer_in(WIN_BACK, arm)
    updated = opted_in(customer_id=customer, last_active_at=at(), updated_at=at(days=40), **profile)
    return Feeder(policy).profile_update(updated, offset=1)


def test_the_as_is_arm_sends_the_rule_s_own_message_stamped_with_the_arm(
    variant_policy: Policy,
) -> None:
    plain = _win_back(SHIPPED_POLICY, "as-is")
    outcome = _win_back(variant_policy, "as-is")

    (message,) = outcome.messages
    assert message.model_copy(update={"arms": []}) == plain.messages[0]
    assert [(a.experiment, a.arm, a.control) for a in message.arms] == [
        ("win-back-test", "as-is", False)
    ]
    assert message.arms[0].assigned_at == at(days=40)
    assert message.arms[0].conversion_window_hours == 240


def test_a_later_arm_sends_after_its_own_delay_from_the_occasion(variant_policy: Policy) -> None:
    (message,) = _win_back(variant_policy, "later").messages
    assert message.send_not_before == at(days=40) + timedelta(minutes=90)
    assert message.template_id == "win_back.v1"


def test_a_template_arm_sends_its_template_with_the_rule_s_values(
    variant_policy: Policy,
) -> None:
    (message,) = _win_back(variant_policy, "short-text").messages
    assert message.template_id == "win_back.v2-test"
    assert message.subject == "(광고) 40일 만이에요"
    assert message.body.startswith("다시 만나 반가워요.")
    assert "수신거부" in message.body  # the policy's marks, as on every advertisement


def test_a_channel_arm_sends_on_its_channel_under_that_channel_s_consent(
    variant_policy: Policy,
) -> None:
    by_sms = _win_back(
        variant_policy, "by-sms", consent=consents(email=(True, False), sms=(True, False))
    )
    (message,) = by_sms.messages
    assert message.channel is Channel.SMS
    assert message.body.startswith("(광고)")
    e_mail_only = _win_back(variant_policy, "by-sms")
    (refused,) = e_mail_only.suppressions
    assert refused.reason is SuppressionReason.NO_ADVERTISING_CONSENT
    assert refused.arms[0].arm == "by-sms"


def test_reprocessing_decides_the_same_arms_and_bytes() -> None:
    policy = with_experiments(global_control=GLOBAL, rules={"abandoned_cart": CART})
    first, second = EngagementCore(policy, FakeDrafter()), EngagementCore(policy, FakeDrafter())
    for customer in CUSTOMERS[:40]:
        one = everyone(first, customer)
        two = everyone(second, customer)
        assert [o.enriched for o in one] == [o.enriched for o in two]
        assert [o.messages for o in one] == [o.messages for o in two]
        assert [o.suppressions for o in one] == [o.suppressions for o in two]


def test_disabled_experiments_change_nothing() -> None:
    """The shipped example is disabled: the outputs are those of a policy without it."""
    document = SHIPPED_POLICY.model_dump(mode="json")
    del document["experiments"]
    without = EngagementCore(Policy.model_validate(document), FakeDrafter())
    shipped = EngagementCore(SHIPPED_POLICY, FakeDrafter())
    assert SHIPPED_POLICY.experiments.rules
    for customer in CUSTOMERS[:20]:
        ours = everyone(shipped, customer)
        theirs = everyone(without, customer)
        assert [o.messages for o in ours] == [o.messages for o in theirs]
        assert [o.suppressions for o in ours] == [o.suppressions for o in theirs]
        assert all(arms == [] for o in ours for arms in stamps(o))
