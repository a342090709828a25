"""The registry: stable ids, each rule with its metadata."""

from __future__ import annotations

import pytest

from services.advisor import RULES, Rule, Severity, UnknownRuleError, all_rules, get_rule
from services.errors import PortalError

EXPECTED_IDS = ["ADV001", "ADV002", "ADV003", "ADV004", "ADV005", "ADV006", "ADV007", "ADV008",
                "ADV009"]


def test_ids_are_stable_and_unique() -> None:
    assert [rule.id for rule in all_rules()] == EXPECTED_IDS
    assert list(RULES) == EXPECTED_IDS


@pytest.mark.parametrize("rule_id", EXPECTED_IDS)
def test_every_rule_carries_its_metadata(rule_id: str) -> None:
    rule = get_rule(rule_id)
    assert isinstance(rule, Rule)
    assert rule.id == rule_id
    assert isinstance(rule.severity, Severity)
    assert rule.title and rule.fix.endswith(".")
    assert type(rule).__doc__, "the docstring states what the rule knows about AWS"


def test_only_ssh_to_the_world_blocks_by_default() -> None:
    assert [r.id for r in all_rules() if r.severity is Severity.ERROR] == ["ADV003"]


def test_unknown_rule() -> None:
    with pytest.raises(UnknownRuleError, match="unknown rule 'ADV999'") as caught:
        get_rule("ADV999")
    assert isinstance(caught.value, PortalError)
