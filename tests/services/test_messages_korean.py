"""The services' refusals are written in the reader's language: Korean inside
`i18n.use_locale("ko")` (as the UI sets it for a Korean reader), English everywhere else (the CLI,
the workers, the history database), word for word as before."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from services import accounts, i18n
from services import environment_service as environments
from services.accounts import SignInError
from services.context import PortalContext
from services.errors import EnvironmentNotFoundError, ValidationError
from services.identity import Actor, Role
from services.limits import LimitExceededError
from tests.services.conftest import Classroom

pytestmark = pytest.mark.xdist_group("embedded-cloud")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(autouse=True)
def _fresh_catalogs() -> None:
    i18n.translations.cache_clear()


def test_a_course_limit_refusal_is_korean_for_a_korean_reader(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room = classroom("mine", students=1)
    stranger = Actor("stranger", Role.STUDENT)
    with i18n.use_locale("ko"), pytest.raises(LimitExceededError) as korean:
        environments.start_launch(ctx, actor=stranger, template_id="web-server", parameters={},
                                  course=room.course)
    assert str(korean.value) == ("강좌 제한 '강좌'에 따라 거부되었습니다: stranger은(는) mine 강좌에 "
                                 "등록되어 있지 않습니다")
    assert korean.value.limit == "course"  # the code stays what code compares
    with pytest.raises(LimitExceededError) as english:
        environments.start_launch(ctx, actor=stranger, template_id="web-server", parameters={},
                                  course=room.course)
    assert str(english.value) == ("refused by the course limit 'course': stranger is not "
                                  "enrolled in course mine")


def test_parameter_messages_are_korean_and_keep_their_fields(ctx: PortalContext) -> None:
    student = Actor("alice", Role.STUDENT)
    bad = {"vpc_cidr": "10.0.0.0", "nope": "x"}
    with i18n.use_locale("ko"), pytest.raises(ValidationError) as korean:
        environments.start_launch(ctx, actor=student, template_id="web-server", parameters=bad)
    assert set(korean.value.field_errors) >= {"vpc_cidr", "nope"}
    assert korean.value.field_errors["vpc_cidr"] == (
        "CIDR 블록이 아닙니다. /24처럼 접두사 길이를 추가하세요")
    assert korean.value.field_errors["nope"].startswith("web-server 템플릿에 없는 파라미터입니다")
    assert str(korean.value).startswith("잘못된 파라미터: ")
    with pytest.raises(ValidationError) as english:
        environments.start_launch(ctx, actor=student, template_id="web-server", parameters=bad)
    assert english.value.field_errors["vpc_cidr"] == (
        "is not a CIDR block: add the prefix length, like /24")
    assert str(english.value).startswith("invalid parameters: ")


def test_an_environment_nobody_may_see_is_refused_in_the_readers_language(
        ctx: PortalContext) -> None:
    student = Actor("alice", Role.STUDENT)
    with i18n.use_locale("ko"), pytest.raises(EnvironmentNotFoundError) as korean:
        environments.get_environment(ctx, actor=student, env_id="e-missing")
    assert str(korean.value) == "환경: 볼 수 있는 환경 중에 'e-missing'이(가) 없습니다"
    with pytest.raises(EnvironmentNotFoundError) as english:
        environments.get_environment(ctx, actor=student, env_id="e-missing")
    assert str(english.value) == "environment: no environment 'e-missing' visible to you"


def test_sign_in_refusals_are_korean_for_a_korean_reader(ctx: PortalContext) -> None:
    with i18n.use_locale("ko"), pytest.raises(SignInError) as korean:
        accounts.authenticate(ctx, login="nobody", password="wrong password", client="c")
    assert str(korean.value) == "로그인: 이름 또는 암호가 올바르지 않습니다"
    with i18n.use_locale("ko"), pytest.raises(ValidationError) as short:
        accounts.check_password("short")
    assert short.value.field_errors["password"] == "10~256자로 입력하세요"
    with pytest.raises(SignInError) as english:
        accounts.authenticate(ctx, login="nobody", password="wrong password", client="c")
    assert str(english.value) == "sign-in: wrong name or password"


def test_a_budget_refusal_writes_money_as_the_reader_does(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room = classroom("money", students=1, budget_usd=0.05)
    with i18n.use_locale("ko"), pytest.raises(LimitExceededError) as korean:
        environments.start_launch(ctx, actor=room.students[0], template_id="web-server",
                                  parameters={}, course=room.course, lease_hours=24)
    message = str(korean.value)
    assert HANGUL.search(message) and "'예산'" in message
    assert "US$0.05입니다" in message and "US$0.00을(를) 사용했고" in message
    with pytest.raises(LimitExceededError) as english:
        environments.start_launch(ctx, actor=room.students[0], template_id="web-server",
                                  parameters={}, course=room.course, lease_hours=24)
    assert "the budget in course money is $0.05" in str(english.value)
    assert not HANGUL.search(str(english.value))
