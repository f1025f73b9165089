"""The JSON Schema files are generated from the models, and the examples obey both."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.schemas import json_schema
from engage_stream.schemas.events import EVENT_TYPES
from engage_stream.schemas.registry import DOCUMENT_KINDS

SCHEMAS = PROJECT_ROOT / "schemas"
EXAMPLES = sorted((SCHEMAS / "examples").glob("*/*.json"))


def test_schema_files_match_the_models() -> None:
    stale = json_schema.stale_files(SCHEMAS)
    assert stale == [], f"run `engage-stream schemas export`: {stale}"


def test_a_changed_model_makes_the_files_stale(tmp_path: Path) -> None:
    json_schema.export(tmp_path)
    edited = tmp_path / "crm-event.schema.json"
    edited.write_text(edited.read_text().replace('"event_id"', '"eventId"'))
    assert json_schema.stale_files(tmp_path) == ["crm-event.schema.json"]


def test_there_is_an_example_of_every_kind_and_every_event_type() -> None:
    assert {p.parent.name for p in EXAMPLES} == set(DOCUMENT_KINDS)
    event_types = {
        json.loads(p.read_text())["event_type"] for p in EXAMPLES if p.parent.name == "crm-event"
    }
    assert event_types == set(EVENT_TYPES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_example_validates_against_model_and_schema_file(path: Path) -> None:
    kind = DOCUMENT_KINDS[path.parent.name]
    document = json.loads(path.read_text(encoding="utf-8"))

    kind.adapter.validate_python(document)
    schema = json.loads((SCHEMAS / kind.filename).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(document)


def test_schema_file_rejects_what_the_model_rejects() -> None:
    schema = json.loads((SCHEMAS / "crm-event.schema.json").read_text())
    document = json.loads((SCHEMAS / "examples/crm-event/chat-message.json").read_text())
    document["payload"]["sender"] = "robot"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
