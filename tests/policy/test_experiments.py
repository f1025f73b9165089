"""`experiments` in the policy file: validated at load, and arms assigned by a hash of the
experiment id and the customer id alone, in the shares the weights say, in every process."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.policy.experiments import (
    GlobalControl,
    RuleExperiment,
    arm_of,
    in_global_control,
    unit,
)
from engage_stream.policy.policy_file import PolicyError, load_policy
from engage_stream.policy.rules.abandoned_cart import AbandonedCart
from tests.core.builders import POLICY_FILE

Document = dict[str, Any]
CUSTOMERS = [f"C{i:06d}" for i in range(100_000)]
"""100,000 synthetic customer ids, as the sample shop writes them."""


@pytest.fixture(scope="module")
def shipped_document() -> Document:
    document: Document = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    return document


def write(tmp_path: Path, document: Document) -> Path:
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def experiment(*weights: float, control: int = 0) -> RuleExperiment:
    arms = [
        {"name": f"arm-{i}", "weight": weight, "control": i == control}
        for i, weight in enumerate(weights)
    ]
    return RuleExperiment.model_validate(
        {"id": "cart-test", "conversion_window_hours": 72, "arms": arms}
    )


# -- the shipped file -----------------------------------------------------------------------


def test_the_shipped_example_is_valid_and_disabled() -> None:
    """Enabling it changes what the sample shop sends: that is the operator's decision."""
    experiments = load_policy(POLICY_FILE).experiments
    assert experiments.global_control is not None
    assert experiments.global_control.enabled is False
    cart = experiments.rules["abandoned_cart"]
    assert cart.enabled is False
    assert [a.name for a in cart.arms if a.control] == ["control"]
    assert sum(a.weight for a in cart.arms) == 100
    assert {a.template for a in cart.arms} >= {"abandoned_cart.v2-short"}


def test_the_variant_template_is_checked_at_start_and_renders_the_rule_s_values() -> None:
    policy = load_policy(POLICY_FILE)
    variant = policy.messages.instead(AbandonedCart.template, "abandoned_cart.v2-short")
    own = policy.messages.render(AbandonedCart.template, AbandonedCart.sample)
    short = variant.render(AbandonedCart.template, AbandonedCart.sample)
    assert short != own
    assert short.subject == "니트 가디건이 고객님을 기다리고 있어요"
    assert "48,000원" in short.body
    assert policy.messages.render(AbandonedCart.template, AbandonedCart.sample) == own


# -- assignment -----------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [(10, 30, 30, 30), (5, 95), (50, 50), (1, 33, 33, 33)], ids=str)
def test_each_arm_s_share_of_100000_customers_is_within_one_point_of_its_weight(
    weights: tuple[float, ...],
) -> None:
    split = experiment(*weights)
    counts = Counter(arm_of(split, customer).name for customer in CUSTOMERS)
    for i, weight in enumerate(weights):
        share = 100 * counts[f"arm-{i}"] / len(CUSTOMERS)
        assert abs(share - weight) <= 1.0, (f"arm-{i}", share, weight)


@pytest.mark.parametrize("share", [2.0, 5.0, 20.0])
def test_the_global_control_holds_out_its_share_of_100000_customers(share: float) -> None:
    held = GlobalControl(id="global-test", share=share, conversion_window_hours=168)
    inside = sum(in_global_control(held, customer) for customer in CUSTOMERS)
    assert abs(100 * inside / len(CUSTOMERS) - share) <= 1.0


def test_experiments_with_other_ids_split_the_customers_independently() -> None:
    """One id per experiment: the global control is no slice of a rule's control arm."""
    held = GlobalControl(id="global-test", share=10, conversion_window_hours=168)
    split = experiment(10, 90)
    both = sum(in_global_control(held, c) and arm_of(split, c).control for c in CUSTOMERS[:20_000])
    assert 100 <= both <= 300  # 1 % of 20,000 expected; the same id would give 2,000


def test_the_arm_is_the_one_whose_cumulative_weight_holds_the_customer_s_point() -> None:
    split = experiment(10, 30, 60)
    for customer in CUSTOMERS[:2_000]:
        point = 100 * unit(split.id, customer)
        expected = "arm-0" if point < 10 else "arm-1" if point < 40 else "arm-2"
        assert arm_of(split, customer).name == expected
        assert 0 <= point < 100


def test_the_point_is_sha256_of_the_two_ids_pinned() -> None:
    """Changing how the point is made would move customers between arms of a running
    experiment: these values must never change."""
    assert unit("cart-reminder-2026-12", "C00001") == 0.04577934749381285
    assert unit("global-control-2026", "C00001") == 0.9381088679054509
    assert unit("cart-reminder-2026-12", "C00001") != unit("cart-reminder-2026-12", "C00002")


_OTHER_PROCESS = """
import json, sys
from engage_stream.policy.experiments import RuleExperiment, arm_of
split = RuleExperiment.model_validate(json.loads(sys.argv[1]))
print(json.dumps([arm_of(split, f"C{i:06d}").name for i in range(3000)]))
"""


@pytest.mark.parametrize("seed", ["0", "4242"])
def test_another_process_with_another_hash_seed_assigns_the_same_arms(seed: str) -> None:
    split = experiment(10, 30, 60)
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, split.model_dump_json()],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    theirs = json.loads(done.stdout)
    assert theirs == [arm_of(split, f"C{i:06d}").name for i in range(3000)]
    assert len(set(theirs)) == 3


# -- a bad block stops the program, naming the field ------------------------------------------


def _cart(**changes: Any) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        document["experiments"]["rules"]["abandoned_cart"].update(changes)

    return change


def _arm(index: int, **changes: Any) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        document["experiments"]["rules"]["abandoned_cart"]["arms"][index].update(changes)

    return change


def _rules(**rules: Any) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        document["experiments"]["rules"].update(rules)

    return change


def _global(**changes: Any) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        document["experiments"]["global_control"].update(changes)

    return change


ARMS = "experiments.rules.abandoned_cart.arms"
TWO_ARMS = [{"name": "control", "weight": 10, "control": True}, {"name": "sent", "weight": 90}]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (_arm(1, weight=40), ARMS, "add up to 100, not 110"),
        (_arm(0, weight=0), f"{ARMS}.0.weight", "greater than 0"),
        (_arm(1, control=True), ARMS, "exactly one arm must be the control"),
        (
            _arm(0, control=False),
            ARMS,
            "exactly one arm must be the control (control: true), not 0",
        ),
        (_arm(2, name="one-hour"), ARMS, "one-hour more than once"),
        (_arm(0, delay_minutes=30), f"{ARMS}.0", "a control arm sends nothing"),
        (_arm(1, name="one hour"), f"{ARMS}.1.name", "pattern"),
        (_arm(1, channel="fax"), f"{ARMS}.1.channel", "'email'"),
        (_arm(1, colour="red"), f"{ARMS}.1.colour", "Extra inputs"),
        (_arm(3, template="../../etc/passwd"), f"{ARMS}.3.template", "pattern"),
        (_cart(arms=TWO_ARMS[:1]), ARMS, "at least 2"),
        (
            _cart(conversion_window_hours=0),
            "experiments.rules.abandoned_cart.conversion_window_hours",
            "greater than 0",
        ),
        (
            _rules(abandoned_carts={"id": "x", "conversion_window_hours": 1, "arms": TWO_ARMS}),
            "experiments.rules",
            "abandoned_carts: no such rule",
        ),
        (
            _rules(inbound_answer={"id": "x", "conversion_window_hours": 1, "arms": TWO_ARMS}),
            "experiments",
            "rules.inbound_answer: outbound.rules.inbound_answer is not advertising",
        ),
        (
            _rules(
                win_back={
                    "id": "cart-reminder-2026-12",
                    "conversion_window_hours": 1,
                    "arms": TWO_ARMS,
                }
            ),
            "experiments",
            "cart-reminder-2026-12 more than once",
        ),
        (_global(share=60), "experiments.global_control.share", "less than or equal to 50"),
        (
            _global(id="global-control-2026", share=0),
            "experiments.global_control.share",
            "greater than 0",
        ),
        (_arm(3, template="abandoned_cart.v9"), "messages", "abandoned_cart.v9"),
    ],
)
def test_a_bad_experiments_block_is_refused_with_the_file_and_the_field(
    tmp_path: Path,
    shipped_document: Document,
    change: Callable[[Document], None],
    field: str,
    words: str,
) -> None:
    document = copy.deepcopy(shipped_document)
    change(document)
    path = write(tmp_path, document)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert message.startswith(f"policy file {path}: ")
    assert f"{field}:" in message
    assert words in message


def test_a_variant_template_that_uses_a_value_the_rule_does_not_fill_in_is_named(
    tmp_path: Path, shipped_document: Document
) -> None:
    folder = tmp_path / "messages"
    folder.mkdir()
    for template in (PROJECT_ROOT / "infra" / "messages").glob("*.j2"):
        (folder / template.name).write_text(template.read_text(encoding="utf-8"), "utf-8")
    (folder / "abandoned_cart.v2-short.j2").write_text(
        "{% block subject %}{{ coupon }}{% endblock %}{% block body %}본문{% endblock %}", "utf-8"
    )
    document = copy.deepcopy(shipped_document)
    document["messages"] = str(folder)
    with pytest.raises(
        PolicyError,
        match=r"messages: .*abandoned_cart\.v2-short.*uses coupon, "
        r"which abandoned_cart \(experiment cart-reminder-2026-12\) does not fill",
    ):
        load_policy(write(tmp_path, document))


def test_a_policy_without_an_experiments_block_has_none(
    tmp_path: Path, shipped_document: Document
) -> None:
    document = copy.deepcopy(shipped_document)
    del document["experiments"]
    experiments = load_policy(write(tmp_path, document)).experiments
    assert experiments.global_control is None
    assert experiments.rules == {}


def test_a_disabled_experiment_does_not_stop_a_rule_from_becoming_transactional(
    tmp_path: Path, shipped_document: Document
) -> None:
    """A disabled experiment is inert; enabling it on a transactional rule is refused."""
    document = copy.deepcopy(shipped_document)
    document["outbound"]["rules"]["abandoned_cart"]["advertising"] = False
    policy = load_policy(write(tmp_path, document))
    assert policy.experiments.rules["abandoned_cart"].enabled is False
    document["experiments"]["rules"]["abandoned_cart"]["enabled"] = True
    with pytest.raises(PolicyError, match=r"outbound\.rules\.abandoned_cart is not advertising"):
        load_policy(write(tmp_path, document))
