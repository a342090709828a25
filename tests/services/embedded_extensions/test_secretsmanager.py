"""AWS::SecretsManager::Secret made by a stack, seen through secretsmanager, gone after delete."""

from __future__ import annotations

import json
import re
import string
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    delete_stack, failing_create, launch_stack, tagged_arns,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def secret(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::SecretsManager::Secret", "Properties": properties}


def test_generated_secret_lives_and_dies_with_the_stack(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"Db": secret(
        Description="database credentials",
        GenerateSecretString={
            "SecretStringTemplate": json.dumps({"username": "admin"}),
            "GenerateStringKey": "password", "PasswordLength": 24,
            "ExcludeCharacters": "\"@/\\", "ExcludePunctuation": "true"},
        Tags=[{"Key": "team", "Value": "data"}])},
        network=False, tags={"sandbox:env-id": "secret-test"},
        outputs={"Ref": {"Ref": "Db"}, "Id": {"Fn::GetAtt": ["Db", "Id"]}})
    assert stack.status == "CREATE_COMPLETE"
    arn = stack.ids["Db"]
    assert stack.outputs["Ref"] == stack.outputs["Id"] == arn
    secrets = ctx.connection.client("secretsmanager")

    described = secrets.describe_secret(SecretId=arn)
    assert re.fullmatch(r"Db-[A-Za-z0-9]{12}", described["Name"])
    assert described["Description"] == "database credentials"
    assert {"Key": "team", "Value": "data"} in described["Tags"]
    assert {"Key": "sandbox:env-id", "Value": "secret-test"} in described["Tags"]
    assert arn in tagged_arns(ctx, "sandbox:env-id", "secret-test")

    value = json.loads(secrets.get_secret_value(SecretId=described["Name"])["SecretString"])
    assert value["username"] == "admin"
    assert len(value["password"]) == 24
    assert set(value["password"]) <= set(string.ascii_letters + string.digits)

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    with pytest.raises(ClientError) as missing:
        secrets.describe_secret(SecretId=arn)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert arn not in tagged_arns(ctx, "sandbox:env-id", "secret-test")


def test_named_secret_frees_its_name_on_delete(ctx: PortalContext) -> None:
    name = f"app/{uuid.uuid4().hex[:8]}"
    stack = launch_stack(ctx, {"Plain": secret(Name=name, SecretString="hunter2")},
                         network=False)
    secrets = ctx.connection.client("secretsmanager")
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == "hunter2"
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert name not in [s["Name"] for s in secrets.list_secrets(
        IncludePlannedDeletion=True)["SecretList"]], "deleted without a recovery window"

    again = launch_stack(ctx, {"Plain": secret(Name=name, SecretString="again")}, network=False)
    assert again.status == "CREATE_COMPLETE"
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == "again"
    assert delete_stack(ctx, again.name) == "DELETE_COMPLETE"


@pytest.mark.parametrize(("case", "options", "allowed"), [
    ("default", {}, set(string.ascii_letters + string.digits + string.punctuation)),
    ("excluded characters", {"PasswordLength": 64, "ExcludeCharacters": "aeiouAEIOU0/@\"'\\"},
     set(string.ascii_letters + string.digits + string.punctuation) - set("aeiouAEIOU0/@\"'\\")),
    ("lowercase and digits", {"ExcludeUppercase": True, "ExcludePunctuation": True},
     set(string.ascii_lowercase + string.digits)),
    ("letters only", {"ExcludeNumbers": "true", "ExcludePunctuation": "true"},
     set(string.ascii_letters)),
])
def test_generated_password_honours_its_options(ctx: PortalContext, case: str,
                                                options: dict[str, Any],
                                                allowed: set[str]) -> None:
    stack = launch_stack(ctx, {"Key": secret(GenerateSecretString=options)}, network=False)
    password = ctx.connection.client("secretsmanager").get_secret_value(
        SecretId=stack.ids["Key"])["SecretString"]
    assert len(password) == int(options.get("PasswordLength", 32))
    assert set(password) <= allowed
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


@pytest.mark.parametrize(("case", "properties"), [
    ("both a value and a generator", {"SecretString": "x", "GenerateSecretString": {}}),
    ("template without a key", {"GenerateSecretString": {"SecretStringTemplate": "{}"}}),
    ("template not JSON", {"GenerateSecretString": {"SecretStringTemplate": "user=admin",
                                                    "GenerateStringKey": "password"}}),
])
def test_invalid_secret_fails_the_stack(ctx: PortalContext, case: str,
                                        properties: dict[str, Any]) -> None:
    failed = failing_create(ctx, {"Resources": {"Bad": secret(**properties)}})
    assert failed.status == "ROLLBACK_COMPLETE"
    assert failed.reasons["Bad"].endswith("(Error Code: ValidationError)")
    ctx.connection.client("cloudformation").delete_stack(StackName=failed.name)


def test_a_taken_name_fails_the_stack_with_the_services_error(ctx: PortalContext) -> None:
    name = f"taken/{uuid.uuid4().hex[:8]}"
    secrets = ctx.connection.client("secretsmanager")
    secrets.create_secret(Name=name, SecretString="mine")
    failed = failing_create(ctx, {"Resources": {"Dup": secret(Name=name,
                                                               SecretString="theirs")}})
    assert failed.status == "ROLLBACK_COMPLETE"
    assert failed.reasons["Dup"].endswith("(Error Code: ResourceExistsException)")
    ctx.connection.client("cloudformation").delete_stack(StackName=failed.name)
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == "mine"
    secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_update_stores_a_new_version_under_the_same_arn(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"Token": secret(SecretString="first")}, network=False)
    arn = stack.ids["Token"]
    ctx.connection.client("cloudformation").update_stack(
        StackName=stack.name, TemplateBody=json.dumps({"Resources": {"Token": secret(
            SecretString="second", Description="rotated by hand")}}))
    secrets = ctx.connection.client("secretsmanager")
    assert secrets.get_secret_value(SecretId=arn)["SecretString"] == "second"
    described = secrets.describe_secret(SecretId=arn)
    assert described["Description"] == "rotated by hand"
    assert len(described["VersionIdsToStages"]) == 2
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
