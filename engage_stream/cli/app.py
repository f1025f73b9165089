"""The `engage-stream` command: one entry point, a sub-command per job."""

from __future__ import annotations

import typer

from engage_stream import __version__
from engage_stream.cli import bank, bench, config, policy, schemas, topics
from engage_stream.cli.broker import broker
from engage_stream.cli.classify import classify
from engage_stream.cli.consume import consume
from engage_stream.cli.demo import demo
from engage_stream.cli.draft import draft
from engage_stream.cli.eval import eval_command
from engage_stream.cli.export import export
from engage_stream.cli.produce import produce
from engage_stream.cli.replay import replay
from engage_stream.cli.train import pretrain, train
from engage_stream.cli.worker import worker

app = typer.Typer(
    name="engage-stream",
    help="Real-time customer engagement for Korean-language CRM on Kafka.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("broker")(broker)
app.command("demo")(demo)
app.command("produce")(produce)
app.command("consume")(consume)
app.command("classify")(classify)
app.command("worker")(worker)
app.command("replay")(replay)
app.command("draft")(draft)
app.command("export")(export)
app.command("pretrain")(pretrain)
app.command("train")(train)
app.command("eval")(eval_command)
app.add_typer(topics.app, name="topics")
app.add_typer(schemas.app, name="schemas")
app.add_typer(config.app, name="config")
app.add_typer(policy.app, name="policy")
app.add_typer(bench.app, name="bench")
app.add_typer(bank.app, name="bank")


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Settings come from ENGAGE_* variables or the YAML file named by ENGAGE_CONFIG_FILE."""


def main() -> None:
    app()
