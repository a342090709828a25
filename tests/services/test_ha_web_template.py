"""The ha-web template: what makes it safe and highly available, in its CloudFormation and its
Terraform, and a launch of it on the embedded cloud."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from services import environment_service as environments
from services.catalog_service import TemplateManifest
from services.context import PortalContext
from services.errors import ValidationError
from services.identity import Actor, Role
from services.render_service import RenderedTemplate, portal_tags, render, validate_parameters

from tests.templates_support import catalog, cfn_document
from tests.templates_support import hcl_load

TIERS = {"network", "edge", "app", "data", "observability"}
ALICE = Actor("alice", Role.STUDENT)
TerraformResources = dict[tuple[str, str], dict[str, Any]]


def manifest() -> TemplateManifest:
    return catalog().get_template("ha-web")


def cfn() -> dict[str, Any]:
    return cfn_document(manifest())


def resources_of(doc: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in doc["Resources"].items() if r["Type"] == resource_type}


def unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def terraform_resources(module: str | None = None) -> TerraformResources:
    folder = manifest().terraform_dir / ("modules/" + module if module else "")
    found: TerraformResources = {}
    for block in hcl_load(folder / "main.tf").get("resource", []):
        for resource_type, named in block.items():
            for name, body in named.items():
                found[(unquote(resource_type), unquote(name))] = body
    return found


def rendered_defaults() -> RenderedTemplate:
    template = manifest()
    return render(template, validate_parameters(template, {}),
                  cloudformation_text=template.cloudformation_path.read_text(), region="us-east-1",
                  tags=portal_tags(env_id="0123456789", owner="alice", template_id="ha-web"))


def walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a nested document, lists flattened under their key."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k), v
            yield from walk(v, str(k))
    elif isinstance(value, list):
        for item in value:
            yield from walk(item, key)


def ingress_rules(doc: dict[str, Any], group: str) -> list[dict[str, Any]]:
    """The group's inline rules and every AWS::EC2::SecurityGroupIngress that points at it."""
    rules = list(doc["Resources"][group]["Properties"].get("SecurityGroupIngress", []))
    for ingress in resources_of(doc, "AWS::EC2::SecurityGroupIngress").values():
        if group in str(ingress["Properties"].get("GroupId")):
            rules.append(ingress["Properties"])
    return rules


# -------------------------------------------------------------------------------------------- edge


def test_admin_protection_spares_the_admin_path_and_nothing_else() -> None:
    acl = resources_of(cfn(), "AWS::WAFv2::WebACL")["WebAcl"]["Properties"]
    rules = {r["Name"]: r for r in acl["Rules"]}
    assert set(rules) == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                          "AWSManagedRulesAdminProtectionRuleSet"}
    group = rules["AWSManagedRulesAdminProtectionRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    match = group["ScopeDownStatement"]["NotStatement"]["Statement"]["ByteMatchStatement"]
    assert match["SearchString"] == {"Ref": "AdminPath"}
    assert match["FieldToMatch"] == {"UriPath": {}}
    assert match["PositionalConstraint"] == "STARTS_WITH"
    assert match["TextTransformations"] == [{"Priority": 0, "Type": "NONE"}]
    for name in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        assert "ScopeDownStatement" not in rules[name]["Statement"]["ManagedRuleGroupStatement"]

    tf_acl = terraform_resources("edge")[("aws_wafv2_web_acl", "this")]
    tf_rules = {unquote(r["name"]): r for r in tf_acl["rule"]}
    assert set(tf_rules) == set(rules)
    tf_group = tf_rules["AWSManagedRulesAdminProtectionRuleSet"]["statement"][0][
        "managed_rule_group_statement"][0]
    tf_match = tf_group["scope_down_statement"][0]["not_statement"][0]["statement"][0][
        "byte_match_statement"][0]
    assert tf_match["search_string"] == "${var.admin_path}"
    assert unquote(tf_match["positional_constraint"]) == "STARTS_WITH"
    assert "uri_path" in tf_match["field_to_match"][0]
    assert unquote(tf_match["text_transformation"][0]["type"]) == "NONE"


def test_web_acl_is_regional_and_guards_the_load_balancer() -> None:
    doc = cfn()
    acl = doc["Resources"]["WebAcl"]["Properties"]
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    association = resources_of(doc, "AWS::WAFv2::WebACLAssociation")["WebAclAssociation"]
    assert association["Properties"] == {"ResourceArn": {"Ref": "LoadBalancer"},
                                         "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]}}
    assert doc["Resources"]["LoadBalancer"]["Properties"]["Scheme"] == "internet-facing"


@pytest.mark.parametrize(
    ("admin_path", "accepted"),
    [("/admin/", True), ("/staff-only/console", True), ("/", False), ("admin/", False),
     ("/admin/?x=1", False), ("/" + "a" * 200, False)],
)
def test_admin_path_may_not_exempt_the_whole_site(admin_path: str, accepted: bool) -> None:
    # "/" would match every request and switch the admin protection off for all of them.
    if accepted:
        values = validate_parameters(manifest(), {"admin_path": admin_path})
        assert values["admin_path"] == admin_path
    else:
        with pytest.raises(ValidationError) as caught:
            validate_parameters(manifest(), {"admin_path": admin_path})
        assert "admin_path" in caught.value.field_errors


# --------------------------------------------------------------------------------- security groups


@pytest.mark.parametrize(
    ("group", "port", "source"),
    [("AppSecurityGroup", 80, "AlbSecurityGroup"), ("DbSecurityGroup", 3306, "AppSecurityGroup"),
     ("CacheSecurityGroup", 6379, "AppSecurityGroup")],
)
def test_each_tier_admits_only_the_security_group_in_front_of_it(group: str, port: int,
                                                                 source: str) -> None:
    rules = ingress_rules(cfn(), group)
    assert rules
    for rule in rules:
        assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [source, "GroupId"]}
        assert not {"CidrIp", "CidrIpv6", "SourcePrefixListId"} & set(rule)
        assert (int(rule["FromPort"]), int(rule["ToPort"])) == (port, port)
        assert rule["IpProtocol"] == "tcp"


@pytest.mark.parametrize(
    ("module", "rule", "port", "source"),
    [("app", "http_from_alb", 80, "${var.alb_security_group_id}"),
     ("data", "mariadb_from_app", 3306, "${var.app_security_group_id}"),
     ("data", "redis_from_app", 6379, "${var.app_security_group_id}")],
)
def test_terraform_tiers_admit_only_the_security_group_in_front(module: str, rule: str, port: int,
                                                               source: str) -> None:
    found = terraform_resources(module)
    body = found[("aws_vpc_security_group_ingress_rule", rule)]
    assert body["referenced_security_group_id"] == source
    assert (body["from_port"], body["to_port"]) == (port, port)
    ingress = [b for (kind, _), b in found.items() if kind == "aws_vpc_security_group_ingress_rule"]
    assert all("cidr_ipv4" not in b and "cidr_ipv6" not in b for b in ingress)


def test_no_ssh_and_no_key_pair_anywhere() -> None:
    doc = cfn()
    for group in resources_of(doc, "AWS::EC2::SecurityGroup"):
        for rule in ingress_rules(doc, group):
            assert not int(rule["FromPort"]) <= 22 <= int(rule["ToPort"]), group
    data = doc["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert "KeyName" not in data
    assert not {"ssh_cidr", "key_name"} & {p.name for p in manifest().parameters}
    every_tf = "\n".join(p.read_text() for p in manifest().terraform_dir.rglob("*.tf"))
    assert "key_name" not in every_tf and "22" not in re.findall(r"port\s*=\s*(\d+)", every_tf)


# ----------------------------------------------------------------------------------------- network


def test_nat_resources_all_carry_the_use_nat_gateway_condition() -> None:
    doc = cfn()
    assert doc["Conditions"]["UseNatGateway"] == {
        "Fn::Equals": [{"Ref": "EnableNatGateway"}, "true"]}
    nat = {name for name, r in doc["Resources"].items()
           if r["Type"] in ("AWS::EC2::EIP", "AWS::EC2::NatGateway")
           or "NatGatewayId" in r.get("Properties", {})}
    assert nat == {"NatEip", "NatGateway", "PrivateDefaultRoute"}
    for name in nat:
        assert doc["Resources"][name]["Condition"] == "UseNatGateway", name
    # Whatever refers to a NAT resource exists only under the same condition.
    for name, resource in doc["Resources"].items():
        refs = {v if isinstance(v, str) else v[0] for k, v in walk(resource)
                if k in ("Ref", "Fn::GetAtt")}
        if refs & nat:
            assert resource.get("Condition") == "UseNatGateway", name

    network = terraform_resources("network")
    for key in (("aws_eip", "nat"), ("aws_nat_gateway", "this"), ("aws_route", "private_default")):
        assert network[key]["count"] == "${var.enable_nat_gateway ? 1 : 0}", key


def test_private_subnets_reach_s3_through_a_free_gateway_endpoint() -> None:
    doc = cfn()
    endpoint = doc["Resources"]["S3GatewayEndpoint"]
    assert "Condition" not in endpoint
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert endpoint["Properties"]["RouteTableIds"] == [{"Ref": "PrivateRouteTable"}]
    associations = {r["Properties"]["SubnetId"]["Ref"]: r["Properties"]["RouteTableId"]["Ref"]
                    for r in resources_of(doc, "AWS::EC2::SubnetRouteTableAssociation").values()}
    assert associations == {
        "PublicSubnetA": "PublicRouteTable", "PublicSubnetB": "PublicRouteTable",
        "PrivateSubnetA": "PrivateRouteTable", "PrivateSubnetB": "PrivateRouteTable"}
    tf_endpoint = terraform_resources("network")[("aws_vpc_endpoint", "s3")]
    assert unquote(tf_endpoint["vpc_endpoint_type"]) == "Gateway" and "count" not in tf_endpoint


# ----------------------------------------------------------------------------------------- secrets


def test_no_password_reaches_the_rendered_code() -> None:
    rendered = rendered_defaults()
    assert not any("password" in p["ParameterKey"].lower()
                   for p in rendered.cloudformation_parameters)
    assert "password" not in rendered.tfvars.lower()
    # An assignment of a value to anything called a password, in any file or script.
    assignment = re.compile(r"password(?!length)\w*\s*[=:]\s*(?!true\b)\S", re.IGNORECASE)
    texts = {"cloudformation.yaml": rendered.cloudformation_template, **rendered.terraform_files}
    for path, text in texts.items():
        for line in text.splitlines():
            if assignment.search(line):
                assert "{{resolve:secretsmanager:" in line, (path, line)

    doc = cfn_document(manifest())
    reference = {"Fn::Sub": "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:password}}"}
    for key, value in walk(doc["Resources"]):
        if "password" in key.lower() and key != "PasswordLength":
            assert value is True or value == reference, key
    secret = doc["Resources"]["DatabaseSecret"]["Properties"]["GenerateSecretString"]
    assert secret["GenerateStringKey"] == "password"
    assert set('"@/\\ ') <= set(secret["ExcludeCharacters"])
    for output in doc["Outputs"].values():
        assert "SecretString" not in str(output["Value"])

    db = terraform_resources("data")[("aws_db_instance", "this")]
    assert db["manage_master_user_password"] is True
    assert not {k for k in db if "password" in k} - {"manage_master_user_password"}


# --------------------------------------------------------------------------------------------- app


def test_bundle_bucket_is_encrypted_versioned_and_private() -> None:
    bucket = cfn()["Resources"]["BundleBucket"]["Properties"]
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}

    app = terraform_resources("app")
    block = app[("aws_s3_bucket_public_access_block", "bundles")]
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy",
                                           "ignore_public_acls", "restrict_public_buckets"))
    versioning = app[("aws_s3_bucket_versioning", "bundles")]["versioning_configuration"][0]
    assert unquote(versioning["status"]) == "Enabled"
    encryption = app[("aws_s3_bucket_server_side_encryption_configuration", "bundles")]
    assert unquote(encryption["rule"][0]["apply_server_side_encryption_by_default"][0][
        "sse_algorithm"]) in ("AES256", "aws:kms")
    ownership = app[("aws_s3_bucket_ownership_controls", "bundles")]["rule"][0]
    assert unquote(ownership["object_ownership"]) == "BucketOwnerEnforced"


def test_the_group_replaces_servers_the_load_balancer_finds_unhealthy_in_private_subnets() -> None:
    doc = cfn()
    group = doc["Resources"]["AutoScalingGroup"]["Properties"]
    assert group["HealthCheckType"] == "ELB" and int(group["HealthCheckGracePeriod"]) > 0
    assert group["VPCZoneIdentifier"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
    assert group["TargetGroupARNs"] == [{"Ref": "TargetGroup"}]
    zones = {doc["Resources"][s]["Properties"]["AvailabilityZone"]["Fn::Select"][0]
             for s in ("PrivateSubnetA", "PrivateSubnetB")}
    assert zones == {0, 1}
    target_group = doc["Resources"]["TargetGroup"]["Properties"]
    assert target_group["HealthCheckPath"] == {"Ref": "HealthCheckPath"}
    data = doc["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True

    tf_group = terraform_resources("app")[("aws_autoscaling_group", "app")]
    assert unquote(tf_group["health_check_type"]) == "ELB"
    assert tf_group["vpc_zone_identifier"] == "${var.private_subnet_ids}"
    root = hcl_load(manifest().terraform_dir / "main.tf")
    modules = {unquote(name): body for block in root["module"] for name, body in block.items()}
    assert modules["app"]["private_subnet_ids"] == "${module.network.private_subnet_ids}"


def test_servers_are_replaced_not_edited_when_their_launch_template_changes() -> None:
    app = terraform_resources("app")
    template = app[("aws_launch_template", "app")]
    assert "templatefile(" in template["user_data"]
    assert (manifest().terraform_dir / "modules/app/user_data.sh.tftpl").is_file()
    group = app[("aws_autoscaling_group", "app")]
    assert group["launch_template"][0]["version"] == "${aws_launch_template.app.latest_version}"
    assert unquote(group["instance_refresh"][0]["strategy"]) == "Rolling"
    assert group["lifecycle"][0]["create_before_destroy"] is True
    assert "name_prefix" in group and "name" not in group

    resource = cfn()["Resources"]["AutoScalingGroup"]
    assert resource["Properties"]["LaunchTemplate"]["Version"] == {
        "Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]}
    assert int(resource["UpdatePolicy"]["AutoScalingRollingUpdate"]["MaxBatchSize"]) == 1


def test_redis_fails_over_only_with_a_replica() -> None:
    doc = cfn()
    cache = doc["Resources"]["CacheReplicationGroup"]["Properties"]
    assert cache["NumCacheClusters"] == {"Ref": "CacheNodes"}
    for flag in ("AutomaticFailoverEnabled", "MultiAZEnabled"):
        assert cache[flag] == {"Fn::If": ["SingleCacheNode", False, True]}
    assert doc["Conditions"]["SingleCacheNode"]["Fn::Equals"][0] == {"Ref": "CacheNodes"}
    assert cache["AtRestEncryptionEnabled"] is True
    tf_cache = terraform_resources("data")[("aws_elasticache_replication_group", "this")]
    assert tf_cache["automatic_failover_enabled"] == "${var.cache_nodes > 1}"
    assert tf_cache["multi_az_enabled"] == "${var.cache_nodes > 1}"


# ---------------------------------------------------------------------------------- every resource


def test_every_resource_belongs_to_a_tier() -> None:
    resources = cfn()["Resources"]
    tiers = {name: r.get("Metadata", {}).get("Tier") for name, r in resources.items()}
    assert {name: tier for name, tier in tiers.items() if tier not in TIERS} == {}
    assert set(tiers.values()) == TIERS


def test_every_taggable_resource_has_a_name() -> None:
    for name, resource in cfn()["Resources"].items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource["Type"])
        properties = resource.get("Properties", {})
        if "Tags" in schema.schema.get("properties", {}):
            tags = properties.get("Tags", [])
        elif resource["Type"] == "AWS::EC2::LaunchTemplate":
            tags = [t for spec in properties["TagSpecifications"] for t in spec["Tags"]]
        else:
            continue
        assert "Name" in {t["Key"] for t in tags}, name


# ---------------------------------------------------------------------------------- embedded cloud


def _tagged_instances(ctx: PortalContext, env_id: str) -> list[dict[str, Any]]:
    pages = ctx.connection.client("ec2").describe_instances(Filters=[
        {"Name": "tag:sandbox:env-id", "Values": [env_id]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    return [i for r in pages["Reservations"] for i in r["Instances"]]


@pytest.mark.xdist_group("embedded-cloud")
def test_launch_builds_every_tier_and_destroy_leaves_nothing(ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="ha-web", parameters={})
    assert env.status == "ready", env.status_reason
    outputs = env.outputs_by_name
    assert set(outputs) == {o.name for o in manifest().outputs}
    assert re.fullmatch(r"http://[\w.-]+\.elb\.amazonaws\.com", outputs["app_url"])
    assert outputs["app_url"] == f"http://{outputs['alb_dns_name']}"
    assert outputs["web_acl_arn"].startswith("arn:aws:wafv2:")
    assert outputs["db_endpoint"].endswith(".rds.amazonaws.com") and outputs["db_port"] == "3306"
    assert outputs["db_secret_arn"].startswith("arn:aws:secretsmanager:")
    assert outputs["cache_endpoint"].endswith(".cache.amazonaws.com")
    assert outputs["log_group"] == f"/sandbox/{env.deployment_name}/app"
    try:
        ec2 = ctx.connection.client("ec2")
        private = {s["SubnetId"] for s in ec2.describe_subnets(Filters=[
            {"Name": "tag:sandbox:env-id", "Values": [env.env_id]},
            {"Name": "tag:Name", "Values": [f"{env.deployment_name}-private-a",
                                            f"{env.deployment_name}-private-b"]}])["Subnets"]}
        assert len(private) == 2
        group = ctx.connection.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[outputs["asg_name"]])["AutoScalingGroups"][0]
        assert group["HealthCheckType"] == "ELB" and group["DesiredCapacity"] == 2
        assert set(group["VPCZoneIdentifier"].split(",")) == private
        servers = _tagged_instances(ctx, env.env_id)
        assert len(servers) == 2
        assert all(s["SubnetId"] in private and not s.get("PublicIpAddress") for s in servers)
        launched_from = {t["Value"] for s in servers for t in s["Tags"]
                         if t["Key"] == "aws:ec2launchtemplate:id"}
        assert len(launched_from) == 1
        version = ec2.describe_launch_template_versions(
            LaunchTemplateId=launched_from.pop(), Versions=["$Latest"])["LaunchTemplateVersions"][0]
        assert version["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"

        db = next(d for d in ctx.connection.client("rds").describe_db_instances()["DBInstances"]
                  if d["Endpoint"]["Address"] == outputs["db_endpoint"])
        assert (db["Engine"], db["PubliclyAccessible"], db["MultiAZ"]) == ("mariadb", False, False)
        db_groups = ec2.describe_security_groups(
            GroupIds=[g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]])["SecurityGroups"]
        app_group = {g["GroupId"] for s in servers for g in s["SecurityGroups"]}
        for permission in db_groups[0]["IpPermissions"]:
            assert not permission.get("IpRanges")
            assert {p["GroupId"] for p in permission["UserIdGroupPairs"]} == app_group
    finally:
        destroyed = environments.destroy(ctx, actor=ALICE, env_id=env.env_id)
    assert destroyed.status == "destroyed", destroyed.status_reason
    assert destroyed.latest_run.leftovers == []
    assert [str(r) for r in ctx.sweeper.find(env.env_id)] == []
    assert _tagged_instances(ctx, env.env_id) == []


@pytest.mark.xdist_group("embedded-cloud")
@pytest.mark.parametrize(
    ("parameters", "nat_gateways", "failover"),
    [({}, 0, "enabled"),
     ({"enable_nat_gateway": "true", "cache_nodes": "1", "instance_type": "m6i.large"}, 1,
      "disabled")],
    ids=["defaults", "nat-single-cache-node"],
)
def test_conditions_follow_the_parameters(ctx: PortalContext, parameters: dict[str, str],
                                          nat_gateways: int, failover: str) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="ha-web", parameters=parameters)
    assert env.status == "ready", env.status_reason
    try:
        ec2 = ctx.connection.client("ec2")
        nats = ec2.describe_nat_gateways(Filter=[
            {"Name": "tag:sandbox:env-id", "Values": [env.env_id]},
            {"Name": "state", "Values": ["pending", "available"]}])["NatGateways"]
        assert len(nats) == nat_gateways
        cache = next(g for g in ctx.connection.client("elasticache").describe_replication_groups()[
            "ReplicationGroups"] if g["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
            == env.outputs_by_name["cache_endpoint"])
        assert cache["AutomaticFailover"] == failover
        assert len(cache["MemberClusters"]) == int(parameters.get("cache_nodes", 2))
        instance_types = {i["InstanceType"] for i in _tagged_instances(ctx, env.env_id)}
        assert instance_types == {parameters.get("instance_type", "t3.micro")}
    finally:
        assert environments.destroy(ctx, actor=ALICE, env_id=env.env_id).status == "destroyed"
