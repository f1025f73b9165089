"""Every log record is masked before it is rendered, ours and the libraries' alike."""

from __future__ import annotations

import io
import json
import logging

import structlog

from engage_stream.observability.logs import configure_logging, get_logger


def _lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line.strip()]


def test_production_logs_are_json_lines_with_personal_data_masked() -> None:
    out = io.StringIO()
    configure_logging("INFO", json=True, stream=out)
    get_logger("engage.test").info(
        "handoff_created",
        customer_id="C00042",
        name="홍길동",
        last_message="상담원 연결요 010-1234-5678, 메일 gildong@example.com",
    )
    (line,) = _lines(out)
    record = json.loads(line)
    assert record["event"] == "handoff_created"
    assert record["level"] == "info"
    assert record["customer_id"] == "C00042"
    assert record["name"] == "홍*동"
    assert record["last_message"] == "상담원 연결요 010-****-5678, 메일 g***@example.com"
    assert "1234" not in line
    assert "gildong" not in line


def test_library_log_records_are_masked_too() -> None:
    out = io.StringIO()
    configure_logging("INFO", json=True, stream=out)
    logging.getLogger("aiokafka.consumer").warning("bad record from 900101-1234567")
    (line,) = _lines(out)
    assert json.loads(line)["event"] == "bad record from ******-*******"


def test_exceptions_are_rendered_and_masked() -> None:
    out = io.StringIO()
    configure_logging("INFO", json=True, stream=out)
    try:
        raise ValueError("card 4111 1111 1111 1111 declined")
    except ValueError:
        get_logger("engage.test").exception("payment_failed")
    record = json.loads(_lines(out)[0])
    assert "ValueError: card ****-****-****-1111 declined" in record["exception"]
    assert "4111 1111" not in out.getvalue()


def test_development_logs_are_readable_and_masked() -> None:
    out = io.StringIO()
    configure_logging("DEBUG", json=False, stream=out)
    get_logger("engage.test").debug("profile_loaded", phone="01012345678")
    (line,) = _lines(out)
    assert "profile_loaded" in line
    assert "phone=010-****-5678" in line
    assert not line.startswith("{")


def test_the_level_filters_records() -> None:
    out = io.StringIO()
    configure_logging("WARNING", json=True, stream=out)
    get_logger("engage.test").info("quiet")
    get_logger("engage.test").warning("loud")
    assert [json.loads(line)["event"] for line in _lines(out)] == ["loud"]
    structlog.reset_defaults()
