"""ElastiCache subnet groups, replication groups and clusters made by a stack, seen through
elasticache, gone after delete; and the backend fixes through the API itself."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    NETWORK,
    create_stack,
    delete_stack,
    failing_create,
    launch_stack,
    tagged_arns,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def subnet_group(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::ElastiCache::SubnetGroup", "Properties": {
        "Description": "cache subnets", "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
        **properties}}


def redis_group(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::ElastiCache::ReplicationGroup", "Properties": {
        "ReplicationGroupDescription": "sessions", "Engine": "redis",
        "CacheNodeType": "cache.t3.micro", "NumCacheClusters": 2,
        "AutomaticFailoverEnabled": True, "MultiAZEnabled": "true",
        "AtRestEncryptionEnabled": True, "TransitEncryptionEnabled": True,
        "CacheSubnetGroupName": {"Ref": "Subnets"}, "SecurityGroupIds": [{"Ref": "Web"}],
        "Tags": [{"Key": "team", "Value": "cache"}], **properties}}


ENDPOINTS = {
    "Primary": {"Fn::GetAtt": ["Redis", "PrimaryEndPoint.Address"]},
    "PrimaryPort": {"Fn::GetAtt": ["Redis", "PrimaryEndPoint.Port"]},
    "Reader": {"Fn::GetAtt": ["Redis", "ReaderEndPoint.Address"]},
    "ReaderPort": {"Fn::GetAtt": ["Redis", "ReaderEndPoint.Port"]},
}


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as failure:
        call(**kwargs)
    return str(failure.value.response["Error"]["Code"])


def test_redis_replication_group_in_its_subnet_group_lives_and_dies_with_the_stack(
        ctx: PortalContext) -> None:
    suffix = uuid.uuid4().hex[:8]
    group_id, subnet_name = f"rg-{suffix}", f"Cache-Subnets-{suffix}"
    resources = {"Subnets": subnet_group(CacheSubnetGroupName=subnet_name),
                 "Redis": redis_group(ReplicationGroupId=group_id)}
    stack = launch_stack(ctx, resources, tags={"sandbox:env-id": "cache-test"},
                         outputs=ENDPOINTS)
    assert stack.status == "CREATE_COMPLETE"
    assert stack.ids["Subnets"] == subnet_name.lower(), "ElastiCache keeps names in lowercase"
    assert stack.ids["Redis"] == group_id
    elasticache = ctx.connection.client("elasticache")

    group = elasticache.describe_replication_groups(
        ReplicationGroupId=group_id)["ReplicationGroups"][0]
    assert group["Status"] == "available"
    assert group["Description"] == "sessions"
    assert group["CacheNodeType"] == "cache.t3.micro"
    assert group["AutomaticFailover"] == "enabled" and group["MultiAZ"] == "enabled"
    assert group["AtRestEncryptionEnabled"] and group["TransitEncryptionEnabled"]
    members = group["MemberClusters"]
    assert members == [f"{group_id}-001", f"{group_id}-002"]
    node_group = group["NodeGroups"][0]
    assert stack.outputs["Primary"] == node_group["PrimaryEndpoint"]["Address"]
    assert stack.outputs["Reader"] == node_group["ReaderEndpoint"]["Address"]
    assert stack.outputs["PrimaryPort"] == stack.outputs["ReaderPort"] == "6379"
    assert [m["CurrentRole"] for m in node_group["NodeGroupMembers"]] == ["primary", "replica"]

    clusters = [elasticache.describe_cache_clusters(CacheClusterId=member)["CacheClusters"][0]
                for member in members]
    assert {c["ReplicationGroupId"] for c in clusters} == {group_id}
    assert {c["CacheSubnetGroupName"] for c in clusters} == {subnet_name.lower()}
    assert {c["PreferredAvailabilityZone"] for c in clusters} == {"us-east-1a", "us-east-1b"}
    assert all(c["SecurityGroups"] == [{"SecurityGroupId": stack.ids["Web"], "Status": "active"}]
               for c in clusters)

    subnets = elasticache.describe_cache_subnet_groups(
        CacheSubnetGroupName=subnet_name.lower())["CacheSubnetGroups"][0]
    assert subnets["VpcId"] == stack.ids["Vpc"]
    assert {(s["SubnetIdentifier"], s["SubnetAvailabilityZone"]["Name"])
            for s in subnets["Subnets"]} == {(stack.ids["SubnetA"], "us-east-1a"),
                                             (stack.ids["SubnetB"], "us-east-1b")}

    stack_tag = {"Key": "sandbox:env-id", "Value": "cache-test"}
    arns = [group["ARN"], subnets["ARN"], *(c["ARN"] for c in clusters)]
    for arn in arns:
        assert stack_tag in elasticache.list_tags_for_resource(ResourceName=arn)["TagList"]
    for arn in [group["ARN"], *(c["ARN"] for c in clusters)]:
        assert {"Key": "team", "Value": "cache"} in elasticache.list_tags_for_resource(
            ResourceName=arn)["TagList"], "a group's tags reach its nodes"
    assert set(arns) <= set(tagged_arns(ctx, "sandbox:env-id", "cache-test"))

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert error_code(elasticache.describe_replication_groups,
                      ReplicationGroupId=group_id) == "ReplicationGroupNotFoundFault"
    for member in members:
        assert error_code(elasticache.describe_cache_clusters,
                          CacheClusterId=member) == "CacheClusterNotFound"
    assert error_code(elasticache.describe_cache_subnet_groups,
                      CacheSubnetGroupName=subnet_name.lower()) == "CacheSubnetGroupNotFoundFault"
    assert not set(arns) & set(tagged_arns(ctx, "sandbox:env-id", "cache-test"))

    again = launch_stack(ctx, resources)
    assert again.status == "CREATE_COMPLETE", "the names are free once the stack is gone"
    assert delete_stack(ctx, again.name) == "DELETE_COMPLETE"


def test_generated_names_are_valid_elasticache_identifiers(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Subnets": subnet_group(),
        "Redis": redis_group(NumCacheClusters="1", AutomaticFailoverEnabled="false",
                             MultiAZEnabled=False)})
    group_id = stack.ids["Redis"]
    assert group_id.startswith(stack.name.lower()) and len(group_id) <= 40
    assert group_id == group_id.lower() and "--" not in group_id
    group = ctx.connection.client("elasticache").describe_replication_groups(
        ReplicationGroupId=group_id)["ReplicationGroups"][0]
    assert group["MemberClusters"] == [f"{group_id}-001"]
    assert group["AutomaticFailover"] == "disabled"
    assert group["CacheNodeType"] == "cache.t3.micro"
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


@pytest.mark.parametrize(("engine", "attribute", "port"), [
    ("redis", "RedisEndpoint", "6379"),
    ("memcached", "ConfigurationEndpoint", "11211"),
])
def test_cache_cluster_lives_and_dies_with_the_stack(ctx: PortalContext, engine: str,
                                                      attribute: str, port: str) -> None:
    stack = launch_stack(ctx, {
        "Subnets": subnet_group(),
        "Cache": {"Type": "AWS::ElastiCache::CacheCluster", "Properties": {
            "Engine": engine, "CacheNodeType": "cache.t3.micro", "NumCacheNodes": "1",
            "CacheSubnetGroupName": {"Ref": "Subnets"}, "VpcSecurityGroupIds": [{"Ref": "Web"}]}},
    }, tags={"sandbox:env-id": "cluster-test"}, outputs={
        "Address": {"Fn::GetAtt": ["Cache", f"{attribute}.Address"]},
        "Port": {"Fn::GetAtt": ["Cache", f"{attribute}.Port"]}})
    elasticache = ctx.connection.client("elasticache")
    cluster = elasticache.describe_cache_clusters(
        CacheClusterId=stack.ids["Cache"])["CacheClusters"][0]
    assert cluster["Engine"] == engine
    assert cluster["CacheSubnetGroupName"] == stack.ids["Subnets"]
    assert cluster["SecurityGroups"][0]["SecurityGroupId"] == stack.ids["Web"]
    assert stack.outputs["Address"].startswith(f"{stack.ids['Cache']}.")
    assert stack.outputs["Port"] == port
    assert {"Key": "sandbox:env-id", "Value": "cluster-test"} in \
        elasticache.list_tags_for_resource(ResourceName=cluster["ARN"])["TagList"]

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert error_code(elasticache.describe_cache_clusters,
                      CacheClusterId=stack.ids["Cache"]) == "CacheClusterNotFound"


@pytest.mark.parametrize(("case", "properties", "code"), [
    ("failover without a replica", {"NumCacheClusters": 1}, "InvalidParameterCombination"),
    ("unknown subnet group", {"CacheSubnetGroupName": "no-such-group"},
     "CacheSubnetGroupNotFoundFault"),
])
def test_invalid_replication_group_fails_the_stack(ctx: PortalContext, case: str,
                                                   properties: dict[str, Any], code: str) -> None:
    cloudformation = ctx.connection.client("cloudformation")
    # A valid subnet group, so that only the replication group can be what fails.
    template = {"Resources": {**NETWORK, "Subnets": subnet_group(),
                              "Redis": redis_group(SecurityGroupIds=[], **properties)}}
    failed = failing_create(ctx, template)
    assert failed.status == "ROLLBACK_COMPLETE"
    assert failed.reasons["Redis"].endswith(f"(Error Code: {code})")
    cloudformation.delete_stack(StackName=failed.name)


def test_the_api_creates_members_and_really_deletes(ctx: PortalContext) -> None:
    ids = create_stack(ctx, {})
    elasticache = ctx.connection.client("elasticache")
    suffix = uuid.uuid4().hex[:8]
    subnet_name, group_id = f"api-subnets-{suffix}", f"api-rg-{suffix}"
    elasticache.create_cache_subnet_group(
        CacheSubnetGroupName=subnet_name, CacheSubnetGroupDescription="api",
        SubnetIds=[ids["SubnetA"], ids["SubnetB"]])
    group = elasticache.create_replication_group(
        ReplicationGroupId=group_id, ReplicationGroupDescription="api", Engine="redis",
        CacheNodeType="cache.t3.micro", NumCacheClusters=3, AutomaticFailoverEnabled=True,
        CacheSubnetGroupName=subnet_name)["ReplicationGroup"]
    assert len(group["MemberClusters"]) == 3

    assert error_code(elasticache.delete_cache_subnet_group,
                      CacheSubnetGroupName=subnet_name) == "CacheSubnetGroupInUse"
    deleted = elasticache.delete_replication_group(ReplicationGroupId=group_id)
    assert deleted["ReplicationGroup"]["Status"] == "deleting"
    assert group_id not in [g["ReplicationGroupId"] for g in
                            elasticache.describe_replication_groups()["ReplicationGroups"]]
    assert not set(group["MemberClusters"]) & {
        c["CacheClusterId"] for c in elasticache.describe_cache_clusters()["CacheClusters"]}
    elasticache.delete_cache_subnet_group(CacheSubnetGroupName=subnet_name)
    assert error_code(elasticache.describe_cache_subnet_groups,
                      CacheSubnetGroupName=subnet_name) == "CacheSubnetGroupNotFoundFault"


def test_update_modifies_the_replication_group_in_place(ctx: PortalContext) -> None:
    resources = {"Subnets": subnet_group(), "Redis": redis_group()}
    stack = launch_stack(ctx, resources)
    resources["Redis"]["Properties"].update(ReplicationGroupDescription="sessions and queues",
                                            CacheNodeType="cache.t3.small")
    resources["Subnets"]["Properties"]["Description"] = "cache subnets, renamed"
    ctx.connection.client("cloudformation").update_stack(
        StackName=stack.name, TemplateBody=json.dumps({"Resources": {**NETWORK, **resources}}))
    elasticache = ctx.connection.client("elasticache")
    group = elasticache.describe_replication_groups(
        ReplicationGroupId=stack.ids["Redis"])["ReplicationGroups"][0]
    assert group["Description"] == "sessions and queues"
    assert group["CacheNodeType"] == "cache.t3.small"
    subnets = elasticache.describe_cache_subnet_groups(
        CacheSubnetGroupName=stack.ids["Subnets"])["CacheSubnetGroups"][0]
    assert subnets["CacheSubnetGroupDescription"] == "cache subnets, renamed"
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
