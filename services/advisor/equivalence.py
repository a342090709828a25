"""Whether a template's Terraform and its CloudFormation launch the same thing.

Each built-in template ships both, and a student may pick either engine: they must create the
same resources with the same key settings. Both sides are rendered with one set of values and read
through the advisor's models (`template_model` for CloudFormation, `terraform_model` for
Terraform), then described in one normalised shape: resources by CloudFormation type, each with
the properties that decide what a student gets (address ranges, ports, sizes and classes, engine
versions, scaling bounds, WAF rules, listeners and health checks). `compare` lists every property
where the two descriptions disagree.

The two languages cut the same infrastructure differently; the rules that make them comparable
are in `_fold_terraform` and `_fold_cloudformation`, each with the reason it is sound.
Values only known after apply on one side and known on the other are a difference: the comparison
cannot show they agree.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.advisor.hcl_eval import Unknown, expression_text, readable_text, reference_names
from services.advisor.model import Source
from services.advisor.runner import build_subject
from services.advisor.terraform_model import TerraformConfig, TfResource, nested_blocks
from services.catalog_service import TemplateManifest
from services.errors import PortalError
from services.render_service import portal_tags, render
from services.template_model import ResolvedResource, ResolvedTemplate

AFTER_APPLY = "(known after apply)"
"""A value neither side can know before it runs (a resource's id, a data source's result)."""
NOT_STATED = "(not stated)"
"""A setting the template leaves to the service's default, where the two engines' defaults are
not the same thing to compare (a target group's health check)."""
DEFAULT_REGION = "us-east-1"
# A database's master password generated at launch and kept in Secrets Manager: by RDS
# (`ManageMasterUserPassword`, `manage_master_user_password`) or by the template's own secret that
# `MasterUserPassword` resolves. Either way no password is in the template, its parameters or
# Terraform's state, which is what a student may rely on.
SECRET_PASSWORD = "generated, kept in Secrets Manager"

# CloudFormation type of each Terraform resource type that maps one to one.
TERRAFORM_TO_CLOUDFORMATION: dict[str, str] = {
    "aws_vpc": "AWS::EC2::VPC",
    "aws_internet_gateway": "AWS::EC2::InternetGateway",
    "aws_internet_gateway_attachment": "AWS::EC2::VPCGatewayAttachment",
    "aws_subnet": "AWS::EC2::Subnet",
    "aws_route_table": "AWS::EC2::RouteTable",
    "aws_route": "AWS::EC2::Route",
    "aws_route_table_association": "AWS::EC2::SubnetRouteTableAssociation",
    "aws_eip": "AWS::EC2::EIP",
    "aws_nat_gateway": "AWS::EC2::NatGateway",
    "aws_vpc_endpoint": "AWS::EC2::VPCEndpoint",
    "aws_security_group": "AWS::EC2::SecurityGroup",
    "aws_instance": "AWS::EC2::Instance",
    "aws_launch_template": "AWS::EC2::LaunchTemplate",
    "aws_autoscaling_group": "AWS::AutoScaling::AutoScalingGroup",
    "aws_autoscaling_policy": "AWS::AutoScaling::ScalingPolicy",
    "aws_lb": "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "aws_lb_target_group": "AWS::ElasticLoadBalancingV2::TargetGroup",
    "aws_lb_listener": "AWS::ElasticLoadBalancingV2::Listener",
    "aws_wafv2_web_acl": "AWS::WAFv2::WebACL",
    "aws_wafv2_web_acl_association": "AWS::WAFv2::WebACLAssociation",
    "aws_s3_bucket": "AWS::S3::Bucket",
    "aws_iam_role": "AWS::IAM::Role",
    "aws_iam_instance_profile": "AWS::IAM::InstanceProfile",
    "aws_codedeploy_app": "AWS::CodeDeploy::Application",
    "aws_codedeploy_deployment_group": "AWS::CodeDeploy::DeploymentGroup",
    "aws_secretsmanager_secret": "AWS::SecretsManager::Secret",
    "aws_db_subnet_group": "AWS::RDS::DBSubnetGroup",
    "aws_db_instance": "AWS::RDS::DBInstance",
    "aws_elasticache_subnet_group": "AWS::ElastiCache::SubnetGroup",
    "aws_elasticache_replication_group": "AWS::ElastiCache::ReplicationGroup",
    "aws_cloudwatch_log_group": "AWS::Logs::LogGroup",
    "aws_cloudwatch_metric_alarm": "AWS::CloudWatch::Alarm",
}

# Terraform resources that are a part of another resource in CloudFormation, and the attribute
# that names the resource they belong to. The AWS provider splits what CloudFormation keeps in
# one resource's properties (a bucket's settings, a role's policies, a group's rules).
TERRAFORM_PARTS: dict[str, tuple[str, str]] = {
    "aws_vpc_security_group_ingress_rule": ("aws_security_group", "security_group_id"),
    "aws_vpc_security_group_egress_rule": ("aws_security_group", "security_group_id"),
    "aws_security_group_rule": ("aws_security_group", "security_group_id"),
    "aws_s3_bucket_ownership_controls": ("aws_s3_bucket", "bucket"),
    "aws_s3_bucket_public_access_block": ("aws_s3_bucket", "bucket"),
    "aws_s3_bucket_server_side_encryption_configuration": ("aws_s3_bucket", "bucket"),
    "aws_s3_bucket_versioning": ("aws_s3_bucket", "bucket"),
    "aws_s3_bucket_lifecycle_configuration": ("aws_s3_bucket", "bucket"),
    "aws_iam_role_policy_attachment": ("aws_iam_role", "role"),
    "aws_iam_role_policy": ("aws_iam_role", "role"),
}

# CloudFormation resources that are a part of another resource: separate security group rules
# belong to their group (CloudFormation allows both spellings, as Terraform does).
CLOUDFORMATION_PARTS: dict[str, str] = {
    "AWS::EC2::SecurityGroupIngress": "GroupId",
    "AWS::EC2::SecurityGroupEgress": "GroupId",
}


class EquivalenceError(PortalError):
    """A side of the template could not be evaluated, so there is nothing to compare."""

    def __init__(self, template_id: str, source: Source, reason: str) -> None:
        self.template_id = template_id
        self.source = source
        self.reason = reason
        super().__init__(f"template {template_id}: its {source} could not be read: {reason}")


@dataclass(frozen=True)
class NormalResource:
    type: str
    """The CloudFormation type, for both sides."""
    name: str
    """CloudFormation logical id or Terraform address, for messages."""
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Description:
    """What one side launches, in the shape both sides share."""

    source: Source
    resources: tuple[NormalResource, ...]

    def of_type(self, resource_type: str) -> list[NormalResource]:
        return [r for r in self.resources if r.type == resource_type]

    @property
    def types(self) -> set[str]:
        return {r.type for r in self.resources}


@dataclass(frozen=True)
class Difference:
    """One property on which the two sides disagree.

    Resources of a type pair up when each has its own value of the type's identity
    (`IDENTITIES`, a security group's description say) on both sides, and then `resource` names
    the pair; or when each side has just one. A paired difference holds each side's value of
    that resource. Otherwise each side's value is the sorted tuple of all its resources' values:
    which subnet is which does not matter, which ranges there are does. Property "count" is how
    many resources of the type each side creates; "mapping" marks a resource with no rule to
    describe it (a type neither table knows)."""

    resource_type: str
    property: str
    cloudformation: Any
    terraform: Any
    resource: str | None = None

    def __str__(self) -> str:
        which = f" [{self.resource}]" if self.resource else ""
        return (f"{self.resource_type}{which} {self.property}: CloudFormation "
                f"{self.cloudformation!r}, Terraform {self.terraform!r}")


# -- values ---------------------------------------------------------------------------------------

def _is_intrinsic(value: Any) -> bool:
    """A `Ref` or `Fn::` the CloudFormation model left as written: it names a resource."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = str(next(iter(value)))
    return key == "Ref" or key.startswith("Fn::")


def _leaf(value: Any) -> Any:
    """A single value with "known after apply" spelled the same on both sides."""
    if isinstance(value, Unknown) or _is_intrinsic(value):
        return AFTER_APPLY
    return value


def _plain(value: Any) -> Any:
    value = _leaf(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _int(value: Any) -> Any:
    value = _leaf(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    return value


def _number(value: Any) -> Any:
    value = _int(value)
    if isinstance(value, str):
        try:
            return _int(float(value))
        except ValueError:
            return value
    return value


def _bool(value: Any, default: Any = None) -> Any:
    value = _leaf(value)
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _text(value: Any, default: Any = None) -> Any:
    value = _leaf(value)
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(_int(value))
    return value


def _cidr(value: Any) -> Any:
    value = _leaf(value)
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            return value
    return value


def _count(value: Any) -> Any:
    value = _leaf(value)
    return len(value) if isinstance(value, list) else value


def _first(value: Any) -> dict[str, Any]:
    """A nested block or property that is one object, whichever way it was written."""
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def _get(mapping: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(mapping, dict) or key not in mapping:
            return default
        mapping = mapping[key]
    return mapping


def _zone_index(value: Any) -> Any:
    """Which availability zone of the region, counting from 0: `!Select [1, !GetAZs '']` is
    `us-east-1b` in the CloudFormation model; Terraform's `names[1]` of the available zones is
    only known after apply, but its index is written in the expression."""
    if isinstance(value, Unknown):
        found = re.search(r"names\[(\d+)\]$", value.expression)
        return int(found.group(1)) if found else AFTER_APPLY
    value = _leaf(value)
    if isinstance(value, str) and re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", value):
        return "abcdefghij".index(value[-1])
    return value


def _service_short_name(value: Any) -> Any:
    """`com.amazonaws.<region>.s3` is `s3`: the region is the stack's on both sides, and only
    the service says what the endpoint is for."""
    text = readable_text(value) if isinstance(value, Unknown) else _leaf(value)
    return text.rsplit(".", 1)[-1] if isinstance(text, str) and "." in text else AFTER_APPLY


def _policy_name(arn: Any) -> Any:
    """A managed policy by its name: the partition in its ARN is the stack's on both sides."""
    text = readable_text(arn) if isinstance(arn, Unknown) else _leaf(arn)
    if isinstance(text, str) and ":policy/" in text:
        return text.split(":policy/", 1)[1]
    return AFTER_APPLY


def _protocol(value: Any) -> str:
    text = str(_text(value, "-1")).lower()
    return "all" if text in ("-1", "all") else text


def _rule_text(direction: str, protocol: Any, from_port: Any, to_port: Any, peer: str) -> str:
    """One security group rule as a line: `tcp 80 from 0.0.0.0/0`, `all to 0.0.0.0/0`."""
    word = "from" if direction == "ingress" else "to"
    name = _protocol(protocol)
    if name == "all":
        return f"all {word} {peer}"
    low, high = _int(from_port), _int(to_port)
    ports = f"{low}" if low == high else f"{low}-{high}"
    return f"{name} {ports} {word} {peer}"


def _canonical(value: Any) -> Any:
    """A nested structure with CloudFormation's and Terraform's spellings made one: keys
    lower-cased without underscores or a plural s (`TextTransformations` and repeated
    `text_transformation` blocks), one-element lists unwrapped (a block is a list in
    python-hcl2, a single object in CloudFormation), numbers and booleans as values."""
    value = _leaf(value)
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        return items[0] if len(items) == 1 else items
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if str(key).startswith("__"):
                continue
            name = str(key).replace("_", "").lower()
            if len(name) > 3 and name.endswith("s") and not name.endswith("ss"):
                name = name[:-1]
            result[name] = _canonical(item)
        return result
    if isinstance(value, str):
        return _bool(_int(value))
    return value


def _canonical_text(value: Any) -> str:
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"))


# -- CloudFormation -------------------------------------------------------------------------------

@dataclass
class _CfnContext:
    template: ResolvedTemplate
    parts: dict[str, list[ResolvedResource]]
    """Separate rules by the logical id of the group they belong to."""

    def target(self, value: Any) -> str | None:
        """The logical id a `Ref` or `Fn::GetAtt` points at."""
        if isinstance(value, dict) and "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) and target else None
        return None

    def resource(self, value: Any) -> ResolvedResource | None:
        logical_id = self.target(value)
        return self.template.resources.get(logical_id) if logical_id else None

    def deletion_policy(self, resource: ResolvedResource) -> str | None:
        body = (self.template.document.get("Resources") or {}).get(resource.logical_id) or {}
        policy = body.get("DeletionPolicy")
        return policy if isinstance(policy, str) else None


def _cfn_peer(context: _CfnContext, entry: Mapping[str, Any], direction: str) -> str:
    for key in ("CidrIp", "CidrIpv6"):
        if entry.get(key) is not None:
            return str(_cidr(entry[key]))
    for key in (f"{direction}SecurityGroupId", f"{direction}SecurityGroupName"):
        if entry.get(key) is not None:
            group = context.resource(entry[key])
            description = group.properties.get("GroupDescription") if group else None
            return f"security group {_leaf(description)!r}"
    if entry.get(f"{direction}PrefixListId") is not None:
        return "prefix list"
    return "nothing"


def _cfn_security_group(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    ingress = list(props.get("SecurityGroupIngress") or [])
    egress = list(props.get("SecurityGroupEgress") or [])
    for part in context.parts.get(resource.logical_id, []):
        (ingress if part.type.endswith("Ingress") else egress).append(part.properties)
    # A group created without egress rules gets AWS's allow-all egress rule. Terraform's
    # aws_security_group removes that rule, so its spelling of the same group lists it.
    if not egress:
        egress = [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]
    return {
        "description": _text(props.get("GroupDescription")),
        "ingress": tuple(sorted(
            _rule_text("ingress", e.get("IpProtocol"), e.get("FromPort"), e.get("ToPort"),
                       _cfn_peer(context, e, "Source")) for e in ingress)),
        "egress": tuple(sorted(
            _rule_text("egress", e.get("IpProtocol"), e.get("FromPort"), e.get("ToPort"),
                       _cfn_peer(context, e, "Destination")) for e in egress)),
    }


def _cfn_instance(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    interface = _first(props.get("NetworkInterfaces"))
    return {
        "instance_type": _text(props.get("InstanceType")),
        "image": _text(props.get("ImageId")),
        "key_name": _text(props.get("KeyName")),
        "cpu_credits": _text(_get(props, "CreditSpecification", "CPUCredits")),
        "associate_public_ip_address": _bool(interface.get("AssociatePublicIpAddress")),
        "http_tokens": _text(_get(props, "MetadataOptions", "HttpTokens")),
    }


def _cfn_launch_template(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    data = resource.properties.get("LaunchTemplateData") or {}
    return {
        "instance_type": _text(data.get("InstanceType")),
        "image": _text(data.get("ImageId")),
        "cpu_credits": _text(_get(data, "CreditSpecification", "CpuCredits")),
        "http_tokens": _text(_get(data, "MetadataOptions", "HttpTokens")),
        "http_put_response_hop_limit": _int(_get(data, "MetadataOptions",
                                                  "HttpPutResponseHopLimit")),
        "volumes": tuple(sorted(
            _volume_text(m.get("DeviceName"), _get(m, "Ebs", "VolumeSize"),
                         _get(m, "Ebs", "VolumeType"), _get(m, "Ebs", "Encrypted"))
            for m in data.get("BlockDeviceMappings") or [])),
    }


def _volume_text(device: Any, size: Any, volume_type: Any, encrypted: Any) -> str:
    state = "encrypted" if _bool(encrypted) is True else "unencrypted"
    return f"{_text(device)} {_int(size)} GiB {_text(volume_type)} {state}"


def _cfn_load_balancer(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    attributes = {a.get("Key"): a.get("Value") for a in props.get("LoadBalancerAttributes") or []}
    return {
        "type": _text(props.get("Type"), "application"),
        "scheme": _text(props.get("Scheme"), "internet-facing"),
        "ip_address_type": _text(props.get("IpAddressType"), "ipv4"),
        "subnets": _count(props.get("Subnets")),
        "drop_invalid_header_fields": _bool(
            attributes.get("routing.http.drop_invalid_header_fields.enabled"), False),
    }


def _cfn_target_group(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    attributes = {a.get("Key"): a.get("Value") for a in props.get("TargetGroupAttributes") or []}

    def stated(key: str, convert: Callable[[Any], Any] = _text) -> Any:
        return convert(props[key]) if key in props else NOT_STATED

    return {
        "protocol": _text(props.get("Protocol")),
        "port": _int(props.get("Port")),
        "target_type": _text(props.get("TargetType"), "instance"),
        "deregistration_delay": _int(attributes.get("deregistration_delay.timeout_seconds", 300)),
        "health_check_protocol": stated("HealthCheckProtocol"),
        "health_check_path": stated("HealthCheckPath"),
        "health_check_matcher": _text(_get(props, "Matcher", "HttpCode")) if "Matcher" in props
        else NOT_STATED,
        "health_check_interval": stated("HealthCheckIntervalSeconds", _int),
        "health_check_timeout": stated("HealthCheckTimeoutSeconds", _int),
        "healthy_threshold": stated("HealthyThresholdCount", _int),
        "unhealthy_threshold": stated("UnhealthyThresholdCount", _int),
    }


def _cfn_web_acl(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    rules = [r for r in props.get("Rules") or [] if isinstance(r, dict)]
    return _web_acl_properties(scope=props.get("Scope"), default_action=props.get("DefaultAction"),
                               rules=rules)


def _web_acl_properties(*, scope: Any, default_action: Any,
                        rules: list[dict[str, Any]]) -> dict[str, Any]:
    canonical = [_canonical(r) for r in rules]
    by_priority = sorted(canonical, key=lambda r: (
        r.get("priority") if isinstance(r.get("priority"), int) else math.inf,
        str(r.get("name"))))
    properties: dict[str, Any] = {
        "scope": _text(scope),
        "default_action": _canonical_text(default_action),
        "rules": tuple(f"{r.get('priority')} {r.get('name')}" for r in by_priority),
    }
    for rule in canonical:
        properties[f"rule {rule.get('name')}"] = json.dumps(
            {k: v for k, v in rule.items() if k not in ("name",)}, sort_keys=True,
            separators=(",", ":"))
    return properties


def _cfn_bucket(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    encryption = _first(_get(props, "BucketEncryption", "ServerSideEncryptionConfiguration"))
    block = props.get("PublicAccessBlockConfiguration") or {}
    lifecycle = _get(props, "LifecycleConfiguration", "Rules") or []
    return {
        "versioning": _text(_get(props, "VersioningConfiguration", "Status")),
        "sse_algorithm": _text(_get(encryption, "ServerSideEncryptionByDefault",
                                    "SSEAlgorithm")),
        "public_access_block": tuple(_bool(block.get(k), False) for k in (
            "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
            "RestrictPublicBuckets")),
        "object_ownership": _text(_get(_first(_get(props, "OwnershipControls", "Rules")),
                                       "ObjectOwnership")),
        "lifecycle_rules": tuple(sorted(
            _lifecycle_text(r.get("Id"), r.get("Status"),
                            _get(r, "NoncurrentVersionExpiration", "NoncurrentDays"),
                            _get(r, "ExpirationInDays"))
            for r in lifecycle)),
    }


def _lifecycle_text(rule_id: Any, status: Any, noncurrent_days: Any, days: Any) -> str:
    return (f"{_text(rule_id)} {_text(status)} noncurrent {_int(noncurrent_days)} days, "
            f"current {_int(days)} days")


def _assumed_by(document: Any) -> tuple[str, ...]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return (AFTER_APPLY,)
    services: list[str] = []
    statements = _get(document, "Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = _get(statement, "Principal", "Service")
        services.extend(principal if isinstance(principal, list) else [principal])
    return tuple(sorted(str(_leaf(s)) for s in services))


def _cfn_role(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    return {
        "assumed_by": _assumed_by(props.get("AssumeRolePolicyDocument")),
        "managed_policies": tuple(sorted(
            str(_policy_name(a)) for a in props.get("ManagedPolicyArns") or [])),
        "inline_policies": tuple(sorted(
            str(_text(p.get("PolicyName"))) for p in props.get("Policies") or [])),
    }


def _cfn_db_instance(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    password = SECRET_PASSWORD if _bool(props.get("ManageMasterUserPassword")) is True \
        else _cfn_password_source(context, props.get("MasterUserPassword"))
    # Without a DeletionPolicy CloudFormation snapshots a database it deletes.
    policy = context.deletion_policy(resource) or "Snapshot"
    return {
        "engine": _text(props.get("Engine")),
        "engine_version": _text(props.get("EngineVersion")),
        "instance_class": _text(props.get("DBInstanceClass")),
        "allocated_storage": _int(props.get("AllocatedStorage")),
        "storage_type": _text(props.get("StorageType")),
        "storage_encrypted": _bool(props.get("StorageEncrypted"), False),
        "multi_az": _bool(props.get("MultiAZ"), False),
        "publicly_accessible": _bool(props.get("PubliclyAccessible")),
        "backup_retention_period": _int(props.get("BackupRetentionPeriod", 1)),
        "delete_automated_backups": _bool(props.get("DeleteAutomatedBackups"), True),
        "deletion_protection": _bool(props.get("DeletionProtection"), False),
        "auto_minor_version_upgrade": _bool(props.get("AutoMinorVersionUpgrade"), True),
        "final_snapshot": policy == "Snapshot",
        "db_name": _text(props.get("DBName")),
        "username": _text(props.get("MasterUsername")),
        "master_password": password,
        "security_groups": _count(props.get("VPCSecurityGroups")),
    }


_SECRET_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:\$\{([A-Za-z0-9]+)\}:")


def _password_secret(template: ResolvedTemplate, password: Any) -> str | None:
    """The logical id of the template's own secret a `MasterUserPassword` resolves from."""
    text = password.get("Fn::Sub") if isinstance(password, dict) else password
    text = text[0] if isinstance(text, list) and text else text
    found = _SECRET_REFERENCE.search(text) if isinstance(text, str) else None
    return found.group(1) if found and found.group(1) in template.resources else None


def _cfn_password_source(context: _CfnContext, value: Any) -> Any:
    if value is None:
        return None
    if _password_secret(context.template, value) is not None:
        return SECRET_PASSWORD
    return "written in the template"


def _cfn_replication_group(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    return {
        "engine": _text(props.get("Engine")),
        "engine_version": _text(props.get("EngineVersion")),
        "node_type": _text(props.get("CacheNodeType")),
        "num_cache_clusters": _int(props.get("NumCacheClusters")),
        "automatic_failover": _bool(props.get("AutomaticFailoverEnabled"), False),
        "multi_az": _bool(props.get("MultiAZEnabled"), False),
        "port": _int(props.get("Port")),
        "at_rest_encryption": _bool(props.get("AtRestEncryptionEnabled"), False),
        "transit_encryption": _bool(props.get("TransitEncryptionEnabled"), False),
        "snapshot_retention_limit": _int(props.get("SnapshotRetentionLimit", 0)),
    }


def _cfn_alarm(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    return {
        "namespace": _text(props.get("Namespace")),
        "metric_name": _text(props.get("MetricName")),
        "statistic": _text(props.get("Statistic")),
        "period": _int(props.get("Period")),
        "evaluation_periods": _int(props.get("EvaluationPeriods")),
        "datapoints_to_alarm": _int(props.get("DatapointsToAlarm")),
        "threshold": _number(props.get("Threshold")),
        "comparison_operator": _text(props.get("ComparisonOperator")),
        "treat_missing_data": _text(props.get("TreatMissingData"), "missing"),
        "dimensions": tuple(sorted(str(d.get("Name")) for d in props.get("Dimensions") or [])),
    }


def _cfn_route(context: _CfnContext, resource: ResolvedResource) -> dict[str, Any]:
    props = resource.properties
    return _route_properties(destination=props.get("DestinationCidrBlock"), targets={
        "internet gateway": props.get("GatewayId"), "NAT gateway": props.get("NatGatewayId"),
        "instance": props.get("InstanceId"), "endpoint": props.get("VpcEndpointId"),
        "peering": props.get("VpcPeeringConnectionId"),
        "transit gateway": props.get("TransitGatewayId")})


def _route_properties(*, destination: Any, targets: Mapping[str, Any]) -> dict[str, Any]:
    kinds = [kind for kind, value in targets.items() if value not in (None, "")]
    return {"destination": _cidr(destination), "target": kinds[0] if len(kinds) == 1
            else " and ".join(kinds) or None}


_CLOUDFORMATION: dict[str, Callable[[_CfnContext, ResolvedResource], dict[str, Any]]] = {
    "AWS::EC2::VPC": lambda c, r: {
        "cidr_block": _cidr(r.properties.get("CidrBlock")),
        "enable_dns_support": _bool(r.properties.get("EnableDnsSupport"), True),
        "enable_dns_hostnames": _bool(r.properties.get("EnableDnsHostnames"), False)},
    "AWS::EC2::InternetGateway": lambda c, r: {},
    "AWS::EC2::VPCGatewayAttachment": lambda c, r: {
        "gateway": "internet gateway" if r.properties.get("InternetGatewayId") else "VPN gateway"},
    "AWS::EC2::Subnet": lambda c, r: {
        "cidr_block": _cidr(r.properties.get("CidrBlock")),
        "zone_index": _zone_index(r.properties.get("AvailabilityZone")),
        "map_public_ip_on_launch": _bool(r.properties.get("MapPublicIpOnLaunch"), False)},
    "AWS::EC2::RouteTable": lambda c, r: {},
    "AWS::EC2::Route": _cfn_route,
    "AWS::EC2::SubnetRouteTableAssociation": lambda c, r: {},
    "AWS::EC2::EIP": lambda c, r: {"domain": _text(r.properties.get("Domain"))},
    "AWS::EC2::NatGateway": lambda c, r: {
        "connectivity_type": _text(r.properties.get("ConnectivityType"), "public")},
    "AWS::EC2::VPCEndpoint": lambda c, r: {
        "service": _service_short_name(r.properties.get("ServiceName")),
        "endpoint_type": _text(r.properties.get("VpcEndpointType"), "Gateway"),
        "route_tables": _count(r.properties.get("RouteTableIds") or [])},
    "AWS::EC2::SecurityGroup": _cfn_security_group,
    "AWS::EC2::Instance": _cfn_instance,
    "AWS::EC2::LaunchTemplate": _cfn_launch_template,
    "AWS::AutoScaling::AutoScalingGroup": lambda c, r: {
        "min_size": _int(r.properties.get("MinSize")),
        "max_size": _int(r.properties.get("MaxSize")),
        "desired_capacity": _int(r.properties.get("DesiredCapacity")),
        "health_check_type": _text(r.properties.get("HealthCheckType"), "EC2"),
        "health_check_grace_period": _int(r.properties.get("HealthCheckGracePeriod", 0)),
        "subnets": _count(r.properties.get("VPCZoneIdentifier")),
        "target_groups": _count(r.properties.get("TargetGroupARNs") or [])},
    "AWS::AutoScaling::ScalingPolicy": lambda c, r: {
        "policy_type": _text(r.properties.get("PolicyType"), "SimpleScaling"),
        "metric": _text(_get(r.properties, "TargetTrackingConfiguration",
                             "PredefinedMetricSpecification", "PredefinedMetricType")),
        "target_value": _number(_get(r.properties, "TargetTrackingConfiguration",
                                     "TargetValue")),
        "estimated_instance_warmup": _int(r.properties.get("EstimatedInstanceWarmup"))},
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _cfn_load_balancer,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _cfn_target_group,
    "AWS::ElasticLoadBalancingV2::Listener": lambda c, r: {
        "port": _int(r.properties.get("Port")),
        "protocol": _text(r.properties.get("Protocol")),
        "default_actions": tuple(sorted(str(_text(a.get("Type")))
                                        for a in r.properties.get("DefaultActions") or []))},
    "AWS::WAFv2::WebACL": _cfn_web_acl,
    "AWS::WAFv2::WebACLAssociation": lambda c, r: {},
    "AWS::S3::Bucket": _cfn_bucket,
    "AWS::IAM::Role": _cfn_role,
    "AWS::IAM::InstanceProfile": lambda c, r: {"roles": _count(r.properties.get("Roles"))},
    "AWS::CodeDeploy::Application": lambda c, r: {
        "compute_platform": _text(r.properties.get("ComputePlatform"), "Server")},
    "AWS::CodeDeploy::DeploymentGroup": lambda c, r: {
        "deployment_config_name": _text(r.properties.get("DeploymentConfigName")),
        "deployment_type": _text(_get(r.properties, "DeploymentStyle", "DeploymentType")),
        "deployment_option": _text(_get(r.properties, "DeploymentStyle", "DeploymentOption")),
        "auto_rollback": _bool(_get(r.properties, "AutoRollbackConfiguration", "Enabled"),
                               False),
        "auto_rollback_events": tuple(sorted(
            _get(r.properties, "AutoRollbackConfiguration", "Events") or [])),
        "autoscaling_groups": _count(r.properties.get("AutoScalingGroups") or []),
        "target_groups": len(_get(r.properties, "LoadBalancerInfo",
                                  "TargetGroupInfoList") or [])},
    "AWS::SecretsManager::Secret": lambda c, r: {},
    "AWS::RDS::DBSubnetGroup": lambda c, r: {"subnets": _count(r.properties.get("SubnetIds"))},
    "AWS::RDS::DBInstance": _cfn_db_instance,
    "AWS::ElastiCache::SubnetGroup": lambda c, r: {
        "subnets": _count(r.properties.get("SubnetIds"))},
    "AWS::ElastiCache::ReplicationGroup": _cfn_replication_group,
    "AWS::Logs::LogGroup": lambda c, r: {
        "retention_in_days": _int(r.properties.get("RetentionInDays"))},
    "AWS::CloudWatch::Alarm": _cfn_alarm,
}


def _fold_cloudformation(template: ResolvedTemplate) -> tuple[_CfnContext, list[ResolvedResource]]:
    """The resources to describe, and what is folded into them:

    - `AWS::EC2::SecurityGroupIngress`/`Egress` are rules of the group they name, as
      Terraform's separate rule resources are: both become the group's rule list.
    - An `AWS::SecretsManager::Secret` that a database's `MasterUserPassword` resolves is that
      database's password store, which Terraform asks RDS to create and keep
      (`manage_master_user_password`): it is described as the database's `master_password`,
      not as a resource of its own.
    """
    parts: dict[str, list[ResolvedResource]] = defaultdict(list)
    context = _CfnContext(template=template, parts=parts)
    folded: set[str] = set()
    for resource in template.resources.values():
        key = CLOUDFORMATION_PARTS.get(resource.type)
        if key is not None:
            group = context.target(resource.properties.get(key))
            if group is not None:
                parts[group].append(resource)
                folded.add(resource.logical_id)
        if resource.type == "AWS::RDS::DBInstance":
            secret = _password_secret(template, resource.properties.get("MasterUserPassword"))
            if secret is not None:
                folded.add(secret)
    return context, [r for r in template.resources.values() if r.logical_id not in folded]


def describe_cloudformation(template: ResolvedTemplate) -> Description:
    context, resources = _fold_cloudformation(template)
    described = []
    for resource in resources:
        extract = _CLOUDFORMATION.get(resource.type)
        properties = extract(context, resource) if extract else {"mapping": "no rule"}
        described.append(NormalResource(resource.type, resource.logical_id, properties))
    return Description("cloudformation", tuple(described))


# -- Terraform ------------------------------------------------------------------------------------

def _identity(resource: TfResource) -> tuple[str, str, str]:
    return (resource.module.prefix, resource.type, resource.name)


@dataclass
class _TfContext:
    config: TerraformConfig
    parts: dict[tuple[str, str, str], list[TfResource]]
    """The resources folded into each resource, by the (module, type, name) of the latter."""

    def parts_of(self, resource: TfResource, *types: str) -> list[TfResource]:
        return [p for p in self.parts.get(_identity(resource), []) if p.type in types]


def _tf_block(resource: TfResource, name: str) -> dict[str, Any]:
    """A nested block evaluated (its own nested blocks as lists of dicts)."""
    blocks = resource.expanded_blocks(name)
    if not blocks:
        return {}
    block, bindings = blocks[0]
    value = resource.evaluate(block, bindings)
    return value if isinstance(value, dict) else {}


def _tf_peer(resource: TfResource, block: Mapping[str, Any], *, cidr_keys: tuple[str, ...],
             group_keys: tuple[str, ...], prefix_keys: tuple[str, ...]) -> str:
    for key in cidr_keys:
        value = resource.evaluate(block[key]) if key in block else None
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else value
        if value not in (None, [], ""):
            return str(_cidr(value))
    for key in group_keys:
        if block.get(key) in (None, [], False):
            continue
        raw = block[key]
        raw = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
        group = resource.module.referenced_resource(raw)
        description = group.value("description", "Managed by Terraform") if group else None
        return f"security group {_leaf(description)!r}"
    if any(block.get(k) not in (None, []) for k in prefix_keys):
        return "prefix list"
    return "nothing"


def _tf_security_group(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    rules: dict[str, list[str]] = {"ingress": [], "egress": []}
    for direction in ("ingress", "egress"):
        for block, bindings in resource.expanded_blocks(direction):
            evaluated = {k: resource.evaluate(v, bindings) for k, v in block.items()}
            rules[direction].append(_rule_text(
                direction, evaluated.get("protocol"), evaluated.get("from_port"), evaluated.get("to_port"),
                _tf_peer(resource, block, cidr_keys=("cidr_blocks", "ipv6_cidr_blocks"),
                         group_keys=("security_groups",), prefix_keys=("prefix_list_ids",))))
    for part in context.parts_of(resource, "aws_vpc_security_group_ingress_rule",
                                 "aws_vpc_security_group_egress_rule", "aws_security_group_rule"):
        if part.type == "aws_security_group_rule":
            direction = str(_text(part.value("type")))
            text = _rule_text(direction, part.value("protocol"), part.value("from_port"),
                              part.value("to_port"),
                              _tf_peer(part, part.body, cidr_keys=("cidr_blocks",
                                                                   "ipv6_cidr_blocks"),
                                       group_keys=("source_security_group_id",),
                                       prefix_keys=("prefix_list_ids",)))
        else:
            direction = "ingress" if part.type.endswith("ingress_rule") else "egress"
            text = _rule_text(direction, part.value("ip_protocol"), part.value("from_port"),
                              part.value("to_port"),
                              _tf_peer(part, part.body, cidr_keys=("cidr_ipv4", "cidr_ipv6"),
                                       group_keys=("referenced_security_group_id",),
                                       prefix_keys=("prefix_list_id",)))
        rules.setdefault(direction, []).append(text)
    return {"description": _text(resource.value("description"), "Managed by Terraform"),
            "ingress": tuple(sorted(rules["ingress"])), "egress": tuple(sorted(rules["egress"]))}


def _tf_image(resource: TfResource, attribute: str) -> Any:
    """The image as the SSM parameter it is read from, as CloudFormation's parameter of type
    `AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>` names it."""
    raw = expression_text(resource.body.get(attribute))
    for name in reference_names(raw, "data.aws_ssm_parameter"):
        parameter = resource.module.config.find(resource.module, f"data.aws_ssm_parameter.{name}")
        if parameter is not None:
            return _text(parameter.value("name"))
    return _text(resource.value(attribute))


def _tf_instance(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    return {
        "instance_type": _text(resource.value("instance_type")),
        "image": _tf_image(resource, "ami"),
        "key_name": _text(resource.value("key_name")),
        "cpu_credits": _text(_tf_block(resource, "credit_specification").get("cpu_credits")),
        "associate_public_ip_address": _bool(resource.value("associate_public_ip_address")),
        "http_tokens": _text(_tf_block(resource, "metadata_options").get("http_tokens")),
    }


def _tf_launch_template(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    metadata = _tf_block(resource, "metadata_options")
    volumes = []
    for block, bindings in resource.expanded_blocks("block_device_mappings"):
        mapping = resource.evaluate(block, bindings)
        ebs = _first(mapping.get("ebs"))
        volumes.append(_volume_text(mapping.get("device_name"), ebs.get("volume_size"),
                                    ebs.get("volume_type"), ebs.get("encrypted")))
    return {
        "instance_type": _text(resource.value("instance_type")),
        "image": _tf_image(resource, "image_id"),
        "cpu_credits": _text(_tf_block(resource, "credit_specification").get("cpu_credits")),
        "http_tokens": _text(metadata.get("http_tokens")),
        "http_put_response_hop_limit": _int(metadata.get("http_put_response_hop_limit")),
        "volumes": tuple(sorted(volumes)),
    }


def _tf_target_group(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    check = _tf_block(resource, "health_check")

    def stated(key: str, convert: Callable[[Any], Any] = _text) -> Any:
        return convert(check[key]) if key in check else NOT_STATED

    return {
        "protocol": _text(resource.value("protocol")),
        "port": _int(resource.value("port")),
        "target_type": _text(resource.value("target_type"), "instance"),
        "deregistration_delay": _int(resource.value("deregistration_delay", 300)),
        "health_check_protocol": stated("protocol"),
        "health_check_path": stated("path"),
        "health_check_matcher": stated("matcher"),
        "health_check_interval": stated("interval", _int),
        "health_check_timeout": stated("timeout", _int),
        "healthy_threshold": stated("healthy_threshold", _int),
        "unhealthy_threshold": stated("unhealthy_threshold", _int),
    }


def _tf_web_acl(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    rules = []
    for block, bindings in resource.expanded_blocks("rule"):
        rule = resource.evaluate(block, bindings)
        if isinstance(rule, dict):
            rules.append(rule)
    return _web_acl_properties(scope=resource.value("scope"),
                               default_action=_tf_block(resource, "default_action"),
                               rules=rules)


def _tf_bucket(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    def part(type_: str) -> TfResource | None:
        found = context.parts_of(resource, type_)
        return found[0] if found else None

    versioning = part("aws_s3_bucket_versioning")
    encryption = part("aws_s3_bucket_server_side_encryption_configuration")
    block = part("aws_s3_bucket_public_access_block")
    ownership = part("aws_s3_bucket_ownership_controls")
    lifecycle = part("aws_s3_bucket_lifecycle_configuration")
    rule = _first(_tf_block(encryption, "rule")) if encryption else {}
    lifecycle_rules = []
    for raw, bindings in lifecycle.expanded_blocks("rule") if lifecycle else []:
        evaluated = lifecycle.evaluate(raw, bindings)
        lifecycle_rules.append(_lifecycle_text(
            evaluated.get("id"), evaluated.get("status"),
            _first(evaluated.get("noncurrent_version_expiration")).get("noncurrent_days"),
            _first(evaluated.get("expiration")).get("days")))
    return {
        "versioning": _text(_tf_block(versioning, "versioning_configuration").get("status"))
        if versioning else None,
        "sse_algorithm": _text(_first(rule.get("apply_server_side_encryption_by_default"))
                               .get("sse_algorithm")),
        "public_access_block": tuple(
            _bool(block.value(k), False) if block else False for k in (
                "block_public_acls", "block_public_policy", "ignore_public_acls",
                "restrict_public_buckets")),
        "object_ownership": _text(_tf_block(ownership, "rule").get("object_ownership"))
        if ownership else None,
        "lifecycle_rules": tuple(sorted(lifecycle_rules)),
    }


def _tf_role(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    managed = [p.value("policy_arn")
               for p in context.parts_of(resource, "aws_iam_role_policy_attachment")]
    managed += list(resource.value("managed_policy_arns", []) or [])
    inline = [p.value("name") for p in context.parts_of(resource, "aws_iam_role_policy")]
    inline += [resource.evaluate(b, bound).get("name")
               for b, bound in resource.expanded_blocks("inline_policy")]
    return {
        "assumed_by": _assumed_by(resource.value("assume_role_policy")),
        "managed_policies": tuple(sorted(str(_policy_name(a)) for a in managed)),
        "inline_policies": tuple(sorted(str(_text(n)) for n in inline)),
    }


def _tf_db_instance(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    if _bool(resource.value("manage_master_user_password")) is True:
        password = SECRET_PASSWORD
    else:
        password = "written in the template" if resource.has("password") else None
    return {
        "engine": _text(resource.value("engine")),
        "engine_version": _text(resource.value("engine_version")),
        "instance_class": _text(resource.value("instance_class")),
        "allocated_storage": _int(resource.value("allocated_storage")),
        "storage_type": _text(resource.value("storage_type")),
        "storage_encrypted": _bool(resource.value("storage_encrypted"), False),
        "multi_az": _bool(resource.value("multi_az"), False),
        "publicly_accessible": _bool(resource.value("publicly_accessible")),
        "backup_retention_period": _int(resource.value("backup_retention_period", 1)),
        "delete_automated_backups": _bool(resource.value("delete_automated_backups"), True),
        "deletion_protection": _bool(resource.value("deletion_protection"), False),
        "auto_minor_version_upgrade": _bool(resource.value("auto_minor_version_upgrade"), True),
        "final_snapshot": _bool(resource.value("skip_final_snapshot"), False) is not True,
        "db_name": _text(resource.value("db_name")),
        "username": _text(resource.value("username")),
        "master_password": password,
        "security_groups": _count(resource.value("vpc_security_group_ids")),
    }


def _tf_replication_group(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    return {
        "engine": _text(resource.value("engine")),
        "engine_version": _text(resource.value("engine_version")),
        "node_type": _text(resource.value("node_type")),
        "num_cache_clusters": _int(resource.value("num_cache_clusters")),
        "automatic_failover": _bool(resource.value("automatic_failover_enabled"), False),
        "multi_az": _bool(resource.value("multi_az_enabled"), False),
        "port": _int(resource.value("port")),
        "at_rest_encryption": _bool(resource.value("at_rest_encryption_enabled"), False),
        "transit_encryption": _bool(resource.value("transit_encryption_enabled"), False),
        "snapshot_retention_limit": _int(resource.value("snapshot_retention_limit", 0)),
    }


def _tf_alarm(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    dimensions = resource.value("dimensions") or {}
    return {
        "namespace": _text(resource.value("namespace")),
        "metric_name": _text(resource.value("metric_name")),
        "statistic": _text(resource.value("statistic")),
        "period": _int(resource.value("period")),
        "evaluation_periods": _int(resource.value("evaluation_periods")),
        "datapoints_to_alarm": _int(resource.value("datapoints_to_alarm")),
        "threshold": _number(resource.value("threshold")),
        "comparison_operator": _text(resource.value("comparison_operator")),
        "treat_missing_data": _text(resource.value("treat_missing_data"), "missing"),
        "dimensions": tuple(sorted(dimensions)) if isinstance(dimensions, dict)
        else (AFTER_APPLY,),
    }


def _tf_route(context: _TfContext, resource: TfResource) -> dict[str, Any]:
    return _route_properties(destination=resource.value("destination_cidr_block"),
                             targets=_tf_route_targets(lambda k: resource.value(k)))


def _tf_route_targets(value: Callable[[str], Any]) -> dict[str, Any]:
    return {"internet gateway": value("gateway_id"), "NAT gateway": value("nat_gateway_id"),
            "instance": value("instance_id") or value("network_interface_id"),
            "endpoint": value("vpc_endpoint_id"),
            "peering": value("vpc_peering_connection_id"),
            "transit gateway": value("transit_gateway_id")}


_TERRAFORM: dict[str, Callable[[_TfContext, TfResource], dict[str, Any]]] = {
    "AWS::EC2::VPC": lambda c, r: {
        "cidr_block": _cidr(r.value("cidr_block")),
        "enable_dns_support": _bool(r.value("enable_dns_support"), True),
        "enable_dns_hostnames": _bool(r.value("enable_dns_hostnames"), False)},
    "AWS::EC2::InternetGateway": lambda c, r: {},
    "AWS::EC2::VPCGatewayAttachment": lambda c, r: {"gateway": "internet gateway"},
    "AWS::EC2::Subnet": lambda c, r: {
        "cidr_block": _cidr(r.value("cidr_block")),
        "zone_index": _zone_index(r.value("availability_zone")),
        "map_public_ip_on_launch": _bool(r.value("map_public_ip_on_launch"), False)},
    "AWS::EC2::RouteTable": lambda c, r: {},
    "AWS::EC2::Route": _tf_route,
    "AWS::EC2::SubnetRouteTableAssociation": lambda c, r: {},
    "AWS::EC2::EIP": lambda c, r: {"domain": _text(r.value("domain"))},
    "AWS::EC2::NatGateway": lambda c, r: {
        "connectivity_type": _text(r.value("connectivity_type"), "public")},
    "AWS::EC2::VPCEndpoint": lambda c, r: {
        "service": _service_short_name(r.value("service_name")),
        "endpoint_type": _text(r.value("vpc_endpoint_type"), "Gateway"),
        "route_tables": _count(r.value("route_table_ids") or [])},
    "AWS::EC2::SecurityGroup": _tf_security_group,
    "AWS::EC2::Instance": _tf_instance,
    "AWS::EC2::LaunchTemplate": _tf_launch_template,
    "AWS::AutoScaling::AutoScalingGroup": lambda c, r: {
        "min_size": _int(r.value("min_size")),
        "max_size": _int(r.value("max_size")),
        "desired_capacity": _int(r.value("desired_capacity")),
        "health_check_type": _text(r.value("health_check_type"), "EC2"),
        "health_check_grace_period": _int(r.value("health_check_grace_period", 300)),
        "subnets": _count(r.value("vpc_zone_identifier")),
        "target_groups": _count(r.value("target_group_arns") or [])},
    "AWS::AutoScaling::ScalingPolicy": lambda c, r: {
        "policy_type": _text(r.value("policy_type"), "SimpleScaling"),
        "metric": _text(_first(_tf_block(r, "target_tracking_configuration")
                               .get("predefined_metric_specification"))
                        .get("predefined_metric_type")),
        "target_value": _number(_tf_block(r, "target_tracking_configuration")
                                .get("target_value")),
        "estimated_instance_warmup": _int(r.value("estimated_instance_warmup"))},
    "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda c, r: {
        "type": _text(r.value("load_balancer_type"), "application"),
        "scheme": "internal" if _bool(r.value("internal"), False) is True
        else "internet-facing",
        "ip_address_type": _text(r.value("ip_address_type"), "ipv4"),
        "subnets": _count(r.value("subnets")),
        "drop_invalid_header_fields": _bool(r.value("drop_invalid_header_fields"), False)},
    "AWS::ElasticLoadBalancingV2::TargetGroup": _tf_target_group,
    "AWS::ElasticLoadBalancingV2::Listener": lambda c, r: {
        "port": _int(r.value("port")),
        "protocol": _text(r.value("protocol")),
        "default_actions": tuple(sorted(str(_text(r.evaluate(b, bound).get("type")))
                                        for b, bound in r.expanded_blocks("default_action")))},
    "AWS::WAFv2::WebACL": _tf_web_acl,
    "AWS::WAFv2::WebACLAssociation": lambda c, r: {},
    "AWS::S3::Bucket": _tf_bucket,
    "AWS::IAM::Role": _tf_role,
    "AWS::IAM::InstanceProfile": lambda c, r: {"roles": 1 if r.has("role") else 0},
    "AWS::CodeDeploy::Application": lambda c, r: {
        "compute_platform": _text(r.value("compute_platform"), "Server")},
    "AWS::CodeDeploy::DeploymentGroup": lambda c, r: {
        "deployment_config_name": _text(r.value("deployment_config_name")),
        "deployment_type": _text(_tf_block(r, "deployment_style").get("deployment_type")),
        "deployment_option": _text(_tf_block(r, "deployment_style").get("deployment_option")),
        "auto_rollback": _bool(_tf_block(r, "auto_rollback_configuration").get("enabled"),
                               False),
        "auto_rollback_events": tuple(sorted(
            _tf_block(r, "auto_rollback_configuration").get("events") or [])),
        "autoscaling_groups": _count(r.value("autoscaling_groups") or []),
        "target_groups": len(nested_blocks(_first(r.blocks("load_balancer_info")),
                                           "target_group_info"))},
    "AWS::SecretsManager::Secret": lambda c, r: {},
    "AWS::RDS::DBSubnetGroup": lambda c, r: {"subnets": _count(r.value("subnet_ids"))},
    "AWS::RDS::DBInstance": _tf_db_instance,
    "AWS::ElastiCache::SubnetGroup": lambda c, r: {"subnets": _count(r.value("subnet_ids"))},
    "AWS::ElastiCache::ReplicationGroup": _tf_replication_group,
    "AWS::Logs::LogGroup": lambda c, r: {"retention_in_days": _int(r.value("retention_in_days"))},
    "AWS::CloudWatch::Alarm": _tf_alarm,
}


def _fold_terraform(config: TerraformConfig) -> tuple[_TfContext, list[NormalResource]]:
    """The resources to describe, `count` and `for_each` expanded, and what is folded:

    - The provider's separate parts of one CloudFormation resource (`TERRAFORM_PARTS`: a
      bucket's versioning, encryption, public access block, ownership and lifecycle; a role's
      policy attachments and inline policies; a group's rules) belong to the resource their
      `bucket`/`role`/`security_group_id` names.
    - An `aws_internet_gateway` with a `vpc_id` is attached by the same resource; CloudFormation
      attaches it with an `AWS::EC2::VPCGatewayAttachment`, so one is described for it.
    - An `aws_route_table`'s inline `route` blocks are routes; CloudFormation writes every route
      as an `AWS::EC2::Route`.
    """
    parts: dict[tuple[str, str, str], list[TfResource]] = defaultdict(list)
    context = _TfContext(config=config, parts=parts)
    owners: list[TfResource] = []
    extra: list[NormalResource] = []
    for resource in config.resource_instances():
        if isinstance(resource.key, Unknown):
            extra.append(NormalResource(
                TERRAFORM_TO_CLOUDFORMATION.get(resource.type, resource.type), resource.address,
                {"count": AFTER_APPLY}))
            continue
        folded_into = TERRAFORM_PARTS.get(resource.type)
        if folded_into is not None:
            owner_type, attribute = folded_into
            owner = resource.module.referenced_resource(resource.body.get(attribute))
            if owner is not None and owner.type == owner_type:
                parts[_identity(owner)].append(resource)
                continue
            extra.append(NormalResource(resource.type, resource.address,
                                        {"mapping": f"its {attribute} names no {owner_type}"}))
            continue
        owners.append(resource)
        if resource.type == "aws_internet_gateway" and resource.has("vpc_id"):
            extra.append(NormalResource("AWS::EC2::VPCGatewayAttachment",
                                        f"{resource.address} (vpc_id)",
                                        {"gateway": "internet gateway"}))
        if resource.type == "aws_route_table":
            for block, bindings in resource.expanded_blocks("route"):
                evaluated = resource.evaluate(block, bindings)
                extra.append(NormalResource("AWS::EC2::Route", f"{resource.address} (route)",
                                            _route_properties(
                                                destination=evaluated.get("cidr_block"),
                                                targets=_tf_route_targets(evaluated.get))))
    described = []
    for resource in owners:
        cfn_type = TERRAFORM_TO_CLOUDFORMATION.get(resource.type)
        extract = _TERRAFORM.get(cfn_type) if cfn_type else None
        if cfn_type is None or extract is None:
            described.append(NormalResource(resource.type, resource.address,
                                            {"mapping": "no rule"}))
            continue
        described.append(NormalResource(cfn_type, resource.address, extract(context, resource)))
    return context, described + extra


def describe_terraform(config: TerraformConfig) -> Description:
    _, resources = _fold_terraform(config)
    return Description("terraform", tuple(resources))


# -- comparison -----------------------------------------------------------------------------------

# The property that tells resources of one type apart on both sides, where a type has several.
IDENTITIES: dict[str, str] = {
    "AWS::EC2::SecurityGroup": "description",
    "AWS::EC2::Subnet": "cidr_block",
    "AWS::CloudWatch::Alarm": "metric_name",
    "AWS::IAM::Role": "assumed_by",
}

def _order(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True, default=str)


def _values(resources: Iterable[NormalResource], name: str) -> tuple[Any, ...]:
    return tuple(sorted((_plain(r.properties.get(name)) for r in resources), key=_order))


def _pairs(resource_type: str, left: list[NormalResource], right: list[NormalResource]
           ) -> list[tuple[str | None, NormalResource, NormalResource]] | None:
    """The resources of each side matched one to one, or None when they cannot be: by their
    identity, or as the only one of their type on each side."""
    identity = IDENTITIES.get(resource_type)
    ours = {_order(r.properties.get(identity)): r for r in left} if identity else {}
    theirs = {_order(r.properties.get(identity)): r for r in right} if identity else {}
    matched = bool(identity) and len(ours) == len(left) == len(right) and \
        ours.keys() == theirs.keys()
    if not matched:
        return [(None, left[0], right[0])] if len(left) == len(right) == 1 else None
    return [(f"{identity} {_plain(ours[key].properties.get(identity))!r}", ours[key],
             theirs[key]) for key in sorted(ours)]


def _differ(ours: Any, theirs: Any) -> bool:
    # Defaults of an unstated health check differ between the engines' documentation and AWS;
    # only what both sides state is compared.
    if NOT_STATED in (ours if isinstance(ours, tuple) else (ours,)) or \
            NOT_STATED in (theirs if isinstance(theirs, tuple) else (theirs,)):
        return False
    return ours != theirs


def compare_descriptions(cloudformation: Description, terraform: Description) -> list[Difference]:
    """Every type whose count differs, and every property whose values differ."""
    differences: list[Difference] = []
    for resource_type in sorted(cloudformation.types | terraform.types):
        left, right = cloudformation.of_type(resource_type), terraform.of_type(resource_type)
        if len(left) != len(right):
            differences.append(Difference(resource_type, "count", len(left), len(right)))
        names = sorted({n for r in left + right for n in r.properties})
        pairs = _pairs(resource_type, left, right)
        if pairs is None:
            for name in names:
                ours, theirs = _values(left, name), _values(right, name)
                if _differ(ours, theirs):
                    differences.append(Difference(resource_type, name, ours, theirs))
            continue
        for label, ours_resource, theirs_resource in pairs:
            for name in names:
                ours = _plain(ours_resource.properties.get(name))
                theirs = _plain(theirs_resource.properties.get(name))
                if _differ(ours, theirs):
                    differences.append(Difference(resource_type, name, ours, theirs,
                                                  resource=label))
    return differences


def describe(manifest: TemplateManifest, values: Mapping[str, Any], *,
             region: str = DEFAULT_REGION) -> tuple[Description, Description]:
    """Both sides of `manifest` rendered with validated `values`, described."""
    rendered = render(manifest, values,
                      cloudformation_text=manifest.cloudformation_path.read_text(),
                      region=region, tags=portal_tags(env_id="equivalence", owner="equivalence",
                                                      template_id=manifest.id))
    subject = build_subject(rendered, manifest=manifest, values=values, region=region)
    if subject.cloudformation is None:
        raise EquivalenceError(manifest.id, "cloudformation",
                               subject.cloudformation_error or "no template")
    if subject.terraform_errors:
        raise EquivalenceError(manifest.id, "terraform", "; ".join(
            f"{path}: {error}" for path, error in sorted(subject.terraform_errors.items())))
    return (describe_cloudformation(subject.cloudformation),
            describe_terraform(subject.terraform_config))


def compare(manifest: TemplateManifest, values: Mapping[str, Any], *,
            region: str = DEFAULT_REGION) -> list[Difference]:
    """Where the template's CloudFormation and Terraform, launched with validated `values`,
    would not create the same resources; empty when they agree."""
    cloudformation, terraform = describe(manifest, values, region=region)
    return compare_descriptions(cloudformation, terraform)
