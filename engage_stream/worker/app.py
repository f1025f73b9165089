"""The live shell: a Faust app that feeds Kafka records to the core and sends what it returns.

Two stages, because Faust tables cannot be written inside a `take()` batch (upstream
issue #497) while the models want batches, and because a customer's records must be
re-keyed before they meet their state (producers key and partition as they like):

1. `score` takes batches of raw `crm.events` records from all assigned partitions,
   dead-letters what does not decode, runs both models once per batch (on this thread,
   the models' lanes beside it), and forwards each scored event to
   `engage.scored`, keyed by customer id, at the partition the one partitioner gives it
   (`kafka.partitioner`). `route` does the same for `crm.customers` into `engage.profiles`.
2. `decide` reads `engage.scored` one event at a time, joins the customer's profile and
   state (tables, copartitioned with `engage.scored`), runs the core, stores the new state
   and sends the enriched record, actions and suppressions. `profiles` reads
   `engage.profiles`, keeps the profile table and runs the profile-driven rule (win-back).

Every stage turns a failure on one record into a DLQ
record with the original bytes, so no input is lost and no input stops the worker.
Each stage queues its outputs and table changelog writes and hands them to the Kafka client
before its next record (`sending`); no input counts as done before the broker confirmed what
it made (at-least-once; the core makes reprocessing idempotent). The transport's fetch loop
hands every offset of the events and scored topics to the stages (`transport`, `offsets`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust

from engage_stream.core.processor import Outcome
from engage_stream.enrichment.state import Position
from engage_stream.ingest.records import RawRecord
from engage_stream.kafka.clients import connection_config
from engage_stream.kafka.security import faust_credentials
from engage_stream.kafka.topics import TopicRole
from engage_stream.observability.logs import get_logger
from engage_stream.schemas.enriched import StreamTick
from engage_stream.step.outputs import Output
from engage_stream.step.step import Decided, FirstScoringTryError, Step
from engage_stream.worker.assignor import GroupAssignor
from engage_stream.worker.commit_times import CommitTimes
from engage_stream.worker.deliveries import Source
from engage_stream.worker.freezes import EVICTED_EXIT, Freezes, Wake
from engage_stream.worker.runtime import PRODUCER_BATCH_BYTES, PRODUCER_LINGER_S, Runtime
from engage_stream.worker.sending import Sender
from engage_stream.worker.tables import Changelogged, TableStore
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
        timestamp_ms=round(timestamp * 1000) if timestamp else None,
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
        # The stateful stage's partitions: engage.scored's (engage.profiles has as many).
        partitions = topics.topics[TopicRole.SCORED].partitions
        self.app = faust.App(
            settings.group_id,
            broker=[f"{SCHEME}://{host.strip()}" for host in settings.kafka_bootstrap.split(",")],
            broker_credentials=faust_credentials(settings),
            store="memory://",
            # Tables live in memory and come back from their changelogs; Faust still makes
            # an empty data folder, which belongs in the temp folder, not the checkout.
            datadir=Path(tempfile.gettempdir()) / f"engage-stream-{settings.group_id}-data",
            autodiscover=False,
            web_enabled=True,
            web_bind=settings.web_bind,
            web_port=settings.web_port,
            # Only the worker's own pages (/metrics, /health, /ready) and Faust's plain "/"
            # index: /router shows the cluster's workers and /table reads table keys, which
            # hold customer state; the stats and graph views expose internals.
            web_router_enabled=False,
            web_tables_enabled=False,
            web_stats_enabled=False,
            web_graph_enabled=False,
            web_metrics_enabled=False,
            topic_partitions=partitions,
            topic_replication_factor=topics.replication_factor,
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=settings.session_timeout_s,
            broker_heartbeat_interval=max(0.5, settings.session_timeout_s / 5),
            broker_rebalance_timeout=settings.session_timeout_s * 2,
            broker_commit_interval=1.0,
            producer_acks=-1,
            # Outputs and changelog writes leave in batches, not one small request each.
            producer_linger=PRODUCER_LINGER_S,
            producer_max_batch_size=PRODUCER_BATCH_BYTES,
            table_standby_replicas=0,
            PartitionAssignor=GroupAssignor,
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
        # The state's parts (conversations, seen-log chunks, messages sent, order facts),
        # each written only when it changes; `customer-state` holds the list of them.
        self.state_parts = self.app.Table(
            "customer-state-parts", key_type=bytes, value_type=bytes, partitions=partitions
        )
        # Before the sender: it and the client's own sender hold while a wake is judged.
        self.freezes = Freezes(
            settings.session_timeout_s,
            rebalancing=lambda: not self._streams_open(),
            evicted=self._exit_evicted,
        )
        self.app.engage_freezes = self.freezes  # type: ignore[attr-defined]
        self.sender = Sender(
            {role: topic.get_topic_name() for role, topic in self.topic.items()},
            self._produce,
            self.metrics,
            hold=self.freezes.hold,
        )
        # The consumer reads it to hold commits before outputs not yet confirmed.
        self.app.engage_deliveries = self.sender.deliveries  # type: ignore[attr-defined]
        # kafka-python arguments, for partition ends read from fetches (`transport`).
        self.app.engage_connection = connection_config(settings)  # type: ignore[attr-defined]
        self._owed: tuple[Source, int] = (("", 0), 0)
        """The input the outputs being sent are owed to (set by each stage per record)."""
        profiles, states, parts = (
            Changelogged(table, self._changelog)
            for table in (self.profiles, self.states, self.state_parts)
        )
        self.store = TableStore(profiles, states, parts, partitions=partitions)
        # The consumer carries each engage.scored partition's stream time in its commits.
        self.commits = CommitTimes(topics.name(TopicRole.SCORED), self.store)
        self.app.engage_commits = self.commits  # type: ignore[attr-defined]
        self.step = Step(
            runtime.core,
            runtime.scorer,
            mask_text=settings.store_masked_text,
            partitions=partitions,
        )
        self._inputs = {
            topics.name(role)
            for role in (
                TopicRole.EVENTS,
                TopicRole.CUSTOMERS,
                TopicRole.SCORED,
                TopicRole.PROFILES,
            )
        }
        self._done: dict[tuple[str, int], int] = {}
        self._last_read: dict[int, float] = {}
        """Per engage.scored partition: when a record of it was last handled (monotonic)."""
        self._started = False
        self._register()

    # -- wiring ------------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        settings = self.runtime.settings
        within = settings.batch_max_wait_ms / 1000
        batch = settings.batch_max_size

        # Each stage queues what it sends while it runs and hands the queue to the client
        # before its next record (`sending.Sender.flush`).
        flush = self.sender.flush

        @app.agent(self.topic[TopicRole.EVENTS], name="engage-score")
        async def score(stream: Any) -> None:
            async for events in stream.take_events(batch, within=within or 0.001):
                await self.score_batch(events)
                await flush()

        @app.agent(self.topic[TopicRole.SCORED], name="engage-decide")
        async def decide(stream: Any) -> None:
            async for event in stream.events():
                await self.decide(event)
                await flush()

        @app.agent(self.topic[TopicRole.CUSTOMERS], name="engage-route")
        async def route(stream: Any) -> None:
            async for event in stream.events():
                await self.route(event)
                await flush()

        @app.agent(self.topic[TopicRole.PROFILES], name="engage-profiles")
        async def profiles(stream: Any) -> None:
            async for event in stream.events():
                await self.profile(event)
                await flush()

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
            self.freezes.start_watching()
            log.info(
                "worker_ready",
                group=settings.group_id,
                policy_version=self.runtime.policy.version,
                web_port=settings.web_port,
            )

        @app.timer(ALIVE_TICK_S)  # type: ignore[untyped-decorator]
        async def alive() -> None:
            self.freezes.tick()

        idle_s = settings.idle_release_s
        if idle_s > 0:

            @app.timer(max(0.5, idle_s / 4))  # type: ignore[untyped-decorator]
            async def ticks() -> None:
                await self.tick_idle(idle_s)

        @app.timer(1.0)  # type: ignore[untyped-decorator]
        async def gauges() -> None:
            self.metrics.set_ready(self.ready())
            self.metrics.held_offers(self.store.index.held)
            await self.measure_lag()

        def moved(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            self.store.forget()
            self._done.clear()
            self.freezes.moved()

        def revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            # After Faust's last commit for them: their next owner redoes what is owed.
            tps = args[0] if args else kwargs.get("revoked", ())
            self.sender.forget([(tp.topic, tp.partition) for tp in tps])
            for tp in tps:  # their lag is their next owner's to report
                self.metrics.lag_gone(tp.topic, tp.partition)

        app.on_partitions_revoked.connect(moved)
        app.on_partitions_revoked.connect(revoked)
        app.on_partitions_assigned.connect(moved)

    def log_consumer_state(self) -> None:
        """One `consumer_state` line per assigned partition (on SIGUSR2): why a partition's
        commit does not move, when outputs are unconfirmed or a record was never handed over."""
        consumer: Any = self.app.consumer  # `transport.Consumer`
        deliveries = self.sender.deliveries
        assigned = sorted(consumer.assignment())
        log.info(
            "consumer_state_asked",
            partitions=len(assigned),
            ready=self.ready(),
            rebalancing=self.app.rebalancing,
            in_recovery=self.app.in_recovery,
            unconfirmed_outputs=deliveries.open_count(),
            failing_outputs=len(deliveries.failing),
        )
        for tp in assigned:
            log.info(
                "consumer_state",
                topic=tp.topic,
                partition=tp.partition,
                handled=self._done.get((tp.topic, tp.partition)),
                **consumer.standing(tp),
            )

    def ready(self) -> bool:
        """Started, not rebalancing or recovering, and every output failing so far sent."""
        app = self.app
        return self._started and not app.rebalancing and not app.in_recovery and self.sender.healthy

    # -- stage 1: decode, score, forward -----------------------------------------------------

    async def score_batch(self, events: Sequence[Event]) -> None:
        self.metrics.batch(len(events))
        records = [raw_record(event) for event in events]
        for record in records:
            self.metrics.event_in(record.topic)
        # On this thread: a batch is a few milliseconds of work, and the models' own lanes
        # run beside it. Handed to another thread, the work waited for the interpreter
        # lock behind the stateful stage at every step out of the models (measured: each
        # event cost four times its time alone). A failing batch, whose retries wait,
        # goes to another thread so that the event loop keeps serving.
        try:
            ingested = self.step.ingest(records, first_try_only=True)
        except FirstScoringTryError as exc:
            log.warning(
                "scoring_failed_first_try",
                records=len(records),
                error=str(exc),
                action="retried off the event loop, then halved down to the events that fail",
            )
            loop = asyncio.get_running_loop()
            ingested = await loop.run_in_executor(None, self.step.ingest, records)
        if ingested.timing is not None:
            for model, seconds in ingested.timing.seconds_by_model.items():
                self.metrics.model_time(model, seconds)
            self.metrics.scored(hits=ingested.timing.cached, misses=ingested.timing.texts)
        for record, item in zip(records, ingested.items, strict=True):
            self._owed = ((record.topic, record.partition), record.offset)
            self._send(item if isinstance(item, Output) else self.step.forward(item))
            self._processed(record)

    # -- stage 2: join state, decide, send ---------------------------------------------------

    async def decide(self, event: Event) -> None:
        record = raw_record(event)
        self._owed = ((record.topic, record.partition), record.offset)
        self._last_read[record.partition] = time.monotonic()
        scored = self.step.received(record)
        self._processed(record)
        if isinstance(scored, Output):
            self.metrics.event_in(record.topic)
            self._send(scored)
            return
        at = Position(source=f"{record.topic}/{record.partition}", offset=record.offset)
        if isinstance(scored, StreamTick):
            self._sent(self.step.tick(scored, at, self.store))
            self.commits.read(record.partition, record.offset)
            return
        self.metrics.event_in(record.topic)
        self._sent(self.step.decide(scored, self.store, at))
        self.commits.read(record.partition, record.offset)
        if scored.source.timestamp_ms is not None:
            self.metrics.end_to_end_since(scored.source.timestamp_ms)

    async def tick_idle(self, idle_s: float) -> None:
        """A tick into each engage.scored partition of this worker that read nothing for
        `idle_s` while the whole pipeline is caught up (every partition of the four inputs
        committed to its end, by whichever worker owns it): its held offers due by then may
        go (`policy.journeys`). A partition behind, or a pipeline with anything in flight,
        gets none: its offers wait for stream time, so nothing overtakes an exit event."""
        if not self.ready():
            return
        now = time.monotonic()
        scored = self.topic[TopicRole.SCORED].get_topic_name()
        idle = [
            tp.partition
            for tp in self.app.consumer.assignment()
            if tp.topic == scored and now - self._last_read.get(tp.partition, 0.0) >= idle_s
        ]
        if not idle:
            return
        # Taken before the check: everything produced before it is read once it passes.
        caught_up_at = datetime.now(UTC)
        try:
            consumer: Any = self.app.consumer  # `transport.Consumer`
            behind = await consumer.behind(sorted(self._inputs))
        except Exception as exc:  # a broker away: no tick this time
            log.debug("tick_not_sent", error=str(exc)[:300])
            return
        if behind != 0:
            return
        for partition in idle:
            output = self.step.ticked(partition, caught_up_at)
            await self.topic[TopicRole.SCORED].send(
                key=None, value=output.value, partition=output.partition
            )
            self._last_read[partition] = time.monotonic()

    # -- profiles ----------------------------------------------------------------------------

    async def route(self, event: Event) -> None:
        record = raw_record(event)
        self._owed = ((record.topic, record.partition), record.offset)
        self.metrics.event_in(record.topic)
        self._send(self.step.route_profile(record))
        self._processed(record)

    async def profile(self, event: Event) -> None:
        record = raw_record(event)
        self._owed = ((record.topic, record.partition), record.offset)
        self.metrics.event_in(record.topic)
        keyed = self.step.received_profile(record)
        self._processed(record)
        if isinstance(keyed, Output):
            self._send(keyed)
            return
        self._sent(self.step.keep_profile(keyed, self.store))

    # -- fencing -----------------------------------------------------------------------------

    def _streams_open(self) -> bool:
        """No rebalance under way (`transport.Consumer.streams_open`)."""
        consumer: Any = self.app.consumer  # `transport.Consumer`
        return bool(consumer.streams_open())

    def _exit_evicted(self, wake: Wake) -> None:
        """A zombie's writes must not leave (`worker.freezes`), and Faust's own stop would
        flush them: the process ends here, at once."""
        log.error(
            "worker_evicted_while_frozen",
            seconds=round(wake.frozen_s, 1),
            unsent_outputs=self.sender.deliveries.open_count(),
            action=f"exiting ({EVICTED_EXIT}) without sending what it made before the freeze; "
            "its supervisor starts it again and it reads its state back from the changelog",
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EVICTED_EXIT)

    # -- outputs -----------------------------------------------------------------------------

    def _sent(self, decided: Decided) -> None:
        outcome = decided.outcome
        if outcome is not None and outcome.duplicate:
            self.metrics.duplicate()
        for output in decided.outputs:
            self._send(output)
        for released in decided.released:
            for message in released.messages:
                log.info(
                    "held_offer_released",
                    action_id=message.action_id,
                    event_id=message.source_event_id,
                    channel=message.channel.value,
                    send_not_before=message.send_not_before.isoformat(),
                )
            self._counted(released)
        if outcome is not None:
            self._counted(outcome)

    def _counted(self, outcome: Outcome) -> None:
        for handoff in outcome.handoffs:
            log.info(
                "handoff",
                action_id=handoff.action_id,
                event_id=handoff.source_event_id,
                priority=handoff.priority.value,
                queue=handoff.queue,
                reasons=[r.value for r in handoff.reasons],
            )
        for suppression in outcome.suppressions:
            self.metrics.suppression(suppression.reason.value)
        self.metrics.outcome(outcome)

    def _send(self, output: Output) -> None:
        """Queued for the stage's flush, owed to the current input: its offset is committed
        only once the broker confirmed every output (`sending`)."""
        source, offset = self._owed
        self.sender.send(output, source, offset)
        topic = self.topic[output.role]
        self.metrics.event_out(topic.get_topic_name())
        action = _ACTIONS.get(output.role)
        if action is not None:
            self.metrics.action(action)
        if output.dead is not None:
            dead = output.dead
            log.warning(
                "dead_lettered",
                topic=dead.source_topic,
                partition=dead.source_partition,
                offset=dead.source_offset,
                error_class=dead.error_class.value,
                reason=dead.reason,
                action="fix the producer, then re-send the value from engage.dlq",
            )
            self.metrics.dlq(dead.error_class.value)

    def _changelog(self, topic: str, key: bytes, value: bytes | None) -> None:
        """A table write, owed to the current input, into the changelog partition of that
        input's partition (copartitioned)."""
        source, offset = self._owed
        self.sender.changelog(topic, key, value, source[1], source, offset)

    async def _produce(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None
    ) -> asyncio.Future[Any]:
        producer: Any = self.app.producer  # `transport.Producer`
        future: asyncio.Future[Any] = await producer.direct().send(
            topic, value, key=key, partition=partition
        )
        return future

    # -- lag ---------------------------------------------------------------------------------

    def _processed(self, record: RawRecord) -> None:
        where = (record.topic, record.partition)
        self._done[where] = max(self._done.get(where, -1), record.offset)

    async def measure_lag(self) -> None:
        """Records per assigned partition of each input (the two from producers and the two
        hand-overs) not yet through the stage that reads it: the high watermark less the
        offset after the last record handled (or, before the first one since the partition
        came, less the consumer's position). An event is through when both its crm.events
        and its engage.scored partitions show it, wherever they are assigned."""
        consumer = self.app.consumer
        for tp in list(consumer.assignment()):
            if tp.topic not in self._inputs:
                continue
            try:
                high = consumer.highwater(tp)
                if high is None:
                    continue
                done = self._done.get((tp.topic, tp.partition))
                position = done + 1 if done is not None else await consumer.position(tp)
            except Exception as exc:  # a rebalance took the partition meanwhile
                # Found by `bench chaos`: "Partition is not assigned" from a partition a
                # rebalance had just taken stopped the whole worker through this timer.
                log.debug(
                    "lag_not_measured", topic=tp.topic, partition=tp.partition, error=str(exc)
                )
                continue
            # A rebalance may have taken it while the position was asked: its series was
            # removed then (`lag_gone`), and set now it would stay at this value for good.
            if position is not None and tp in consumer.assignment():
                self.metrics.lag(tp.topic, tp.partition, max(0, high - position))


ALIVE_TICK_S = 0.25
"""How often the event loop marks itself alive (`worker.freezes`)."""

_ACTIONS = {TopicRole.ACTIONS_HANDOFF: "handoff", TopicRole.ACTIONS_EMAIL: "next_best_action"}
