"""Settings come from ENGAGE_* or a YAML file; a bad one is named at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from engage_stream.config.settings import Settings, SettingsError, load_settings
from engage_stream.kafka.clients import connection_config


def _problems(**env: str) -> list[str]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with pytest.raises(SettingsError) as excinfo:
            load_settings()
    return excinfo.value.problems


def test_defaults_are_valid_and_point_at_the_shipped_files() -> None:
    settings = load_settings()
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.topics_file.name == "topics.yaml"
    assert settings.device == "auto"
    assert not settings.json_logs


def test_environment_variables_with_the_prefix_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGAGE_KAFKA_BOOTSTRAP", "kafka-1:9092, kafka-2:9092")
    monkeypatch.setenv("ENGAGE_BATCH_MAX_SIZE", "64")
    monkeypatch.setenv("ENGAGE_ENV", "production")
    settings = load_settings()
    assert settings.kafka_bootstrap == "kafka-1:9092,kafka-2:9092"
    assert settings.batch_max_size == 64
    assert settings.json_logs


def test_a_bad_value_is_named_by_its_variable() -> None:
    assert _problems(ENGAGE_BATCH_MAX_SIZE="lots") == [
        "ENGAGE_BATCH_MAX_SIZE: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]
    assert _problems(ENGAGE_DEVICE="tpu") == [
        "ENGAGE_DEVICE: Input should be 'auto', 'cpu' or 'cuda'"
    ]
    assert _problems(ENGAGE_KAFKA_BOOTSTRAP="kafka-1") == [
        "ENGAGE_KAFKA_BOOTSTRAP: 'kafka-1' is not host:port"
    ]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems(ENGAGE_BATCH_MAX_SIZE="0", ENGAGE_WEB_PORT="70000")
    assert [p.split(":")[0] for p in problems] == ["ENGAGE_BATCH_MAX_SIZE", "ENGAGE_WEB_PORT"]


def test_a_misspelt_variable_is_caught_with_a_suggestion() -> None:
    assert _problems(ENGAGE_KAFKA_BOOTSTRAPS="x:1") == [
        "ENGAGE_KAFKA_BOOTSTRAPS: not a setting; did you mean ENGAGE_KAFKA_BOOTSTRAP?"
    ]


def test_sasl_needs_a_mechanism_and_credentials() -> None:
    (problem,) = _problems(ENGAGE_KAFKA_SECURITY_PROTOCOL="SASL_SSL")
    assert "ENGAGE_KAFKA_SASL_MECHANISM is required with SASL_SSL" in problem
    (problem,) = _problems(
        ENGAGE_KAFKA_SECURITY_PROTOCOL="SASL_SSL", ENGAGE_KAFKA_SASL_MECHANISM="SCRAM-SHA-512"
    )
    assert "ENGAGE_KAFKA_SASL_USERNAME and ENGAGE_KAFKA_SASL_PASSWORD are required" in problem


def test_sasl_and_tls_reach_the_kafka_clients(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("ENGAGE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ENGAGE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("ENGAGE_KAFKA_SASL_USERNAME", "engage")
    monkeypatch.setenv("ENGAGE_KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("ENGAGE_KAFKA_SSL_CAFILE", str(ca))
    config = connection_config(load_settings())
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "engage"
    assert config["sasl_plain_password"] == "s3cret"
    assert config["ssl_cafile"] == str(ca)
    assert "s3cret" not in repr(load_settings())


def test_a_missing_tls_file_is_named() -> None:
    assert _problems(ENGAGE_KAFKA_SSL_CAFILE="/nowhere/ca.pem") == [
        "ENGAGE_KAFKA_SSL_CAFILE: file /nowhere/ca.pem does not exist"
    ]


def test_a_config_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "engage.yaml"
    config.write_text("kafka_bootstrap: kafka:9092\nbatch_max_size: 16\nlog_format: json\n")
    monkeypatch.setenv("ENGAGE_CONFIG_FILE", str(config))
    monkeypatch.setenv("ENGAGE_BATCH_MAX_SIZE", "8")
    settings = load_settings()
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.batch_max_size == 8
    assert settings.json_logs


def test_a_bad_value_in_the_config_file_names_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "engage.yaml"
    config.write_text("batch_max_wait_ms: -3\nbogus: 1\n")
    monkeypatch.setenv("ENGAGE_CONFIG_FILE", str(config))
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    assert excinfo.value.problems == [
        f"ENGAGE_BATCH_MAX_WAIT_MS (batch_max_wait_ms in {config}): "
        "Input should be greater than or equal to 0",
        f"ENGAGE_BOGUS (bogus in {config}): Extra inputs are not permitted",
    ]


def test_a_missing_config_file_is_named() -> None:
    assert _problems(ENGAGE_CONFIG_FILE="/nowhere/engage.yaml") == [
        "ENGAGE_CONFIG_FILE: file /nowhere/engage.yaml does not exist"
    ]


def test_settings_are_immutable_once_loaded() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.batch_max_size = 3  # type: ignore[misc]
