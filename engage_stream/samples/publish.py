"""Sending sample documents to Kafka the way the CRM would: keyed by customer id, JSON."""

from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaProducer

from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.events import CrmEvent


def send_profiles(producer: KafkaProducer, topic: str, profiles: Iterable[CustomerProfile]) -> int:
    sent = 0
    for profile in profiles:
        producer.send(
            topic, key=profile.customer_id.encode(), value=profile.model_dump_json().encode()
        )
        sent += 1
    return sent


def send_event(producer: KafkaProducer, topic: str, event: CrmEvent) -> None:
    producer.send(topic, key=event.customer_id.encode(), value=event.model_dump_json().encode())
