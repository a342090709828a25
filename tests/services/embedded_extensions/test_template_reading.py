"""YAML short forms nested in one another (`template_reading`), read back from what the stack
made, over HTTP."""

from __future__ import annotations

import base64
import uuid

import pytest
import yaml

from services.clouds.embedded_extensions.template_reading import short_form
from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")

TEMPLATE = """
Parameters:
  Env:
    Type: String
    Default: lab
Conditions:
  IsLab: !Equals [!Ref Env, lab]
  AlsoLab: !And [!Condition IsLab, !Not [!Equals [!Ref Env, prod]]]
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.21.0.0/16
  Subnet:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: 10.21.1.0/24
      AvailabilityZone: !Select [1, !GetAZs {Ref: "AWS::Region"}]
  Named:
    Type: AWS::SSM::Parameter
    Condition: AlsoLab
    Properties:
      Name: !Sub "/${Prefix}/named"
      Type: String
      Value: !Sub
        - "${Vpc}|${Zone}|${Env}"
        - Zone: !GetAtt [Subnet, AvailabilityZone]
  Encoded:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub "/${Prefix}/encoded"
      Type: String
      Value: !Base64
        Fn::Join:
          - "-"
          - [!Ref Env, !If [IsLab, !GetAtt Vpc.CidrBlock, other]]
Outputs:
  Zone:
    Value: !GetAtt Subnet.AvailabilityZone
"""


def test_short_forms_nest_as_long_forms_do(ctx: PortalContext) -> None:
    prefix = f"ext-{uuid.uuid4().hex[:8]}"
    cloudformation = ctx.connection.client("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    cloudformation.create_stack(StackName=name,
                                TemplateBody=TEMPLATE.replace("${Prefix}", prefix))
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    vpc_id = next(s["PhysicalResourceId"] for s in cloudformation.list_stack_resources(
        StackName=name)["StackResourceSummaries"] if s["LogicalResourceId"] == "Vpc")

    ssm = ctx.connection.client("ssm")
    assert ssm.get_parameter(Name=f"/{prefix}/named")["Parameter"]["Value"] == \
        f"{vpc_id}|us-east-1b|lab"
    encoded = ssm.get_parameter(Name=f"/{prefix}/encoded")["Parameter"]["Value"]
    assert base64.b64decode(encoded).decode() == "lab-10.21.0.0/16"
    assert stack["Outputs"] == [{"OutputKey": "Zone", "OutputValue": "us-east-1b"}]
    assert delete_stack(ctx, name) == "DELETE_COMPLETE"


@pytest.mark.parametrize(("text", "parsed"), [
    ("!Ref Vpc", {"Ref": "Vpc"}),
    ("!Condition IsLab", {"Condition": "IsLab"}),
    ("!GetAtt Db.Endpoint.Address", {"Fn::GetAtt": ["Db", "Endpoint.Address"]}),
    ("!GetAtt [Db, Endpoint.Port]", {"Fn::GetAtt": ["Db", "Endpoint.Port"]}),
    ("!Sub [\"${A}\", {A: !Ref B}]", {"Fn::Sub": ["${A}", {"A": {"Ref": "B"}}]}),
    ("!GetAZs {Ref: 'AWS::Region'}", {"Fn::GetAZs": {"Ref": "AWS::Region"}}),
    ("!Base64\n  Fn::Sub: x${A}", {"Fn::Base64": {"Fn::Sub": "x${A}"}}),
])
def test_every_tagged_node_is_built_in_full(text: str, parsed: dict[str, object]) -> None:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", short_form)
    assert yaml.load(text, Loader=Loader) == parsed  # noqa: S506 - the safe loader's subclass
