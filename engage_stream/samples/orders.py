"""Orders with their whole future: every step is scheduled when the order is placed, so a
session knows where a customer's order stands at its own time although the order's later
events still wait to be emitted."""

from __future__ import annotations

from dataclasses import dataclass

from engage_stream.samples.shop_lines import OrderState


@dataclass
class Order:
    """An order with its whole future: when each step happens (None: never), in seconds
    after the stream's start."""

    order_id: str
    item: str
    total_krw: int
    placed: float
    shipped: float | None = None
    delivered: float | None = None
    cancelled: float | None = None
    refunded: float | None = None

    def state(self, at: float) -> OrderState:
        """The last step reached by `at` (the order is placed by then)."""
        steps: tuple[tuple[OrderState, float | None], ...] = (
            ("refunded", self.refunded),
            ("cancelled", self.cancelled),
            ("delivered", self.delivered),
            ("shipped", self.shipped),
        )
        return next((name for name, when in steps if when is not None and when <= at), "placed")


class OrderBook:
    """Every customer's orders as scheduled."""

    def __init__(self) -> None:
        self._orders: dict[str, list[Order]] = {}

    def add(self, customer_id: str, order: Order) -> None:
        self._orders.setdefault(customer_id, []).append(order)

    def latest(self, customer_id: str, at: float) -> Order | None:
        """The customer's most recently placed order by `at`."""
        placed = (o for o in self._orders.get(customer_id, ()) if o.placed <= at)
        return max(placed, key=lambda o: o.placed, default=None)
