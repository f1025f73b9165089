"""MODEL_CARD.md for a shipped model, written from the manifests training and export leave.

Nothing in a card is typed by hand: data, licence, split, metrics beside the baseline and
the commands all come from `engage-train.json`, `engage-pretrain.json` and the export.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ATTRIBUTION = {
    "CC-BY-SA-4.0": (
        "Trained on data licensed CC-BY-SA-4.0; this model and its card are shared under the "
        "same licence, with attribution to the corpus authors below."
    ),
    "MIT": "Trained on data licensed MIT; the corpus authors are credited below.",
}


def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _metrics_rows(train: dict[str, Any], name: str | None = None) -> list[str]:
    val, base = train.get("validation", {}), train.get("baseline", {})
    name = name or train["name"]
    return [
        "| model | accuracy | macro-F1 |",
        "| --- | --- | --- |",
        f"| {name} | {val.get('accuracy', '-')} | {val.get('macro_f1', '-')} |",
        f"| TF-IDF char 1-4-grams + linear SVM (same split) | {base.get('accuracy', '-')} "
        f"| {base.get('macro_f1', '-')} |",
        *_check_rows(train.get("check"), name),
    ]


def _check_rows(check: dict[str, Any] | None, name: str) -> list[str]:
    """The generalisation check: messages written apart from the training data."""
    if not check:
        return []
    model, base = check["model"], check["baseline"]
    where = f"{check['texts']} messages of `{check['file']}`, written apart"
    return [
        f"| {name}, check ({where}) | {model['accuracy']} | {model['macro_f1']} |",
        f"| TF-IDF + SVM, check | {base['accuracy']} | {base['macro_f1']} |",
    ]


def _selection(train: dict[str, Any]) -> list[str]:
    """How the shipped settings were picked, where a grid of them was tried."""
    selection = train.get("selection")
    if not selection:
        return []
    tried = "; ".join(
        f"lr {run.get('learning_rate')}, {run.get('epochs')} epochs, batch "
        f"{run.get('batch_size')}, class weighting {run.get('class_weighting')}: "
        f"macro-F1 {run.get('macro_f1')}"
        for run in selection.get("grid", [])
    )
    return [f"Settings: {selection.get('note', '')}. Tried: {tried}.", ""]


def _self_training(train: dict[str, Any]) -> list[str]:
    plan = train.get("self_training")
    if not plan:
        return []
    teachers = ", ".join(
        f"seed {t.get('seed')} macro-F1 {t.get('macro_f1')}" for t in plan.get("teachers", [])
    )
    ensemble = plan.get("teacher_ensemble", {})
    return [
        f"- Self-training: {len(plan.get('teachers', []))} teachers fine-tuned on the labelled "
        f"data only ({plan.get('teacher_epochs')} epochs each; {teachers}; their average: "
        f"accuracy {ensemble.get('accuracy')}, macro-F1 {ensemble.get('macro_f1')}) gave "
        f"label probabilities for {plan.get('unlabelled_texts')} unlabelled comments of the "
        "same corpus (those that are not labelled texts). This model then trained on both for "
        f"{plan.get('epochs')} epochs, an unlabelled text's loss weighted "
        f"{plan.get('weight')}, the cross-entropy against the teachers' probabilities."
    ]


def _head_sections(train: dict[str, Any]) -> list[str]:
    """A multi-head model: each head's labels, data, teacher and validation numbers."""
    lines: list[str] = []
    for head in train.get("heads", []):
        if head.get("kind") != "classification":
            lines += [f"### {head['name']} (embedding)", "", f"Pooling: {head.get('pooling')}.", ""]
            continue
        val, base = head.get("validation", {}), head.get("baseline", {})
        split, data, teacher = head.get("split", {}), head.get("data", {}), head.get("teacher")
        taught = (
            f"Taught by {teacher['name']} {teacher['version']} ({teacher['file']}, sha256 "
            f"{teacher['sha256'][:12]}) on {head.get('taught_texts')} texts without a gold "
            "label for this head."
            if teacher
            else "No teacher: gold labels only."
        )
        lines += [
            f"### {head['name']}",
            "",
            "Labels: " + ", ".join(f"`{label}`" for label in head["labels"]),
            "",
            *_metrics_rows(
                {"validation": val, "baseline": base, "check": head.get("check")},
                f"{train['name']} ({head['name']} head)",
            ),
            "",
            _per_class(val),
            "",
            f"Data: {data.get('corpus')} — {data.get('source')} (licence {data.get('licence')}). "
            f"{_split(split, '')} {taught} Gold examples "
            f"seen {head.get('repeat', 1)}x per epoch; class weighting "
            f"{head.get('class_weighting')}.",
            "",
        ]
    return lines


def _per_class(validation: dict[str, Any]) -> str:
    scores = validation.get("per_class_f1", {})
    return "Per-class F1: " + ", ".join(f"{k} {v}" for k, v in scores.items())


def _split(split: dict[str, Any], merged: str = ", majority label") -> str:
    return (
        f"Split: seed {split.get('seed')}, {split.get('train')} train / "
        f"{split.get('validation')} validation distinct texts "
        f"({split.get('duplicates_merged')} duplicates merged{merged})."
    )


def _multi_head(train: dict[str, Any], pre: dict[str, Any]) -> list[str]:
    unlabelled, background = train.get("unlabelled", {}), train.get("background", {})
    licences = sorted({h["data"]["licence"] for h in train.get("heads", []) if "data" in h})
    return [
        f"# {train['name']} {train.get('version', '')}".rstrip(),
        "",
        train.get("purpose", ""),
        "",
        "One shared encoder pass gives every head; each head is an output of the ONNX graph "
        "named after it (see `heads` in `engage-model.json`).",
        "",
        "## Heads",
        "",
        "Validation on fixed-seed splits cut from each head's training data (the public "
        f"corpora's test sets are held back). Epoch kept: {train.get('epoch_kept')} (best sum "
        "of the heads' selection metrics).",
        "",
        *_head_sections(train),
        "## Data and licence",
        "",
        f"- Heads' data licences: {', '.join(licences)}. " + ATTRIBUTION["CC-BY-SA-4.0"],
        f"- Unlabelled text (taught by the teachers only): {unlabelled.get('texts')} comments, "
        f"{unlabelled.get('source')} ({unlabelled.get('licence')}).",
        f"- Background for the {background.get('head')} head: {background.get('texts')} "
        f"{background.get('from')}, labelled `{background.get('label')}`, weight "
        f"{background.get('weight')}.",
        "- Tokenizer and pre-training text: 3i4K (CC-BY-SA-4.0, Cho et al. 2018), Korean hate "
        "speech incl. unlabeled comments (CC-BY-SA-4.0, Moon et al. 2020), Chatbot_data Q/A "
        "(MIT, songys).",
        "",
        "## Model",
        "",
        f"- Encoder: {json.dumps(pre.get('shape', {}))}" if pre else f"- Base: {train.get('base')}",
        f"- Training: {json.dumps(train.get('finetune', {}))}",
        "- History: "
        + "; ".join(
            f"epoch {h['epoch']}: "
            + ", ".join(
                f"{name} acc {v['accuracy']} / F1 {v['macro_f1']}"
                for name, v in h.items()
                if isinstance(v, dict)
            )
            for h in train.get("history", [])
        ),
        "",
    ]


def render(model_dir: Path, files: dict[str, int], export_notes: list[str]) -> str:
    """The card for `model_dir`; `files` maps shipped file names to their sizes in bytes."""
    train = _load(model_dir / "engage-train.json")
    pre = _load(Path(train["base"]) / "engage-pretrain.json") if train.get("base") else {}
    if train.get("task") == "multi-head":
        return "\n".join([*_multi_head(train, pre), *_tail(train, pre, files, export_notes)])
    data = train.get("data", {})
    split = train.get("split", {})
    lines = [
        *_heading(
            train,
            "On a fixed-seed split cut from the training data (the corpus's test set is held "
            "back).",
        ),
        *_metrics_rows(train),
        "",
        *_selection(train),
        _per_class(train.get("validation", {})),
        "",
        _split(split),
        "",
        "## Data and licence",
        "",
        f"- Corpus: {data.get('corpus')} — {data.get('source')}",
        f"- Licence: {data.get('licence')}. {ATTRIBUTION.get(data.get('licence', ''), '')}",
        "- Tokenizer and pre-training text: 3i4K (CC-BY-SA-4.0, Cho et al. 2018), Korean hate "
        "speech incl. unlabeled comments (CC-BY-SA-4.0, Moon et al. 2020), Chatbot_data Q/A "
        "(MIT, songys).",
        "",
        "## Model",
        "",
        f"- Encoder: {json.dumps(pre.get('shape', {}))}" if pre else f"- Base: {train.get('base')}",
        f"- Pre-training: {pre.get('steps')} masked-LM steps over {pre.get('sentences')} lines "
        f"({pre.get('minutes')} min)"
        if pre
        else "- Pre-training: none (fine-tuned from --base)",
        f"- Fine-tuning: {json.dumps(train.get('finetune', {}))}",
        *_self_training(train),
        "",
        *_tail(train, pre, files, export_notes),
    ]
    return "\n".join(lines)


def _tail(
    train: dict[str, Any], pre: dict[str, Any], files: dict[str, int], export_notes: list[str]
) -> list[str]:
    return [
        "## Files",
        "",
        "| file | size |",
        "| --- | --- |",
        *[f"| `{name}` | {size / 1e6:.1f} MB |" for name, size in sorted(files.items())],
        "",
        *export_notes,
        "",
        "## Reproduce",
        "",
        "```bash",
        *([pre["command"]] if pre.get("command") else []),
        train.get("command", ""),
        f"engage-stream export {train.get('hf_dir', 'build/' + train['name'])} "
        f"--out models/{train['name']}",
        "```",
        "",
    ]


def _everyday_lines(background: dict[str, Any]) -> list[str]:
    held = background.get("held_out", {})
    share = held.get("share_given_label")
    return [
        f"- Everyday utterances: {background.get('texts')} from {background.get('source')} "
        f"(licence {background.get('licence')}), learnt as `{background.get('label')}` at "
        f"weight {background.get('weight')}, so small talk does not get a shop topic; of "
        f"{held.get('texts')} held-out ones, "
        + (
            f"{share:.1%} are given `{background.get('label')}` (the baseline, which never saw "
            f"them: {held.get('baseline_share_given_label', 0):.1%})."
            if share is not None
            else "none."
        )
    ]


def render_grams(train: dict[str, Any], files: dict[str, int]) -> str:
    """The card of a character n-gram model: its folder is written by training itself."""
    data, split, fit = train.get("data", {}), train.get("split", {}), train.get("fit", {})
    features = train.get("features", {})
    bank = data.get("bank_examples")
    background = train.get("background")
    grid = ", ".join(f"C {run['C']}: {run['accuracy']}" for run in fit.get("grid", []))
    return "\n".join(
        [
            *_heading(
                train,
                "On a fixed-seed split cut from the labelled messages; the check file was "
                "written apart from them.",
            ),
            *_metrics_rows(train),
            "",
            _per_class(train.get("validation", {})),
            "",
            _split(split),
            "",
            "## Data and licence",
            "",
            f"- Labelled messages: {data.get('corpus')} — {data.get('source')} "
            f"(licence {data.get('licence')}).",
            *(
                [
                    f"- Knowledge-bank example questions: {bank['added']} from `{bank['file']}` "
                    f"(sha256 {bank['sha256'][:12]}), each labelled with its answer's topic, "
                    "on the training side only."
                ]
                if bank
                else []
            ),
            *(_everyday_lines(background) if background else []),
            "",
            "## Model",
            "",
            f"- Features: character {features.get('orders')}-grams of letters and digits, "
            f"spaces removed, {features.get('grams')} grams, {features.get('weighting')}; "
            f"texts cut at {features.get('max_chars')} characters.",
            f"- Fit: {fit.get('method')}, C {fit.get('C')} chosen on validation accuracy ({grid}).",
            f"- Served by numpy (`inference/char_grams.py`); largest difference from "
            f"scikit-learn's probabilities on the validation split: "
            f"{train.get('parity_max_abs_diff', 0):.1e}.",
            "",
            "## Files",
            "",
            "| file | size |",
            "| --- | --- |",
            *[f"| `{name}` | {size / 1e6:.1f} MB |" for name, size in sorted(files.items())],
            "",
            "## Reproduce",
            "",
            "```bash",
            train.get("command", ""),
            "```",
            "",
        ]
    )


def _heading(train: dict[str, Any], split_note: str) -> list[str]:
    """Title, purpose, labels and the start of the validation section, as every card has."""
    return [
        f"# {train['name']} {train.get('version', '')}".rstrip(),
        "",
        train.get("purpose", ""),
        "",
        "## Labels",
        "",
        ", ".join(f"`{label}`" for label in train.get("labels", [])),
        "",
        "## Validation",
        "",
        split_note,
        "",
    ]
