"""structlog set-up: JSON lines in production, a readable console in development.

Every record, ours and those of Faust, aiokafka and kafka-python, passes through
`redact_personal_data` before it is rendered, so personal data never reaches a log.
Logs go to stderr; stdout stays free for command output such as JSON lines.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from engage_stream.privacy.pii import mask_value

_QUIET_LIBRARIES = ("kafka", "aiokafka", "faust", "mode")


def redact_personal_data(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    return {key: mask_value(key, value) for key, value in event_dict.items()}


def configure_logging(
    level: str = "INFO", json: bool = False, stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging through one redacting pipeline."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact_personal_data,
    ]
    out = stream or sys.stderr
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=out.isatty(), exception_formatter=str)  # type: ignore[arg-type]
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.getLevelName(level), logging.WARNING))
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str, **context: Any) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name, **context)
    return logger
