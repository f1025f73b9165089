"""Write an evaluation: `eval.json` for machines, `report.html` for people.

This module prepares the page as plain data (formatted numbers and texts, chart geometry);
the Jinja2 templates in `templates/` lay it out. The environment autoescapes every template
and nothing is marked safe, so a customer's text, a label, a model or a file name can never
become markup. The page is one self-contained file: inline CSS and SVG, no JavaScript, no
external fonts or images, nothing fetched. Customer text appears only PII-masked (see
`compare`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from engage_stream.evaluation.charts import (
    BASELINE_COLOR,
    RUN_COLOR,
    Chart,
    IntervalRow,
    Series,
    cdf_chart,
    grouped_bars,
    histogram_chart,
    interval_chart,
)
from engage_stream.evaluation.compare import Comparison, DecisionView, FlipExample
from engage_stream.evaluation.evaluate import Evaluation, RunEvaluation, as_json
from engage_stream.evaluation.experiments import ExperimentResult, Interval
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
TEMPLATE = "report.html.j2"


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


@cache
def environment() -> Environment:
    """Autoescape on for every template, whatever its name; an unknown name fails loudly."""
    return Environment(
        loader=PackageLoader("engage_stream.evaluation", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(evaluation: Evaluation) -> str:
    return environment().get_template(TEMPLATE).render(page=page(evaluation))


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


# -- what the templates read ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Table:
    """A plain table: every header and cell is text."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    cls: str = ""


@dataclass(frozen=True, slots=True)
class Versus:
    """`baseline X (Δ ±d)`; `cls` colours the change: up (good), down (bad) or none."""

    shown: str
    delta: str = ""
    cls: str = ""


@dataclass(frozen=True, slots=True)
class Card:
    label: str
    value: str
    detail: str = ""
    versus: Versus | None = None


@dataclass(frozen=True, slots=True)
class RunRow:
    name: str
    color: str
    cells: Sequence[str]


@dataclass(frozen=True, slots=True)
class Summary:
    cards: Sequence[Card]
    runs: Sequence[RunRow]
    labels: dict[str, str] | None
    """Label counts, formatted; None: no labels given."""


@dataclass(frozen=True, slots=True)
class GridCell:
    predicted: str
    count: int
    share: str
    style: str


@dataclass(frozen=True, slots=True)
class GridRow:
    truth: str
    cells: Sequence[GridCell]
    total: int


@dataclass(frozen=True, slots=True)
class Grid:
    """A confusion matrix as a heat map: truth in rows, prediction in columns."""

    name: str
    labels: Sequence[str]
    rows: Sequence[GridRow]


@dataclass(frozen=True, slots=True)
class ModelBlock:
    model: str
    scores: Table
    runs: Sequence[str]
    per_label: Sequence[Sequence[str]]
    grids: Sequence[Grid]


@dataclass(frozen=True, slots=True)
class Rates:
    events: str
    baseline_events: str
    chart: Chart
    table: Table
    reasons: Chart | None
    priorities: Table | None


@dataclass(frozen=True, slots=True)
class RunLatency:
    name: str
    note: str
    table: Table | None = None
    histogram: Chart | None = None


@dataclass(frozen=True, slots=True)
class LatencyView:
    runs: Sequence[RunLatency]
    cdf: Chart | None


@dataclass(frozen=True, slots=True)
class Pill:
    kind: str
    detail: str
    label: str


@dataclass(frozen=True, slots=True)
class ExampleRow:
    event_id: str
    event_type: str
    text: str | None
    """Already PII-masked by `compare`."""
    baseline: Sequence[Pill]
    baseline_predictions: str
    run: Sequence[Pill]
    run_predictions: str


@dataclass(frozen=True, slots=True)
class FlipRow:
    key: str
    description: str
    count: str
    per_1000: str


@dataclass(frozen=True, slots=True)
class FlipExamples:
    key: str
    description: str
    count: str
    rows: Sequence[ExampleRow]


@dataclass(frozen=True, slots=True)
class ComparisonView:
    run_id: str
    baseline_run_id: str
    overview: Table
    only_in_run: Sequence[str]
    only_in_baseline: Sequence[str]
    agreement: Table
    flips: Sequence[FlipRow]
    examples: Sequence[FlipExamples]


@dataclass(frozen=True, slots=True)
class ExperimentView:
    title: str
    lead: str
    table: Table
    chart: Chart | None


@dataclass(frozen=True, slots=True)
class Page:
    title: str
    versus: str
    kind: str
    generated_at: str
    schema_version: int
    summary: Summary
    models: Sequence[ModelBlock] | None
    handoff: Table | None
    drafts: Table
    rates: Rates
    outcomes: Table | None
    experiments: Sequence[ExperimentView]
    """None shown (no section) when no record of either run carries an arm."""
    latency: LatencyView
    comparison: ComparisonView | None
    colors: dict[str, str] = field(
        default_factory=lambda: {"run": RUN_COLOR, "baseline": BASELINE_COLOR}
    )


def page(evaluation: Evaluation) -> Page:
    run = evaluation.run.summary
    return Page(
        title=f"engage-stream evaluation: {run.run_id}",
        versus=(
            f" vs baseline {evaluation.baseline.summary.run_id}"
            if evaluation.baseline is not None
            else ""
        ),
        kind=run.kind,
        generated_at=evaluation.generated_at,
        schema_version=evaluation.schema_version,
        summary=_summary(evaluation),
        models=_models(evaluation),
        handoff=_handoff(evaluation),
        drafts=_drafts(evaluation),
        rates=_rates(evaluation),
        outcomes=_outcomes(evaluation),
        experiments=_experiments(evaluation),
        latency=_latency(evaluation),
        comparison=_comparison(evaluation.comparison),
    )


# -- summary --------------------------------------------------------------------------------


def _vs(run_value: float | None, base_value: float, fmt: str, higher_is: str) -> Versus:
    shown = _pct(base_value) if fmt == "pct" else f"{base_value:,.1f}"
    if run_value is None:
        return Versus(shown)
    delta = run_value - base_value
    delta_text = f"{100 * delta:+.1f} pt" if fmt == "pct" else f"{delta:+,.1f}"
    cls = ""
    if abs(delta) > 1e-12 and higher_is in {"better", "worse"}:
        good = (delta > 0) == (higher_is == "better")
        cls = "up" if good else "down"
    return Versus(shown, delta_text, cls)


def _cards(evaluation: Evaluation) -> list[Card]:
    run, base = evaluation.run, evaluation.baseline
    cards = [
        Card(
            "Events",
            f"{run.summary.events:,}",
            f"baseline {base.summary.events:,}" if base else f"{run.summary.records:,} records",
        )
    ]
    if run.classification is not None:
        for model, result in run.classification.items():
            base_result = base.classification[model] if base and base.classification else None
            cards.append(
                Card(
                    f"{model} accuracy · macro-F1",
                    f"{_pct(result.accuracy)} · {_f(result.macro_f1, 2)}",
                    "" if base_result else f"n = {result.n:,}",
                    _vs(result.accuracy, base_result.accuracy, "pct", "better")
                    if base_result and base_result.accuracy is not None
                    else None,
                )
            )
    if run.handoff is not None and run.handoff.n:
        cards.append(
            Card(
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
        versus = (
            _vs(value, headline_rates(base.rates)[key].per_1000, "num", "neutral") if base else None
        )
        cards.append(Card(label, f"{value:,.1f}", versus=versus))
    comparison = evaluation.comparison
    if comparison is not None:
        cards.append(
            Card(
                "Events with decision flips",
                f"{comparison.events_with_flips:,}",
                f"of {comparison.shared:,} shared events",
            )
        )
    for name, evaluated, _ in _runs(evaluation):
        lat = evaluated.latency
        if lat.end_to_end and lat.n:
            cards.append(
                Card(
                    f"p95 latency, {name}",
                    f"{_n(lat.p95_ms)} ms",
                    f"p50 {_n(lat.p50_ms)} ms · p99 {_n(lat.p99_ms)} ms",
                )
            )
        elif lat.events_per_s is not None:
            cards.append(
                Card(
                    f"Throughput, {name}",
                    f"{lat.events_per_s:,.0f} events/s",
                    f"{_n(lat.seconds)} s" if lat.seconds is not None else "",
                )
            )
    return cards


def _summary(evaluation: Evaluation) -> Summary:
    rows = []
    for name, evaluated, color in _runs(evaluation):
        s = evaluated.summary
        rows.append(
            RunRow(
                name,
                color,
                [
                    s.kind,
                    s.source,
                    f"{s.events:,}",
                    f"{s.records:,}",
                    f"{s.duplicate_records:,} / {s.redelivered_records:,}",
                    f"{_when(s.first_event_at)} → {_when(s.last_event_at)}",
                    ", ".join(s.policy_versions) or "–",
                    ", ".join(s.models) or "–",
                ],
            )
        )
    labels = evaluation.labels
    counts = (
        {
            "source": labels.source,
            **{
                key: f"{getattr(labels, key):,}"
                for key in (
                    "labels",
                    "in_run",
                    "intent",
                    "toxicity",
                    "topic",
                    "answer_id",
                    "handoff_needed",
                    "email_opened",
                    "email_converted",
                )
            },
        }
        if labels is not None
        else None
    )
    return Summary(_cards(evaluation), rows, counts)


# -- models ---------------------------------------------------------------------------------


def _cell_style(count: int, row_total: int, diagonal: bool) -> str:
    if count == 0 or row_total == 0:
        return "background:#f8fafc;color:#cbd5e1"
    share = count / row_total
    alpha = 0.12 + 0.83 * share
    rgb = "22,163,74" if diagonal else "220,38,38"
    ink = "#fff" if alpha > 0.55 else "#0f172a"
    return f"background:rgba({rgb},{alpha:.2f});color:{ink}"


def confusion_grid(name: str, matrix: ConfusionMatrix) -> Grid:
    """Each cell coloured by its share of the row: green on the diagonal, red off it."""
    rows = []
    for i, truth in enumerate(matrix.labels):
        total = sum(matrix.matrix[i])
        cells = [
            GridCell(
                predicted,
                matrix.matrix[i][j],
                f"{100 * matrix.matrix[i][j] / total:.0f}% of row" if total else "no events",
                _cell_style(matrix.matrix[i][j], total, i == j),
            )
            for j, predicted in enumerate(matrix.labels)
        ]
        rows.append(GridRow(truth, cells, total))
    return Grid(name, list(matrix.labels), rows)


def _models(evaluation: Evaluation) -> list[ModelBlock] | None:
    if evaluation.run.classification is None:
        return None
    blocks = []
    runs = [(n, r) for n, r, _ in _runs(evaluation) if r.classification is not None]
    for model in evaluation.run.classification:
        results: list[tuple[str, Classification]] = [
            (name, r.classification[model]) for name, r in runs if r.classification
        ]
        scores = Table(
            ["run", "n", "accuracy", "macro-F1", "labels in macro-F1", "labelled", "no prediction"],
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
        first = results[0][1]
        by_run = [{s.label: s for s in c.per_label} for _, c in results]
        order = list(dict.fromkeys(s.label for _, c in results for s in c.per_label))
        support = {s.label: s.support for s in first.per_label}
        per_label = []
        for label in order:
            cells = [label, f"{support.get(label, 0):,}"]
            for by_label in by_run:
                s = by_label.get(label)
                cells += [_f(s.precision), _f(s.recall), _f(s.f1)] if s else ["–"] * 3
            per_label.append(cells)
        grids = [confusion_grid(f"{model} · {name}", c.confusion) for name, c in results if c.n]
        blocks.append(ModelBlock(model, scores, [n for n, _ in results], per_label, grids))
    return blocks


# -- handoff --------------------------------------------------------------------------------


def _handoff(evaluation: Evaluation) -> Table | None:
    runs = [(n, r.handoff) for n, r, _ in _runs(evaluation) if r.handoff is not None]
    scored: list[tuple[str, BinaryScores]] = [(n, h) for n, h in runs if h is not None and h.n]
    if not scored:
        return None
    return Table(
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


# -- drafts ---------------------------------------------------------------------------------


def _drafts(evaluation: Evaluation) -> Table:
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
    return Table(
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


def _rates(evaluation: Evaluation) -> Rates:
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
        else None
    )
    priorities = sorted({k for r in rates for k in r.handoff_priorities})
    priority_table = Table(
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
    return Rates(
        events=f"{rates[0].events:,}",
        baseline_events=f"{rates[1].events:,}" if len(rates) > 1 else "",
        chart=chart,
        table=Table(headers, table_rows, cls="rates"),
        reasons=reason_chart,
        priorities=priority_table if priorities else None,
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


def _outcomes(evaluation: Evaluation) -> Table | None:
    results: list[tuple[str, MessageOutcomes]] = [
        (n, r.message_outcomes) for n, r, _ in _runs(evaluation) if r.message_outcomes is not None
    ]
    if not results:
        return None
    rows = []
    for name, outcomes in results:
        rows.append(_outcome_row(name, "all messages", outcomes.overall))
        rows += [_outcome_row(name, f"channel {k}", o) for k, o in outcomes.by_channel.items()]
        rows += [_outcome_row(name, f"rule {k}", o) for k, o in outcomes.by_rule.items()]
    return Table(
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


# -- experiments ----------------------------------------------------------------------------


def _points(value: float | None) -> str:
    """A difference of rates in percentage points: +1.2 pt."""
    return "–" if value is None else f"{100 * value:+.1f} pt"


def _span(interval: Interval | None, points: bool = False) -> str:
    if interval is None:
        return "–"
    if points:
        return f"{100 * interval.low:+.1f} to {100 * interval.high:+.1f} pt"
    return f"{100 * interval.low:.1f}–{100 * interval.high:.1f}%"


def _relative(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.0f}%"


def experiment_view(name: str, result: ExperimentResult) -> ExperimentView:
    windows = ", ".join(f"{w:g} h" for w in result.conversion_window_hours)
    converts = (
        "email_converted labels of the occasions' events"
        if result.conversion_source == "labels"
        else f"an order.placed within {windows} after the occasion"
    )
    control = (
        f"lift against arm {result.control_arm}"
        if result.control_arm is not None
        else "no control arm, so no lift"
    )
    lead = f"{name} · rules {', '.join(result.rules)} · converted: {converts} · {control}."
    table = Table(
        [
            "arm",
            "customers",
            "occasions",
            "messages",
            "held out",
            "converted",
            "conversion rate",
            "95% interval (Wilson)",
            "lift",
            "95% interval (Newcombe)",
            "relative lift",
        ],
        [
            [
                f"{a.arm} (control)" if a.control and a.arm != "control" else a.arm,
                f"{a.customers:,}",
                f"{a.occasions:,}",
                f"{a.messages:,}",
                f"{a.held_out:,}",
                f"{a.converted:,}",
                _pct(a.rate),
                _span(a.interval),
                _points(a.lift),
                _span(a.lift_interval, points=True),
                _relative(a.relative_lift),
            ]
            for a in result.arms
        ],
        cls="experiment",
    )
    rows = [
        IntervalRow(
            a.arm,
            a.rate,
            a.interval.low,
            a.interval.high,
            BASELINE_COLOR if a.control else RUN_COLOR,
            f"{_pct(a.rate)} ({_span(a.interval)})",
        )
        for a in result.arms
        if a.rate is not None and a.interval is not None
    ]
    chart = interval_chart(f"Conversion rate by arm, {result.experiment}", rows) if rows else None
    return ExperimentView(f"Experiment {result.experiment}", lead, table, chart)


def _experiments(evaluation: Evaluation) -> list[ExperimentView]:
    return [
        experiment_view(name, result)
        for name, run, _ in _runs(evaluation)
        for result in run.experiments
    ]


# -- latency --------------------------------------------------------------------------------


def _run_latency(name: str, lat: Latency, color: str) -> RunLatency:
    if lat.end_to_end and lat.n:
        table = Table(
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
        return RunLatency(
            name,
            lat.note,
            table,
            histogram_chart(f"Latency histogram, {name}", lat.histogram, color),
        )
    if not lat.end_to_end:
        throughput = Table(
            ["events/s", "seconds"],
            [
                [
                    f"{lat.events_per_s:,.1f}" if lat.events_per_s is not None else "–",
                    f"{lat.seconds:,.1f}" if lat.seconds is not None else "–",
                ]
            ],
        )
        return RunLatency(name, lat.note, throughput)
    return RunLatency(name, lat.note)


def _latency(evaluation: Evaluation) -> LatencyView:
    runs = _runs(evaluation)
    curves = [
        (Series(name, color), r.latency.cdf)
        for name, r, color in runs
        if r.latency.end_to_end and r.latency.n
    ]
    return LatencyView(
        [_run_latency(name, r.latency, color) for name, r, color in runs],
        cdf_chart("Latency CDF", curves) if curves else None,
    )


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


def _pills(views: Sequence[DecisionView]) -> list[Pill]:
    return [Pill(v.kind, v.detail, decision_label(v)) for v in views]


def _predictions(shown: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in shown.items()) or "–"


def _example_row(example: FlipExample) -> ExampleRow:
    return ExampleRow(
        event_id=example.event_id,
        event_type=example.event_type,
        text=example.text or None,
        baseline=_pills(example.baseline),
        baseline_predictions=_predictions(example.baseline_predictions),
        run=_pills(example.run),
        run_predictions=_predictions(example.run_predictions),
    )


def _comparison(comparison: Comparison | None) -> ComparisonView | None:
    if comparison is None:
        return None
    overview = Table(
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
    agreement = Table(
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
    flips = [
        FlipRow(key, s.description, f"{s.count:,}", f"{s.per_1000_shared:,.1f}")
        for key, s in comparison.flips.items()
        if s.count
    ]
    examples = [
        FlipExamples(key, s.description, f"{s.count:,}", [_example_row(e) for e in s.examples])
        for key, s in comparison.flips.items()
        if s.examples
    ]
    return ComparisonView(
        run_id=comparison.run_id,
        baseline_run_id=comparison.baseline_run_id,
        overview=overview,
        only_in_run=list(comparison.only_in_run_examples),
        only_in_baseline=list(comparison.only_in_baseline_examples),
        agreement=agreement,
        flips=flips,
        examples=examples,
    )
