"""The worker's Prometheus metrics: what a scraper and a dashboard get from PipelineMetrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from engage_stream.observability.metrics import (
    BATCH_SIZE_BUCKETS,
    END_TO_END_SECONDS_BUCKETS,
    MODEL_SECONDS_BUCKETS,
    PipelineMetrics,
)

SHA = "0f" * 32
# prometheus_client's OpenMetrics parser has no annotations; it has the text parser's shape.
parse_openmetrics = cast(
    Callable[[str], Iterable[Metric]], openmetrics_parser.text_string_to_metric_families
)

FAMILIES = {
    # family name as parsed -> (type, label names of its main samples)
    "engage_events_in": ("counter", {"topic"}),
    "engage_events_out": ("counter", {"topic"}),
    "engage_dlq": ("counter", {"error_class"}),
    "engage_batch_size": ("histogram", set()),
    "engage_model_seconds": ("histogram", {"model"}),
    "engage_end_to_end_seconds": ("histogram", set()),
    "engage_actions": ("counter", {"kind"}),
    "engage_suppressions": ("counter", {"reason"}),
    "engage_duplicates": ("counter", set()),
    "engage_consumer_lag": ("gauge", {"topic", "partition"}),
    "engage_ready": ("gauge", set()),
    "engage_model_info": ("gauge", {"model", "version", "sha256", "device", "precision"}),
}


def _busy() -> PipelineMetrics:
    """A worker's metrics after a little traffic of every kind."""
    m = PipelineMetrics()
    m.event_in("crm.events")
    m.event_in("crm.events")
    m.event_in("crm.customers")
    m.event_out("engage.enriched", n=2)
    m.event_out("engage.actions.handoff")
    m.dlq("ValidationError")
    m.batch(3)
    m.batch(40)
    m.model_time("intent-ko", 0.004)
    m.end_to_end(0.120)
    m.action("handoff")
    m.action("handoff")
    m.action("next_best_action")
    m.suppression("no_consent")
    m.duplicate()
    m.lag("crm.events", 0, 17)
    m.set_ready(True)
    m.model_loaded(model="intent-ko", version="2", sha256=SHA, device="cpu", precision="int8")
    return m


def _samples(m: PipelineMetrics) -> list[Sample]:
    body, _ = m.render()
    return [s for f in text_string_to_metric_families(body.decode()) for s in f.samples]


def _value(m: PipelineMetrics, name: str, **labels: str) -> float:
    matches = [s.value for s in _samples(m) if s.name == name and s.labels == labels]
    assert len(matches) == 1, f"{name}{labels}: {len(matches)} samples"
    return matches[0]


def test_render_is_prometheus_text_that_parses_back_with_every_metric_and_its_help() -> None:
    body, content_type = _busy().render()
    assert content_type.startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    for name, (kind, label_names) in FAMILIES.items():
        family = families[name]
        assert family.type == kind, name
        assert family.documentation.strip(), f"{name} has no help text"
        main = [s for s in family.samples if not s.name.endswith("_created")]
        assert main, f"{name} has no samples"
        for sample in main:
            assert set(sample.labels) - {"le"} == label_names, sample


def test_render_speaks_openmetrics_when_the_scraper_asks_for_it() -> None:
    body, content_type = _busy().render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert set(FAMILIES) <= {f.name for f in parse_openmetrics(body.decode())}


def test_counters_count_per_label() -> None:
    m = _busy()
    assert _value(m, "engage_events_in_total", topic="crm.events") == 2
    assert _value(m, "engage_events_in_total", topic="crm.customers") == 1
    assert _value(m, "engage_events_out_total", topic="engage.enriched") == 2
    assert _value(m, "engage_dlq_total", error_class="ValidationError") == 1
    assert _value(m, "engage_actions_total", kind="handoff") == 2
    assert _value(m, "engage_actions_total", kind="next_best_action") == 1
    assert _value(m, "engage_suppressions_total", reason="no_consent") == 1
    assert _value(m, "engage_duplicates_total") == 1


def test_both_action_kinds_are_exposed_at_zero_before_the_first_action() -> None:
    m = PipelineMetrics()
    assert _value(m, "engage_actions_total", kind="handoff") == 0
    assert _value(m, "engage_actions_total", kind="next_best_action") == 0


def test_an_unknown_action_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="handoff, next_best_action"):
        PipelineMetrics().action("email")


@pytest.mark.parametrize(
    ("name", "buckets"),
    [
        ("engage_batch_size", BATCH_SIZE_BUCKETS),
        ("engage_model_seconds", MODEL_SECONDS_BUCKETS),
        ("engage_end_to_end_seconds", END_TO_END_SECONDS_BUCKETS),
    ],
)
def test_histograms_have_the_buckets_that_fit_what_they_measure(
    name: str, buckets: tuple[float, ...]
) -> None:
    les = [
        float(s.labels["le"])
        for s in _samples(_busy())
        if s.name == f"{name}_bucket" and s.labels.get("model", "intent-ko") == "intent-ko"
    ]
    assert les == [*map(float, buckets), float("inf")]


def test_bucket_ranges() -> None:
    assert BATCH_SIZE_BUCKETS == (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
    assert (MODEL_SECONDS_BUCKETS[0], MODEL_SECONDS_BUCKETS[-1]) == (0.0005, 2.0)
    assert (END_TO_END_SECONDS_BUCKETS[0], END_TO_END_SECONDS_BUCKETS[-1]) == (0.005, 60.0)
    for buckets in (BATCH_SIZE_BUCKETS, MODEL_SECONDS_BUCKETS, END_TO_END_SECONDS_BUCKETS):
        assert list(buckets) == sorted(set(buckets))


def test_histograms_count_and_sum_observations() -> None:
    m = _busy()
    assert _value(m, "engage_batch_size_count") == 2
    assert _value(m, "engage_batch_size_sum") == 43
    assert _value(m, "engage_batch_size_bucket", le="4.0") == 1
    assert _value(m, "engage_model_seconds_count", model="intent-ko") == 1
    assert _value(m, "engage_model_seconds_bucket", le="0.005", model="intent-ko") == 1
    assert _value(m, "engage_model_seconds_bucket", le="0.0025", model="intent-ko") == 0
    assert _value(m, "engage_end_to_end_seconds_bucket", le="0.25") == 1
    assert _value(m, "engage_end_to_end_seconds_bucket", le="0.1") == 0


def test_end_to_end_from_a_kafka_record_timestamp() -> None:
    m = PipelineMetrics()
    m.end_to_end_since(1_700_000_000_000, now=1_700_000_000.030)  # 30 ms later
    m.end_to_end_since(1_700_000_000_500, now=1_700_000_000.000)  # producer clock ahead
    assert _value(m, "engage_end_to_end_seconds_count") == 2
    assert _value(m, "engage_end_to_end_seconds_sum") == pytest.approx(0.030)
    assert _value(m, "engage_end_to_end_seconds_bucket", le="0.005") == 1  # the skewed one, as 0


def test_gauges_hold_the_last_value() -> None:
    m = _busy()
    m.lag("crm.events", 0, 3)
    m.lag("crm.events", 1, 9)
    assert _value(m, "engage_consumer_lag", topic="crm.events", partition="0") == 3
    assert _value(m, "engage_consumer_lag", topic="crm.events", partition="1") == 9
    assert _value(m, "engage_ready") == 1
    m.set_ready(False)
    assert _value(m, "engage_ready") == 0


def test_a_partition_that_moved_away_has_no_lag_series_left_here() -> None:
    """Its last value would stay forever, and an alert on growing lag would read it."""
    m = _busy()
    m.lag("crm.events", 0, 3)
    m.lag("crm.events", 1, 9)
    m.lag_gone("crm.events", 1)
    m.lag_gone("crm.events", 2)  # never measured here: nothing to remove, no error
    series = {s.labels["partition"] for s in _samples(m) if s.name == "engage_consumer_lag"}
    assert series == {"0"}
    m.lag("crm.events", 1, 4)  # back after a later rebalance
    assert _value(m, "engage_consumer_lag", topic="crm.events", partition="1") == 4


def test_ready_is_zero_until_the_worker_says_otherwise() -> None:
    assert _value(PipelineMetrics(), "engage_ready") == 0


def test_model_info_names_the_served_files_and_a_reload_replaces_them() -> None:
    m = _busy()
    first = {"model": "intent-ko", "version": "2", "sha256": SHA, "device": "cpu"}
    assert _value(m, "engage_model_info", **first, precision="int8") == 1
    m.model_loaded(model="toxicity-ko", version="1", sha256=SHA, device="cpu", precision="int8")
    m.model_loaded(
        model="intent-ko", version="3", sha256="ab" * 32, device="cuda", precision="fp16"
    )
    info = [s.labels for s in _samples(m) if s.name == "engage_model_info"]
    assert sorted((i["model"], i["version"], i["precision"]) for i in info) == [
        ("intent-ko", "3", "fp16"),
        ("toxicity-ko", "1", "int8"),
    ]


def test_two_instances_are_independent() -> None:
    a, b = PipelineMetrics(), PipelineMetrics()  # no "Duplicated timeseries" error either
    a.event_in("crm.events")
    a.duplicate()
    a.set_ready(True)
    assert _value(a, "engage_events_in_total", topic="crm.events") == 1
    assert not [s for s in _samples(b) if s.name == "engage_events_in_total"]
    assert _value(b, "engage_duplicates_total") == 0
    assert _value(b, "engage_ready") == 0


def test_snapshot_is_flat_name_and_sorted_labels_to_value() -> None:
    snap = _busy().snapshot()
    assert snap["engage_actions_total{kind=handoff}"] == 2
    assert snap["engage_actions_total{kind=next_best_action}"] == 1
    assert snap["engage_events_in_total{topic=crm.events}"] == 2
    assert snap["engage_events_out_total{topic=engage.enriched}"] == 2
    assert snap["engage_dlq_total{error_class=ValidationError}"] == 1
    assert snap["engage_suppressions_total{reason=no_consent}"] == 1
    assert snap["engage_duplicates_total"] == 1
    assert snap["engage_consumer_lag{partition=0,topic=crm.events}"] == 17
    assert snap["engage_ready"] == 1
    assert snap["engage_batch_size_count"] == 2
    assert snap["engage_batch_size_sum"] == 43
    assert snap["engage_model_seconds_count{model=intent-ko}"] == 1
    info = f"engage_model_info{{device=cpu,model=intent-ko,precision=int8,sha256={SHA},version=2}}"
    assert snap[info] == 1
    assert not [k for k in snap if k.split("{")[0].endswith(("_bucket", "_created"))]
    assert all(isinstance(v, float) for v in snap.values())
