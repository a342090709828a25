"""KMS: AWS::KMS::Key as AWS makes it.

moto's AWS::KMS::Key read `KeyPolicy` as required (KeyError inside moto without it), passed a
policy given as JSON to the backend as the mapping it is, made every key a symmetric encryption
key whatever `KeySpec` and `KeyUsage` said, and answered `Fn::GetAtt` only for `Arn`. Here a key
without a policy gets KMS's default one (the account may use it through IAM), the policy is the
JSON text KMS keeps, the key spec and usage are the declared ones, and `KeyId` is an attribute.
"""

from __future__ import annotations

import json
from typing import Any


def default_policy(account_id: str) -> str:
    """The key policy KMS gives a key created without one."""
    return json.dumps({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [{
        "Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*",
        "Resource": "*"}]})


def _key_reads_its_properties() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.kms.models import Key, kms_backends

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> Key:
        properties = cloudformation_json.get("Properties") or {}
        policy = properties.get("KeyPolicy") or default_policy(account_id)
        key = kms_backends[account_id][region_name].create_key(
            policy=policy if isinstance(policy, str) else json.dumps(policy),
            key_usage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
            key_spec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"),
            description=properties.get("Description"), tags=properties.get("Tags", []))
        key.key_rotation_status = properties.get("EnableKeyRotation", False)
        key.enabled = properties.get("Enabled", True)
        return key

    def has_cfn_attr(cls: Any, attr: str) -> bool:
        return attr in ("Arn", "KeyId")

    def get_cfn_attribute(self: Key, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.arn
        if attribute_name == "KeyId":
            return self.id
        raise UnformattedGetAttTemplateException()

    Key.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)
    Key.has_cfn_attr = classmethod(has_cfn_attr)  # type: ignore[assignment]
    Key.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


def install() -> None:
    _key_reads_its_properties()
