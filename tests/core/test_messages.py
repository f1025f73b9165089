"""The core renders next-best-action messages from the policy's templates: marketing edits a
file, the message changes, the advertising marks are still the policy's."""

from __future__ import annotations

from pathlib import Path

from tests.core.builders import SHIPPED_POLICY, Feeder, cart, opted_in, policy_with


def test_an_edited_template_changes_the_message_without_touching_code(tmp_path: Path) -> None:
    folder = tmp_path / "messages"
    folder.mkdir()
    for path in SHIPPED_POLICY.messages.folder.glob("*.j2"):
        (folder / path.name).write_text(path.read_text("utf-8"), encoding="utf-8")
    (folder / "abandoned_cart.v1.j2").write_text(
        "{% block subject %}{{ first_item|이가 }} 기다려요{% endblock %}\n"
        "{% block body %}{{ first_item|을를 }} 포함해 {{ item_count }}가지 상품, "
        "{{ total_krw|won }}어치가 남아 있어요.{% endblock %}",
        encoding="utf-8",
    )
    policy = policy_with({"messages": str(folder)})
    message = Feeder(policy, profile=opted_in()).feed(cart("e1", value_krw=30_000)).messages[0]
    assert message.subject == "(광고) 무선 이어폰이 기다려요"
    assert message.body.startswith(
        "무선 이어폰을 포함해 1가지 상품, 30,000원어치가 남아 있어요.\n\n"
    )
    assert message.body.endswith(SHIPPED_POLICY.outbound.opt_out_footer)
    assert message.template_id == "abandoned_cart.v1"
