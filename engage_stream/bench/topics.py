"""Topic models as the worker runs them (a character n-gram folder; an encoder's topic head
in int8 and fp32), beside the TF-IDF + SVM baseline, on the fixed-seed validation split
and on a check file written apart.

The split and the training side are the ones `train` used (`split` over the labelled file,
the bank's example questions added to the training side), so the baseline trains on what
the model trained on; the check file was written by another author who never saw the
training file, which makes it a generalisation check rather than a second validation set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from engage_stream.inference.heads import open_groups
from engage_stream.inference.model_folder import CHAR_NGRAM, Precision, load_model_folder
from engage_stream.training.baseline import tfidf_svm, tfidf_svm_predict
from engage_stream.training.check_file import check_gold
from engage_stream.training.corpora import load_labelled, project_path
from engage_stream.training.metrics import classification_metrics
from engage_stream.training.recipes import bank_examples, load_topics
from engage_stream.training.splits import split, with_extra


@dataclass(frozen=True)
class TopicRow:
    model: str
    data: str
    texts: int
    accuracy: float
    """On everyday utterances: the share given the background topic (`other`)."""
    macro_f1: float | None


def _precisions(model_dir: Path) -> tuple[Precision | None, ...]:
    """An n-gram folder has one way to run; an encoder is scored as int8 and as fp32."""
    if load_model_folder(model_dir).task == CHAR_NGRAM:
        return (None,)
    return ("int8", "fp32")


def bench_topics(
    model_dirs: Sequence[Path],
    data: Path,
    bank: Path | None,
    check: Path,
    everyday: Sequence[str] = (),
    background_label: str = "other",
) -> list[TopicRow]:
    """Rows per model and data set; `everyday` utterances (small talk, no shop topic) are
    scored by the share each model gives `background_label`."""
    corpus = load_topics(data)
    held = split(corpus)
    train = held
    if bank is not None:
        train, _ = with_extra(held, *bank_examples(bank, corpus.label_names))
    checked = load_labelled(check)
    rows: list[TopicRow] = []
    sets = {
        "validation split": (held.val_texts, held.val_labels),
        f"check ({project_path(check)})": (
            checked.texts,
            check_gold(checked, corpus.label_names, checked.source),
        ),
    }
    names = corpus.label_names
    for model_dir in model_dirs:
        for precision in _precisions(model_dir):
            (group,) = open_groups({"topic": model_dir}, device="cpu", precision=precision)
            try:
                labels = group.classifiers["topic"].labels
                if set(labels) != set(names):
                    raise ValueError(
                        f"{model_dir} has topics {sorted(labels)} but {data} has "
                        f"{sorted(names)}: bench the model trained on that file"
                    )
                model = f"{group.name} {group.stamp.version} {group.choice.precision}"
                for name, (texts, gold) in sets.items():
                    predicted = [names.index(p.label) for p in group.predict(texts)["topic"]]
                    m = classification_metrics(gold, predicted, names)
                    rows.append(
                        TopicRow(model, name, len(gold), round(m.accuracy, 4), round(m.macro_f1, 4))
                    )
                if everyday:
                    given = [p.label for p in group.predict(everyday)["topic"]]
                    rows.append(_everyday_row(model, given, background_label))
            finally:
                group.close()
    _, params = tfidf_svm(corpus, train)
    for name, (texts, gold) in sets.items():
        m = classification_metrics(
            gold, tfidf_svm_predict(train, params, texts), corpus.label_names
        )
        rows.append(
            TopicRow(
                "TF-IDF + SVM (same training side)",
                name,
                len(gold),
                round(m.accuracy, 4),
                round(m.macro_f1, 4),
            )
        )
    if everyday:
        given = [names[i] for i in tfidf_svm_predict(train, params, list(everyday))]
        rows.append(_everyday_row("TF-IDF + SVM (same training side)", given, background_label))
    return rows


def _everyday_row(model: str, given: Sequence[str], label: str) -> TopicRow:
    share = sum(g == label for g in given) / len(given)
    return TopicRow(
        model, f"everyday utterances: share given `{label}`", len(given), round(share, 4), None
    )


def markdown(rows: list[TopicRow], machine: dict[str, object], note: str) -> str:
    lines = [
        "# Topic models beside the TF-IDF + SVM baseline",
        "",
        f"{machine['date']} · {machine['cpu']} · {machine['cores']} cores · `{machine['command']}`",
        "",
        note,
        "",
        "| model | data | texts | accuracy | macro-F1 |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {r.model} | {r.data} | {r.texts} | {r.accuracy} | "
            f"{'—' if r.macro_f1 is None else r.macro_f1} |"
            for r in rows
        ),
        "",
    ]
    return "\n".join(lines)


def as_records(rows: list[TopicRow]) -> list[dict[str, object]]:
    return [asdict(r) for r in rows]
