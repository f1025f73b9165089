"""Replay on a real broker: it reproduces the live run, a new policy shows its effect, outputs
never reach live topics, and an interrupted run resumes without gaps or duplicates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engage_stream.brokers import BrokerProcess
from engage_stream.config.settings import PROJECT_ROOT, load_settings
from engage_stream.core.processor import EngagementCore
from engage_stream.kafka.topics import TopicRole, load_topics
from engage_stream.policy.policy_file import load_policy
from engage_stream.replay import checkpoint as checkpoints
from engage_stream.replay.ranges import RangeSpec
from engage_stream.replay.runner import ReplayProgress, ReplayRunner, plan
from engage_stream.replay.sinks import DirectorySink, LiveTopicError, ShadowTopics
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.serving.models import load_models
from engage_stream.step.outputs import Output
from tests.worker.pipeline import Pipeline, json_lines, replay_command

pytestmark = pytest.mark.broker

EVENTS = 600
INVALID = [b"{oops", b"\xff\xfe"]


@pytest.fixture(scope="module", params=["tansu", "kafka"])
def lived(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """A stream the live worker (fp32) has fully processed, once per broker for the module."""
    broker: BrokerProcess = request.getfixturevalue(
        "tansu" if request.param == "tansu" else "apache_kafka"
    )
    pipe = Pipeline(broker, tmp_path_factory.mktemp("live"))
    stream = SampleStream(SampleConfig(customers=80, seed=5))
    pipe.send_samples(profiles=stream.profiles)
    pipe.flush()
    with pipe.worker(ENGAGE_MODEL_PRECISION="fp32"):
        pipe.wait_for_profiles(80)
        pipe.send_samples(events=stream.events(EVENTS))
        for raw in INVALID:
            pipe.send(TopicRole.EVENTS, raw, b"C-BAD")
        pipe.flush()
        pipe.wait_for_count(TopicRole.ENRICHED, EVENTS, timeout_s=180)
        pipe.wait_for_count(TopicRole.DLQ, len(INVALID))
    yield pipe
    pipe.close()


def _replay(
    pipe: Pipeline, runs: Path, run_id: str, *args: str
) -> subprocess.CompletedProcess[str]:
    # The live workers here tick no idle partition (tests/worker/pipeline.py), so neither
    # does the replay at its end: held offers go by stream time alone in both.
    return replay_command(pipe, runs, run_id, "--advance-to", "none", *args)


_lines = json_lines


def _decisions(records: list[dict[str, Any]]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        r["event"]["event_id"]: [
            (d["kind"], d["rule"], d["action_id"], tuple(d["reasons"])) for d in r["decisions"]
        ]
        for r in records
        if not r["duplicate_of"]
    }


def _ids(records: list[dict[str, Any]], key: str) -> set[str]:
    return {r[key] for r in records}


def test_replay_with_the_same_models_and_policy_reproduces_the_live_run(
    lived: Pipeline, tmp_path: Path
) -> None:
    result = _replay(lived, tmp_path, "same")
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "same"
    replayed = _lines(run / "enriched.jsonl")
    live = lived.read(TopicRole.ENRICHED)
    assert len(replayed) == EVENTS
    assert _decisions(replayed) == _decisions(live)
    assert {r["run_id"] for r in replayed} == {"same"}
    for role, key in (
        (TopicRole.ACTIONS_HANDOFF, "action_id"),
        (TopicRole.ACTIONS_EMAIL, "action_id"),
        (TopicRole.SUPPRESSIONS, "suppression_id"),
    ):
        assert _ids(_lines(run / f"{role.value}.jsonl"), key) == _ids(lived.read(role), key)
    dead = {(r["source_partition"], r["source_offset"]) for r in _lines(run / "dlq.jsonl")}
    assert dead == {(r["source_partition"], r["source_offset"]) for r in lived.read(TopicRole.DLQ)}
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["events"] == EVENTS + len(INVALID)
    assert manifest["policy_version"]
    assert {m["name"] for m in manifest["models"]} == {
        "multihead-ko",
        "topic-grams-ko",
        "sample-shop",
    }


def test_replay_with_another_policy_changes_exactly_what_the_policy_changed(
    lived: Pipeline, tmp_path: Path
) -> None:
    document = yaml.safe_load((PROJECT_ROOT / "infra/policies.yaml").read_text("utf-8"))
    document["version"] = "no-carts"
    document["outbound"]["rules"]["abandoned_cart"]["enabled"] = False
    policy = tmp_path / "no-carts.yaml"
    policy.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    result = _replay(lived, tmp_path, "no-carts", "--policy", str(policy))
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "no-carts"

    # Computed independently from the input events: every cart over the minimum value.
    events = [
        json.loads(r["event"]["payload"] and json.dumps(r["event"]))
        for r in lived.read(TopicRole.ENRICHED)
    ]
    carts = {
        e["event_id"]
        for e in events
        if e["event_type"] == "cart.abandoned" and e["payload"]["value_krw"] >= 10_000
    }
    assert carts, "the sample stream should hold abandoned carts"
    messages = _lines(run / "actions_email.jsonl")
    assert not any(m["template_id"].startswith("abandoned_cart") for m in messages)
    disabled = [s for s in _lines(run / "suppressions.jsonl") if s["reason"] == "rule_disabled"]
    assert {s["source_event_id"] for s in disabled} == carts
    assert {r["policy_version"] for r in _lines(run / "enriched.jsonl")} == {"no-carts"}
    # Handoffs do not depend on the cart rule: the same as live.
    assert _ids(_lines(run / "actions_handoff.jsonl"), "action_id") == _ids(
        lived.read(TopicRole.ACTIONS_HANDOFF), "action_id"
    )


def test_replay_cannot_write_to_live_topics(lived: Pipeline, tmp_path: Path) -> None:
    topics = load_topics(lived.topics_file)
    # A topics file whose live e-mail topic is named like run r1's shadow enriched topic.
    spec = yaml.safe_load(lived.topics_file.read_text("utf-8"))
    shadow_name = f"{topics.shadow_prefix}.r1.{topics.name(TopicRole.ENRICHED)}"
    spec["topics"]["actions_email"]["name"] = shadow_name
    clash = tmp_path / "clash.yaml"
    clash.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(LiveTopicError):
        ShadowTopics(lived.connection, load_topics(clash), "r1", create=False)
    with pytest.raises(ValueError, match="run id"):
        ShadowTopics(lived.connection, topics, "r1.engage", create=False)
    shadow = ShadowTopics(lived.connection, topics, "guarded", create=False)
    shadow.names[TopicRole.ACTIONS_EMAIL] = topics.name(TopicRole.ACTIONS_EMAIL)
    with pytest.raises(LiveTopicError):
        shadow.write(Output(TopicRole.ACTIONS_EMAIL, b"C1", b'{"action_id":"x"}'))
    shadow.close()
    # And the command itself writes shadow topics, leaving the live ones as they were.
    before = {role: len(lived.read(role)) for role in (TopicRole.ENRICHED, TopicRole.ACTIONS_EMAIL)}
    result = _replay(lived, tmp_path, "shadowed", "--sink", "shadow")
    assert result.returncode == 0, result.stderr[-3000:]
    assert {role: len(lived.read(role)) for role in before} == before
    from engage_stream.kafka.reader import read_to_end

    shadow_enriched = f"{topics.shadow_prefix}.shadowed.{topics.name(TopicRole.ENRICHED)}"
    assert sum(1 for _ in read_to_end(lived.connection, shadow_enriched)) == EVENTS


class _StopError(Exception):
    pass


def _runner(pipe: Pipeline, run_dir: Path, stop_after: int | None) -> ReplayRunner:
    topics = load_topics(pipe.topics_file)
    work = plan(
        pipe.connection,
        topics.name(TopicRole.EVENTS),
        topics.name(TopicRole.CUSTOMERS),
        RangeSpec(),
        None,
    )
    policy = load_policy(PROJECT_ROOT / "infra/policies.yaml")
    # The draft budget is the one clock input of an action: on a loaded machine a draft over
    # it falls back to n-grams alone, and the two runs compared here would differ by chance.
    drafting = policy.handoff.drafting.model_copy(update={"budget_ms": 60_000.0})
    handoff = policy.handoff.model_copy(update={"drafting": drafting})
    policy = policy.model_copy(update={"handoff": handoff})
    scorer, drafter = load_models(load_settings(device="cpu"), policy, "fp32")
    core = EngagementCore(policy, drafter, "r")

    def progress(state: ReplayProgress) -> None:
        if stop_after is not None and state.processed >= stop_after:
            raise _StopError

    return ReplayRunner(
        pipe.connection, work, scorer, core, DirectorySink(run_dir), run_dir,
        run_id="r", batch_size=64, checkpoint_every=100, progress=progress,
    )  # fmt: skip


def test_an_interrupted_replay_resumes_without_gaps_or_duplicates(
    lived: Pipeline, tmp_path: Path
) -> None:
    whole = tmp_path / "whole"
    _runner(lived, whole, None).run()

    parts = tmp_path / "parts"
    first = _runner(lived, parts, stop_after=350)
    with pytest.raises(_StopError):
        first.run()
    first.sink.close()
    saved = checkpoints.load(parts)
    assert saved is not None
    assert not saved.done
    assert 0 < saved.in_range < EVENTS
    second = _runner(lived, parts, None)
    second.run(resume=saved)
    second.sink.close()

    for name in ("enriched", "actions_handoff", "actions_email", "suppressions", "dlq"):
        resumed = _lines(parts / f"{name}.jsonl")
        straight = _lines(whole / f"{name}.jsonl")
        strip = [
            {k: v for k, v in r.items() if k not in {"processed_at", "created_at", "failed_at"}}
            for r in resumed
        ]
        expect = [
            {k: v for k, v in r.items() if k not in {"processed_at", "created_at", "failed_at"}}
            for r in straight
        ]
        assert sorted(map(json.dumps, strip)) == sorted(map(json.dumps, expect)), name


def _eval(pipe: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")}
    env["ENGAGE_TOPICS_FILE"] = str(pipe.topics_file)
    return subprocess.run(
        [sys.executable, "-m", "engage_stream", "eval", "--bootstrap", pipe.broker.bootstrap,
         *args],
        capture_output=True, text=True, env=env, timeout=300, check=False, cwd=PROJECT_ROOT,
    )  # fmt: skip


def test_labelled_stream_live_and_replayed_with_other_model_files_evaluates_as_computed_here(
    lived: Pipeline, tmp_path: Path
) -> None:
    live = [r for r in lived.read(TopicRole.ENRICHED) if not r["duplicate_of"]]
    predicted = {
        r["event"]["event_id"]: r["predictions"]["intent"]["label"]
        for r in live
        if r["predictions"] and r["predictions"]["intent"]
    }
    # Labels: agree with the live prediction for two events in three, "statement" or
    # "question" (whichever it is not) for the third.
    labels: dict[str, str] = {}
    for n, (event_id, label) in enumerate(sorted(predicted.items())):
        other = "question" if label == "statement" else "statement"
        labels[event_id] = label if n % 3 else other
    labels_file = tmp_path / "labels.jsonl"
    labels_file.write_text(
        "".join(json.dumps({"event_id": e, "intent": i}) + "\n" for e, i in labels.items()),
        encoding="utf-8",
    )
    expected_accuracy = sum(labels[e] == predicted[e] for e in labels) / len(labels)

    # The int8 files are other model files (other sha256) of the same weights.
    result = _replay(lived, tmp_path, "int8", "--precision", "int8")
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "eval"
    result = _eval(
        lived, "--run", str(tmp_path / "int8"), "--baseline", "live",
        "--labels", str(labels_file), "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "eval.json").read_text(encoding="utf-8"))

    baseline = report["baseline"]["classification"]["intent"]
    assert baseline["n"] == len(labels)
    assert baseline["accuracy"] == pytest.approx(expected_accuracy)
    replayed = report["run"]["classification"]["intent"]
    assert replayed["n"] == len(labels)
    replay_records = _lines(tmp_path / "int8" / "enriched.jsonl")
    replay_predicted = {
        r["event"]["event_id"]: r["predictions"]["intent"]["label"]
        for r in replay_records
        if r["predictions"] and r["predictions"]["intent"]
    }
    assert replayed["accuracy"] == pytest.approx(
        sum(labels[e] == replay_predicted[e] for e in labels) / len(labels)
    )
    comparison = report["comparison"]
    assert comparison["shared"] == EVENTS
    agreement = comparison["agreement"]["intent"]
    assert agreement["rate"] == pytest.approx(
        sum(replay_predicted[e] == predicted[e] for e in predicted) / len(predicted)
    )
    assert agreement["rate"] > 0.95  # int8 moves scores a little, labels rarely
    # The encoder's int8 file is another file; the n-gram topic model has one for both.
    grams = "topic-grams-ko"
    live_stamps = {m["sha256"] for r in live for m in r["models"] if m["name"] != grams}
    replay_stamps = {m["sha256"] for r in replay_records for m in r["models"] if m["name"] != grams}
    assert live_stamps.isdisjoint(replay_stamps)
    assert (
        len({m["sha256"] for r in live + replay_records for m in r["models"] if m["name"] == grams})
        == 1
    )
    assert (out / "report.html").read_text(encoding="utf-8").count("<table") > 3


def test_eval_of_a_replay_scores_topics_and_answers_against_the_stream_s_labels(
    lived: Pipeline, tmp_path: Path
) -> None:
    """The sample stream labels its shop questions (topic, answer id); `eval` on a replay
    of it reports topic accuracy and the drafts' hit rates."""
    assert _replay(lived, tmp_path, "labelled").returncode == 0
    labels = tmp_path / "labels.jsonl"
    stream = SampleStream(SampleConfig(customers=80, seed=5))
    with labels.open("w", encoding="utf-8") as handle:
        for _, label in stream.labelled(EVENTS):
            if label is not None:
                handle.write(json.dumps(label, ensure_ascii=False) + "\n")
    out = tmp_path / "eval"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")}
    done = subprocess.run(
        [sys.executable, "-m", "engage_stream", "eval", "--run", str(tmp_path / "labelled"),
         "--labels", str(labels), "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=False, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    evaluation = json.loads((out / "eval.json").read_text())
    topic = evaluation["run"]["classification"]["topic"]
    assert topic["n"] >= 20
    assert topic["accuracy"] > 0.6
    drafts = evaluation["run"]["drafts"]
    assert drafts["drafts"] > 0
    assert drafts["judged"] > 0
    assert drafts["hit_at_3"] > 0.3
    assert "Drafted answers" in (out / "report.html").read_text()
