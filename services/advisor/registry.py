"""Every advisor rule by id. Ids are stable: tests, the CLI's JSON and people refer to them."""

from __future__ import annotations

from services.advisor.model import Rule, UnknownRuleError
from services.advisor.rules.ami import RegionalAmiId
from services.advisor.rules.availability import SinglePointOfFailure
from services.advisor.rules.credit_drain import BurstableCreditDrain
from services.advisor.rules.ingress import DatabasePortOpenToCidr, SshOpenToWorld
from services.advisor.rules.readability import UnreadableTemplate
from services.advisor.rules.tags import PortalTagsMissing
from services.advisor.rules.user_data import UserDataChangeKeepsInstances
from services.advisor.rules.waf_admin import WafAdminProtectionBlocksAdmin

RULES: dict[str, Rule] = {
    BurstableCreditDrain.id: BurstableCreditDrain(),
    WafAdminProtectionBlocksAdmin.id: WafAdminProtectionBlocksAdmin(),
    SshOpenToWorld.id: SshOpenToWorld(),
    SinglePointOfFailure.id: SinglePointOfFailure(),
    UserDataChangeKeepsInstances.id: UserDataChangeKeepsInstances(),
    RegionalAmiId.id: RegionalAmiId(),
    DatabasePortOpenToCidr.id: DatabasePortOpenToCidr(),
    PortalTagsMissing.id: PortalTagsMissing(),
    UnreadableTemplate.id: UnreadableTemplate(),
}


def get_rule(rule_id: str) -> Rule:
    try:
        return RULES[rule_id]
    except KeyError:
        raise UnknownRuleError(rule_id, sorted(RULES)) from None


def all_rules() -> list[Rule]:
    return list(RULES.values())
