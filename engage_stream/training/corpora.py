"""The shared Korean corpora, read into plain labelled examples.

Licences travel with the data into every model card: 3i4K and the Korean hate-speech
corpus are CC-BY-SA-4.0, the chatbot Q/A pairs MIT (see ../shared/data/README.md).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from engage_stream.config.settings import PROJECT_ROOT

DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"

INTENT_LABELS: tuple[str, ...] = (
    "fragment",
    "statement",
    "question",
    "command",
    "rhetorical_question",
    "rhetorical_command",
    "intonation_dependent",
)
"""3i4K speech acts, in the corpus's id order 0-6: the names a model trained on it gives
its labels (the run-time reads label names from each model's manifest, never from here)."""

TOXICITY_LABELS: tuple[str, ...] = ("none", "offensive", "hate")
"""The Korean hate-speech corpus's `hate` labels."""


@dataclass(frozen=True)
class Corpus:
    name: str
    texts: list[str]
    labels: list[int]
    label_names: tuple[str, ...]
    licence: str
    source: str


@dataclass(frozen=True)
class QaPairs:
    questions: list[str]
    answers: list[str]
    topics: list[int]
    licence: str = "MIT"
    source: str = "github.com/songys/Chatbot_data"


class CorpusError(Exception):
    """A corpus file is missing or malformed; the message names the file and line."""


def _require(path: Path) -> Path:
    if not path.is_file():
        raise CorpusError(f"corpus file {path} not found (set --data-dir to ../shared/data)")
    return path


def load_intent(data_dir: Path = DEFAULT_DATA_DIR) -> Corpus:
    """3i4K: `label<TAB>text`, labels 0-6 in INTENT_LABELS order."""
    path = _require(data_dir / "3i4k" / "train.tsv")
    texts, labels = [], []
    # split("\n"), not splitlines(): some texts hold U+2028 or \x1c, which are not line ends here.
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        label, _, text = line.partition("\t")
        if not label.isdigit() or not 0 <= int(label) < len(INTENT_LABELS):
            raise CorpusError(f"{path}:{number}: label {label!r} is not 0-6")
        texts.append(text.strip())
        labels.append(int(label))
    return Corpus(
        "3i4k",
        texts,
        labels,
        INTENT_LABELS,
        "CC-BY-SA-4.0",
        "github.com/warnikchow/3i4k (Cho et al., 2018, arXiv:1811.04231)",
    )


def load_toxicity(data_dir: Path = DEFAULT_DATA_DIR) -> Corpus:
    """Korean hate speech: `comments, contain_gender_bias, bias, hate` with a header row."""
    path = _require(data_dir / "hatespeech" / "train.tsv")
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            hate = row.get("hate")
            if hate not in TOXICITY_LABELS:
                raise CorpusError(f"{path}: hate label {hate!r} is not one of {TOXICITY_LABELS}")
            texts.append((row.get("comments") or "").strip())
            labels.append(TOXICITY_LABELS.index(hate))
    return Corpus(
        "korean-hate-speech",
        texts,
        labels,
        TOXICITY_LABELS,
        "CC-BY-SA-4.0",
        "github.com/kocohub/korean-hate-speech (Moon et al., 2020)",
    )


def load_chatbot(data_dir: Path = DEFAULT_DATA_DIR) -> QaPairs:
    path = _require(data_dir / "chatbot" / "train.csv")
    questions, answers, topics = [], [], []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            questions.append(row["Q"].strip())
            answers.append(row["A"].strip())
            topics.append(int(row["label"]))
    return QaPairs(questions, answers, topics)


def load_unlabeled(data_dir: Path = DEFAULT_DATA_DIR) -> list[str]:
    path = _require(data_dir / "hatespeech" / "unlabeled_comments.txt")
    lines = path.read_text(encoding="utf-8").split("\n")
    return [line.strip() for line in lines if line.strip()]


def tokenizer_corpus(data_dir: Path = DEFAULT_DATA_DIR) -> list[str]:
    """Every Korean line the project has, for training the shared tokenizer."""
    chatbot = load_chatbot(data_dir)
    return [
        *load_intent(data_dir).texts,
        *load_toxicity(data_dir).texts,
        *load_unlabeled(data_dir),
        *chatbot.questions,
        *chatbot.answers,
    ]


def load_labelled(path: Path, name: str | None = None, licence: str = "the shop's own") -> Corpus:
    """A shop's own labelled messages: CSV with `text` and `label` columns, or JSON lines
    with `text` and `label` fields (other fields are ignored). Labels are the distinct
    label strings, sorted: the order does not depend on the file's row order."""
    rows = _labelled_rows(_require(path))
    if not rows:
        raise CorpusError(f"{path}: no labelled messages")
    label_names = tuple(sorted({label for _, label in rows}))
    if len(label_names) < 2:
        raise CorpusError(f"{path}: a classifier needs at least two labels, found {label_names}")
    return Corpus(
        name or path.stem,
        [text for text, _ in rows],
        [label_names.index(label) for _, label in rows],
        label_names,
        licence,
        project_path(path),
    )


def project_path(path: Path) -> str:
    """A path as a card shows it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _labelled_rows(path: Path) -> list[tuple[str, str]]:
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(content.splitlines())
        if not {"text", "label"} <= set(reader.fieldnames or []):
            raise CorpusError(f"{path}: the header needs `text` and `label` columns")
        return [
            _labelled(row.get("text"), row.get("label"), f"{path}:{number}")
            for number, row in enumerate(reader, start=2)
        ]
    rows = []
    for number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(document, dict):
            raise CorpusError(f"{path}:{number}: not a JSON object with text and label")
        rows.append(_labelled(document.get("text"), document.get("label"), f"{path}:{number}"))
    return rows


def _labelled(text: object, label: object, where: str) -> tuple[str, str]:
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(f"{where}: text missing or empty")
    if not isinstance(label, str) or not label.strip():
        raise CorpusError(f"{where}: label missing or empty")
    return text.strip(), label.strip()
