"""Launches as AWS makes them (`ec2`): instance-store mappings, volumes and interfaces deleted
with their instance, Iops read from the mapping, and no instance left by a launch that failed
half-way; over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    AMI, NETWORK, delete_stack, failing_create, launch_stack,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def _server(mappings: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Type": "AWS::EC2::Instance", "Properties": {
        "ImageId": AMI, "InstanceType": "m5d.large", "SubnetId": {"Ref": "SubnetA"},
        "BlockDeviceMappings": mappings}}


def test_ephemeral_drives_launch_and_volumes_go_with_their_instance(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"Server": _server([
        {"DeviceName": "/dev/sdc", "VirtualName": "ephemeral0"},
        {"DeviceName": "/dev/sdd", "VirtualName": "ephemeral1"},
        {"DeviceName": "/dev/sde", "NoDevice": {}},
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": "12", "VolumeType": "gp3"}},
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 20, "VolumeType": "io1",
                                          "Iops": "400"}},
    ])})
    assert stack.status == "CREATE_COMPLETE"
    ec2 = ctx.connection.client("ec2")
    instance = ec2.describe_instances(InstanceIds=[stack.ids["Server"]])["Reservations"][0][
        "Instances"][0]
    devices = {m["DeviceName"]: m["Ebs"] for m in instance["BlockDeviceMappings"]}
    assert set(devices) == {"/dev/xvda", "/dev/sdf"}, "instance-store drives make no volume"
    assert all(ebs["DeleteOnTermination"] for ebs in devices.values())
    volumes = {v["VolumeId"]: v for v in ec2.describe_volumes(
        VolumeIds=[ebs["VolumeId"] for ebs in devices.values()])["Volumes"]}
    assert sorted((v["Size"], v["VolumeType"], v.get("Iops")) for v in volumes.values())[1] == \
        (20, "io1", 400)
    interfaces = [i["NetworkInterfaceId"] for i in instance["NetworkInterfaces"]]

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert ec2.describe_volumes(Filters=[{"Name": "volume-id",
                                          "Values": list(volumes)}])["Volumes"] == []
    assert ec2.describe_network_interfaces(Filters=[{"Name": "network-interface-id",
                                                     "Values": interfaces}])[
        "NetworkInterfaces"] == []


def test_a_launch_that_fails_on_its_volumes_leaves_no_instance(ctx: PortalContext) -> None:
    stack = failing_create(ctx, {"Resources": {**NETWORK, "Server": _server([
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 20, "VolumeType": "io1"}}])}},
        DisableRollback=True)
    assert stack.status == "CREATE_FAILED"
    assert stack.reasons["Server"].endswith("(Error Code: InvalidParameterDependency)")
    ec2 = ctx.connection.client("ec2")
    subnet_id = ctx.connection.client("cloudformation").describe_stack_resource(
        StackName=stack.name, LogicalResourceId="SubnetA")["StackResourceDetail"][
        "PhysicalResourceId"]
    assert ec2.describe_instances(Filters=[
        {"Name": "subnet-id", "Values": [subnet_id]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"] == []
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
