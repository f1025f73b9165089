"""The HTML report: self-contained, escaped, readable; rendered by a real browser if any."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from engage_stream.evaluation import evaluate, load_labels_file, load_run_dir, write_report
from engage_stream.evaluation.report import render_html
from tests.evaluation.builders import two_runs
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


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_a_headless_browser_renders_the_report(realistic: Path, tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip(
            "no Chromium or Chrome on this machine (the project does not install one; "
            "`apt-get install chromium` adds it)"
        )
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            realistic.as_uri(),
        ],
        capture_output=True,
        timeout=90,
        check=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )

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
