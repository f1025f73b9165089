"""`load_models`: what both shells serve, loaded once and checked against the policy and
the knowledge bank before the first event; each problem names the setting to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engage_stream.config.settings import Settings
from engage_stream.policy.policy_file import load_policy
from engage_stream.serving.models import StartupError, load_models

SETTINGS = Settings(device="cpu")
POLICY = load_policy(SETTINGS.policy_file)


def test_the_registry_s_folders_serve_every_head_and_the_drafter_their_bank() -> None:
    scorer, drafter = load_models(SETTINGS, POLICY)
    with scorer, drafter:
        assert {stamp.name for stamp in scorer.stamps} == {"multihead-ko", "topic-grams-ko"}
        assert "delivery_status" in scorer.labels("topic")
        assert drafter.bank.stamp.name == "sample-shop"


def test_the_drafter_reads_question_vectors_from_the_scoring_pass_of_the_same_file() -> None:
    scorer, drafter = load_models(SETTINGS, POLICY)
    with scorer, drafter:
        assert drafter.vectors is not None
        assert drafter.vectors is scorer.vectors
        assert drafter.encoder is not None
        assert drafter.vectors.stamp.sha256 == drafter.encoder.stamp.sha256


def test_a_replay_at_another_precision_than_the_bank_s_encodes_questions_itself() -> None:
    scorer, drafter = load_models(SETTINGS, POLICY, precision="fp32")  # the bank: int8
    with scorer, drafter:
        assert drafter.vectors is None


def test_a_missing_head_folder_is_named_by_its_setting(tmp_path: Path) -> None:
    settings = Settings(device="cpu", model_topic=str(tmp_path / "nothing-here"))
    with pytest.raises(StartupError) as raised:
        load_models(settings, POLICY)
    (problem,) = raised.value.problems
    assert problem.startswith("ENGAGE_MODEL_INTENT / _TOXICITY / _TOPIC:")
    assert "nothing-here" in problem


def test_a_topic_the_policy_names_but_no_head_has_stops_the_start(tmp_path: Path) -> None:
    document = yaml.safe_load(SETTINGS.policy_file.read_text(encoding="utf-8"))
    rules = document["outbound"]["rules"]["inbound_answer"]
    rules["auto_answer_topics"] = [*rules["auto_answer_topics"], "warranty_claim"]
    changed = tmp_path / "policies.yaml"
    changed.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(StartupError) as raised:
        load_models(SETTINGS, load_policy(changed))
    assert any(
        p.startswith("ENGAGE_POLICY_FILE:") and "warranty_claim" in p for p in raised.value.problems
    )
