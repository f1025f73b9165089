"""The live shell: a Faust app that feeds Kafka records to the core and sends what it returns.

Two stages, because Faust tables cannot be written inside a `take()` batch (upstream
issue #497) while the models want batches:

1. `score` takes batches of raw `crm.events` records from all assigned partitions,
   dead-letters what does not decode, runs both models once per batch on the models'
   thread (the event loop keeps serving), and forwards each scored event to the same
   partition of `engage.scored`.
2. `decide` reads `engage.scored` one event at a time, joins the customer's profile and
   state (tables, copartitioned with the events), runs the core, stores the new state and
   sends the enriched record, actions and suppressions.

`profiles` keeps the profile table from the compacted `crm.customers` topic and runs the
profile-driven rule (win-back). Every stage turns a failure on one record into a DLQ
record with the original bytes, so no input is lost and no input stops the worker.
Faust flushes the producer before it commits offsets: outputs and table changelog writes
are sent before the inputs that made them count as done (at-least-once; the core makes
reprocessing idempotent). The transport makes that flush complete, and its fetch loop hands
every offset of the events and scored topics to the stages (`transport`, `offsets`).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust

from engage_stream.config.settings import Settings
from engage_stream.core.processor import Outcome
from engage_stream.enrichment.state import CustomerState
from engage_stream.ingest.records import (
    RawRecord,
    Tombstone,
    dead_letter,
    decode_event,
    decode_profile,
)
from engage_stream.kafka.topics import TopicRole
from engage_stream.observability.logs import get_logger
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.dlq import DlqErrorClass, DlqRecord
from engage_stream.schemas.enriched import ScoredEvent
from engage_stream.schemas.events import CrmEvent
from engage_stream.schemas.scores import Scores
from engage_stream.worker.runtime import Runtime
from engage_stream.worker.transport import SCHEME

log = get_logger("engage.worker")

Event = Any
"""A Faust event (`faust.types.EventT`, untyped for mypy): `.message` has the coordinates."""

_RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


def raw_record(event: Event) -> RawRecord:
    message = event.message
    timestamp = message.timestamp
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp_ms=int(timestamp * 1000) if timestamp else None,
        key=message.key,
        value=message.value,
    )


class WorkerApp:
    """The Faust app, its topics and tables, and the stage bodies."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.metrics = runtime.metrics
        settings = runtime.settings
        topics = runtime.topics
        partitions = topics.topics[TopicRole.EVENTS].partitions
        self.app = faust.App(
            settings.group_id,
            broker=[f"{SCHEME}://{host.strip()}" for host in settings.kafka_bootstrap.split(",")],
            broker_credentials=_credentials(settings),
            store="memory://",
            # Tables live in memory and come back from their changelogs; Faust still makes
            # an empty data folder, which belongs in the temp folder, not the checkout.
            datadir=Path(tempfile.gettempdir()) / f"engage-stream-{settings.group_id}-data",
            autodiscover=False,
            web_enabled=True,
            web_bind="0.0.0.0",  # noqa: S104 - the metrics and health port is meant to be reached
            web_port=settings.web_port,
            topic_partitions=partitions,
            topic_replication_factor=topics.replication_factor,
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=settings.session_timeout_s,
            broker_heartbeat_interval=max(0.5, settings.session_timeout_s / 5),
            broker_rebalance_timeout=settings.session_timeout_s * 2,
            broker_commit_interval=1.0,
            producer_acks=-1,
            table_standby_replicas=0,
        )
        # Compaction is declared so that the consumer expects holes there (`offsets`).
        self.topic = {
            role: self.app.topic(
                spec.name, compacting="compact" in spec.cleanup_policy or None, **_RAW
            )
            for role, spec in topics.topics.items()
        }
        # Keys are customer ids and values JSON of pydantic models, both as bytes: typed at
        # the edge, no Faust Records. Faust picks the changelog codec from key_type and
        # value_type ("raw" only for bytes), not from a schema.
        self.profiles = self.app.Table(
            "profiles", key_type=bytes, value_type=bytes, partitions=partitions
        )
        self.states = self.app.Table(
            "customer-state", key_type=bytes, value_type=bytes, partitions=partitions
        )
        self._started = False
        self._register()

    # -- wiring ------------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        settings = self.runtime.settings
        within = settings.batch_max_wait_ms / 1000
        batch = settings.batch_max_size

        @app.agent(self.topic[TopicRole.EVENTS], name="engage-score")
        async def score(stream: Any) -> None:
            async for events in stream.take_events(batch, within=within or 0.001):
                await self.score_batch(events)

        @app.agent(self.topic[TopicRole.SCORED], name="engage-decide")
        async def decide(stream: Any) -> None:
            async for event in stream.events():
                await self.decide(event)

        @app.agent(self.topic[TopicRole.CUSTOMERS], name="engage-profiles")
        async def profiles(stream: Any) -> None:
            async for event in stream.events():
                await self.profile(event)

        @app.page("/metrics")
        async def metrics(view: Any, request: Any) -> Any:
            body, content_type = self.metrics.render(request.headers.get("Accept"))
            return view.bytes(body, headers={"Content-Type": content_type})

        @app.page("/health")
        async def health(view: Any, request: Any) -> Any:
            return view.json({"status": "ok"})

        @app.page("/ready")
        async def ready(view: Any, request: Any) -> Any:
            is_ready = self.ready()
            return view.json(
                {"ready": is_ready, "policy_version": self.runtime.policy.version},
                status=200 if is_ready else 503,
            )

        @app.task  # type: ignore[untyped-decorator]
        async def started() -> None:
            await app.tables.recovery.completed.wait()  # type: ignore[attr-defined]
            self._started = True
            log.info(
                "worker_ready",
                group=settings.group_id,
                policy_version=self.runtime.policy.version,
                web_port=settings.web_port,
            )

        @app.timer(1.0)  # type: ignore[untyped-decorator]
        async def readiness() -> None:
            self.metrics.set_ready(self.ready())

    def ready(self) -> bool:
        app = self.app
        return self._started and not app.rebalancing and not app.in_recovery

    # -- stage 1: decode, score, forward -----------------------------------------------------

    async def score_batch(self, events: Sequence[Event]) -> None:
        self.metrics.batch(len(events))
        records = [raw_record(event) for event in events]
        valid: list[tuple[RawRecord, CrmEvent]] = []
        for record in records:
            self.metrics.event_in(record.topic)
            decoded = decode_event(record)
            if isinstance(decoded, DlqRecord):
                await self.dead_letter(decoded)
            else:
                valid.append((record, decoded))
        if not valid:
            return
        scores: Sequence[Scores | None]
        try:
            loop = asyncio.get_running_loop()
            scores, timing = await loop.run_in_executor(
                None, self.runtime.scorer.score, [event for _, event in valid]
            )
            for model, seconds in timing.seconds_by_model.items():
                self.metrics.model_time(model, seconds)
            self.metrics.scored(hits=timing.cached, misses=timing.texts)
        except Exception as exc:  # a model failure must not lose the batch
            log.exception("scoring_failed", records=len(valid), error=str(exc)[:300])
            for record, _ in valid:
                await self.dead_letter(
                    dead_letter(record, DlqErrorClass.PROCESSING_ERROR, f"scoring failed: {exc}")
                )
            return
        target = self.topic[TopicRole.SCORED]
        for (record, event), score in zip(valid, scores, strict=True):
            scored = ScoredEvent(
                event=event,
                source=record.position,
                predictions=score.view() if score else None,
            )
            await target.send(
                key=event.customer_id.encode(),
                value=scored.model_dump_json().encode(),
                partition=record.partition,
            )

    # -- stage 2: join state, decide, send ---------------------------------------------------

    async def decide(self, event: Event) -> None:
        record = raw_record(event)
        self.metrics.event_in(record.topic)
        try:
            scored = ScoredEvent.model_validate_json(record.value or b"")
        except Exception as exc:
            await self.dead_letter(
                dead_letter(record, DlqErrorClass.PROCESSING_ERROR, f"internal record: {exc}")
            )
            return
        customer_id = scored.event.customer_id
        try:
            outcome = self.runtime.core.process(
                scored.event,
                scored.source,
                Scores.from_view(scored.predictions),
                self._profile(customer_id),
                self._state(customer_id),
                datetime.now(UTC),
            )
        except Exception as exc:  # a bug in a rule must not stop the stream
            log.exception(
                "decision_failed",
                event_id=scored.event.event_id,
                source=f"{scored.source.topic}/{scored.source.partition}@{scored.source.offset}",
            )
            await self.dead_letter(self._original(scored, f"decision failed: {exc}"))
            return
        if outcome.state is not None:
            self.states[customer_id.encode()] = outcome.state.model_dump_json().encode()
        await self.send_outcome(customer_id, outcome)
        if scored.source.timestamp_ms is not None:
            self.metrics.end_to_end_since(scored.source.timestamp_ms)

    def _original(self, scored: ScoredEvent, reason: str) -> DlqRecord:
        """A DLQ record for an event that failed after decoding: its source coordinates and
        the event as decoded (the raw bytes are in `crm.events` at that offset)."""
        source = scored.source
        original = RawRecord(
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            timestamp_ms=source.timestamp_ms,
            key=scored.event.customer_id.encode(),
            value=scored.event.model_dump_json().encode(),
        )
        return dead_letter(original, DlqErrorClass.PROCESSING_ERROR, reason[:500])

    def _profile(self, customer_id: str) -> CustomerProfile | None:
        stored = self.profiles.get(customer_id.encode())
        return CustomerProfile.model_validate_json(stored) if stored else None

    def _state(self, customer_id: str) -> CustomerState | None:
        stored = self.states.get(customer_id.encode())
        return CustomerState.model_validate_json(stored) if stored else None

    async def send_outcome(self, customer_id: str, outcome: Outcome) -> None:
        key = customer_id.encode()
        if outcome.duplicate:
            self.metrics.duplicate()
        if outcome.enriched is not None:
            await self._send(TopicRole.ENRICHED, key, outcome.enriched.model_dump_json())
        for handoff in outcome.handoffs:
            await self._send(TopicRole.ACTIONS_HANDOFF, key, handoff.model_dump_json())
            self.metrics.action("handoff")
            log.info(
                "handoff",
                action_id=handoff.action_id,
                event_id=handoff.source_event_id,
                priority=handoff.priority.value,
                queue=handoff.queue,
                reasons=[r.value for r in handoff.reasons],
            )
        for message in outcome.messages:
            await self._send(TopicRole.ACTIONS_EMAIL, key, message.model_dump_json())
            self.metrics.action("next_best_action")
        for suppression in outcome.suppressions:
            await self._send(TopicRole.SUPPRESSIONS, key, suppression.model_dump_json())
            self.metrics.suppression(suppression.reason.value)

    async def _send(self, role: TopicRole, key: bytes | None, value: str) -> None:
        topic = self.topic[role]
        await topic.send(key=key, value=value.encode())
        self.metrics.event_out(topic.get_topic_name())

    # -- profiles ----------------------------------------------------------------------------

    async def profile(self, event: Event) -> None:
        record = raw_record(event)
        self.metrics.event_in(record.topic)
        decoded = decode_profile(record)
        if isinstance(decoded, DlqRecord):
            await self.dead_letter(decoded)
            return
        if isinstance(decoded, Tombstone):
            self.profiles.pop(decoded.customer_id.encode(), None)
            return
        customer_id = decoded.customer_id
        self.profiles[customer_id.encode()] = decoded.model_dump_json().encode()
        try:
            outcome = self.runtime.core.process_profile(
                decoded, record.position, self._state(customer_id), datetime.now(UTC)
            )
        except Exception as exc:
            log.exception("profile_rule_failed", customer_id=customer_id)
            await self.dead_letter(
                dead_letter(record, DlqErrorClass.PROCESSING_ERROR, f"profile rule: {exc}")
            )
            return
        if outcome.state is not None:
            self.states[customer_id.encode()] = outcome.state.model_dump_json().encode()
        await self.send_outcome(customer_id, outcome)

    # -- dead letters ------------------------------------------------------------------------

    async def dead_letter(self, record: DlqRecord) -> None:
        log.warning(
            "dead_lettered",
            topic=record.source_topic,
            partition=record.source_partition,
            offset=record.source_offset,
            error_class=record.error_class.value,
            reason=record.reason,
            action="fix the producer, then re-send the value from engage.dlq",
        )
        self.metrics.dlq(record.error_class.value)
        key = base64.b64decode(record.key_b64) if record.key_b64 else None
        await self._send(TopicRole.DLQ, key, record.model_dump_json())


def _credentials(settings: Settings) -> Any:
    protocol = settings.kafka_security_protocol
    context: ssl.SSLContext | None = None
    if protocol in {"SSL", "SASL_SSL"}:
        context = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
        if settings.kafka_ssl_certfile:
            context.load_cert_chain(
                str(settings.kafka_ssl_certfile),
                str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
            )
    if settings.kafka_sasl_mechanism is not None:
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
