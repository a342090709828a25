"""Fixtures of the services' tests: a course with a roster, made through the services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from services import accounts, courses
from services.context import PortalContext
from services.identity import Actor, Role

OPERATOR = Actor("operator", Role.INSTRUCTOR, is_admin=True)


@dataclass(frozen=True)
class Classroom:
    course: str
    teacher: Actor
    students: list[Actor]


@pytest.fixture
def classroom(ctx: PortalContext) -> Callable[..., Classroom]:
    """`classroom(course, students=2, **limits)`: a course taught by its own instructor account,
    with students enrolled; the actors are resolved from their accounts as a sign-in would."""

    def make(course: str = "cloud101", *, students: int = 2, **limits: object) -> Classroom:
        teacher_name = f"{course}-teacher"
        accounts.create_account(ctx, actor=OPERATOR, name=teacher_name, role="instructor",
                                password="teacher-password")
        names = [f"{course}-s{i}" for i in range(1, students + 1)]
        for name in names:
            accounts.create_account(ctx, actor=OPERATOR, name=name, role="student")
        courses.create_course(ctx, actor=OPERATOR, course_id=course, **limits)
        courses.enrol(ctx, actor=OPERATOR, course_id=course, names=[teacher_name],
                      role="instructor")
        if names:
            courses.enrol(ctx, actor=OPERATOR, course_id=course, names=names)
        teacher = accounts.authenticate(ctx, login=teacher_name, password="teacher-password",
                                        client="test")
        return Classroom(course, teacher, [Actor(n, Role.STUDENT) for n in names])

    return make
