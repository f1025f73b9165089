"""`engage-stream replay`: a range of an event topic through a chosen model and policy."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from engage_stream.cli.consume import resolve_topic
from engage_stream.cli.startup import config_error, kafka_connection, startup, topics_of
from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.core.processor import EngagementCore
from engage_stream.kafka.topics import TopicRole
from engage_stream.policy.policy_file import PolicyError, load_policy
from engage_stream.replay import checkpoint as checkpoints
from engage_stream.replay.ranges import RangeError, RangeSpec, parse_offsets
from engage_stream.replay.runner import ReplayProgress, ReplayRunner, plan
from engage_stream.replay.sinks import DirectorySink, ShadowTopics, Sink, check_run_id
from engage_stream.serving.models import StartupError, load_models

RUNS = PROJECT_ROOT / "runs"


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        config_error([f"{option}: {value!r} is not an ISO time such as 2026-11-26T09:00+09:00"])
    if moment.tzinfo is None:
        config_error([f"{option}: {value!r} has no UTC offset (add +09:00 for KST)"])
    return moment


def replay(
    run_id: Annotated[str, typer.Option("--run-id", help="Names the run's folder and topics.")],
    start: Annotated[
        str | None, typer.Option("--from", help="Start time (ISO, with offset).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="End time, exclusive.")] = None,
    from_offsets: Annotated[
        str | None, typer.Option(help="Start offsets, PARTITION:OFFSET,...")
    ] = None,
    to_offsets: Annotated[str | None, typer.Option(help="End offsets (exclusive).")] = None,
    topic: Annotated[str, typer.Option(help="Events topic: a role or a name.")] = "events",
    model_dir: Annotated[
        Path | None, typer.Option(help="Model folders (default ENGAGE_MODEL_DIR).")
    ] = None,
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="Policy file (default ENGAGE_POLICY_FILE).")
    ] = None,
    precision: Annotated[
        str, typer.Option(help="fp32 (default: reproduces a live run exactly), int8 or fp16.")
    ] = "fp32",
    sink: Annotated[str, typer.Option(help="files (run folder) or shadow (topics).")] = "files",
    runs_dir: Annotated[Path, typer.Option(help="Where run folders live.")] = RUNS,
    speed: Annotated[
        float | None, typer.Option(help="N x real time (default: as fast as possible).")
    ] = None,
    warm_up: Annotated[
        str,
        typer.Option(
            help="State before the range: all (from the topic start, as the live run had it), "
            "none, or HOURS before the start time."
        ),
    ] = "all",
    batch_size: Annotated[int, typer.Option(help="Events scored per model call.")] = 256,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run.")] = False,
    advance_to: Annotated[
        str,
        typer.Option(
            help="Once the range is read, release the held offers due by: end (the latest "
            "record timestamp read, as an idle live partition would), none, or an ISO time."
        ),
    ] = "end",
    bootstrap: Annotated[str | None, typer.Option(help="host:port list.")] = None,
) -> None:
    """Re-run a range of events with a chosen model and policy; outputs never reach live topics."""
    settings = startup(kafka_bootstrap=bootstrap)
    topics = topics_of(settings)
    try:
        check_run_id(run_id)
        spec = RangeSpec(
            start_time=_time(start, "--from"),
            end_time=_time(end, "--to"),
            start_offsets=parse_offsets(from_offsets) if from_offsets else None,
            end_offsets=parse_offsets(to_offsets) if to_offsets else None,
        )
    except (ValueError, RangeError) as exc:
        config_error([str(exc)])
    if sink not in {"files", "shadow"}:
        config_error([f"--sink: {sink!r} is not files or shadow"])
    if precision not in {"fp32", "int8", "fp16"}:
        config_error([f"--precision: {precision!r} is not fp32, int8 or fp16"])
    warm = _warm_up(warm_up, spec)
    advance: datetime | Literal["end"] | None = (
        "end"
        if advance_to == "end"
        else None
        if advance_to == "none"
        else _time(advance_to, "--advance-to")
    )
    run_dir = runs_dir / run_id
    saved = checkpoints.load(run_dir) if run_dir.is_dir() else None
    if run_dir.exists() and not resume:
        config_error([f"--run-id: {run_dir} exists; add --resume to continue it, or pick a new id"])
    if resume and saved is None:
        config_error([f"--resume: no checkpoint in {run_dir}"])
    if saved is not None and saved.done:
        typer.echo(f"run {run_id} is already complete ({run_dir})")
        return
    run_dir.mkdir(parents=True, exist_ok=True)

    chosen = settings.model_copy(
        update={"model_dir": model_dir or settings.model_dir, "batch_max_size": batch_size}
    )
    policy_path = policy_file or settings.policy_file
    try:
        policy = load_policy(policy_path)
        scorer, drafter = load_models(chosen, policy, precision)  # type: ignore[arg-type]
    except (PolicyError, StartupError) as exc:
        if not resume:
            shutil.rmtree(run_dir, ignore_errors=True)
        config_error(exc.problems if isinstance(exc, StartupError) else [str(exc)])
    connection = kafka_connection(settings)
    events_topic = resolve_topic(topics, topic)
    customers = topics.name(TopicRole.CUSTOMERS) if topic in {"events", events_topic} else None
    console = Console(stderr=True)
    try:
        work = plan(connection, events_topic, customers, spec, warm)
    except RangeError as exc:
        config_error([str(exc)])
    output: Sink = (
        DirectorySink(run_dir) if sink == "files" else ShadowTopics(connection, topics, run_id)
    )
    core = EngagementCore(policy, drafter, run_id=run_id)
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "source_topic": events_topic,
        "customers_topic": customers,
        "ranges": {str(p): [r.start, r.end] for p, r in work.ranges.items()},
        "warm_up_from": {str(p): o for p, o in work.warm_up_from.items()},
        "models": [s.model_dump() for s in [*scorer.stamps, *drafter.stamps]],
        "precision": precision,
        "policy_file": str(policy_path),
        "policy_version": policy.version,
        "sink": sink if sink == "files" else f"shadow:{topics.shadow_prefix}.{run_id}.*",
        "speed": speed,
        "advance_to": advance_to,
        "started_at": datetime.now(UTC).isoformat(),
    }
    checkpoints.write_manifest(run_dir, manifest)
    with _bar(console) as bar:
        task = bar.add_task("warming up", total=work.total)

        def show(state: ReplayProgress) -> None:
            at = state.latest_event_time
            label = "warming up" if state.warming_up else "replaying"
            where = f" · at {at.isoformat(timespec='seconds')}" if at else ""
            bar.update(task, completed=state.in_range, description=f"{label}{where}")

        runner = ReplayRunner(
            connection,
            work,
            scorer,
            core,
            output,
            run_dir,
            run_id=run_id,
            batch_size=batch_size,
            speed=speed,
            progress=show,
            mask_text=settings.store_masked_text,
            partitions=topics.topics[TopicRole.SCORED].partitions,
            advance_to=advance,
        )
        started = time.monotonic()
        try:
            counts = runner.run(resume=saved)
        except KeyboardInterrupt:
            # No checkpoint here: the last one is consistent, and resuming cuts the outputs
            # back to it, whatever record the interrupt fell in.
            output.close()
            console.print(
                f"[yellow]interrupted[/yellow]: resume with --run-id {run_id} --resume "
                f"(from the last checkpoint, {runner.checkpoints} so far)"
            )
            raise typer.Exit(130) from None
        finally:
            scorer.close()
            drafter.close()
    output.close()
    seconds = time.monotonic() - started
    manifest.update(
        finished_at=datetime.now(UTC).isoformat(),
        seconds=round(seconds, 2),
        events=runner.state.in_range,
        events_per_s=round(runner.state.in_range / seconds, 1) if seconds else None,
        counts=vars(counts),
    )
    checkpoints.write_manifest(run_dir, manifest)
    typer.echo(
        f"run {run_id}: {runner.state.in_range} events in {seconds:.1f} s "
        f"({manifest['events_per_s']} events/s); {counts.handoffs} handoffs, "
        f"{counts.messages} messages, {counts.suppressions} suppressions, {counts.dlq} DLQ; "
        f"outputs in {run_dir if sink == 'files' else manifest['sink']}"
    )


def _warm_up(value: str, spec: RangeSpec) -> RangeSpec | None:
    if value == "all":
        return None
    if value == "none":
        return RangeSpec(start_time=spec.start_time, start_offsets=spec.start_offsets)
    try:
        hours = float(value)
    except ValueError:
        config_error([f"--warm-up: {value!r} is not all, none or a number of hours"])
    if spec.start_time is None:
        config_error(["--warm-up HOURS needs --from TIME"])
    return RangeSpec(start_time=spec.start_time - timedelta(hours=hours))


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "", style="cyan")
