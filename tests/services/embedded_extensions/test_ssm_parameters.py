"""Template parameters read from SSM (`ssm_parameters`), over HTTP."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")
IMAGE_TYPE = "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
AMAZON_LINUX_2 = "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2"


def _create(ctx: PortalContext, image_path: str) -> str:
    name = f"ext-{uuid.uuid4().hex[:8]}"
    ctx.connection.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps({
        "Parameters": {"Image": {"Type": IMAGE_TYPE, "Default": image_path}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"Image": {"Value": {"Ref": "Image"}}}}))
    return name


def test_a_public_image_family_moto_lacks_stands_in_for_amazon_linux(ctx: PortalContext) -> None:
    name = _create(ctx, "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base")
    stand_in = ctx.connection.client("ssm").get_parameter(Name=AMAZON_LINUX_2)["Parameter"][
        "Value"]
    outputs = ctx.connection.client("cloudformation").describe_stacks(StackName=name)[
        "Stacks"][0]["Outputs"]
    assert outputs == [{"OutputKey": "Image", "OutputValue": stand_in}]
    assert delete_stack(ctx, name) == "DELETE_COMPLETE"


@pytest.mark.parametrize("path", [
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86",  # mistyped
    "/course/no-such-course/ami",  # an account's own parameter that is not there
])
def test_a_parameter_that_is_not_there_refuses_the_stack(ctx: PortalContext, path: str) -> None:
    with pytest.raises(ClientError) as refused:
        _create(ctx, path)
    assert refused.value.response["Error"]["Message"] == \
        f"Unable to fetch parameters [{path}] from parameter store for this account."


def test_a_parameter_resource_without_a_name_gets_one_and_answers_its_attributes(
        ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"Setting": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Type": "String", "Value": "blue", "Tags": {"team": "web"}}}}, network=False,
        outputs={"Value": {"Fn::GetAtt": ["Setting", "Value"]},
                 "Type": {"Fn::GetAtt": ["Setting", "Type"]}})
    assert stack.status == "CREATE_COMPLETE"
    name = stack.ids["Setting"]
    assert name.startswith("CFN-Setting-")
    assert stack.outputs == {"Value": "blue", "Type": "String"}
    ssm = ctx.connection.client("ssm")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "blue"
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)[
        "TagList"] == [{"Key": "team", "Value": "web"}]
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
