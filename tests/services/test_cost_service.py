"""Cost estimates of the real templates against sums worked out here from the table's own figures,
and of small inline templates for each counting rule, unknown types and bad input."""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.cost_service import MAX_HOURS, CostEstimate, estimate
from services.errors import ValidationError
from services.pricing import DEFAULT_PATH, default_price_table, load_price_table
from services.render_service import portal_tags, render, validate_parameters
from services.template_model import ResolvedTemplate, resolve_rendered, resolve_template
from tests.templates_support import catalog, cfn_document

TABLE = default_price_table()
MONTH = Decimal(730)
REGIONS = ("us-east-1", "ap-northeast-2")
HOURS = (1, 4, 730)
# A day after MySQL 8.0 left RDS standard support, and the day before.
AFTER_MYSQL_80 = date(2026, 11, 23)
BEFORE_MYSQL_80 = date(2026, 7, 31)
LINE_KEYS = {"resource", "type", "description", "quantity", "unit", "unit_price_usd",
             "hourly_usd", "cost_usd", "monthly_usd", "as_of", "source", "assumption",
             "no_charge"}


def usd(region: str, service: str, key: str) -> Decimal:
    entry = TABLE.price(region, service, key)
    assert entry is not None, (region, service, key)
    return entry.usd


def usage(name: str) -> Decimal:
    return TABLE.assumption(name).value


def resolved(template_id: str, region: str, **params: Any) -> ResolvedTemplate:
    manifest = catalog().get_template(template_id)
    values = validate_parameters(manifest, params)
    rendered = render(manifest, values,
                      cloudformation_text=manifest.cloudformation_path.read_text(), region=region,
                      tags=portal_tags(env_id="estimate", owner="test", template_id=template_id))
    return resolve_rendered(rendered, region=region)


def inline(resources: dict[str, Any], region: str = "us-east-1") -> ResolvedTemplate:
    return resolve_template({"Resources": resources}, {}, region=region)


def assert_usd(actual: Decimal, expected: Decimal) -> None:
    assert abs(actual - expected) < Decimal("1e-12"), (actual, expected)


def assert_totals(result: CostEstimate, hourly: Decimal, hours: int) -> None:
    assert_usd(result.total_hourly_usd, hourly)
    assert_usd(result.total_usd, hourly * hours)
    assert_usd(result.total_monthly_usd, hourly * MONTH)
    data = result.to_json()
    assert math.isclose(data["total_usd"], float(hourly * hours), rel_tol=1e-12)
    assert math.isclose(data["total_hourly_usd"], float(hourly), rel_tol=1e-12)
    assert math.isclose(data["total_monthly_usd"], float(hourly * MONTH), rel_tol=1e-12)


def lines_of(result: CostEstimate, resource: str) -> list[Any]:
    return [line for line in result.lines if line.resource == resource]


# -- the shipped templates ------------------------------------------------------------------------
def web_server_hourly(region: str) -> Decimal:
    return (usd(region, "ec2_instance", "t3.micro")
            + 8 * usd(region, "ebs_volume", "gp3") / MONTH
            + usd(region, "public_ipv4", "address_hour"))


@pytest.mark.parametrize("hours", HOURS)
@pytest.mark.parametrize("region", REGIONS)
def test_web_server_defaults(region: str, hours: int) -> None:
    result = estimate(resolved("web-server", region), hours=hours, template_id="web-server")
    assert_totals(result, web_server_hourly(region), hours)
    assert not result.not_priced
    described = [line.description for line in lines_of(result, "WebServer")]
    assert described == ["1 × t3.micro - burstable: 10% CPU baseline", "8 GiB gp3 root volume",
                         "1 public IPv4 address of the instance"]
    data = result.to_json()
    assert (data["template"], data["region"], data["hours"]) == ("web-server", region, hours)


def test_web_server_follows_the_instance_type_parameter() -> None:
    result = estimate(resolved("web-server", "ap-northeast-2", instance_type="t3.small"), hours=4)
    expected = (usd("ap-northeast-2", "ec2_instance", "t3.small")
                + 8 * usd("ap-northeast-2", "ebs_volume", "gp3") / MONTH
                + usd("ap-northeast-2", "public_ipv4", "address_hour"))
    assert_totals(result, expected, 4)


def three_tier_hourly(region: str, *, extended_support: bool) -> Decimal:
    hourly = (web_server_hourly(region)
              + usd(region, "rds_instance", "mysql/db.t3.micro/single-az")
              + 20 * usd(region, "rds_storage", "gp3/single-az") / MONTH
              # ManageMasterUserPassword: RDS keeps the password in a Secrets Manager secret.
              + usd(region, "secrets_manager", "secret_month") / MONTH)
    if extended_support:
        hourly += 2 * usd(region, "rds_extended_support", "mysql/8.0")  # db.t3.micro: 2 vCPUs
    return hourly


@pytest.mark.parametrize("hours", HOURS)
@pytest.mark.parametrize("region", REGIONS)
def test_three_tier_defaults_run_mysql_in_standard_support(region: str, hours: int) -> None:
    for day in (BEFORE_MYSQL_80, AFTER_MYSQL_80):
        result = estimate(resolved("three-tier", region), hours=hours, on=day)
        assert_totals(result, three_tier_hourly(region, extended_support=False), hours)
        database = [line.description for line in lines_of(result, "Database")]
        assert database[0] == "db.t3.micro MySQL, Single-AZ"
        assert database[1] == "20 GiB gp3 storage"
        assert not any("Extended Support" in line.description for line in result.lines)


def ha_web_hourly(region: str, *, desired: int = 2, nat: bool = False,
                  multi_az: bool = False) -> Decimal:
    document = cfn_document(catalog().get_template("ha-web"))
    data = document["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    root = data["BlockDeviceMappings"][0]["Ebs"]
    root_gib = Decimal(root.get("VolumeSize", usage("root_volume_gib")))
    deployment = "multi-az" if multi_az else "single-az"
    alarms_in_template = sum(1 for r in document["Resources"].values()
                             if r["Type"] == "AWS::CloudWatch::Alarm")
    rules = len(document["Resources"]["WebAcl"]["Properties"]["Rules"])
    hourly = (
        # Application Load Balancer, its LCUs and an address in each of its two subnets.
        usd(region, "alb", "hour") + usage("alb_lcu_per_hour") * usd(region, "alb", "lcu_hour")
        + 2 * usd(region, "public_ipv4", "address_hour")
        # WAF: the web ACL, its rules (three managed rule groups), the requests.
        + usd(region, "waf", "web_acl_month") / MONTH
        + rules * usd(region, "waf", "rule_month") / MONTH
        + usage("waf_million_requests_per_hour") * usd(region, "waf", "million_requests")
        + usage("s3_storage_gb") * usd(region, "s3", "standard_gb_month") / MONTH
        # The Auto Scaling group's servers and their root volumes.
        + desired * usd(region, "ec2_instance", "t3.micro")
        + desired * root_gib * usd(region, "ebs_volume", "gp3") / MONTH
        + usd(region, "secrets_manager", "secret_month") / MONTH
        + usd(region, "rds_instance", f"mariadb/db.t3.micro/{deployment}")
        + 20 * usd(region, "rds_storage", f"gp3/{deployment}") / MONTH
        + 2 * usd(region, "elasticache_node", "redis/cache.t3.micro")
        + usage("logs_gb_per_hour") * usd(region, "cloudwatch_logs", "ingestion_gb")
        # Three alarms of the template and the two that target tracking creates.
        + (alarms_in_template + 2) * usd(region, "cloudwatch_alarm", "standard") / MONTH
    )
    if nat:
        hourly += (usd(region, "nat_gateway", "hour")
                   + usage("nat_gb_per_hour") * usd(region, "nat_gateway", "gb_processed")
                   + usd(region, "public_ipv4", "address_hour"))
    return hourly


def test_ha_web_has_the_shape_the_sums_below_assume() -> None:
    document = cfn_document(catalog().get_template("ha-web"))
    resources = document["Resources"]
    types = [r["Type"] for r in resources.values()]
    assert types.count("AWS::CloudWatch::Alarm") == 3
    assert len(resources["WebAcl"]["Properties"]["Rules"]) == 3
    assert resources["NatGateway"]["Condition"] == resources["NatEip"]["Condition"]


HA_WEB_CASES = [
    pytest.param({}, {}, id="defaults"),
    pytest.param({"enable_nat_gateway": True}, {"nat": True}, id="nat-gateway"),
    pytest.param({"db_multi_az": True}, {"multi_az": True}, id="multi-az"),
    pytest.param({"desired_capacity": 3}, {"desired": 3}, id="three-servers"),
    pytest.param({"enable_nat_gateway": True, "db_multi_az": True, "desired_capacity": 3},
                 {"nat": True, "multi_az": True, "desired": 3}, id="all-three"),
]


@pytest.mark.parametrize("hours", HOURS)
@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize(("params", "shape"), HA_WEB_CASES)
def test_ha_web(params: dict[str, Any], shape: dict[str, Any], region: str, hours: int) -> None:
    result = estimate(resolved("ha-web", region, **params), hours=hours)
    assert_totals(result, ha_web_hourly(region, **shape), hours)
    assert not result.not_priced
    servers = lines_of(result, "AutoScalingGroup")[0]
    desired = shape.get("desired", 2)
    assert servers.description.startswith(f"{desired} × t3.micro (ASG desired capacity)")
    database = lines_of(result, "Database")[0].description
    assert database == ("db.t3.micro MariaDB, Multi-AZ (a primary and a standby)"
                        if shape.get("multi_az") else "db.t3.micro MariaDB, Single-AZ")
    assert bool(lines_of(result, "NatGateway")) is bool(shape.get("nat"))


def test_every_alb_line_shows_the_lcu_assumption() -> None:
    result = estimate(resolved("ha-web", "us-east-1"), hours=4)
    alb = lines_of(result, "LoadBalancer")
    assert len(alb) == 3
    lcu_text = TABLE.assumption("alb_lcu_per_hour").text
    assert all(lcu_text in (line.assumption or "") for line in alb)
    assert alb[2].quantity == 2 and alb[2].unit == "address-hour"


def test_monthly_prices_become_hourly_over_730_hours_and_say_so() -> None:
    result = estimate(resolved("ha-web", "us-east-1"), hours=1)
    acl = next(line for line in lines_of(result, "WebAcl") if line.unit == "web ACL-month")
    assert acl.unit_price_usd == Decimal(5)
    assert_usd(acl.hourly_usd, Decimal(5) / MONTH)
    assert_usd(acl.monthly_usd, Decimal(5))
    assert any("price / 730 hours" in text for text in result.assumptions)


def test_free_resources_are_listed_after_the_priced_ones_with_a_note() -> None:
    result = estimate(resolved("ha-web", "us-east-1"), hours=4)
    flags = [line.no_charge for line in result.lines]
    assert flags == sorted(flags), "no-charge lines come last"
    free = {line.resource: line for line in result.no_charge_lines}
    for logical_id in ("Vpc", "S3GatewayEndpoint", "TargetGroup", "LaunchTemplate",
                       "CodeDeployApplication", "DeploymentGroup", "DbSubnetGroup",
                       "CacheSubnetGroup", "WebAclAssociation", "InstanceRole"):
        line = free[logical_id]
        assert line.description.startswith("no charge: ")
        assert line.cost_usd == 0 and line.source and line.source.startswith("https://")
    # Every resource CloudFormation would create shows up: priced, free or not priced.
    shown = {line.resource for line in result.lines} | {n.resource for n in result.not_priced}
    assert shown == set(resolved("ha-web", "us-east-1").resources)


def test_json_has_the_documented_shape_and_round_trips() -> None:
    result = estimate(resolved("ha-web", "ap-northeast-2"), hours=4, template_id="ha-web")
    data = json.loads(json.dumps(result.to_json()))
    assert set(data) == {"template", "region", "hours", "lines", "total_usd", "total_hourly_usd",
                         "total_monthly_usd", "not_priced", "assumptions"}
    for line in data["lines"]:
        assert set(line) == LINE_KEYS
    priced = [line for line in data["lines"] if not line["no_charge"]]
    assert all(line["as_of"] and line["source"].startswith("https://aws.amazon.com/")
               for line in priced)
    assert math.isclose(sum(line["cost_usd"] for line in data["lines"]), data["total_usd"],
                        rel_tol=1e-9)
    assert "template" not in estimate(resolved("ha-web", "us-east-1"), hours=1).to_json()


def test_the_estimate_reads_its_prices_from_the_table_it_is_given(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_PATH.read_text())
    raw["services"]["ec2_instance"]["prices"]["us-east-1"]["t3.micro"]["usd"] = 1.5
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(raw))
    dearer = estimate(resolved("web-server", "us-east-1"), hours=2, table=load_price_table(path))
    expected = web_server_hourly("us-east-1") - usd("us-east-1", "ec2_instance", "t3.micro") \
        + Decimal("1.5")
    assert_totals(dearer, expected, 2)


# -- what cannot be priced ------------------------------------------------------------------------
SERVER = {"Type": "AWS::EC2::Instance",
          "Properties": {"InstanceType": "t3.micro", "ImageId": "ami-1",
                         "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                                                  "Ebs": {"VolumeSize": 10, "VolumeType": "gp2"}}],
                         "NetworkInterfaces": [{"DeviceIndex": "0",
                                                "AssociatePublicIpAddress": False}]}}


def server_hourly(region: str = "us-east-1") -> Decimal:
    return usd(region, "ec2_instance", "t3.micro") + 10 * usd(region, "ebs_volume", "gp2") / MONTH


def test_an_unknown_type_is_not_priced_and_left_out_of_the_total() -> None:
    result = estimate(inline({"Server": SERVER,
                              "Cluster": {"Type": "AWS::EKS::Cluster", "Properties": {}}}),
                      hours=4)
    assert_totals(result, server_hourly(), 4)
    assert [n.to_json() for n in result.not_priced] == [
        {"resource": "Cluster", "type": "AWS::EKS::Cluster",
         "reason": "AWS::EKS::Cluster is not in the price table"}]
    assert any("exclude" in text and "Cluster" in text for text in result.assumptions)
    assert result.to_json()["not_priced"][0]["resource"] == "Cluster"


@pytest.mark.parametrize(("resource", "reason"), [
    pytest.param({**SERVER, "Properties": {**SERVER["Properties"], "InstanceType": "m7i.large"}},
                 "instance type m7i.large has no price", id="instance-type"),
    pytest.param({"Type": "AWS::RDS::DBInstance",
                  "Properties": {"Engine": "mysql", "DBInstanceClass": "db.r6g.large",
                                 "AllocatedStorage": 20}},
                 "db.r6g.large MySQL has no price", id="db-class"),
    pytest.param({"Type": "AWS::RDS::DBInstance",
                  "Properties": {"Engine": "postgres", "DBInstanceClass": "db.t3.micro",
                                 "AllocatedStorage": 20}},
                 "priced there: mariadb, mysql", id="db-engine"),
    pytest.param({"Type": "AWS::ElastiCache::CacheCluster",
                  "Properties": {"Engine": "redis", "CacheNodeType": "cache.r7g.large",
                                 "NumCacheNodes": 1}},
                 "cache.r7g.large Redis has no price", id="cache-node"),
    pytest.param({"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                  "Properties": {"Type": "network", "Subnets": ["a", "b"]}},
                 "network load balancers", id="nlb"),
    pytest.param({"Type": "AWS::EC2::VPCEndpoint",
                  "Properties": {"VpcEndpointType": "Interface", "ServiceName": "ssm"}},
                 "Interface endpoints", id="interface-endpoint"),
    pytest.param({"Type": "AWS::SSM::Parameter",
                  "Properties": {"Type": "String", "Value": "x", "Tier": "Advanced"}},
                 "advanced-tier", id="advanced-parameter"),
    pytest.param({"Type": "AWS::AutoScaling::AutoScalingGroup",
                  "Properties": {"MinSize": 1, "MaxSize": 2,
                                 "LaunchTemplate": {"LaunchTemplateId": "lt-0123",
                                                    "Version": "1"}}},
                 "launch template is not part of this template", id="outside-launch-template"),
    pytest.param({**SERVER, "Properties": {**SERVER["Properties"], "BlockDeviceMappings": [
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 10, "VolumeType": "io2"}}]}},
                 "EBS volume type io2 has no price", id="volume-type"),
])
def test_a_known_type_the_table_cannot_price_is_not_priced_whole(resource: dict[str, Any],
                                                                 reason: str) -> None:
    result = estimate(inline({"Server": SERVER, "Odd": resource}), hours=4)
    assert_totals(result, server_hourly(), 4)
    assert [n.resource for n in result.not_priced] == ["Odd"]
    assert reason in result.not_priced[0].reason
    assert not lines_of(result, "Odd"), "nothing of a resource that is not priced is counted"


def test_a_paid_managed_rule_group_is_named_while_the_web_acl_is_counted() -> None:
    rules = [{"Name": name, "Priority": i, "Statement": {"ManagedRuleGroupStatement": {
        "VendorName": "AWS", "Name": name}}}
        for i, name in enumerate(["AWSManagedRulesCommonRuleSet",
                                  "AWSManagedRulesBotControlRuleSet"])]
    result = estimate(inline({"Acl": {"Type": "AWS::WAFv2::WebACL",
                                      "Properties": {"Scope": "REGIONAL", "Rules": rules}}}),
                      hours=1)
    expected = (usd("us-east-1", "waf", "web_acl_month") / MONTH
                + 2 * usd("us-east-1", "waf", "rule_month") / MONTH
                + usage("waf_million_requests_per_hour") * usd("us-east-1", "waf",
                                                                "million_requests"))
    assert_totals(result, expected, 1)
    assert len(result.not_priced) == 1
    assert "AWSManagedRulesBotControlRuleSet" in result.not_priced[0].reason


# -- counting rules -------------------------------------------------------------------------------
def test_an_elastic_ip_of_an_instance_replaces_its_launch_address() -> None:
    server = {"Type": "AWS::EC2::Instance",
              "Properties": {"InstanceType": "t3.micro", "ImageId": "ami-1"}}
    result = estimate(inline({"Server": server,
                              "Address": {"Type": "AWS::EC2::EIP",
                                          "Properties": {"InstanceId": {"Ref": "Server"}}}}),
                      hours=1)
    region = "us-east-1"
    expected = (usd(region, "ec2_instance", "t3.micro")
                + usage("root_volume_gib") * usd(region, "ebs_volume", "gp3") / MONTH
                + usd(region, "public_ipv4", "address_hour"))  # once: the EIP's
    assert_totals(result, expected, 1)
    assert lines_of(result, "Address")[0].description.endswith("of instance Server")
    root = lines_of(result, "Server")[1]
    assert "no root volume size" in (root.assumption or "")


def test_an_instance_in_a_public_subnet_gets_an_address_and_a_private_one_does_not() -> None:
    def subnet(public: bool) -> dict[str, Any]:
        return {"Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24",
                               "MapPublicIpOnLaunch": public}}

    def server(subnet_id: str) -> dict[str, Any]:
        return {"Type": "AWS::EC2::Instance",
                "Properties": {"InstanceType": "t3.micro", "SubnetId": {"Ref": subnet_id}}}

    result = estimate(inline({"Public": subnet(True), "Private": subnet(False),
                              "A": server("Public"), "B": server("Private")}), hours=1)
    assert [line.unit for line in lines_of(result, "A")][-1] == "address-hour"
    assert "address-hour" not in [line.unit for line in lines_of(result, "B")]


def test_an_internal_load_balancer_has_no_public_address() -> None:
    result = estimate(inline({"Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                                     "Properties": {"Scheme": "internal",
                                                    "Subnets": ["s-1", "s-2", "s-3"]}}}),
                      hours=1)
    expected = usd("us-east-1", "alb", "hour") \
        + usage("alb_lcu_per_hour") * usd("us-east-1", "alb", "lcu_hour")
    assert_totals(result, expected, 1)


def test_a_nat_gateway_whose_elastic_ip_lives_elsewhere_is_counted_without_it() -> None:
    result = estimate(inline({"Nat": {"Type": "AWS::EC2::NatGateway",
                                      "Properties": {"AllocationId": "eipalloc-0123",
                                                     "SubnetId": "subnet-1"}}},
                             region="ap-northeast-2"), hours=4)
    region = "ap-northeast-2"
    expected = usd(region, "nat_gateway", "hour") \
        + usage("nat_gb_per_hour") * usd(region, "nat_gateway", "gb_processed")
    assert_totals(result, expected, 4)
    assert "outside this template" in lines_of(result, "Nat")[0].description


def test_an_auto_scaling_group_without_desired_capacity_runs_its_minimum() -> None:
    result = estimate(inline({
        "Config": {"Type": "AWS::AutoScaling::LaunchConfiguration",
                   "Properties": {"InstanceType": "t3.small", "ImageId": "ami-1",
                                  "AssociatePublicIpAddress": True}},
        "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup",
                  "Properties": {"MinSize": "3", "MaxSize": "5",
                                 "LaunchConfigurationName": {"Ref": "Config"}}}}), hours=1)
    region = "us-east-1"
    expected = 3 * (usd(region, "ec2_instance", "t3.small")
                    + usage("root_volume_gib") * usd(region, "ebs_volume", "gp3") / MONTH
                    + usd(region, "public_ipv4", "address_hour"))
    assert_totals(result, expected, 1)
    assert "minimum size" in lines_of(result, "Group")[0].description
    assert lines_of(result, "Config")[0].no_charge


def test_cache_nodes_of_cluster_mode_and_of_a_plain_cluster() -> None:
    result = estimate(inline({
        "Sharded": {"Type": "AWS::ElastiCache::ReplicationGroup",
                    "Properties": {"CacheNodeType": "cache.t3.small", "NumNodeGroups": 2,
                                   "ReplicasPerNodeGroup": 1}},
        "Single": {"Type": "AWS::ElastiCache::CacheCluster",
                   "Properties": {"Engine": "redis", "CacheNodeType": "cache.t4g.micro",
                                  "NumCacheNodes": 1}}}), hours=1)
    expected = 4 * usd("us-east-1", "elasticache_node", "redis/cache.t3.small") \
        + usd("us-east-1", "elasticache_node", "redis/cache.t4g.micro")
    assert_totals(result, expected, 1)


def test_alarms_count_each_metric_and_bill_high_resolution_higher() -> None:
    metric = {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization"}
    result = estimate(inline({
        "Math": {"Type": "AWS::CloudWatch::Alarm",
                 "Properties": {"Metrics": [
                     {"Id": "a", "MetricStat": {"Metric": metric, "Period": 300, "Stat": "Sum"}},
                     {"Id": "b", "MetricStat": {"Metric": metric, "Period": 300, "Stat": "Max"}},
                     {"Id": "e", "Expression": "a + b"}],
                     "EvaluationPeriods": 1, "Threshold": 1,
                     "ComparisonOperator": "GreaterThanThreshold"}},
        "Fast": {"Type": "AWS::CloudWatch::Alarm",
                 "Properties": {**metric, "Period": 10, "Statistic": "Average",
                                "EvaluationPeriods": 1, "Threshold": 1,
                                "ComparisonOperator": "GreaterThanThreshold"}}}), hours=1)
    expected = (2 * usd("us-east-1", "cloudwatch_alarm", "standard")
                + usd("us-east-1", "cloudwatch_alarm", "high_resolution")) / MONTH
    assert_totals(result, expected, 1)


def test_a_multi_az_mysql_8_0_pays_extended_support_for_both_instances() -> None:
    db = {"Type": "AWS::RDS::DBInstance",
          "Properties": {"Engine": "mysql", "EngineVersion": "8.0.39",
                         "DBInstanceClass": "db.t4g.micro", "AllocatedStorage": 30,
                         "MultiAZ": "true", "StorageType": "gp2", "PubliclyAccessible": True}}
    region = "ap-northeast-2"
    result = estimate(inline({"Db": db}, region=region), hours=4, on=AFTER_MYSQL_80)
    expected = (usd(region, "rds_instance", "mysql/db.t4g.micro/multi-az")
                + 30 * usd(region, "rds_storage", "gp2/multi-az") / MONTH
                + 4 * usd(region, "rds_extended_support", "mysql/8.0")
                + usd(region, "public_ipv4", "address_hour"))
    assert_totals(result, expected, 4)
    opted_out = {**db, "Properties": {**db["Properties"], "EngineVersion": "8.4.3"}}
    newer = estimate(inline({"Db": opted_out}, region=region), hours=4, on=AFTER_MYSQL_80)
    assert_totals(newer, expected - 4 * usd(region, "rds_extended_support", "mysql/8.0"), 4)


def test_unconfirmed_prices_are_called_out() -> None:
    result = estimate(resolved("web-server", "ap-northeast-2", instance_type="t2.micro"), hours=1)
    assert any("not confirmed" in text and "t2.micro" in text for text in result.assumptions)
    confirmed = estimate(resolved("web-server", "ap-northeast-2"), hours=1)
    assert not any("not confirmed" in text for text in confirmed.assumptions)


# -- refused input --------------------------------------------------------------------------------
def test_a_region_without_prices_is_refused_naming_the_priced_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        estimate(resolved("web-server", "eu-west-1"), hours=4)
    message = caught.value.field_errors["region"]
    assert "eu-west-1" in message and "ap-northeast-2" in message and "us-east-1" in message


@pytest.mark.parametrize("hours", [0, -1, MAX_HOURS + 1, float("nan"), float("inf"), True, "4"])
def test_hours_outside_the_lease_range_are_refused(hours: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        estimate(resolved("web-server", "us-east-1"), hours=hours)
    assert set(caught.value.field_errors) == {"hours"}


@pytest.mark.parametrize("hours", [0.25, MAX_HOURS])
def test_hours_inside_the_range_are_accepted(hours: float) -> None:
    result = estimate(resolved("web-server", "us-east-1"), hours=hours)
    assert_usd(result.total_usd, web_server_hourly("us-east-1") * Decimal(str(hours)))
