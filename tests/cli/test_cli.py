"""The `engage-stream` command as people and scripts use it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from engage_stream.brokers import BrokerProcess
from engage_stream.brokers.readiness import broker_count
from engage_stream.cli.app import app
from engage_stream.config.settings import PROJECT_ROOT
from tests.conftest import require_apache_kafka

runner = CliRunner()
EXE = [sys.executable, "-m", "engage_stream"]


def _all_commands() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(command: object, path: list[str]) -> None:
        # typer 0.29 vendors its own click, so groups are recognised by their sub-commands.
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*path, name])
            walk(sub, [*path, name])

    walk(root, [])
    return paths


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=PROJECT_ROOT,
        check=False,
    )


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "(root)")
def test_every_command_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_the_documented_command_names_exist() -> None:
    names = {" ".join(p) for p in _all_commands()}
    assert {"broker", "topics create", "schemas export", "schemas validate", "demo"} <= names


def test_a_bad_setting_stops_at_start_with_its_name_and_exit_code_2() -> None:
    result = _run("topics", "create", env={"ENGAGE_BATCH_MAX_SIZE": "lots"})
    assert result.returncode == 2
    assert "ENGAGE_BATCH_MAX_SIZE: Input should be a valid integer" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_topics_file_stops_at_start_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "topics.yaml"
    bad.write_text("topics: {}\n")
    result = _run("topics", "show", env={"ENGAGE_TOPICS_FILE": str(bad)})
    assert result.returncode == 2
    assert f"ENGAGE_TOPICS_FILE: {bad}: topics: Value error, roles missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_option_value_is_named_as_given_on_the_command_line() -> None:
    result = _run("topics", "create", "--bootstrap", "kafka-without-port")
    assert result.returncode == 2
    assert (
        "ENGAGE_KAFKA_BOOTSTRAP (given on the command line): 'kafka-without-port' is not host:port"
        in result.stderr
    )


def test_config_show_prints_effective_settings_without_secrets(tmp_path: Path) -> None:
    env = {
        "ENGAGE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "ENGAGE_KAFKA_SASL_MECHANISM": "PLAIN",
        "ENGAGE_KAFKA_SASL_USERNAME": "engage",
        "ENGAGE_KAFKA_SASL_PASSWORD": "s3cret-pass",
    }
    result = _run("config", "show", env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["kafka_sasl_username"] == "engage"
    assert "s3cret-pass" not in result.stdout


def test_schemas_export_check_passes_on_the_repo_and_fails_on_stale_files(tmp_path: Path) -> None:
    assert runner.invoke(app, ["schemas", "export", "--check"]).exit_code == 0
    assert runner.invoke(app, ["schemas", "export", "--out", str(tmp_path)]).exit_code == 0
    (tmp_path / "dlq-record.schema.json").write_text("{}")
    result = runner.invoke(app, ["schemas", "export", "--check", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "stale: " in result.output
    assert "dlq-record.schema.json" in result.output


def test_schemas_validate_names_each_bad_field_per_line(tmp_path: Path) -> None:
    good = json.loads((PROJECT_ROOT / "schemas/examples/crm-event/chat-message.json").read_text())
    bad = {**good, "source": "fax", "occurred_at": "yesterday"}
    lines = tmp_path / "events.jsonl"
    lines.write_text(f"{json.dumps(good)}\n{json.dumps(bad)}\nnot json\n")
    result = runner.invoke(app, ["schemas", "validate", "crm-event", str(lines)])
    assert result.exit_code == 1
    out = result.output.splitlines()
    assert out[0] == "1: ok"
    assert out[1].startswith("2: schema_violation: ")
    assert "occurred_at: Input should be a valid datetime" in out[1]
    assert "source: Input should be 'kakao', 'web', 'app', 'email' or 'crm'" in out[1]
    assert out[2].startswith("3: invalid_json: not JSON")


def test_schemas_validate_reports_deeply_nested_json_without_a_traceback(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_bytes(b'{"a":' * 40_000 + b"1" + b"}" * 40_000)  # within the size limit
    result = runner.invoke(app, ["schemas", "validate", "crm-event", str(deep)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith("1: invalid_json: ")
    assert "Traceback" not in result.output


def test_topics_create_is_idempotent_and_reports_what_it_found(broker: BrokerProcess) -> None:
    names = [
        "crm.events",
        "crm.customers",
        "engage.scored",
        "engage.profiles",
        "engage.enriched",
        "engage.actions.handoff",
        "engage.actions.email",
        "engage.suppressions",
        "engage.dlq",
    ]
    first = _run("topics", "create", "--bootstrap", broker.bootstrap)
    second = _run("topics", "create", "--bootstrap", broker.bootstrap)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    # The shared broker may already hold these from another test: created or exists, never both.
    first_status = dict(line.split("\t")[1::-1] for line in first.stdout.splitlines())
    assert set(first_status) == set(names)
    assert set(first_status.values()) <= {"created", "exists"}
    assert [line.split("\t")[:2] for line in second.stdout.splitlines()] == [
        ["exists", name] for name in names
    ]


def test_topics_create_against_nothing_fails_with_the_bootstrap_named() -> None:
    result = _run("topics", "create", "--bootstrap", "127.0.0.1:1", timeout=180)
    assert result.returncode == 1
    assert "127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("impl", ["tansu", "kafka"])
def test_broker_command_serves_until_sigterm(impl: str, tmp_path: Path) -> None:
    if impl == "kafka":
        require_apache_kafka()
    args = [*EXE, "broker", "--impl", impl, "--port", "0", "--create-topics"]
    if impl == "kafka":
        args += ["--data-dir", str(tmp_path / "data")]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        bootstrap = proc.stdout.readline().strip()
        if not bootstrap:
            pytest.fail(f"broker command printed no bootstrap: {proc.stderr.read()[-3000:]}")
        host, port = bootstrap.split(":")
        assert broker_count(host, int(port)) == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with pytest.raises(ConnectionRefusedError):
        broker_count(host, int(port), timeout=1.0)
    assert "crm.events" in proc.stderr.read()
    if impl == "kafka":
        assert (tmp_path / "data" / "data" / "meta.properties").exists(), "--data-dir is kept"


def test_demo_runs_the_main_job_end_to_end() -> None:
    result = _run("demo", "--events", "300", "--customers", "20", "--rate", "200", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "worker ready" in out
    assert "what the worker wrote" in out
    written = dict(
        line.strip("│ ").split("│")[0:2]
        for line in out.splitlines()
        if line.startswith("│ engage.")
    )
    counts = {name.strip(): int(n.strip().replace(",", "")) for name, n in written.items()}
    assert counts["engage.enriched"] == 300
    assert counts["engage.dlq"] == 4
    assert counts["engage.actions.handoff"] > 0
    assert "a handoff to a person" in out
    assert "a dead letter" in out
