"""Deployment engines: the protocol (`base`) and the registry that builds one per name.

Each engine module registers a builder here; the facade asks `build_engine` for the one an
environment was launched with, so nothing outside this package names an engine's class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from services.engines.base import EngineName
from services.i18n import _

if TYPE_CHECKING:
    from services.clouds import CloudConnection
    from services.engines.base import Engine
    from services.settings import Settings

EngineBuilder = Callable[["CloudConnection", "Settings"], "Engine"]


def _cloudformation(connection: CloudConnection, settings: Settings) -> Engine:
    from services.engines.cloudformation_engine import CloudFormationEngine

    return CloudFormationEngine(connection, settings)


def _terraform(connection: CloudConnection, settings: Settings) -> Engine:
    from services.engines.terraform_engine import TerraformEngine

    return TerraformEngine(connection, settings)


BUILDERS: dict[EngineName, EngineBuilder] = {
    EngineName.CLOUDFORMATION: _cloudformation,
    EngineName.TERRAFORM: _terraform,
}


def engine_name(value: str | EngineName) -> EngineName:
    """The engine named `value`; a ValueError lists the known ones."""
    try:
        return EngineName(value)
    except ValueError:
        known = ", ".join(name.value for name in EngineName)
        raise ValueError(_("unknown engine {value!r}: use one of {known}").format(
            value=value, known=known)) from None


def build_engine(name: EngineName, connection: CloudConnection, settings: Settings) -> Engine:
    return BUILDERS[name](connection, settings)
