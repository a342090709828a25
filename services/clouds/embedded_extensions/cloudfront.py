"""CloudFront: AWS::CloudFront::Distribution, OriginAccessControl and CachePolicy.

moto has a CloudFront API but no CloudFormation model for it: a distribution in a template was
skipped, and the `Fn::GetAtt Distribution.DomainName` nearly every such template outputs failed
the stack with "references undefined resource Distribution". Here both types are made through
moto's CloudFront backend, so the API sees them: a distribution's `Ref` is its id and its
`Fn::GetAtt` gives `DomainName` and `Id`; an origin access control's `Ref` is its id. They carry
their stack's tags. CloudFront serves nothing in the embedded cloud; the domain name resolves
nowhere. Deleting a distribution deletes it at once (AWS makes you disable it and wait first).
moto's CloudFront has no cache policies at all: an AWS::CloudFront::CachePolicy is kept by this
extension, with an id in AWS's form that distributions name; the CloudFront API does not list it.

CloudFormation writes a distribution's lists as lists (`Origins: [...]`, `Aliases: [...]`) where
the API wraps each in `{Quantity, Items}`, keeps a cache behaviour's `CachedMethods` beside its
`AllowedMethods` instead of inside it, and names a few fields differently (`IPV6Enabled`,
`GeoRestriction.Locations`); the properties are turned into the API's request against
botocore's model before moto reads them.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.cloudfront.models import CloudFrontBackend, Distribution, cloudfront_backends
from moto.core.common_models import CloudFormationModel
from moto.core.utils import utcnow
from moto.utilities.utils import get_partition

from services.clouds.embedded_extensions import stack_tags
from services.clouds.embedded_extensions._template import missing_tags, tag_list

# CloudFormation's names for the API's, where they differ in more than case.
RENAMED = {"ipv6enabled": "IsIPV6Enabled", "locations": "Items"}
# Behaviours whose `CachedMethods` CloudFormation keeps beside `AllowedMethods`.
BEHAVIOURS = ("DefaultCacheBehavior", "CacheBehaviors")


def _backend(account_id: str, region_name: str) -> CloudFrontBackend:
    return cloudfront_backends[account_id][get_partition(region_name)]


@lru_cache(maxsize=None)
def _distribution_config_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudfront")
    return model.operation_model("CreateDistribution").input_shape.members["DistributionConfig"]


def _is_counted_list(shape: Any) -> bool:
    return shape.type_name == "structure" and {"Quantity", "Items"} <= set(shape.members)


def to_api(value: Any, shape: Any) -> Any:
    """A CloudFormation value as botocore's request value of `shape`."""
    kind = shape.type_name
    if _is_counted_list(shape) and isinstance(value, list):
        value = {"Items": value}
    if kind == "structure" and isinstance(value, dict):
        members = {name.lower(): name for name in shape.members}
        converted: dict[str, Any] = {}
        for key, item in value.items():
            name = RENAMED.get(key.lower()) or members.get(key.lower())
            if name in shape.members and item is not None:
                converted[name] = to_api(item, shape.members[name])
        if _is_counted_list(shape):
            converted["Quantity"] = len(converted.get("Items") or [])
        return converted
    if kind == "list":
        return [to_api(item, shape.member) for item in (value if isinstance(value, list)
                                                        else [value])]
    if kind in ("integer", "long"):
        return int(float(value))
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "string" and not isinstance(value, str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value


def _cached_methods_inside_allowed(config: dict[str, Any]) -> dict[str, Any]:
    config = dict(config)
    for key in BEHAVIOURS:
        behaviours = config.get(key)
        if behaviours is None:
            continue
        many = isinstance(behaviours, list)
        moved = []
        for behaviour in behaviours if many else [behaviours]:
            behaviour = dict(behaviour)
            cached = behaviour.pop("CachedMethods", None)
            allowed = behaviour.get("AllowedMethods")
            if isinstance(allowed, list):
                behaviour["AllowedMethods"] = {"Items": allowed,
                                               **({"CachedMethods": cached} if cached else {})}
            moved.append(behaviour)
        config[key] = moved if many else moved[0]
    return config


def distribution_config(properties: dict[str, Any]) -> dict[str, Any]:
    """`DistributionConfig` of the CloudFormation properties, as CreateDistribution takes it."""
    config = to_api(_cached_methods_inside_allowed(properties.get("DistributionConfig") or {}),
                    _distribution_config_shape())
    for origin in (config.get("Origins") or {}).get("Items", []):
        # An origin reached through an origin access control has an empty S3OriginConfig;
        # moto reads its identity unconditionally.
        if "S3OriginConfig" in origin:
            origin["S3OriginConfig"].setdefault("OriginAccessIdentity", "")
    config["CallerReference"] = str(uuid.uuid4())
    config.setdefault("Comment", "")
    return config


class CloudFrontDistribution(CloudFormationModel):
    def __init__(self, distribution: Distribution) -> None:
        self.distribution = distribution

    @property
    def physical_resource_id(self) -> str:
        return self.distribution.distribution_id

    @property
    def arn(self) -> str:
        return self.distribution.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFront::Distribution"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("DomainName", "Id")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "DomainName":
            return self.distribution.domain_name
        if attribute_name == "Id":
            return self.distribution.distribution_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CloudFrontDistribution:
        properties = cloudformation_json.get("Properties") or {}
        distribution, _, _ = _backend(account_id, region_name).create_distribution(
            distribution_config(properties), tag_list(properties))
        return cls(distribution)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        if self.distribution.distribution_id in backend.distributions:
            backend.delete_distribution(self.distribution.distribution_id, if_match=True)


class CloudFrontOriginAccessControl(CloudFormationModel):
    def __init__(self, control_id: str) -> None:
        self.control_id = control_id

    @property
    def physical_resource_id(self) -> str:
        return self.control_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFront::OriginAccessControl"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.control_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CloudFrontOriginAccessControl:
        config = (cloudformation_json.get("Properties") or {}).get(
            "OriginAccessControlConfig") or {}
        control = _backend(account_id, region_name).create_origin_access_control(
            {key: str(value) for key, value in config.items()})
        return cls(control.id)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).origin_access_controls.pop(self.control_id, None)


# Cache policies by account, with their configuration: moto's CloudFront backend has no place
# for them.
_cache_policies: dict[str, dict[str, Any]] = {}


class CloudFrontCachePolicy(CloudFormationModel):
    def __init__(self, policy_id: str, account_id: str) -> None:
        self.policy_id = policy_id
        self.account_id = account_id
        self.last_modified = utcnow()

    @property
    def physical_resource_id(self) -> str:
        return self.policy_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFront::CachePolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Id", "LastModifiedTime")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.policy_id
        if attribute_name == "LastModifiedTime":
            return self.last_modified.isoformat()
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CloudFrontCachePolicy:
        config = (cloudformation_json.get("Properties") or {}).get("CachePolicyConfig") or {}
        if not config.get("Name"):
            raise ValidationError(message="CachePolicyConfig needs a Name")
        policies = _cache_policies.setdefault(account_id, {})
        if any(kept.get("Name") == config["Name"] for kept in policies.values()):
            raise ValidationError(message=f"A cache policy named {config['Name']} exists")
        policy = cls(str(uuid.uuid4()), account_id)
        policies[policy.policy_id] = dict(config)
        return policy

    def delete(self, account_id: str, region_name: str) -> None:
        _cache_policies.get(account_id, {}).pop(self.policy_id, None)


def _tag_distribution(resource: CloudFrontDistribution, tags: stack_tags.StackTags,
                      account_id: str, region_name: str) -> None:
    backend = _backend(account_id, region_name)
    present = backend.list_tags_for_resource(resource.arn)["Tags"]
    extra = missing_tags(present, tags)
    if extra:
        backend.tagger.tag_resource(resource.arn, extra)


def install() -> None:
    stack_tags.register(CloudFrontDistribution, _tag_distribution)
