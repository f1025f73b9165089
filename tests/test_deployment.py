"""docker-compose.yml and the Dockerfile agree with the code they deploy.

No Docker engine here, so nothing is built or started: the files are parsed and held
against the settings, the `engage-stream` command and each other. A rename in the code
(a setting, a sub-command, the web port) fails here instead of at someone's deploy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.core import TyperGroup

from engage_stream.cli.app import app
from engage_stream.config.settings import ENV_PREFIX, PROJECT_ROOT, Settings

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
SETTING_VARIABLES = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
WEB_PORT = Settings.model_fields["web_port"].default
WORKERS = ("worker", "worker-gpu")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _engage_services() -> dict[str, dict[str, Any]]:
    """The services that run the engage-stream image (all but kafka)."""
    return {name: s for name, s in _services().items() if "command" in s and name != "kafka"}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- NAME=value` form
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _dockerfile() -> str:
    # Join continuation lines so each instruction is one line.
    return re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))


def _instructions(keyword: str) -> list[str]:
    return re.findall(rf"^{keyword}\s+(.+)$", _dockerfile(), re.MULTILINE)


def cli_problem(argv: Sequence[str]) -> str | None:
    """Why `engage-stream ARGV` would not run: a missing sub-command or a bad option.
    None when the command line parses."""
    command = typer.main.get_command(app)
    path = ["engage-stream"]
    args = list(argv)
    while isinstance(command, TyperGroup):
        if not args or args[0].startswith("-"):
            return f"`{' '.join(path)}` needs a sub-command (has: {', '.join(command.commands)})"
        name = args.pop(0)
        if name not in command.commands:
            return (
                f"`{' '.join(path)}` has no sub-command {name!r} "
                f"(has: {', '.join(sorted(command.commands))})"
            )
        command = command.commands[name]
        path.append(name)
    try:
        command.make_context(" ".join(path), args)
    except Exception as exc:  # typer's own (vendored) click: UsageError, NoSuchOption, ...
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        return f"`{' '.join([*path, *args])}`: {message}"
    return None


# -- docker-compose.yml ------------------------------------------------------------------


def test_compose_parses_and_has_the_services_a_deployment_needs() -> None:
    services = _services()
    assert {"kafka", "topics", "worker", "worker-gpu", "producer"} <= set(services)
    assert "profiles" not in services["worker"], "the CPU worker starts with a plain `up`"
    assert services["worker-gpu"]["profiles"] == ["gpu"]
    assert services["producer"]["profiles"] == ["sample"]


def test_every_engage_variable_in_compose_is_a_setting() -> None:
    for name, service in _services().items():
        for variable in _environment(service):
            if variable.startswith(ENV_PREFIX):
                assert variable in SETTING_VARIABLES, f"{name}: {variable} is not a setting"


def test_every_engage_variable_in_the_dockerfile_is_a_setting() -> None:
    variables = re.findall(rf"\b({ENV_PREFIX}[A-Z0-9_]+)=", " ".join(_instructions("ENV")))
    assert variables
    assert set(variables) <= SETTING_VARIABLES


def test_the_cli_check_catches_a_command_that_does_not_exist() -> None:
    assert cli_problem(["topics", "create"]) is None
    assert cli_problem(["topics", "create", "--bootstrap", "kafka:9092"]) is None
    problem = cli_problem(["no-such-command"])
    assert problem is not None
    assert "no sub-command 'no-such-command'" in problem
    assert "topics" in problem  # lists what there is
    assert cli_problem(["topics", "frobnicate"]) is not None
    assert cli_problem(["topics"]) is not None
    assert cli_problem(["topics", "create", "--no-such-option"]) is not None


@pytest.mark.parametrize("service", sorted(_engage_services()))
def test_each_service_runs_a_real_engage_stream_command(service: str) -> None:
    command = _engage_services()[service]["command"]
    assert isinstance(command, list), f"{service}: use the exec form, a list"
    problem = cli_problem(command)
    assert problem is None, f"compose service {service!r} runs a command the CLI lacks: {problem}"


def test_the_topics_job_creates_the_topics_once() -> None:
    topics = _services()["topics"]
    assert topics["command"] == ["topics", "create"]
    assert topics["restart"] == "no"


@pytest.mark.parametrize("service", [*WORKERS, "producer"])
def test_workers_and_producer_wait_for_the_topics_job(service: str) -> None:
    depends_on = _services()[service]["depends_on"]
    assert depends_on["topics"]["condition"] == "service_completed_successfully"
    assert depends_on["kafka"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", WORKERS)
def test_workers_publish_the_web_port_and_are_healthy_when_ready(service: str) -> None:
    worker = _services()[service]
    assert worker["command"] == ["worker"]
    assert worker["restart"] == "unless-stopped"
    container_ports = [int(str(p).rsplit(":", 1)[-1]) for p in worker["ports"]]
    assert container_ports == [WEB_PORT]
    check = " ".join(worker["healthcheck"]["test"])
    assert f"http://localhost:{WEB_PORT}/ready" in check
    assert "urllib" in check, "the slim image has no curl"
    assert "build" in worker


def test_the_cpu_worker_is_on_the_default_port_of_the_host() -> None:
    worker = _services()["worker"]
    assert worker["ports"] == [f"{WEB_PORT}:{WEB_PORT}"]
    assert _environment(worker)["ENGAGE_DEVICE"] == "cpu"


def test_the_gpu_worker_reserves_an_nvidia_gpu_and_insists_on_cuda() -> None:
    gpu = _services()["worker-gpu"]
    assert _environment(gpu)["ENGAGE_DEVICE"] == "cuda"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert device["count"] == 1
    assert device["capabilities"] == ["gpu"]
    assert gpu["build"]["args"]["CUDA"] == "1", "the slim image has no CUDA libraries"
    assert gpu["image"] != _services()["worker"]["image"]


def test_jobs_without_a_web_server_turn_the_image_healthcheck_off() -> None:
    for name, service in _engage_services().items():
        if name not in WORKERS:
            assert service.get("healthcheck", {}).get("disable") is True, name


def test_kafka_is_apache_kafka_4_in_kraft_mode_without_auto_created_topics() -> None:
    kafka = _services()["kafka"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", kafka["image"]), kafka["image"]
    env = _environment(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false"


def _listeners(value: str) -> dict[str, str]:
    """`NAME://host:port,...` -> {NAME: 'host:port'}."""
    return dict(entry.split("://", 1) for entry in value.split(","))


def test_services_bootstrap_from_a_listener_kafka_advertises() -> None:
    kafka = _services()["kafka"]
    env = _environment(kafka)
    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    bound = _listeners(env["KAFKA_LISTENERS"])
    for listener, endpoint in advertised.items():  # advertised on the port it listens on
        assert endpoint.rsplit(":", 1)[1] == bound[listener].rsplit(":", 1)[1], listener
    in_network = {kafka.get("hostname"), "kafka"}
    for name, service in _engage_services().items():
        bootstrap = _environment(service).get("ENGAGE_KAFKA_BOOTSTRAP")
        assert bootstrap, f"{name} sets no ENGAGE_KAFKA_BOOTSTRAP"
        for server in bootstrap.split(","):
            assert server in advertised.values(), f"{name}: {server} is not advertised"
            assert server.rsplit(":", 1)[0] in in_network, f"{name}: {server} is not kafka"


# -- Dockerfile ---------------------------------------------------------------------------


def test_the_image_installs_the_runtime_lock_and_no_training_extra() -> None:
    runs = " ".join(_instructions("RUN"))
    assert "pip install --no-deps -r requirements/runtime.lock" in runs
    assert "torch" not in runs
    assert "[export]" not in runs
    assert not re.search(r"-e \.\[", runs), "the editable install takes no extra"
    assert not re.search(r"-r\s+requirements/dev\.lock", runs), "dev lock: constraints only"


def test_the_image_copies_what_the_worker_reads_at_start() -> None:
    copied = {Path(src) for line in _instructions("COPY") for src in line.split()[:-1]}
    needed = [
        Path("engage_stream"),
        *(
            Path(Settings.model_fields[field].default).relative_to(PROJECT_ROOT)
            for field in ("topics_file", "model_dir", "policy_file")
        ),
    ]
    for path in needed:
        assert any(path == c or c in path.parents for c in copied), f"{path} is not copied"
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for path in copied:
        assert str(path) not in ignored, f"{path} is copied but .dockerignore drops it"


def test_the_image_exposes_the_web_port_and_checks_readiness() -> None:
    assert _instructions("EXPOSE") == [str(WEB_PORT)]
    (healthcheck,) = _instructions("HEALTHCHECK")
    assert "/ready" in healthcheck
    assert "ENGAGE_WEB_PORT" in healthcheck
    assert f"'{WEB_PORT}'" in healthcheck
    assert _instructions("ENTRYPOINT") == ['["engage-stream"]']
