"""One folder, several heads: a multi-head model answers every head from one encoder pass;
the model registry binds each role to a folder, so one head can be swapped for another
folder's model without code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engage_stream.inference.classifier import Classifier
from engage_stream.inference.embedder import Embedder
from engage_stream.inference.heads import HeadGroup, open_groups
from engage_stream.inference.model_folder import (
    MANIFEST,
    ModelFolderError,
    load_model_folder,
)
from engage_stream.inference.scoring import Scorer
from engage_stream.schemas.events import EmailInbound, EmailInboundEvent, EventSource
from tests.core.builders import T0
from tests.tiny_models import LABELS, TOPIC_LABELS, TinyModels, korean_lines

ROLES = ("intent", "toxicity", "topic")


def test_the_manifest_lists_each_head_its_output_and_its_labels(tiny: TinyModels) -> None:
    folder = load_model_folder(tiny.multihead)
    assert folder.task == "multi-head"
    assert folder.head_names == ("intent", "toxicity", "topic", "embedding")
    assert folder.head("topic").labels == TOPIC_LABELS
    assert folder.head("intent").labels == LABELS
    assert folder.head("embedding").kind == "embedding"
    manifest = json.loads((tiny.multihead / MANIFEST).read_text())
    assert manifest["labels"] == []


def test_one_pass_gives_what_each_head_alone_gives(tiny: TinyModels) -> None:
    texts = korean_lines(40)
    (group,) = open_groups({role: tiny.multihead for role in ROLES}, device="cpu")
    with Classifier.load(tiny.multihead, head="topic", device="cpu") as topic:
        alone = topic.predict(texts)
    together = group.predict(texts)
    group.close()
    assert set(together) == set(ROLES)
    assert [p.label for p in together["topic"]] == [p.label for p in alone]
    np.testing.assert_allclose(
        [p.score for p in together["topic"]], [p.score for p in alone], atol=1e-5
    )
    assert {p.model.name for p in together["intent"]} == {"multihead-tiny"}


def test_the_scorer_runs_one_folder_once_for_all_its_heads(
    tiny: TinyModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorer = Scorer.load({role: tiny.multihead for role in ROLES}, device="cpu", cache_size=0)
    (group,) = scorer.groups
    assert isinstance(group, HeadGroup)
    runner = group.runner
    infer = runner._infer
    asked: list[list[str]] = []

    def counted(feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
        asked.append(list(outputs))
        return infer(feeds, outputs)

    monkeypatch.setattr(runner, "_infer", counted)
    with scorer:
        (scores,), _ = scorer.score_texts(["주문한 패딩 언제 와요?"])
    assert asked == [["intent", "toxicity", "topic"]]
    assert scores is not None
    assert scores.topic is not None
    assert scores.topic.label in TOPIC_LABELS
    assert scores.stamps == [group.stamp]


def test_a_role_can_be_served_by_another_folder(tiny: TinyModels) -> None:
    """The intent head replaced by a plain optimum export: two folders, two passes."""
    bindings = {"intent": tiny.plain_export, "toxicity": tiny.multihead, "topic": tiny.multihead}
    with Scorer.load(bindings, device="cpu") as scorer:
        assert len(scorer.groups) == 2
        assert scorer.labels("intent") == LABELS
        assert scorer.labels("topic") == TOPIC_LABELS
        event = EmailInboundEvent(
            event_id="e1",
            event_type="email.inbound",
            occurred_at=T0,
            customer_id="c1",
            source=EventSource.EMAIL,
            payload=EmailInbound(subject="", body="환불 언제 돼요?"),
        )
        (scores,), timing = scorer.score([event])
    assert scores is not None
    assert scores.intent is not None
    assert scores.topic is not None
    assert scores.intent.model.name == tiny.plain_export.name
    assert scores.topic.model.name == "multihead-tiny"
    assert set(timing.seconds_by_model) == {tiny.plain_export.name, "multihead-tiny"}


def test_a_folder_without_the_head_a_role_needs_is_refused_naming_both(
    tiny: TinyModels, tmp_path: Path
) -> None:
    with pytest.raises(ModelFolderError, match=r"no 'sentiment' head \(its heads: intent"):
        open_groups({"sentiment": tiny.multihead}, device="cpu")
    with pytest.raises(ModelFolderError, match="cannot serve the embedding head"):
        Embedder.load(tiny.classifier, head="embedding", device="cpu")


def test_a_multi_head_folder_needs_a_head_named_for_a_classifier(tiny: TinyModels) -> None:
    with pytest.raises(ModelFolderError, match="several heads"):
        Classifier.load(tiny.multihead, device="cpu")


def test_the_embedding_head_gives_unit_vectors_like_a_feature_extraction_model(
    tiny: TinyModels,
) -> None:
    with Embedder.load(tiny.multihead, head="embedding", device="cpu") as embedder:
        vectors = embedder.embed(korean_lines(10)).vectors
    assert vectors.shape == (10, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: m.update(heads=[]), "heads are listed exactly when the task is multi-head"),
        (
            lambda m: m["heads"].append({**m["heads"][0]}),
            "head names repeat",
        ),
        (
            lambda m: m["heads"][0].update(labels=[]),
            "a classification head needs its label names",
        ),
        (lambda m: m["heads"][3].update(labels=["a", "b"]), "an embedding head has no labels"),
    ],
)
def test_a_broken_head_list_is_refused_at_load(
    tiny: TinyModels, tmp_path: Path, change: object, problem: str
) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(tiny.multihead, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    change(manifest)  # type: ignore[operator]
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelFolderError, match=problem):
        load_model_folder(copy)


def test_the_export_checked_every_head_against_pytorch(tiny: TinyModels) -> None:
    manifest = json.loads((tiny.multihead / MANIFEST).read_text())
    parity = manifest["export"]["parity"]
    assert parity["fp32_max_abs_diff"] < 1e-4
    assert parity["int8_argmax_agreement"] is not None
