"""Find, and remove, whatever of an environment is left, by its `sandbox:env-id` tag.

Deleting a stack is not proof that its resources are gone: a stack whose delete failed keeps what
it could not delete, a failed rollback leaves what it made, and other emulators than the embedded
one skip deletes outright. Destroy therefore ends with this sweep, in dependency order, repeated
until nothing of the environment's remains or the deadline passes.

The tag finds; it does not prove. Anyone who may tag a resource can put the environment's tag on
their own bucket or database, so the sweep deletes only what this environment's deployment created
(`services.ownership`: the stack's recorded resources, and what they launched). Anything else that
carries the tag is reported, "tagged, not created by this environment", and left for a person to
look at; so is a resource of ours that such a resource holds (a VPC with someone's security group
in it cannot be deleted, and retrying it would only run the sweep into its deadline).

EC2 and RDS resources are found through their own APIs' tag filters, which are exact about state
(a terminated instance still answers). Everything else is found through the tagging API, one call
for every service, and removed by the kind its ARN names (`ARN_KINDS`); an ARN of a kind the sweep
cannot remove is still reported, so nothing is silently left running.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from botocore.exceptions import ClientError

from services.clouds.aws_calls import AWS_ERRORS, none_where_not_implemented

from services.clouds import CloudConnection

if TYPE_CHECKING:
    from services.ownership import OwnedResources

ENV_TAG = "sandbox:env-id"
# Set by Auto Scaling on every instance it launches; tags under `aws:` cannot be set by users.
ASG_NAME_TAG = "aws:autoscaling:groupName"
NOT_CREATED = "tagged, not created by this environment"


@dataclass(frozen=True)
class TaggedResource:
    """One resource found by tag. Only `kind` and `resource_id` make it this resource; the rest is
    what its service said about it when it was found, for judging whether it is ours."""

    kind: str  # a CloudFormation-style type name, for people reading the list
    resource_id: str  # what the sweep deletes it by: an id, a name or an ARN
    # Other ids CloudFormation may know it by: an Elastic IP's public address.
    aliases: tuple[str, ...] = field(default=(), compare=False)
    # The group that made it and whose deletion takes it along, as AWS itself records it: an
    # instance's Auto Scaling group, a cache cluster's replication group, a deployment group's
    # application.
    member_of: str | None = field(default=None, compare=False)
    # The network resources it sits in or points at (VPC, subnets, security groups, DB subnet
    # group): while it stays, those cannot be deleted.
    uses: tuple[str, ...] = field(default=(), compare=False)
    # Why it is still there, when the sweep knows (it is not ours, or something not ours holds it).
    note: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.kind} {self.resource_id}" + (f" ({self.note})" if self.note else "")


SweepLog = Callable[[TaggedResource, str, str | None], None]


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


class Sweeper:
    def __init__(self, connection: CloudConnection) -> None:
        self.connection = connection
        self.ec2 = connection.client("ec2")
        self.rds = connection.client("rds")
        self.tagging = connection.client("resourcegroupstaggingapi")

    # -- finding --------------------------------------------------------------------------------
    def _ec2_filter(self, env_id: str) -> list[dict[str, Any]]:
        return [{"Name": f"tag:{ENV_TAG}", "Values": [env_id]}]

    def find(self, env_id: str) -> list[TaggedResource]:
        """Every resource still carrying the environment's tag, in the order they must go."""
        found: list[TaggedResource] = []
        tag_filter = self._ec2_filter(env_id)

        for page in self.ec2.get_paginator("describe_instances").paginate(Filters=tag_filter + [
            {"Name": "instance-state-name",
             "Values": ["pending", "running", "stopping", "stopped", "shutting-down"]}]):
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                    found.append(TaggedResource(
                        "AWS::EC2::Instance", instance["InstanceId"],
                        member_of=tags.get(ASG_NAME_TAG),
                        uses=_ids(instance.get("VpcId"), instance.get("SubnetId"),
                                  *(g["GroupId"] for g in instance.get("SecurityGroups", [])))))
        found += self._tagged_db_instances(env_id)
        found += self._tagged_db_subnet_groups(env_id)
        for nat in self.ec2.describe_nat_gateways(Filter=tag_filter)["NatGateways"]:
            if nat["State"] not in ("deleted", "deleting"):
                found.append(TaggedResource("AWS::EC2::NatGateway", nat["NatGatewayId"],
                                            uses=_ids(nat.get("VpcId"), nat.get("SubnetId"))))
        for address in self.ec2.describe_addresses(Filters=tag_filter)["Addresses"]:
            found.append(TaggedResource("AWS::EC2::EIP", address["AllocationId"],
                                        aliases=_ids(address.get("PublicIp"))))
        for endpoint in self.ec2.describe_vpc_endpoints(Filters=tag_filter)["VpcEndpoints"]:
            if endpoint.get("State", "").lower() not in ("deleted", "deleting"):
                found.append(TaggedResource(
                    "AWS::EC2::VPCEndpoint", endpoint["VpcEndpointId"],
                    uses=_ids(endpoint.get("VpcId"), *endpoint.get("SubnetIds", []),
                              *(g["GroupId"] for g in endpoint.get("Groups", [])))))
        for gateway in self.ec2.describe_internet_gateways(Filters=tag_filter)["InternetGateways"]:
            found.append(TaggedResource(
                "AWS::EC2::InternetGateway", gateway["InternetGatewayId"],
                uses=_ids(*(a["VpcId"] for a in gateway.get("Attachments", [])))))
        for table in self.ec2.describe_route_tables(Filters=tag_filter)["RouteTables"]:
            if not any(a.get("Main") for a in table.get("Associations", [])):
                found.append(TaggedResource("AWS::EC2::RouteTable", table["RouteTableId"],
                                            uses=_ids(table.get("VpcId"))))
        for subnet in self.ec2.describe_subnets(Filters=tag_filter)["Subnets"]:
            found.append(TaggedResource("AWS::EC2::Subnet", subnet["SubnetId"],
                                        uses=_ids(subnet.get("VpcId"))))
        for template in self.ec2.describe_launch_templates(Filters=tag_filter)["LaunchTemplates"]:
            found.append(TaggedResource("AWS::EC2::LaunchTemplate", template["LaunchTemplateId"]))
        for group in self.ec2.describe_security_groups(Filters=tag_filter)["SecurityGroups"]:
            if group.get("GroupName") != "default":
                # A rule naming another group keeps that group from being deleted.
                named = [pair.get("GroupId")
                         for rule in group.get("IpPermissions", []) +
                         group.get("IpPermissionsEgress", [])
                         for pair in rule.get("UserIdGroupPairs", [])]
                found.append(TaggedResource(
                    "AWS::EC2::SecurityGroup", group["GroupId"],
                    uses=_ids(group.get("VpcId"), *(g for g in named if g != group["GroupId"]))))
        for vpc in self.ec2.describe_vpcs(Filters=tag_filter)["Vpcs"]:
            found.append(TaggedResource("AWS::EC2::VPC", vpc["VpcId"]))
        known = {r.resource_id for r in found}
        # The tagging API does not list Auto Scaling groups, and not every WAF ACL: ask them.
        arns = set(self._tagged_arns(env_id)) | set(self._tagged_auto_scaling_groups(env_id)) | \
            set(self._tagged_web_acls(env_id))
        arns = {arn for arn in arns if not any(rid in arn for rid in known)}
        groups = self._replication_groups_of(
            [arn for arn in arns if arn_kind(arn) == "AWS::ElastiCache::CacheCluster"])
        by_arn = [TaggedResource(arn_kind(arn), arn, member_of=groups.get(arn) or _parent(arn))
                  for arn in sorted(arns)]
        # Services above the network go first: a load balancer or a cache holds subnets and
        # security groups, an Auto Scaling group launches the instances.
        by_arn.sort(key=lambda r: KIND_ORDER.index(r.kind) if r.kind in KIND_ORDER
                    else len(KIND_ORDER))
        return by_arn + found

    @none_where_not_implemented
    def _tagged_db_instances(self, env_id: str) -> list[TaggedResource]:
        found = []
        for page in self.rds.get_paginator("describe_db_instances").paginate():
            for db in page["DBInstances"]:
                tags = db.get("TagList")
                if tags is None:
                    tags = self.rds.list_tags_for_resource(
                        ResourceName=db["DBInstanceArn"])["TagList"]
                if any(t["Key"] == ENV_TAG and t["Value"] == env_id for t in tags) and \
                        db.get("DBInstanceStatus") != "deleting":
                    subnets = db.get("DBSubnetGroup") or {}
                    found.append(TaggedResource("AWS::RDS::DBInstance", db["DBInstanceIdentifier"],
                                                uses=_ids(
                        subnets.get("DBSubnetGroupName"), subnets.get("VpcId"),
                        *(s["SubnetIdentifier"] for s in subnets.get("Subnets", [])),
                        *(g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", [])))))
        return found

    @none_where_not_implemented
    def _tagged_db_subnet_groups(self, env_id: str) -> list[TaggedResource]:
        found = []
        for page in self.rds.get_paginator("describe_db_subnet_groups").paginate():
            for group in page["DBSubnetGroups"]:
                tags = self.rds.list_tags_for_resource(ResourceName=group["DBSubnetGroupArn"])
                if any(t["Key"] == ENV_TAG and t["Value"] == env_id for t in tags["TagList"]):
                    found.append(TaggedResource(
                        "AWS::RDS::DBSubnetGroup", group["DBSubnetGroupName"],
                        uses=_ids(group.get("VpcId"),
                                  *(s["SubnetIdentifier"] for s in group.get("Subnets", [])))))
        return found

    def _replication_groups_of(self, cluster_arns: list[str]) -> dict[str, str]:
        """cache cluster ARN -> the replication group it belongs to, as ElastiCache says."""
        if not cluster_arns:
            return {}
        elasticache = self.connection.client("elasticache")
        groups = {}
        try:
            for page in elasticache.get_paginator("describe_cache_clusters").paginate():
                for cluster in page.get("CacheClusters", []):
                    if cluster.get("ARN") in cluster_arns and cluster.get("ReplicationGroupId"):
                        groups[cluster["ARN"]] = cluster["ReplicationGroupId"]
        except AWS_ERRORS:
            # Without it a member cluster is reported instead of deleted; its group's own
            # deletion still takes it along.
            return {}
        return groups

    @none_where_not_implemented
    def _tagged_auto_scaling_groups(self, env_id: str) -> list[str]:
        autoscaling = self.connection.client("autoscaling")
        paginator = autoscaling.get_paginator("describe_auto_scaling_groups")
        return [group["AutoScalingGroupARN"]
                for page in paginator.paginate(Filters=[{"Name": f"tag:{ENV_TAG}",
                                                         "Values": [env_id]}])
                for group in page["AutoScalingGroups"] if group.get("Status") != "Delete in progress"]

    @none_where_not_implemented
    def _tagged_web_acls(self, env_id: str) -> list[str]:
        wafv2 = self.connection.client("wafv2")
        arns, marker = [], None
        while True:
            page = wafv2.list_web_acls(Scope="REGIONAL", **({"NextMarker": marker} if marker else {}))
            for acl in page.get("WebACLs", []):
                tags = wafv2.list_tags_for_resource(ResourceARN=acl["ARN"]).get(
                    "TagInfoForResource", {}).get("TagList", [])
                if any(t["Key"] == ENV_TAG and t["Value"] == env_id for t in tags):
                    arns.append(acl["ARN"])
            marker = page.get("NextMarker")
            if not marker or not page.get("WebACLs"):
                return arns

    def _tagged_arns(self, env_id: str) -> list[str]:
        """Anything else the tagging API knows; listed as a leftover even when we cannot delete it."""
        arns = []
        try:
            paginator = self.tagging.get_paginator("get_resources")
            for page in paginator.paginate(TagFilters=[{"Key": ENV_TAG, "Values": [env_id]}]):
                arns += [m["ResourceARN"] for m in page.get("ResourceTagMappingList", [])]
        except AWS_ERRORS:
            return []
        # The types handled above are found more exactly by their own APIs.
        handled = (":ec2:", ":rds:")
        return [arn for arn in arns if not any(h in arn for h in handled)]

    # -- removing -------------------------------------------------------------------------------
    def _delete(self, resource: TaggedResource) -> None:
        rid = resource.resource_id
        kind = resource.kind
        if kind == "AWS::EC2::Instance":
            self.ec2.terminate_instances(InstanceIds=[rid])
        elif kind == "AWS::RDS::DBInstance":
            self.rds.delete_db_instance(DBInstanceIdentifier=rid, SkipFinalSnapshot=True,
                                        DeleteAutomatedBackups=True)
        elif kind == "AWS::RDS::DBSubnetGroup":
            self.rds.delete_db_subnet_group(DBSubnetGroupName=rid)
        elif kind == "AWS::EC2::NatGateway":
            self.ec2.delete_nat_gateway(NatGatewayId=rid)
        elif kind == "AWS::EC2::EIP":
            address = self.ec2.describe_addresses(AllocationIds=[rid])["Addresses"][0]
            if address.get("AssociationId"):
                self.ec2.disassociate_address(AssociationId=address["AssociationId"])
            self.ec2.release_address(AllocationId=rid)
        elif kind == "AWS::EC2::InternetGateway":
            gateway = self.ec2.describe_internet_gateways(InternetGatewayIds=[rid])
            for attachment in gateway["InternetGateways"][0].get("Attachments", []):
                self.ec2.detach_internet_gateway(InternetGatewayId=rid, VpcId=attachment["VpcId"])
            self.ec2.delete_internet_gateway(InternetGatewayId=rid)
        elif kind == "AWS::EC2::RouteTable":
            table = self.ec2.describe_route_tables(RouteTableIds=[rid])["RouteTables"][0]
            for association in table.get("Associations", []):
                if not association.get("Main") and association.get("RouteTableAssociationId"):
                    self.ec2.disassociate_route_table(
                        AssociationId=association["RouteTableAssociationId"])
            self.ec2.delete_route_table(RouteTableId=rid)
        elif kind == "AWS::EC2::Subnet":
            self.ec2.delete_subnet(SubnetId=rid)
        elif kind == "AWS::EC2::LaunchTemplate":
            self.ec2.delete_launch_template(LaunchTemplateId=rid)
        elif kind == "AWS::EC2::SecurityGroup":
            self._revoke_references(rid)
            self.ec2.delete_security_group(GroupId=rid)
        elif kind == "AWS::EC2::VPC":
            self.ec2.delete_vpc(VpcId=rid)
        elif kind == "AWS::EC2::VPCEndpoint":
            self.ec2.delete_vpc_endpoints(VpcEndpointIds=[rid])
        elif kind in ARN_DELETERS:
            ARN_DELETERS[kind](self.connection, rid)
        else:
            raise NotImplementedError(f"the sweep cannot delete {kind}; remove it by hand")

    def _revoke_references(self, group_id: str) -> None:
        """Rules that name another group keep both groups alive; drop them first."""
        group = self.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
        ingress = [p for p in group.get("IpPermissions", []) if p.get("UserIdGroupPairs")]
        if not ingress:
            return
        try:
            self.ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=ingress)
        except AWS_ERRORS as exc:
            # A rule naming a group that is already gone cannot be revoked, and holds nothing
            # alive: retrying it would only run the sweep into its deadline.
            if _code(exc) != "InvalidGroup.NotFound":
                raise

    @staticmethod
    def _judged(found: list[TaggedResource], owned: OwnedResources) -> list[TaggedResource]:
        """`found`, with a note on each resource the sweep must leave alone: one this
        environment did not create, and one of ours that such a resource sits in or points at
        (deleting it would fail with DependencyViolation until the deadline)."""
        foreign = [r for r in found if not owned.owns(r)]
        holders: dict[str, TaggedResource] = {}
        for resource in foreign:
            for used in resource.uses:
                holders.setdefault(used, resource)
        not_ours = set(foreign)
        judged = []
        for resource in found:
            if resource in not_ours:
                resource = replace(resource, note=NOT_CREATED)
            elif resource.resource_id in holders:
                holder = holders[resource.resource_id]
                resource = replace(resource, note=f"held by {holder.kind} {holder.resource_id}, "
                                                  "which this environment did not create")
            judged.append(resource)
        return judged

    def empty_buckets(self, buckets: list[str]) -> None:
        """Empty the buckets a stack is about to delete (release bundles, uploads)."""
        s3 = self.connection.client("s3")
        for bucket in buckets:
            try:
                empty_bucket(s3, bucket)
            except AWS_ERRORS as exc:
                if _code(exc) != "NoSuchBucket":
                    raise

    def sweep(self, env_id: str, *, owned: OwnedResources, deadline: float,
              log: SweepLog | None = None, pause: float = 5.0) -> list[TaggedResource]:
        """Delete what `owned` says this environment created and still carries its tag.

        Returns what is still tagged at the end: what could not be removed by the deadline, every
        tagged resource the environment did not create, and what of ours those hold, the last two
        with a note saying so. `owned` must be read before the stack is deleted
        (`ownership.created_resources`): the stack's resource list goes with it.
        """
        unremovable: set[TaggedResource] = set()
        left_alone: set[TaggedResource] = set()
        first_round = True
        while True:
            remaining = self._judged(self.find(env_id), owned)
            for resource in remaining:
                if resource.note and resource not in left_alone:
                    left_alone.add(resource)
                    if log:
                        log(resource, "DELETE_SKIPPED", resource.note)
            # What is held is judged afresh each round: it is ours once its holder has gone.
            retryable = [r for r in remaining if not r.note and r not in unremovable]
            if not retryable:
                return remaining
            if not first_round:
                if time.monotonic() + pause > deadline:
                    return remaining
                time.sleep(pause)
            first_round = False
            for resource in retryable:
                try:
                    self._delete(resource)
                    if log:
                        log(resource, "DELETE_COMPLETE", "removed by the portal's sweep")
                except NotImplementedError as exc:
                    unremovable.add(resource)
                    if log:
                        log(resource, "DELETE_SKIPPED", str(exc))
                except (*AWS_ERRORS, IndexError) as exc:
                    # DependencyViolation and friends clear up once what they wait on is gone;
                    # the next round tries again.
                    if log:
                        log(resource, "DELETE_FAILED", f"{_code(exc) or type(exc).__name__}: {exc}")


# -- resources found by ARN -----------------------------------------------------------------------
# (service, resource prefix) of an ARN -> the CloudFormation type it is, in the order they must go.
ARN_KINDS: tuple[tuple[str, str, str], ...] = (
    ("autoscaling", "autoScalingGroup", "AWS::AutoScaling::AutoScalingGroup"),
    ("codedeploy", "deploymentgroup", "AWS::CodeDeploy::DeploymentGroup"),
    ("codedeploy", "application", "AWS::CodeDeploy::Application"),
    ("elasticloadbalancing", "loadbalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer"),
    # After the load balancer: deleting it lets go of its web ACL, which cannot go while used.
    ("wafv2", "regional/webacl", "AWS::WAFv2::WebACL"),
    ("elasticloadbalancing", "targetgroup", "AWS::ElasticLoadBalancingV2::TargetGroup"),
    ("elasticache", "replicationgroup", "AWS::ElastiCache::ReplicationGroup"),
    ("elasticache", "cluster", "AWS::ElastiCache::CacheCluster"),
    ("elasticache", "subnetgroup", "AWS::ElastiCache::SubnetGroup"),
    ("secretsmanager", "secret", "AWS::SecretsManager::Secret"),
    ("cloudwatch", "alarm", "AWS::CloudWatch::Alarm"),
    ("logs", "log-group", "AWS::Logs::LogGroup"),
    ("s3", "", "AWS::S3::Bucket"),
)
KIND_ORDER: list[str] = [kind for _, _, kind in ARN_KINDS]


def arn_kind(arn: str) -> str:
    """The CloudFormation type an ARN names, or "tagged <service>" when the sweep has no remover."""
    parts = arn.split(":", 5)
    service, resource = (parts[2], parts[5]) if len(parts) == 6 else ("", arn)
    for kind_service, prefix, kind in ARN_KINDS:
        if service == kind_service and resource.startswith(prefix):
            return kind
    return f"tagged {service or 'resource'}"


def _arn_tail(arn: str, separator: str = ":") -> str:
    return arn.rsplit(separator, 1)[-1]


def _ids(*values: str | None) -> tuple[str, ...]:
    return tuple(v for v in values if v)


def _parent(arn: str) -> str | None:
    """The application a deployment group's ARN names (`...:deploymentgroup:APP/GROUP`)."""
    if arn_kind(arn) == "AWS::CodeDeploy::DeploymentGroup":
        return _arn_tail(arn).split("/", 1)[0]
    return None


def _delete_auto_scaling_group(connection: CloudConnection, arn: str) -> None:
    # ForceDelete terminates the group's instances with it, as `delete_stack` would.
    connection.client("autoscaling").delete_auto_scaling_group(
        AutoScalingGroupName=arn.split("autoScalingGroupName/", 1)[-1], ForceDelete=True)


def _delete_deployment_group(connection: CloudConnection, arn: str) -> None:
    application, group = _arn_tail(arn).split("/", 1)
    connection.client("codedeploy").delete_deployment_group(applicationName=application,
                                                            deploymentGroupName=group)


def _delete_codedeploy_application(connection: CloudConnection, arn: str) -> None:
    # Deleting an application deletes its deployment groups.
    connection.client("codedeploy").delete_application(applicationName=_arn_tail(arn))


def _delete_web_acl(connection: CloudConnection, arn: str) -> None:
    wafv2 = connection.client("wafv2")
    _, _, name, acl_id = arn.split(":", 5)[5].split("/", 3)  # arn:...:regional/webacl/NAME/ID
    lock = wafv2.get_web_acl(Name=name, Scope="REGIONAL", Id=acl_id)["LockToken"]
    wafv2.delete_web_acl(Name=name, Scope="REGIONAL", Id=acl_id, LockToken=lock)


def _delete_load_balancer(connection: CloudConnection, arn: str) -> None:
    connection.client("elbv2").delete_load_balancer(LoadBalancerArn=arn)


def _delete_target_group(connection: CloudConnection, arn: str) -> None:
    connection.client("elbv2").delete_target_group(TargetGroupArn=arn)


def _delete_replication_group(connection: CloudConnection, arn: str) -> None:
    connection.client("elasticache").delete_replication_group(
        ReplicationGroupId=_arn_tail(arn), RetainPrimaryCluster=False)


def _delete_cache_cluster(connection: CloudConnection, arn: str) -> None:
    connection.client("elasticache").delete_cache_cluster(CacheClusterId=_arn_tail(arn))


def _delete_cache_subnet_group(connection: CloudConnection, arn: str) -> None:
    connection.client("elasticache").delete_cache_subnet_group(CacheSubnetGroupName=_arn_tail(arn))


def _delete_secret(connection: CloudConnection, arn: str) -> None:
    # Without ForceDeleteWithoutRecovery the secret lingers (and bills) for 7 to 30 days.
    connection.client("secretsmanager").delete_secret(SecretId=arn,
                                                      ForceDeleteWithoutRecovery=True)


def _delete_alarm(connection: CloudConnection, arn: str) -> None:
    connection.client("cloudwatch").delete_alarms(AlarmNames=[_arn_tail(arn)])


def _delete_log_group(connection: CloudConnection, arn: str) -> None:
    name = arn.split(":log-group:", 1)[-1].removesuffix(":*")
    connection.client("logs").delete_log_group(logGroupName=name)


def empty_bucket(s3: Any, bucket: str) -> None:
    """Remove every object version and delete marker: AWS refuses to delete a bucket that holds
    any, and CloudFormation's delete of a stack fails on such a bucket."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


def _delete_bucket(connection: CloudConnection, arn: str) -> None:
    s3 = connection.client("s3")
    bucket = _arn_tail(arn)
    empty_bucket(s3, bucket)
    s3.delete_bucket(Bucket=bucket)


ARN_DELETERS: dict[str, Callable[[CloudConnection, str], None]] = {
    "AWS::AutoScaling::AutoScalingGroup": _delete_auto_scaling_group,
    "AWS::CodeDeploy::DeploymentGroup": _delete_deployment_group,
    "AWS::CodeDeploy::Application": _delete_codedeploy_application,
    "AWS::WAFv2::WebACL": _delete_web_acl,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _delete_load_balancer,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _delete_target_group,
    "AWS::ElastiCache::ReplicationGroup": _delete_replication_group,
    "AWS::ElastiCache::CacheCluster": _delete_cache_cluster,
    "AWS::ElastiCache::SubnetGroup": _delete_cache_subnet_group,
    "AWS::SecretsManager::Secret": _delete_secret,
    "AWS::CloudWatch::Alarm": _delete_alarm,
    "AWS::Logs::LogGroup": _delete_log_group,
    "AWS::S3::Bucket": _delete_bucket,
}
