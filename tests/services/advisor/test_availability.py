"""ADV004: single points of failure in the data tier."""

from __future__ import annotations

import pytest

DATABASE = """
Parameters:
  MultiAz: {Type: String, Default: 'false', AllowedValues: ['true', 'false']}
Conditions:
  UseMultiAz: !Equals [!Ref MultiAz, 'true']
Resources:
  Database:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: mariadb
      DBInstanceClass: db.t3.micro
      AllocatedStorage: '20'
      %s
"""

CACHE = """
Resources:
  Cache:
    Type: %s
    Properties:
      Engine: redis
      CacheNodeType: cache.t3.micro
      %s
"""


@pytest.mark.parametrize(("cloudformation", "parameters", "expected", "fragment"), [
    pytest.param(DATABASE % "MultiAZ: !If [UseMultiAz, true, false]", {}, ["Database"],
                 "Database (mariadb db.t3.micro) runs in one availability zone (MultiAZ is false)",
                 id="rds-condition-false"),
    pytest.param(DATABASE % "MultiAZ: !If [UseMultiAz, true, false]", {"MultiAz": "true"}, [],
                 None, id="rds-condition-true"),
    pytest.param(DATABASE % "MultiAZ: !Ref MultiAz", {}, ["Database"], "(MultiAZ is false)",
                 id="rds-parameter-text-false"),
    pytest.param(DATABASE % "StorageType: gp3", {}, ["Database"], "(MultiAZ is not set)",
                 id="rds-absent"),
    pytest.param(DATABASE % "DBClusterIdentifier: my-aurora", {}, [], None,
                 id="aurora-member"),
    pytest.param(CACHE % ("AWS::ElastiCache::ReplicationGroup",
                          "ReplicationGroupDescription: r\n      NumCacheClusters: 1"), {},
                 ["Cache"], "Cache has 1 node (a primary without replicas)", id="rg-one-node"),
    pytest.param(CACHE % ("AWS::ElastiCache::ReplicationGroup",
                          "ReplicationGroupDescription: r\n      NumCacheClusters: 2"), {},
                 ["Cache"], "Cache has 2 nodes but automatic failover is off",
                 id="rg-two-nodes-no-failover"),
    pytest.param(CACHE % ("AWS::ElastiCache::ReplicationGroup",
                          "ReplicationGroupDescription: r\n      NumCacheClusters: 2\n"
                          "      AutomaticFailoverEnabled: true"), {}, [], None,
                 id="rg-two-nodes-failover"),
    pytest.param(CACHE % ("AWS::ElastiCache::ReplicationGroup",
                          "ReplicationGroupDescription: r\n      NumNodeGroups: 2\n"
                          "      ReplicasPerNodeGroup: 1\n      AutomaticFailoverEnabled: true"),
                 {}, [], None, id="rg-cluster-mode-with-replicas"),
    pytest.param(CACHE % ("AWS::ElastiCache::CacheCluster", "NumCacheNodes: 1"), {},
                 ["Cache"], "Cache is a single-node redis cluster", id="cache-cluster-one-node"),
])
def test_cloudformation_single_points(advise_inline, cloudformation: str, parameters: dict,
                                      expected: list[str], fragment: str | None) -> None:
    report = advise_inline(cloudformation=cloudformation, cfn_parameters=parameters)
    findings = report.by_rule("ADV004")
    assert [(f.severity.value, f.resource) for f in findings] == [("warning", r) for r in expected]
    if fragment:
        assert fragment in findings[0].message


TERRAFORM = {
    "rds-variable-false": ("""
        variable "db_multi_az" {
          type = bool
        }
        resource "aws_db_instance" "db" {
          engine         = "mysql"
          instance_class = "db.t3.micro"
          multi_az       = var.db_multi_az
        }""", {"db_multi_az": False}, ["aws_db_instance.db"]),
    "rds-variable-true": ("""
        variable "db_multi_az" {
          type = bool
        }
        resource "aws_db_instance" "db" {
          engine         = "mysql"
          instance_class = "db.t3.micro"
          multi_az       = var.db_multi_az
        }""", {"db_multi_az": True}, []),
    "rds-read-replica": ("""
        resource "aws_db_instance" "replica" {
          instance_class      = "db.t3.micro"
          replicate_source_db = "main"
        }""", {}, []),
    "redis-nodes-variable-one": ("""
        variable "cache_nodes" {
          type = number
        }
        resource "aws_elasticache_replication_group" "redis" {
          description                = "r"
          num_cache_clusters         = var.cache_nodes
          automatic_failover_enabled = var.cache_nodes >= 2
        }""", {"cache_nodes": 1}, ["aws_elasticache_replication_group.redis"]),
    "redis-nodes-variable-two": ("""
        variable "cache_nodes" {
          type = number
        }
        resource "aws_elasticache_replication_group" "redis" {
          description                = "r"
          num_cache_clusters         = var.cache_nodes
          automatic_failover_enabled = var.cache_nodes >= 2
        }""", {"cache_nodes": 2}, []),
    "cache-cluster-in-group": ("""
        resource "aws_elasticache_cluster" "member" {
          cluster_id           = "m"
          replication_group_id = "rg"
        }""", {}, []),
    "cache-cluster-single": ("""
        resource "aws_elasticache_cluster" "single" {
          cluster_id      = "c"
          engine          = "memcached"
          num_cache_nodes = 1
        }""", {}, ["aws_elasticache_cluster.single"]),
}


@pytest.mark.parametrize("case", list(TERRAFORM))
def test_terraform_single_points(advise_inline, of_rule, case: str) -> None:
    text, values, expected = TERRAFORM[case]
    report = advise_inline(terraform={"main.tf": text}, values=values)
    assert of_rule(report, "ADV004") == [("terraform", "warning", r) for r in expected]
