"""The character n-gram topic model as the engine serves it: spacing-blind features, a
folder checked like any other, and a registry role it can take over from a multi-head
folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engage_stream.inference.char_grams import (
    GRAMS_FILE,
    GramsClassifier,
    GramsModel,
    char_grams,
)
from engage_stream.inference.heads import GramsGroup, HeadGroup, open_groups
from engage_stream.inference.model_folder import MANIFEST, ModelFolderError
from engage_stream.inference.runner import OnnxRunner
from engage_stream.inference.scoring import Scorer
from engage_stream.training.char_grams import write_folder
from tests.tiny_models import TinyModels, tiny_models

LABELS = ["delivery_status", "other", "refund_status"]


def test_spacing_punctuation_and_case_do_not_change_the_grams() -> None:
    assert char_grams("배송 언제 와요?!", (1, 2, 3)) == char_grams("배송언제와요", (1, 2, 3))
    assert char_grams("ORD-123 배송", (2,)) == char_grams("ord123배송", (2,))
    assert char_grams("네", (2, 3)) == {"네": 1}, "a text shorter than every order is a gram"
    assert char_grams("?!", (1, 2)) == {}


def _model() -> GramsModel:
    """Hand-set weights: 배송 votes delivery_status, 환불 refund_status."""
    vocabulary = {"배송": 0, "환불": 1, "안녕": 2}
    weights = np.array([[4, 0, 0], [0, 0, 4], [0, 3, 0]], dtype=np.float32)
    return GramsModel(
        orders=(2,),
        vocabulary=vocabulary,
        idf=np.ones(3, dtype=np.float32),
        weights=weights,
        bias=np.zeros(3, dtype=np.float32),
    )


def _folder(path: Path, model: GramsModel | None = None, labels: list[str] = LABELS) -> Path:
    record: dict[str, Any] = {"name": "topic-grams-test", "version": "1", "labels": labels}
    record |= {"parity_max_abs_diff": 0.0, "command": "test"}
    write_folder(path, model or _model(), record, max_chars=40)
    return path


def test_a_written_folder_serves_the_weights_it_was_given(tmp_path: Path) -> None:
    model = GramsClassifier.load(_folder(tmp_path / "grams"))
    assert model.labels == tuple(LABELS)
    first, second, third, empty = model.predict(["배송 언제 와요", "환불 됐나요", "안녕", "?"])
    assert (first.label, second.label, third.label) == ("delivery_status", "refund_status", "other")
    assert empty.score == pytest.approx(1 / 3), "no known gram: the bias alone"
    manifest = json.loads((tmp_path / "grams" / MANIFEST).read_text())
    assert first.model.sha256 == manifest["sha256"][GRAMS_FILE]
    np.testing.assert_allclose(
        GramsModel.load(tmp_path / "grams" / GRAMS_FILE).logits(["배송"]), _model().logits(["배송"])
    )


def test_a_text_scores_the_same_alone_as_inside_a_batch_and_repeats_count() -> None:
    model = _model()
    texts = ["배송 배송 환불", "?", "환불", "안녕 배송", "모르는말"]
    batch = model.logits(texts)
    alone = np.vstack([model.logits([text]) for text in texts])
    np.testing.assert_allclose(batch, alone, rtol=1e-6)
    # tf 2 for 배송 against 1 for 환불: sublinear, 1 + ln 2, then unit length.
    tf = np.array([1 + np.log(2), 1.0])
    expected = np.array([4 * tf[0], 0.0, 4 * tf[1]]) / float(np.linalg.norm(tf))
    np.testing.assert_allclose(batch[0], expected, rtol=1e-5)
    assert not batch[1].any(), "no gram at all: the bias alone"
    assert not batch[4].any(), "no known gram: the bias alone"


def test_a_long_text_is_cut_at_the_manifest_s_length_and_says_so(tmp_path: Path) -> None:
    model = GramsClassifier.load(_folder(tmp_path / "grams"))
    (long,) = model.predict(["배송 " * 10 + "환불 " * 100])
    assert long.truncated
    assert long.label == "delivery_status", "only the first 40 characters count"


def test_changed_weights_or_a_label_count_that_disagrees_are_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "grams")
    (folder / GRAMS_FILE).write_bytes((folder / GRAMS_FILE).read_bytes() + b"\0")
    with pytest.raises(ModelFolderError, match=f"{GRAMS_FILE} does not match its sha256"):
        GramsClassifier.load(folder)
    other = _folder(tmp_path / "two", labels=["delivery_status", "refund_status"])
    with pytest.raises(ModelFolderError, match="scores 3 labels but the manifest names 2"):
        GramsClassifier.load(other)


def test_it_is_not_an_onnx_graph_and_gives_no_embedding(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "grams")
    with pytest.raises(ModelFolderError, match="not an ONNX graph"):
        OnnxRunner.open(folder)
    with pytest.raises(ModelFolderError, match="cannot serve the embedding head"):
        open_groups({"embedding": folder})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory)


def test_the_registry_serves_topic_from_it_beside_a_multihead_folder(
    tiny: TinyModels, tmp_path: Path
) -> None:
    grams = _folder(tmp_path / "grams")
    bindings = {"intent": tiny.multihead, "toxicity": tiny.multihead, "topic": grams}
    with Scorer.load(bindings, device="cpu", cache_size=0) as scorer:
        graph, lexical = scorer.groups
        assert isinstance(graph, HeadGroup)
        assert set(graph.classifiers) == {"intent", "toxicity"}
        assert isinstance(lexical, GramsGroup)
        assert scorer.labels("topic") == tuple(LABELS)
        (scores,), timing = scorer.score_texts(["환불 언제 들어와요"])
        assert scores is not None
        assert scores.topic is not None
        assert scores.topic.label == "refund_status"
        assert {s.name for s in scores.stamps} == {"multihead-tiny", "topic-grams-test"}
        assert set(timing.seconds_by_model) == {"multihead-tiny", "topic-grams-test"}
        assert [c.provider for c in scorer.runtimes][1] == "numpy"


def test_a_copied_folder_keeps_its_stamp(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "grams")
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (a,) = GramsClassifier.load(folder).predict(["배송"])
    (b,) = GramsClassifier.load(copy).predict(["배송"])
    assert a.model == b.model
