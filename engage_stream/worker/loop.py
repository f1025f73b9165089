"""The worker's event loop, chosen before Faust creates it (`ENGAGE_EVENT_LOOP`)."""

from __future__ import annotations

from typing import Literal

EventLoop = Literal["uvloop", "asyncio"]


def use_event_loop(name: EventLoop) -> None:
    """uvloop runs asyncio's tasks, callbacks and sockets in C: Faust hands every record
    through several of each, so the loop is a large share of a record's cost."""
    if name == "uvloop":
        import mode.loop

        mode.loop.use("uvloop")
