"""Fixtures of the services' tests: a course with a roster, made through the services; the Redis
the Celery-mode tests run their workers against."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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


@pytest.fixture
def redis_url() -> Iterator[str]:
    """PORTAL_TEST_REDIS_URL's Redis database, the test's alone while it runs and emptied before
    and after it; skipped when the variable is not set.

    Alone by a lock on the machine, not only by an xdist_group: with pytest 9, pytest-xdist's
    `--dist loadgroup` no longer keeps a group on one worker (it renames `item._nodeid`, which
    pytest 9 no longer reads), and another session on the same machine may use the same database.
    Two tests sharing a queue would run each other's tasks against the wrong history."""
    url = os.environ.get("PORTAL_TEST_REDIS_URL")
    if not url:
        pytest.skip("PORTAL_TEST_REDIS_URL not set: tests with Celery workers skipped")
    import redis

    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"portal-test-redis-{digest}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = redis.Redis.from_url(url)
        client.flushdb()
        try:
            yield url
        finally:
            client.flushdb()
            client.close()
            fcntl.flock(lock, fcntl.LOCK_UN)
