"""Experiments in `eval`: per arm, customers, conversions, a Wilson interval and the lift
over the control with Newcombe's interval, checked against hand-computed and published
values; shown in eval.json and on the page."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from engage_stream.evaluation import evaluate, load_run_dir, write_report
from engage_stream.evaluation.experiments import (
    Z95,
    ArmResult,
    ExperimentResult,
    Interval,
    experiment_results,
    newcombe,
    wilson,
)
from engage_stream.evaluation.labels import Label, labels_from
from engage_stream.evaluation.report import experiment_view, render_html
from engage_stream.evaluation.runs import Run
from engage_stream.schemas.actions import Suppression, SuppressionReason
from tests.evaluation.builders import (
    CART_TEST,
    T0,
    ExperimentRun,
    cart_event,
    experiment_run,
    record,
    stamp,
    suppression,
    write_run,
)
from tests.evaluation.html_check import read_page

# -- the statistics -------------------------------------------------------------------------


def close(interval: Interval | None, low: float, high: float, digits: int = 4) -> bool:
    assert interval is not None
    return round(interval.low, digits) == low and round(interval.high, digits) == high


def test_wilson_by_hand() -> None:
    """0/10: the upper end is z²/(n+z²) = 3.8415/13.8415 = 0.2775, the lower end 0.
    5/10: centred on 0.5, half-width z/(1+z²/n)·√(p(1-p)/n + z²/4n²) = 1.4160 · 0.18602."""
    assert close(wilson(0, 10), 0.0, 0.2775)
    assert math.isclose(wilson(0, 10).high, Z95**2 / (10 + Z95**2))  # type: ignore[union-attr]
    assert close(wilson(5, 10), 0.2366, 0.7634)
    assert close(wilson(10, 10), 0.7225, 1.0)


def test_wilson_matches_newcombe_s_published_example() -> None:
    """Newcombe (1998), Statistics in Medicine 17:857, single proportion: 81/263."""
    assert close(wilson(81, 263), 0.2553, 0.3662)


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    [
        ((56, 70, 48, 80), 0.0524, 0.3339),
        ((9, 10, 3, 10), 0.1705, 0.8090),
        ((6, 7, 2, 7), 0.0582, 0.8062),
        ((5, 56, 0, 29), -0.0381, 0.1926),
        ((0, 10, 0, 20), -0.1611, 0.2775),
        ((10, 10, 0, 20), 0.6791, 1.0),
    ],
    ids=str,
)
def test_the_lift_interval_is_newcombe_s_method_10(
    counts: tuple[int, int, int, int], low: float, high: float
) -> None:
    """The examples of Newcombe (1998), Statistics in Medicine 17:873, table II, method 10."""
    assert close(newcombe(*counts), low, high)


def test_newcombe_by_hand() -> None:
    """0/10 - 0/20: below by the upper end of 0/20's Wilson interval, above by 0/10's."""
    lift = newcombe(0, 10, 0, 20)
    assert lift is not None
    assert math.isclose(-lift.low, Z95**2 / (20 + Z95**2))
    assert math.isclose(lift.high, Z95**2 / (10 + Z95**2))


def test_nothing_to_estimate_gives_no_interval() -> None:
    assert wilson(0, 0) is None
    assert newcombe(1, 4, 0, 0) is None
    with pytest.raises(ValueError, match=r"within 0\.\.3"):
        wilson(4, 3)


# -- a run's arms ---------------------------------------------------------------------------


def test_each_arm_counts_its_customers_and_their_conversions_in_the_window() -> None:
    (result,) = experiment_results(experiment_run().run())

    assert result.experiment == CART_TEST
    assert result.rules == ["abandoned_cart", "win_back"]
    assert result.conversion_window_hours == [24.0]
    assert result.conversion_source == "orders"
    assert result.control_arm == "control"
    control, variant = result.arms
    assert (control.arm, control.control) == ("control", True)
    assert (control.customers, control.occasions, control.messages, control.held_out) == (
        4,
        4,
        0,
        4,
    )
    assert control.converted == 1
    assert control.rate == 0.25
    assert control.interval == wilson(1, 4)
    assert (control.lift, control.lift_interval, control.relative_lift) == (None, None, None)
    assert (variant.customers, variant.occasions, variant.messages, variant.held_out) == (
        5,
        6,
        6,
        0,
    )
    assert variant.converted == 3
    assert variant.rate == 0.6
    assert variant.interval == wilson(3, 5)
    assert variant.lift is not None
    assert math.isclose(variant.lift, 0.35)
    assert variant.lift_interval == newcombe(3, 5, 1, 4)
    assert variant.relative_lift is not None
    assert math.isclose(variant.relative_lift, 1.4)


def test_the_global_control_is_an_experiment_of_its_own_beside_the_rule_s() -> None:
    b = ExperimentRun()
    b.cart("E1", "g1", 0, arms=[stamp("control", 0, experiment="global", window=48)])
    b.cart(
        "E2",
        "g2",
        0,
        arms=[stamp("treatment", 0, experiment="global", window=48), stamp("control", 0)],
    )
    b.cart(
        "E3",
        "g3",
        0,
        arms=[stamp("treatment", 0, experiment="global", window=48), stamp("half-hour", 0)],
    )
    b.order("O3", "g3", T0 + timedelta(hours=30))

    results = {r.experiment: r for r in experiment_results(b.run())}

    assert sorted(results) == [CART_TEST, "global"]
    treated = {a.arm: (a.customers, a.converted) for a in results["global"].arms}
    assert treated == {"control": (1, 0), "treatment": (2, 1)}
    in_cart_test = {a.arm: (a.customers, a.converted) for a in results[CART_TEST].arms}
    assert in_cart_test == {"control": (1, 0), "half-hour": (1, 0)}  # 30 h is past its 24


def test_email_converted_labels_decide_where_the_eval_has_them() -> None:
    labels = labels_from(
        [
            Label(event_id="E-c0", email_converted=False),
            Label(event_id="E-c1", email_converted=True),
            Label(event_id="E-v0", email_converted=True),
            Label(event_id="E-v2", email_converted=False),
        ],
        "labels.jsonl",
    )
    (result,) = experiment_results(experiment_run().run(), labels)

    assert result.conversion_source == "labels"
    control, variant = result.arms
    assert (control.customers, control.converted, control.occasions) == (2, 1, 4)
    assert (variant.customers, variant.converted) == (2, 1)
    assert variant.lift == 0.0


def test_a_run_without_arms_has_no_experiments() -> None:
    run = Run(run_id="r1", source="test")
    run.add_suppression(suppression("E1"))
    assert experiment_results(run) == []


def test_records_without_arms_from_before_experiments_still_load(tmp_path: Path) -> None:
    held = suppression("E1", reason=SuppressionReason.HOLDOUT).model_copy(
        update={"arms": [stamp("control", 0)]}
    )
    old = suppression("E2")
    folder = write_run(
        tmp_path / "run", [record(cart_event("E1", "cust-1", T0), 1)], suppressions=[held, old]
    )
    lines = (folder / "suppressions.jsonl").read_text(encoding="utf-8").splitlines()
    second = json.loads(lines[1])
    del second["arms"]
    (folder / "suppressions.jsonl").write_text(
        lines[0] + "\n" + json.dumps(second) + "\n", encoding="utf-8"
    )

    run = load_run_dir(folder)

    assert run.suppressions[held.suppression_id].arms == [stamp("control", 0)]
    assert run.suppressions[old.suppression_id].arms == []
    assert isinstance(run.suppressions[old.suppression_id], Suppression)


# -- eval.json and the page -----------------------------------------------------------------


def test_the_report_shows_each_arm_with_its_interval_and_lift(tmp_path: Path) -> None:
    paths = write_report(evaluate(experiment_run().run()), tmp_path)
    document = json.loads(paths.json.read_text(encoding="utf-8"))
    html = paths.html.read_text(encoding="utf-8")
    page = read_page(html)

    (shown,) = document["run"]["experiments"]
    assert shown["experiment"] == CART_TEST
    assert [a["arm"] for a in shown["arms"]] == ["control", "half-hour"]
    assert shown["arms"][1]["lift_interval"]["low"] == newcombe(3, 5, 1, 4).low  # type: ignore[union-attr]
    assert "experiments" in page.section_ids
    assert page.section_ids.index("experiments") == page.section_ids.index("outcomes") + 1
    low, high = wilson(3, 5).low, wilson(3, 5).high  # type: ignore[union-attr]
    assert f"{100 * low:.1f}–{100 * high:.1f}%" in page.text
    assert "+35.0 pt" in page.text
    assert "+140%" in page.text
    assert "control (control)" not in page.text  # named so already
    assert "Newcombe" in page.text
    charts = [c for c in html.split("<svg")[1:] if "Conversion rate by arm" in c]
    assert len(charts) == 1
    assert charts[0].count("<circle") == 2


def test_the_experiment_section_is_escaped_like_the_rest() -> None:
    """Ids are ASCII names by contract; the page escapes them anyway, like every text."""
    result = ExperimentResult(
        experiment="<b>x</b>",
        rules=["<i>r</i>"],
        conversion_window_hours=[24.0],
        conversion_source="orders",
        control_arm="<u>c</u>",
        arms=[
            ArmResult("<u>c</u>", True, 2, 2, 0, 2, 1, 0.5, wilson(1, 2), None, None, None),
        ],
    )
    view = experiment_view("run r1", result)
    assert view.table.rows[0][0] == "<u>c</u> (control)"
    evaluation = evaluate(experiment_run().run())
    patched = replace(evaluation, run=replace(evaluation.run, experiments=[result]))
    html = render_html(patched)
    for markup in ("<b>x</b>", "<u>c</u>", "<i>r</i>"):
        assert markup not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
