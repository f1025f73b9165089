"""The delivery ledger: an input's offset may be committed only once every output it made
is confirmed; a failed output holds its partition back until it is sent."""

from __future__ import annotations

from engage_stream.kafka.topics import TopicRole
from engage_stream.step.outputs import Output
from engage_stream.worker.deliveries import LAST_RETRY_S, Deliveries, backoff_s

EVENTS = ("crm.events", 0)
OTHER = ("crm.events", 1)


def output(n: int = 0) -> Output:
    return Output(TopicRole.ENRICHED, b"C1", f'{{"n":{n}}}'.encode())


def test_the_oldest_input_with_an_output_in_flight_holds_the_partition() -> None:
    ledger = Deliveries()
    first = ledger.sent(EVENTS, 10, output())
    ledger.sent(EVENTS, 10, output(1))
    later = ledger.sent(EVENTS, 11, output())
    assert ledger.first_open(EVENTS) == 10
    ledger.confirmed(first)
    assert ledger.first_open(EVENTS) == 10  # its second output is still out
    ledger.confirmed(later)
    assert ledger.first_open(EVENTS) == 10
    assert ledger.first_open(OTHER) is None


def test_an_input_is_free_once_every_output_is_confirmed() -> None:
    ledger = Deliveries()
    tickets = [ledger.sent(EVENTS, 10, output(n)) for n in range(3)]
    for ticket in tickets:
        ledger.confirmed(ticket)
    assert ledger.first_open(EVENTS) is None
    assert ledger.open_count() == 0


def test_a_failed_output_stays_open_and_makes_the_worker_unhealthy_until_sent() -> None:
    ledger = Deliveries()
    ticket = ledger.sent(EVENTS, 7, output())
    assert ledger.healthy
    delay = ledger.failed(ticket, "TopicAuthorizationFailedError")
    assert delay == backoff_s(1)
    assert not ledger.healthy
    assert ledger.first_open(EVENTS) == 7
    assert ledger.still_owed(ticket)
    assert ledger.failing == [ticket]
    ledger.confirmed(ticket)
    assert ledger.healthy
    assert ledger.first_open(EVENTS) is None


def test_a_confirmation_counts_once() -> None:
    ledger = Deliveries()
    ticket = ledger.sent(EVENTS, 3, output())
    ledger.sent(EVENTS, 3, output(1))
    ledger.confirmed(ticket)
    ledger.confirmed(ticket)
    assert ledger.first_open(EVENTS) == 3


def test_retries_back_off_to_a_ceiling() -> None:
    delays = [backoff_s(attempts) for attempts in range(1, 12)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays == sorted(delays)
    assert delays[-1] == LAST_RETRY_S


def test_a_revoked_partition_owes_nothing_here_and_late_answers_change_nothing() -> None:
    ledger = Deliveries()
    in_flight = ledger.sent(EVENTS, 5, output())
    failing = ledger.sent(EVENTS, 6, output())
    ledger.failed(failing, "timeout")
    kept = ledger.sent(OTHER, 9, output())
    ledger.forget([EVENTS])
    assert ledger.healthy
    assert not ledger.still_owed(failing)
    assert ledger.first_open(EVENTS) is None
    # assigned again: a new input is tracked, and the old ticket's answer is void
    again = ledger.sent(EVENTS, 5, output())
    ledger.confirmed(in_flight)
    assert ledger.first_open(EVENTS) == 5
    ledger.confirmed(again)
    assert ledger.first_open(EVENTS) is None
    assert ledger.first_open(OTHER) == 9
    assert ledger.still_owed(kept)


def test_a_failure_answered_after_the_revocation_leaves_the_worker_healthy() -> None:
    """A state write is not retried from here: when the broker refuses it only after the
    partition went to another worker, nothing here is owed any more."""
    ledger = Deliveries()
    write = ledger.sent(EVENTS, 5, None)
    ledger.forget([EVENTS])

    ledger.failed(write, "NotLeaderForPartitionError")

    assert ledger.healthy
    assert ledger.failing == []
    assert not ledger.still_owed(write)
