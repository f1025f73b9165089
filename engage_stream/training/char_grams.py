"""Train the character n-gram topic model and write its model folder (no export step).

scikit-learn fits a multinomial logistic regression over `TfidfVectorizer` features with
the engine's own analyzer (`inference.char_grams.char_grams`), so the served features are
the trained ones by construction; the regularisation strength is picked on the fixed-seed
validation split, and the written folder is checked against scikit-learn's probabilities
before it is kept.

Everyday utterances (3i4K) join the training side as the `other` topic at a tenth of a shop
message's weight: without them small talk ("오늘 날씨 좋다") lands on a shop topic six times
in ten; with them, two in a hundred, for about half a point of validation accuracy.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from engage_stream.inference.char_grams import GRAMS_FILE, GramsModel, char_grams
from engage_stream.inference.classifier import softmax
from engage_stream.inference.model_folder import CHAR_NGRAM, MANIFEST, sha256_of
from engage_stream.training.baseline import tfidf_svm, tfidf_svm_predict
from engage_stream.training.check_file import check_gold, check_record
from engage_stream.training.corpora import Corpus
from engage_stream.training.metrics import classification_metrics
from engage_stream.training.model_card import render_grams
from engage_stream.training.splits import Split

PARITY_LIMIT = 1e-4
"""Largest difference allowed between the served and scikit-learn's probabilities."""


@dataclass(frozen=True)
class GramsConfig:
    orders: tuple[int, ...] = (1, 2, 3)
    """Character n-gram lengths; 1-3 beat 1-4 and 2-4 on the sample shop's split and check."""
    c_grid: tuple[float, ...] = (10.0, 30.0, 100.0)
    """Inverse regularisation strengths tried; the best validation accuracy is kept."""
    background_label: str = "other"
    """The topic everyday utterances are learnt as; no background if the data lacks it."""
    background_texts: int = 2000
    background_weight: float = 0.1
    """Of one everyday utterance, against 1 for a shop message: 0.3 and 1.0 cost the shop's
    topics 1-4 points of validation accuracy for no fewer small-talk mistakes."""
    max_chars: int = 2000
    """Longer texts are cut (and flagged truncated): an e-mail's topic is in its start."""
    max_iter: int = 3000


@dataclass(frozen=True)
class GramsResult:
    model: GramsModel
    c: float
    grid: list[dict[str, float]] = field(default_factory=list)
    validation: dict[str, Any] = field(default_factory=dict)
    parity: float = 0.0


def _analyzer(orders: tuple[int, ...], text: str) -> list[str]:
    return list(char_grams(text, orders).elements())


def fit_grams(
    corpus: Corpus, data: Split, config: GramsConfig, background: Sequence[str] = ()
) -> GramsResult:
    """The model of the grid's best C on `data`'s validation side; `background` texts are
    learnt as `config.background_label` at `config.background_weight`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(
        analyzer=partial(_analyzer, config.orders), sublinear_tf=True, lowercase=False
    )
    texts, labels = list(data.train_texts), list(data.train_labels)
    weights_of = [1.0] * len(texts)
    if background:
        texts += background
        labels += [corpus.label_names.index(config.background_label)] * len(background)
        weights_of += [config.background_weight] * len(background)
    features = vectorizer.fit_transform(texts)
    validation = vectorizer.transform(data.val_texts)
    best: tuple[float, float, Any, Any] | None = None
    grid = []
    for c in config.c_grid:
        fitted = LogisticRegression(C=c, max_iter=config.max_iter).fit(
            features, labels, sample_weight=weights_of
        )
        predicted = fitted.predict(validation).tolist()
        metrics = classification_metrics(data.val_labels, predicted, corpus.label_names)
        grid.append({"C": c, "accuracy": round(metrics.accuracy, 4)})
        if best is None or metrics.accuracy > best[0]:
            best = (metrics.accuracy, c, fitted, metrics)
    assert best is not None
    _, c, fitted, metrics = best
    weights, bias = fitted.coef_.T, fitted.intercept_
    if weights.shape[1] == 1:
        # Two labels: scikit-learn keeps one logit z (sigmoid); softmax of (-z/2, z/2) is it.
        weights, bias = np.hstack([-weights / 2, weights / 2]), np.hstack([-bias / 2, bias / 2])
    model = GramsModel(
        orders=config.orders,
        vocabulary={str(g): int(i) for g, i in vectorizer.vocabulary_.items()},
        idf=vectorizer.idf_.astype(np.float32),
        weights=np.ascontiguousarray(weights, dtype=np.float32),
        bias=bias.astype(np.float32),
    )
    served = softmax(model.logits(data.val_texts).astype(np.float64))
    parity = float(np.abs(served - fitted.predict_proba(validation)).max())
    if parity > PARITY_LIMIT:
        raise RuntimeError(
            f"the served model's probabilities differ from scikit-learn's by {parity:.2e} "
            f"(limit {PARITY_LIMIT}): the analyzer or the tf-idf weighting diverged"
        )
    return GramsResult(model, c, grid, metrics.as_dict(), parity)


def check_scores(
    model: GramsModel,
    labels: Sequence[str],
    corpus: Corpus,
    data: Split,
    baseline_params: dict[str, object],
    check: Corpus,
    check_file: str,
) -> dict[str, object]:
    """The model and the baseline on labelled messages written apart from the data."""
    gold = check_gold(check, labels, check_file)
    predicted = model.logits(check.texts).argmax(axis=1).tolist()
    svm = tfidf_svm_predict(data, baseline_params, check.texts)
    return check_record(check_file, gold, predicted, svm, corpus.label_names)


def train_grams(
    corpus: Corpus,
    data: Split,
    out: Path,
    *,
    name: str,
    version: str,
    config: GramsConfig,
    purpose: str,
    data_record: dict[str, object],
    command: str,
    check: tuple[Corpus, str] | None = None,
    background: Everyday | None = None,
) -> dict[str, Any]:
    """Fit, score beside the baseline (and on `check`), write the folder; the training
    record, as the manifest keeps it."""
    learnt = background if config.background_label in corpus.label_names else None
    result = fit_grams(corpus, data, config, learnt.train if learnt else ())
    baseline, params = tfidf_svm(corpus, data)
    checked = (
        check_scores(result.model, corpus.label_names, corpus, data, params, *check)
        if check
        else None
    )
    record: dict[str, Any] = {
        "name": name,
        "version": version,
        "task": CHAR_NGRAM,
        "labels": list(corpus.label_names),
        "purpose": purpose,
        "data": data_record,
        "split": {
            "seed": data.seed,
            "train": len(data.train_texts),
            "validation": len(data.val_texts),
            "duplicates_merged": data.dropped_duplicates,
        },
        "features": {
            "orders": list(config.orders),
            "grams": len(result.model.vocabulary),
            "weighting": "sublinear tf x smoothed idf, unit rows",
            "max_chars": config.max_chars,
        },
        "fit": {
            "method": "multinomial logistic regression (scikit-learn, lbfgs)",
            "C": result.c,
            "grid": result.grid,
            "config": asdict(config),
        },
        "validation": result.validation,
        "baseline": {"method": "tfidf-char-svm", "params": params, **baseline.as_dict()},
        **({"check": checked} if checked else {}),
        "background": _background_record(result.model, corpus, config, learnt, data, params),
        "parity_max_abs_diff": result.parity,
        "command": command,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_folder(out, result.model, record, config.max_chars)
    return record


@dataclass(frozen=True)
class Everyday:
    """Everyday utterances from outside the shop: `train` joins the training side, `held`
    (never trained on) measures how much small talk still gets a shop topic."""

    source: str
    licence: str
    train: list[str]
    held: list[str]


def everyday_sample(
    texts: Sequence[str],
    held: Sequence[str],
    config: GramsConfig,
    seed: int,
    source: str,
    licence: str,
) -> Everyday:
    rng = random.Random(seed)
    return Everyday(
        source,
        licence,
        rng.sample(list(texts), min(config.background_texts, len(texts))),
        list(held),
    )


def _background_record(
    model: GramsModel,
    corpus: Corpus,
    config: GramsConfig,
    everyday: Everyday | None,
    data: Split,
    baseline_params: dict[str, object],
) -> dict[str, Any] | None:
    """What was learnt, and how much held-out small talk the model (and the baseline,
    which never saw everyday utterances) calls `label`."""
    if everyday is None:
        return None
    label = corpus.label_names.index(config.background_label)

    def share(predicted: Sequence[int]) -> float | None:
        return round(float(np.mean(np.asarray(predicted) == label)), 4) if predicted else None

    served = model.logits(everyday.held).argmax(axis=1).tolist() if everyday.held else []
    svm = tfidf_svm_predict(data, baseline_params, everyday.held) if everyday.held else []
    return {
        "label": config.background_label,
        "source": everyday.source,
        "licence": everyday.licence,
        "texts": len(everyday.train),
        "weight": config.background_weight,
        "held_out": {
            "texts": len(everyday.held),
            "share_given_label": share(served),
            "baseline_share_given_label": share(svm),
        },
    }


def write_folder(out: Path, model: GramsModel, record: dict[str, Any], max_chars: int) -> None:
    """`grams.npz`, `engage-model.json` (labels, sha256, the training record) and the card."""
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / GRAMS_FILE)
    manifest = {
        "format_version": 1,
        "name": record["name"],
        "version": record["version"],
        "task": CHAR_NGRAM,
        "labels": record["labels"],
        "max_length": max_chars,
        "files": {"fp32": GRAMS_FILE},
        "sha256": {GRAMS_FILE: sha256_of(out / GRAMS_FILE)},
        "training": record,
        "export": {"parity_max_abs_diff": record["parity_max_abs_diff"]},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    size = (out / GRAMS_FILE).stat().st_size
    (out / "MODEL_CARD.md").write_text(render_grams(record, {GRAMS_FILE: size}))
