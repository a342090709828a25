"""Inline role policies made by a stack (`iam`), seen through the IAM API, over HTTP."""

from __future__ import annotations

import json

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
READ_LOGS = {"Statement": [{"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"}]}


def test_role_policies_go_on_their_role_and_with_their_stack(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
        "Versioned": {"Type": "AWS::IAM::RolePolicy", "Properties": {
            "RoleName": {"Ref": "Role"}, "PolicyName": "read-buckets", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}},
        # IAM reads a document without Version in the 2008-10-17 language; so does this.
        "Unversioned": {"Type": "AWS::IAM::RolePolicy", "Properties": {
            "RoleName": {"Ref": "Role"}, "PolicyDocument": READ_LOGS}},
    }, network=False)
    assert stack.status == "CREATE_COMPLETE"
    assert stack.ids["Versioned"] == "read-buckets"
    iam = ctx.connection.client("iam")
    role = stack.ids["Role"]
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == sorted(
        [stack.ids["Versioned"], stack.ids["Unversioned"]])
    document = iam.get_role_policy(RoleName=role, PolicyName=stack.ids["Unversioned"])[
        "PolicyDocument"]
    assert (document if isinstance(document, dict) else json.loads(document)) == READ_LOGS

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert role not in {r["RoleName"] for r in iam.list_roles()["Roles"]}
