"""Prometheus metrics of one worker, in a registry of its own.

`PipelineMetrics` owns a `CollectorRegistry`, so tests and several workers in one
process never collide in prometheus_client's global registry. The worker calls the
plain methods (`event_in`, `batch`, `model_time`, ...) and `outcome()` once per decided
input; the web endpoint serves `render()`; a live dashboard reads `snapshot()`. The
dashboard (`infra/grafana/`) and the alert rules (`infra/prometheus/`) read these names; a
test holds them to what `render()` exports.

Names and labels (counters are exposed with the `_total` suffix):

| metric | type | labels |
| --- | --- | --- |
| `engage_events_in_total` | counter | topic |
| `engage_events_out_total` | counter | topic |
| `engage_dlq_total` | counter | error_class |
| `engage_batch_size` | histogram | |
| `engage_model_seconds` | histogram | model |
| `engage_end_to_end_seconds` | histogram | |
| `engage_actions_total` | counter | kind (handoff, next_best_action) |
| `engage_suppressions_total` | counter | reason |
| `engage_duplicates_total` | counter | |
| `engage_consumer_lag` | gauge | topic, partition |
| `engage_ready` | gauge | |
| `engage_model_info` | gauge, always 1 | model, version, sha256, device, precision |
| `engage_score_cache_size` | gauge | (the configured number of texts; 0: off) |
| `engage_score_cache_texts_total` | counter | result (hit, miss) |
| `engage_handoffs_total` | counter | queue (policy file), reason (`HandoffReason`) |
| `engage_drafts_total` | counter | kind (`DRAFT_KINDS`), fallback (`DRAFT_FALLBACKS`, other) |
| `engage_send_failures_total` | counter | topic (an output topic, or `changelog` for state) |
| `engage_held_offers` | gauge | (delayed offers held in this worker's partitions) |

`outcome()` counts an input's handoffs (by queue, once under each of a handoff's reasons)
and the drafts on its handoffs and answers (kind grounded, general or no_answer; fallback
none, no_question, not_korean, deadline or low_score); the handoffs themselves are
`engage_actions_total{kind="handoff"}`. Grounded rate: `engage_drafts_total{kind="grounded"}`
over all drafts; fallback rate: drafts with `fallback!="none"` over all drafts. Suppressions
and duplicates stay with `suppression()` and `duplicate()`, which the worker already calls
for each outcome: `outcome()` does not count them a second time.

Label values come from code (topic names, exception class names, suppression reasons,
model names, handoff reasons, draft kinds) or from the policy file (handoff queues), never
from event content: a label per customer or message would grow the registry without bound.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from engage_stream.schemas.actions import DraftKind, DraftSource, HandoffAction, NextBestAction

ACTION_KINDS = ("handoff", "next_best_action")
DRAFT_KINDS: tuple[str, ...] = get_args(DraftKind)
DRAFT_FALLBACKS = ("none", "no_question", "not_korean", "deadline", "low_score")
"""`none` for a draft that did not fall back, then `drafting.draft.Fallback` (a layer above
this one, so spelled out here; a test holds the two together)."""
OTHER_FALLBACK = "other"
"""A fallback this release does not know (a newer drafter's): one bounded label for all."""

BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
MODEL_SECONDS_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0,
)  # fmt: skip
END_TO_END_SECONDS_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip


class DecidedOutcome(Protocol):
    """What `outcome()` reads of `core.processor.Outcome` (a layer above this one)."""

    @property
    def handoffs(self) -> Sequence[HandoffAction]: ...

    @property
    def messages(self) -> Sequence[NextBestAction]: ...


def fallback_label(draft: DraftSource) -> str:
    """The draft's fallback as a bounded label value."""
    if draft.fallback is None:
        return "none"
    return draft.fallback if draft.fallback in DRAFT_FALLBACKS else OTHER_FALLBACK


class _Series:
    """A labelled metric, called with its label values for their series, each looked up
    once: prometheus_client's `labels()` checks the values and takes a lock on every call,
    a cost the worker paid several times per event."""

    def __init__(self, metric: Counter | Gauge | Histogram) -> None:
        self.metric = metric
        self._found: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        series = self._found.get(values)
        if series is None:
            series = self._found[values] = self.metric.labels(*values)
        return series

    def remove(self, *values: str) -> None:
        if self._found.pop(values, None) is not None:
            self.metric.remove(*values)


class PipelineMetrics:
    """The worker's metrics; every instance is independent of every other."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._events_in = _Series(
            Counter("engage_events_in", "Records consumed, per input topic.", ["topic"], registry=r)
        )
        self._events_out = _Series(
            Counter(
                "engage_events_out", "Records produced, per output topic.", ["topic"], registry=r
            )
        )
        self._dlq = _Series(
            Counter(
                "engage_dlq",
                "Records sent to the dead-letter topic, per error class.",
                ["error_class"],
                registry=r,
            )
        )
        self._batch_size = Histogram(
            "engage_batch_size",
            "Events per micro-batch sent through the models.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self._model_seconds = _Series(
            Histogram(
                "engage_model_seconds",
                "Seconds one batch spends in a model (tokenising and ONNX Runtime).",
                ["model"],
                buckets=MODEL_SECONDS_BUCKETS,
                registry=r,
            )
        )
        self._end_to_end = Histogram(
            "engage_end_to_end_seconds",
            "Seconds from an event's Kafka record timestamp to the sending of its outputs.",
            buckets=END_TO_END_SECONDS_BUCKETS,
            registry=r,
        )
        self._actions = _Series(
            Counter("engage_actions", "CRM actions published, per kind.", ["kind"], registry=r)
        )
        self._suppressions = _Series(
            Counter(
                "engage_suppressions",
                "Actions deliberately not sent (consent, caps, night-time, ...), per reason.",
                ["reason"],
                registry=r,
            )
        )
        self._duplicates = Counter(
            "engage_duplicates",
            "Events skipped because their event_id was already processed.",
            registry=r,
        )
        self._lag = _Series(
            Gauge(
                "engage_consumer_lag",
                "Records between the committed offset and the end of a partition.",
                ["topic", "partition"],
                registry=r,
            )
        )
        self._ready = Gauge(
            "engage_ready",
            "1 when models are loaded and the worker consumes; 0 otherwise.",
            registry=r,
        )
        self._model_info = Gauge(
            "engage_model_info",
            "Always 1: the model files served, one series per loaded model.",
            ["model", "version", "sha256", "device", "precision"],
            registry=r,
        )
        self._cache_size = Gauge(
            "engage_score_cache_size",
            "Customer texts whose scores the model stage keeps (ENGAGE_SCORE_CACHE_SIZE).",
            registry=r,
        )
        self._cache_texts = _Series(
            Counter(
                "engage_score_cache_texts",
                "Customer texts scored: found in the score cache (hit) or run through the models.",
                ["result"],
                registry=r,
            )
        )
        self._handoffs = _Series(
            Counter(
                "engage_handoffs",
                "Handoffs to a person, per queue and reason (a handoff counts once per reason).",
                ["queue", "reason"],
                registry=r,
            )
        )
        self._drafts = _Series(
            Counter(
                "engage_drafts",
                "Drafts on handoffs and answers, per kind and the fallback retrieval took (none).",
                ["kind", "fallback"],
                registry=r,
            )
        )
        self._send_failures = _Series(
            Counter(
                "engage_send_failures",
                "Sends the broker did not confirm (each is retried; the input stays uncommitted).",
                ["topic"],
                registry=r,
            )
        )
        self._held = Gauge(
            "engage_held_offers",
            "Delayed offers held in this worker's partitions, neither released nor exited yet.",
            registry=r,
        )
        self._model_labels: dict[str, tuple[str, str, str, str, str]] = {}
        # Series a dashboard and `rate()` should see from the start, at 0.
        for kind in ACTION_KINDS:
            self._actions(kind)
        for result in ("hit", "miss"):
            self._cache_texts(result)
        for kind in DRAFT_KINDS:
            for fallback in DRAFT_FALLBACKS:
                self._drafts(kind, fallback)

    # -- what the worker calls -------------------------------------------------------

    def event_in(self, topic: str, n: int = 1) -> None:
        self._events_in(topic).inc(n)

    def event_out(self, topic: str, n: int = 1) -> None:
        self._events_out(topic).inc(n)

    def dlq(self, error_class: str) -> None:
        self._dlq(error_class).inc()

    def batch(self, size: int) -> None:
        self._batch_size.observe(size)

    def model_time(self, model: str, seconds: float) -> None:
        self._model_seconds(model).observe(seconds)

    def end_to_end(self, seconds: float) -> None:
        """Clock skew between producer and worker can make it negative: counted as 0."""
        self._end_to_end.observe(max(0.0, seconds))

    def end_to_end_since(self, record_timestamp_ms: float, now: float | None = None) -> None:
        """`end_to_end` from a Kafka record timestamp (ms since the epoch) to `now`
        (seconds since the epoch, default the current time)."""
        sent = time.time() if now is None else now
        self.end_to_end(sent - record_timestamp_ms / 1000.0)

    def action(self, kind: str) -> None:
        if kind not in ACTION_KINDS:
            raise ValueError(f"action kind {kind!r} is not one of {', '.join(ACTION_KINDS)}")
        self._actions(kind).inc()

    def suppression(self, reason: str) -> None:
        self._suppressions(reason).inc()

    def duplicate(self) -> None:
        self._duplicates.inc()

    def score_cache_size(self, texts: int) -> None:
        self._cache_size.set(texts)

    def scored(self, hits: int, misses: int) -> None:
        self._cache_texts("hit").inc(hits)
        self._cache_texts("miss").inc(misses)

    def outcome(self, outcome: DecidedOutcome) -> None:
        """Count one input's handoffs and drafts (see the module docstring)."""
        drafts: list[DraftSource] = []
        for handoff in outcome.handoffs:
            for reason in handoff.reasons:
                self._handoffs(handoff.queue, reason.value).inc()
            if handoff.draft is not None:
                drafts.append(handoff.draft)
        drafts.extend(m.draft for m in outcome.messages if m.draft is not None)
        for draft in drafts:
            self._drafts(draft.kind, fallback_label(draft)).inc()

    def send_failed(self, topic: str) -> None:
        """One delivery the broker refused or did not confirm, for `topic` (`changelog`:
        a state write)."""
        self._send_failures(topic).inc()

    def lag(self, topic: str, partition: int, value: float) -> None:
        self._lag(topic, str(partition)).set(value)

    def lag_gone(self, topic: str, partition: int) -> None:
        """The partition moved to another worker: its series here would stay at its last value."""
        self._lag.remove(topic, str(partition))

    def held_offers(self, count: int) -> None:
        self._held.set(count)

    def set_ready(self, ready: bool) -> None:
        self._ready.set(1 if ready else 0)

    def model_loaded(
        self, *, model: str, version: str, sha256: str, device: str, precision: str
    ) -> None:
        """Record the files a model serves; a reload replaces that model's earlier series."""
        labels = (model, version, sha256, device, precision)
        previous = self._model_labels.get(model)
        if previous is not None and previous != labels:
            self._model_info.remove(*previous)
        self._model_labels[model] = labels
        self._model_info.labels(*labels).set(1)

    # -- what the web endpoint and dashboards read -----------------------------------

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """Exposition bytes and their content type. The Prometheus text format, or
        OpenMetrics when the scraper's `Accept` header asks for it."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    def snapshot(self) -> dict[str, float]:
        """Current values, flat: `name{label=value,...}` -> value.

        Keys are the exposed sample names with labels sorted by name and unquoted, or the
        bare name for a series without labels, e.g. `engage_actions_total{kind=handoff}`,
        `engage_duplicates_total`, `engage_consumer_lag{partition=0,topic=crm.events}`.
        Counters and gauges give their value; histograms give `<name>_count` and
        `<name>_sum` (no buckets). `_created` timestamps are left out.
        """
        values: dict[str, float] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name.endswith(("_created", "_bucket")):
                    continue
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                key = f"{sample.name}{{{labels}}}" if labels else sample.name
                values[key] = values.get(key, 0.0) + float(sample.value)
        return values
