"""Who is acting. Every service call that touches environments, courses or accounts takes an
`Actor`, resolved from a signed-in account (services/accounts.py) or, for the CLI, the operator.

An actor carries what the service layer checks: the role of the account, whether it is an admin,
and for an instructor the courses they teach (None: every course, for admins and the operator).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from services.errors import PortalError
from services.i18n import _

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Role(str, enum.Enum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"


class InvalidActorError(PortalError):
    pass


def check_name(name: str, *, field: str = "name") -> str:
    """A name as accounts, owners and courses use it; raises InvalidActorError."""
    if not NAME_PATTERN.match(name or ""):
        raise InvalidActorError(
            _("{field}: use 1-64 letters, digits, dots, dashes or underscores, starting with a "
              "letter or digit").format(field=field)
        )
    return name


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
    is_admin: bool = False
    # Courses an instructor teaches; None means every course (admins, the operator, the portal).
    courses_taught: frozenset[str] | None = None

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def is_instructor(self) -> bool:
        return self.role is Role.INSTRUCTOR

    @property
    def sees_every_course(self) -> bool:
        return self.is_instructor and (self.is_admin or self.courses_taught is None)

    def teaches(self, course: str) -> bool:
        if not self.is_instructor:
            return False
        return self.courses_taught is None or self.is_admin or course in self.courses_taught

    def can_see(self, owner: str, course: str) -> bool:
        """An environment of `owner` in `course`: its owner sees it, and its course's teachers."""
        return owner == self.name or self.teaches(course)


def sign_in(name: str, role: str) -> Actor:
    """An actor from a name and a role given by trusted code (the CLI's --owner, the demo)."""
    try:
        parsed_role = Role(role)
    except ValueError:
        raise InvalidActorError(_("role: must be student or instructor, not {role!r}").format(
            role=role)) from None
    return Actor(name=name.strip(), role=parsed_role)
