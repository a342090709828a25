"""SSM in templates: parameters of type `AWS::SSM::Parameter::Value<...>` resolved as
CloudFormation resolves them, and AWS::SSM::Parameter resources as AWS makes them.

moto reads such a parameter's value from its SSM backend and failed with AttributeError (HTTP
500) when the parameter did not exist. AWS refuses the CreateStack with "Unable to fetch
parameters [...] from parameter store for this account"; so does this. One exception: moto
carries only some families of AWS's public catalogue of image ids (`/aws/service/...`: the
Amazon Linux and the ECS-optimised images). An image parameter naming a family it does not carry
at all (Windows, Ubuntu from Canonical, Bottlerocket) resolves to the image the catalogue gives
for Amazon Linux 2, as a stand-in: every image in the embedded cloud is a placeholder, and none
boots anything. A name missing from a family moto carries is a mistyped name, refused as on AWS.

moto's AWS::SSM::Parameter without `Name` failed inside moto (HTTP 500); AWS names it
`CFN-<logical id>-<random>`. Its `Tags`, a map in CloudFormation, reached the backend as one, and
`Fn::GetAtt` of its `Type` or `Value` raised AttributeError.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from moto.cloudformation.exceptions import ValidationError

PUBLIC_CATALOGUE = "/aws/service/"
STAND_IN_IMAGE = "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2"
IMAGE_TYPE = "AWS::EC2::Image::Id"


@lru_cache(maxsize=1)
def _families_moto_carries() -> tuple[str, ...]:
    """`/aws/service/<family>/` of each family moto ships (a folder of moto/ssm/resources)."""
    folder = resources.files("moto.ssm") / "resources"
    return tuple(f"{PUBLIC_CATALOGUE}{entry.name}/" for entry in folder.iterdir()
                 if entry.is_dir())


def _stands_in(value: str, value_type: str) -> bool:
    return (IMAGE_TYPE in value_type and value.startswith(PUBLIC_CATALOGUE)
            and not value.startswith(_families_moto_carries()))


def _parameters_resolve_or_refuse() -> None:
    from moto.cloudformation.parsing import ResourceMap
    from moto.ssm.models import ssm_backends

    def parse_ssm_parameter(self: ResourceMap, value: str, value_type: str) -> Any:
        backend = ssm_backends[self._account_id][self._region_name]
        parameter = backend.get_parameter(value)
        if parameter is None and _stands_in(value, value_type):
            parameter = backend.get_parameter(STAND_IN_IMAGE)
        if parameter is None:
            raise ValidationError(message=(
                f"Unable to fetch parameters [{value}] from parameter store for this account."))
        if "List" in value_type:
            return parameter.value.split(",")
        return parameter.value

    ResourceMap.parse_ssm_parameter = parse_ssm_parameter  # type: ignore[method-assign]


def _parameter_resources_as_aws_makes_them() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.ssm.models import Parameter, ssm_backends

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> Parameter:
        properties = cloudformation_json.get("Properties") or {}
        tags = properties.get("Tags") or {}
        name = properties.get("Name") or \
            f"CFN-{kwargs.get('LogicalId', 'Parameter')}-{resource_name.rsplit('-', 1)[-1]}"
        return ssm_backends[account_id][region_name].put_parameter(  # type: ignore[no-any-return]
            name=name, description=properties.get("Description"),
            value=None if properties.get("Value") is None else str(properties["Value"]),
            parameter_type=properties.get("Type"),
            allowed_pattern=properties.get("AllowedPattern"), keyid=properties.get("KeyId"),
            overwrite=False, data_type=properties.get("DataType", "text"),
            tier=properties.get("Tier"), policies=properties.get("Policies"),
            tags=[{"Key": k, "Value": str(v)} for k, v in tags.items()]
            if isinstance(tags, dict) else tags)

    def has_cfn_attr(cls: Any, attr: str) -> bool:
        return attr in ("Type", "Value")

    def get_cfn_attribute(self: Parameter, attribute_name: str) -> Any:
        if attribute_name == "Type":
            return self.parameter_type
        if attribute_name == "Value":
            return self.value
        raise UnformattedGetAttTemplateException()

    Parameter.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)
    Parameter.has_cfn_attr = classmethod(has_cfn_attr)  # type: ignore[assignment]
    Parameter.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]


def install() -> None:
    _parameters_resolve_or_refuse()
    _parameter_resources_as_aws_makes_them()
