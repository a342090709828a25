"""`{{resolve:...}}` in resource properties, resolved at create time and read back through the
service that received the value: an SSM parameter's Value and a secret's tag."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack, stack_events

pytestmark = pytest.mark.xdist_group("embedded-cloud")

CREDENTIALS = {"username": "admin", "password": "s3cret-Pa55"}


def source_resources(suffix: str) -> dict[str, Any]:
    """A secret holding CREDENTIALS and a plain SSM parameter, both with names known in advance."""
    return {
        "Credentials": {"Type": "AWS::SecretsManager::Secret", "Properties": {
            "Name": f"creds-{suffix}", "SecretString": json.dumps(CREDENTIALS)}},
        "Setting": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": f"/setting/{suffix}", "Type": "String", "Value": "blue"}},
    }


def parameter_with(value: Any, suffix: str) -> dict[str, Any]:
    return {"Type": "AWS::SSM::Parameter", "DependsOn": ["Credentials", "Setting"],
            "Properties": {"Name": f"/resolved/{suffix}", "Type": "String", "Value": value}}


@pytest.mark.parametrize(("case", "value", "expected"), [
    ("arn through Fn::Sub, json key",
     {"Fn::Sub": "{{resolve:secretsmanager:${Credentials}:SecretString:password}}"},
     CREDENTIALS["password"]),
    ("name, json key", "{{resolve:secretsmanager:creds-SUFFIX:SecretString:username}}", "admin"),
    ("whole secret string", {"Fn::Sub": "{{resolve:secretsmanager:${Credentials}}}"},
     json.dumps(CREDENTIALS)),
    ("version stage", "{{resolve:secretsmanager:creds-SUFFIX:SecretString:password:AWSCURRENT}}",
     CREDENTIALS["password"]),
    ("ssm inside a longer string", "colour={{resolve:ssm:/setting/SUFFIX}};", "colour=blue;"),
    ("ssm version", "{{resolve:ssm:/setting/SUFFIX:1}}", "blue"),
    ("two references", "{{resolve:ssm:/setting/SUFFIX}}/"
                       "{{resolve:secretsmanager:creds-SUFFIX:SecretString:username}}",
     "blue/admin"),
])
def test_reference_is_resolved_into_the_property(ctx: PortalContext, case: str, value: Any,
                                                 expected: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    value = json.loads(json.dumps(value).replace("SUFFIX", suffix))
    stack = launch_stack(ctx, {**source_resources(suffix),
                               "Resolved": parameter_with(value, suffix)}, network=False)
    assert stack.status == "CREATE_COMPLETE"
    ssm = ctx.connection.client("ssm")
    assert ssm.get_parameter(Name=f"/resolved/{suffix}")["Parameter"]["Value"] == expected
    template = ctx.connection.client("cloudformation").get_template(
        StackName=stack.name)["TemplateBody"]
    assert "{{resolve:" in json.dumps(template), "the template keeps the reference itself"
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_reference_in_a_tag_value(ctx: PortalContext) -> None:
    suffix = uuid.uuid4().hex[:8]
    stack = launch_stack(ctx, {**source_resources(suffix), "Tagged": {
        "Type": "AWS::SecretsManager::Secret", "DependsOn": "Setting", "Properties": {
            "SecretString": "x",
            "Tags": [{"Key": "colour", "Value": f"{{{{resolve:ssm:/setting/{suffix}}}}}"}]}}},
        network=False)
    tags = ctx.connection.client("secretsmanager").describe_secret(
        SecretId=stack.ids["Tagged"])["Tags"]
    assert {"Key": "colour", "Value": "blue"} in tags
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_database_password_comes_from_the_generated_secret(ctx: PortalContext) -> None:
    """The ha-web shape: a generated secret whose password an RDS instance takes through
    Fn::Sub; RDS never returns a password, so the same reference also feeds a parameter."""
    suffix = uuid.uuid4().hex[:8]
    reference = {"Fn::Sub": "{{resolve:secretsmanager:${DbSecret}:SecretString:password}}"}
    stack = launch_stack(ctx, {
        "DbSecret": {"Type": "AWS::SecretsManager::Secret", "Properties": {
            "GenerateSecretString": {
                "SecretStringTemplate": json.dumps({"username": "app"}),
                "GenerateStringKey": "password", "PasswordLength": 20,
                "ExcludeCharacters": "\"@/\\"}}},
        "Subnets": {"Type": "AWS::RDS::DBSubnetGroup", "Properties": {
            "DBSubnetGroupDescription": "db",
            "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}},
        "Db": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "Engine": "mariadb", "EngineVersion": "10.11", "DBInstanceClass": "db.t3.micro",
            "AllocatedStorage": "20",
            "MasterUsername": {"Fn::Sub": "{{resolve:secretsmanager:${DbSecret}:SecretString:"
                                          "username}}"},
            "MasterUserPassword": reference, "DBSubnetGroupName": {"Ref": "Subnets"},
            "VPCSecurityGroups": [{"Ref": "Web"}]}},
        "Copy": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": f"/copy/{suffix}", "Type": "String", "Value": reference}},
    })
    assert stack.status == "CREATE_COMPLETE"
    generated = json.loads(ctx.connection.client("secretsmanager").get_secret_value(
        SecretId=stack.ids["DbSecret"])["SecretString"])
    copied = ctx.connection.client("ssm").get_parameter(Name=f"/copy/{suffix}")["Parameter"]
    assert copied["Value"] == generated["password"]
    db = ctx.connection.client("rds").describe_db_instances(
        DBInstanceIdentifier=stack.ids["Db"])["DBInstances"][0]
    assert db["MasterUsername"] == "app"
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


@pytest.mark.parametrize(("case", "value", "reason"), [
    ("missing secret", "{{resolve:secretsmanager:no-such-secret:SecretString:password}}",
     "can't find the specified secret"),
    ("missing json key", "{{resolve:secretsmanager:creds-SUFFIX:SecretString:port}}",
     "no key 'port'"),
    ("missing parameter", "{{resolve:ssm:/no/such/parameter}}", "no such parameter"),
    ("ssm-secure", "{{resolve:ssm-secure:/setting/SUFFIX}}", "ssm-secure"),
    ("unknown service", "{{resolve:vault:thing}}", "unknown service 'vault'"),
])
def test_unresolvable_reference_fails_the_stack(ctx: PortalContext, case: str, value: str,
                                                reason: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    cloudformation = ctx.connection.client("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    template = {"Resources": {**source_resources(suffix), "Resolved": parameter_with(
        value.replace("SUFFIX", suffix), suffix)}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))

    # The resource fails with CloudFormation's error and the create is rolled back.
    assert cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == \
        "ROLLBACK_COMPLETE"
    failed = next(e for e in stack_events(ctx, name) if e["ResourceStatus"] == "CREATE_FAILED"
                  and e["LogicalResourceId"] == "Resolved")
    assert failed["ResourceStatusReason"].startswith(
        "Could not resolve dynamic reference {{resolve:")
    assert reason in failed["ResourceStatusReason"]
    assert failed["ResourceStatusReason"].endswith("(Error Code: ValidationError)")
    cloudformation.delete_stack(StackName=name)
