"""What every command does first: load and validate settings, then set up logging."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from engage_stream.config.settings import Settings, SettingsError, load_settings
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


def topics_of(settings: Settings) -> TopicsFile:
    try:
        return load_topics(settings.topics_file)
    except TopicsFileError as exc:
        config_error([f"ENGAGE_TOPICS_FILE: {exc}"])
