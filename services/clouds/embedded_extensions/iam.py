"""IAM: the inline policy of one role, AWS::IAM::RolePolicy.

AWS's sample templates give a role its permissions with AWS::IAM::RolePolicy as often as with
the role's own `Policies`; moto does not model the type, so the role had none of them. It is put
with PutRolePolicy and deleted with DeleteRolePolicy; its physical id is the policy's name, as
`Ref` gives on AWS. A document without `Version` is taken, as IAM takes it (the 2008-10-17
policy language); moto's check refused it.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel


class RolePolicy(CloudFormationModel):
    def __init__(self, role_name: str, policy_name: str) -> None:
        self.role_name = role_name
        self.policy_name = policy_name

    @property
    def physical_resource_id(self) -> str:
        return self.policy_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "PolicyName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::RolePolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> RolePolicy:
        from moto.iam.models import iam_backends
        from moto.utilities.utils import get_partition

        properties = cloudformation_json.get("Properties") or {}
        document = properties["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        backend = iam_backends[account_id][get_partition(region_name)]
        if "Version" in json.loads(text):
            backend.put_role_policy(properties["RoleName"], resource_name, text)
        else:
            backend.get_role(properties["RoleName"]).put_policy(resource_name, text)
        return cls(properties["RoleName"], resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.iam.exceptions import NotFoundException
        from moto.iam.models import iam_backends
        from moto.utilities.utils import get_partition

        try:
            role = iam_backends[account_id][get_partition(region_name)].get_role(self.role_name)
        except NotFoundException:
            return  # its role went first, and the policy with it
        if self.policy_name in role.policies:
            role.delete_policy(self.policy_name)


def install() -> None:
    """RolePolicy is found by moto's type registry once its caches are cleared."""
