"""Launch and destroy through the portal's facade with PORTAL_CLOUD=localstack, checked by
inventory: what LocalStack really made exists after launch, what it only recorded is named, and
nothing of the environment is left after destroy."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from services import environment_service as environments
from services.clouds import localstack, localstack_records, status
from services.context import PortalContext
from services.engines.base import DeployedResource
from services.errors import TargetUnavailableError
from services.settings import Settings
from tests.localstack.conftest import OPERATOR, REGION

pytestmark = [pytest.mark.localstack, pytest.mark.xdist_group("localstack")]
ENV_TAG = "sandbox:env-id"

# What LocalStack 2026.3.0 (free edition, host mode) marks CREATE_COMPLETE without creating it.
RECORD_ONLY = {
    "web-server": set(),
    "three-tier": {"Database", "DbSubnetGroup"},
    "ha-web": {"LoadBalancer", "TargetGroup", "HttpListener", "AutoScalingGroup",
               "CpuTargetTracking", "LaunchTemplate", "Database", "DbSubnetGroup",
               "CacheReplicationGroup", "CacheSubnetGroup", "CodeDeployApplication",
               "DeploymentGroup", "WebAcl", "WebAclAssociation"},
}
RESOURCES = {"web-server": 9, "three-tier": 14, "ha-web": 42}


def _deployed(view: environments.EnvironmentView) -> list[DeployedResource]:
    return [DeployedResource(r["logical_id"], r["type"], r["physical_id"] or None, r["status"])
            for r in view.resources or []]


def _tagged(ctx: PortalContext, env_id: str) -> list[str]:
    """Whatever carries the environment's tag: EC2 through its own filters (exact about state),
    everything else through the tagging API."""
    ec2 = ctx.connection.client("ec2")
    tag = [{"Name": f"tag:{ENV_TAG}", "Values": [env_id]}]
    found = [i["InstanceId"] for r in ec2.describe_instances(Filters=tag)["Reservations"]
             for i in r["Instances"] if i["State"]["Name"] != "terminated"]
    lists: list[tuple[str, dict[str, Any], str, str]] = [
        ("describe_vpcs", {"Filters": tag}, "Vpcs", "VpcId"),
        ("describe_subnets", {"Filters": tag}, "Subnets", "SubnetId"),
        ("describe_security_groups", {"Filters": tag}, "SecurityGroups", "GroupId"),
        ("describe_route_tables", {"Filters": tag}, "RouteTables", "RouteTableId"),
        ("describe_internet_gateways", {"Filters": tag}, "InternetGateways",
         "InternetGatewayId"),
        ("describe_vpc_endpoints", {"Filters": tag}, "VpcEndpoints", "VpcEndpointId"),
        ("describe_addresses", {"Filters": tag}, "Addresses", "AllocationId"),
        ("describe_nat_gateways", {"Filter": tag}, "NatGateways", "NatGatewayId"),
    ]
    for operation, kwargs, key, name in lists:
        items = getattr(ec2, operation)(**kwargs)[key]
        found += [item[name] for item in items if item.get("State") not in ("deleted",)]
    tagging = ctx.connection.client("resourcegroupstaggingapi")
    found += [m["ResourceARN"] for page in tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": ENV_TAG, "Values": [env_id]}])
        for m in page["ResourceTagMappingList"]]
    return found


@pytest.mark.parametrize("template_id", ["web-server", "three-tier", "ha-web"])
def test_launch_creates_what_localstack_can_and_destroy_leaves_nothing(
        localstack_ctx: PortalContext, template_id: str) -> None:
    ctx = localstack_ctx
    launched = environments.launch(ctx, actor=OPERATOR, template_id=template_id,
                                   parameters={})
    env_id = launched.env_id
    assert launched.status == "ready", launched.status_reason
    assert launched.cloud == "localstack" and launched.region == REGION
    view = environments.get_environment(ctx, actor=OPERATOR, env_id=env_id, with_resources=True)
    resources = _deployed(view)
    assert len(resources) == RESOURCES[template_id]
    assert all(r.status == "CREATE_COMPLETE" for r in resources)

    checks = localstack_records.check_resources(ctx.connection, resources)
    made = {c.resource.logical_id for c in checks if c.exists is True}
    records = localstack_records.unbacked_resources(ctx.connection, resources)
    assert {c.resource.logical_id for c in records} == RECORD_ONLY[template_id]
    # The environment says so to its student.
    if RECORD_ONLY[template_id]:
        assert launched.status_reason is not None
        assert launched.status_reason.startswith(
            f"localstack reported {len(RECORD_ONLY[template_id])} resources complete without "
            "creating them")
        assert all(f"{name} (" in launched.status_reason for name in RECORD_ONLY[template_id])
    else:
        assert launched.status_reason is None
    assert made == {r.logical_id for r in resources} - RECORD_ONLY[template_id]
    assert all(c.exists is not None for c in checks), [c for c in checks if c.exists is None]
    instances = [r.physical_id for r in resources if r.resource_type == "AWS::EC2::Instance"]
    if instances:
        # The instance students use really runs.
        instance = ctx.connection.client("ec2").describe_instances(
            InstanceIds=instances)["Reservations"][0]["Instances"][0]
        assert instance["State"]["Name"] == "running"

    destroyed = environments.destroy(ctx, actor=OPERATOR, env_id=env_id)
    assert destroyed.status == "destroyed", destroyed.status_reason
    # LocalStack does not copy a stack's tags onto its resources, so this finds little even
    # before the destroy; the checks below are what prove the resources gone.
    assert _tagged(ctx, env_id) == []
    # Everything that really existed is gone, checked one by one in its own service.
    after = localstack_records.check_resources(ctx.connection, [c.resource for c in checks
                                                                if c.exists])
    assert [c for c in after if c.exists is not False] == []


def test_record_only_outputs_read_unknown(localstack_ctx: PortalContext) -> None:
    launched = environments.launch(localstack_ctx, actor=OPERATOR, template_id="three-tier",
                                   parameters={})
    try:
        assert launched.status == "ready", launched.status_reason
        outputs = launched.outputs_by_name
        # The database is only a record: its endpoint is LocalStack's placeholder.
        assert outputs["db_endpoint"] == "unknown"
        assert outputs["web_public_ip"] not in ("", "unknown")
    finally:
        environments.destroy(localstack_ctx, actor=OPERATOR, env_id=launched.env_id)


def test_a_launch_on_a_localstack_that_is_not_running_is_refused_before_it_is_recorded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nothing = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for name in ("AWS_ENDPOINT_URL", "PORTAL_LOCALSTACK_ENDPOINT", "PORTAL_TEMPLATES_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(localstack, "DEFAULT_ENDPOINT", nothing)
    status.forget_cached()
    settings = Settings(data_dir=tmp_path / "data", cloud="localstack", region=REGION,
                        database_url=f"sqlite:///{tmp_path / 'history.db'}")
    ctx = PortalContext(settings)
    with pytest.raises(TargetUnavailableError) as refused:
        environments.launch(ctx, actor=OPERATOR, template_id="web-server", parameters={})
    assert refused.value.fix == localstack.START_FIX
    assert environments.list_environments(ctx, actor=OPERATOR) == []
