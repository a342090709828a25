"""ElastiCache: subnet groups, replication groups and cache clusters, from a stack and the API.

moto's CloudFormation knows no ElastiCache type: a stack declaring a Redis replication group
completes with blank rows and nothing in `describe_replication_groups`. The models below create
them through moto's elasticache backend. That backend also needs a few fixes, kept in the same
module because the models depend on them and each holds for the API as well:

- `NumCacheClusters` is ignored (a group asked for a primary and a replica gets the primary only);
- a replication group's member clusters never appear in `describe_cache_clusters`, and its node
  group has no `ReaderEndpoint`; subnets show an empty zone and clusters no security groups;
- deleted replication groups and clusters stay listed as `deleting` for ever;
- `DeleteCacheSubnetGroup` is not implemented (HTTP 500).
"""

from __future__ import annotations

import inspect
import string
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult, EmptyResult
from moto.elasticache.exceptions import (
    CacheClusterNotFound,
    CacheSubnetGroupNotFound,
    ElastiCacheException,
    InvalidParameterCombinationException,
    ReplicationGroupNotFound,
)
from moto.elasticache.models import (
    CacheCluster,
    CacheSubnetGroup,
    ElastiCacheBackend,
    ReplicationGroup,
    elasticache_backends,
)
from moto.elasticache.responses import ElastiCacheResponse
from moto.moto_api._internal import mock_random

from services.clouds.embedded_extensions import stack_tags
from services.clouds.embedded_extensions._template import (
    as_bool,
    as_int,
    lowercase_identifier,
    missing_tags,
    tag_list,
)

REPLICATION_GROUP_ID_LIMIT = 40
CACHE_CLUSTER_ID_LIMIT = 50
DEFAULT_PORTS = {"redis": 6379, "valkey": 6379, "memcached": 11211}


class CacheSubnetGroupInUse(ElastiCacheException):
    code = "CacheSubnetGroupInUse"

    def __init__(self, name: str) -> None:
        super().__init__(f"Cache subnet group {name} is currently in use by a cache cluster.")


def _backend(account_id: str, region_name: str) -> ElastiCacheBackend:
    return elasticache_backends[account_id][region_name]


def _region_short(region_name: str) -> str:
    """`us-east-1` -> `use1`, as in ElastiCache endpoint names."""
    area, direction, number = (region_name.split("-") + ["", "", ""])[:3]
    return f"{area}{direction[:1]}{number}"


def _subnet_group_azs(backend: ElastiCacheBackend, name: str | None) -> list[str]:
    group = backend.cache_subnet_groups.get(name or "")
    if group is None:
        return []
    zones = [(subnet.get("subnet_availability_zone") or {}).get("name")
             for subnet in group.subnets]
    return list(dict.fromkeys(zone for zone in zones if zone))


def _subnets_show_their_zones(group: CacheSubnetGroup) -> CacheSubnetGroup:
    # The response shape wants SubnetAvailabilityZone as {Name: ...}; moto keeps the bare name,
    # so describe_cache_subnet_groups answered an empty zone.
    for subnet in group.subnets:
        zone = subnet.get("subnet_availability_zone")
        if isinstance(zone, str):
            subnet["subnet_availability_zone"] = {"name": zone}
    return group


def _primary_cluster_id(group: ReplicationGroup) -> str | None:
    for node_group in group.node_groups:
        for member in node_group["node_group_members"]:
            if member.get("current_role") == "primary":
                return member["cache_cluster_id"]
    return group.member_clusters[0] if group.member_clusters else None


def _drop_tags(backend: ElastiCacheBackend, arn: str) -> None:
    backend.tagging_service.delete_all_tags_for_resource(arn)


# -- backend fixes -------------------------------------------------------------------------------

def _replication_group_builds_its_clusters() -> None:
    """Honour `NumCacheClusters`, spread the clusters over the subnet group's zones when no
    `PreferredCacheClusterAZs` are given, give the node group its `ReaderEndpoint`, and make each
    member a cache cluster carrying the group's tags, as ElastiCache does. An unknown subnet group
    and automatic failover without a replica are refused as on AWS."""
    original = ElastiCacheBackend.create_replication_group
    signature = inspect.signature(original)

    def create_replication_group(self: ElastiCacheBackend, *args: Any,
                                 **kwargs: Any) -> ReplicationGroup:
        arguments = signature.bind(self, *args, **kwargs).arguments
        arguments.pop("self")
        subnet_group = arguments.get("cache_subnet_group_name")
        if subnet_group and subnet_group not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(subnet_group)
        if arguments.get("cluster_mode") != "enabled":
            if arguments.get("num_cache_clusters") and not arguments.get(
                    "replicas_per_node_group"):
                arguments["replicas_per_node_group"] = arguments["num_cache_clusters"] - 1
            count = (arguments.get("replicas_per_node_group") or 0) + 1
            if arguments.get("automatic_failover_enabled") and count < 2:
                raise InvalidParameterCombinationException(
                    "When using automatic failover, there must be at least 2 cache clusters in "
                    "the replication group.")
            zones = _subnet_group_azs(self, subnet_group)
            if zones and not arguments.get("preferred_cache_cluster_azs"):
                arguments["preferred_cache_cluster_azs"] = [
                    zones[i % len(zones)] for i in range(count)]
        group = original(self, **arguments)
        for node_group in group.node_groups:
            if "reader_endpoint_address" in node_group:
                node_group["reader_endpoint"] = {
                    "address": node_group["reader_endpoint_address"], "port": group.port}
            for member in node_group["node_group_members"]:
                _add_member_cluster(self, group, member, auth_token=arguments.get("auth_token"))
        return group

    setattr(ElastiCacheBackend, "create_replication_group", create_replication_group)


def _add_member_cluster(backend: ElastiCacheBackend, group: ReplicationGroup,
                        member: dict[str, Any], *, auth_token: str | None) -> None:
    backend.create_cache_cluster(
        cache_cluster_id=member["cache_cluster_id"],
        replication_group_id=group.replication_group_id, az_mode="single-az",
        preferred_availability_zone=member.get("preferred_availability_zone"),
        num_cache_nodes=1, cache_node_type=group.cache_node_type, engine=group.engine,
        engine_version=group.engine_version,
        cache_parameter_group_name=group.cache_parameter_group_name,
        cache_subnet_group_name=group.cache_subnet_group_name,
        transit_encryption_enabled=group.transit_encryption_enabled,
        network_type=group.network_type, ip_discovery=group.ip_discovery, snapshot_name=None,
        preferred_maintenance_window=group.preferred_maintenance_window, port=group.port,
        notification_topic_arn=group.notification_topic_arn,
        auto_minor_version_upgrade=group.auto_minor_version_upgrade,
        snapshot_retention_limit=group.snapshot_retention_limit,
        snapshot_window=group.snapshot_window, auth_token=auth_token, outpost_mode=None,
        preferred_outpost_arn=None, preferred_availability_zones=None,
        cache_security_group_names=group.cache_security_group_names,
        security_group_ids=group.security_group_ids, tags=group.tags or None,
        snapshot_arns=None, preferred_outpost_arns=None, log_delivery_configurations=[],
        cache_node_ids_to_remove=None, cache_node_ids_to_reboot=None,
    )


def _show_security_groups(cluster: CacheCluster) -> None:
    # The response shape lists them as SecurityGroups; moto keeps only the ids.
    cluster.security_groups = [{"security_group_id": group_id, "status": "active"}
                               for group_id in cluster.security_group_ids]


def _subnet_groups_show_their_zones() -> None:
    original = ElastiCacheBackend.create_cache_subnet_group

    def create_cache_subnet_group(self: ElastiCacheBackend, *args: Any,
                                  **kwargs: Any) -> CacheSubnetGroup:
        return _subnets_show_their_zones(original(self, *args, **kwargs))

    setattr(ElastiCacheBackend, "create_cache_subnet_group", create_cache_subnet_group)


def _clusters_show_their_security_groups() -> None:
    original = ElastiCacheBackend.create_cache_cluster

    def create_cache_cluster(self: ElastiCacheBackend, *args: Any, **kwargs: Any) -> CacheCluster:
        cluster = original(self, *args, **kwargs)
        _show_security_groups(cluster)
        return cluster

    setattr(ElastiCacheBackend, "create_cache_cluster", create_cache_cluster)


def _deleted_caches_are_gone() -> None:
    """The delete answers with the `deleting` state, as AWS does, and the group or cluster is gone
    from then on: moto kept it listed as `deleting` for ever. A group's member clusters go with it,
    except the primary when `RetainPrimaryCluster` asks to keep it."""
    delete_group = ElastiCacheBackend.delete_replication_group
    delete_cluster = ElastiCacheBackend.delete_cache_cluster

    def delete_replication_group(self: ElastiCacheBackend, replication_group_id: str,
                                 retain_primary_cluster: bool | None) -> ReplicationGroup:
        group = self.replication_groups.get(replication_group_id)
        members = list(group.member_clusters) if group else []
        primary = _primary_cluster_id(group) if group else None
        group = delete_group(self, replication_group_id, retain_primary_cluster)
        self.replication_groups.pop(replication_group_id, None)
        _drop_tags(self, group.arn)
        for cluster_id in members:
            cluster = self.cache_clusters.get(cluster_id)
            if cluster is None:
                continue
            if retain_primary_cluster and cluster_id == primary:
                cluster.replication_group_id = None
                continue
            self.cache_clusters.pop(cluster_id)
            _drop_tags(self, cluster.arn)
        return group

    def delete_cache_cluster(self: ElastiCacheBackend, cache_cluster_id: str) -> CacheCluster:
        cluster = delete_cluster(self, cache_cluster_id)
        self.cache_clusters.pop(cache_cluster_id, None)
        _drop_tags(self, cluster.arn)
        group = self.replication_groups.get(getattr(cluster, "replication_group_id", None) or "")
        if group is not None and cache_cluster_id in group.member_clusters:
            group.member_clusters.remove(cache_cluster_id)
            for node_group in group.node_groups:
                node_group["node_group_members"] = [
                    m for m in node_group["node_group_members"]
                    if m["cache_cluster_id"] != cache_cluster_id]
        return cluster

    setattr(ElastiCacheBackend, "delete_replication_group", delete_replication_group)
    setattr(ElastiCacheBackend, "delete_cache_cluster", delete_cache_cluster)


def delete_cache_subnet_group(backend: ElastiCacheBackend, cache_subnet_group_name: str) -> None:
    """DeleteCacheSubnetGroup, which moto 5.2.5 lacks: refused while a cluster or a replication
    group uses the subnet group, as on AWS."""
    group = backend.cache_subnet_groups.get(cache_subnet_group_name)
    if group is None:
        raise CacheSubnetGroupNotFound(cache_subnet_group_name)
    users = [*backend.cache_clusters.values(), *backend.replication_groups.values()]
    if any(user.cache_subnet_group_name == cache_subnet_group_name for user in users):
        raise CacheSubnetGroupInUse(cache_subnet_group_name)
    backend.cache_subnet_groups.pop(cache_subnet_group_name)
    _drop_tags(backend, group.arn)


def _cache_subnet_groups_can_be_deleted() -> None:
    def delete_cache_subnet_group_action(self: ElastiCacheResponse) -> ActionResult:
        delete_cache_subnet_group(self.elasticache_backend,
                                  self._get_param("CacheSubnetGroupName"))
        return EmptyResult()

    setattr(ElastiCacheBackend, "delete_cache_subnet_group", delete_cache_subnet_group)
    setattr(ElastiCacheResponse, "delete_cache_subnet_group", delete_cache_subnet_group_action)


# -- CloudFormation types ------------------------------------------------------------------------

class SubnetGroup(CloudFormationModel):
    """AWS::ElastiCache::SubnetGroup over moto's CacheSubnetGroup. `Ref` gives the name, which
    ElastiCache keeps in lowercase; without `CacheSubnetGroupName` one is generated from the stack
    and logical id. Deleting it waits (the stack retries) while a cache still uses it."""

    def __init__(self, group: CacheSubnetGroup, *, properties: dict[str, Any]) -> None:
        self.group = group
        self.properties = properties

    @property
    def physical_resource_id(self) -> str:
        return self.group.cache_subnet_group_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "CacheSubnetGroupName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::SubnetGroup"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> SubnetGroup:
        properties = cloudformation_json.get("Properties", {})
        name = (properties["CacheSubnetGroupName"].lower() if properties.get("CacheSubnetGroupName")
                else lowercase_identifier(resource_name, limit=255))
        group = _backend(account_id, region_name).create_cache_subnet_group(
            cache_subnet_group_name=name,
            cache_subnet_group_description=properties.get("Description", ""),
            subnet_ids=list(properties.get("SubnetIds") or []), tags=tag_list(properties))
        return cls(group, properties=properties)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
            cls, original_resource: SubnetGroup, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> SubnetGroup:
        properties = cloudformation_json.get("Properties", {})
        backend = _backend(account_id, region_name)
        name = original_resource.group.cache_subnet_group_name
        if (properties.get("CacheSubnetGroupName") or name).lower() != name:
            replacement = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name)
            cls.delete_from_cloudformation_json(name, cloudformation_json, account_id,
                                                region_name)
            return replacement
        # Description and subnets change in place on AWS; moto has no modify call, so the
        # group is rebuilt under the same name and ARN, keeping its tags.
        group = _subnets_show_their_zones(CacheSubnetGroup(
            account_id=account_id, region_name=region_name, cache_subnet_group_name=name,
            cache_subnet_group_description=properties.get("Description", ""),
            subnet_ids=list(properties.get("SubnetIds") or []), tags=tag_list(properties)))
        backend.cache_subnet_groups[name] = group
        if properties.get("Tags"):
            backend.add_tags_to_resource(group.arn, tag_list(properties))
        return cls(group, properties=properties)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
        try:
            delete_cache_subnet_group(_backend(account_id, region_name), resource_name)
        except CacheSubnetGroupNotFound:
            pass

    def is_created(self) -> bool:
        return True


class ReplicationGroupResource(CloudFormationModel):
    """AWS::ElastiCache::ReplicationGroup over moto's ReplicationGroup. `Ref` gives the group id;
    `Fn::GetAtt` gives PrimaryEndPoint, ReaderEndPoint (cluster mode disabled),
    ConfigurationEndPoint (enabled) and ReadEndPoint, ports as strings as CloudFormation returns
    them. An update changes description, node type, failover, Multi-AZ, snapshot retention and
    tags in place; a new id replaces the group."""

    MODIFIABLE = {"ReplicationGroupDescription", "CacheNodeType", "AutomaticFailoverEnabled",
                  "MultiAZEnabled", "SnapshotRetentionLimit", "Engine", "Tags"}

    def __init__(self, group: ReplicationGroup, *, properties: dict[str, Any]) -> None:
        self.group = group
        self.properties = properties

    @property
    def physical_resource_id(self) -> str:
        return self.group.replication_group_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ReplicationGroupId"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::ReplicationGroup"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("PrimaryEndPoint.Address", "PrimaryEndPoint.Port",
                        "ReaderEndPoint.Address", "ReaderEndPoint.Port",
                        "ConfigurationEndPoint.Address", "ConfigurationEndPoint.Port",
                        "ReadEndPoint.Addresses", "ReadEndPoint.Ports",
                        "ReadEndPoint.Addresses.List", "ReadEndPoint.Ports.List")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        group = self.group
        node_group = group.node_groups[0]
        members = [m for ng in group.node_groups for m in ng["node_group_members"]
                   if "read_endpoint" in m]
        values: dict[str, Any] = {
            "ReadEndPoint.Addresses.List": [m["read_endpoint"]["address"] for m in members],
            "ReadEndPoint.Ports.List": [str(m["read_endpoint"]["port"]) for m in members],
        }
        values["ReadEndPoint.Addresses"] = ",".join(values["ReadEndPoint.Addresses.List"])
        values["ReadEndPoint.Ports"] = ",".join(values["ReadEndPoint.Ports.List"])
        if "primary_endpoint_address" in node_group:
            values["PrimaryEndPoint.Address"] = node_group["primary_endpoint_address"]
            values["PrimaryEndPoint.Port"] = str(group.port)
            values["ReaderEndPoint.Address"] = node_group["reader_endpoint_address"]
            values["ReaderEndPoint.Port"] = str(group.port)
        if getattr(group, "configuration_endpoint", None):
            values["ConfigurationEndPoint.Address"] = group.configuration_endpoint["address"]
            values["ConfigurationEndPoint.Port"] = str(group.configuration_endpoint["port"])
        if attribute_name not in values:
            raise UnformattedGetAttTemplateException()
        return values[attribute_name]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> ReplicationGroupResource:
        p = cloudformation_json.get("Properties", {})
        group_id = (p["ReplicationGroupId"].lower() if p.get("ReplicationGroupId")
                    else lowercase_identifier(resource_name, limit=REPLICATION_GROUP_ID_LIMIT))
        subnet_group = p.get("CacheSubnetGroupName")
        group = _backend(account_id, region_name).create_replication_group(
            replication_group_id=group_id,
            replication_group_description=p.get("ReplicationGroupDescription"),
            global_replication_group_id=p.get("GlobalReplicationGroupId"),
            primary_cluster_id=p.get("PrimaryClusterId"),
            automatic_failover_enabled=as_bool(p.get("AutomaticFailoverEnabled")),
            multi_az_enabled=as_bool(p.get("MultiAZEnabled")),
            num_cache_clusters=as_int(p.get("NumCacheClusters")),
            preferred_cache_cluster_azs=list(p.get("PreferredCacheClusterAZs") or []),
            num_node_groups=as_int(p.get("NumNodeGroups")),
            replicas_per_node_group=as_int(p.get("ReplicasPerNodeGroup")),
            node_group_configuration=list(p.get("NodeGroupConfiguration") or []),
            cache_node_type=p.get("CacheNodeType"), engine=p.get("Engine", "redis"),
            engine_version=p.get("EngineVersion"),
            cache_parameter_group_name=p.get("CacheParameterGroupName"),
            cache_subnet_group_name=subnet_group.lower() if subnet_group else None,
            cache_security_group_names=p.get("CacheSecurityGroupNames"),
            security_group_ids=p.get("SecurityGroupIds"), tags=tag_list(p),
            snapshot_arns=p.get("SnapshotArns"), snapshot_name=p.get("SnapshotName"),
            preferred_maintenance_window=p.get("PreferredMaintenanceWindow"),
            port=as_int(p.get("Port")), notification_topic_arn=p.get("NotificationTopicArn"),
            auto_minor_version_upgrade=as_bool(p.get("AutoMinorVersionUpgrade")),
            snapshot_retention_limit=as_int(p.get("SnapshotRetentionLimit")),
            snapshot_window=p.get("SnapshotWindow"), auth_token=p.get("AuthToken"),
            transit_encryption_enabled=as_bool(p.get("TransitEncryptionEnabled")),
            at_rest_encryption_enabled=as_bool(p.get("AtRestEncryptionEnabled")),
            kms_key_id=p.get("KmsKeyId"), user_group_ids=p.get("UserGroupIds"),
            log_delivery_configurations=list(p.get("LogDeliveryConfigurations") or []),
            data_tiering_enabled=as_bool(p.get("DataTieringEnabled")),
            network_type=p.get("NetworkType"), ip_discovery=p.get("IpDiscovery"),
            transit_encryption_mode=p.get("TransitEncryptionMode"),
            cluster_mode=p.get("ClusterMode"), serverless_cache_snapshot_name=None,
        )
        return cls(group, properties=p)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
            cls, original_resource: ReplicationGroupResource, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> ReplicationGroupResource:
        p = cloudformation_json.get("Properties", {})
        group = original_resource.group
        if (p.get("ReplicationGroupId") or group.replication_group_id).lower() != \
                group.replication_group_id:
            replacement = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name)
            cls.delete_from_cloudformation_json(
                group.replication_group_id, cloudformation_json, account_id, region_name)
            return replacement
        backend = _backend(account_id, region_name)
        backend.modify_replication_group(
            replication_group_id=group.replication_group_id,
            replication_group_description=p.get("ReplicationGroupDescription"),
            engine=p.get("Engine"), cache_node_type=p.get("CacheNodeType"),
            automatic_failover_enabled=as_bool(p.get("AutomaticFailoverEnabled")),
            multi_az_enabled=as_bool(p.get("MultiAZEnabled")),
            snapshot_retention_limit=as_int(p.get("SnapshotRetentionLimit")))
        if p.get("Tags"):
            for arn in [group.arn, *_member_arns(backend, group)]:
                backend.add_tags_to_resource(arn, tag_list(p))
        original_resource.properties = p
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
        try:
            _backend(account_id, region_name).delete_replication_group(
                resource_name, retain_primary_cluster=False)
        except ReplicationGroupNotFound:
            pass

    def is_created(self) -> bool:
        return True


def _member_arns(backend: ElastiCacheBackend, group: ReplicationGroup) -> list[str]:
    return [backend.cache_clusters[c].arn for c in group.member_clusters
            if c in backend.cache_clusters]


class CacheClusterResource(CloudFormationModel):
    """AWS::ElastiCache::CacheCluster over moto's CacheCluster. `Ref` gives the cluster id;
    `Fn::GetAtt` gives RedisEndpoint (Redis) or ConfigurationEndpoint (Memcached). Any change but
    tags replaces the cluster; a fixed `ClusterName` then fails, as on AWS."""

    def __init__(self, cluster: CacheCluster, *, properties: dict[str, Any],
                 endpoint: str) -> None:
        self.cluster = cluster
        self.properties = properties
        self.endpoint = endpoint

    @property
    def physical_resource_id(self) -> str:
        return self.cluster.cache_cluster_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ClusterName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::CacheCluster"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("RedisEndpoint.Address", "RedisEndpoint.Port",
                        "ConfigurationEndpoint.Address", "ConfigurationEndpoint.Port")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        kind = "ConfigurationEndpoint" if self.cluster.engine == "memcached" else "RedisEndpoint"
        if attribute_name == f"{kind}.Address":
            return self.endpoint
        if attribute_name == f"{kind}.Port":
            return str(self.cluster.port)
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CacheClusterResource:
        p = cloudformation_json.get("Properties", {})
        cluster_id = (p["ClusterName"].lower() if p.get("ClusterName")
                      else lowercase_identifier(resource_name, limit=CACHE_CLUSTER_ID_LIMIT))
        engine = p.get("Engine", "redis")
        subnet_group = p.get("CacheSubnetGroupName")
        backend = _backend(account_id, region_name)
        if subnet_group and subnet_group.lower() not in backend.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(subnet_group)
        cluster = backend.create_cache_cluster(
            cache_cluster_id=cluster_id, replication_group_id=None, az_mode=p.get("AZMode"),
            preferred_availability_zone=p.get("PreferredAvailabilityZone"),
            num_cache_nodes=as_int(p.get("NumCacheNodes")),
            cache_node_type=p.get("CacheNodeType"), engine=engine,
            engine_version=p.get("EngineVersion"),
            cache_parameter_group_name=p.get("CacheParameterGroupName"),
            cache_subnet_group_name=subnet_group.lower() if subnet_group else None,
            transit_encryption_enabled=as_bool(p.get("TransitEncryptionEnabled")),
            network_type=p.get("NetworkType"), ip_discovery=p.get("IpDiscovery"),
            snapshot_name=p.get("SnapshotName"),
            preferred_maintenance_window=p.get("PreferredMaintenanceWindow"),
            port=as_int(p.get("Port"), DEFAULT_PORTS.get(engine, 6379)),
            notification_topic_arn=p.get("NotificationTopicArn"),
            auto_minor_version_upgrade=as_bool(p.get("AutoMinorVersionUpgrade")),
            snapshot_retention_limit=as_int(p.get("SnapshotRetentionLimit")),
            snapshot_window=p.get("SnapshotWindow"), auth_token=None, outpost_mode=None,
            preferred_outpost_arn=None,
            preferred_availability_zones=p.get("PreferredAvailabilityZones"),
            cache_security_group_names=p.get("CacheSecurityGroupNames"),
            security_group_ids=p.get("VpcSecurityGroupIds"), tags=tag_list(p) or None,
            snapshot_arns=p.get("SnapshotArns"), preferred_outpost_arns=None,
            log_delivery_configurations=list(p.get("LogDeliveryConfigurations") or []),
            cache_node_ids_to_remove=None, cache_node_ids_to_reboot=None,
        )
        random_part = "".join(mock_random.choice(string.ascii_lowercase + string.digits)
                              for _ in range(6))
        node = "cfg" if engine == "memcached" else "0001"
        endpoint = (f"{cluster_id}.{random_part}.{node}.{_region_short(region_name)}"
                    f".cache.amazonaws.com")
        return cls(cluster, properties=p, endpoint=endpoint)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
            cls, original_resource: CacheClusterResource, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> CacheClusterResource:
        p = cloudformation_json.get("Properties", {})
        old = original_resource.properties
        backend = _backend(account_id, region_name)
        changed = {k for k in {*p, *old} if k != "Tags" and p.get(k) != old.get(k)}
        if not changed:
            if p.get("Tags"):
                backend.add_tags_to_resource(original_resource.cluster.arn, tag_list(p))
            original_resource.properties = p
            return original_resource
        if p.get("ClusterName") and p["ClusterName"].lower() == \
                original_resource.cluster.cache_cluster_id:
            raise ValidationError(message=(
                "CloudFormation cannot update a stack when a custom-named resource requires "
                f"replacing. Rename {p['ClusterName']} and update the stack again."))
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name)
        cls.delete_from_cloudformation_json(
            original_resource.physical_resource_id, cloudformation_json, account_id, region_name)
        return replacement

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
        try:
            _backend(account_id, region_name).delete_cache_cluster(resource_name)
        except CacheClusterNotFound:
            pass

    def is_created(self) -> bool:
        return True


# -- stack tags ----------------------------------------------------------------------------------

def _tagger(arns_of: Any) -> stack_tags.Tagger:
    def tag(resource: Any, tags: stack_tags.StackTags, account_id: str,
            region_name: str) -> None:
        backend = _backend(account_id, region_name)
        for arn in arns_of(resource, backend):
            extra = missing_tags(backend.tagging_service.get_tag_dict_for_resource(arn), tags)
            if extra:
                backend.add_tags_to_resource(arn, extra)

    return tag


def install() -> None:
    _replication_group_builds_its_clusters()
    _subnet_groups_show_their_zones()
    _clusters_show_their_security_groups()
    _deleted_caches_are_gone()
    _cache_subnet_groups_can_be_deleted()
    stack_tags.register(SubnetGroup, _tagger(lambda r, b: [r.group.arn]))
    # Tags on a replication group reach all of its nodes, as ElastiCache replicates them.
    stack_tags.register(ReplicationGroupResource,
                        _tagger(lambda r, b: [r.group.arn, *_member_arns(b, r.group)]))
    stack_tags.register(CacheClusterResource, _tagger(lambda r, b: [r.cluster.arn]))
