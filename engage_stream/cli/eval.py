"""`engage-stream eval`: a run against labels and against a baseline run; JSON + HTML report.

A run SPEC is a run directory written by replay, `live` (the live topics of the topics
file) or `shadow:<run_id>` (the shadow topics a replay wrote). `live` and `shadow:` read
the topics to their end with no consumer group. Bad input (a missing directory, an unknown
run id, empty topics, a labels file with a bad line) stops with one line on stderr and exit
code 2; a broker that cannot be reached, with exit code 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from engage_stream.cli.consume import Bootstrap, quiet_kafka_logs
from engage_stream.cli.startup import kafka_connection, startup, topics_of
from engage_stream.config.settings import Settings
from engage_stream.evaluation.evaluate import Evaluation, RunEvaluation, evaluate
from engage_stream.evaluation.experiments import ExperimentResult
from engage_stream.evaluation.labels import (
    Labels,
    LabelsError,
    load_labels_file,
    load_labels_topic,
)
from engage_stream.evaluation.report import headline_rates, write_report
from engage_stream.evaluation.runs import (
    KafkaUnavailableError,
    Run,
    RunLoadError,
    load_run_dir,
    load_run_topics,
    topic_names,
)
from engage_stream.inference.heads import labels_of
from engage_stream.inference.model_folder import ModelFolderError

BAD_INPUT_EXIT_CODE = 2
CONNECT_TIMEOUT_MS = 10_000
SHADOW = "shadow:"
TOPIC = "topic:"
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_LABEL_FILE_SUFFIXES = {".json", ".jsonl", ".ndjson", ".txt"}


def _stop(message: str, code: int = BAD_INPUT_EXIT_CODE) -> NoReturn:
    typer.echo(f"engage-stream eval: {message}", err=True)
    raise typer.Exit(code)


@dataclass(frozen=True, slots=True)
class RunSpec:
    """Where a run comes from: `directory`, or the topics (`shadow_run_id` None: live)."""

    text: str
    directory: Path | None = None
    shadow_run_id: str | None = None

    @property
    def on_kafka(self) -> bool:
        return self.directory is None


def parse_run_spec(text: str, option: str) -> RunSpec:
    if text == "live":
        return RunSpec(text)
    if text.startswith(SHADOW):
        run_id = text[len(SHADOW) :]
        if not _NAME.match(run_id):
            _stop(f"{option} {text!r}: a run id is 1-249 of the characters A-Z a-z 0-9 . _ -")
        return RunSpec(text, shadow_run_id=run_id)
    return RunSpec(text, directory=Path(text))


class _Kafka:
    """Settings, topics and connection, made on first use (a directory run needs none)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._connection: dict[str, Any] | None = None

    @property
    def connection(self) -> dict[str, Any]:
        if self._connection is None:
            self._connection = {
                **kafka_connection(self.settings),
                "bootstrap_timeout_ms": CONNECT_TIMEOUT_MS,
            }
        return self._connection


def _load_run(spec: RunSpec, kafka: _Kafka) -> Run:
    if spec.directory is not None:
        return load_run_dir(spec.directory)
    topics = topics_of(kafka.settings)
    try:
        with quiet_kafka_logs():
            return load_run_topics(topics, kafka.connection, spec.shadow_run_id)
    except RunLoadError as exc:
        if Path(spec.text).is_dir():  # `live`, and a folder of that name is here too
            raise type(exc)(
                f"{exc} ({spec.text!r} means the topics; write ./{spec.text} for the folder)"
            ) from None
        raise


def _load_labels(text: str, kafka: _Kafka) -> Labels:
    if text.startswith(TOPIC):
        with quiet_kafka_logs():
            return load_labels_topic(kafka.connection, text[len(TOPIC) :])
    path = Path(text)
    looks_like_file = (
        path.exists() or "/" in text or "\\" in text or path.suffix in _LABEL_FILE_SUFFIXES
    )
    if looks_like_file or not _NAME.match(text):
        return load_labels_file(path)
    with quiet_kafka_logs():
        if text not in topic_names(kafka.connection):
            raise LabelsError(
                f"--labels {text}: no such file, and no topic of that name on "
                f"{kafka.settings.kafka_bootstrap}"
            )
        return load_labels_topic(kafka.connection, text)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"


def eval_command(
    run: Annotated[
        str,
        typer.Option(
            "--run",
            metavar="SPEC",
            help="The run to evaluate: a run directory, `live`, or `shadow:<run_id>`.",
        ),
    ],
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            metavar="SPEC",
            help="A run to compare with (same forms as --run), e.g. `live`.",
        ),
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            metavar="FILE_OR_TOPIC",
            help="Labels: a JSON-lines file, or a topic (`topic:<name>`, or a bare name).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory for eval.json and report.html; default eval-<run>."),
    ] = None,
    examples: Annotated[
        int, typer.Option("--examples", min=0, help="Examples shown per kind of flip.")
    ] = 5,
    bootstrap: Bootstrap = None,
) -> None:
    """Compare a run with labels and with another run; write eval.json and report.html."""
    run_spec = parse_run_spec(run, "--run")
    baseline_spec = parse_run_spec(baseline, "--baseline") if baseline is not None else None
    settings = startup(kafka_bootstrap=bootstrap)
    kafka = _Kafka(settings)
    try:
        candidate = _load_run(run_spec, kafka)
        reference = _load_run(baseline_spec, kafka) if baseline_spec is not None else None
        truth = _load_labels(labels, kafka) if labels is not None else None
    except KafkaUnavailableError as exc:
        _stop(str(exc), code=1)
    except (RunLoadError, LabelsError) as exc:
        _stop(str(exc))
    known = _known_labels(settings)
    if truth is not None:
        for role, names in known.items():
            unknown = truth.unknown(role, names)
            if unknown:
                _stop(
                    f"--labels {labels}: {role} labels {unknown} are not labels of the {role} "
                    f"head ({settings.model_bindings()[role]}: {', '.join(names)})"
                )
    evaluation = evaluate(candidate, reference, truth, examples=examples, known=known)
    out_dir = out or Path(f"eval-{_safe(candidate.run_id)}")
    try:
        paths = write_report(evaluation, out_dir)
    except OSError as exc:
        _stop(f"cannot write the report to {out_dir}: {exc.strerror or exc}", code=1)
    print_summary(evaluation, Console())
    typer.echo(f"wrote {paths.json}")
    typer.echo(f"wrote {paths.html}")


def _known_labels(settings: Settings) -> dict[str, tuple[str, ...]]:
    """The label names of the heads the registry names (none when they cannot be read:
    labels are then not checked, and confusion matrices order labels alphabetically)."""
    try:
        return labels_of(settings.model_bindings())
    except ModelFolderError:
        return {}


# -- the summary on the terminal ------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _runs(evaluation: Evaluation) -> list[tuple[str, RunEvaluation]]:
    runs = [(f"run {evaluation.run.summary.run_id}", evaluation.run)]
    if evaluation.baseline is not None:
        runs.append((f"baseline {evaluation.baseline.summary.run_id}", evaluation.baseline))
    return runs


def _arms(experiment: ExperimentResult) -> str:
    """`control 2.0% of 1,000 · short 3.1% of 1,020, lift +1.1 pt (-0.3 to +2.5)`"""
    shown = []
    for arm in experiment.arms:
        text = f"{arm.arm} {_pct(arm.rate)} of {arm.customers:,}"
        if arm.lift is not None and arm.lift_interval is not None:
            low, high = arm.lift_interval.low, arm.lift_interval.high
            text += f", lift {100 * arm.lift:+.1f} pt ({100 * low:+.1f} to {100 * high:+.1f})"
        shown.append(text)
    return " · ".join(shown)


def print_summary(evaluation: Evaluation, console: Console) -> None:
    runs = _runs(evaluation)
    for name, result in runs:
        s = result.summary
        console.print(
            f"[bold]{name}[/bold] ({s.kind}, {s.source}): {s.events:,} events, "
            f"{s.duplicate_records:,} duplicates, {s.redelivered_records:,} redelivered",
            highlight=False,
        )
    if evaluation.labels is not None:
        lab = evaluation.labels
        console.print(f"labels: {lab.labels:,} from {lab.source}, {lab.in_run:,} in the run")
    if evaluation.run.classification is not None:
        table = Table(title="against labels", title_justify="left")
        for column in ("", "run", "n", "accuracy", "macro-F1"):
            table.add_column(column, justify="left" if column in {"", "run"} else "right")
        for model in evaluation.run.classification:
            for name, result in runs:
                c = result.classification[model] if result.classification else None
                if c is not None:
                    f1 = "–" if c.macro_f1 is None else f"{c.macro_f1:.3f}"
                    table.add_row(model, name, f"{c.n:,}", _pct(c.accuracy), f1)
        for name, result in runs:
            d = result.drafts
            if d.judged:
                table.add_row(
                    "answers",
                    name,
                    f"{d.judged:,}",
                    f"hit@1 {_pct(d.hit_at_1)}",
                    f"hit@3 {_pct(d.hit_at_3)}",
                )
        for name, result in runs:
            h = result.handoff
            if h is not None and h.n:
                table.add_row(
                    "handoff",
                    name,
                    f"{h.n:,}",
                    f"P {_pct(h.precision)} R {_pct(h.recall)}",
                    f"F1 {h.f1 or 0:.3f}",
                )
        console.print(table)
    rates = Table(title="per 1,000 events", title_justify="left")
    rates.add_column("")
    for name, _ in runs:
        rates.add_column(name, justify="right")
    for label, key in (
        ("handoffs", "handoffs"),
        ("messages", "next_best_actions"),
        ("suppressions", "suppressions"),
        ("duplicates", "duplicates"),
    ):
        rates.add_row(label, *[f"{headline_rates(r.rates)[key].per_1000:,.1f}" for _, r in runs])
    rates.add_row(
        "dead letters",
        *["–" if r.rates.dlq is None else f"{r.rates.dlq.per_1000:,.1f}" for _, r in runs],
    )
    console.print(rates)
    comparison = evaluation.comparison
    if comparison is not None:
        counted = [f"{k} {s.count:,}" for k, s in comparison.flips.items() if s.count]
        agreement = ", ".join(
            f"{model} {_pct(a.rate)}" for model, a in comparison.agreement.items()
        )
        console.print(
            f"shared events {comparison.shared:,} (only in run {comparison.only_in_run:,}, "
            f"only in baseline {comparison.only_in_baseline:,}); agreement: {agreement}",
            highlight=False,
        )
        console.print(
            f"flips: {comparison.events_with_flips:,} events"
            + (f": {', '.join(counted)}" if counted else ""),
            highlight=False,
        )
    for name, result in runs:
        for experiment in result.experiments:
            console.print(
                f"experiment {experiment.experiment} ({name}): {_arms(experiment)}", highlight=False
            )
    for name, result in runs:
        lat = result.latency
        if lat.end_to_end and lat.n:
            console.print(
                f"latency {name}: p50 {lat.p50_ms:,.0f} ms, p95 {lat.p95_ms:,.0f} ms, "
                f"p99 {lat.p99_ms:,.0f} ms, max {lat.max_ms:,.0f} ms",
                highlight=False,
            )
        elif not lat.end_to_end and lat.events_per_s is not None:
            console.print(
                f"throughput {name} (replay, not an end-to-end latency): "
                f"{lat.events_per_s:,.0f} events/s",
                highlight=False,
            )
