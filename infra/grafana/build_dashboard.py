"""Build infra/grafana/dashboards/engage-stream.json, the on-call dashboard, as plain JSON.

    .venv/bin/python infra/grafana/build_dashboard.py          # rewrite the JSON
    .venv/bin/python infra/grafana/build_dashboard.py --check  # exit 1 when it is stale

The script and its output are both checked in: Grafana provisions the JSON, reviewers read
this file. tests/observability/test_dashboard.py holds the JSON to the script's output and
every metric name in a query to what `PipelineMetrics().render()` exports, so a renamed
metric fails a test instead of leaving an empty panel. Panels are in the order the person
on call reads them: is it up, is it keeping up, what is it losing, what is it deciding.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "dashboards" / "engage-stream.json"

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
"""The data source infra/grafana/provisioning/datasources/prometheus.yml provisions."""
RATE = "$__rate_interval"
PRODUCED = 'topic!="engage.scored",topic!="engage.profiles"'
"""Records from producers: engage.scored and engage.profiles are the worker's own hops
between its two stages."""

Panel = dict[str, Any]


def _target(expr: str, legend: str, ref: str) -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}


def _panel(
    kind: str,
    title: str,
    description: str,
    targets: list[tuple[str, str]],
    grid: tuple[int, int, int, int],
    *,
    unit: str = "short",
    axis: str = "",
    extra: dict[str, Any] | None = None,
) -> Panel:
    """One panel; `grid` is (x, y, width, height) on Grafana's 24-column grid."""
    x, y, w, h = grid
    defaults: dict[str, Any] = {"unit": unit}
    if kind == "timeseries":
        defaults["custom"] = {"axisLabel": axis, "fillOpacity": 10, "showPoints": "never"}
    panel: Panel = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom"}}
        if kind == "timeseries"
        else {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
        "targets": [
            _target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(targets)
        ],
    }
    if extra:
        panel["fieldConfig"]["defaults"].update(extra)
    return panel


def _quantiles(metric: str, legend: str = "") -> list[tuple[str, str]]:
    """p50, p95, p99 of a histogram over all workers."""
    return [
        (
            f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket[{RATE}])))",
            f"{legend}p{round(q * 100)}",
        )
        for q in (0.5, 0.95, 0.99)
    ]


def _share(metric: str, by: str, where: str = "") -> str:
    """Each `by` value's share of all of `metric`, over the same window."""
    selector = f"{{{where}}}" if where else ""
    return (
        f"sum by ({by}) (rate({metric}{selector}[{RATE}]))"
        f" / ignoring({by}) group_left sum(rate({metric}[{RATE}]))"
    )


def panels() -> list[Panel]:
    ready_colours = {
        "color": {"mode": "thresholds"},
        "thresholds": {
            "mode": "absolute",
            "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}],
        },
        "mappings": [
            {
                "type": "value",
                "options": {
                    "0": {"text": "not ready", "index": 0},
                    "1": {"text": "ready", "index": 1},
                },
            }
        ],
    }
    dlq_colours = {
        "color": {"mode": "thresholds"},
        "thresholds": {
            "mode": "absolute",
            "steps": [{"color": "green", "value": None}, {"color": "red", "value": 0.01}],
        },
    }
    return [
        _panel(
            "stat",
            "Ready",
            "engage_ready per worker: 1 once models are loaded and tables recovered, 0 while "
            "starting or rebalancing. 0 for 5 minutes fires EngageWorkerNotReady.",
            [("engage_ready", "{{instance}}")],
            (0, 0, 6, 6),
            extra=ready_colours,
        ),
        _panel(
            "stat",
            "Dead-letter share (5m)",
            "Records from producers (crm.events, crm.customers) that went to engage.dlq, as a "
            "share of all of them. Above 1 % for 10 minutes fires EngageDeadLetterRateHigh.",
            [
                (
                    "sum(rate(engage_dlq_total[5m]))"
                    f" / sum(rate(engage_events_in_total{{{PRODUCED}}}[5m]))",
                    "dead-lettered",
                )
            ],
            (6, 0, 6, 6),
            unit="percentunit",
            extra=dlq_colours,
        ),
        _panel(
            "timeseries",
            "Events in / out per topic",
            "Records consumed and produced per second, and sends the broker did not confirm. "
            "Every crm.events record comes back out on engage.scored or engage.dlq; input "
            "without output fires EngageNoOutputWhileInputFlows.",
            [
                (f"sum by (topic) (rate(engage_events_in_total[{RATE}]))", "in {{topic}}"),
                (f"sum by (topic) (rate(engage_events_out_total[{RATE}]))", "out {{topic}}"),
                (
                    f"sum by (topic) (rate(engage_send_failures_total[{RATE}]))",
                    "send failed {{topic}}",
                ),
            ],
            (12, 0, 12, 6),
            unit="ops",
            axis="records / s",
        ),
        _panel(
            "timeseries",
            "Consumer lag per partition",
            "crm.events records per partition not yet decided, per worker. A line that keeps "
            "rising fires EngageConsumerLagGrowing. A flat line after a rebalance can be the "
            "last value of a partition that worker no longer owns.",
            [("engage_consumer_lag", "{{topic}} p{{partition}} ({{instance}})")],
            (0, 6, 12, 8),
            axis="records",
        ),
        _panel(
            "timeseries",
            "End-to-end latency",
            "Seconds from an event's Kafka record timestamp to its outputs being sent: "
            "p50, p95, p99 over all workers. Producer clock skew shifts it.",
            _quantiles("engage_end_to_end_seconds"),
            (12, 6, 12, 8),
            unit="s",
        ),
        _panel(
            "timeseries",
            "Dead letters per error class",
            "engage.dlq records per second by error class. invalid_json, invalid_utf8, "
            "schema_violation, unknown_event_type, oversized_record: a producer's records; "
            "processing_error: the worker's own failure.",
            [(f"sum by (error_class) (rate(engage_dlq_total[{RATE}]))", "{{error_class}}")],
            (0, 14, 12, 8),
            unit="ops",
            axis="records / s",
        ),
        _panel(
            "timeseries",
            "Handoffs per queue and reason",
            "Handoffs to the agent desk per minute, by queue (policy file) and reason; a "
            "handoff with two reasons is counted under each.",
            [
                (
                    f"60 * sum by (queue, reason) (rate(engage_handoffs_total[{RATE}]))",
                    "{{queue}} · {{reason}}",
                )
            ],
            (12, 14, 12, 8),
            axis="per minute",
        ),
        _panel(
            "timeseries",
            "Draft kinds (grounded rate)",
            "Share of drafts on handoffs and answers by kind: grounded (a bank answer with the "
            "customer's order facts), general, no_answer (nothing in the bank fits).",
            [(_share("engage_drafts_total", "kind"), "{{kind}}")],
            (0, 22, 12, 8),
            unit="percentunit",
        ),
        _panel(
            "timeseries",
            "Draft fallbacks",
            "Share of drafts whose retrieval fell short, by why: deadline (the encoder missed "
            "its time budget, n-grams only), low_score, no_question, not_korean.",
            [(_share("engage_drafts_total", "fallback", 'fallback!="none"'), "{{fallback}}")],
            (12, 22, 12, 8),
            unit="percentunit",
        ),
        _panel(
            "timeseries",
            "Suppressions per reason",
            "Actions the policy held back per minute: consent, frequency caps, duplicates, "
            "disabled rules. A jump in no_advertising_consent can mean profiles are missing.",
            [(f"60 * sum by (reason) (rate(engage_suppressions_total[{RATE}]))", "{{reason}}")],
            (0, 30, 12, 8),
            axis="per minute",
        ),
        _panel(
            "timeseries",
            "Model seconds",
            "Seconds one batch spends in each model: p95 and mean. A rise with growing lag: "
            "the models are the bottleneck (engage_model_info says which device serves them).",
            [
                (
                    "histogram_quantile(0.95, sum by (le, model) "
                    f"(rate(engage_model_seconds_bucket[{RATE}])))",
                    "p95 {{model}}",
                ),
                (
                    f"sum by (model) (rate(engage_model_seconds_sum[{RATE}]))"
                    f" / sum by (model) (rate(engage_model_seconds_count[{RATE}]))",
                    "mean {{model}}",
                ),
            ],
            (12, 30, 12, 8),
            unit="s",
        ),
        _panel(
            "timeseries",
            "Actions per kind",
            "Handoffs and next-best-action messages published per minute.",
            [(f"60 * sum by (kind) (rate(engage_actions_total[{RATE}]))", "{{kind}}")],
            (0, 38, 12, 8),
            axis="per minute",
        ),
        _panel(
            "timeseries",
            "Batch size and score cache",
            "Events per model batch (p50, p95) and the share of customer texts found in the "
            "score cache.",
            [
                *_quantiles("engage_batch_size", legend="batch size ")[:2],
                (
                    f'sum(rate(engage_score_cache_texts_total{{result="hit"}}[{RATE}]))'
                    f" / sum(rate(engage_score_cache_texts_total[{RATE}]))",
                    "cache hits (share)",
                ),
            ],
            (12, 38, 12, 8),
        ),
        _panel(
            "timeseries",
            "Held offers",
            "Delayed offers (cart reminders, review requests) held per worker, waiting for "
            "stream time to reach their due time or for an exit event. A count that only "
            "grows while events flow: releases are not happening (an idle partition gets "
            "ticks only when the whole pipeline is caught up).",
            [("engage_held_offers", "{{instance}}")],
            (0, 46, 12, 8),
            axis="offers",
        ),
    ]


def dashboard() -> dict[str, Any]:
    return {
        "uid": "engage-stream",
        "title": "engage-stream",
        "description": "What the person on call sees: README, Operations: dashboard and alerts.",
        "tags": ["engage-stream"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": [{"id": i, **p} for i, p in enumerate(panels(), start=1)],
    }


def render() -> str:
    """The dashboard as the JSON file holds it."""
    return json.dumps(dashboard(), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail when the JSON is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
