"""The HTML report: self-contained, escaped, readable; rendered by a real browser if any."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import pytest

from engage_stream.evaluation import evaluate, load_labels_file, load_run_dir, write_report
from engage_stream.evaluation.labels import Label, labels_from
from engage_stream.evaluation.report import environment, render_html
from engage_stream.evaluation.runs import Run
from engage_stream.schemas.actions import ModelStamp
from engage_stream.schemas.enriched import PredictionView
from tests.evaluation import browser
from tests.evaluation.browser import screenshot
from tests.evaluation.builders import enriched, handoff_decision, two_runs
from tests.evaluation.html_check import read_page
from tests.evaluation.realistic import build

SECTIONS = [
    "summary",
    "models",
    "handoff",
    "drafts",
    "rates",
    "outcomes",
    "latency",
    "comparison",
    "notes",
]


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """eval.json and report.html of the realistic pair of runs (live vs a replay)."""
    directory = tmp_path_factory.mktemp("realistic")
    runs = build(directory, count=600)
    evaluation = evaluate(
        load_run_dir(runs.candidate),
        load_run_dir(runs.baseline),
        load_labels_file(runs.labels),
        examples=3,
    )
    return write_report(evaluation, directory / "out").html


def test_the_report_is_one_self_contained_page(realistic: Path) -> None:
    html = realistic.read_text(encoding="utf-8")
    page = read_page(html)

    assert html.startswith("<!DOCTYPE html>")
    assert page.meta_charset == "utf-8"
    assert page.section_ids == SECTIONS
    assert "script" not in page.tags
    assert "link" not in page.tags
    assert "img" not in page.tags
    assert page.external == []
    assert page.tags.count("svg") >= 3  # rates, reasons, latency histogram and CDF
    assert '"Noto Sans KR"' in html
    assert "Malgun Gothic" in html


def test_the_realistic_report_carries_its_numbers(realistic: Path) -> None:
    document = json.loads((realistic.parent / "eval.json").read_text(encoding="utf-8"))
    page = read_page(realistic.read_text(encoding="utf-8"))

    assert document["run"]["summary"]["run_id"] == "r-2026-12-01-a"
    assert document["baseline"]["latency"]["end_to_end"] is True
    accuracy = document["run"]["classification"]["intent"]["accuracy"]
    assert f"{100 * accuracy:.1f}%" in page.text
    matrix = document["run"]["classification"]["intent"]["confusion"]
    name = "intent · run r-2026-12-01-a"
    for i, truth in enumerate(matrix["labels"]):
        for j, predicted in enumerate(matrix["labels"]):
            assert page.cells[(name, truth, predicted)] == str(matrix["matrix"][i][j])


def _png_size_and_colors(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct values in the first rows of pixel bytes): enough to tell
    a real page from a blank one, without an imaging library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, at = [], 8
    while at < len(data):
        length = struct.unpack(">I", data[at : at + 4])[0]
        kind = data[at + 4 : at + 8]
        if kind == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    pixels = zlib.decompress(b"".join(chunks))
    return width, height, len(set(pixels[: 4 * width * 400]))


def test_a_headless_browser_renders_the_report(realistic: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    screenshot(realistic, shot, home=tmp_path, size=(1280, 2000))

    width, height, distinct = _png_size_and_colors(shot)

    assert (width, height) == (1280, 2000)
    assert shot.stat().st_size > 30_000
    assert distinct > 16  # text, cards and heat maps: not a single colour


def test_every_text_is_escaped() -> None:
    baseline, run = two_runs()
    html = render_html(evaluate(run, baseline))
    page = read_page(html)

    assert "&lt;b&gt;빨리&lt;/b&gt;" in html  # a customer's markup stays text
    assert "<b>빨리</b>" in page.text
    assert "b" not in page.tags
    assert "010-****-5678" in page.text
    assert "010-1234-5678" not in html


HOSTILE = '<script>alert(1)</script> "고객" & co'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &#34;고객&#34; &amp; co"


def _hostile_runs() -> tuple[Run, Run]:
    """The hostile string as customer text, label, model name and version, run id, run
    source, decision reason and detail: every kind of data the page shows."""
    stamp = ModelStamp(name=HOSTILE, version=HOSTILE, sha256="3" * 64)
    baseline = Run(run_id=HOSTILE, source=f"/runs/{HOSTILE}")
    run = Run(run_id="r1", source="/runs/r1")
    decision = handoff_decision("E1", reasons=[HOSTILE]).model_copy(update={"detail": HOSTILE})
    for target, intent, decisions in ((baseline, HOSTILE, [decision]), (run, "statement", [])):
        record = enriched("E1", HOSTILE, intent=intent, decisions=decisions, run_id=target.run_id)
        assert record.predictions is not None
        view = PredictionView(label=intent, score=0.9, model=stamp)
        target.add_enriched(
            record.model_copy(
                update={
                    "models": [stamp],
                    "predictions": record.predictions.model_copy(update={"intent": view}),
                }
            )
        )
    return baseline, run


def test_markup_in_the_data_is_escaped_everywhere_it_is_shown() -> None:
    baseline, run = _hostile_runs()
    labels = labels_from(
        [Label(event_id="E1", intent=HOSTILE, handoff_needed=True)], f"/labels/{HOSTILE}.jsonl"
    )
    html = render_html(evaluate(run, baseline, labels))
    page = read_page(html)

    assert "<script" not in html
    assert "script" not in page.tags
    assert '"고객"' not in html
    assert "& co" not in html
    assert html.count(ESCAPED) >= 10
    assert f"<title>engage-stream evaluation: r1 vs baseline {ESCAPED}</title>" in html
    assert f"Labels: 1 event ids from /labels/{ESCAPED}.jsonl" in html
    assert f"<td>{ESCAPED} {ESCAPED}</td>" in html  # model name and version, summary table
    assert f'<div class="text" lang="ko">{ESCAPED}</div>' in html  # the customer's text
    assert f'title="{ESCAPED}"' in html  # the decision's detail, as a pill's tooltip
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert any(f">baseline {ESCAPED}</text>" in chart for chart in charts)  # baseline in a legend
    assert not any(HOSTILE in chart for chart in charts)
    # Attributes stay whole: the grids read back with the hostile label as truth and name.
    assert page.cells[(f"intent · baseline {HOSTILE}", HOSTILE, HOSTILE)] == "1"
    assert page.cells[("intent · run r1", HOSTILE, "statement")] == "1"
    assert HOSTILE in page.text


def test_every_template_is_autoescaped_and_nothing_is_marked_safe() -> None:
    env = environment()
    names = env.list_templates()

    assert env.autoescape is True  # for every name, not only *.html
    assert env.from_string("{{ x }}").render(x="<b>&") == "&lt;b&gt;&amp;"
    assert {"report.html.j2", "charts.html.j2", "sections/comparison.html.j2"} <= set(names)
    assert env.loader is not None
    for name in names:
        source = env.loader.get_source(env, name)[0]
        for unsafe in (r"\|\s*safe\b", r"\bMarkup\b", r"\{%-?\s*autoescape"):
            assert re.search(unsafe, source) is None, f"{name} matches {unsafe}"


def test_without_chromium_the_browser_test_skips_here_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "UNPACKED", tmp_path / "none")
    monkeypatch.setattr(browser, "ON_PATH", ())
    monkeypatch.delenv("CHROMIUM_BIN", raising=False)

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        browser.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI"):
        browser.require_chromium()


def test_a_chromium_that_does_not_start_fails_the_test(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\necho 'cannot open shared object file' >&2\nexit 127\n")
    broken.chmod(0o755)
    monkeypatch.setenv("CHROMIUM_BIN", str(broken))

    with pytest.raises(pytest.fail.Exception, match="cannot open shared object file"):
        screenshot(tmp_path / "page.html", tmp_path / "shot.png", tmp_path, (10, 10))
