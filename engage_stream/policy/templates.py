"""The Korean texts of next-best-action messages: Jinja2 templates marketing edits, one file
per template (`<name>.j2`, a `subject` block and a `body` block), in the folder the policy
names (`messages`, by default `infra/messages/` next to the shipped policy).

They are loaded, compiled and checked once, when the policy is validated at start, so a
broken template stops the worker with the file and the template named instead of failing at
the first abandoned cart. The checks do not trust the texts: every variable a template uses
must be one its rule fills in, a sample of the rule's values must render, and no template
may write the advertising marks or the opt-out (수신거부) notice itself: `policy.outbound`
adds them, only to advertising, where the law says. Particles after filled-in words are
chosen by the word (`{{ item|을를 }}`, `{{ josa(item, "이/가") }}`; see `korean.josa`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from engage_stream.korean.josa import PAIRS, attach

SUFFIX = ".j2"
BLOCKS = ("subject", "body")
_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_AD_MARK = re.compile(r"[(\[【<]\s*광\s*고\s*[)\]】>]")
""""(광고)" and the ways it gets mistyped: "( 광고 )", "[광고]"."""


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered message, before the advertising marks."""

    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class TemplateUse:
    """What a rule asks of its template: the file, the values it fills in (a sample of
    each, to render the template with at start) and what it is for (named in errors)."""

    name: str
    sample: Mapping[str, object]
    rule: str


@dataclass(frozen=True, slots=True)
class Marks:
    """The compliance texts the policy adds to advertising, which templates must not write."""

    prefix: str
    opt_out_footer: str


class TemplateError(ValueError):
    """One or more templates are missing or break a check; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def won(amount: int) -> str:
    """12000 -> "12,000원"."""
    return f"{amount:,}원"


def environment() -> SandboxedEnvironment:
    """Sandboxed (the texts are edited by people who are not programmers and are not
    reviewed as code) and strict (a misspelt value is an error, never an empty slot).
    Plain text for e-mail and SMS, so nothing is HTML-escaped."""
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,  # plain-text messages, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    for consonant_form, vowel_form in PAIRS:
        env.filters[consonant_form + vowel_form] = _particle_filter(consonant_form)
    env.filters["won"] = won
    env.globals["josa"] = lambda word, which: attach(str(word), which)
    return env


def _particle_filter(which: str) -> Callable[[object], str]:
    """`{{ item|을를 }}`: the word and the particle that fits it."""

    def fill(word: object) -> str:
        return attach(str(word), which)

    return fill


class MessageTemplates:
    """The compiled templates of one folder; `render` fills one in."""

    def __init__(self, folder: Path, sources: Mapping[str, str]) -> None:
        self.folder = folder
        self.sources = dict(sources)
        env = environment()
        self._compiled: dict[str, Template] = {
            name: env.from_string(source) for name, source in self.sources.items()
        }

    @classmethod
    def load(
        cls, folder: Path, uses: Iterable[TemplateUse], marks: Marks | None
    ) -> MessageTemplates:
        """Every template the rules use, checked; `marks` None skips the compliance check
        (the policy's own marks did not validate, which is reported already)."""
        env = environment()
        sources: dict[str, str] = {}
        problems: list[str] = []
        for use in uses:
            path = folder / f"{use.name}{SUFFIX}"
            where = f"message template {use.name} ({path})"
            try:
                source = path.read_text(encoding="utf-8")
            except OSError as exc:
                problems.append(f"{where}: cannot read: {exc.strerror}{_present(folder)}")
                continue
            found = _problems(env, source, use, marks)
            problems += [f"{where}: {problem}" for problem in found]
            if not found:
                sources[use.name] = source
        if problems:
            raise TemplateError(problems)
        return cls(folder, sources)

    def render(self, name: str, values: Mapping[str, object]) -> Message:
        template = self._compiled[name]
        context = template.new_context(dict(values))
        subject, body = ("".join(template.blocks[block](context)).strip() for block in BLOCKS)
        return Message(subject=subject, body=body)

    def instead(self, name: str, variant: str) -> MessageTemplates:
        """These templates with `variant` rendered wherever `name` is asked for: an
        experiment's arm sends another text through the rule's own `render` call."""
        view = copy.copy(self)
        view._compiled = {**self._compiled, name: self._compiled[variant]}
        return view

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MessageTemplates):
            return NotImplemented
        return (self.folder, self.sources) == (other.folder, other.sources)

    def __hash__(self) -> int:
        return hash((self.folder, tuple(sorted(self.sources.items()))))

    def __repr__(self) -> str:
        return f"MessageTemplates({str(self.folder)!r}, {sorted(self.sources)})"


def _present(folder: Path) -> str:
    if not folder.is_dir():
        return f" (no folder {folder})"
    names = sorted(p.name for p in folder.glob(f"*{SUFFIX}"))
    return f" (templates there: {', '.join(names) or 'none'})"


def _problems(
    env: SandboxedEnvironment, source: str, use: TemplateUse, marks: Marks | None
) -> list[str]:
    try:
        template = env.from_string(source)
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        return [f"line {exc.lineno}: {exc.message}"]
    problems = [f"has no {{% block {block} %}}" for block in BLOCKS if block not in template.blocks]
    unknown = sorted(meta.find_undeclared_variables(tree) - set(use.sample) - set(env.globals))
    if unknown:
        problems.append(
            f"uses {', '.join(unknown)}, which {use.rule} does not fill in "
            f"(its values: {', '.join(sorted(use.sample))})"
        )
    if marks is not None:
        problems += _writes_marks(_COMMENT.sub("", source), marks, "its text")
    if problems:
        return problems
    try:
        context = template.new_context(dict(use.sample))
        rendered = {b: "".join(template.blocks[b](context)).strip() for b in BLOCKS}
    except Exception as exc:  # any failure of a user-written template is reported, not raised
        return [f"does not render with sample values {dict(use.sample)}: {exc}"]
    problems += [f"renders an empty {block}" for block, text in rendered.items() if not text]
    if marks is not None:
        for block, text in rendered.items():
            problems += _writes_marks(text, marks, f"its rendered {block}")
    return problems


def _writes_marks(text: str, marks: Marks, what: str) -> list[str]:
    squeezed = re.sub(r"\s+", "", text)
    problems = []
    if re.sub(r"\s+", "", marks.prefix) in squeezed or _AD_MARK.search(text):
        problems.append(
            f"{what} writes the advertising mark {marks.prefix!r}; the policy adds it to "
            "advertising (outbound.advertising_prefix), so a template must not"
        )
    footer = re.sub(r"\s+", "", marks.opt_out_footer)
    if "수신거부" in squeezed or footer in squeezed:
        problems.append(
            f"{what} writes the opt-out notice (수신거부); the policy adds it to advertising "
            "(outbound.opt_out_footer), so a template must not"
        )
    return problems
