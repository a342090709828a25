"""Real-world CloudFormation templates on the embedded cloud: which launch, which fail and how
readably, and whether destroy and sweep leave anything behind.

    python bench/cfn_corpus.py DIR [--json] [--deadline-s 30] [--keep-dir D] [--only NAME ...]
    python bench/cfn_corpus.py --gather REPO DIR

DIR holds templates (`*.yaml`, `*.yml`, `*.json`, `*.template`, searched recursively). `--gather`
copies SELECTION, the public sample templates this bench was measured on, out of a checkout of
github.com/aws-cloudformation/aws-cloudformation-templates into DIR; nothing of them is kept in
this repository.

Each template goes through the portal's own path, on an emulator of its own (a fresh data dir):
its parameters without a Default get dummy values derived from their Type, AllowedValues,
AllowedPattern and length and value bounds, and for a plain String that names an existing
resource (`SubnetId`, `KeyName`, `...CertificateArn`, `...Endpoint`) from its name: ids of the
emulator's default VPC and its subnets, and a key pair, an ACM certificate and an SQS queue made
for the run. `CloudFormationEngine.create` makes the stack with the environment's tags and
streams its events; what the events and the stack's resources name becomes the environment's
`OwnedResources`, as `ownership.created_resources` reads them from the history; then the stack's
buckets are emptied, `CloudFormationEngine.destroy` deletes it and `Sweeper.sweep` removes what
still carries the tag. Whatever is left is counted twice over: what `Sweeper.find` still finds
by the environment's tag, and what the emulator's list APIs show that was not there before the
template ran (tagged or not).

Prints a JSON table (one row per template) and the totals: launched; failed cleanly (with the
reason's first words); failed unreadably (an HTTP 500, a response botocore could not parse, a
Python exception for a reason); left resources; launched stacks' resources without a physical
id; the slowest create.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from services.clouds import embedded
from services.clouds.aws_calls import AWS_ERRORS
from services.context import PortalContext
from services.engines.base import DeploymentRef, OperationResult, ResourceEvent
from services.engines.cloudformation_engine import CloudFormationEngine
from services.engines.resource_types import cloudformation_type
from services.ownership import OwnedResources
from services.render_service import portal_tags
from services.settings import Settings
from services.template_model import load_template

# Public sample templates across the service families students meet, as paths in
# aws-cloudformation/aws-cloudformation-templates (main, 2025).
SELECTION: tuple[str, ...] = (
    # EC2
    "EC2/EC2InstanceWithSecurityGroupSample.yaml",
    "EC2/EC2_Instance_With_Ephemeral_Drives.yaml",
    "EC2/EIP_With_Association.yaml",
    "EC2/InstanceWithCfnInit.yaml",
    "EC2/SingleENIwithMultipleEIPs.yaml",
    "EC2/ec2_with_waitcondition_template.yaml",
    "Solutions/TaggingRootVolumesInEC2/Tagging_Root_volume.yaml",
    "Solutions/OperatingSystems/RHEL9_cfn-hup.yaml",
    "Solutions/OperatingSystems/Ubuntu22.04_cfn-hup.yaml",
    "Solutions/OperatingSystems/ubuntu20.04_cfn-hup.yaml",
    # VPC
    "VPC/FindInMapAZs.yaml",
    "VPC/VPC_EC2_Instance_With_Multiple_Static_IPAddresses.yaml",
    "VPC/VPC_With_Managed_NAT_And_Private_Subnet.yaml",
    "Solutions/VPCFlowLogs/templates/VPCFlowLogsCloudWatch.cfn.yaml",
    "Solutions/VPCFlowLogs/templates/VPCFlowLogsS3.cfn.yaml",
    "Solutions/CloudFormationEndpointSignals/cfn-endpoint-creationpolicy.yaml",
    "Solutions/CloudFormationEndpointSignals/cfn-endpoint-creationpolicy-no-igw.yaml",
    "Solutions/CloudFormationEndpointSignals/cfn-endpoint-waitcondition.yaml",
    "Solutions/CloudFormationEndpointSignals/cfn-endpoint-waitcondition-no-igw.yaml",
    "Solutions/VPCPeering/templates/VPCPeering-Requester-Setup.cfn.yaml",
    # Auto Scaling
    "AutoScaling/AutoScalingMultiAZWithNotifications.yaml",
    "AutoScaling/AutoScalingRollingUpdates.yaml",
    "AutoScaling/AutoScalingScheduledAction.yaml",
    # Elastic Load Balancing
    "ElasticLoadBalancing/ELBGuidedAutoScalingRollingUpgrade.yaml",
    "ElasticLoadBalancing/ELBStickinessSample.yaml",
    "ElasticLoadBalancing/ELBWithLockedDownAutoScaledInstances.yaml",
    "ElasticLoadBalancing/ELB_Access_Logs_And_Connection_Draining.yaml",
    "ElasticLoadBalancing/NetworkLoadBalancerWithEIPs.yaml",
    # RDS
    "RDS/RDS_MySQL_With_Read_Replica.yaml",
    "RDS/RDS_PIOPS.yaml",
    "RDS/RDS_Snapshot_On_Delete.yaml",
    "RDS/RDS_with_DBParameterGroup.yaml",
    # S3
    "S3/S3_LambdaTrigger.yaml",
    "S3/compliant-bucket.yaml",
    "S3/compliant-static-website.yaml",
    "S3/s3-bucket-and-policy-for-caa-v1.yaml",
    "Solutions/S3CrossAccountReplicationWithKMS/templates/destination.yaml",
    # SQS, SNS
    "SQS/SQSFIFOQueue.yaml",
    "SQS/SQSStandardQueue.yaml",
    "SNS/SNSTopic.yaml",
    # Lambda
    "Lambda/LambdaSample.yaml",
    "APIGateway/apigateway_lambda_integration.yaml",
    "IoT/lambda-iot-topicrule.yaml",
    # DynamoDB
    "DynamoDB/DynamoDB_Secondary_Indexes.yaml",
    "DynamoDB/DynamoDB_Table.yaml",
    "CloudFormation/fn-foreach-ddb.yaml",
    # ElastiCache
    "ElastiCache/Elasticache-snapshot.yaml",
    # Several services
    "Solutions/WebApp/webapp.yaml",
    "Solutions/Gitea/Gitea.yaml",
    "Solutions/GitLab/GitLabServer.yaml",
    "Solutions/VSCode/VSCodeServer.yaml",
    "Solutions/GitLabAndVSCode/GitLabAndVSCode.yaml",
    # The same three solutions as Rain packaged them: the ones above are Rain sources, whose
    # modules (`Type: {Fn::Rain::Module: ...}`) CloudFormation itself refuses.
    "Solutions/Gitea/Gitea-pkg.yaml",
    "Solutions/GitLab/GitLabServer-pkg.yaml",
    "Solutions/VSCode/VSCodeServer-pkg.yaml",
    "Solutions/CloudFrontCustomOriginLambda@Edge/CloudFront.yaml",
    "ECS/FargateLaunchType/clusters/public-vpc.yaml",
    "ECS/EC2LaunchType/clusters/public-vpc.yaml",
    "EFS/efs_with_automount_to_ec2.yaml",
    "Config/Config.yaml",
    "CloudWatch/CloudWatch_Dashboard_NAT_FlowLogs.yaml",
    "DataFirehose/DataFirehoseDeliveryStream.yaml",
    "Solutions/CodeBuildAndCodePipeline/cloudformation-codebuild-template.yaml",
)

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
AMI = "ami-0d27e0fb3bac4d724"  # one of moto's own images
# A failure whose reason is one of these is not one a student can act on: the emulator's HTTP 500
# page, a response botocore could not parse, or a Python exception standing for the reason.
UNREADABLE = re.compile(
    r"ResponseParserError|Unable to parse response|Traceback|InternalFailure|InternalError|"
    r"object has no attribute|ScalarNode|\b(?:AttributeError|KeyError|TypeError|ValueError|"
    r"IndexError|NameError|NotImplementedError|AssertionError|RecursionError|"
    r"UnboundLocalError|ZeroDivisionError|JSONDecodeError|ParamValidationError)\b")
REASON_WORDS = 12


@dataclass
class Outcome:
    template: str
    outcome: str  # launched | failed | unreadable
    reason: str | None = None
    create_s: float = 0.0
    left: list[str] = field(default_factory=list)
    without_physical_id: list[str] = field(default_factory=list)


# -- dummy parameter values -----------------------------------------------------------------------
@dataclass(frozen=True)
class Placeholders:
    """What the emulator holds that a template's parameters may name."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_id: str
    key_name: str
    text_parameter: str
    image_parameter: str
    hosted_zone_id: str
    certificate_arn: str
    queue_arn: str


def prepare_placeholders(ctx: PortalContext) -> Placeholders:
    ec2 = ctx.connection.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    group = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": ["default"]},
    ])["SecurityGroups"][0]
    key_name = "corpus-key"
    if not ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [key_name]}])["KeyPairs"]:
        ec2.create_key_pair(KeyName=key_name)
    ssm = ctx.connection.client("ssm")
    ssm.put_parameter(Name="/corpus/text", Value="corpus", Type="String", Overwrite=True)
    ssm.put_parameter(Name="/corpus/ami", Value=AMI, Type="String", Overwrite=True)
    sqs = ctx.connection.client("sqs")
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="corpus-queue")["QueueUrl"],
        AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    certificate = ctx.connection.client("acm").request_certificate(
        DomainName="corpus.example.com")["CertificateArn"]
    zone = ctx.connection.client("route53").create_hosted_zone(
        Name="corpus.example.com", CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
    by_zone = {s["AvailabilityZone"]: s["SubnetId"] for s in subnets["Subnets"]}
    return Placeholders(
        vpc_id=vpc["VpcId"],
        # In the zones the zone placeholders name, so subnets and zones of a template agree.
        subnet_ids=tuple(by_zone[f"us-east-1{zone}"] for zone in "abcd"),
        security_group_id=group["GroupId"], key_name=key_name, text_parameter="/corpus/text",
        image_parameter="/corpus/ami", hosted_zone_id=zone.rsplit("/", 1)[-1],
        certificate_arn=certificate, queue_arn=queue_arn)


# Plausible values tried, in order, against a String parameter's pattern and length bounds.
STRING_CANDIDATES = (
    "sandbox", "10.0.0.0/16", "0.0.0.0/0", "10.0.1.0/24", "admin", "Sandbox1234",
    "sandbox-corpus", "Passw0rd1234", "sandbox@example.com", "example.com", "corpus.example.com",
    "t3.micro", "1", "10", "a", "us-east-1",
)


def _minimal_match(pattern: str) -> str | None:
    """A short string the regular expression `pattern` matches, built from its parse tree."""
    try:
        tree = sre_parse.parse(pattern)
    except re.error:
        return None
    categories = {sre_parse.CATEGORY_DIGIT: "0", sre_parse.CATEGORY_WORD: "a",
                  sre_parse.CATEGORY_SPACE: " ", sre_parse.CATEGORY_NOT_DIGIT: "a",
                  sre_parse.CATEGORY_NOT_WORD: "-", sre_parse.CATEGORY_NOT_SPACE: "a"}

    def build(items: Iterable[tuple[Any, Any]]) -> str:
        text = ""
        for op, arg in items:
            if op is sre_parse.LITERAL:
                text += chr(arg)
            elif op is sre_parse.ANY:
                text += "a"
            elif op is sre_parse.IN:
                text += one_of(arg)
            elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
                low, _, sub = arg
                text += build(sub) * low
            elif op is sre_parse.SUBPATTERN:
                text += build(arg[-1])
            elif op is sre_parse.BRANCH:
                text += build(arg[1][0])
        return text

    def one_of(choices: list[tuple[Any, Any]]) -> str:
        for op, arg in choices:
            if op is sre_parse.NEGATE:
                return "a"
            if op is sre_parse.LITERAL:
                return chr(arg)
            if op is sre_parse.RANGE:
                return chr(arg[0])
            if op is sre_parse.CATEGORY:
                return categories.get(arg, "a")
        return "a"

    return build(tree)


def _string_value(spec: dict[str, Any]) -> str:
    pattern = spec.get("AllowedPattern")
    try:
        re.compile(str(pattern))
    except re.error:
        pattern = None  # Java's regular expressions, which CloudFormation uses, are not Python's
    low = int(spec.get("MinLength", 0) or 0)
    high = int(spec.get("MaxLength", 4096) or 4096)

    def fits(value: str) -> bool:
        return low <= len(value) <= high and (
            pattern is None or re.fullmatch(str(pattern), value) is not None)

    for candidate in STRING_CANDIDATES:
        if fits(candidate):
            return candidate
    built = _minimal_match(str(pattern)) if pattern else "sandbox"
    if built is not None and len(built) < low and built:
        built = (built * (low // len(built) + 1))[: max(low, len(built))]
    return built if built is not None else "sandbox"


def dummy_value(spec: dict[str, Any], places: Placeholders) -> str:
    """A value CloudFormation would accept for a parameter declared by `spec`."""
    kind = str(spec.get("Type", "String"))
    allowed = spec.get("AllowedValues")
    if allowed:
        return str(allowed[0])
    if kind.startswith("AWS::SSM::Parameter::Value<"):
        return places.image_parameter if "Image" in kind else places.text_parameter
    if kind == "AWS::SSM::Parameter::Name":
        return places.text_parameter
    fixed = {
        "AWS::EC2::KeyPair::KeyName": places.key_name,
        "AWS::EC2::VPC::Id": places.vpc_id,
        "AWS::EC2::Subnet::Id": places.subnet_ids[0],
        "List<AWS::EC2::Subnet::Id>": ",".join(places.subnet_ids),
        "List<AWS::EC2::VPC::Id>": places.vpc_id,
        "AWS::EC2::SecurityGroup::Id": places.security_group_id,
        "List<AWS::EC2::SecurityGroup::Id>": places.security_group_id,
        "AWS::EC2::AvailabilityZone::Name": "us-east-1a",
        "List<AWS::EC2::AvailabilityZone::Name>": "us-east-1a,us-east-1b,us-east-1c,us-east-1d",
        "AWS::EC2::Image::Id": AMI,
        "AWS::Route53::HostedZone::Id": places.hosted_zone_id,
        "certificate ARN": places.certificate_arn,
        "certificate id": places.certificate_arn.rsplit("/", 1)[-1],
        "queue ARN": places.queue_arn,
        "List<Number>": "1,2",
        "CommaDelimitedList": "sandbox,corpus",
    }
    if kind in fixed:
        return fixed[kind]
    if kind == "Number":
        low = spec.get("MinValue")
        return str(low if low is not None else 1)
    return _string_value(spec)


# A String parameter that names an existing resource by its id says so only in its name.
NAMED_IDS: tuple[tuple[str, str], ...] = (
    ("subnets", "List<AWS::EC2::Subnet::Id>"), ("subnet", "AWS::EC2::Subnet::Id"),
    ("securitygroup", "AWS::EC2::SecurityGroup::Id"), ("keyname", "AWS::EC2::KeyPair::KeyName"),
    ("keypair", "AWS::EC2::KeyPair::KeyName"), ("vpcid", "AWS::EC2::VPC::Id"),
    ("amiid", "AWS::EC2::Image::Id"), ("imageid", "AWS::EC2::Image::Id"),
    ("endpoint", "queue ARN"), ("certificateidentifier", "certificate id"),
    ("certificateid", "certificate id"),
    ("certificate", "certificate ARN"),
)


def _named_type(name: str, spec: dict[str, Any]) -> str:
    kind = str(spec.get("Type", "String"))
    if kind not in ("String", "CommaDelimitedList") or spec.get("AllowedValues"):
        return kind
    lowered = name.lower().replace("_", "")
    for fragment, named in NAMED_IDS:
        if fragment in lowered and "cidr" not in lowered:
            return named
    return kind


def dummy_parameters(template: dict[str, Any], places: Placeholders) -> list[dict[str, str]]:
    """Values for the parameters CloudFormation would ask for: those without a Default."""
    return [{"ParameterKey": name,
             "ParameterValue": dummy_value({**(spec or {}),
                                            "Type": _named_type(name, spec or {})}, places)}
            for name, spec in (template.get("Parameters") or {}).items()
            if "Default" not in (spec or {})]


# -- the emulator's inventory ---------------------------------------------------------------------
def _listing(client_name: str, operation: str, key: str, field_name: str,
             keep: Callable[[dict[str, Any]], bool] = lambda item: True,
             **request: Any) -> Callable[[PortalContext], set[str]]:
    def listed(ctx: PortalContext) -> set[str]:
        client = ctx.connection.client(client_name)
        if client.can_paginate(operation):
            pages = client.get_paginator(operation).paginate(**request)
        else:
            pages = [getattr(client, operation)(**request)]
        found = set()
        for page in pages:
            for item in page.get(key, []):
                if isinstance(item, str):
                    found.add(item)
                elif keep(item):
                    found.add(str(item.get(field_name)))
        return found
    return listed


def _instances(ctx: PortalContext) -> set[str]:
    pages = ctx.connection.client("ec2").get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name",
                  "Values": ["pending", "running", "stopping", "stopped"]}])
    return {i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"]}


def _distributions(ctx: PortalContext) -> set[str]:
    listed = ctx.connection.client("cloudfront").list_distributions()["DistributionList"]
    return {d["Id"] for d in listed.get("Items") or []}


def _customer_keys(ctx: PortalContext) -> set[str]:
    """Keys a template may have made: not the AWS-managed ones (`aws/ebs`, made by EC2 on first
    use and kept), nor those whose deletion is scheduled, which is how KMS deletes."""
    kms = ctx.connection.client("kms")
    # moto makes `aws/ebs` as a customer key; its alias says whose it is.
    aws_managed = {alias.get("TargetKeyId") for page in kms.get_paginator("list_aliases").paginate()
                   for alias in page["Aliases"] if alias["AliasName"].startswith("alias/aws/")}
    keys = set()
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            described = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if key["KeyId"] not in aws_managed and described.get("KeyManager") == "CUSTOMER" \
                    and described.get("KeyState") != "PendingDeletion":
                keys.add(key["KeyId"])
    return keys


# Groups AWS makes on first use and keeps for the account: `default_elb_...` for classic load
# balancers in the default VPC declared without one, `ElasticMapReduce-...` for EMR clusters.
AWS_KEPT_GROUPS = ("default_elb_", "ElasticMapReduce-")


def _not_default(item: dict[str, Any]) -> bool:
    return not item.get("IsDefault") and not item.get("DefaultForAz") and \
        item.get("GroupName") != "default" and \
        not str(item.get("GroupName", "")).startswith(AWS_KEPT_GROUPS)


# Kind -> what the emulator lists of it now. Their difference before and after one template is
# what that template left, tagged or not.
INVENTORY: dict[str, Callable[[PortalContext], set[str]]] = {
    "AWS::EC2::Instance": _instances,
    "AWS::EC2::VPC": _listing("ec2", "describe_vpcs", "Vpcs", "VpcId", _not_default),
    "AWS::EC2::Subnet": _listing("ec2", "describe_subnets", "Subnets", "SubnetId", _not_default),
    "AWS::EC2::SecurityGroup": _listing("ec2", "describe_security_groups", "SecurityGroups",
                                        "GroupId", _not_default),
    "AWS::EC2::InternetGateway": _listing("ec2", "describe_internet_gateways",
                                          "InternetGateways", "InternetGatewayId"),
    "AWS::EC2::RouteTable": _listing(
        "ec2", "describe_route_tables", "RouteTables", "RouteTableId",
        lambda t: not any(a.get("Main") for a in t.get("Associations", []))),
    "AWS::EC2::NatGateway": _listing("ec2", "describe_nat_gateways", "NatGateways",
                                     "NatGatewayId",
                                     lambda n: n.get("State") not in ("deleted", "deleting")),
    "AWS::EC2::EIP": _listing("ec2", "describe_addresses", "Addresses", "AllocationId"),
    "AWS::EC2::NetworkInterface": _listing("ec2", "describe_network_interfaces",
                                           "NetworkInterfaces", "NetworkInterfaceId"),
    "AWS::EC2::Volume": _listing("ec2", "describe_volumes", "Volumes", "VolumeId",
                                 lambda v: v.get("State") != "deleted"),
    "AWS::EC2::LaunchTemplate": _listing("ec2", "describe_launch_templates", "LaunchTemplates",
                                         "LaunchTemplateId"),
    "AWS::EC2::VPCEndpoint": _listing("ec2", "describe_vpc_endpoints", "VpcEndpoints",
                                      "VpcEndpointId",
                                      lambda e: str(e.get("State")).lower() != "deleted"),
    "AWS::EC2::FlowLog": _listing("ec2", "describe_flow_logs", "FlowLogs", "FlowLogId"),
    "AWS::EC2::VPCPeeringConnection": _listing(
        "ec2", "describe_vpc_peering_connections", "VpcPeeringConnections",
        "VpcPeeringConnectionId",
        lambda p: p.get("Status", {}).get("Code") not in ("deleted", "rejected")),
    "AWS::EC2::NetworkAcl": _listing("ec2", "describe_network_acls", "NetworkAcls",
                                     "NetworkAclId", lambda a: not a.get("IsDefault")),
    "AWS::EC2::TransitGateway": _listing("ec2", "describe_transit_gateways", "TransitGateways",
                                         "TransitGatewayId",
                                         lambda g: g.get("State") != "deleted"),
    "AWS::EC2::VPNGateway": _listing("ec2", "describe_vpn_gateways", "VpnGateways",
                                     "VpnGatewayId", lambda g: g.get("State") != "deleted"),
    "AWS::AutoScaling::AutoScalingGroup": _listing(
        "autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups",
        "AutoScalingGroupName"),
    "AWS::AutoScaling::LaunchConfiguration": _listing(
        "autoscaling", "describe_launch_configurations", "LaunchConfigurations",
        "LaunchConfigurationName"),
    "AWS::ElasticLoadBalancing::LoadBalancer": _listing(
        "elb", "describe_load_balancers", "LoadBalancerDescriptions", "LoadBalancerName"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _listing(
        "elbv2", "describe_load_balancers", "LoadBalancers", "LoadBalancerArn"),
    "AWS::ElasticLoadBalancingV2::TargetGroup": _listing(
        "elbv2", "describe_target_groups", "TargetGroups", "TargetGroupArn"),
    "AWS::RDS::DBInstance": _listing("rds", "describe_db_instances", "DBInstances",
                                     "DBInstanceIdentifier"),
    "AWS::RDS::DBSubnetGroup": _listing("rds", "describe_db_subnet_groups", "DBSubnetGroups",
                                        "DBSubnetGroupName"),
    "AWS::RDS::DBParameterGroup": _listing(
        "rds", "describe_db_parameter_groups", "DBParameterGroups", "DBParameterGroupName",
        lambda g: not str(g.get("DBParameterGroupName")).startswith("default.")),
    "AWS::ElastiCache::CacheCluster": _listing("elasticache", "describe_cache_clusters",
                                               "CacheClusters", "CacheClusterId"),
    "AWS::ElastiCache::ReplicationGroup": _listing(
        "elasticache", "describe_replication_groups", "ReplicationGroups", "ReplicationGroupId"),
    "AWS::S3::Bucket": _listing("s3", "list_buckets", "Buckets", "Name"),
    "AWS::SQS::Queue": _listing("sqs", "list_queues", "QueueUrls", ""),
    "AWS::SNS::Topic": _listing("sns", "list_topics", "Topics", "TopicArn"),
    "AWS::Lambda::Function": _listing("lambda", "list_functions", "Functions", "FunctionName"),
    "AWS::DynamoDB::Table": _listing("dynamodb", "list_tables", "TableNames", ""),
    "AWS::IAM::Role": _listing("iam", "list_roles", "Roles", "RoleName"),
    "AWS::IAM::InstanceProfile": _listing("iam", "list_instance_profiles", "InstanceProfiles",
                                          "InstanceProfileName"),
    "AWS::IAM::ManagedPolicy": _listing("iam", "list_policies", "Policies", "Arn", Scope="Local"),
    "AWS::IAM::User": _listing("iam", "list_users", "Users", "UserName"),
    "AWS::IAM::Group": _listing("iam", "list_groups", "Groups", "GroupName"),
    "AWS::Logs::LogGroup": _listing("logs", "describe_log_groups", "logGroups", "logGroupName"),
    "AWS::CloudWatch::Alarm": _listing("cloudwatch", "describe_alarms", "MetricAlarms",
                                       "AlarmName"),
    "AWS::KMS::Key": _customer_keys,
    "AWS::SecretsManager::Secret": _listing("secretsmanager", "list_secrets", "SecretList",
                                            "ARN"),
    "AWS::ECS::Cluster": _listing("ecs", "list_clusters", "clusterArns", ""),
    "AWS::EFS::FileSystem": _listing("efs", "describe_file_systems", "FileSystems",
                                     "FileSystemId"),
    "AWS::Events::Rule": _listing("events", "list_rules", "Rules", "Name"),
    "AWS::ApiGateway::RestApi": _listing("apigateway", "get_rest_apis", "items", "id"),
    "AWS::CloudFront::Distribution": _distributions,
    "AWS::Route53::HostedZone": _listing("route53", "list_hosted_zones", "HostedZones", "Id"),
}
# Not listed: SSM parameters. moto holds AWS's public catalogue (/aws/service/..., thousands of
# parameters) once a template reads from it, and paging through it takes most of a minute.


def inventory(ctx: PortalContext) -> set[str]:
    """Everything the emulator lists, as `kind id`; a kind the emulator has no API for is
    skipped."""
    found: set[str] = set()
    for kind, listed in INVENTORY.items():
        try:
            ids = listed(ctx)
        except (*AWS_ERRORS, KeyError, NotImplementedError):
            continue
        found |= {f"{kind} {resource_id}" for resource_id in ids}
    return found


# -- one template ---------------------------------------------------------------------------------
def classify(reason: str) -> str:
    return "unreadable" if UNREADABLE.search(reason) else "failed"


def first_words(reason: str | None, count: int = REASON_WORDS) -> str:
    return " ".join((reason or "").split()[:count])


def run_template(ctx: PortalContext, path: Path, *, name: str, places: Placeholders,
                 deadline_s: float) -> Outcome:
    engine = CloudFormationEngine(ctx.connection)
    env_id = uuid.uuid4().hex[:10]
    stack_name = f"sbx-{env_id}"
    before = inventory(ctx)
    body = path.read_text()
    events: list[ResourceEvent] = []
    try:
        parameters = dummy_parameters(load_template(body), places)
    except Exception as exc:  # noqa: BLE001 - a template the portal cannot read fails here
        return Outcome(name, "failed", f"template not readable: {exc}")
    started = time.monotonic()
    try:
        result = engine.create(
            stack_name=stack_name, template_body=body, parameters=parameters,
            tags=portal_tags(env_id=env_id, owner="corpus", template_id=name),
            deadline=started + deadline_s, on_events=events.extend)
    except AWS_ERRORS as exc:
        result = OperationResult(succeeded=False, error=f"{type(exc).__name__}: {exc}")
    create_s = time.monotonic() - started
    outcome = Outcome(name, "launched", create_s=round(create_s, 3))
    ref = DeploymentRef(env_id=env_id, deployment_name=stack_name,
                        deployment_id=result.deployment_id)
    try:
        listed = engine.resources(ref)
    except AWS_ERRORS:
        listed = []
    if result.succeeded:
        outcome.without_physical_id = sorted(
            f"{r.logical_id} ({r.resource_type})" for r in listed if not r.physical_id)
    else:
        outcome.reason = result.error or "failed"
        outcome.outcome = classify(outcome.reason)
        if create_s > deadline_s:
            outcome.reason = f"slower than {deadline_s:.0f} s: {outcome.reason}"

    # What the portal holds for ownership: the launch's CREATE_* events with physical ids, the
    # stack itself, and the stack's resource list while it exists.
    records = [(cloudformation_type(e.resource_type), e.physical_id) for e in events
               if e.status.startswith("CREATE_") and e.physical_id]
    records.append((engine.deployment_type, result.deployment_id))
    records += [(cloudformation_type(r.resource_type), r.physical_id) for r in listed]
    owned = OwnedResources.of(records, deployment_listed=bool(listed))
    ctx.sweeper.empty_buckets([r.physical_id for r in listed
                               if r.resource_type == "AWS::S3::Bucket" and r.physical_id])
    destroy_deadline = time.monotonic() + deadline_s
    deletion = engine.destroy(ref, deadline=destroy_deadline, on_events=lambda e: None)
    swept = ctx.sweeper.sweep(env_id, owned=owned, deadline=destroy_deadline, pause=0.2)
    after = inventory(ctx)
    outcome.left = sorted({str(r) for r in swept} | {str(r) for r in ctx.sweeper.find(env_id)}
                          | (after - before))
    if not deletion.succeeded and not outcome.left:
        outcome.left = [f"stack {stack_name}: {deletion.error}"]
    return outcome


def templates_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in TEMPLATE_SUFFIXES and p.is_file())


def gather(repository: Path, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    copied = []
    for relative in SELECTION:
        source = repository / relative
        if not source.is_file():
            print(f"missing from the checkout: {relative}", file=sys.stderr)
            continue
        target = directory / relative.replace("/", "__")
        shutil.copyfile(source, target)
        copied.append(target)
    return copied


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    counts = Counter(o.outcome for o in outcomes)
    reasons = Counter(first_words(o.reason, 6) for o in outcomes if o.outcome != "launched")
    launched = [o for o in outcomes if o.outcome == "launched"]
    return {
        "templates": len(outcomes),
        "launched": counts["launched"],
        "failed_cleanly": counts["failed"],
        "failed_unreadably": counts["unreadable"],
        "left_resources": sum(1 for o in outcomes if o.left),
        "launched_with_resources_without_physical_id": sum(
            1 for o in launched if o.without_physical_id),
        "slowest_create_s": max((o.create_s for o in outcomes), default=0.0),
        "failure_reasons": dict(reasons.most_common()),
    }


def run(directory: Path, *, data_dir: Path, deadline_s: float,
        only: list[str] | None = None) -> list[Outcome]:
    settings = Settings(data_dir=data_dir, region="us-east-1",
                        database_url=f"sqlite:///{data_dir}/corpus.db")
    ctx = PortalContext(settings)
    outcomes = []
    try:
        places = prepare_placeholders(ctx)
        for path in templates_in(directory):
            name = str(path.relative_to(directory))
            if only and not any(part in name for part in only):
                continue
            outcome = run_template(ctx, path, name=name, places=places, deadline_s=deadline_s)
            print(f"{outcome.outcome:10} {outcome.create_s:6.2f}s {name}: "
                  f"{first_words(outcome.reason)}" + (f" LEFT {outcome.left}" if outcome.left
                                                      else ""), file=sys.stderr)
            outcomes.append(outcome)
    finally:
        embedded.stop(settings)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path, nargs="?")
    parser.add_argument("--gather", type=Path, metavar="REPO",
                        help="copy SELECTION from this checkout into DIRECTORY, then stop")
    parser.add_argument("--deadline-s", type=float, default=30.0)
    parser.add_argument("--keep-dir", type=Path,
                        help="the emulator's data dir, kept (its log names every failure)")
    parser.add_argument("--only", nargs="*", help="templates whose path contains one of these")
    parser.add_argument("--json", action="store_true", help="the table and totals as JSON only")
    args = parser.parse_args(argv)
    if args.directory is None:
        parser.error("a directory of templates is needed")
    if args.gather:
        copied = gather(args.gather, args.directory)
        print(f"{len(copied)} templates in {args.directory}")
        return 0
    with tempfile.TemporaryDirectory(prefix="sandbox-corpus-") as tmp:
        data_dir = args.keep_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        outcomes = run(args.directory, data_dir=data_dir, deadline_s=args.deadline_s,
                       only=args.only)
    report = {"summary": summary(outcomes), "templates": [asdict(o) for o in outcomes]}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(json.dumps(report["templates"], indent=1))
        print(json.dumps(report["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
