"""`engage-stream bench`: measured numbers, written into benchmarks/ with machine and date."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from engage_stream.bench.machine import describe
from engage_stream.cli.corpora import DataDir, load_or_exit
from engage_stream.cli.startup import config_error, startup
from engage_stream.config.settings import PROJECT_ROOT

app = typer.Typer(help="Benchmarks whose results are written into the repo.", no_args_is_help=True)

RESULTS = PROJECT_ROOT / "benchmarks"

Result = TypeVar("Result")


def _save(
    out: Path,
    stem: str,
    result: Result,
    as_json: Callable[[Result, dict[str, object]], str],
    markdown: Callable[[Result, dict[str, object]], str],
) -> str:
    """`<stem>.json` and `<stem>.md` in `out`, stamped with the machine and its load now;
    the Markdown table, to print."""
    machine = {**describe(), "load_average_1m": round(os.getloadavg()[0], 2)}
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(as_json(result, machine) + "\n")
    table = markdown(result, machine)
    (out / f"{stem}.md").write_text(table)
    return table


@app.command("models")
def models(
    name: Annotated[
        str, typer.Option("--model", help="Model folder name under ENGAGE_MODEL_DIR.")
    ] = "intent-ko",
    hf_dir: Annotated[
        Path | None,
        typer.Option(
            help="HF checkpoint of the same weights for PyTorch eager (default: rebuilt "
            "from the model folder's fp32 ONNX file and checked against it)."
        ),
    ] = None,
    messages: Annotated[int, typer.Option(help="Real 3i4K messages to run.")] = 1_024,
    batch_sizes: Annotated[str, typer.Option(help="Comma-separated batch sizes.")] = "1,8,32,128",
    min_seconds: Annotated[float, typer.Option(help="Time each cell at least this long.")] = 3.0,
    out: Annotated[Path, typer.Option(help="Folder for the JSON and Markdown results.")] = RESULTS,
) -> None:
    """ONNX int8 vs ONNX fp32 vs PyTorch eager, same weights, same messages, one run."""
    from engage_stream.bench.models import (
        bench_classifier,
        bench_heads,
        chat_messages,
        heads_markdown,
        markdown,
        onnx_accuracy,
    )
    from engage_stream.inference.model_folder import load_model_folder
    from engage_stream.training.recipes import RECIPES
    from engage_stream.training.splits import split

    settings = startup()
    model_dir = settings.model_dir / name
    console = Console(stderr=True)
    sizes = [int(s) for s in batch_sizes.split(",")]
    texts = chat_messages(messages)
    if load_model_folder(model_dir).task == "multi-head":
        singles = [settings.model_dir / "intent-ko", settings.model_dir / "toxicity-ko"]
        topic_dir = settings.model_path(settings.model_topic)
        beside = topic_dir if topic_dir.resolve() != model_dir.resolve() else None
        with console.status(f"one pass of {name} against two single-head passes ..."):
            rows = bench_heads(model_dir, singles, texts, sizes, min_seconds, topic_dir=beside)
        machine = describe()
        out.mkdir(parents=True, exist_ok=True)
        record = {"model": name, "machine": machine, "rows": [r.__dict__ for r in rows]}
        (out / f"models-{name}.json").write_text(
            json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        )
        table = heads_markdown(rows, machine)
        (out / f"models-{name}.md").write_text(table)
        console.print(table)
        return
    with console.status(f"benchmarking {name} on {len(texts)} messages ..."):
        rows = bench_classifier(model_dir, hf_dir, texts, sizes, min_seconds)
    accuracy = None
    if name in RECIPES:
        recipe = RECIPES[name]
        data = split(load_or_exit(lambda: recipe.load(recipe.data_file or settings.data_dir)))
        with console.status("validation accuracy of int8 and fp32 ..."):
            accuracy = onnx_accuracy(model_dir, data.val_texts, data.val_labels)
    machine = describe()
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "model": name,
        "machine": machine,
        "rows": [r.__dict__ for r in rows],
        "validation_accuracy": accuracy,
    }
    (out / f"models-{name}.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    )
    table = markdown(name, rows, machine)
    if accuracy:
        table += f"\nValidation accuracy: int8 {accuracy['int8']}, fp32 {accuracy['fp32']}.\n"
    (out / f"models-{name}.md").write_text(table)
    console.print(table)


@app.command("drafter")
def drafter(
    questions: Annotated[
        Path, typer.Option(help="Check questions (JSON lines: text, answer_id, topic, channel).")
    ] = PROJECT_ROOT / "data" / "sample-shop" / "bank-check.jsonl",
    out: Annotated[Path, typer.Option(help="Folder for the JSON and Markdown results.")] = RESULTS,
) -> None:
    """hit@1, hit@3, correct fallbacks and draft latency of the shipped knowledge bank, by
    retrieval variant (n-grams, embeddings, both; with and without the topic)."""
    from engage_stream.bench.drafter import as_json, bench_drafter, load_questions, markdown
    from engage_stream.policy.policy_file import PolicyError, load_policy
    from engage_stream.serving.models import StartupError, load_models

    settings = startup()
    try:
        policy = load_policy(settings.policy_file)
        scorer, loaded = load_models(settings, policy)
    except PolicyError as exc:
        config_error([f"ENGAGE_POLICY_FILE: {exc}"])
    except StartupError as exc:
        config_error(exc.problems)
    checks = load_questions(questions)
    sender = {"shop_name": policy.outbound.sender.name, "contact": policy.outbound.sender.contact}
    console = Console(stderr=True)
    with scorer, loaded, console.status(f"drafting {len(checks)} check questions ..."):
        result = bench_drafter(
            loaded.bank, loaded.encoder, scorer, checks, sender=sender, zone=policy.zone
        )
    table = _save(out, "drafter", result, as_json, markdown)
    console.print(table)


@app.command("topics")
def topics(
    data: Annotated[
        Path, typer.Option(help="The labelled messages the topic head was trained on.")
    ] = PROJECT_ROOT / "data" / "sample-shop" / "topic-messages.jsonl",
    bank: Annotated[
        Path | None, typer.Option(help="The bank whose questions joined the training side.")
    ] = PROJECT_ROOT / "data" / "sample-shop" / "knowledge-bank.yaml",
    check: Annotated[
        Path, typer.Option(help="Labelled messages written apart from --data.")
    ] = PROJECT_ROOT / "data" / "sample-shop" / "topic-check.jsonl",
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="A folder with a topic head (name under ENGAGE_MODEL_DIR, or a path); "
            "repeat it. Default: the served one (ENGAGE_MODEL_TOPIC) and multihead-ko."
        ),
    ] = None,
    data_dir: DataDir = None,
    out: Annotated[Path, typer.Option(help="Folder for the JSON and Markdown results.")] = RESULTS,
) -> None:
    """Validation and check accuracy of topic models (an n-gram folder; an encoder's head
    as int8 and fp32) beside the TF-IDF + SVM baseline on the same training side."""
    from engage_stream.bench.topics import as_records, bench_topics, markdown
    from engage_stream.training.corpora import load_intent
    from engage_stream.training.splits import split

    settings = startup()
    names = model or list(dict.fromkeys([settings.model_topic, "multihead-ko"]))
    model_dirs = [settings.model_path(name) for name in names]
    console = Console(stderr=True)
    everyday = split(load_or_exit(lambda: load_intent(data_dir or settings.data_dir))).val_texts
    with console.status(f"scoring the topic models {', '.join(names)} ..."):
        rows = bench_topics(model_dirs, data, bank, check, everyday)
    machine = describe()
    note = (
        f"Served topic model: `ENGAGE_MODEL_TOPIC` ({settings.model_topic}). "
        "Validation: the fixed-seed split "
        f"of `{data.name}` that training held out. Check: `{check.name}`, written by another "
        "author who never saw the training file. The baseline is trained on the same training "
        "side (the split's training messages"
        + (" and the bank's example questions" if bank else "")
        + "). Everyday utterances: 3i4K's validation split (small talk, never trained on), "
        "scored by the share each model calls `other` rather than a shop topic."
    )
    out.mkdir(parents=True, exist_ok=True)
    record = {"machine": machine, "rows": as_records(rows)}
    (out / "topics.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    table = markdown(rows, machine, note)
    (out / "topics.md").write_text(table)
    console.print(table)


@app.command("pipeline")
def pipeline(
    brokers: Annotated[str, typer.Option(help="Comma-separated: tansu, kafka.")] = "tansu,kafka",
    events: Annotated[
        int,
        typer.Option(
            help="Events for each sustained phase: enough for over ten seconds of steady flow, "
            "so that start-up (the first fetches, the score cache filling) is not most of it."
        ),
    ] = 20_000,
    paced_events: Annotated[int, typer.Option(help="Events for the paced phase.")] = 1_500,
    paced_rate: Annotated[float, typer.Option(help="Events/s of the paced phase.")] = 100.0,
    history_events: Annotated[
        int, typer.Option(help="Timed events of each short/long-history phase.")
    ] = 5_000,
    out: Annotated[Path, typer.Option(help="Folder for the JSON and Markdown results.")] = RESULTS,
) -> None:
    """The live worker on real brokers: sustained events/s and end-to-end latency, a
    two-stage Faust passthrough as the anchor, customers with short and long histories;
    then a replay of the same events (fp32 and int8), to compare replay with live."""
    import tempfile

    from engage_stream.bench.pipeline import as_json, markdown, run

    settings = startup()
    console = Console(stderr=True)
    names = [b.strip() for b in brokers.split(",") if b.strip()]
    with (
        tempfile.TemporaryDirectory(prefix="engage-bench-") as work,
        console.status(f"running the pipeline on {', '.join(names)} ..."),
    ):
        results = run(
            names,
            events,
            paced_events,
            paced_rate,
            settings.topics_file,
            Path(work),
            history_events=history_events,
        )
    table = _save(out, "pipeline", results, as_json, markdown)
    console.print(table)


@app.command("broker-log")
def broker_log(
    brokers: Annotated[str, typer.Option(help="Comma-separated: tansu, kafka.")] = "tansu,kafka",
    records: Annotated[int, typer.Option(help="Timed records per row.")] = 2_000,
    rounds: Annotated[int, typer.Option(help="Rounds of every row; the report takes medians.")] = 3,
    out: Annotated[Path, typer.Option(help="Folder for the JSON and Markdown results.")] = RESULTS,
) -> None:
    """The broker alone: its CPU per record on an empty partition and on one already holding
    20,000 records, in many small batches and in a few large ones. Tells whether a long
    history costs the worker or the broker (`bench pipeline`'s history rows)."""
    from engage_stream.bench.broker_log import as_json, markdown, run

    console = Console(stderr=True)
    names = [b.strip() for b in brokers.split(",") if b.strip()]
    unknown = sorted(set(names) - {"tansu", "kafka"})
    if unknown:
        config_error([f"--brokers: unknown broker {', '.join(unknown)} (tansu, kafka)"])
    rows = run(
        names,
        records=records,
        rounds=rounds,
        on_row=lambda r: console.print(
            f"{r.broker} prior {r.prior:,} in {r.prior_batches:,} batches: "
            f"{r.broker_cpu_ms_per_record:.3f} ms/record, {r.seconds:g} s",
            markup=False,
        ),
    )
    table = _save(out, "broker-log", rows, as_json, markdown)
    console.print(table, markup=False, soft_wrap=True)


@app.command("chaos")
def chaos(
    seeds: Annotated[
        int, typer.Option(help="Seeds to run (1, 2, ... N); each its own faults.")
    ] = 20,
    first_seed: Annotated[int, typer.Option(help="The first seed.")] = 1,
    events: Annotated[
        int, typer.Option(help="Sample events per run (the same for every seed).")
    ] = 2_000,
    customers: Annotated[int, typer.Option(help="Customers the events are spread over.")] = 60,
    rate: Annotated[float, typer.Option(help="Events/s while faults are injected.")] = 30.0,
    faults: Annotated[int, typer.Option(help="Faults per seed (every kind once from 5 on).")] = 5,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Broker data and worker logs (default: a new temporary folder)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the JSON and Markdown results.")] = RESULTS,
) -> None:
    """3 workers on Apache Kafka, real faults while events flow (SIGKILL, SIGSTOP past the
    session timeout, broker kill -9 and restart, a worker joining and one leaving), each
    seed checked against one clean single-worker run of the same input. The logs of failed
    seeds are kept in the work folder."""
    import logging
    import tempfile

    from engage_stream.bench.chaos import RunResult, Soak, SoakSettings, as_json, markdown, soak
    from engage_stream.brokers.apache_kafka import missing_requirements

    settings = startup()
    problem = missing_requirements()
    if problem:
        config_error([f"Apache Kafka: {problem}"])
    # The soak's own clients lose the broker on purpose; kafka-python logs every reconnect.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    console = Console(stderr=True)
    folder = work_dir or Path(tempfile.mkdtemp(prefix="engage-chaos-"))
    plan = SoakSettings(events=events, customers=customers, rate=rate, faults=faults)

    def report(run: RunResult, so_far: Soak) -> None:
        name = "clean run" if run.seed is None else f"seed {run.seed}"
        verdict = "[green]pass[/]" if run.passed else "[red]FAIL[/]"
        faults_done = ", ".join(f"{f.kind}@{f.at_s:g}s" for f in run.faults)
        console.print(
            f"{name}: {verdict} {run.actions} actions, {run.duplicates} duplicates, "
            f"{run.wall_s:g} s {faults_done}"
        )
        for difference in run.first_differences():
            console.print(f"  {difference}", markup=False)
        write(so_far)  # so that an interrupted soak leaves the seeds it ran

    def write(so_far: Soak) -> str:
        return _save(out, "chaos", so_far, as_json, markdown)

    result = soak(
        list(range(first_seed, first_seed + seeds)),
        plan,
        settings.topics_file,
        settings.policy_file,
        folder,
        on_run=report,
        code_root=PROJECT_ROOT,
    )
    console.print(write(result), markup=False)
    if result.passed and work_dir is None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    else:
        console.print(f"broker data and logs: {folder}", markup=False)
    if not result.passed:
        raise typer.Exit(1)


@app.command("fuzz")
def fuzz(
    bad: Annotated[int, typer.Option(help="Generated bad records, of every kind.")] = 10_000,
    valid: Annotated[int, typer.Option(help="Valid sample events mixed in.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the generator (same seed, same bytes).")] = 1,
    brokers: Annotated[str, typer.Option(help="Comma-separated: tansu, kafka.")] = "tansu,kafka",
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Topics files and worker logs (default: a new temporary folder)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the JSON and Markdown results.")] = RESULTS,
) -> None:
    """Bad records (random bytes, mutated events, deep nesting, sizes at the worker's and the
    broker's limits, nulls, non-UTF-8 keys and values, JSON that is no object) mixed with
    valid events through a live worker: every input enriched or dead-lettered with its bytes,
    none lost, the worker alive and ready. Exits 1 when any of that fails, keeping the
    worker logs."""
    import shutil
    import tempfile

    from engage_stream.bench.fuzz import as_json, markdown, run

    settings = startup()
    console = Console(stderr=True)
    names = [b.strip() for b in brokers.split(",") if b.strip()]
    folder = work_dir or Path(tempfile.mkdtemp(prefix="engage-fuzz-"))
    with console.status(f"fuzzing the worker on {', '.join(names)} ..."):
        runs = run(names, bad, valid, seed, settings.topics_file, folder)
    table = _save(out, "fuzz", runs, as_json, markdown)
    console.print(table, markup=False)
    passed = all(r.ok for r in runs)
    if passed and work_dir is None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        console.print(f"topics files and worker logs: {folder}", markup=False)
    if not passed:
        raise typer.Exit(1)
