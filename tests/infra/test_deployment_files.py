"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so check that
they parse and agree with the settings, the topics file and the Maven-provisioned Kafka."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from engage_stream.config.settings import PROJECT_ROOT, load_settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def test_compose_kafka_is_the_same_4x_release_the_tests_run() -> None:
    image = _compose()["services"]["kafka"]["image"]
    pom = (PROJECT_ROOT / "infra/kafka/pom.xml").read_text(encoding="utf-8")
    pom_version = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert pom_version is not None
    assert image == f"apache/kafka:{pom_version.group(1)}"
    assert pom_version.group(1).startswith("4.")


def test_engage_services_reach_kafka_on_an_advertised_listener() -> None:
    services = _compose()["services"]
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    endpoints = {entry.split("://")[1] for entry in advertised.split(",")}
    engage = {name: s for name, s in services.items() if s.get("image", "").startswith("engage")}
    assert engage, "at least one engage-stream service"
    for name, service in engage.items():
        bootstrap = service["environment"]["ENGAGE_KAFKA_BOOTSTRAP"]
        assert set(bootstrap.split(",")) <= endpoints, name
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_compose_settings_are_valid_engage_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for service in _compose()["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if name.startswith("ENGAGE_"):
                monkeypatch.setenv(name, str(value))
    settings = load_settings()
    assert settings.json_logs


def test_the_topics_job_applies_the_topics_file() -> None:
    topics = _compose()["services"]["topics"]
    assert topics["command"] == ["topics", "create"]
    assert topics["restart"] == "no"


def test_the_image_installs_the_pinned_runtime_lock_without_torch() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-deps -r requirements/runtime.lock" in dockerfile
    runtime_lock = (PROJECT_ROOT / "requirements/runtime.lock").read_text(encoding="utf-8")
    assert not re.search(r"^torch==", runtime_lock, re.MULTILINE)
    for copied in re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE):
        assert (PROJECT_ROOT / Path(copied)).exists(), copied
