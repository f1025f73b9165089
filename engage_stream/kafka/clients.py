"""Connection settings for kafka-python clients, from `Settings` (SASL and TLS included)."""

from __future__ import annotations

from typing import Any

from engage_stream.config.settings import Settings


def connection_config(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """kafka-python keyword arguments shared by producers, consumers and the admin client."""
    config: dict[str, Any] = {
        "bootstrap_servers": (bootstrap or settings.kafka_bootstrap).split(","),
        "client_id": settings.kafka_client_id,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism is not None:
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            config["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_security_protocol in {"SSL", "SASL_SSL"}:
        config["ssl_check_hostname"] = True
        for option in ("cafile", "certfile", "keyfile"):
            value = getattr(settings, f"kafka_ssl_{option}")
            if value is not None:
                config[f"ssl_{option}"] = str(value)
    return config
