"""The one JSON encoding of every document the pipeline writes (outputs, hand-overs, table
parts): compact UTF-8 straight from pydantic's serializer. `model_dump_json().encode()`
gives the same bytes, but through a `str` decoded and encoded again, a cost paid for
every record on the hot path."""

from __future__ import annotations

from pydantic import BaseModel


def encoded(document: BaseModel) -> bytes:
    return document.__pydantic_serializer__.to_json(document)
