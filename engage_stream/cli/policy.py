"""`engage-stream policy check`: validate a policy file before a worker is pointed at it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engage_stream.cli.startup import config_error, startup
from engage_stream.inference.heads import labels_of
from engage_stream.inference.model_folder import ModelFolderError
from engage_stream.policy.policy_file import PolicyError, label_problems, load_policy

app = typer.Typer(help="The decision policy file.", no_args_is_help=True)


@app.command("check")
def check(
    path: Annotated[
        Path | None, typer.Argument(help="Policy file (default: ENGAGE_POLICY_FILE).")
    ] = None,
) -> None:
    """Validate the file the way the worker does at start (its label names against the
    manifests of the models the registry names), and summarise it."""
    settings = startup()
    target = path or settings.policy_file
    try:
        policy = load_policy(target)
    except PolicyError as exc:
        config_error([str(exc)])
    try:
        labels = labels_of(settings.model_bindings())
    except ModelFolderError as exc:
        config_error([f"ENGAGE_MODEL_INTENT / _TOXICITY / _TOPIC: {exc}"])
    problems = label_problems(policy, labels, "the registry's models")
    if problems:
        config_error([f"{target}: {problem}" for problem in problems])
    rules = policy.outbound.rules
    enabled = [name for name, rule in rules if getattr(rule, "enabled", False)]
    typer.echo(f"{target}: valid, version {policy.version}, time zone {policy.timezone}")
    typer.echo(
        f"  handoff: {len(policy.handoff.human_request_patterns)} person-request patterns, "
        f"queues {', '.join(q.queue for q in policy.handoff.queues)}"
    )
    typer.echo(f"  next-best-action rules on: {', '.join(enabled) or 'none'}")
    caps = ", ".join(
        f"{c.max_messages} per {c.window_hours:g} h" for c in policy.outbound.frequency_caps
    )
    typer.echo(f"  advertising caps: {caps or 'none'}")
