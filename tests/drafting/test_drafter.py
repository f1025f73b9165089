"""The run-time drafter: retrieval, templates and profile fields, bounded length and time,
odd input, and a folder that is missing or broken failing at load with its path."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from engage_stream.drafting import Drafter, DrafterError, TemplateSet, is_polite
from engage_stream.drafting.bank import load_bank
from engage_stream.drafting.templates import INTENTS, TemplateError
from engage_stream.inference.embedder import Embeddings
from engage_stream.inference.model_folder import sha256_of
from engage_stream.schemas.actions import ModelStamp
from tests.drafting.conftest import TinyDrafter

PROFILES: list[dict[str, object] | None] = [
    None,
    {},
    {"name": "김민지"},
    {"order_id": "ORD-1"},
    {"name": "김민지", "order_id": "ORD-1"},
    {"name": "  ", "order_id": None},
    {"name": "{order_id}", "order_id": "{name}"},
]


@pytest.fixture(scope="module")
def drafter(tiny_drafter: TinyDrafter) -> Iterator[Drafter]:
    with Drafter.load(tiny_drafter.folder, device="cpu") as loaded:
        yield loaded


def _single_answer_question(data: TinyDrafter) -> tuple[str, str]:
    questions = data.data.train_questions
    for question, answer in zip(questions, data.data.train_answers, strict=True):
        if questions.count(question) == 1 and is_polite(answer):
            return question, answer
    raise AssertionError("no training question with a single polite answer")


def test_an_exact_training_question_retrieves_its_bank_answer(
    tiny_drafter: TinyDrafter, drafter: Drafter
) -> None:
    question, answer = _single_answer_question(tiny_drafter)
    draft = drafter.draft(question, intent="statement")
    bank = {r.id: r.text for r in drafter.bank.responses}
    assert bank[draft.response_id or ""] == answer
    assert draft.similarity == pytest.approx(1.0, abs=1e-3)
    assert answer in draft.text
    assert draft.template_id == "statement.reply"
    assert draft.fallback is None


def test_a_draft_is_stamped_with_the_encoder_file_and_timed(
    tiny_drafter: TinyDrafter, drafter: Drafter
) -> None:
    draft = drafter.draft("배송이 언제 오나요?")
    assert draft.model.sha256 == sha256_of(tiny_drafter.folder / "model.int8.onnx")
    assert 0 < draft.latency_ms < 1_000
    assert draft.template_id.startswith("default.")


@pytest.mark.parametrize("intent", [None, *INTENTS])
def test_profile_fields_fill_templates_and_never_leave_placeholders(
    drafter: Drafter, intent: str | None
) -> None:
    for profile in PROFILES:
        for text in ("배송이 언제 오나요?", "", "Where is my order?"):
            draft = drafter.draft(text, intent=intent, profile=profile)
            assert "{" not in draft.text, (profile, draft.text)
            assert "}" not in draft.text, (profile, draft.text)
            assert is_polite(draft.text), draft.text
            assert len(draft.text) <= drafter.templates.max_chars
    named = drafter.draft("배송이 언제 오나요?", intent=intent, profile=PROFILES[4])
    assert named.text.startswith("김민지 고객님")
    assert "ORD-1" in named.text or intent == "fragment"
    assert "김민지" not in drafter.draft("배송이 언제 오나요?", intent=intent).text


def test_a_profile_value_is_one_short_line() -> None:
    templates = TemplateSet.load()
    rendered = templates.render("question", {"name": "김\n민지" + "가" * 100}, None)
    assert "\n" not in rendered.text
    assert "김 민지" + "가" * 26 + " 고객님" in rendered.text  # 30 characters


def test_the_length_is_capped_between_sentences() -> None:
    templates = TemplateSet.load()
    long_answer = " ".join(f"{i}번째 문장이에요." for i in range(60))
    rendered = templates.render(None, {"name": "김민지"}, long_answer)
    assert len(rendered.text) <= templates.max_chars
    assert rendered.truncated
    assert rendered.text.endswith("문장이에요.")
    assert "0번째 문장이에요." in rendered.text


class SlowEncoder:
    """The real encoder, but late: what a stalled or overloaded CPU looks like."""

    def __init__(self, inner: Drafter, seconds: float) -> None:
        self.inner = inner.encoder
        self.seconds = seconds

    @property
    def stamp(self) -> ModelStamp:
        return self.inner.stamp

    def embed(self, texts: Sequence[str]) -> Embeddings:
        time.sleep(self.seconds)
        return self.inner.embed(texts)

    def close(self) -> None:
        pass


@pytest.fixture
def slow(drafter: Drafter) -> Iterator[Drafter]:
    late = Drafter(SlowEncoder(drafter, 0.5), drafter.bank, drafter.templates, budget_ms=50)
    yield late
    late.close()


def test_past_the_deadline_the_draft_is_the_intent_template_alone(slow: Drafter) -> None:
    started = time.perf_counter()
    draft = slow.draft("배송이 언제 오나요?", intent="question", profile={"name": "김민지"})
    assert time.perf_counter() - started < 0.4
    assert draft.fallback == "deadline"
    assert draft.template_id == "question.fallback"
    assert draft.response_id is None
    assert draft.similarity is None
    assert draft.text.startswith("김민지 고객님")
    assert is_polite(draft.text)


async def test_the_async_path_keeps_the_deadline_and_the_loop_free(slow: Drafter) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    draft = await slow.adraft("배송이 언제 오나요?", intent="command")
    ticker.cancel()
    assert draft.fallback == "deadline"
    assert draft.template_id == "command.fallback"
    assert ticks >= 3, "the event loop ran while the encoder was busy"


async def test_adraft_gives_what_draft_gives(drafter: Drafter) -> None:
    for text in ("배송이 언제 오나요?", "환불해 주세요", ""):
        sync = drafter.draft(text, intent="question", profile={"order_id": "ORD-7"})
        both = await drafter.adraft(text, intent="question", profile={"order_id": "ORD-7"})
        assert (both.text, both.response_id, both.fallback) == (
            sync.text,
            sync.response_id,
            sync.fallback,
        )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty_input"),
        ("   \n\t", "empty_input"),
        ("Where is my order?", "not_korean"),
        ("12345 !!!", "not_korean"),
    ],
)
def test_input_with_nothing_to_retrieve_by_gets_the_fallback(
    drafter: Drafter, text: str, reason: str
) -> None:
    draft = drafter.draft(text, intent="question")
    assert draft.fallback == reason
    assert draft.template_id == "question.fallback"
    assert draft.text
    assert is_polite(draft.text)


def test_huge_input_is_cut_before_the_encoder(drafter: Drafter) -> None:
    draft = drafter.draft("배송이 언제 오나요? " * 50_000)
    assert draft.similarity is not None, "the encoder ran on the cut text"
    assert draft.fallback in (None, "low_similarity")
    assert draft.latency_ms < 1_000


def test_nothing_similar_enough_gives_the_fallback(drafter: Drafter) -> None:
    strict = drafter.bank.manifest.model_copy(update={"min_similarity": 1.0})
    bank = type(drafter.bank)(
        strict, drafter.bank.responses, drafter.bank.vectors, drafter.bank.row_response
    )
    picky = Drafter(drafter.encoder, bank, drafter.templates)
    draft = picky.draft("택배 상자가 찌그러져서 왔어요 확인 부탁드려요")
    assert draft.fallback == "low_similarity"
    assert draft.response_id is None
    assert draft.similarity is not None
    assert draft.similarity < 1.0


def test_an_unknown_intent_is_refused(drafter: Drafter) -> None:
    with pytest.raises(ValueError, match="unknown intent 'greeting'"):
        drafter.draft("안녕하세요", intent="greeting")


# --- load errors ------------------------------------------------------------------------


@pytest.fixture
def copy(tiny_drafter: TinyDrafter, tmp_path: Path) -> Path:
    target = tmp_path / "drafter-ko"
    shutil.copytree(tiny_drafter.folder, target)
    return target


def _load_error(path: Path) -> str:
    with pytest.raises(DrafterError) as info:
        Drafter.load(path, device="cpu")
    assert str(path) in str(info.value)
    return info.value.problem


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    assert "not found" in _load_error(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "name", ["responses.npy", "responses.jsonl", "drafter.json", "templates.yaml"]
)
def test_a_missing_file_is_named(copy: Path, name: str) -> None:
    (copy / name).unlink()
    assert f"{name} missing" in _load_error(copy)


def test_corrupt_vectors_are_reported(copy: Path) -> None:
    (copy / "responses.npy").write_bytes(b"not numpy at all")
    assert "responses.npy is not a NumPy array file" in _load_error(copy)


def test_vectors_of_the_wrong_shape_are_reported(copy: Path) -> None:
    vectors = np.load(copy / "responses.npy")
    np.save(copy / "responses.npy", vectors[:-1])
    assert "responses.npy has shape" in _load_error(copy)


def test_a_bad_response_line_is_reported_with_its_number(copy: Path) -> None:
    lines = (copy / "responses.jsonl").read_text(encoding="utf-8").split("\n")
    lines[2] = '{"id": "r1", "text": ""'
    (copy / "responses.jsonl").write_text("\n".join(lines), encoding="utf-8")
    assert "responses.jsonl:3:" in _load_error(copy)


def test_a_manifest_that_is_not_json_is_reported(copy: Path) -> None:
    (copy / "drafter.json").write_text("{", encoding="utf-8")
    assert "drafter.json" in _load_error(copy)


def test_vectors_from_another_encoder_are_refused(copy: Path) -> None:
    manifest = json.loads((copy / "drafter.json").read_text())
    manifest["encoder_sha256"] = "0" * 64
    (copy / "drafter.json").write_text(json.dumps(manifest))
    assert "made by another encoder file" in _load_error(copy)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("고객님, 안녕하세요.", "고객님, 안녕."), "does not end politely"),
        (("{order_id}", "{phone}"), "unknown fields ['phone']"),
        (("max_chars: 200", "max_chars: [1"), "not readable YAML"),
    ],
)
def test_broken_templates_fail_at_load(copy: Path, change: tuple[str, str], problem: str) -> None:
    file = copy / "templates.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace(*change), encoding="utf-8")
    assert problem in _load_error(copy)
    with pytest.raises(TemplateError, match=str(file)):
        TemplateSet.load(file)


def test_the_bank_rows_follow_the_responses(tiny_drafter: TinyDrafter) -> None:
    bank = load_bank(tiny_drafter.folder)
    assert bank.manifest.index_by == "question"
    assert bank.vectors.shape[0] == sum(len(r.questions) for r in bank.responses)
    assert np.allclose(np.linalg.norm(bank.vectors, axis=1), 1.0, atol=1e-4)
    assert all(is_polite(r.text) for r in bank.responses)


def test_an_answer_without_a_full_stop_gets_one_before_the_next_sentence() -> None:
    rendered = TemplateSet.load().render("question", None, "친구로 생각하고 있어요")
    assert "친구로 생각하고 있어요. 자세한 내용은" in rendered.text
