"""`engage-stream draft` prints the draft a handoff would carry; `bank check|build` refuse a
bad bank by answer id; `bench drafter` writes its results."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from engage_stream.cli.app import app
from tests.drafting.conftest import SHOP_BANK


def test_draft_answers_a_shipped_order_s_question_with_its_facts() -> None:
    result = CliRunner().invoke(
        app,
        [
            "draft",
            "주문한 패딩 언제 와요?",
            "--name",
            "김하준",
            "--order-status",
            "shipped",
            "--carrier",
            "CJ대한통운",
            "--tracking",
            "612345678901",
            "--eta",
            "2026-12-03",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("김하준 고객님, 안녕하세요.")
    assert "612345678901" in result.stdout


def test_draft_json_carries_the_kind_the_suggestions_and_the_stamps() -> None:
    result = CliRunner().invoke(app, ["draft", "배송비 얼마예요?", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["kind"] in ("general", "no_answer")
    assert all(not s["grounded"] for s in record["suggestions"])
    assert {m["name"] for m in record["models"]} >= {"sample-shop"}


def test_draft_refuses_an_order_state_it_does_not_know() -> None:
    result = CliRunner().invoke(app, ["draft", "언제 와요", "--order-status", "lost"])
    assert result.exit_code == 2


def test_bank_check_accepts_the_sample_shop_s_bank() -> None:
    result = CliRunner().invoke(app, ["bank", "check", str(SHOP_BANK)])
    assert result.exit_code == 0, result.output
    assert "valid, sample-shop" in result.stdout


def test_bank_check_names_the_answer_and_the_problem(tmp_path: Path) -> None:
    document = yaml.safe_load(SHOP_BANK.read_text(encoding="utf-8"))
    document["answers"][5]["answer"] = "그건 모름. {nothing} 확인해."
    bad = tmp_path / "bank.yaml"
    bad.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["bank", "check", str(bad)])
    assert result.exit_code == 1
    assert f"answer {document['answers'][5]['id']}: unknown fields ['nothing']" in result.output


def test_bank_build_writes_a_folder_the_drafter_loads(tmp_path: Path) -> None:
    out = tmp_path / "bank"
    result = CliRunner().invoke(app, ["bank", "build", str(SHOP_BANK), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "bank.json").is_file()
    assert "rows embedded by" in result.stdout


def test_bench_drafter_writes_hit_rates_and_latency(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "drafter", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "drafter.json").read_text())
    names = [v["name"] for v in record["variants"]]
    assert names[0] == "lexical"
    assert names[-2:] == ["tuned on the tuning half (grid)", "shipped (the bank's manifest)"]
    assert record["shipped"] == names[-1]
    assert record["p95_ms"] > 0
    assert record["machine"]["command"].startswith("engage-stream")
    assert "| retrieval | min_score | hit@1 |" in (tmp_path / "drafter.md").read_text()
