"""WAFv2: AWS::WAFv2::WebACL and AWS::WAFv2::WebACLAssociation, backed by moto's wafv2 backend.

moto's CloudFormation knows neither type: a stack declaring them completes with blank rows, `Ref`
gives '' and `Fn::GetAtt` fails, while moto's own wafv2 API is there. These models create the web
ACL and the association through that backend, so `get_web_acl`, `list_web_acls` and
`get_web_acl_for_resource` see them while the stack runs and not after `delete_stack`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.core.resource_tagging import TaggableResourcesMixin, TaggedResource
from moto.core.utils import camelcase_to_underscores
from moto.wafv2.exceptions import WAFNonexistentItemException, WAFv2ClientError
from moto.wafv2.models import (
    GLOBAL_REGION,
    FakeRule,
    FakeWebACL,
    WAFV2Backend,
    wafv2_backends,
)

from services.clouds.embedded_extensions import stack_tags
from services.clouds.embedded_extensions._template import (
    as_bool,
    as_int,
    logical_id_name,
    missing_tags,
    query_protocol_errors,
    tag_list,
)


class WAFAssociatedItemException(WAFv2ClientError):
    def __init__(self) -> None:
        super().__init__(
            "WAFAssociatedItemException",
            "AWS WAF couldn’t perform the operation because your resource is being used by "
            "another resource or it’s associated with another resource.")


def _backend(account_id: str, region_name: str, scope: str) -> WAFV2Backend:
    # A CLOUDFRONT web ACL lives in moto's global wafv2 backend, as its own API keeps it.
    return wafv2_backends[account_id][GLOBAL_REGION if scope == "CLOUDFRONT" else region_name]


def _scope_of(arn: str) -> str:
    return "CLOUDFRONT" if arn.split(":")[5].startswith("global/") else "REGIONAL"


def _visibility_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if config is None:
        return None
    return {**config,
            "SampledRequestsEnabled": as_bool(config.get("SampledRequestsEnabled"), False),
            "CloudWatchMetricsEnabled": as_bool(config.get("CloudWatchMetricsEnabled"), False)}


def _api_statement(value: Any) -> Any:
    """A statement as the JSON API carries it. A byte match's search string is plain text in a
    template (`SearchString`) or already base64 (`SearchStringBase64`); the API, and so moto,
    holds the blob base64-encoded under `SearchString`, at any depth of nesting."""
    if isinstance(value, list):
        return [_api_statement(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted = {key: _api_statement(item) for key, item in value.items()}
    match = converted.get("ByteMatchStatement")
    if isinstance(match, dict):
        match = dict(match)
        if "SearchStringBase64" in match:
            match["SearchString"] = match.pop("SearchStringBase64")
        elif "SearchString" in match:
            match["SearchString"] = base64.b64encode(
                str(match["SearchString"]).encode()).decode()
        converted["ByteMatchStatement"] = match
    return converted


def _rules(rules: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Rules as the API takes them: the template's shape, its numbers and booleans typed."""
    return [{**rule, "Priority": as_int(rule.get("Priority"), 0),
             "Statement": _api_statement(rule.get("Statement", {})),
             "VisibilityConfig": _visibility_config(rule.get("VisibilityConfig"))}
            for rule in rules or []]


class WebACL(CloudFormationModel):
    """AWS::WAFv2::WebACL over moto's FakeWebACL. `Ref` is `name|id|scope`, as on AWS; a web ACL
    without `Name` is named `LogicalId-<12 characters>`. Deleting one that is still associated
    fails with WAFAssociatedItemException, as on AWS, so a stack removes its associations first."""

    def __init__(self, acl: FakeWebACL, *, scope: str, properties: dict[str, Any]) -> None:
        self.acl = acl
        self.scope = scope
        self.properties = properties

    @property
    def physical_resource_id(self) -> str:
        return f"{self.acl.name}|{self.acl.id}|{self.scope}"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::WebACL"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Capacity", "Id", "LabelNamespace")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.acl.arn
        if attribute_name == "Capacity":
            return self.acl.capacity
        if attribute_name == "Id":
            return self.acl.id
        if attribute_name == "LabelNamespace":
            return self.acl.label_namespace
        raise UnformattedGetAttTemplateException()

    @classmethod
    @query_protocol_errors
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> WebACL:
        properties = cloudformation_json.get("Properties", {})
        scope = properties.get("Scope", "REGIONAL")
        name = properties.get("Name") or logical_id_name(kwargs.get("LogicalId", "WebACL"))
        acl = _backend(account_id, region_name, scope).create_web_acl(
            name=name,
            visibility_config=_visibility_config(properties.get("VisibilityConfig")),
            default_action=properties.get("DefaultAction"),
            scope=scope,
            description=properties.get("Description"),
            tags=tag_list(properties),
            rules=_rules(properties.get("Rules")),
            association_config=properties.get("AssociationConfig"),
            captcha_config=properties.get("CaptchaConfig"),
            challenge_config=properties.get("ChallengeConfig"),
            custom_response_bodies=properties.get("CustomResponseBodies"),
            token_domains=properties.get("TokenDomains"),
        )
        return cls(acl, scope=scope, properties=properties)

    @classmethod
    @query_protocol_errors
    def update_from_cloudformation_json(  # type: ignore[misc]
            cls, original_resource: WebACL, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> WebACL:
        properties = cloudformation_json.get("Properties", {})
        scope = properties.get("Scope", "REGIONAL")
        name = properties.get("Name") or original_resource.acl.name
        if scope != original_resource.scope or name != original_resource.acl.name:
            # A new name or scope replaces the web ACL on AWS: the new one first, then the old.
            replacement = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name)
            cls.delete_from_cloudformation_json(
                original_resource.physical_resource_id, cloudformation_json, account_id,
                region_name)
            return replacement
        backend = _backend(account_id, region_name, scope)
        acl = original_resource.acl
        backend.update_web_acl(
            name=acl.name, _id=acl.id,
            default_action=properties.get("DefaultAction"),
            rules=None,
            description=properties.get("Description", ""),
            visibility_config=_visibility_config(properties.get("VisibilityConfig")),
            lock_token=acl.lock_token,
            custom_response_bodies=properties.get("CustomResponseBodies"),
            captcha_config=properties.get("CaptchaConfig"),
            challenge_config=properties.get("ChallengeConfig"),
            token_domains=properties.get("TokenDomains"),
            association_config=properties.get("AssociationConfig"),
        )
        # moto keeps the old rules when handed none; a template without rules means no rules.
        acl.rules = [FakeRule(**{camelcase_to_underscores(k): v for k, v in rule.items()})
                     for rule in _rules(properties.get("Rules"))]
        new_tags = {t["Key"]: t["Value"] for t in tag_list(properties)}
        dropped = [t["Key"] for t in tag_list(original_resource.properties)
                   if t["Key"] not in new_tags]
        if dropped:
            backend.untag_resource(acl.arn, dropped)
        if new_tags:
            backend.tag_resource(acl.arn, tag_list(properties))
        original_resource.properties = properties
        return original_resource

    @classmethod
    @query_protocol_errors
    def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
        name, acl_id, scope = resource_name.split("|")
        backend = _backend(account_id, region_name, scope)
        try:
            acl = backend.get_web_acl(None, name, acl_id)
        except WAFNonexistentItemException:
            return
        if acl.associated_resources:
            raise WAFAssociatedItemException()
        backend.delete_web_acl(name, scope, acl_id, acl.lock_token)

    def is_created(self) -> bool:
        return True


class WebACLAssociation(CloudFormationModel):
    """AWS::WAFv2::WebACLAssociation. Associating checks that a load balancer named by its ARN
    exists and moves the resource off any web ACL it had, as AWS does (moto's API appends the
    resource to the new web ACL and keeps it on the old). The physical id is
    `ResourceArn|WebACLArn`, the type's primary identifier on AWS."""

    def __init__(self, *, resource_arn: str, web_acl_arn: str) -> None:
        self.resource_arn = resource_arn
        self.web_acl_arn = web_acl_arn

    @property
    def physical_resource_id(self) -> str:
        return f"{self.resource_arn}|{self.web_acl_arn}"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::WebACLAssociation"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    @query_protocol_errors
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> WebACLAssociation:
        properties = cloudformation_json.get("Properties", {})
        resource_arn = properties["ResourceArn"]
        web_acl_arn = properties["WebACLArn"]
        _require_load_balancer(resource_arn, account_id)
        backend = _backend(account_id, region_name, _scope_of(web_acl_arn))
        if web_acl_arn not in backend.wacls:
            raise WAFNonexistentItemException()
        backend.disassociate_web_acl(resource_arn)
        backend.associate_web_acl(web_acl_arn, resource_arn)
        return cls(resource_arn=resource_arn, web_acl_arn=web_acl_arn)

    @classmethod
    @query_protocol_errors
    def update_from_cloudformation_json(  # type: ignore[misc]
            cls, original_resource: WebACLAssociation, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> WebACLAssociation:
        # Both properties require replacement on AWS.
        cls.delete_from_cloudformation_json(
            original_resource.physical_resource_id, cloudformation_json, account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    @query_protocol_errors
    def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
        resource_arn, web_acl_arn = resource_name.split("|")
        backend = _backend(account_id, region_name, _scope_of(web_acl_arn))
        acl = backend.wacls.get(web_acl_arn)
        # Only this association's link: the resource may have been moved to another web ACL since.
        if acl is not None and resource_arn in acl.associated_resources:
            acl.associated_resources.remove(resource_arn)

    def is_created(self) -> bool:
        return True


def _require_load_balancer(resource_arn: str, account_id: str) -> None:
    if ":elasticloadbalancing:" not in resource_arn:
        return
    from moto.elbv2.models import elbv2_backends

    region = resource_arn.split(":")[3]
    if resource_arn not in elbv2_backends[account_id][region].load_balancers:
        raise WAFNonexistentItemException()


class TaggableWAFV2Backend(WAFV2Backend, TaggableResourcesMixin):
    """moto's wafv2 backend as a member of the Resource Groups Tagging API: moto 5.2.5 leaves it
    out, so `get_resources` never lists a web ACL, IP set, rule group or regex pattern set, and a
    sweep by tag cannot find one."""

    SERVICE_NAMESPACE = "wafv2"

    @property
    def _url_module(self) -> Any:
        # moto finds a backend's routes next to the module that defines its class.
        import moto.wafv2.urls

        return moto.wafv2.urls

    def iter_tagged_resources(self) -> Iterator[TaggedResource]:
        kinds = {"webacl": self.wacls, "ipset": self.ip_sets, "rulegroup": self.rule_groups,
                 "regexpatternset": self.regex_pattern_sets}
        for kind, items in kinds.items():
            for arn in items:
                yield TaggedResource(
                    arn=arn, tags=self.tagging_service.get_tag_dict_for_resource(arn),
                    resource_type=f"wafv2:{kind}")

    def tag_resource(self, arn: str, tags: Any) -> None:  # type: ignore[override]
        # The tagging API hands a dict; wafv2's own API a list of Key/Value pairs.
        if isinstance(tags, dict):
            tags = [{"Key": k, "Value": v} for k, v in tags.items()]
        super().tag_resource(arn, tags)


def _tag_web_acl(resource: WebACL, tags: stack_tags.StackTags, account_id: str,
                 region_name: str) -> None:
    backend = _backend(account_id, region_name, resource.scope)
    existing = backend.tagging_service.get_tag_dict_for_resource(resource.acl.arn)
    extra = missing_tags(existing, tags)
    if extra:
        backend.tag_resource(resource.acl.arn, extra)


def install() -> None:
    # Before any request: moto builds each account's backend from this class on first use.
    wafv2_backends.backend = TaggableWAFV2Backend
    stack_tags.register(WebACL, _tag_web_acl)
