"""WAF's admin-protection rule group answering the application's own admin pages with 403."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from services.advisor.model import AdvisorSubject, Finding, Rule, Severity
from services.advisor.terraform_model import TfResource
from services.i18n import N_, _

ADMIN_RULE_GROUP = "AWSManagedRulesAdminProtectionRuleSet"
# The rule inside the group that inspects the URI path.
ADMIN_PATH_RULE = "AdminProtection_URIPATH"
DEFAULT_ADMIN_PATH = "/admin"


def admin_paths(subject: AdvisorSubject) -> tuple[str, list[str]]:
    """The application's admin path and request paths under it to probe the statements with."""
    path = subject.values.get("admin_path")
    path = path if isinstance(path, str) and path.startswith("/") else DEFAULT_ADMIN_PATH
    page = path + ("login/" if path.endswith("/") else "/login/")
    return path, [path, page]


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _get(mapping: Any, *names: str) -> Any:
    mapping = _first(mapping)
    if not isinstance(mapping, dict):
        return None
    return next((mapping[n] for n in names if n in mapping), None)


def _statements(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return [_first(i) for i in items if isinstance(_first(i), dict)]


def matches(statement: Any, path: str) -> bool | None:
    """Whether a request for `path` matches a WAF statement; None when it depends on more than
    the URI path (headers, IPs, ...) and cannot be told before a request arrives."""
    statement = _first(statement)
    if not isinstance(statement, dict):
        return None
    if (inner := _get(statement, "NotStatement")) is not None:
        result = matches(_get(inner, "Statement"), path)
        return None if result is None else not result
    for key, combine in (("AndStatement", all), ("OrStatement", any)):
        if (group := _get(statement, key)) is not None:
            results = [matches(s, path) for s in _statements(_get(group, "Statements",
                                                                  "Statement"))]
            if combine is all and False in results:
                return False
            if combine is any and True in results:
                return True
            return None if None in results else combine(results)
    byte_match = _get(statement, "ByteMatchStatement")
    regex_match = _get(statement, "RegexMatchStatement")
    match = byte_match if byte_match is not None else regex_match
    if match is None or _get(_get(match, "FieldToMatch"), "UriPath") is None:
        return None
    transforms = _statements(_get(match, "TextTransformations", "TextTransformation") or [])
    lower = any(str(_get(t, "Type")).upper() == "LOWERCASE" for t in transforms)
    subject = path.lower() if lower else path
    if regex_match is not None:
        pattern = _get(match, "RegexString")
        return bool(re.search(pattern, subject)) if isinstance(pattern, str) else None
    search = _get(match, "SearchString")
    if not isinstance(search, str):
        return None
    constraint = str(_get(match, "PositionalConstraint")).upper()
    tests: dict[str, Callable[[str], bool]] = {
        "STARTS_WITH": lambda s: subject.startswith(s),
        "ENDS_WITH": lambda s: subject.endswith(s),
        "EXACTLY": lambda s: subject == s,
        "CONTAINS": lambda s: s in subject,
        "CONTAINS_WORD": lambda s: s in subject,
    }
    test = tests.get(constraint)
    return test(search) if test else None


def _named(items: Any, name: str) -> list[dict[str, Any]]:
    return [i for i in _statements(items or []) if _get(i, "Name") == name]


def _exempted(rule: dict[str, Any], group: dict[str, Any], others: list[dict[str, Any]],
              probes: list[str]) -> bool | None:
    """True when requests for the admin path get through the group; None when it cannot tell."""
    if _get(_get(rule, "OverrideAction"), "Count") is not None:
        return True
    if _named(_get(group, "ExcludedRules", "ExcludedRule"), ADMIN_PATH_RULE):
        return True
    for override in _named(_get(group, "RuleActionOverrides", "RuleActionOverride"),
                           ADMIN_PATH_RULE):
        action = _get(override, "ActionToUse")
        if _get(action, "Count") is not None or _get(action, "Allow") is not None:
            return True
    scope_down = _get(group, "ScopeDownStatement")
    if scope_down is not None:
        results = [matches(scope_down, p) for p in probes]
        if all(r is False for r in results):
            return True
        if None in results:
            return None
    # An Allow rule evaluated earlier (lower priority number) ends the evaluation for the path.
    priority = _get(rule, "Priority")
    for other in others:
        earlier = _get(other, "Priority")
        if _get(_get(other, "Action"), "Allow") is None or not isinstance(earlier, int) or \
                not isinstance(priority, int) or earlier >= priority:
            continue
        if all(matches(_get(other, "Statement"), p) for p in probes):
            return True
    return False


def _pascal(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


def _tf_as_cfn(value: Any, evaluate: Callable[[Any], Any]) -> Any:
    """A Terraform WAF block tree in CloudFormation's names (byte_match_statement ->
    ByteMatchStatement), values evaluated; the statement logic above then reads both."""
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return [_tf_as_cfn(v, evaluate) for v in value]
    if isinstance(value, dict):
        if value.get("__is_block__") or not value:
            return {_pascal(k): _tf_as_cfn(v, evaluate) for k, v in value.items()
                    if not k.startswith("__")}
        return evaluate(value)
    return evaluate(value)


class WafAdminProtectionBlocksAdmin(Rule):
    """The managed rule group AWSManagedRulesAdminProtectionRuleSet blocks URI paths that look
    like administration pages. In the seed project it answered Django's /admin with 403 while
    the load balancer and every health check were green: a successful deploy is not a healthy
    service. The application's admin path is the manifest parameter `admin_path` (else /admin);
    it is exempt when a scope-down statement leaves it out (NOT byte-match STARTS_WITH the
    path), when the group's AdminProtection_URIPATH rule is excluded or overridden to count or
    allow, when the whole group only counts, or when an earlier rule allows the path."""

    id = "ADV002"
    title = N_("WAF admin protection blocks the application's admin path")
    severity = Severity.WARNING
    fix = N_("Give the AdminProtection rule group a ScopeDownStatement that leaves out your admin "
             "path (NotStatement > ByteMatchStatement on UriPath, STARTS_WITH the path), or "
             "override its AdminProtection_URIPATH rule to Count; then check the admin page "
             "through the load balancer, not only the health check.")

    def _message(self, acl: str, rule_name: Any, path: str) -> str:
        # Translators: {rule_group} is AWSManagedRulesAdminProtectionRuleSet; {rule} the name
        # the web ACL gives it.
        return _("{acl} applies {rule_group} (rule {rule}) without exempting the application's "
                 "admin path {path}: requests for {path} are answered with 403 by WAF while the "
                 "load balancer's health checks stay green.").format(
                     acl=acl, rule_group=ADMIN_RULE_GROUP, rule=rule_name, path=path)

    def _check_rules(self, acl: str, rules: list[dict[str, Any]], subject: AdvisorSubject,
                     *, source: Any) -> Iterator[Finding]:
        path, probes = admin_paths(subject)
        for rule in rules:
            group = _get(_get(rule, "Statement"), "ManagedRuleGroupStatement")
            if group is None or _get(group, "Name") != ADMIN_RULE_GROUP:
                continue
            others = [r for r in rules if r is not rule]
            if _exempted(rule, group, others, probes) is False:
                yield self.finding(self._message(acl, _get(rule, "Name"), path),
                                   resource=acl, source=source)

    def check_cloudformation(self, subject: AdvisorSubject) -> Iterator[Finding]:
        template = subject.cloudformation
        assert template is not None
        for acl in template.of_type("AWS::WAFv2::WebACL"):
            rules = [r for r in acl.properties.get("Rules") or [] if isinstance(r, dict)]
            yield from self._check_rules(acl.logical_id, rules, subject, source="cloudformation")

    def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
        for acl in subject.terraform_config.resources("aws_wafv2_web_acl"):
            yield from self._check_rules(acl.address, self._tf_rules(acl), subject,
                                         source="terraform")

    @staticmethod
    def _tf_rules(acl: TfResource) -> list[dict[str, Any]]:
        return [r for r in _tf_as_cfn(acl.blocks("rule"), acl.module.evaluate)
                if isinstance(r, dict)]
