"""docker-compose.yml's `observability` profile: Prometheus and Grafana with their files
from infra/. No Docker engine here, so the file is parsed and every mount, target and URL
is held against the repository and the other services."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from engage_stream.config.settings import PROJECT_ROOT, Settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
WEB_PORT = Settings.model_fields["web_port"].default
PROFILE = "observability"


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))[
        "services"
    ]
    return services


def _binds(service: dict[str, Any]) -> dict[PurePosixPath, tuple[Path, str]]:
    """Container path -> (host path in the repo, mode) of each `./...` bind mount."""
    binds: dict[PurePosixPath, tuple[Path, str]] = {}
    for volume in service.get("volumes", []):
        source, target, *mode = str(volume).split(":")
        if source.startswith("./"):
            binds[PurePosixPath(target)] = (PROJECT_ROOT / source, mode[0] if mode else "rw")
    return binds


def _host_path(service: dict[str, Any], container: str) -> Path:
    """Where a path inside the container comes from in the repo, through the bind mounts."""
    path = PurePosixPath(container)
    for target, (source, _) in _binds(service).items():
        if path == target or target in path.parents:
            return source / path.relative_to(target)
    raise AssertionError(f"{container} is not mounted from the repo")


def _yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def test_the_profile_adds_prometheus_and_grafana_and_nothing_else() -> None:
    services = _services()
    in_profile = {name for name, s in services.items() if PROFILE in s.get("profiles", [])}
    assert in_profile == {"prometheus", "grafana"}
    for name in in_profile:
        assert services[name]["profiles"] == [PROFILE], "not started by a plain `up`"


def test_the_images_are_the_official_ones_pinned_to_a_release() -> None:
    services = _services()
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", services["prometheus"]["image"])
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+", services["grafana"]["image"])


def test_every_mounted_file_is_in_the_repository_and_mounted_read_only() -> None:
    services = _services()
    for name in ("prometheus", "grafana"):
        binds = _binds(services[name])
        assert binds, name
        for target, (source, mode) in binds.items():
            assert source.exists(), f"{name} mounts {source}, which is not in the repo"
            assert mode == "ro", f"{name}: {target} should be read-only"


def test_prometheus_loads_its_config_and_the_alert_rules_from_infra() -> None:
    prometheus = _services()["prometheus"]
    assert "command" not in prometheus, "the image's default flags read the mounted config"
    config_path = _host_path(prometheus, "/etc/prometheus/prometheus.yml")
    assert config_path == PROJECT_ROOT / "infra/prometheus/prometheus.yml"
    config = _yaml(config_path)
    rules = [_host_path(prometheus, path) for path in config["rule_files"]]
    assert rules == [PROJECT_ROOT / "infra/prometheus/alerts.yml"]


def test_prometheus_scrapes_the_workers_metrics_endpoint() -> None:
    config = _yaml(PROJECT_ROOT / "infra/prometheus/prometheus.yml")
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    (static,) = job["static_configs"]
    services = _services()
    for target in static["targets"]:
        host, port = target.rsplit(":", 1)
        assert host in services, f"{target}: no such service"
        assert int(port) == WEB_PORT
        assert services[host]["command"] == ["worker"]
    assert "worker:6066" in static["targets"]


def test_grafana_is_provisioned_with_the_data_source_and_the_dashboard() -> None:
    services = _services()
    grafana = services["grafana"]
    provisioning = _host_path(grafana, "/etc/grafana/provisioning")
    (source,) = _yaml(provisioning / "datasources/prometheus.yml")["datasources"]
    url = re.fullmatch(r"http://([a-z-]+):(\d+)", source["url"])
    assert url is not None
    assert url.group(1) == "prometheus"
    assert f"{url.group(2)}:{url.group(2)}" in services["prometheus"]["ports"]
    assert "prometheus" in grafana["depends_on"]
    (provider,) = _yaml(provisioning / "dashboards/engage-stream.yml")["providers"]
    dashboards = _host_path(grafana, provider["options"]["path"])
    assert dashboards == PROJECT_ROOT / "infra/grafana/dashboards"
    assert (dashboards / "engage-stream.json").is_file()
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert _host_path(grafana, home).is_file()
