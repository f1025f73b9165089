"""Answer text with fields: `{item}`, `{item:은}` (a particle chosen for the value) and
`[optional parts]` left out when a field in them is unknown.

A shop writes `{item:은} {carrier:으로} 발송되었어요. [{eta} 도착 예정이에요.]`; with the
facts of an order this renders as `경량 패딩 자켓은 CJ대한통운으로 발송되었어요.` plus the
optional sentence only when the expected date is known. A required field that is unknown
makes the whole answer unusable (`render` returns None): a draft never shows `{eta}`, an
empty slot, or a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Particle -> (after a final consonant, after a vowel); either spelling may be written.
_PAIRS: tuple[tuple[str, str], ...] = (
    ("은", "는"),
    ("이", "가"),
    ("을", "를"),
    ("과", "와"),
    ("으로", "로"),
    ("이에요", "예요"),
    ("이라", "라"),
    ("이나", "나"),
)
PARTICLES: dict[str, tuple[str, str]] = {form: pair for pair in _PAIRS for form in pair}
_TOKEN = re.compile(r"\{([^{}]*)\}|\[|\]")
_FIELD = re.compile(r"^([a-z][a-z0-9_]*)(?::(\S+))?$")
_RIEUL = 8  # index of ㄹ among the final consonants
# How digits and Latin letters are read aloud, for the particle after them.
_DIGIT_FINAL = {
    "0": 21,  # 영 ㅇ
    "1": _RIEUL,  # 일
    "2": 0,
    "3": 16,  # 삼 ㅁ
    "4": 0,
    "5": 0,
    "6": 1,  # 육 ㄱ
    "7": _RIEUL,
    "8": _RIEUL,
    "9": 0,
}
# Capitals read as letter names (USB 유에스비, XL 엑스엘); lower case as the word sounds.
_LETTER_NAME_FINAL = {"L": _RIEUL, "R": _RIEUL, "M": 16, "N": 4}
_SOUNDED_FINAL = {"l": _RIEUL, "r": _RIEUL, "m": 16, "n": 4, "b": 17, "p": 17, "k": 1, "t": 7}
_UNITS = {"ml": 0, "cm": 0, "mm": 0, "g": 16, "kg": 16}  # 밀리리터, 센티미터, 그램


class FieldError(ValueError):
    """A text with fields that cannot be parsed; the message says where."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    particle: str | None = None


@dataclass(frozen=True, slots=True)
class Optional:
    parts: tuple[str | Field, ...]


Part = str | Field | Optional


@dataclass(frozen=True, slots=True)
class FieldText:
    """A parsed text with fields."""

    source: str
    parts: tuple[Part, ...]

    @property
    def fields(self) -> set[str]:
        names: set[str] = set()
        for part in self.parts:
            inner = part.parts if isinstance(part, Optional) else (part,)
            names |= {p.name for p in inner if isinstance(p, Field)}
        return names

    @property
    def required(self) -> set[str]:
        """Fields outside the optional parts: the text cannot render without them."""
        return {p.name for p in self.parts if isinstance(p, Field)}

    def render(self, values: Mapping[str, str]) -> str | None:
        """The text with every field filled, optional parts with an unknown field left out;
        None when a required field is unknown."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Optional):
                filled = _fill(part.parts, values)
                if filled is not None:
                    out.append(filled)
                continue
            piece = _fill((part,), values)
            if piece is None:
                return None
            out.append(piece)
        return " ".join("".join(out).split())


def parse(text: str) -> FieldText:
    parts: list[Part] = []
    inner: list[str | Field] | None = None
    position = 0
    for match in _TOKEN.finditer(text):
        literal = text[position : match.start()]
        position = match.end()
        target = inner if inner is not None else parts
        if literal:
            target.append(literal)
        mark = match.group(0)
        if mark == "[":
            if inner is not None:
                raise FieldError(f"{text!r}: optional parts [ ] cannot nest")
            inner = []
        elif mark == "]":
            if inner is None:
                raise FieldError(f"{text!r}: ']' without '['")
            if not any(isinstance(p, Field) for p in inner):
                raise FieldError(f"{text!r}: an optional part [ ] needs a field in it")
            parts.append(Optional(tuple(inner)))
            inner = None
        else:
            target.append(_field(match.group(1), text))
    if inner is not None:
        raise FieldError(f"{text!r}: '[' without ']'")
    rest = text[position:]
    if "{" in rest or "}" in rest:
        raise FieldError(f"{text!r}: unbalanced braces")
    if rest:
        parts.append(rest)
    return FieldText(text, tuple(parts))


def _field(body: str, text: str) -> Field:
    match = _FIELD.match(body.strip())
    if match is None:
        raise FieldError(f"{text!r}: {{{body}}} is not a field (write {{name}} or {{name:은}})")
    name, particle = match.groups()
    if particle is not None and particle not in PARTICLES:
        known = ", ".join(pair[0] for pair in _PAIRS)
        raise FieldError(f"{text!r}: {{{body}}}: unknown particle {particle!r} (use {known})")
    return Field(name, particle)


def _fill(parts: tuple[str | Field, ...], values: Mapping[str, str]) -> str | None:
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = values.get(part.name, "")
        if not value:
            return None
        out.append(value + (particle_for(value, part.particle) if part.particle else ""))
    return "".join(out)


def particle_for(word: str, particle: str) -> str:
    """The form of `particle` that follows `word`: 은/는, 이/가, 을/를, 과/와, 으로/로 ..."""
    consonant_form, vowel_form = PARTICLES[particle]
    final = _final_consonant(word)
    if final is None:  # nothing to read the word's end by: the form that reads either way
        return f"({consonant_form[0]}){vowel_form}" if consonant_form != "으로" else "(으)로"
    if consonant_form == "으로":
        return "로" if final in (0, _RIEUL) else "으로"
    return consonant_form if final else vowel_form


def _final_consonant(word: str) -> int | None:
    """0 for a vowel ending, else the index of the final consonant; None when unknown."""
    stripped = word.strip()
    for index in range(len(stripped) - 1, -1, -1):
        char = stripped[index]
        if "가" <= char <= "힣":
            return (ord(char) - ord("가")) % 28
        if char.isdigit():
            return _DIGIT_FINAL[char]
        if char.isascii() and char.isalpha():
            return _latin_final(re.findall(r"[A-Za-z]+$", stripped[: index + 1])[0])
        if char in "%+":
            return 0  # 퍼센트, 플러스
        if char.isspace() or char in ")]}'\"":
            continue
        return None
    return None


def _latin_final(letters: str) -> int:
    if letters.lower() in _UNITS:
        return _UNITS[letters.lower()]
    if letters.isupper():
        return _LETTER_NAME_FINAL.get(letters[-1], 0)
    return _SOUNDED_FINAL.get(letters[-1].lower(), 0)
