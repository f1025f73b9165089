"""The Grafana dashboard kept as code: the checked-in JSON is what the script makes, and
every query reads metrics a real worker exports."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.observability.metrics import PipelineMetrics
from tests.observability.exported import (
    exercise_every_method,
    exported_names,
    metric_names,
    public_methods,
)
from tests.observability.promtool import run_promtool

GRAFANA = PROJECT_ROOT / "infra" / "grafana"
SCRIPT = GRAFANA / "build_dashboard.py"
DASHBOARD = GRAFANA / "dashboards" / "engage-stream.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"

WANTED_PANELS = {  # what the person on call needs to see, by panel title
    "Ready",
    "Events in / out per topic",
    "Consumer lag per partition",
    "End-to-end latency",
    "Dead letters per error class",
    "Handoffs per queue and reason",
    "Draft kinds (grounded rate)",
    "Draft fallbacks",
    "Suppressions per reason",
    "Model seconds",
}


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_dashboard", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def _exprs() -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in _dashboard()["panels"] for t in p["targets"]]


def test_the_checked_in_json_is_what_the_script_makes() -> None:
    assert DASHBOARD.read_text(encoding="utf-8") == _script().render(), (
        "run .venv/bin/python infra/grafana/build_dashboard.py and check in its output"
    )


def test_the_scripts_check_mode_catches_a_stale_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _script()
    assert script.main(["--check"]) == 0
    stale = tmp_path / "engage-stream.json"
    stale.write_text(DASHBOARD.read_text(encoding="utf-8").replace("p95", "p90"), "utf-8")
    monkeypatch.setattr(script, "OUTPUT", stale)
    assert script.main(["--check"]) == 1


def test_the_exercise_calls_every_public_method_of_the_metrics() -> None:
    # A new metric method must be called here too, so its names reach `exported_names`.
    assert exercise_every_method(PipelineMetrics()) == public_methods()


def test_every_metric_a_query_reads_is_one_the_worker_exports() -> None:
    exported = exported_names()
    exprs = _exprs()
    assert len(exprs) >= len(WANTED_PANELS)
    for title, expr in exprs:
        names = metric_names(expr)
        assert names, f"{title}: {expr} reads no engage_ metric"
        missing = names - exported
        assert not missing, f"panel {title!r} reads {sorted(missing)}, which /metrics lacks"


def test_the_name_check_catches_a_renamed_metric() -> None:
    renamed = "sum by (topic) (rate(engage_events_consumed_total[5m]))"
    assert metric_names(renamed) - exported_names() == {"engage_events_consumed_total"}
    assert metric_names('rate(engage_dlq_total{topic!="engage.scored"}[5m])') == {
        "engage_dlq_total"
    }


def test_the_dashboard_has_the_panels_the_person_on_call_needs() -> None:
    titles = [p["title"] for p in _dashboard()["panels"]]
    assert set(titles) >= WANTED_PANELS
    assert len(titles) == len(set(titles))
    for panel in _dashboard()["panels"]:
        assert panel["description"], f"{panel['title']} says nothing about what it shows"


def test_latency_shows_p50_p95_p99_from_the_histogram() -> None:
    (latency,) = [p for p in _dashboard()["panels"] if p["title"] == "End-to-end latency"]
    exprs = [t["expr"] for t in latency["targets"]]
    assert [e.split(",")[0] for e in exprs] == [
        f"histogram_quantile({q}" for q in ("0.5", "0.95", "0.99")
    ]
    assert all("engage_end_to_end_seconds_bucket" in e and "le" in e for e in exprs)


def test_every_panel_reads_the_provisioned_data_source() -> None:
    provisioned = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))
    (source,) = provisioned["datasources"]
    for panel in _dashboard()["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"], panel["title"]
    assert source["type"] == "prometheus"


def test_panels_have_unique_ids_and_do_not_overlap_on_the_grid() -> None:
    panels = _dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    taken: set[tuple[int, int]] = set()
    for panel in panels:
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        cells = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_every_query_is_promql_that_prometheus_parses(tmp_path: Path) -> None:
    # promtool parses recording rules: each query becomes one, with Grafana's
    # $__rate_interval as the 1m it is at a 15 s scrape interval.
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr.replace("$__rate_interval", "1m")}
        for i, (_, expr) in enumerate(_exprs())
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}), "utf-8")
    result = run_promtool("check", "rules", path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_queries_name_only_topics_of_the_topics_file() -> None:
    topics_file = yaml.safe_load((PROJECT_ROOT / "infra/topics.yaml").read_text(encoding="utf-8"))
    topics = {t["name"] for t in topics_file["topics"].values()}
    named = {name for _, expr in _exprs() for name in re.findall(r'topic!?=~?"([^"]+)"', expr)}
    assert named, "the dead-letter share leaves engage.scored out"
    assert named <= topics
