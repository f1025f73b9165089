"""`engage-stream train drafter-ko`: encoder fine-tuning, every variant measured, shipped."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from engage_stream.cli.startup import startup
from engage_stream.config.settings import PROJECT_ROOT

VARIANTS = {
    "most_frequent": "most frequent training answer (baseline)",
    "tfidf_question": "TF-IDF char 1-4-grams, nearest training question -> its answer",
    "base_question": "pre-trained encoder (not fine-tuned), nearest question -> its answer",
    "base_answer": "pre-trained encoder (not fine-tuned), question -> answer",
    "base_both": "pre-trained encoder (not fine-tuned), nearest of questions and answers",
    "encoder_question": "fine-tuned encoder, nearest training question -> its answer",
    "encoder_answer": "fine-tuned encoder, question -> answer directly (dual encoder)",
    "encoder_both": "fine-tuned encoder, nearest of training questions and answers",
}


def train_drafter(
    base: Path | None,
    out: Path | None,
    ship_dir: Path | None,
    epochs: int | None,
    max_minutes: float,
    limit: int | None,
    version: str | None,
    data_dir: Path,
) -> None:
    from engage_stream.cli.train import _command_line, load_or_exit, require_base
    from engage_stream.training import drafter
    from engage_stream.training.corpora import load_chatbot
    from engage_stream.training.splits import split_pairs

    settings = startup()
    base = require_base(base)
    out = out or PROJECT_ROOT / "build" / "drafter-ko"
    ship_dir = ship_dir or settings.model_dir / "drafter-ko"
    pairs = load_or_exit(lambda: load_chatbot(data_dir))
    data = split_pairs(pairs)
    if limit is not None:
        data = replace(
            data,
            train_questions=data.train_questions[:limit],
            train_answers=data.train_answers[:limit],
        )
    config = drafter.DrafterConfig(
        epochs=epochs or drafter.DrafterConfig.epochs, max_minutes=max_minutes
    )
    console = Console(stderr=True)
    with console.status("baselines: most frequent answer, TF-IDF nearest question ..."):
        metrics: dict[str, Any] = drafter.baselines(data)
    out.mkdir(parents=True, exist_ok=True)
    with console.status(f"fine-tuning the drafter encoder from {base} ..."):
        run = drafter.train_encoder(data, base, out, config)
    history = run["history"]
    for index_by in drafter.INDEXES:
        metrics[f"base_{index_by}"] = history[0][f"encoder_{index_by}"]
    chosen = next(h for h in history if h["epoch"] == run["best_epoch"])
    for index_by in drafter.INDEXES:
        metrics[f"encoder_{index_by}"] = chosen[f"encoder_{index_by}"]
    best_index = max(drafter.INDEXES, key=lambda i: metrics[f"encoder_{i}"]["chrf"])
    version = version or datetime.now(UTC).strftime("%Y.%m.%d")
    command = _command_line(
        "train",
        "drafter-ko",
        base=base,
        out=out,
        ship=ship_dir,
        epochs=epochs,
        max_minutes=max_minutes,
        limit=limit,
        version=version,
    )
    bank = drafter.build_bank(data.train_questions, data.train_answers)
    train_info = {
        "max_length": config.max_length,
        "purpose": "Sentence encoder of the retrieval reply drafter (question -> polite answer).",
        "base": str(base),
        "data": {"corpus": "chatbot", "source": pairs.source, "licence": pairs.licence},
        "split": {
            "seed": data.seed,
            "by": "distinct question (spacing and trailing punctuation ignored)",
            "train_pairs": len(data.train_questions),
            "validation_pairs": len(data.val_questions),
            "bank_responses": len(bank),
            "distinct_train_answers": len(set(data.train_answers)),
        },
        "drafter": {
            **drafter.config_dict(config),
            "index_by": best_index,
            "best_epoch": run["best_epoch"],
            "minutes": run["minutes"],
            "training_pairs": run["pairs"],
        },
        "history": history,
        "validation": metrics,
        "command": command,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    drafter.write_hf_manifest(out, version, train_info)
    with console.status(f"exporting and shipping to {ship_dir} ..."):
        shipped = drafter.ship(out, ship_dir, data, best_index, config, metrics)
    (ship_dir / "MODEL_CARD.md").write_text(
        drafter.render_card(ship_dir, train_info, shipped), encoding="utf-8"
    )
    table = Table(title=f"drafter-ko on the validation split ({len(data.val_questions)} pairs)")
    for column in ("variant", "chrF", "polite"):
        table.add_column(column)
    for key, label in VARIANTS.items():
        row = metrics[key]
        mark = " (shipped)" if key == f"encoder_{best_index}" else ""
        table.add_row(label + mark, f"{row['chrf']:.2f}", f"{row['polite_rate']:.3f}")
    s = shipped["shipped_int8"]
    table.add_row("shipped: int8 ONNX encoder", f"{s['chrf']:.2f}", f"{s['polite_rate']:.3f}")
    console.print(table)
    typer.echo(json.dumps({"out": str(out), "ship": str(ship_dir), **shipped}, indent=2))
