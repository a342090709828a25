"""What the embedded cloud says when it cannot do what a template asks: an error of its own, so
that a stack event carries the sentence as written, without an AWS error code AWS never sends.
Not an extension itself: it has no `install()`.
"""

from __future__ import annotations

from moto import __version__ as moto_version
from moto.cloudformation.exceptions import CloudFormationError

ELSEWHERE = "launch on LocalStack or AWS to use it"


class EmbeddedCloudLimit(CloudFormationError):
    """Something AWS does that the embedded cloud does not."""

    code = "ValidationError"


class UnsupportedResourceType(EmbeddedCloudLimit):
    def __init__(self, resource_type: str) -> None:
        self.resource_type = resource_type
        super().__init__(f"Resource type {resource_type} is not supported by the embedded cloud; "
                         f"{ELSEWHERE}")


class UnsupportedCustomResource(EmbeddedCloudLimit):
    def __init__(self, resource_type: str) -> None:
        self.resource_type = resource_type
        super().__init__(f"Custom resource {resource_type} is not supported by the embedded "
                         "cloud: it runs no Lambda function to create it; " + ELSEWHERE)


def emulator_fault(resource_type: str, action: str = "CREATE") -> str:
    """The reason given for a resource whose model failed inside the emulator with a Python
    error rather than an AWS error: what failed, in words a student can act on. The error
    itself goes to the emulator's log."""
    verb = {"CREATE": "create", "UPDATE": "update", "DELETE": "delete"}.get(action, "handle")
    return (f"The embedded cloud (moto {moto_version}) cannot {verb} this {resource_type} as "
            f"declared: a property it uses is not supported there; {ELSEWHERE} (the emulator's "
            "log has the details)")
