"""Reading a worker's /metrics: totals by label, histogram bounds, the flat key view."""

from __future__ import annotations

from engage_stream.harness.worker_process import Scrape

SCRAPE = Scrape(
    [
        ("engage_actions_total", {"kind": "handoff"}, 3.0),
        ("engage_actions_total", {"kind": "next_best_action"}, 5.0),
        ("engage_suppressions_total", {"reason": "frequency_cap"}, 2.0),
        ("engage_end_to_end_seconds_bucket", {"le": "0.05"}, 4.0),
        ("engage_end_to_end_seconds_bucket", {"le": "0.1"}, 9.0),
        ("engage_end_to_end_seconds_bucket", {"le": "+Inf"}, 10.0),
        ("engage_end_to_end_seconds_count", {}, 10.0),
    ]
)


def test_totals_sum_the_samples_whose_labels_match() -> None:
    assert SCRAPE.total("engage_actions_total") == 8.0
    assert SCRAPE.total("engage_actions_total", kind="handoff") == 3.0
    assert SCRAPE.total("engage_dlq_total") == 0.0
    assert SCRAPE.by_label("engage_suppressions_total", "reason") == {"frequency_cap": 2.0}


def test_a_histogram_quantile_is_the_bound_of_its_bucket() -> None:
    assert SCRAPE.histogram_bound("engage_end_to_end_seconds", 0.4) == 0.05
    assert SCRAPE.histogram_bound("engage_end_to_end_seconds", 0.9) == 0.1
    assert SCRAPE.histogram_bound("engage_end_to_end_seconds", 0.95) is None
    assert Scrape([]).histogram_bound("engage_end_to_end_seconds", 0.5) is None


def test_the_flat_view_names_each_sample_with_sorted_labels() -> None:
    keys = SCRAPE.as_keys()
    assert keys["engage_actions_total{kind=handoff}"] == 3.0
    assert keys["engage_end_to_end_seconds_count"] == 10.0
