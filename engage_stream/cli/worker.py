"""`engage-stream worker`: the live pipeline (a Faust worker) until stopped."""

from __future__ import annotations

from typing import Annotated

import typer

from engage_stream.cli.startup import config_error, kafka_connection, startup
from engage_stream.serving.models import StartupError
from engage_stream.worker.runtime import Runtime


def worker(
    bootstrap: Annotated[
        str | None, typer.Option("--bootstrap", help="host:port list; overrides settings.")
    ] = None,
    web_port: Annotated[
        int | None, typer.Option("--web-port", help="Metrics and health port.")
    ] = None,
) -> None:
    """Consume crm.events and crm.customers, publish enriched records, actions, suppressions."""
    settings = startup(kafka_bootstrap=bootstrap, web_port=web_port)
    try:
        runtime = Runtime.load(settings)
    except StartupError as exc:
        config_error(exc.problems)
    try:
        kafka_connection(settings)  # a wrong password or certificate stops it here, saying which
        runtime.check_cluster()
    except StartupError as exc:
        runtime.close()
        config_error(exc.problems)
    run_worker(runtime)


def run_worker(runtime: Runtime) -> None:
    """Run until SIGTERM/SIGINT; Faust commits what was processed and leaves the group.
    SIGUSR1 logs every task's stack (Faust's), SIGUSR2 each partition's `consumer_state`."""
    from faust.worker import Worker

    from engage_stream.worker.app import WorkerApp
    from engage_stream.worker.loop import use_event_loop

    settings = runtime.settings
    use_event_loop(settings.event_loop)
    shell = WorkerApp(runtime)

    class _Worker(Worker):
        def _on_sigusr2(self) -> None:
            # mode opens a debugger here, which would stop a worker at a prompt in production.
            shell.log_consumer_state()

    try:
        _Worker(
            shell.app,
            loglevel=settings.log_level.lower(),
            override_logging=False,
            redirect_stdouts=False,
            quiet=True,
        ).execute_from_commandline()
    finally:
        runtime.close()
