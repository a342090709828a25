"""KMS keys as a stack declares them (`kms`), over HTTP."""

from __future__ import annotations

import json

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_a_key_without_a_policy_gets_kms_default_one(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Logs": {"Type": "AWS::KMS::Key", "Properties": {"Description": "logs"}},
        "Signing": {"Type": "AWS::KMS::Key", "Properties": {
            "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY",
            "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*", "Resource": "*"}]}}},
    }, network=False, outputs={"LogsKeyId": {"Fn::GetAtt": ["Logs", "KeyId"]}})
    assert stack.status == "CREATE_COMPLETE"
    assert stack.outputs["LogsKeyId"] == stack.ids["Logs"]
    kms = ctx.connection.client("kms")
    policy = json.loads(kms.get_key_policy(KeyId=stack.ids["Logs"], PolicyName="default")[
        "Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    signing = kms.describe_key(KeyId=stack.ids["Signing"])["KeyMetadata"]
    assert (signing["KeySpec"], signing["KeyUsage"]) == ("RSA_2048", "SIGN_VERIFY")
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    # AWS would keep them PendingDeletion for a week; the embedded cloud removes them at once.
    assert not {stack.ids["Logs"], stack.ids["Signing"]} & {
        k["KeyId"] for k in kms.list_keys()["Keys"]}
