"""The public Korean corpora, read into plain labelled examples.

Licences travel with the data into every model card: 3i4K and the Korean hate-speech
corpus are CC-BY-SA-4.0, the chatbot Q/A pairs MIT (README, "Corpora"). The folder is
`ENGAGE_DATA_DIR` (default ../shared/data when it exists); a missing file is a
`CorpusError` that says which corpus it is, where it was looked for and where to get it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from engage_stream.config.data_dir import DATA_DIR_ENV, data_dir
from engage_stream.config.settings import PROJECT_ROOT


@dataclass(frozen=True)
class CorpusSource:
    """One public corpus file: where it goes under the data folder and where it comes from."""

    title: str
    file: str
    """Relative to the data folder."""
    licence: str
    source: str


THREE_I4K = CorpusSource(
    "3i4K (speech-act intent)",
    "3i4k/train.tsv",
    "CC-BY-SA-4.0",
    "github.com/warnikchow/3i4k (Cho et al., 2018, arXiv:1811.04231)",
)
HATE_SPEECH = CorpusSource(
    "Korean hate speech (toxicity)",
    "hatespeech/train.tsv",
    "CC-BY-SA-4.0",
    "github.com/kocohub/korean-hate-speech (Moon et al., 2020)",
)
HATE_SPEECH_UNLABELED = CorpusSource(
    "Korean hate speech, unlabeled comments",
    "hatespeech/unlabeled_comments.txt",
    "CC-BY-SA-4.0",
    "github.com/kocohub/korean-hate-speech (Moon et al., 2020)",
)
CHATBOT = CorpusSource(
    "Chatbot_data (Q/A pairs)", "chatbot/train.csv", "MIT", "github.com/songys/Chatbot_data"
)
CORPORA: tuple[CorpusSource, ...] = (THREE_I4K, HATE_SPEECH, HATE_SPEECH_UNLABELED, CHATBOT)

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
        raise CorpusError(f"file {path} not found")
    return path


def corpus_file(corpus: CorpusSource, folder: Path | None = None) -> Path:
    """The corpus's file under `folder` (default: `ENGAGE_DATA_DIR`, else ../shared/data),
    or a `CorpusError` naming the corpus, the file expected, how to point at it and where
    the corpus comes from, under which licence."""
    folder = folder if folder is not None else data_dir()
    get = f"get it from {corpus.source} ({corpus.licence}); see README, Corpora"
    if folder is None:
        raise CorpusError(
            f"corpus {corpus.title}: no corpora folder ({DATA_DIR_ENV} is not set "
            f"and ../shared/data does not exist); set {DATA_DIR_ENV} or --data-dir to the "
            f"folder that holds {corpus.file}; {get}"
        )
    path = folder / corpus.file
    if not path.is_file():
        raise CorpusError(
            f"corpus {corpus.title}: {path} not found; put {corpus.file} under "
            f"{folder} or set {DATA_DIR_ENV} or --data-dir to the folder that holds it; {get}"
        )
    return path


def load_intent(folder: Path | None = None) -> Corpus:
    """3i4K: `label<TAB>text`, labels 0-6 in INTENT_LABELS order."""
    path = corpus_file(THREE_I4K, folder)
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
    return Corpus("3i4k", texts, labels, INTENT_LABELS, THREE_I4K.licence, THREE_I4K.source)


def load_toxicity(folder: Path | None = None) -> Corpus:
    """Korean hate speech: `comments, contain_gender_bias, bias, hate` with a header row."""
    path = corpus_file(HATE_SPEECH, folder)
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
        HATE_SPEECH.licence,
        HATE_SPEECH.source,
    )


def load_chatbot(folder: Path | None = None) -> QaPairs:
    path = corpus_file(CHATBOT, folder)
    questions, answers, topics = [], [], []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            questions.append(row["Q"].strip())
            answers.append(row["A"].strip())
            topics.append(int(row["label"]))
    return QaPairs(questions, answers, topics, CHATBOT.licence, CHATBOT.source)


def load_unlabeled(folder: Path | None = None) -> list[str]:
    path = corpus_file(HATE_SPEECH_UNLABELED, folder)
    lines = path.read_text(encoding="utf-8").split("\n")
    return [line.strip() for line in lines if line.strip()]


def tokenizer_corpus(folder: Path | None = None) -> list[str]:
    """Every Korean line the project has, for training the shared tokenizer."""
    chatbot = load_chatbot(folder)
    return [
        *load_intent(folder).texts,
        *load_toxicity(folder).texts,
        *load_unlabeled(folder),
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
