"""Secrets Manager: AWS::SecretsManager::Secret, backed by moto's secretsmanager backend.

moto's CloudFormation has no such type: a stack declaring a secret completes with a blank row and
`Ref` gives ''. This model creates the secret through moto's backend, so `describe_secret` and
`get_secret_value` see it while the stack runs, and removes it without a recovery window when the
stack goes, so its name is free again at once.
"""

from __future__ import annotations

import json
from typing import Any, cast

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend, secretsmanager_backends

from services.clouds.embedded_extensions import stack_tags
from services.clouds.embedded_extensions._template import (
    as_bool,
    as_int,
    logical_id_name,
    missing_tags,
    query_protocol_errors,
    tag_list,
)

DEFAULT_PASSWORD_LENGTH = 32


def _backend(account_id: str, region_name: str) -> SecretsManagerBackend:
    return secretsmanager_backends[account_id][region_name]


def generate_secret_string(backend: SecretsManagerBackend, spec: dict[str, Any]) -> str:
    """What AWS stores for a `GenerateSecretString`: the password alone, or the template's JSON
    object with the password under `GenerateStringKey`."""
    template = spec.get("SecretStringTemplate")
    key = spec.get("GenerateStringKey")
    if (template is None) != (key is None):
        raise ValidationError(message="GenerateSecretString needs both SecretStringTemplate and "
                                      "GenerateStringKey, or neither")
    password = json.loads(backend.get_random_password(
        password_length=as_int(spec.get("PasswordLength"), DEFAULT_PASSWORD_LENGTH),
        exclude_characters=spec.get("ExcludeCharacters") or "",
        exclude_numbers=as_bool(spec.get("ExcludeNumbers"), False),
        exclude_punctuation=as_bool(spec.get("ExcludePunctuation"), False),
        exclude_uppercase=as_bool(spec.get("ExcludeUppercase"), False),
        exclude_lowercase=as_bool(spec.get("ExcludeLowercase"), False),
        include_space=as_bool(spec.get("IncludeSpace"), False),
        require_each_included_type=as_bool(spec.get("RequireEachIncludedType"), True),
    ))["RandomPassword"]
    if template is None:
        return password
    try:
        document = json.loads(template)
    except json.JSONDecodeError as exc:
        raise ValidationError(message=f"SecretStringTemplate is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ValidationError(message="SecretStringTemplate must be a JSON object")
    document[key] = password
    return json.dumps(document, separators=(",", ":"))


def _secret_string(backend: SecretsManagerBackend, properties: dict[str, Any]) -> str | None:
    if "SecretString" in properties and "GenerateSecretString" in properties:
        raise ValidationError(message="A secret takes SecretString or GenerateSecretString, "
                                      "not both")
    if "GenerateSecretString" in properties:
        return generate_secret_string(backend, properties["GenerateSecretString"])
    value = properties.get("SecretString")
    return None if value is None else str(value)


class Secret(CloudFormationModel):
    """AWS::SecretsManager::Secret over moto's FakeSecret. `Ref` and `Fn::GetAtt Id` give the ARN;
    a secret without `Name` is named `LogicalId-<12 characters>`, as CloudFormation names it.
    `ReplicaRegions` is not modelled."""

    def __init__(self, secret: FakeSecret, *, properties: dict[str, Any]) -> None:
        self.secret = secret
        self.properties = properties

    @property
    def physical_resource_id(self) -> str:
        return self.secret.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.secret.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    @query_protocol_errors
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> Secret:
        properties = cloudformation_json.get("Properties", {})
        backend = _backend(account_id, region_name)
        name = properties.get("Name") or logical_id_name(kwargs.get("LogicalId", "Secret"))
        backend.create_secret(
            name=name, secret_string=_secret_string(backend, properties), secret_binary=None,
            description=properties.get("Description"), tags=tag_list(properties) or None,
            kms_key_id=properties.get("KmsKeyId"), client_request_token=None,
            replica_regions=[], force_overwrite=False)
        return cls(cast(FakeSecret, backend.secrets[name]), properties=properties)

    @classmethod
    @query_protocol_errors
    def update_from_cloudformation_json(  # type: ignore[misc]
            cls, original_resource: Secret, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> Secret:
        properties = cloudformation_json.get("Properties", {})
        old = original_resource.properties
        if properties.get("Name") != old.get("Name"):
            # A new name replaces the secret on AWS: the new one first, then the old.
            replacement = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name)
            cls.delete_from_cloudformation_json(
                original_resource.physical_resource_id, cloudformation_json, account_id,
                region_name)
            return replacement
        backend = _backend(account_id, region_name)
        secret = original_resource.secret
        value_changed = (properties.get("SecretString") != old.get("SecretString")
                         or properties.get("GenerateSecretString") != old.get(
                             "GenerateSecretString"))
        backend.update_secret(
            secret_id=secret.arn,
            secret_string=_secret_string(backend, properties) if value_changed else None,
            # moto, like the SDKs, expects every update to carry an idempotency token.
            client_request_token=str(mock_random.uuid4()),
            kms_key_id=properties.get("KmsKeyId"), description=properties.get("Description"))
        new_tags = {t["Key"] for t in tag_list(properties)}
        dropped = [t["Key"] for t in tag_list(old) if t["Key"] not in new_tags]
        if dropped:
            backend.untag_resource(secret.arn, dropped)
        if new_tags:
            backend.tag_resource(secret.arn, {t["Key"]: t["Value"] for t in tag_list(properties)})
        original_resource.properties = properties
        return original_resource

    @classmethod
    @query_protocol_errors
    def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
        _backend(account_id, region_name).delete_secret(
            resource_name, recovery_window_in_days=None, force_delete_without_recovery=True)

    def is_created(self) -> bool:
        return True


def _tag_secret(resource: Secret, tags: stack_tags.StackTags, account_id: str,
                region_name: str) -> None:
    extra = missing_tags(resource.secret.tags, tags)
    if extra:
        _backend(account_id, region_name).tag_resource(
            resource.secret.arn, {t["Key"]: t["Value"] for t in extra})


def install() -> None:
    stack_tags.register(Secret, _tag_secret)
