"""Single points of failure in the data tier: one database instance, one cache node."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.advisor.model import AdvisorSubject, Finding, Rule, Severity
from services.advisor.terraform_model import Unknown
from services.advisor.values import as_number, number_text, truthy
from services.i18n import N_, _


class SinglePointOfFailure(Rule):
    """A database or cache that one failure takes down: RDS without Multi-AZ, an ElastiCache
    replication group with one node or without automatic failover, a one-node cache cluster.
    The seed project moved Redis from one EC2 instance to an ElastiCache replication group for
    exactly this reason. Aurora instances are left alone: their cluster keeps the copies.
    Values that are only known at launch (an unresolved reference) are not judged."""

    id = "ADV004"
    title = N_("Single point of failure in the data tier")
    severity = Severity.WARNING
    fix = N_("Turn on Multi-AZ for the database (RDS keeps a standby in a second availability "
             "zone and fails over by itself, for about twice the price), and give Redis at least "
             "two nodes with automatic failover. For a short lab, accepting the risk is fine: say "
             "so.")

    # -- CloudFormation
    def check_cloudformation(self, subject: AdvisorSubject) -> Iterator[Finding]:
        template = subject.cloudformation
        assert template is not None
        for db in template.of_type("AWS::RDS::DBInstance"):
            props = db.properties
            if props.get("DBClusterIdentifier") or props.get("SourceDBInstanceIdentifier"):
                continue
            multi_az = props.get("MultiAZ", False)
            if truthy(multi_az) is False:
                yield self.finding(self._database_message(
                    db.logical_id, props.get("Engine"), props.get("DBInstanceClass"),
                    "MultiAZ", is_set="MultiAZ" in props),
                    resource=db.logical_id, source="cloudformation")
        for group in template.of_type("AWS::ElastiCache::ReplicationGroup"):
            props = group.properties
            if props.get("PrimaryClusterId"):
                continue
            message = self._replication_message(
                group.logical_id, nodes=props.get("NumCacheClusters"),
                shards=props.get("NumNodeGroups"), replicas=props.get("ReplicasPerNodeGroup"),
                failover=props.get("AutomaticFailoverEnabled", False))
            if message:
                yield self.finding(message, resource=group.logical_id, source="cloudformation")
        for cluster in template.of_type("AWS::ElastiCache::CacheCluster"):
            nodes = as_number(cluster.properties.get("NumCacheNodes"))
            if nodes is not None and nodes < 2:
                yield self.finding(self._cluster_message(
                    cluster.logical_id, cluster.properties.get("Engine")),
                    resource=cluster.logical_id, source="cloudformation")

    # -- Terraform
    def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
        config = subject.terraform_config
        for db in config.resources("aws_db_instance"):
            if db.has("replicate_source_db"):
                continue
            engine = db.value("engine")
            if isinstance(engine, str) and engine.startswith("aurora"):
                continue
            multi_az = db.value("multi_az", False)
            if truthy(multi_az) is False:
                yield self.finding(self._database_message(
                    db.address, engine, db.value("instance_class"), "multi_az",
                    is_set=db.has("multi_az")),
                    resource=db.address, source="terraform")
        for group in config.resources("aws_elasticache_replication_group"):
            nodes = group.value("num_cache_clusters", group.value("number_cache_clusters"))
            message = self._replication_message(
                group.address, nodes=nodes, shards=group.value("num_node_groups"),
                replicas=group.value("replicas_per_node_group"),
                failover=group.value("automatic_failover_enabled", False))
            if message:
                yield self.finding(message, resource=group.address, source="terraform")
        for cluster in config.resources("aws_elasticache_cluster"):
            if cluster.has("replication_group_id"):
                continue
            nodes = as_number(cluster.value("num_cache_nodes"))
            if nodes is not None and nodes < 2:
                yield self.finding(self._cluster_message(cluster.address, cluster.value("engine")),
                                   resource=cluster.address, source="terraform")

    # -- messages
    @staticmethod
    def _database_message(name: str, engine: Any, instance_class: Any, setting: str, *,
                          is_set: bool) -> str:
        """`setting` is the property (MultiAZ, multi_az): false when `is_set`, else absent."""
        what = " ".join(str(v) for v in (engine, instance_class) if isinstance(v, str))
        if not what:
            if is_set:
                message = _("{name} (database) runs in one availability zone ({setting} is "
                            "false): when its zone or its host fails, the application loses its "
                            "database until RDS replaces it, and writes since the last backup "
                            "may be lost.")
            else:
                message = _("{name} (database) runs in one availability zone ({setting} is not "
                            "set): when its zone or its host fails, the application loses its "
                            "database until RDS replaces it, and writes since the last backup "
                            "may be lost.")
        elif is_set:
            # Translators: {what} is the engine and instance class, e.g. "mysql db.t3.micro".
            message = _("{name} ({what}) runs in one availability zone ({setting} is false): "
                        "when its zone or its host fails, the application loses its database "
                        "until RDS replaces it, and writes since the last backup may be lost.")
        else:
            message = _("{name} ({what}) runs in one availability zone ({setting} is not set): "
                        "when its zone or its host fails, the application loses its database "
                        "until RDS replaces it, and writes since the last backup may be lost.")
        return message.format(name=name, what=what, setting=setting)

    @staticmethod
    def _replication_message(name: str, *, nodes: Any, shards: Any, replicas: Any,
                             failover: Any) -> str | None:
        node_count = as_number(nodes)
        replica_count = as_number(replicas)
        if node_count is None and replica_count is not None:
            node_count = replica_count + 1
        elif node_count is None and not isinstance(nodes, Unknown) and \
                not isinstance(replicas, Unknown) and as_number(shards) is None:
            node_count = 1  # ElastiCache's default: a primary and no replica
        if node_count is None:
            return None
        if node_count < 2:
            return _("{name} has {nodes} node (a primary without replicas): when it fails, "
                     "Redis and everything that depends on it (sessions, cache, Celery's queue) "
                     "is gone until a new node is created.").format(
                         name=name, nodes=number_text(node_count))
        if truthy(failover) is False:
            return _("{name} has {nodes} nodes but automatic failover is off: when the primary "
                     "fails, no replica is promoted and writes stop.").format(
                         name=name, nodes=number_text(node_count))
        return None

    @staticmethod
    def _cluster_message(name: str, engine: Any) -> str:
        if not isinstance(engine, str):
            return _("{name} is a single-node cache cluster: when the node fails, everything it "
                     "holds is gone until a new node is created.").format(name=name)
        # Translators: {engine} is the cache engine as the template names it (redis, memcached).
        return _("{name} is a single-node {engine} cluster: when the node fails, everything it "
                 "holds is gone until a new node is created.").format(name=name, engine=engine)
