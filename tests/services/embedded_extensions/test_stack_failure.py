"""A failed create ends as AWS ends it (`stack_failure`), over HTTP: the resource's reason, the
rollback OnFailure asks for, nothing left behind, and never an HTTP 500."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    AMI, NETWORK, FailedCreate, delete_stack, failing_create, stack_events,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")

# A subnet outside its VPC's range: EC2 refuses it, after the VPC and a subnet were made.
BROKEN_NETWORK = {
    **NETWORK,
    "Outside": {"Type": "AWS::EC2::Subnet", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.99.1.0/24"}},
}


def _vpc_exists(ctx: PortalContext, vpc_id: str) -> bool:
    try:
        return bool(ctx.connection.client("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"])
    except ClientError:
        return False


def _made(ctx: PortalContext, stack: FailedCreate, logical_id: str) -> str:
    """The physical id the create events of `stack` gave `logical_id`."""
    return next(e["PhysicalResourceId"] for e in stack_events(ctx, stack.stack_id)
                if e["LogicalResourceId"] == logical_id and e["ResourceStatus"] ==
                "CREATE_COMPLETE")


def test_a_failed_create_rolls_back_what_it_made(ctx: PortalContext) -> None:
    stack = failing_create(ctx, {"Resources": BROKEN_NETWORK})

    assert stack.status == "ROLLBACK_COMPLETE"
    assert list(stack.reasons) == ["Outside"]
    assert "10.99.1.0/24" in stack.reasons["Outside"]
    assert stack.stack_reason == ("The following resource(s) failed to create: [Outside]. "
                                  "Rollback requested by user.")
    assert not _vpc_exists(ctx, _made(ctx, stack, "Vpc"))
    cloudformation = ctx.connection.client("cloudformation")
    described = cloudformation.describe_stacks(StackName=stack.name)["Stacks"][0]
    assert "Outputs" not in described
    assert cloudformation.list_stack_resources(StackName=stack.name)[
        "StackResourceSummaries"] == []
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_on_failure_delete_removes_the_stack_too(ctx: PortalContext) -> None:
    stack = failing_create(ctx, {"Resources": BROKEN_NETWORK}, OnFailure="DELETE")

    assert stack.status == "DELETE_COMPLETE"
    assert stack.stack_reason == ("The following resource(s) failed to create: [Outside]. "
                                  "Delete requested by user.")
    assert not _vpc_exists(ctx, _made(ctx, stack, "Vpc"))
    with pytest.raises(ClientError):
        ctx.connection.client("cloudformation").describe_stacks(StackName=stack.name)


def test_do_nothing_keeps_what_was_made_until_the_stack_is_deleted(ctx: PortalContext) -> None:
    stack = failing_create(ctx, {"Resources": BROKEN_NETWORK}, DisableRollback=True)

    assert stack.status == "CREATE_FAILED"
    vpc_id = _made(ctx, stack, "Vpc")
    assert _vpc_exists(ctx, vpc_id)
    listed = ctx.connection.client("cloudformation").list_stack_resources(
        StackName=stack.name)["StackResourceSummaries"]
    assert {s["LogicalResourceId"] for s in listed} == set(NETWORK)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert not _vpc_exists(ctx, vpc_id)


@pytest.mark.parametrize(("resource_type", "reason"), [
    ("AWS::Cognito::UserPool", "Resource type AWS::Cognito::UserPool is not supported by the "
                               "embedded cloud; launch on LocalStack or AWS to use it"),
    ("AWS::CloudFormation::CustomResource", "Custom resource AWS::CloudFormation::CustomResource "
                                            "is not supported by the embedded cloud"),
    ("Custom::Region", "Custom resource Custom::Region is not supported by the embedded cloud"),
])
def test_a_type_the_cloud_cannot_create_fails_with_its_name(ctx: PortalContext,
                                                            resource_type: str,
                                                            reason: str) -> None:
    started = time.monotonic()
    stack = failing_create(ctx, {"Resources": {
        **NETWORK,
        "Thing": {"Type": resource_type, "Properties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:nowhere"}},
        # A resource reading the unsupported one fails with it, never on its own.
        "Reader": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Type": "String", "Value": {"Fn::GetAtt": ["Thing", "Arn"]}}},
    }})
    assert time.monotonic() - started < 5, "a custom resource must not wait for its function"
    assert stack.status == "ROLLBACK_COMPLETE"
    assert list(stack.reasons) == ["Thing"]
    assert stack.reasons["Thing"].startswith(reason)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_an_output_that_cannot_be_evaluated_fails_the_create(ctx: PortalContext) -> None:
    stack = failing_create(ctx, {"Resources": NETWORK, "Outputs": {
        "Third": {"Value": {"Fn::Select": [2, [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]]}}}})

    assert stack.status == "ROLLBACK_COMPLETE"
    assert stack.reasons == {}
    assert stack.stack_reason == ("Template error: Fn::Select cannot select nonexistent value "
                                  "at index 2 Rollback requested by user.")
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_a_fault_inside_moto_is_a_reason_naming_the_resource(ctx: PortalContext) -> None:
    # moto's AWS::Batch::JobDefinition reads RetryStrategy unconditionally (KeyError).
    stack = failing_create(ctx, {"Resources": {"Job": {
        "Type": "AWS::Batch::JobDefinition", "Properties": {
            "Type": "container", "ContainerProperties": {"Image": "busybox", "Vcpus": 1,
                                                         "Memory": 128}}}}})
    assert stack.status == "ROLLBACK_COMPLETE"
    assert stack.reasons["Job"].startswith(
        "The embedded cloud (moto 5.2.5) cannot create this AWS::Batch::JobDefinition as "
        "declared: a property it uses is not supported there")
    assert "KeyError" not in stack.reasons["Job"]
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_an_instance_whose_create_failed_half_way_is_not_left_running(
        ctx: PortalContext) -> None:
    stack = failing_create(ctx, {"Resources": {**NETWORK, "Server": {
        "Type": "AWS::EC2::Instance", "Properties": {
            "ImageId": AMI, "InstanceType": "t3.micro", "SubnetId": {"Ref": "SubnetA"},
            "IamInstanceProfile": f"no-such-profile-{uuid.uuid4().hex[:6]}"}}}},
        DisableRollback=True)

    assert stack.status == "CREATE_FAILED"
    assert "Server" in stack.reasons
    subnet_id = _made(ctx, stack, "SubnetA")
    reservations = ctx.connection.client("ec2").describe_instances(Filters=[
        {"Name": "subnet-id", "Values": [subnet_id]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    assert reservations == []
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_what_a_failed_create_keeps_carries_the_stack_tags(ctx: PortalContext) -> None:
    # A retained resource outlives the rollback; its tags are how a sweep finds it.
    env_id = f"kept-{uuid.uuid4().hex[:8]}"
    stack = failing_create(ctx, {"Resources": {
        "Kept": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        "Gone": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "RetainExceptOnCreate"},
        **BROKEN_NETWORK,  # after the buckets: they are made before it fails
    }}, Tags=[{"Key": "sandbox:env-id", "Value": env_id}])

    assert stack.status == "ROLLBACK_COMPLETE"
    s3 = ctx.connection.client("s3")
    kept, gone = _made(ctx, stack, "Kept"), _made(ctx, stack, "Gone")
    assert {"Key": "sandbox:env-id", "Value": env_id} in s3.get_bucket_tagging(
        Bucket=kept)["TagSet"]
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=gone)
    s3.delete_bucket(Bucket=kept)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


@pytest.mark.parametrize(("template", "message"), [
    ({"Resources": {"Net": {"Type": {"Fn::Rain::Module": "vpc.yml"}}}},
     "Template format error: [/Resources/Net/Type] the Type of a resource must be a string"),
    ({"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Type": "String", "Value": {"Fn::Rain::Embed": "file.txt"}}}}},
     "Template format error: [/Resources/P/Properties/Value] Unrecognized function "
     "Fn::Rain::Embed"),
    ({"Transform": "AWS::Serverless-2016-10-31", "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}},
     "Template format error: Transform AWS::Serverless-2016-10-31 is not supported by the "
     "embedded cloud"),
    ({"Parameters": {"Image": {"Type": "AWS::SSM::Parameter::Value<String>",
                               "Default": "/no/such/parameter"}},
      "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}},
     "Unable to fetch parameters [/no/such/parameter] from parameter store for this account."),
])
def test_a_template_cloudformation_refuses_is_refused_at_once(ctx: PortalContext,
                                                              template: dict[str, Any],
                                                              message: str) -> None:
    name = f"ext-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as refused:
        ctx.connection.client("cloudformation").create_stack(
            StackName=name, TemplateBody=json.dumps(template))
    error = refused.value.response["Error"]
    assert (error["Code"], refused.value.response["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("ValidationError", 400)
    assert error["Message"].startswith(message)


def test_the_engine_reports_a_failed_create_by_its_resource(ctx: PortalContext) -> None:
    engine = ctx.engine("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    result = engine.create(stack_name=name, template_body=json.dumps({"Resources": {
        **NETWORK, "Users": {"Type": "AWS::Cognito::UserPool"}}}), parameters=[], tags={},
        deadline=started + 60, on_events=lambda events: None)

    assert time.monotonic() - started < 10
    assert not result.succeeded
    # The engine asks for OnFailure=DELETE: the stack is gone, and so is what it made.
    assert result.error == ("DELETE_COMPLETE: Users (AWS::Cognito::UserPool): Resource type "
                            "AWS::Cognito::UserPool is not supported by the embedded cloud; "
                            "launch on LocalStack or AWS to use it")
    assert engine.stack_status(name) is None


def test_a_call_moto_fails_on_is_answered_as_an_aws_error(ctx: PortalContext) -> None:
    # moto's GetTemplateSummary reads Parameters as a mapping (AttributeError on a list).
    with pytest.raises(ClientError) as failed:
        ctx.connection.client("cloudformation").get_template_summary(TemplateBody=json.dumps({
            "Parameters": [], "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}))
    assert failed.value.response["Error"]["Code"] == "InternalFailure"
    assert failed.value.response["Error"]["Message"] == (
        "The embedded cloud failed on GetTemplateSummary (the emulator's log has the details)")
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
