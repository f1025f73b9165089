"""Documents read back from storage (table changelogs, replay checkpoints), which the
release running now may not have written.

Inputs are checked strictly (an unknown field in an event is the producer's mistake), but a
state or profile stored by a newer release and read after a rollback holds fields this
release does not know: they are dropped, not an error, so a rollback does not dead-letter
every customer with a state. Anything else wrong still raises.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Document = TypeVar("Document", bound=BaseModel)


def read_stored(kind: type[Document], raw: bytes | str) -> Document:
    """`raw` as a `kind`, ignoring fields (at any depth) that `kind` does not have."""
    try:
        return kind.model_validate_json(raw)
    except ValidationError as exc:
        unknown = [e["loc"] for e in exc.errors() if e["type"] == "extra_forbidden"]
        if not unknown:
            raise
    data = json.loads(raw)
    for loc in unknown:
        _drop(data, loc)
    return kind.model_validate(data)


def _drop(data: Any, loc: tuple[int | str, ...]) -> None:
    *path, last = loc
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(data, dict):
        data.pop(last, None)
