"""Message templates: the shipped ones load and say what the old texts said; a template that
is missing, broken, uses a value its rule does not fill in, or writes the advertising marks
itself stops the policy from loading, with the file and the template named."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from engage_stream.policy.policy_file import SHIPPED_MESSAGES, PolicyError, load_policy
from engage_stream.policy.rules import CONSENT_RECONFIRMATION, NEXT_BEST_ACTIONS
from engage_stream.policy.templates import (
    Marks,
    MessageTemplates,
    TemplateError,
    TemplateUse,
)
from tests.core.builders import POLICY_FILE, SHIPPED_POLICY

Document = dict[str, Any]
MARKS = Marks(SHIPPED_POLICY.outbound.advertising_prefix, SHIPPED_POLICY.outbound.opt_out_footer)
CART = next(rule for rule in NEXT_BEST_ACTIONS if rule.name == "abandoned_cart")
CART_USE = TemplateUse(CART.template, CART.sample, CART.name)
SUBJECT = "{% block subject %}장바구니를 확인해 주세요{% endblock %}\n"


def folder_with(tmp_path: Path, **templates: str) -> Path:
    """A copy of the shipped templates with some replaced (name -> source; "" removes)."""
    folder = tmp_path / "messages"
    shutil.copytree(SHIPPED_MESSAGES, folder)
    for name, source in templates.items():
        path = folder / f"{name.replace('_v', '.v')}.j2"
        if source:
            path.write_text(source, encoding="utf-8")
        else:
            path.unlink()
    return folder


def policy_file_with(tmp_path: Path, messages: str | None) -> Path:
    document: Document = copy.deepcopy(yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8")))
    if messages is not None:
        document["messages"] = messages
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def load_cart(source: str, tmp_path: Path) -> MessageTemplates:
    (tmp_path / "abandoned_cart.v1.j2").write_text(source, encoding="utf-8")
    return MessageTemplates.load(tmp_path, [CART_USE], MARKS)


def problems_of(source: str, tmp_path: Path) -> str:
    with pytest.raises(TemplateError) as caught:
        load_cart(source, tmp_path)
    return str(caught.value)


# -- the shipped templates ------------------------------------------------------------------


def test_the_shipped_policy_compiles_a_template_for_every_rule() -> None:
    templates = SHIPPED_POLICY.messages
    assert templates.folder == SHIPPED_MESSAGES
    variants = {
        arm.template
        for experiment in SHIPPED_POLICY.experiments.rules.values()
        for arm in experiment.arms
        if arm.template is not None
    }
    assert set(templates.sources) - variants == {rule.template for rule in NEXT_BEST_ACTIONS} | {
        CONSENT_RECONFIRMATION.template
    }


@pytest.mark.parametrize(
    ("name", "values", "subject", "body"),
    [
        (
            "abandoned_cart.v1",
            {
                "items": "경량 패딩 자켓 1개, 울 양말 2개",
                "total": "89,000원",
                "total_krw": 89_000,
                "first_item": "경량 패딩 자켓",
                "item_count": 2,
            },
            "장바구니에 담아 두신 상품이 기다리고 있습니다",
            "고객님, 안녕하세요.\n"
            "장바구니에 담아 두신 경량 패딩 자켓 1개, 울 양말 2개 (합계 89,000원)을 "
            "아직 구매하지 않으셨습니다.\n"
            "재고가 남아 있을 때 주문을 마무리해 보세요. "
            "궁금한 점이 있으시면 언제든 문의해 주세요.",
        ),
        (
            "review_request.v1",
            {"order_id": "ORD-9", "carrier": ""},
            "주문하신 상품은 잘 받으셨나요? 후기를 남겨 주세요",
            "고객님, 안녕하세요.\n"
            "주문번호 ORD-9 상품이 배송 완료되었습니다.\n"
            "상품은 마음에 드셨나요? 솔직한 후기를 남겨 주시면 다른 고객님께 큰 도움이 됩니다.",
        ),
        (
            "win_back.v1",
            {"days": 31},
            "오랜만입니다, 고객님을 위한 새 소식을 준비했습니다",
            "고객님, 안녕하세요.\n"
            "마지막 방문 후 31일이 지났습니다. 그동안 새로 들어온 상품과 혜택을 확인해 보세요.\n"
            "언제든 다시 찾아 주시면 정성껏 모시겠습니다.",
        ),
        (
            "inbound_answer",
            {"reply_to": "Re: 배송 문의", "answer": "고객님, 도와드릴게요."},
            "Re: 배송 문의",
            "고객님, 도와드릴게요.\n\n"
            "추가로 궁금하신 점은 이 메일에 회신해 주시면 확인 후 안내해 드리겠습니다.",
        ),
        (
            "inbound_answer",
            {"reply_to": "", "answer": "답변입니다."},
            "문의하신 내용에 대한 답변입니다",
            "답변입니다.\n\n"
            "추가로 궁금하신 점은 이 메일에 회신해 주시면 확인 후 안내해 드리겠습니다.",
        ),
    ],
)
def test_the_shipped_templates_say_what_the_messages_said_before(
    name: str, values: dict[str, object], subject: str, body: str
) -> None:
    message = SHIPPED_POLICY.messages.render(name, values)
    assert (message.subject, message.body) == (subject, body)


def test_templates_are_compiled_once_not_read_per_message(tmp_path: Path) -> None:
    folder = folder_with(tmp_path)
    policy = load_policy(policy_file_with(tmp_path, str(folder)))
    shutil.rmtree(folder)
    assert policy.messages.render("win_back.v1", {"days": 40}).body.count("40일이") == 1


def test_a_relative_folder_is_relative_to_the_policy_file(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path, win_back_v1=SUBJECT + "{% block body %}{{ days }}일째{% endblock %}"
    )
    policy = load_policy(policy_file_with(tmp_path, folder.name))
    assert policy.messages.folder == folder
    assert policy.messages.render("win_back.v1", {"days": 40}).body == "40일째"


def test_particles_in_a_template_follow_the_word_filled_in(tmp_path: Path) -> None:
    templates = load_cart(
        SUBJECT + "{% block body %}{{ first_item|을를 }} 담으셨네요. "
        "{{ first_item|이가 }} {{ first_item|은는 }} {{ first_item|과와 }} "
        '{{ first_item|으로로 }} {{ josa(first_item, "을/를") }} {{ total_krw|won }}{% endblock %}',
        tmp_path,
    )
    values = dict(CART.sample)
    for item, expected in [
        (
            "니트 가디건",
            "니트 가디건을 담으셨네요. 니트 가디건이 니트 가디건은 니트 가디건과 "
            "니트 가디건으로 니트 가디건을",
        ),
        ("머플러", "머플러를 담으셨네요. 머플러가 머플러는 머플러와 머플러로 머플러를"),
        (
            "USB-C 케이블 2m",
            "USB-C 케이블 2m를 담으셨네요. USB-C 케이블 2m가 USB-C 케이블 2m는 "
            "USB-C 케이블 2m와 USB-C 케이블 2m로 USB-C 케이블 2m를",
        ),
    ]:
        values["first_item"] = item
        body = templates.render(CART.template, values).body
        assert body == f"{expected} {values['total_krw']:,}원"


# -- refused at start, with the file and the template ---------------------------------------


def test_a_missing_template_names_the_file_and_what_is_there(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, abandoned_cart_v1="")
    path = policy_file_with(tmp_path, str(folder))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert message.startswith(f"policy file {path}: messages: ")
    assert f"message template abandoned_cart.v1 ({folder / 'abandoned_cart.v1.j2'})" in message
    assert "cannot read" in message
    assert "review_request.v1.j2" in message


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"messages: .*no folder .*absent"):
        load_policy(policy_file_with(tmp_path, "absent"))


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("(광고) 장바구니를 확인하세요", "writes the advertising mark '(광고)'"),
        ("( 광고 ) 장바구니를 확인하세요", "writes the advertising mark"),
        ("[광고] 장바구니를 확인하세요", "writes the advertising mark"),
        ("{% if item_count > 99 %}(광고){% endif %}상품이 있어요", "writes the advertising mark"),
        ("상품이 있어요\n수신거부: 080-000-0000", "writes the opt-out notice (수신거부)"),
        ("상품이 있어요\n수신 거부는 마이페이지에서", "writes the opt-out notice"),
        ("{{ items }} 확인하세요", ""),  # fine: the check passes
    ],
)
def test_a_template_that_writes_the_marks_itself_is_refused(
    tmp_path: Path, body: str, words: str
) -> None:
    source = SUBJECT + "{% block body %}" + body + "{% endblock %}"
    if not words:
        assert load_cart(source, tmp_path).render(CART.template, CART.sample).body
        return
    message = problems_of(source, tmp_path)
    assert f"message template abandoned_cart.v1 ({tmp_path / 'abandoned_cart.v1.j2'})" in message
    assert words in message


def test_the_marks_may_be_mentioned_in_a_comment(tmp_path: Path) -> None:
    source = "{# (광고)와 수신거부 안내는 정책이 붙입니다 #}\n" + SUBJECT
    source += "{% block body %}{{ items }}{% endblock %}"
    assert load_cart(source, tmp_path).render(CART.template, CART.sample).subject


def test_a_value_the_rule_does_not_fill_in_is_refused_even_in_a_branch(tmp_path: Path) -> None:
    source = (
        SUBJECT + "{% block body %}{% if item_count > 99 %}{{ coupon }}{% endif %}{% endblock %}"
    )
    message = problems_of(source, tmp_path)
    assert "uses coupon, which abandoned_cart does not fill in" in message
    assert "first_item, item_count, items, total, total_krw" in message


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (SUBJECT + "{% block body %}{{ items }", "line 2: "),
        (SUBJECT + "{% block body %}{{ items|없는필터 }}{% endblock %}", "No filter named"),
        ("{% block body %}{{ items }}{% endblock %}", "has no {% block subject %}"),
        (SUBJECT, "has no {% block body %}"),
        (SUBJECT + "{% block body %}{{ items.nope }}{% endblock %}", "does not render"),
        (
            SUBJECT + "{% block body %}{% if false %}{{ items }}{% endif %}{% endblock %}",
            "renders an empty body",
        ),
    ],
)
def test_a_broken_template_is_refused_with_the_problem(
    tmp_path: Path, source: str, words: str
) -> None:
    assert words in problems_of(source, tmp_path)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path,
        abandoned_cart_v1=SUBJECT + "{% block body %}(광고) {{ items }}{% endblock %}",
        win_back_v1="",
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(policy_file_with(tmp_path, str(folder)))
    message = str(caught.value)
    assert "message template abandoned_cart.v1" in message
    assert "message template win_back.v1" in message


def test_the_sandbox_keeps_templates_away_from_python(tmp_path: Path) -> None:
    source = SUBJECT + "{% block body %}{{ items.__class__.__mro__ }}{% endblock %}"
    assert "does not render" in problems_of(source, tmp_path)
