"""Reply templates: polite Korean around the retrieved answer, chosen by intent.

`templates.yaml` maps each intent label (and `default`) to two templates: `reply`, which
holds the retrieved answer in a `{response}` segment, and `fallback`, used when there is
no answer to give (deadline passed, empty or non-Korean input, nothing similar enough).
A template is a list of segments; a segment is a list of alternatives, and the first
alternative whose fields are all known is used. A segment with no usable alternative is
left out, so a missing profile field never leaves `{name}` in a draft.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engage_stream.drafting.politeness import is_polite
from engage_stream.schemas.labels import INTENT_LABELS

INTENTS = INTENT_LABELS
DEFAULT_INTENT = "default"
PROFILE_FIELDS = ("name", "order_id")
RESPONSE = "response"
FIELD_MAX_CHARS = 30
DEFAULT_TEMPLATES = Path(__file__).with_name("templates.yaml")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SAMPLE = {"name": "김민지", "order_id": "ORD-1", RESPONSE: "확인해 드릴게요."}


class TemplateError(Exception):
    """templates.yaml cannot be used; the message names the file and the fault."""


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


Segment = list[str]


class IntentTemplates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reply: list[Segment] = Field(min_length=1)
    fallback: list[Segment] = Field(min_length=1)

    @field_validator("reply", "fallback")
    @classmethod
    def _segments(cls, segments: list[Segment]) -> list[Segment]:
        for segment in segments:
            if not segment:
                raise ValueError("a segment needs at least one alternative")
            for alternative in segment:
                unknown = placeholders(alternative) - {*PROFILE_FIELDS, RESPONSE}
                if unknown:
                    raise ValueError(f"{alternative!r}: unknown fields {sorted(unknown)}")
                if alternative.count("{") != len(_PLACEHOLDER.findall(alternative)):
                    raise ValueError(f"{alternative!r}: unbalanced braces")
        return segments


class TemplateFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=100)
    max_chars: int = Field(ge=80, le=2_000, description="Longest draft, in characters.")
    intents: dict[str, IntentTemplates]


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    template_id: str
    truncated: bool


def clean_field(value: object) -> str:
    """A profile value as it may appear in a draft: one line, no braces, at most 30 chars."""
    if value is None:
        return ""
    text = " ".join(str(value).replace("{", "").replace("}", "").split())
    return text[:FIELD_MAX_CHARS].strip()


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


class TemplateSet:
    def __init__(self, spec: TemplateFile, source: Path) -> None:
        self.spec = spec
        self.source = source
        self.version = spec.version
        self.max_chars = spec.max_chars

    @classmethod
    def load(cls, path: Path = DEFAULT_TEMPLATES) -> TemplateSet:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TemplateError(f"{path}: not found") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise TemplateError(f"{path}: not readable YAML: {exc}") from None
        try:
            spec = TemplateFile.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise TemplateError(f"{path}: {problems}") from None
        templates = cls(spec, path)
        templates._check(path)
        return templates

    def _check(self, path: Path) -> None:
        missing = [i for i in (DEFAULT_INTENT, *INTENTS) if i not in self.spec.intents]
        if missing:
            raise TemplateError(f"{path}: intents missing: {', '.join(missing)}")
        unknown = sorted(set(self.spec.intents) - {DEFAULT_INTENT, *INTENTS})
        if unknown:
            raise TemplateError(f"{path}: unknown intents: {', '.join(unknown)}")
        for intent, entry in self.spec.intents.items():
            with_response = [s for s in entry.reply if any(RESPONSE in placeholders(a) for a in s)]
            if len(with_response) != 1:
                raise TemplateError(
                    f"{path}: {intent}.reply needs exactly one {{response}} segment"
                )
            if any(RESPONSE in placeholders(a) for s in entry.fallback for a in s):
                raise TemplateError(f"{path}: {intent}.fallback cannot use {{response}}")
            for kind, segments in (("reply", entry.reply), ("fallback", entry.fallback)):
                for alternative in (a for s in segments for a in s):
                    filled = _fill(alternative, _SAMPLE)
                    if RESPONSE not in placeholders(alternative) and not is_polite(filled):
                        raise TemplateError(
                            f"{path}: {intent}.{kind}: {alternative!r} does not end politely"
                        )
                    if len(filled) > self.max_chars // 2:
                        raise TemplateError(
                            f"{path}: {intent}.{kind}: {alternative!r} is longer than half "
                            f"of max_chars ({self.max_chars})"
                        )
            if not any(any(not placeholders(a) for a in s) for s in entry.fallback):
                raise TemplateError(
                    f"{path}: {intent}.fallback needs a segment with a field-free alternative, "
                    "so that a fallback is never empty"
                )

    def render(
        self,
        intent: str | None,
        profile: Mapping[str, object] | None,
        response: str | None,
    ) -> Rendered:
        """`reply` with `response`, or `fallback` when `response` is None; never longer than
        `max_chars`, cut only between sentences or segments."""
        key = intent or DEFAULT_INTENT
        if key not in self.spec.intents:
            raise ValueError(f"unknown intent {intent!r}; use one of {', '.join(INTENTS)}")
        entry = self.spec.intents[key]
        kind = "fallback" if response is None else "reply"
        values = {f: clean_field((profile or {}).get(f)) for f in PROFILE_FIELDS}
        known = {k for k, v in values.items() if v}
        parts: list[str] = []
        truncated = False
        for segment in entry.fallback if response is None else entry.reply:
            chosen = next((a for a in segment if placeholders(a) - {RESPONSE} <= known), None)
            if chosen is None:
                continue
            if RESPONSE in placeholders(chosen):
                assert response is not None
                for sentence in sentences(response):
                    piece = _fill(chosen, {**values, RESPONSE: _closed(sentence)})
                    if _length([*parts, piece]) > self.max_chars:
                        truncated = True
                        break
                    parts.append(piece)
                    chosen = "{response}"  # text around the answer goes with its first sentence
                continue
            piece = _fill(chosen, values)
            if _length([*parts, piece]) > self.max_chars:
                truncated = True
                continue
            parts.append(piece)
        return Rendered(" ".join(parts), f"{key}.{kind}", truncated)


def _fill(text: str, values: Mapping[str, str]) -> str:
    """One pass: a value that itself looks like `{name}` is never expanded again."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), text)


def _closed(sentence: str) -> str:
    """A sentence that ends in a Hangul syllable gets a full stop before the next one."""
    return sentence + "." if sentence and "\uac00" <= sentence[-1] <= "\ud7a3" else sentence


def _length(parts: list[str]) -> int:
    return len(" ".join(parts))
