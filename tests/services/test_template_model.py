"""A template evaluated with parameters the way CloudFormation would, before anything exists."""

from __future__ import annotations

import pytest

from services.errors import ValidationError
from services.template_model import NO_VALUE, decoded_user_data, load_template, resolve_template

TEMPLATE = """
Parameters:
  InstanceType: {Type: String, Default: t3.micro}
  Nodes: {Type: Number, Default: 2}
  EnableNat: {Type: String, Default: 'false'}
  Zones: {Type: CommaDelimitedList, Default: 'a,b'}
Conditions:
  UseNat: !Equals [!Ref EnableNat, 'true']
  ManyNodes: !Not [!Equals [!Ref Nodes, 1]]
  Both: !And [!Condition UseNat, !Condition ManyNodes]
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Metadata: {Tier: network}
    Properties: {CidrBlock: 10.0.0.0/16}
  Nat:
    Type: AWS::EC2::NatGateway
    Condition: UseNat
    Properties: {SubnetId: !Ref Vpc}
  Server:
    Type: AWS::EC2::Instance
    DependsOn: Vpc
    Properties:
      InstanceType: !Ref InstanceType
      AvailabilityZone: !Select [0, !GetAZs '']
      Monitoring: !If [ManyNodes, true, !Ref 'AWS::NoValue']
      UserData:
        Fn::Base64: !Sub "#!/bin/bash\\necho ${AWS::Region} ${InstanceType} ${Vpc} ${!Literal}"
      Tags:
        - {Key: Name, Value: !Join ['-', [web, !Ref InstanceType]]}
        - !If [UseNat, {Key: Nat, Value: 'yes'}, !Ref 'AWS::NoValue']
      SecurityGroupIds: [!GetAtt Vpc.DefaultSecurityGroup]
"""


def test_parameters_conditions_and_intrinsics_resolve() -> None:
    resolved = resolve_template(load_template(TEMPLATE), {"Nodes": "3"}, region="ap-northeast-2")
    assert resolved.parameters["Nodes"] == 3
    assert resolved.parameters["Zones"] == ["a", "b"]
    assert resolved.conditions == {"UseNat": False, "ManyNodes": True, "Both": False}
    assert set(resolved.resources) == {"Vpc", "Server"}
    server = resolved.resources["Server"].properties
    assert server["InstanceType"] == "t3.micro"
    assert server["AvailabilityZone"] == "ap-northeast-2a"
    assert server["Monitoring"] is True
    assert server["Tags"] == [{"Key": "Name", "Value": "web-t3.micro"}]
    assert server["SecurityGroupIds"] == [{"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]}]
    # A Ref to a resource stays unresolved; the rest of the text is still readable.
    user_data = decoded_user_data(server["UserData"])
    assert user_data is not None
    assert "ap-northeast-2 t3.micro ${Vpc} ${!Literal}" in user_data
    assert resolved.resources["Server"].depends_on == ("Vpc",)
    assert resolved.resources["Vpc"].tier == "network"


def test_a_false_condition_removes_the_value_and_a_true_one_keeps_the_resource() -> None:
    resolved = resolve_template(load_template(TEMPLATE), {"EnableNat": "true", "Nodes": "1"},
                                region="us-east-1")
    assert "Nat" in resolved.resources
    assert "Monitoring" not in resolved.resources["Server"].properties
    assert {"Key": "Nat", "Value": "yes"} in resolved.resources["Server"].properties["Tags"]
    assert NO_VALUE not in resolved.resources["Server"].properties.values()


def test_fully_resolved_sub_substitutes_parameters_and_unescapes_literals() -> None:
    text = "Resources:\n  P:\n    Type: AWS::SSM::Parameter\n    Properties:\n" \
           "      Value: !Sub '${AWS::Region}/${Name}/${!Keep}'\n" \
           "Parameters:\n  Name: {Type: String, Default: lab}\n"
    resolved = resolve_template(load_template(text), {}, region="us-east-1")
    assert resolved.resources["P"].properties["Value"] == "us-east-1/lab/${Keep}"


@pytest.mark.parametrize("text", ["", "just text", "Resources: [1, 2]", "{bad: [yaml"])
def test_a_text_that_is_not_a_template_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        load_template(text)
    assert set(refused.value.field_errors) == {"template"}
