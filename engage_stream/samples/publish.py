"""Sending sample documents to Kafka the way the CRM would: keyed by customer id, JSON."""

from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaProducer

from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.events import CrmEvent


def send_profiles(
    producer: KafkaProducer,
    topic: str,
    profiles: Iterable[CustomerProfile],
    *,
    at_event_time: bool = False,
) -> int:
    """`at_event_time`: each record's timestamp is the profile's `updated_at` (`send_event`)."""
    sent = 0
    for profile in profiles:
        stamp = round(profile.updated_at.timestamp() * 1000) if at_event_time else None
        producer.send(
            topic,
            key=profile.customer_id.encode(),
            value=profile.model_dump_json().encode(),
            timestamp_ms=stamp,
        )
        sent += 1
    return sent


def send_event(
    producer: KafkaProducer, topic: str, event: CrmEvent, *, at_event_time: bool = False
) -> None:
    """`at_event_time`: the record timestamp is the event's `occurred_at`, as a CRM that
    publishes each event when it happens would have it (else the time it is sent)."""
    stamp = round(event.occurred_at.timestamp() * 1000) if at_event_time else None
    producer.send(
        topic,
        key=event.customer_id.encode(),
        value=event.model_dump_json().encode(),
        timestamp_ms=stamp,
    )
