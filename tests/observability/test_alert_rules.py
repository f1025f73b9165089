"""The alert rules in infra/prometheus/: valid for Prometheus, unit-tested with
`promtool test rules`, and reading only metrics and topics that exist.

promtool comes from Debian's `prometheus` package (infra/promtool/fetch.sh, `make
promtool`); where it is missing the promtool tests skip, and in CI that is a failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.schemas.dlq import DlqErrorClass
from tests.observability.exported import exported_names, metric_names
from tests.observability.promtool import run_promtool

PROMETHEUS = PROJECT_ROOT / "infra" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
ALERTS_TEST = PROMETHEUS / "alerts_test.yml"
CONFIG = PROMETHEUS / "prometheus.yml"
TOPICS = PROJECT_ROOT / "infra" / "topics.yaml"
DASHBOARD = PROJECT_ROOT / "infra" / "grafana" / "dashboards" / "engage-stream.json"

ALERT_NAMES = {
    "EngageConsumerLagGrowing",
    "EngageDeadLetterRateHigh",
    "EngageWorkerNotReady",
    "EngageNoOutputWhileInputFlows",
}


def _run(*args: str | Path, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    return run_promtool(*args, cwd=cwd)


def _rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


# -- with promtool ----------------------------------------------------------------------


def test_promtool_accepts_the_rules() -> None:
    result = _run("check", "rules", ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERT_NAMES)} rules found" in result.stdout + result.stderr


def test_the_alert_unit_tests_pass() -> None:
    result = _run("test", "rules", ALERTS_TEST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_sees_it_fire() -> None:
    tests = yaml.safe_load(ALERTS_TEST.read_text(encoding="utf-8"))["tests"]
    firing = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert firing == ALERT_NAMES


@pytest.mark.parametrize(
    ("change", "alert"),
    [
        (("deriv(engage_consumer_lag[10m]) > 1", "deriv(engage_consumer_lag[10m]) > 5"), "Lag"),
        (("          > 0.01\n", "          > 0.2\n"), "DeadLetter"),
        (('topic!="engage.scored",', ""), "DeadLetter"),
        (('"engage.scored",topic!="engage.profiles"}', '"engage.scored"}'), "DeadLetter"),
        (('          or\n          up{job="engage-worker"} == 0\n', "\n"), "NotReady"),
        (
            (
                "            or\n            sum by (job, instance) (rate(engage_events_in_total",
                "            and\n            sum by (job, instance) (rate(engage_events_in_total",
            ),
            "NoOutput",
        ),
    ],
)
def test_the_unit_tests_fail_when_a_rule_is_weakened(
    tmp_path: Path, change: tuple[str, str], alert: str
) -> None:
    """Each case breaks one thing a rule must do; the unit tests must notice."""
    old, new = change
    text = ALERTS.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the {alert} rule no longer reads {old!r}"
    (tmp_path / "alerts.yml").write_text(text.replace(old, new), encoding="utf-8")
    shutil.copy(ALERTS_TEST, tmp_path / "alerts_test.yml")
    result = _run("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0, f"weakening {alert} went unnoticed: {result.stdout}"
    assert "FAILED" in result.stdout + result.stderr


def test_promtool_accepts_the_prometheus_config(tmp_path: Path) -> None:
    # The config names the rules where the container mounts them; point it at the file here.
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["rule_files"] = [str(ALERTS)]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = _run("check", "config", tmp_path / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


# -- without promtool -------------------------------------------------------------------


def test_the_four_alerts_have_a_wait_a_severity_and_a_runbook() -> None:
    rules = _rules()
    assert {r["alert"] for r in rules} == ALERT_NAMES
    for rule in rules:
        assert re.fullmatch(r"\d+m", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        description = rule["annotations"]["description"]
        assert len(description) > 300, f"{rule['alert']}: a runbook says what to do"


def test_each_runbook_points_at_dashboard_panels_that_exist() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    titles = {panel["title"] for panel in dashboard["panels"]}
    for rule in _rules():
        text = re.sub(r"\{\{.*?\}\}", "", rule["annotations"]["description"])  # templates
        quoted = set(re.findall(r'"([^"]+)"', text))
        assert quoted, f"{rule['alert']} names no panel to look at"
        assert quoted <= titles, f"{rule['alert']} names {sorted(quoted - titles)}"


def test_every_metric_a_rule_reads_is_one_the_worker_exports() -> None:
    exported = exported_names()
    for rule in _rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exported, f"{rule['alert']} reads {sorted(names - exported)}"


def test_the_rules_name_only_topics_of_the_topics_file() -> None:
    topics = {
        t["name"] for t in yaml.safe_load(TOPICS.read_text(encoding="utf-8"))["topics"].values()
    }
    named = set(re.findall(r'topic!?=~?"([^"]+)"', ALERTS.read_text(encoding="utf-8")))
    assert named, "the rules select topics"
    assert named <= topics


def test_the_rules_select_the_job_prometheus_scrapes_and_load_from_where_it_looks() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert set(re.findall(r'job="([^"]+)"', ALERTS.read_text(encoding="utf-8"))) <= jobs
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_the_dead_letter_runbook_says_what_each_error_class_means() -> None:
    (rule,) = [r for r in _rules() if r["alert"] == "EngageDeadLetterRateHigh"]
    description = rule["annotations"]["description"]
    missing = [c.value for c in DlqErrorClass if c.value not in description]
    assert not missing, f"the runbook does not say what to do about {missing}"
