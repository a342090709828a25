"""ADV002: AWSManagedRulesAdminProtectionRuleSet must leave the application's admin path alone."""

from __future__ import annotations

import textwrap

import pytest

from services.advisor.rules.waf_admin import matches


def web_acl(group_extra: str = "", *, override: str = "None: {}", other_rules: str = "") -> str:
    return f"""
Parameters:
  AdminPath: {{Type: String, Default: /admin/}}
Resources:
  WebAcl:
    Type: AWS::WAFv2::WebACL
    Properties:
      Scope: REGIONAL
      DefaultAction: {{Allow: {{}}}}
      VisibilityConfig:
        {{SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: acl}}
      Rules:
        - Name: AdminProtection
          Priority: 2
          OverrideAction:
            {override}
          VisibilityConfig:
            {{SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true,
              MetricName: admin}}
          Statement:
            ManagedRuleGroupStatement:
              VendorName: AWS
              Name: AWSManagedRulesAdminProtectionRuleSet
{textwrap.indent(textwrap.dedent(group_extra), " " * 14)}
{textwrap.indent(textwrap.dedent(other_rules), " " * 8)}
"""


def exempt(search: str, constraint: str = "STARTS_WITH") -> str:
    return f"""
    ScopeDownStatement:
      NotStatement:
        Statement:
          ByteMatchStatement:
            FieldToMatch: {{UriPath: {{}}}}
            PositionalConstraint: {constraint}
            SearchString: {search}
            TextTransformations: [{{Priority: 0, Type: NONE}}]
"""


ALLOW_ADMIN_FIRST = """
- Name: AllowAdmin
  Priority: 1
  Action: {Allow: {}}
  VisibilityConfig: {SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: a}
  Statement:
    ByteMatchStatement:
      FieldToMatch: {UriPath: {}}
      PositionalConstraint: STARTS_WITH
      SearchString: /admin/
      TextTransformations: [{Priority: 0, Type: LOWERCASE}]
"""

AND_WITH_HEADER = """
ScopeDownStatement:
  AndStatement:
    Statements:
      - NotStatement:
          Statement:
            ByteMatchStatement:
              FieldToMatch: {UriPath: {}}
              PositionalConstraint: STARTS_WITH
              SearchString: !Ref AdminPath
              TextTransformations: [{Priority: 0, Type: NONE}]
      - ByteMatchStatement:
          FieldToMatch: {SingleHeader: {Name: host}}
          PositionalConstraint: EXACTLY
          SearchString: example.com
          TextTransformations: [{Priority: 0, Type: NONE}]
"""


@pytest.mark.parametrize(("cloudformation", "values", "blocked"), [
    pytest.param(web_acl(), {"admin_path": "/admin/"}, True, id="no-scope-down"),
    pytest.param(web_acl(exempt("/admin/", "EXACTLY")), {"admin_path": "/admin/"}, True,
                 id="exempts-only-the-index-page"),
    pytest.param(web_acl(exempt("/manage/")), {"admin_path": "/admin/"}, True,
                 id="exempts-another-path"),
    pytest.param(web_acl("""
        RuleActionOverrides:
          - Name: AdminProtection_OTHER
            ActionToUse: {Count: {}}
    """), {"admin_path": "/admin/"}, True, id="overrides-another-rule"),
    pytest.param(web_acl(), {}, True, id="default-admin-path"),
    pytest.param(web_acl(exempt("!Ref AdminPath")), {"admin_path": "/admin/"}, False,
                 id="scope-down-starts-with-parameter"),
    pytest.param(web_acl(exempt("/admin")), {"admin_path": "/admin/"}, False,
                 id="scope-down-prefix-covers-path"),
    pytest.param(web_acl(exempt("/admin")), {}, False, id="scope-down-default-path"),
    pytest.param(web_acl(AND_WITH_HEADER), {"admin_path": "/admin/"}, False,
                 id="and-statement-with-header"),
    pytest.param(web_acl("""
        RuleActionOverrides:
          - Name: AdminProtection_URIPATH
            ActionToUse: {Count: {}}
    """), {"admin_path": "/admin/"}, False, id="uripath-rule-counts"),
    pytest.param(web_acl("""
        ExcludedRules:
          - Name: AdminProtection_URIPATH
    """), {"admin_path": "/admin/"}, False, id="uripath-rule-excluded"),
    pytest.param(web_acl(override="Count: {}"), {"admin_path": "/admin/"}, False,
                 id="group-only-counts"),
    pytest.param(web_acl(other_rules=ALLOW_ADMIN_FIRST), {"admin_path": "/admin/"}, False,
                 id="earlier-allow-rule"),
])
def test_cloudformation_admin_protection(advise_inline, of_rule, cloudformation: str,
                                         values: dict, blocked: bool) -> None:
    report = advise_inline(cloudformation=cloudformation, values=values)
    expected = [("cloudformation", "warning", "WebAcl")] if blocked else []
    assert of_rule(report, "ADV002") == expected
    if blocked:
        path = values.get("admin_path", "/admin")
        assert f"without exempting the application's admin path {path}" in \
            report.by_rule("ADV002")[0].message


TERRAFORM_ACL = """
variable "admin_path" {
  type = string
}
resource "aws_wafv2_web_acl" "this" {
  scope = "REGIONAL"
  default_action {
    allow {}
  }
  rule {
    name     = "AWSManagedRulesAdminProtectionRuleSet"
    priority = 2
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesAdminProtectionRuleSet"
        vendor_name = "AWS"
        %s
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "admin"
      sampled_requests_enabled   = true
    }
  }
  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "acl"
    sampled_requests_enabled   = true
  }
}
"""

TF_SCOPE_DOWN = """
        scope_down_statement {
          not_statement {
            statement {
              byte_match_statement {
                search_string         = var.admin_path
                positional_constraint = "STARTS_WITH"
                field_to_match {
                  uri_path {}
                }
                text_transformation {
                  priority = 0
                  type     = "NONE"
                }
              }
            }
          }
        }
"""

TF_COUNT_OVERRIDE = """
        rule_action_override {
          name = "AdminProtection_URIPATH"
          action_to_use {
            count {}
          }
        }
"""


@pytest.mark.parametrize(("group_extra", "blocked"), [
    pytest.param("", True, id="no-scope-down"),
    pytest.param(TF_SCOPE_DOWN, False, id="scope-down-starts-with-admin-path"),
    pytest.param(TF_COUNT_OVERRIDE, False, id="uripath-rule-counts"),
])
def test_terraform_admin_protection(advise_inline, of_rule, group_extra: str,
                                    blocked: bool) -> None:
    report = advise_inline(terraform={"main.tf": TERRAFORM_ACL % group_extra},
                           values={"admin_path": "/admin/"})
    expected = [("terraform", "warning", "aws_wafv2_web_acl.this")] if blocked else []
    assert of_rule(report, "ADV002") == expected


@pytest.mark.parametrize(("statement", "path", "result"), [
    ({"ByteMatchStatement": {"FieldToMatch": {"UriPath": {}}, "PositionalConstraint": "ENDS_WITH",
                             "SearchString": "/"}}, "/admin/", True),
    ({"ByteMatchStatement": {"FieldToMatch": {"UriPath": {}}, "PositionalConstraint": "CONTAINS",
                             "SearchString": "ADMIN",
                             "TextTransformations": [{"Type": "LOWERCASE"}]}}, "/admin/", False),
    ({"RegexMatchStatement": {"FieldToMatch": {"UriPath": {}}, "RegexString": "^/adm"}},
     "/admin/", True),
    ({"OrStatement": {"Statements": [
        {"ByteMatchStatement": {"FieldToMatch": {"QueryString": {}}, "SearchString": "x",
                                "PositionalConstraint": "CONTAINS"}},
        {"ByteMatchStatement": {"FieldToMatch": {"UriPath": {}}, "SearchString": "/admin",
                                "PositionalConstraint": "STARTS_WITH"}}]}}, "/admin/", True),
    ({"IPSetReferenceStatement": {"Arn": "arn"}}, "/admin/", None),
])
def test_statement_matching(statement: dict, path: str, result: bool | None) -> None:
    assert matches(statement, path) is result
