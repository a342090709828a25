"""AWS::S3::Bucket's configuration seen through s3, and its delete as AWS does it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack, tagged_arns

pytestmark = pytest.mark.xdist_group("embedded-cloud")

LOCKED_DOWN = {
    "VersioningConfiguration": {"Status": "Enabled"},
    "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                          "KMSMasterKeyID": "alias/aws/s3"},
        "BucketKeyEnabled": True}]},
    "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "IgnorePublicAcls": "true", "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True},
    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    "Tags": [{"Key": "team", "Value": "assets"}],
}


def bucket(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::S3::Bucket", "Properties": properties}


def test_versioned_encrypted_blocked_bucket_lives_and_dies_with_the_stack(
        ctx: PortalContext) -> None:
    name = f"assets-{uuid.uuid4().hex[:12]}"
    stack = launch_stack(ctx, {"Assets": bucket(BucketName=name, **LOCKED_DOWN)}, network=False,
                         tags={"sandbox:env-id": "s3-test"})
    assert stack.status == "CREATE_COMPLETE"
    s3 = ctx.connection.client("s3")

    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"][
        "Rules"] == [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/aws/s3"},
            "BucketKeyEnabled": True}]
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True}
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    tags = s3.get_bucket_tagging(Bucket=name)["TagSet"]
    assert {"Key": "team", "Value": "assets"} in tags
    assert {"Key": "sandbox:env-id", "Value": "s3-test"} in tags
    assert f"arn:aws:s3:::{name}" in tagged_arns(ctx, "sandbox:env-id", "s3-test")

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE", "an empty versioned bucket goes"
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=name)

    again = launch_stack(ctx, {"Assets": bucket(BucketName=name)}, network=False)
    assert again.status == "CREATE_COMPLETE", "the name is free once the stack is gone"
    assert delete_stack(ctx, again.name) == "DELETE_COMPLETE"


def test_a_bucket_holding_object_versions_is_not_deleted(ctx: PortalContext) -> None:
    name = f"kept-{uuid.uuid4().hex[:12]}"
    stack = launch_stack(ctx, {"Kept": bucket(
        BucketName=name, VersioningConfiguration={"Status": "Enabled"})}, network=False)
    s3 = ctx.connection.client("s3")
    s3.put_object(Bucket=name, Key="report.csv", Body=b"a,b\n")
    s3.delete_object(Bucket=name, Key="report.csv")  # leaves a version and a delete marker

    cloudformation = ctx.connection.client("cloudformation")
    try:
        cloudformation.delete_stack(StackName=stack.name)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "BucketNotEmpty"
    statuses = [s["StackStatus"] for s in cloudformation.list_stacks()["StackSummaries"]
                if s["StackName"] == stack.name]
    assert "DELETE_COMPLETE" not in statuses
    s3.head_bucket(Bucket=name)  # still there, as AWS keeps it

    versions = s3.list_object_versions(Bucket=name)
    for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        s3.delete_object(Bucket=name, Key=entry["Key"], VersionId=entry["VersionId"])
    if statuses:
        cloudformation.delete_stack(StackName=stack.name)
    else:
        s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=name)


def test_update_applies_the_configuration(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"Plain": bucket()}, network=False)
    name = stack.ids["Plain"]
    s3 = ctx.connection.client("s3")
    assert "Status" not in s3.get_bucket_versioning(Bucket=name)
    with pytest.raises(ClientError):
        s3.get_public_access_block(Bucket=name)

    ctx.connection.client("cloudformation").update_stack(
        StackName=stack.name, TemplateBody=json.dumps({"Resources": {"Plain": bucket(
            VersioningConfiguration={"Status": "Suspended"},
            PublicAccessBlockConfiguration={"BlockPublicAcls": True})}}))
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert block["BlockPublicAcls"] and not block["BlockPublicPolicy"]
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_a_bucket_policy_is_put_and_removed_with_its_stack(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Site": {"Type": "AWS::S3::Bucket"},
        "Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "Site"}, "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{
                    "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": {"Fn::Sub": "${Site.Arn}/*"},
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}},
    }, network=False)
    assert stack.status == "CREATE_COMPLETE"
    s3 = ctx.connection.client("s3")
    bucket = stack.ids["Site"]
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Sid"] == "TlsOnly"
    assert policy["Statement"][0]["Resource"] == f"arn:aws:s3:::{bucket}/*"

    # Removing the policy from the template takes it off the bucket.
    ctx.connection.client("cloudformation").update_stack(
        StackName=stack.name,
        TemplateBody=json.dumps({"Resources": {"Site": {"Type": "AWS::S3::Bucket"}}}))
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_policy(Bucket=bucket)
    assert missing.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_a_bucket_made_again_under_its_name_carries_only_its_own_stacks_tags(
        ctx: PortalContext) -> None:
    # Sample templates name their buckets; a second environment of the same template makes the
    # bucket again. The first environment's tags must not come back with the name, or the
    # second environment's sweep cannot find its own bucket.
    name = f"named-{uuid.uuid4().hex[:12]}"
    first = launch_stack(ctx, {"Assets": bucket(BucketName=name)}, network=False,
                         tags={"sandbox:env-id": "s3-first"})
    assert delete_stack(ctx, first.name) == "DELETE_COMPLETE"
    assert f"arn:aws:s3:::{name}" not in tagged_arns(ctx, "sandbox:env-id", "s3-first")

    second = launch_stack(ctx, {"Assets": bucket(BucketName=name)}, network=False,
                          tags={"sandbox:env-id": "s3-second"})
    s3 = ctx.connection.client("s3")
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags["sandbox:env-id"] == "s3-second"
    assert f"arn:aws:s3:::{name}" in tagged_arns(ctx, "sandbox:env-id", "s3-second")
    assert delete_stack(ctx, second.name) == "DELETE_COMPLETE"


def test_a_bucket_deleted_through_the_api_takes_its_tags(ctx: PortalContext) -> None:
    s3 = ctx.connection.client("s3")
    name = f"api-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "team", "Value": "old"}]})
    s3.delete_bucket(Bucket=name)
    s3.create_bucket(Bucket=name)
    with pytest.raises(ClientError) as untagged:
        s3.get_bucket_tagging(Bucket=name)
    assert untagged.value.response["Error"]["Code"] == "NoSuchTagSet"
    s3.delete_bucket(Bucket=name)
