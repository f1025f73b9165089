"""The classifier as the worker uses it: right numbers, input order, any thread, the event
loop, odd texts, one log line saying where it runs, and clear refusals of broken folders."""

from __future__ import annotations

import asyncio
import io
import json
import math
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import structlog
import torch
from transformers import AutoModelForSequenceClassification

from engage_stream.config.settings import Settings
from engage_stream.inference import Classifier, DeviceError, ModelFolderError, Prediction
from engage_stream.inference.batching import TextEncoder, pad_batch
from engage_stream.inference.model_folder import MANIFEST, sha256_of
from engage_stream.inference.providers import cuda_problem
from engage_stream.observability.logs import configure_logging
from tests.tiny_models import LABELS, MAX_LENGTH, TinyModels, korean_lines


@pytest.fixture(scope="module")
def int8(tiny: TinyModels) -> Iterator[Classifier]:
    with Classifier.load(tiny.classifier, device="cpu") as classifier:
        yield classifier


@pytest.fixture(scope="module")
def fp32(tiny: TinyModels) -> Iterator[Classifier]:
    with Classifier.load(tiny.classifier, device="cpu", precision="fp32") as classifier:
        yield classifier


def _scores(predictions: list[Prediction]) -> np.ndarray:
    return np.array([[p.scores[label] for label in LABELS] for p in predictions])


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def test_fp32_scores_are_pytorch_softmax_on_real_korean_sentences(
    tiny: TinyModels, fp32: Classifier
) -> None:
    texts = korean_lines(64)
    encoder = TextEncoder(tiny.classifier / "tokenizer.json", MAX_LENGTH, None)
    feeds = pad_batch(encoder.encode(texts), encoder.pad_id, MAX_LENGTH)
    model = AutoModelForSequenceClassification.from_pretrained(tiny.hf_classifier).eval()
    with torch.inference_mode():
        logits = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).logits
    expected = torch.softmax(logits, dim=1).numpy()
    assert np.abs(_scores(fp32.predict(texts)) - expected).max() < 1e-4


def test_a_prediction_has_label_score_all_scores_flag_and_stamp(
    tiny: TinyModels, int8: Classifier
) -> None:
    (prediction,) = int8.predict(["배송이 언제 오나요?"])
    assert list(prediction.scores) == list(LABELS)
    assert math.isclose(sum(prediction.scores.values()), 1.0, rel_tol=1e-6)
    assert prediction.label == max(prediction.scores, key=prediction.scores.__getitem__)
    assert prediction.score == prediction.scores[prediction.label]
    assert prediction.truncated is False
    assert prediction.model.name == "intent-tiny"
    assert prediction.model.version == "2026.11.26"
    assert prediction.model.sha256 == sha256_of(tiny.classifier / "model.int8.onnx")
    assert int8.runtime.file.name == "model.int8.onnx"


def test_results_come_back_in_input_order_whatever_the_batches(fp32: Classifier) -> None:
    texts = [*korean_lines(40), "", "네", "배송이 언제 오나요? " * 50]
    together = _scores(fp32.predict(texts))
    one_by_one = np.vstack([_scores(fp32.predict([text])) for text in texts])
    reversed_ = _scores(fp32.predict(texts[::-1]))[::-1]
    assert np.abs(together - one_by_one).max() < 1e-4
    assert np.abs(together - reversed_).max() < 1e-4


def test_the_batch_size_limit_does_not_change_results(tiny: TinyModels, fp32: Classifier) -> None:
    texts = korean_lines(50)
    with Classifier.load(
        tiny.classifier, device="cpu", precision="fp32", batch_max_size=3
    ) as small_batches:
        small = _scores(small_batches.predict(texts))
    assert np.abs(small - _scores(fp32.predict(texts))).max() < 1e-4


def test_int8_gives_the_fp32_label_for_most_sentences(int8: Classifier, fp32: Classifier) -> None:
    texts = korean_lines(300)
    same = [
        a.label == b.label for a, b in zip(int8.predict(texts), fp32.predict(texts), strict=True)
    ]
    assert sum(same) / len(same) >= 0.9


def test_int8_labels_barely_depend_on_batch_mates(int8: Classifier) -> None:
    """Dynamic int8 scales activations per batch, so scores may move a little with the
    other texts in the batch: labels stay, scores shift by far less than a decision."""
    texts = korean_lines(60)
    together = int8.predict(texts)
    alone = [int8.predict([text])[0] for text in texts]
    same = sum(a.label == b.label for a, b in zip(together, alone, strict=True)) / len(texts)
    assert same >= 0.9
    assert np.abs(_scores(together) - _scores(alone)).max() < 0.05


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Where is my order? Please reply ASAP.",
        "🙂🙂🙂",
        "a\ud800b",
        "\x00\x07",
        "ㅋㅋㅋㅋ",
    ],
)
def test_empty_and_non_korean_texts_get_a_well_defined_result(int8: Classifier, text: str) -> None:
    (prediction,) = int8.predict([text])
    assert prediction.label in LABELS
    assert all(math.isfinite(score) for score in prediction.scores.values())
    assert prediction.truncated is False


def test_an_enormous_text_gets_a_result_flagged_truncated(int8: Classifier) -> None:
    huge = "배송이 언제 오나요? 주문한 지 일주일이 지났어요. " * 4_000  # about 120k characters
    assert len(huge) > 100_000
    short, long = int8.predict(["배송이 언제 오나요?", huge])
    assert long.truncated
    assert not short.truncated
    assert long.label in LABELS


def test_no_texts_no_predictions_and_a_bare_string_is_refused(int8: Classifier) -> None:
    assert int8.predict([]) == []
    with pytest.raises(TypeError, match="wrap a single text in a list"):
        int8.predict("배송이 언제 오나요?")


def test_threads_predicting_at_once_get_the_single_thread_answers(int8: Classifier) -> None:
    texts = korean_lines(48)
    expected = int8.predict(texts)
    results: list[list[Prediction]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(int8.predict(texts))
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results) == 20
    assert all(result == expected for result in results)


def test_lanes_give_the_answers_of_one_run_in_input_order(tiny: TinyModels) -> None:
    texts = korean_lines(300)
    with (
        Classifier.load(tiny.classifier, device="cpu", precision="fp32", threads=3) as lanes,
        Classifier.load(
            tiny.classifier, device="cpu", precision="fp32", threads=3, lanes=1
        ) as one_run,
    ):
        assert lanes.runtime.lanes == 3
        sliced, whole = lanes.predict(texts), one_run.predict(texts)
    assert [p.label for p in sliced] == [p.label for p in whole]
    np.testing.assert_allclose(_scores(sliced), _scores(whole), atol=1e-5)


def test_on_the_cpu_a_batch_is_cut_into_two_slices_per_lane(
    tiny: TinyModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Classifier.load(tiny.classifier, device="cpu", threads=2, batch_max_size=32) as model:
        runner = model._runner
        infer = runner._infer
        widths: list[int] = []

        def counted(feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
            widths.append(len(feeds["input_ids"]))
            return infer(feeds, outputs)

        monkeypatch.setattr(runner, "_infer", counted)
        model.predict(korean_lines(64))
    # Two batches of 32, each cut into up to four slices (fewer only where that is as even).
    assert 2 * 2 < len(widths) <= 2 * 4
    assert sum(widths) == 64


def test_a_lane_that_fails_fails_the_call_and_the_next_call_works(
    tiny: TinyModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = korean_lines(64)
    with Classifier.load(tiny.classifier, device="cpu", threads=2, batch_max_size=64) as model:
        expected = model.predict(texts)
        runner = model._runner
        infer = runner._infer

        def long_slices_fail(feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
            if feeds["input_ids"].shape[1] > 16:
                raise RuntimeError("lane failed (test)")
            return infer(feeds, outputs)

        monkeypatch.setattr(runner, "_infer", long_slices_fail)
        with pytest.raises(RuntimeError, match="lane failed"):
            model.predict(texts)
        monkeypatch.undo()
        assert model.predict(texts) == expected


async def test_the_event_loop_keeps_running_while_apredict_works(int8: Classifier) -> None:
    texts = korean_lines(500) * 4
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    predictions = await int8.apredict(texts)
    during = ticks - before
    running = False
    await task
    assert len(predictions) == len(texts)
    assert during >= 3, "apredict blocked the event loop"


async def test_apredict_gives_what_predict_gives(fp32: Classifier) -> None:
    texts = korean_lines(20)
    assert await fp32.apredict(texts) == fp32.predict(texts)


def test_one_log_line_says_cpu_which_file_and_why(tiny: TinyModels) -> None:
    out = io.StringIO()
    configure_logging("INFO", json=True, stream=out)
    try:
        Classifier.load(tiny.classifier).close()
    finally:
        structlog.reset_defaults()
    records = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    (record,) = [r for r in records if r.get("logger") == "engage.inference"]
    assert record["event"] == "model_loaded"
    assert record["device"] == "cpu"
    assert record["provider"] == "CPUExecutionProvider"
    assert record["file"] == "model.int8.onnx"
    assert record["precision"] == "int8"
    assert record["reason"].startswith("ENGAGE_DEVICE=auto, CUDA unavailable: ")
    assert record["model"] == "intent-tiny"


@pytest.mark.skipif(cuda_problem() is None, reason="this machine can run CUDA")
def test_device_cuda_without_a_gpu_fails_at_load_naming_the_setting(tiny: TinyModels) -> None:
    with pytest.raises(DeviceError, match=r"ENGAGE_DEVICE=cuda but CUDA cannot be used: .*auto"):
        Classifier.load(tiny.classifier, device="cuda")


def test_settings_choose_the_folder_device_and_batch_size(tiny: TinyModels) -> None:
    settings = Settings(model_dir=tiny.classifier.parent, device="cpu", batch_max_size=4)
    with Classifier.from_settings(settings, "intent-tiny") as classifier:
        assert classifier.runtime.device == "cpu"
        assert classifier.runtime.reason == "ENGAGE_DEVICE=cpu"
        assert classifier.predict(["네"])[0].label in LABELS


def test_a_plain_optimum_export_loads_and_prefers_its_quantized_file(
    tiny: TinyModels, fp32: Classifier
) -> None:
    with Classifier.load(tiny.plain_export, device="cpu") as plain:
        assert plain.runtime.file.name == "model_quantized.onnx"
        assert plain.stamp.version == "unversioned"
        assert plain.stamp.sha256 == sha256_of(tiny.plain_export / "model_quantized.onnx")
        assert plain.predict(["네"])[0].label in LABELS
    with Classifier.load(tiny.plain_export, device="cpu", precision="fp32") as plain32:
        texts = korean_lines(20)
        assert np.abs(_scores(plain32.predict(texts)) - _scores(fp32.predict(texts))).max() < 1e-5


def test_a_corrupt_onnx_file_is_named(tiny: TinyModels, tmp_path: Path) -> None:
    folder = _copy(tiny.plain_export, tmp_path)
    (folder / "model_quantized.onnx").unlink()
    (folder / "model.onnx").write_bytes(b"\x08\x07 this is not a protobuf")
    with pytest.raises(ModelFolderError, match=r"model\.onnx is not a readable ONNX model"):
        Classifier.load(folder, device="cpu")


def test_a_file_changed_after_export_fails_its_checksum(tiny: TinyModels, tmp_path: Path) -> None:
    folder = _copy(tiny.classifier, tmp_path)
    with (folder / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelFolderError, match=r"model\.onnx does not match its sha256"):
        Classifier.load(folder, device="cpu")


def test_an_unreadable_tokenizer_is_named(tiny: TinyModels, tmp_path: Path) -> None:
    folder = _copy(tiny.plain_export, tmp_path)
    (folder / "tokenizer.json").write_text('{"model": "nothing like a tokenizer"}')
    with pytest.raises(ModelFolderError, match=r"tokenizer\.json is not a readable tokenizer"):
        Classifier.load(folder, device="cpu")


def test_labels_that_do_not_fit_the_model_are_refused(tiny: TinyModels, tmp_path: Path) -> None:
    folder = _copy(tiny.classifier, tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["labels"] = ["none", "offensive", "hate"]
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(
        ModelFolderError, match="gives 7 scores for head logits but 3 labels are named"
    ):
        Classifier.load(folder, device="cpu")


def test_an_embedding_model_is_not_a_classifier(tiny: TinyModels) -> None:
    with pytest.raises(
        ModelFolderError,
        match=r"feature-extraction model; it cannot serve the logits head \(load it with Embedder",
    ):
        Classifier.load(tiny.embedder, device="cpu")


def test_serving_never_imports_torch_transformers_or_optimum(tiny: TinyModels) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from engage_stream.inference import Classifier\n"
        f"Classifier.load(Path({str(tiny.classifier)!r})).predict(['배송이 언제 오나요?'])\n"
        "print(sorted(m for m in ('torch', 'transformers', 'optimum') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
