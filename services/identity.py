"""Who is acting. Every service call that touches environments takes an `Actor`."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from services.errors import PortalError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Role(str, enum.Enum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"


class InvalidActorError(PortalError):
    pass


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise InvalidActorError(
                "name: use 1-64 letters, digits, dots, dashes or underscores, starting with a "
                "letter or digit"
            )

    @property
    def is_instructor(self) -> bool:
        return self.role is Role.INSTRUCTOR

    def can_see(self, owner: str) -> bool:
        return self.is_instructor or owner == self.name


def sign_in(name: str, role: str) -> Actor:
    """An actor from what the sign-in form or the CLI gives; raises InvalidActorError."""
    try:
        parsed_role = Role(role)
    except ValueError:
        raise InvalidActorError(f"role: must be student or instructor, not {role!r}") from None
    return Actor(name=name.strip(), role=parsed_role)
