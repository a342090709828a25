"""The advisor: preflight checks on a rendered template, run before launch.

Rules carry the lessons of the projects the templates come from (burstable credits, WAF admin
protection, SSH and database ports, single points of failure, user data, AMI ids, tags); each
is a small class in `rules/`, listed by id in `registry`. `advise` runs them all on both the
CloudFormation and the Terraform a template renders to.
"""

from __future__ import annotations

from services.advisor.model import (
    AdvisorReport,
    AdvisorSubject,
    Finding,
    Rule,
    Severity,
    UnknownRuleError,
)
from services.advisor.registry import RULES, all_rules, get_rule
from services.advisor.runner import advise, build_subject, run_rules

__all__ = ["RULES", "AdvisorReport", "AdvisorSubject", "Finding", "Rule", "Severity",
           "UnknownRuleError", "advise", "all_rules", "build_subject", "get_rule", "run_rules"]
