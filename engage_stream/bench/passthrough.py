"""A two-stage Faust passthrough: the anchor the live worker's rate is measured against.

The same two hops as the worker (events -> a middle topic in batches, then one record at a
time to an output topic), on the same broker and machine, through the same transport
(`engage://`: its fetch wait and offset handling) and producer settings, with no decoding,
models, state or decisions. What the worker reaches as a share of this is the cost of its own work.

Run as `python -m engage_stream.bench.passthrough BOOTSTRAP GROUP SOURCE MIDDLE SINK [LOOP]`
(LOOP: the event loop, `uvloop` by default as in the worker).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any, cast, get_args

import faust

from engage_stream.worker.loop import EventLoop, use_event_loop
from engage_stream.worker.runtime import PRODUCER_BATCH_BYTES, PRODUCER_LINGER_S
from engage_stream.worker.transport import SCHEME

BATCH = 32
WITHIN_S = 0.01

_RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


def build(bootstrap: str, group: str, source: str, middle: str, sink: str) -> faust.App:
    app = faust.App(
        group,
        broker=[f"{SCHEME}://{bootstrap}"],
        store="memory://",
        datadir=Path(tempfile.gettempdir()) / f"engage-stream-{group}-data",
        autodiscover=False,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=PRODUCER_LINGER_S,
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
    )
    first, second, out = (app.topic(name, **_RAW) for name in (source, middle, sink))

    @app.agent(first, name="passthrough-batches")
    async def batches(stream: Any) -> None:
        async for events in stream.take_events(BATCH, within=WITHIN_S):
            for event in events:
                message = event.message
                await second.send(key=message.key, value=message.value)

    @app.agent(second, name="passthrough-records")
    async def records(stream: Any) -> None:
        async for event in stream.events():
            await out.send(key=event.message.key, value=event.message.value)

    return app


def main(argv: list[str]) -> None:
    from faust.worker import Worker

    bootstrap, group, source, middle, sink = argv[:5]
    loop = argv[5] if len(argv) > 5 else "uvloop"
    if loop not in get_args(EventLoop):
        raise SystemExit(f"LOOP must be one of {', '.join(get_args(EventLoop))}, not {loop!r}")
    use_event_loop(cast(EventLoop, loop))
    app = build(bootstrap, group, source, middle, sink)
    Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])
