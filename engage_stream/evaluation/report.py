"""Write an evaluation: `eval.json` for machines, `report.html` for people.

The HTML page is one self-contained file: inline CSS and SVG, no JavaScript, no external
fonts or images, nothing fetched. Every text from the data is escaped with `html.escape`;
customer text appears only PII-masked (see `compare`). The font stack names Korean fonts
so Hangul renders with a proper face wherever one is installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from engage_stream.evaluation.charts import (
    BASELINE_COLOR,
    RUN_COLOR,
    Series,
    cdf_chart,
    grouped_bars,
    histogram_chart,
)
from engage_stream.evaluation.compare import Comparison, DecisionView, FlipExample
from engage_stream.evaluation.evaluate import Evaluation, RunEvaluation, as_json
from engage_stream.evaluation.metrics import (
    ActionRates,
    BinaryScores,
    Classification,
    ConfusionMatrix,
    Latency,
    MessageOutcomes,
    Outcomes,
    Rate,
)

JSON_FILE = "eval.json"
HTML_FILE = "report.html"

FONT_STACK = (
    '"Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", "NanumGothic", '
    '"Nanum Gothic", system-ui, -apple-system, "Segoe UI", sans-serif'
)


@dataclass(frozen=True, slots=True)
class ReportPaths:
    json: Path
    html: Path


def write_report(evaluation: Evaluation, out_dir: Path) -> ReportPaths:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / JSON_FILE, out_dir / HTML_FILE
    document = json.dumps(as_json(evaluation), ensure_ascii=False, indent=2, allow_nan=False)
    json_path.write_text(document + "\n", encoding="utf-8")
    html_path.write_text(render_html(evaluation), encoding="utf-8")
    return ReportPaths(json=json_path, html=html_path)


# -- formatting -----------------------------------------------------------------------------


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _n(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _rate(value: Rate | None) -> str:
    return "–" if value is None else f"{value.per_1000:,.1f}"


def _when(iso: str | None) -> str:
    """2026-11-26T19:00:00.120000+09:00 -> 2026-11-26 19:00:00 +09:00"""
    if not iso:
        return "–"
    return f"{iso[:10]} {iso[11:19]} {iso[-6:]}" if len(iso) >= 25 else iso


def _e(text: object) -> str:
    return escape(str(text))


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "", raw: bool = False
) -> str:
    """A table; cells are escaped unless `raw` (then the caller built them from escaped parts)."""
    klass = f' class="{cls}"' if cls else ""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(anchor: str, title: str, body: str, lead: str = "") -> str:
    intro = f'<p class="lead">{_e(lead)}</p>' if lead else ""
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{intro}{body}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def headline_rates(rates: ActionRates) -> dict[str, Rate]:
    return {
        "handoffs": rates.handoffs,
        "next_best_actions": rates.next_best_actions,
        "suppressions": rates.suppressions,
        "duplicates": rates.duplicates,
    }


def _runs(evaluation: Evaluation) -> list[tuple[str, RunEvaluation, str]]:
    runs = [(f"run {evaluation.run.summary.run_id}", evaluation.run, RUN_COLOR)]
    if evaluation.baseline is not None:
        runs.append(
            (f"baseline {evaluation.baseline.summary.run_id}", evaluation.baseline, BASELINE_COLOR)
        )
    return runs


# -- page -----------------------------------------------------------------------------------

CSS = f"""
:root {{ --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --card:#f8fafc; --run:{RUN_COLOR};
  --base:{BASELINE_COLOR}; }}
* {{ box-sizing: border-box; }}
body {{ margin:0; font-family:{FONT_STACK}; color:var(--ink); background:#fff;
  font-size:14px; line-height:1.5; }}
main {{ max-width:1200px; margin:0 auto; padding:24px 28px 48px; }}
header {{ border-bottom:1px solid var(--line); padding-bottom:12px; margin-bottom:8px; }}
h1 {{ font-size:24px; margin:0 0 4px; }}
h2 {{ font-size:19px; margin:32px 0 8px; padding-top:8px; border-top:1px solid var(--line); }}
h3 {{ font-size:15px; margin:18px 0 6px; }}
.sub, .lead, .note, .muted {{ color:var(--muted); }}
.note {{ font-size:13px; }}
.cards {{ display:grid; grid-template-columns:repeat(auto-fill, minmax(175px, 1fr)); gap:10px;
  margin:14px 0; }}
.card {{ background:var(--card); border:1px solid var(--line); border-radius:10px;
  padding:10px 12px; }}
.card .label {{ color:var(--muted); font-size:12px; }}
.card .value {{ font-size:24px; font-weight:700; line-height:1.2; }}
.card .detail {{ font-size:12px; color:var(--muted); }}
.up {{ color:#15803d; }} .down {{ color:#b91c1c; }}
table {{ border-collapse:collapse; margin:8px 0 14px; font-size:13px; }}
th, td {{ border-bottom:1px solid var(--line); padding:4px 10px; text-align:left;
  vertical-align:top; }}
th {{ background:var(--card); font-weight:600; }}
td.num, th.num {{ text-align:right; font-variant-numeric:tabular-nums; }}
.grid2 {{ display:flex; flex-wrap:wrap; gap:24px; align-items:flex-start; }}
.cm {{ border-collapse:separate; border-spacing:2px; }}
.cm td, .cm th {{ border:none; text-align:center; padding:0; font-size:12px; }}
.cm td.cm-cell {{ width:46px; height:34px; border-radius:4px; font-variant-numeric:tabular-nums; }}
.cm th.col {{ writing-mode:vertical-rl; transform:rotate(180deg); height:120px;
  padding:4px 0; font-weight:500; text-align:left; }}
.cm th.row {{ text-align:right; padding-right:8px; font-weight:500; white-space:nowrap; }}
.cm caption {{ caption-side:top; text-align:left; font-weight:600; padding-bottom:4px; }}
.axis-title {{ color:var(--muted); font-size:12px; }}
svg.chart {{ max-width:100%; height:auto; }}
svg text {{ font-family:inherit; font-size:12px; fill:var(--ink); }}
svg text.axis, svg text.muted {{ fill:var(--muted); font-size:11px; }}
svg line.grid {{ stroke:var(--line); }}
.pill {{ display:inline-block; max-width:100%; border-radius:10px; padding:0 8px;
  margin:1px 2px; font-size:12px; border:1px solid transparent; overflow-wrap:anywhere; }}
.k-handoff {{ background:#fee2e2; border-color:#fecaca; }}
.k-next_best_action {{ background:#dcfce7; border-color:#bbf7d0; }}
.k-suppressed {{ background:#fef3c7; border-color:#fde68a; }}
.k-already_handed_off {{ background:#ede9fe; border-color:#ddd6fe; }}
.k-duplicate {{ background:#e2e8f0; }}
.text {{ max-width:420px; word-break:keep-all; overflow-wrap:anywhere; }}
.swatch {{ display:inline-block; width:10px; height:10px; border-radius:2px;
  margin-right:4px; }}
th.group {{ text-align:center; border-left:2px solid #fff; }}
table.examples {{ width:100%; table-layout:fixed; }}
table.examples td:first-child, table.examples th:first-child {{ width:130px; }}
table.examples td:nth-child(2), table.examples th:nth-child(2) {{ width:30%; }}
table.examples code {{ white-space:nowrap; }}
code {{ font-size:12px; background:var(--card); padding:0 3px; border-radius:3px; }}
footer {{ margin-top:36px; color:var(--muted); font-size:12px; }}
"""


def render_html(evaluation: Evaluation) -> str:
    run = evaluation.run.summary
    title = f"engage-stream evaluation: {run.run_id}"
    versus = (
        f" vs baseline {evaluation.baseline.summary.run_id}"
        if evaluation.baseline is not None
        else ""
    )
    sections = [
        _summary(evaluation),
        _models(evaluation),
        _handoff(evaluation),
        _drafts(evaluation),
        _rates(evaluation),
        _outcomes(evaluation),
        _latency(evaluation),
        _comparison(evaluation.comparison, evaluation),
        _notes(),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title + versus)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{_e(title)}</h1>"
        f'<div class="sub">{_e(run.kind)} run{_e(versus)} · generated '
        f"{_e(evaluation.generated_at)} · schema v{evaluation.schema_version}</div></header>\n"
        + "\n".join(sections)
        + "\n<footer>engage-stream eval · eval.json holds every number on this page.</footer>\n"
        "</main>\n</body>\n</html>\n"
    )


# -- summary --------------------------------------------------------------------------------


def _card(label: str, value: str, detail: str = "", raw_detail: bool = False) -> str:
    more = f'<div class="detail">{detail if raw_detail else _e(detail)}</div>' if detail else ""
    return (
        f'<div class="card"><div class="label">{_e(label)}</div>'
        f'<div class="value">{_e(value)}</div>{more}</div>'
    )


def _vs(run_value: float | None, base_value: float | None, fmt: str, higher_is: str) -> str:
    """`baseline X (Δ ±d)`, coloured when the change is good or bad; escaped pieces."""
    if base_value is None:
        return ""
    shown = _pct(base_value) if fmt == "pct" else f"{base_value:,.1f}"
    if run_value is None:
        return f"baseline {_e(shown)}"
    delta = run_value - base_value
    delta_text = f"{100 * delta:+.1f} pt" if fmt == "pct" else f"{delta:+,.1f}"
    cls = ""
    if abs(delta) > 1e-12 and higher_is in {"better", "worse"}:
        good = (delta > 0) == (higher_is == "better")
        cls = "up" if good else "down"
    return f'baseline {_e(shown)} <span class="{cls}">({_e(delta_text)})</span>'


def _summary(evaluation: Evaluation) -> str:
    run, base = evaluation.run, evaluation.baseline
    cards = [
        _card(
            "Events",
            f"{run.summary.events:,}",
            f"baseline {base.summary.events:,}" if base else f"{run.summary.records:,} records",
        )
    ]
    if run.classification is not None:
        for model, result in run.classification.items():
            base_result = base.classification[model] if base and base.classification else None
            cards.append(
                _card(
                    f"{model} accuracy · macro-F1",
                    f"{_pct(result.accuracy)} · {_f(result.macro_f1, 2)}",
                    (
                        _vs(result.accuracy, base_result.accuracy, "pct", "better")
                        if base_result
                        else f"n = {result.n:,}"
                    ),
                    raw_detail=True,
                )
            )
    if run.handoff is not None and run.handoff.n:
        cards.append(
            _card(
                "Handoff F1 vs labels",
                _f(run.handoff.f1, 2),
                f"precision {_pct(run.handoff.precision, 0)}, recall {_pct(run.handoff.recall, 0)}",
            )
        )
    headline = [
        ("Handoffs / 1k events", "handoffs"),
        ("Messages / 1k events", "next_best_actions"),
        ("Suppressions / 1k events", "suppressions"),
    ]
    for label, key in headline:
        value = headline_rates(run.rates)[key].per_1000
        cards.append(
            _card(
                label,
                f"{value:,.1f}",
                _vs(value, headline_rates(base.rates)[key].per_1000, "num", "neutral")
                if base
                else "",
                raw_detail=True,
            )
        )
    comparison = evaluation.comparison
    if comparison is not None:
        cards.append(
            _card(
                "Events with decision flips",
                f"{comparison.events_with_flips:,}",
                f"of {comparison.shared:,} shared events",
            )
        )
    for name, evaluated, _ in _runs(evaluation):
        lat = evaluated.latency
        if lat.end_to_end and lat.n:
            cards.append(
                _card(
                    f"p95 latency, {name}",
                    f"{_n(lat.p95_ms)} ms",
                    f"p50 {_n(lat.p50_ms)} ms · p99 {_n(lat.p99_ms)} ms",
                )
            )
        elif lat.events_per_s is not None:
            cards.append(
                _card(
                    f"Throughput, {name}",
                    f"{lat.events_per_s:,.0f} events/s",
                    f"{_n(lat.seconds)} s" if lat.seconds is not None else "",
                )
            )
    rows = []
    for name, evaluated, color in _runs(evaluation):
        s = evaluated.summary
        rows.append(
            [
                f'<span class="swatch" style="background:{color}"></span>{_e(name)}',
                _e(s.kind),
                _e(s.source),
                _e(f"{s.events:,}"),
                _e(f"{s.records:,}"),
                _e(f"{s.duplicate_records:,} / {s.redelivered_records:,}"),
                _e(f"{_when(s.first_event_at)} → {_when(s.last_event_at)}"),
                _e(", ".join(s.policy_versions) or "–"),
                _e(", ".join(s.models) or "–"),
            ]
        )
    table = _table(
        [
            "run",
            "kind",
            "source",
            "events",
            "records",
            "duplicates / redelivered",
            "event time",
            "policy",
            "models",
        ],
        rows,
        raw=True,
    )
    labels = evaluation.labels
    label_line = (
        _note(
            f"Labels: {labels.labels:,} event ids from {labels.source} "
            f"({labels.in_run:,} in the run): intent {labels.intent:,}, toxicity "
            f"{labels.toxicity:,}, topic {labels.topic:,}, answer_id {labels.answer_id:,}, "
            f"handoff_needed {labels.handoff_needed:,}, email_opened "
            f"{labels.email_opened:,}, email_converted {labels.email_converted:,}."
        )
        if labels is not None
        else _note("No labels given (--labels): model and decision quality are not measured.")
    )
    return _section(
        "summary", "Summary", f'<div class="cards">{"".join(cards)}</div>{table}{label_line}'
    )


# -- models ---------------------------------------------------------------------------------


def _cell_style(count: int, row_total: int, diagonal: bool) -> str:
    if count == 0 or row_total == 0:
        return "background:#f8fafc;color:#cbd5e1"
    share = count / row_total
    alpha = 0.12 + 0.83 * share
    rgb = "22,163,74" if diagonal else "220,38,38"
    ink = "#fff" if alpha > 0.55 else "#0f172a"
    return f"background:rgba({rgb},{alpha:.2f});color:{ink}"


def confusion_html(name: str, matrix: ConfusionMatrix) -> str:
    """A heat-map grid: truth in rows, prediction in columns; colour is the row share."""
    head = "".join(f'<th class="col" scope="col">{_e(label)}</th>' for label in matrix.labels)
    rows = []
    for i, truth in enumerate(matrix.labels):
        total = sum(matrix.matrix[i])
        cells = []
        for j, predicted in enumerate(matrix.labels):
            count = matrix.matrix[i][j]
            share = f"{100 * count / total:.0f}% of row" if total else "no events"
            cells.append(
                f'<td class="cm-cell" data-truth="{_e(truth)}" data-pred="{_e(predicted)}" '
                f'style="{_cell_style(count, total, i == j)}" '
                f'title="truth {_e(truth)} → predicted {_e(predicted)}: {count} ({share})">'
                f"{count}</td>"
            )
        rows.append(
            f'<tr><th class="row" scope="row">{_e(truth)}</th>{"".join(cells)}'
            f'<td class="muted">&nbsp;{total}</td></tr>'
        )
    return (
        f'<table class="cm" data-name="{_e(name)}"><caption>{_e(name)}'
        '<div class="axis-title">rows: truth · columns: predicted</div></caption>'
        f"<thead><tr><th></th>{head}<th></th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _models(evaluation: Evaluation) -> str:
    if evaluation.run.classification is None:
        return _section(
            "models",
            "Models against labels",
            _note("No labels given: pass --labels FILE_OR_TOPIC to measure the models."),
        )
    body = []
    runs = [(n, r) for n, r, _ in _runs(evaluation) if r.classification is not None]
    for model in evaluation.run.classification:
        results: list[tuple[str, Classification]] = [
            (name, r.classification[model]) for name, r in runs if r.classification
        ]
        body.append(f"<h3>{_e(model)}</h3>")
        body.append(
            _table(
                [
                    "run",
                    "n",
                    "accuracy",
                    "macro-F1",
                    "labels in macro-F1",
                    "labelled",
                    "no prediction",
                ],
                [
                    [
                        name,
                        f"{c.n:,}",
                        _pct(c.accuracy),
                        _f(c.macro_f1),
                        str(len(c.macro_f1_labels)),
                        f"{c.labelled:,}",
                        f"{c.missing_prediction:,}",
                    ]
                    for name, c in results
                ],
            )
        )
        first = results[0][1]
        by_run = [{s.label: s for s in c.per_label} for _, c in results]
        order = list(dict.fromkeys(s.label for _, c in results for s in c.per_label))
        support = {s.label: s.support for s in first.per_label}
        group = "".join(f'<th colspan="3" class="group">{_e(name)}</th>' for name, _ in results)
        sub = "<th>precision</th><th>recall</th><th>F1</th>" * len(results)
        rows = []
        for label in order:
            cells = [_e(label), _e(f"{support.get(label, 0):,}")]
            for scores in by_run:
                s = scores.get(label)
                cells += [_f(s.precision), _f(s.recall), _f(s.f1)] if s else ["–"] * 3
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        body.append(
            '<table class="per-label"><thead>'
            f'<tr><th rowspan="2">label</th><th rowspan="2">support</th>{group}</tr>'
            f"<tr>{sub}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        grids = "".join(
            confusion_html(f"{model} · {name}", c.confusion) for name, c in results if c.n
        )
        body.append(f'<div class="grid2">{grids}</div>' if grids else _note("no labelled events"))
    return _section(
        "models",
        "Models against labels",
        "".join(body),
        "Over events with both a label and a prediction. Confusion cells are coloured by the "
        "share of their row: green on the diagonal (right), red off it (wrong).",
    )


# -- handoff --------------------------------------------------------------------------------


def _handoff(evaluation: Evaluation) -> str:
    runs = [(n, r.handoff) for n, r, _ in _runs(evaluation) if r.handoff is not None]
    scored: list[tuple[str, BinaryScores]] = [(n, h) for n, h in runs if h is not None and h.n]
    if not scored:
        return _section(
            "handoff",
            "Handoff decisions against labels",
            _note("No handoff_needed labels for the events of the run."),
        )
    table = _table(
        ["run", "n", "TP", "FP", "FN", "TN", "precision", "recall", "F1"],
        [
            [
                name,
                f"{h.n:,}",
                f"{h.true_positive:,}",
                f"{h.false_positive:,}",
                f"{h.false_negative:,}",
                f"{h.true_negative:,}",
                _pct(h.precision),
                _pct(h.recall),
                _f(h.f1),
            ]
            for name, h in scored
        ],
    )
    return _section(
        "handoff",
        "Handoff decisions against labels",
        table,
        "Positive: the enriched record holds a handoff or an already_handed_off decision; "
        "truth: handoff_needed.",
    )


# -- drafts ---------------------------------------------------------------------------------


def _drafts(evaluation: Evaluation) -> str:
    rows = []
    for name, run, _ in _runs(evaluation):
        d = run.drafts
        rows.append(
            [
                name,
                f"{d.drafts:,}",
                f"{d.grounded:,} ({_pct(d.grounded_rate, 0)})",
                f"{d.general:,}",
                f"{d.fallback:,} ({_pct(d.fallback_rate, 0)})",
                f"{d.judged:,}",
                _pct(d.hit_at_1),
                _pct(d.hit_at_3),
                f"{d.unanswerable:,}",
                _pct(d.correct_fallback),
            ]
        )
    table = _table(
        [
            "run",
            "drafts",
            "grounded",
            "general",
            "fallback",
            "judged",
            "hit@1",
            "hit@3",
            "no answer labelled",
            "correct fallback",
        ],
        rows,
    )
    return _section(
        "drafts",
        "Drafted answers",
        table,
        "Drafts of handoffs and of e-mails answered automatically. Grounded: a knowledge-bank "
        "answer filled with the facts of the customer's order; general: a bank answer that "
        "needs none; fallback: nothing in the bank fit. hit@1 / hit@3 against answer_id "
        "labels; correct fallback: questions labelled with no answer whose draft said none.",
    )


# -- rates ----------------------------------------------------------------------------------


def _rate_rows(rates: Sequence[ActionRates]) -> list[tuple[str, list[Rate | None]]]:
    rows: list[tuple[str, list[Rate | None]]] = [
        ("handoffs", [r.handoffs for r in rates]),
        ("messages (next-best-action)", [r.next_best_actions for r in rates]),
    ]

    def keyed(prefix: str, pick: str) -> None:
        keys = sorted({k for r in rates for k in getattr(r, pick)})
        for key in keys:
            rows.append(
                (
                    f"{prefix}{key}",
                    [getattr(r, pick).get(key) or Rate(count=0, per_1000=0.0) for r in rates],
                )
            )

    keyed("  message rule: ", "next_best_actions_by_rule")
    keyed("  message channel: ", "next_best_actions_by_channel")
    rows.append(("suppressions", [r.suppressions for r in rates]))
    keyed("  suppressed: ", "suppressions_by_reason")
    rows.append(("duplicates", [r.duplicates for r in rates]))
    rows.append(("redelivered", [r.redelivered for r in rates]))
    rows.append(("dead letters (DLQ)", [r.dlq for r in rates]))
    keyed("  DLQ: ", "dlq_by_error_class")
    return rows


def _rates(evaluation: Evaluation) -> str:
    runs = _runs(evaluation)
    series = [Series(name, color) for name, _, color in runs]
    rates = [r.rates for _, r, _ in runs]
    rows = _rate_rows(rates)
    chart = grouped_bars(
        "Actions per 1,000 events",
        [
            (label.strip(), [v.per_1000 if v is not None else None for v in values])
            for label, values in rows
            if any(v is not None and v.count for v in values)
        ],
        series,
    )
    headers = ["per 1,000 events"]
    for name, _, _ in runs:
        headers += [f"{name}: count", f"{name}: per 1,000"]
    table_rows = []
    for label, values in rows:
        row = [label.replace("  ", "· ")]
        for value in values:
            row += ["–" if value is None else f"{value.count:,}", _rate(value)]
        table_rows.append(row)
    reasons = sorted({k for r in rates for k in r.handoff_reasons})
    reason_chart = (
        grouped_bars(
            "Handoff reasons, share of handoffs",
            [
                (
                    reason,
                    [
                        100 * r.handoff_reasons[reason].share
                        if reason in r.handoff_reasons
                        else 0.0
                        for r in rates
                    ],
                )
                for reason in reasons
            ],
            series,
            unit="%",
        )
        if reasons
        else _note("No handoffs.")
    )
    priorities = sorted({k for r in rates for k in r.handoff_priorities})
    priority_table = _table(
        ["handoff priority", *[name for name, _, _ in runs]],
        [
            [
                p,
                *[
                    f"{r.handoff_priorities[p].count:,} ({_pct(r.handoff_priorities[p].share, 0)})"
                    if p in r.handoff_priorities
                    else "0"
                    for r in rates
                ],
            ]
            for p in priorities
        ],
    )
    body = (
        f"{chart}{_table(headers, table_rows, cls='rates')}"
        f"<h3>Handoff reasons</h3>{reason_chart}{priority_table if priorities else ''}"
    )
    return _section(
        "rates",
        "Action rates",
        body,
        f"Per 1,000 distinct events of each run (run: {rates[0].events:,} events"
        + (f", baseline: {rates[1].events:,}" if len(rates) > 1 else "")
        + "). Actions count once per action id.",
    )


# -- message outcomes -----------------------------------------------------------------------


def _outcome_row(name: str, key: str, o: Outcomes) -> list[str]:
    return [
        name,
        key,
        f"{o.messaged:,}",
        f"{o.opened:,} / {o.open_labelled:,}",
        _pct(o.open_rate),
        f"{o.converted:,} / {o.convert_labelled:,}",
        _pct(o.convert_rate),
    ]


def _outcomes(evaluation: Evaluation) -> str:
    results: list[tuple[str, MessageOutcomes]] = [
        (n, r.message_outcomes) for n, r, _ in _runs(evaluation) if r.message_outcomes is not None
    ]
    if not results:
        return _section(
            "outcomes",
            "Message outcomes",
            _note("No email_opened / email_converted labels."),
        )
    rows = []
    for name, outcomes in results:
        rows.append(_outcome_row(name, "all messages", outcomes.overall))
        rows += [_outcome_row(name, f"channel {k}", o) for k, o in outcomes.by_channel.items()]
        rows += [_outcome_row(name, f"rule {k}", o) for k, o in outcomes.by_rule.items()]
    table = _table(
        [
            "run",
            "messages",
            "events messaged",
            "opened / labelled",
            "open rate",
            "converted / labelled",
            "conversion rate",
        ],
        rows,
    )
    return _section(
        "outcomes",
        "Message outcomes",
        table,
        "Among the events that got a next-best-action message; the channel email row is "
        "the events that got an e-mail.",
    )


# -- latency --------------------------------------------------------------------------------


def _latency(evaluation: Evaluation) -> str:
    body = []
    curves = []
    for name, result, color in _runs(evaluation):
        lat: Latency = result.latency
        body.append(f"<h3>{_e(name)}</h3>{_note(lat.note)}")
        if lat.end_to_end and lat.n:
            body.append(
                _table(
                    ["events", "p50", "p95", "p99", "max", "mean"],
                    [
                        [
                            f"{lat.n:,}",
                            f"{_n(lat.p50_ms)} ms",
                            f"{_n(lat.p95_ms)} ms",
                            f"{_n(lat.p99_ms)} ms",
                            f"{_n(lat.max_ms)} ms",
                            f"{_n(lat.mean_ms)} ms",
                        ]
                    ],
                    cls="latency",
                )
            )
            body.append(histogram_chart(f"Latency histogram, {name}", lat.histogram, color))
            curves.append((Series(name, color), lat.cdf))
        elif not lat.end_to_end:
            body.append(
                _table(
                    ["events/s", "seconds"],
                    [
                        [
                            f"{lat.events_per_s:,.1f}" if lat.events_per_s is not None else "–",
                            f"{lat.seconds:,.1f}" if lat.seconds is not None else "–",
                        ]
                    ],
                )
            )
    if curves:
        body.append("<h3>Cumulative distribution</h3>")
        body.append(cdf_chart("Latency CDF", curves))
    return _section("latency", "Latency and throughput", "".join(body))


# -- comparison -----------------------------------------------------------------------------


def decision_label(view: DecisionView) -> str:
    """`handoff · high/escalations · abusive_language`, `message · abandoned_cart → email`."""
    reasons = ", ".join(view.reasons)
    if view.kind == "handoff":
        where = f"{view.priority}/{view.queue}" if view.queue else view.priority or ""
        return " · ".join(w for w in ("handoff", where, reasons) if w)
    if view.kind == "next_best_action":
        return f"message · {view.rule}" + (f" → {view.channel}" if view.channel else "")
    if view.kind == "suppressed":
        return " · ".join(w for w in ("suppressed", view.rule, reasons) if w)
    if view.kind == "already_handed_off":
        return " · ".join(w for w in ("already handed off", reasons) if w)
    return " · ".join(w for w in (view.kind.replace("_", " "), reasons) if w)


def _pill(view: DecisionView) -> str:
    return (
        f'<span class="pill k-{_e(view.kind)}" title="{_e(view.detail)}">'
        f"{_e(decision_label(view))}</span>"
    )


def _decisions(views: list[DecisionView]) -> str:
    return "".join(_pill(v) for v in views) or '<span class="muted">no decision</span>'


def _predictions(shown: dict[str, str]) -> str:
    return _e(", ".join(f"{k} {v}" for k, v in shown.items()) or "–")


def _example_row(example: FlipExample) -> list[str]:
    text = (
        f'<div class="text" lang="ko">{_e(example.text)}</div>'
        if example.text
        else f'<span class="muted">({_e(example.event_type)}, no text)</span>'
    )
    return [
        f"<code>{_e(example.event_id)}</code><br>"
        f'<span class="muted">{_e(example.event_type)}</span>',
        text,
        _decisions(example.baseline)
        + f'<div class="muted">{_predictions(example.baseline_predictions)}</div>',
        _decisions(example.run)
        + f'<div class="muted">{_predictions(example.run_predictions)}</div>',
    ]


def _comparison(comparison: Comparison | None, evaluation: Evaluation) -> str:
    if comparison is None:
        return _section(
            "comparison",
            "Comparison with a baseline",
            _note("No baseline given (--baseline SPEC)."),
        )
    overview = _table(
        ["shared events", "only in run", "only in baseline", "events with flips"],
        [
            [
                f"{comparison.shared:,}",
                f"{comparison.only_in_run:,}",
                f"{comparison.only_in_baseline:,}",
                f"{comparison.events_with_flips:,}",
            ]
        ],
    )
    only = []
    if comparison.only_in_run_examples:
        only.append(_note("Only in run, e.g.: " + ", ".join(comparison.only_in_run_examples)))
    if comparison.only_in_baseline_examples:
        only.append(
            _note("Only in baseline, e.g.: " + ", ".join(comparison.only_in_baseline_examples))
        )
    agreement = _table(
        ["model", "shared with predictions", "agree", "agreement", "most frequent changes"],
        [
            [
                model,
                f"{a.n:,}",
                f"{a.agree:,}",
                _pct(a.rate),
                "; ".join(f"{c.baseline} → {c.run}: {c.count}" for c in a.changes[:5]) or "–",
            ]
            for model, a in comparison.agreement.items()
        ],
    )
    flips = _table(
        ["flip", "what changed (baseline → run)", "events", "per 1,000 shared"],
        [
            [
                f"<code>{_e(key)}</code>",
                _e(s.description),
                _e(f"{s.count:,}"),
                _e(f"{s.per_1000_shared:,.1f}"),
            ]
            for key, s in comparison.flips.items()
            if s.count
        ]
        or [["–", "no decision differs", "0", "0"]],
        cls="flips",
        raw=True,
    )
    examples = []
    for key, summary in comparison.flips.items():
        if not summary.examples:
            continue
        examples.append(
            f'<h3 id="flip-{_e(key)}"><code>{_e(key)}</code> · {_e(summary.description)} '
            f'<span class="muted">({summary.count:,} events)</span></h3>'
        )
        examples.append(
            _table(
                [
                    "event",
                    "customer text (masked)",
                    f"baseline {comparison.baseline_run_id}",
                    f"run {comparison.run_id}",
                ],
                [_example_row(e) for e in summary.examples],
                cls="examples",
                raw=True,
            )
        )
    return _section(
        "comparison",
        f"Comparison: run {comparison.run_id} vs baseline {comparison.baseline_run_id}",
        overview
        + "".join(only)
        + "<h3>Model agreement</h3>"
        + agreement
        + "<h3>Decision flips</h3>"
        + flips
        + "".join(examples),
        "Over the events both runs hold. A flip is a decision that differs for one event; "
        "each kind counts once per event.",
    )


def _notes() -> str:
    items = [
        "Events are distinct event ids: a record marked duplicate_of and a second record for "
        "the same id (at-least-once redelivery) are counted apart, never as events.",
        "Accuracy and macro-F1 are over events with both a label and a prediction. Macro-F1 "
        "is the mean F1 over the labels present in the truth or the predictions; a label "
        "never predicted has precision 0.",
        "Handoff: positive when the record holds a handoff or already_handed_off decision.",
        "Rates are per 1,000 distinct events; actions count once per action id, "
        "suppressions once per suppression id, dead letters once per input position.",
        "Latency percentiles are nearest-rank, from processed_at minus the input record "
        "timestamp, and only for the live run: a replay processes old events, so that "
        "difference is not a latency; its throughput comes from run.json.",
        "Customer text is masked (phones, e-mails, 주민등록번호, cards) before it is shown.",
    ]
    return _section(
        "notes",
        "How to read this",
        "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>",
    )
