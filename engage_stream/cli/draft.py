"""`engage-stream draft`: the reply a handoff would carry for a customer's question.

The question is scored by the topic head the worker uses, answered from the knowledge
bank (`ENGAGE_KNOWLEDGE_BANK`) with the facts of an order given on the command line, and
framed as the bank's replies say; suggestions and where the answer came from follow.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated, get_args

import typer
from rich.console import Console

from engage_stream.cli.startup import config_error, startup
from engage_stream.drafting.bank_file import OrderNeed
from engage_stream.drafting.draft import Question, Tone
from engage_stream.drafting.facts import OrderFacts
from engage_stream.policy.policy_file import PolicyError, load_policy

STATUSES = [s for s in get_args(OrderNeed) if s != "any"]


def draft(
    text: Annotated[str, typer.Argument(help="The customer's question.")],
    name: Annotated[str | None, typer.Option(help="Customer name for the greeting.")] = None,
    order_status: Annotated[
        str | None,
        typer.Option(help=f"The customer's order is {', '.join(STATUSES)} (default: no order)."),
    ] = None,
    order_id: Annotated[str, typer.Option(help="Its order number.")] = "ORD-20261128-0042",
    item: Annotated[str, typer.Option(help="Its item.")] = "경량 패딩 자켓",
    carrier: Annotated[str | None, typer.Option(help="Carrier (shipped, delivered).")] = None,
    tracking: Annotated[str | None, typer.Option(help="Tracking number.")] = None,
    eta: Annotated[str | None, typer.Option(help="Expected delivery date, YYYY-MM-DD.")] = None,
    refund: Annotated[int | None, typer.Option(help="Refunded amount in KRW.")] = None,
    tone: Annotated[str, typer.Option(help="normal, upset or abusive.")] = "normal",
    budget_ms: Annotated[float | None, typer.Option(help="Encoder deadline.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole draft as JSON.")] = False,
) -> None:
    """Draft a reply: the bank's best answer for the question, filled with the order's facts."""
    from engage_stream.serving.models import StartupError, load_models

    settings = startup()
    if order_status is not None and order_status not in STATUSES:
        raise typer.BadParameter(f"use one of {', '.join(STATUSES)}", param_hint="--order-status")
    if tone not in get_args(Tone):
        raise typer.BadParameter("use normal, upset or abusive", param_hint="--tone")
    try:
        policy = load_policy(settings.policy_file)
        scorer, drafter = load_models(settings, policy)
    except PolicyError as exc:
        config_error([f"ENGAGE_POLICY_FILE: {exc}"])
    except StartupError as exc:
        config_error(exc.problems)
    with drafter:
        with scorer:
            (scores,), _ = scorer.score_texts([text])
        predicted = scores.topic if scores else None
        question = Question(
            text, predicted.label if predicted else None, predicted.score if predicted else None
        )
        order = _order(order_status, order_id, item, carrier, tracking, eta, refund)
        result = drafter.draft(
            question,
            order=order,
            name=name,
            tone=tone,  # type: ignore[arg-type]
            budget_ms=budget_ms,
        )
    if as_json:
        typer.echo(json.dumps(asdict(result), ensure_ascii=False, default=_plain))
        return
    typer.echo(result.text)
    console = Console(stderr=True)
    where = f"topic {predicted.label} ({predicted.score:.2f})" if predicted else "no topic"
    console.print(
        f"[dim]{result.kind} · {where} · {result.latency_ms:.1f} ms"
        f"{' · fallback: ' + result.fallback if result.fallback else ''}[/dim]"
    )
    for s in result.suggestions:
        mark = "grounded" if s.grounded else "general"
        console.print(f"[dim]  {s.score:.3f} {s.answer_id} ({mark}): {s.text}[/dim]")


def _order(
    status: str | None,
    order_id: str,
    item: str,
    carrier: str | None,
    tracking: str | None,
    eta: str | None,
    refund: int | None,
) -> OrderFacts | None:
    if status is None:
        return None
    now = datetime.now(UTC)
    try:
        expected = date.fromisoformat(eta) if eta else None
    except ValueError:
        raise typer.BadParameter("YYYY-MM-DD", param_hint="--eta") from None
    return OrderFacts(
        order_id=order_id,
        status=status,  # type: ignore[arg-type]
        items=(item,),
        placed_at=now,
        carrier=carrier,
        tracking_number=tracking,
        estimated_delivery=expected,
        delivered_at=now if status == "delivered" else None,
        cancelled_at=now if status in ("cancelled", "refunded") else None,
        refund_krw=refund,
        refunded_at=now if status == "refunded" else None,
    )


def _plain(value: object) -> object:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
