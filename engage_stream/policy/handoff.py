"""When a chat goes to a person, with which priority, in which queue, and why."""

from __future__ import annotations

from dataclasses import dataclass

from engage_stream.enrichment.state import Turn
from engage_stream.policy.policy_file import HandoffPolicy
from engage_stream.policy.turns import Streaks, TurnReader
from engage_stream.schemas.actions import HandoffReason, Priority
from engage_stream.schemas.enriched import ProfileSnapshot

_LEVELS = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


@dataclass(frozen=True, slots=True)
class HandoffCall:
    reasons: list[HandoffReason]
    priority: Priority
    queue: str


def handoff_reasons(
    reader: TurnReader, turn: Turn, text: str, streaks: Streaks, profile: ProfileSnapshot
) -> list[HandoffReason]:
    """Reasons in a fixed order; `text` is the unmasked customer text of `turn`."""
    policy = reader.policy
    reasons: list[HandoffReason] = []
    if reader.asks_for_human(text):
        reasons.append(HandoffReason.CUSTOMER_REQUESTED_HUMAN)
    abusive = policy.abusive
    if (
        turn.toxicity in abusive.labels
        and turn.toxicity_score is not None
        and turn.toxicity_score >= abusive.min_score
    ):
        reasons.append(HandoffReason.ABUSIVE_LANGUAGE)
    if streaks.negative >= policy.negative_streak_turns:
        reasons.append(HandoffReason.NEGATIVE_STREAK)
    if streaks.unanswered >= policy.unanswered_streak_turns:
        reasons.append(HandoffReason.UNANSWERED_STREAK)
    if turn.negative and profile.tier in policy.vip_tiers:
        reasons.append(HandoffReason.VIP_COMPLAINT)
    if streaks.low_confidence >= policy.low_confidence.turns:
        reasons.append(HandoffReason.LOW_CONFIDENCE)
    return reasons


def route(
    policy: HandoffPolicy,
    reasons: list[HandoffReason],
    profile: ProfileSnapshot,
    topic: str | None = None,
) -> HandoffCall:
    """Priority: the highest of the reasons' (VIP tiers one level up). Queue: the first
    rule whose reasons, tiers and topics (of the question the draft answers) all match."""
    level = max(_LEVELS.index(policy.priority[r]) for r in reasons)
    if profile.tier in policy.vip_tiers:
        level = min(level + 1, len(_LEVELS) - 1)
    queue = next(
        rule.queue
        for rule in policy.queues
        if (not rule.reasons or any(r in rule.reasons for r in reasons))
        and (not rule.tiers or profile.tier in rule.tiers)
        and (not rule.topics or topic in rule.topics)
    )
    return HandoffCall(reasons=reasons, priority=_LEVELS[level], queue=queue)
