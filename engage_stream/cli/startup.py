"""What every command does first: load and validate settings, then set up logging."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer

from engage_stream.config.settings import Settings, SettingsError, load_settings
from engage_stream.kafka.clients import KafkaAccessError, check_connection, connection_config
from engage_stream.kafka.topics import TopicsFile, TopicsFileError, load_topics
from engage_stream.observability.logs import configure_logging

CONFIG_EXIT_CODE = 2


def config_error(problems: list[str]) -> NoReturn:
    """Stop at start with a message naming each bad setting; no traceback, exit code 2."""
    typer.echo("engage-stream: invalid configuration", err=True)
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    typer.echo("Fix the setting(s) above and start again.", err=True)
    raise typer.Exit(CONFIG_EXIT_CODE)


def startup(**overrides: object) -> Settings:
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        config_error(exc.problems)
    configure_logging(settings.log_level, json=settings.json_logs, stream=sys.stderr)
    return settings


def kafka_connection(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """kafka-python arguments for the settings, after one connection that stops the command
    (exit 1) saying why a secured broker turned it away (`kafka.clients.check_connection`)."""
    connection = connection_config(settings, bootstrap)
    try:
        check_connection(connection)
    except KafkaAccessError as exc:
        typer.echo(f"engage-stream: {exc}", err=True)
        raise typer.Exit(1) from None
    return connection


def topics_of(settings: Settings) -> TopicsFile:
    try:
        return load_topics(settings.topics_file)
    except TopicsFileError as exc:
        config_error([f"ENGAGE_TOPICS_FILE: {exc}"])
