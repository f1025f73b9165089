"""Masked-language-model pre-training of a small Korean BERT on all the shared text.

It gives the classifiers what 7,000 labelled comments cannot: which Korean subwords go
together. The result is an ordinary HF model folder that `train --base` fine-tunes.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engage_stream.observability.logs import get_logger
from engage_stream.training.batching import bucketed_batches, pad
from engage_stream.training.classifier import torch_device
from engage_stream.training.encoder import EncoderShape
from engage_stream.training.tokenizer import train_wordpiece

log = get_logger(__name__)


@dataclass(frozen=True)
class PretrainConfig:
    shape: EncoderShape
    max_length: int = 64
    batch_size: int = 128
    learning_rate: float = 5e-4
    epochs: float = 3.0
    max_minutes: float = 60.0
    mask_probability: float = 0.15
    seed: int = 20261126
    device: str = "auto"
    """auto: CUDA when torch sees a GPU, else the CPU."""


def pretrain(
    texts: list[str], out_dir: Path, config: PretrainConfig, resume: bool = False
) -> dict[str, object]:
    """Train tokenizer and masked LM into `out_dir`; with `resume`, keep both and go on."""
    import torch
    from transformers import BertForMaskedLM, PreTrainedTokenizerFast

    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    previous = _load_report(out_dir) if resume else {}
    if not resume:
        train_wordpiece(texts, config.shape.vocab_size, out_dir)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(out_dir)
    encoded = tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]
    encoded = [ids for ids in encoded if len(ids) > 3]
    lengths = [len(ids) for ids in encoded]
    model = (
        BertForMaskedLM.from_pretrained(out_dir)
        if resume
        else BertForMaskedLM(config.shape.bert_config(vocab_size=len(tokenizer)))
    )
    device = torch_device(config.device)
    model.to(torch.device(device))  # type: ignore[arg-type]
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    steps_per_epoch = -(-len(encoded) // config.batch_size)
    total_steps = max(1, int(steps_per_epoch * config.epochs))
    warmup = max(1, total_steps // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup))),
    )
    special = set(tokenizer.all_special_ids)
    mask_id, vocab = tokenizer.mask_token_id, len(tokenizer)
    model.train()
    started, step, losses = time.monotonic(), 0, []
    deadline = started + config.max_minutes * 60
    while step < total_steps and time.monotonic() < deadline:
        for batch in bucketed_batches(lengths, config.batch_size, rng):
            ids, attention = pad([encoded[i] for i in batch], tokenizer.pad_token_id)
            labels = ids.clone()
            candidates = attention.bool() & ~torch.isin(ids, torch.tensor(sorted(special)))
            chosen = candidates & (torch.rand(ids.shape) < config.mask_probability)
            labels[~chosen] = -100
            roll = torch.rand(ids.shape)
            ids = torch.where(chosen & (roll < 0.8), torch.full_like(ids, mask_id), ids)
            ids = torch.where(
                chosen & (roll >= 0.8) & (roll < 0.9), torch.randint_like(ids, vocab), ids
            )
            ids, attention = ids.to(device), attention.to(device)
            chosen, labels = chosen.to(device), labels.to(device)
            # Vocabulary logits only where a token was masked: a fifth of the work saved.
            hidden = model.bert(input_ids=ids, attention_mask=attention).last_hidden_state
            logits = model.cls(hidden[chosen])
            loss = torch.nn.functional.cross_entropy(logits, labels[chosen])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            step += 1
            if step % 200 == 0:
                log.info(
                    "pretrain_progress",
                    step=step,
                    total=total_steps,
                    loss=round(sum(losses[-200:]) / 200, 4),
                )
            if step >= total_steps or time.monotonic() >= deadline:
                break
    model.to(torch.device("cpu")).save_pretrained(out_dir)  # type: ignore[arg-type]
    carried: dict[str, Any] = {k: previous[k] for k in ("command", "note") if k in previous}
    report = {
        "steps": step + int(previous.get("steps", 0)),
        **carried,
        "sessions": [
            *previous.get("sessions", []),
            {
                "steps": step,
                "epochs": config.epochs,
                "learning_rate": config.learning_rate,
                "minutes": round((time.monotonic() - started) / 60, 1),
            },
        ],
        "planned_steps": total_steps,
        "sentences": len(encoded),
        "final_loss": round(sum(losses[-100:]) / max(1, len(losses[-100:])), 4),
        "minutes": round((time.monotonic() - started) / 60 + float(previous.get("minutes", 0)), 1),
        "shape": config.shape.__dict__,
        "seed": config.seed,
    }
    (out_dir / "engage-pretrain.json").write_text(json.dumps(report, indent=2))
    return report


def _load_report(out_dir: Path) -> dict[str, Any]:
    path = out_dir / "engage-pretrain.json"
    if not (out_dir / "config.json").is_file() or not path.is_file():
        raise FileNotFoundError(f"nothing to resume in {out_dir}: no config.json / {path.name}")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
