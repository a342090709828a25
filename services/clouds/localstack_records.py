"""Which of an environment's resources LocalStack only recorded, and which it really made.

LocalStack's CloudFormation (the free edition, in host mode) completes stacks whose resources it
cannot create: a type it has no provider for is marked CREATE_COMPLETE with the physical id
"unknown", and outputs that read it say "unknown" too. On ha-web that is 14 of 42 resources: the
RDS database and its subnet group, the load balancer with its target group and listener, the Auto
Scaling group and its policy, the launch template, ElastiCache, CodeDeploy and WAF. A student
reading "complete" would think they exist, so the portal shows these as records only.

Each resource is checked by describing it in its own service, the way a student would look for
it, never by trusting its physical id: a service LocalStack does not emulate at all answers HTTP
501, which counts as not there. A type without a check here is not claimed either way, and
neither is a resource whose check fails for another reason (throttling, permissions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from services.clouds import CloudConnection
from services.engines.base import DeployedResource

# The statuses in which a deployment says a resource exists.
COMPLETE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE")


@dataclass(frozen=True)
class ResourceCheck:
    resource: DeployedResource
    # True: its service describes it; False: it does not (or the service is not there at all);
    # None: it was not checked (no check for its type) or the check could not tell.
    exists: bool | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {**self.resource.to_json(), "exists": self.exists, "reason": self.reason}


class _Missing(Exception):
    """Raised by a check: the resource is not there; the message says how that was seen."""


class _Unknown(Exception):
    """Raised by a check that cannot tell."""


Check = Callable[[CloudConnection, DeployedResource, list[DeployedResource]], None]


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _not_emulated(exc: ClientError) -> bool:
    # LocalStack's answer for a service outside its edition: HTTP 501, code InternalFailure,
    # "The API for service rds is either not included in your current license plan or has not
    # yet been emulated by LocalStack."
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = exc.response.get("Error", {}).get("Message", "")
    return status == 501 or "not yet been emulated" in message


def _call(connection: CloudConnection, service: str, operation: str, *,
          missing: tuple[str, ...] = (), **kwargs: Any) -> dict[str, Any]:
    """Call `operation`; an error whose code is in `missing`, or a service that is not there,
    raises _Missing."""
    try:
        return getattr(connection.client(service), operation)(**kwargs)
    except ClientError as exc:
        if _not_emulated(exc):
            raise _Missing(f"this endpoint does not offer the {service} API (HTTP 501)") from exc
        if _code(exc) in missing:
            raise _Missing(f"{service} {operation}: {_code(exc)}") from exc
        raise


def _require(found: object, what: str) -> None:
    if not found:
        raise _Missing(f"{what} lists nothing by that id")


# -- EC2 ------------------------------------------------------------------------------------------
# States in which EC2 still lists what is gone: a deleted VPC endpoint lingers, as on AWS.
GONE_STATES = ("deleted", "deleting", "failed", "rejected", "expired")


def _ec2(operation: str, id_param: str, key: str, *codes: str) -> Check:
    def check(connection: CloudConnection, resource: DeployedResource,
              _: list[DeployedResource]) -> None:
        answer = _call(connection, "ec2", operation, missing=codes,
                       **{id_param: [resource.physical_id]})
        _require([item for item in answer.get(key, [])
                  if str(item.get("State", "")).lower() not in GONE_STATES], f"ec2 {operation}")
    return check


def _instance(connection: CloudConnection, resource: DeployedResource,
              _: list[DeployedResource]) -> None:
    answer = _call(connection, "ec2", "describe_instances",
                   missing=("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"),
                   InstanceIds=[resource.physical_id])
    states = [i["State"]["Name"] for r in answer["Reservations"] for i in r["Instances"]]
    _require([s for s in states if s != "terminated"], "ec2 describe_instances")


def _gateway_attachment(connection: CloudConnection, resource: DeployedResource,
                        _: list[DeployedResource]) -> None:
    # Its physical id is "IGW|<vpc id>": the VPC must have an internet gateway attached.
    vpc = (resource.physical_id or "").rpartition("|")[2]
    answer = _call(connection, "ec2", "describe_internet_gateways",
                   Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])
    _require(answer["InternetGateways"], "ec2 describe_internet_gateways")


def _route(connection: CloudConnection, resource: DeployedResource,
           _: list[DeployedResource]) -> None:
    # Its physical id is "<route table id>~<destination>" (LocalStack) or "<rtb>|<destination>".
    table, _sep, destination = (resource.physical_id or "").replace("|", "~").partition("~")
    answer = _call(connection, "ec2", "describe_route_tables",
                   missing=("InvalidRouteTableID.NotFound", "InvalidRouteTableID.Malformed"),
                   RouteTableIds=[table])
    routes = [r for t in answer["RouteTables"] for r in t.get("Routes", [])]
    _require([r for r in routes if destination in (r.get("DestinationCidrBlock"),
                                                   r.get("DestinationIpv6CidrBlock"))],
             f"route table {table}'s routes to {destination}")


def _route_table_association(connection: CloudConnection, resource: DeployedResource,
                             _: list[DeployedResource]) -> None:
    answer = _call(connection, "ec2", "describe_route_tables", Filters=[
        {"Name": "association.route-table-association-id", "Values": [resource.physical_id]}])
    _require(answer["RouteTables"], "ec2 describe_route_tables")


def _eip(connection: CloudConnection, resource: DeployedResource,
         _: list[DeployedResource]) -> None:
    physical = resource.physical_id or ""
    by = {"AllocationIds": [physical]} if physical.startswith("eipalloc-") \
        else {"PublicIps": [physical]}
    answer = _call(connection, "ec2", "describe_addresses",
                   missing=("InvalidAddress.NotFound", "InvalidAllocationID.NotFound",
                            "InvalidParameterValue"), **by)
    _require(answer["Addresses"], "ec2 describe_addresses")


def _nat_gateway(connection: CloudConnection, resource: DeployedResource,
                 _: list[DeployedResource]) -> None:
    answer = _call(connection, "ec2", "describe_nat_gateways",
                   missing=("NatGatewayNotFound", "NatGatewayMalformed"),
                   NatGatewayIds=[resource.physical_id])
    _require([n for n in answer["NatGateways"] if n.get("State") not in GONE_STATES],
             "ec2 describe_nat_gateways")


def _launch_template(connection: CloudConnection, resource: DeployedResource,
                     _: list[DeployedResource]) -> None:
    physical = resource.physical_id or ""
    by = {"LaunchTemplateIds": [physical]} if physical.startswith("lt-") \
        else {"LaunchTemplateNames": [physical]}
    answer = _call(connection, "ec2", "describe_launch_templates",
                   missing=("InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateId.Malformed",
                            "InvalidLaunchTemplateName.NotFoundException",
                            "InvalidLaunchTemplateName.MalformedException"), **by)
    _require(answer["LaunchTemplates"], "ec2 describe_launch_templates")


# -- the services above the network ---------------------------------------------------------------
def _simple(service: str, operation: str, param: str, *codes: str,
            key: str | None = None, as_list: bool = False) -> Check:
    """A describe by one id; with `key`, the answer's list under it must name something."""
    def check(connection: CloudConnection, resource: DeployedResource,
              _: list[DeployedResource]) -> None:
        value = [resource.physical_id] if as_list else resource.physical_id
        answer = _call(connection, service, operation, missing=codes, **{param: value})
        if key is not None:
            _require(answer.get(key), f"{service} {operation}")
    return check


def _by_arn(service: str, operation: str, param: str, key: str, *codes: str) -> Check:
    # A physical id that is not an ARN ("unknown") is refused as ValidationError: no such thing.
    return _simple(service, operation, param, *codes, "ValidationError", key=key, as_list=True)


def _bucket(connection: CloudConnection, resource: DeployedResource,
            _: list[DeployedResource]) -> None:
    _call(connection, "s3", "head_bucket", missing=("404", "NoSuchBucket"),
          Bucket=resource.physical_id)


def _log_group(connection: CloudConnection, resource: DeployedResource,
               _: list[DeployedResource]) -> None:
    answer = _call(connection, "logs", "describe_log_groups",
                   logGroupNamePrefix=resource.physical_id)
    _require([g for g in answer["logGroups"] if g["logGroupName"] == resource.physical_id],
             "logs describe_log_groups")


def _deployment_group(connection: CloudConnection, resource: DeployedResource,
                      resources: list[DeployedResource]) -> None:
    # Its physical id is the group's name alone; the application it belongs to is looked up.
    applications = [r.physical_id for r in resources
                    if r.resource_type == "AWS::CodeDeploy::Application" and r.physical_id]
    listed = _call(connection, "codedeploy", "list_applications")["applications"]
    for application in dict.fromkeys(applications + listed):
        try:
            _call(connection, "codedeploy", "get_deployment_group", missing=(
                "DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException"),
                applicationName=application, deploymentGroupName=resource.physical_id)
        except _Missing:
            continue
        return
    raise _Missing("no CodeDeploy application has a deployment group of that name")


def _web_acl(connection: CloudConnection, resource: DeployedResource,
             _: list[DeployedResource]) -> None:
    # Its physical id is "name|id|scope" in CloudFormation's words, or the ACL's ARN.
    physical = resource.physical_id or ""
    parts = physical.split("|")
    if physical.startswith("arn:"):
        scope = "CLOUDFRONT" if ":global/" in physical else "REGIONAL"
        name, acl_id = physical.split("/")[-2:]
    elif len(parts) == 3:
        name, acl_id, scope = parts
    else:
        listed = _call(connection, "wafv2", "list_web_acls", Scope="REGIONAL")["WebACLs"]
        _require([a for a in listed if physical in (a.get("Name"), a.get("Id"), a.get("ARN"))],
                 "wafv2 list_web_acls")
        return
    _call(connection, "wafv2", "get_web_acl", missing=("WAFNonexistentItemException",),
          Name=name, Id=acl_id, Scope=scope)


def _web_acl_association(connection: CloudConnection, resource: DeployedResource,
                         _: list[DeployedResource]) -> None:
    # Its physical id pairs the protected resource's ARN with the ACL's ARN ("<arn>|<arn>").
    protected = [p for p in (resource.physical_id or "").split("|")
                 if p.startswith("arn:") and ":wafv2:" not in p]
    if not protected:
        # Nothing to look up by; a WAF API that is not there still settles it.
        _call(connection, "wafv2", "list_web_acls", Scope="REGIONAL")
        raise _Unknown("its physical id names no protected resource")
    answer = _call(connection, "wafv2", "get_web_acl_for_resource",
                   missing=("WAFNonexistentItemException",), ResourceArn=protected[0])
    _require(answer.get("WebACL"), "wafv2 get_web_acl_for_resource")


CHECKS: dict[str, Check] = {
    "AWS::EC2::VPC": _ec2("describe_vpcs", "VpcIds", "Vpcs",
                          "InvalidVpcID.NotFound", "InvalidVpcID.Malformed"),
    "AWS::EC2::Subnet": _ec2("describe_subnets", "SubnetIds", "Subnets",
                             "InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"),
    "AWS::EC2::SecurityGroup": _ec2("describe_security_groups", "GroupIds", "SecurityGroups",
                                    "InvalidGroup.NotFound", "InvalidGroupId.Malformed"),
    "AWS::EC2::InternetGateway": _ec2("describe_internet_gateways", "InternetGatewayIds",
                                      "InternetGateways", "InvalidInternetGatewayID.NotFound",
                                      "InvalidInternetGatewayID.Malformed"),
    "AWS::EC2::RouteTable": _ec2("describe_route_tables", "RouteTableIds", "RouteTables",
                                 "InvalidRouteTableID.NotFound", "InvalidRouteTableID.Malformed"),
    "AWS::EC2::VPCEndpoint": _ec2("describe_vpc_endpoints", "VpcEndpointIds", "VpcEndpoints",
                                  "InvalidVpcEndpointId.NotFound",
                                  "InvalidVpcEndpointId.Malformed"),
    "AWS::EC2::VPCGatewayAttachment": _gateway_attachment,
    "AWS::EC2::Route": _route,
    "AWS::EC2::SubnetRouteTableAssociation": _route_table_association,
    "AWS::EC2::Instance": _instance,
    "AWS::EC2::EIP": _eip,
    "AWS::EC2::NatGateway": _nat_gateway,
    "AWS::EC2::LaunchTemplate": _launch_template,
    "AWS::S3::Bucket": _bucket,
    "AWS::IAM::Role": _simple("iam", "get_role", "RoleName", "NoSuchEntity"),
    "AWS::IAM::InstanceProfile": _simple("iam", "get_instance_profile", "InstanceProfileName",
                                         "NoSuchEntity"),
    "AWS::Logs::LogGroup": _log_group,
    "AWS::SecretsManager::Secret": _simple("secretsmanager", "describe_secret", "SecretId",
                                           "ResourceNotFoundException"),
    "AWS::CloudWatch::Alarm": _simple("cloudwatch", "describe_alarms", "AlarmNames",
                                      key="MetricAlarms", as_list=True),
    "AWS::RDS::DBInstance": _simple("rds", "describe_db_instances", "DBInstanceIdentifier",
                                    "DBInstanceNotFound", "DBInstanceNotFoundFault",
                                    "InvalidParameterValue", key="DBInstances"),
    "AWS::RDS::DBSubnetGroup": _simple("rds", "describe_db_subnet_groups", "DBSubnetGroupName",
                                       "DBSubnetGroupNotFoundFault", key="DBSubnetGroups"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _by_arn(
        "elbv2", "describe_load_balancers", "LoadBalancerArns", "LoadBalancers",
        "LoadBalancerNotFound"),
    "AWS::ElasticLoadBalancingV2::TargetGroup": _by_arn(
        "elbv2", "describe_target_groups", "TargetGroupArns", "TargetGroups",
        "TargetGroupNotFound"),
    "AWS::ElasticLoadBalancingV2::Listener": _by_arn(
        "elbv2", "describe_listeners", "ListenerArns", "Listeners", "ListenerNotFound"),
    "AWS::ElasticLoadBalancingV2::ListenerRule": _by_arn(
        "elbv2", "describe_rules", "RuleArns", "Rules", "RuleNotFound"),
    "AWS::AutoScaling::AutoScalingGroup": _simple(
        "autoscaling", "describe_auto_scaling_groups", "AutoScalingGroupNames",
        key="AutoScalingGroups", as_list=True),
    "AWS::AutoScaling::LaunchConfiguration": _simple(
        "autoscaling", "describe_launch_configurations", "LaunchConfigurationNames",
        key="LaunchConfigurations", as_list=True),
    "AWS::AutoScaling::ScalingPolicy": _simple(
        "autoscaling", "describe_policies", "PolicyNames", "ValidationError",
        key="ScalingPolicies", as_list=True),
    "AWS::ElastiCache::CacheCluster": _simple(
        "elasticache", "describe_cache_clusters", "CacheClusterId", "CacheClusterNotFound",
        "InvalidParameterValue", key="CacheClusters"),
    "AWS::ElastiCache::ReplicationGroup": _simple(
        "elasticache", "describe_replication_groups", "ReplicationGroupId",
        "ReplicationGroupNotFoundFault", "InvalidParameterValue", key="ReplicationGroups"),
    "AWS::ElastiCache::SubnetGroup": _simple(
        "elasticache", "describe_cache_subnet_groups", "CacheSubnetGroupName",
        "CacheSubnetGroupNotFoundFault", key="CacheSubnetGroups"),
    "AWS::CodeDeploy::Application": _simple(
        "codedeploy", "get_application", "applicationName", "ApplicationDoesNotExistException"),
    "AWS::CodeDeploy::DeploymentGroup": _deployment_group,
    "AWS::WAFv2::WebACL": _web_acl,
    "AWS::WAFv2::WebACLAssociation": _web_acl_association,
}


def check_resources(connection: CloudConnection,
                    resources: list[DeployedResource]) -> list[ResourceCheck]:
    """Each resource its deployment marks complete, checked in its own service."""
    checks: list[ResourceCheck] = []
    for resource in resources:
        if resource.status not in COMPLETE:
            continue
        check = CHECKS.get(resource.resource_type)
        if check is None:
            checks.append(ResourceCheck(resource, None, "no check for this type"))
            continue
        if not resource.physical_id:
            checks.append(ResourceCheck(resource, False, "complete without a physical id"))
            continue
        try:
            check(connection, resource, resources)
        except _Missing as exc:
            checks.append(ResourceCheck(resource, False, str(exc)))
        except _Unknown as exc:
            checks.append(ResourceCheck(resource, None, str(exc)))
        except (ClientError, BotoCoreError) as exc:
            checks.append(ResourceCheck(resource, None, f"could not check: {exc}"))
        else:
            checks.append(ResourceCheck(resource, True, "described by its service"))
    return checks


def unbacked_resources(connection: CloudConnection,
                       resources: list[DeployedResource]) -> list[ResourceCheck]:
    """The resources marked complete that their service does not have: records only."""
    return [c for c in check_resources(connection, resources) if c.exists is False]
