"""ADV006: AMI ids written into the template exist in one region only."""

from __future__ import annotations

import pytest

AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

SSM_PARAMETER = """
Parameters:
  Ami:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
Resources:
  Server:
    Type: AWS::EC2::Instance
    Properties: {ImageId: !Ref Ami, InstanceType: t3.micro}
"""

IMAGE_ID_PARAMETER = """
Parameters:
  Ami: {Type: 'AWS::EC2::Image::Id', Default: ami-0abcdef1234567890}
Resources:
  Server:
    Type: AWS::EC2::Instance
    Properties: {ImageId: !Ref Ami, InstanceType: t3.micro}
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData: {ImageId: !Ref Ami}
"""

LITERAL_IN_TEMPLATE = """
Resources:
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData: {ImageId: ami-0abcdef1234567890, InstanceType: t3.micro}
"""

MAPPING = """
Mappings:
  Region:
    us-east-1: {Ami: ami-0abcdef1234567890}
Resources:
  Server:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: !FindInMap [Region, !Ref 'AWS::Region', Ami]
      InstanceType: t3.micro
"""

RESOLVE = """
Resources:
  Server:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: '{{resolve:ssm:""" + AL2023 + """}}'
      InstanceType: t3.micro
"""


@pytest.mark.parametrize(("cloudformation", "expected", "fragment"), [
    pytest.param(SSM_PARAMETER, [], None, id="ssm-parameter-type"),
    pytest.param(RESOLVE, [], None, id="resolve-ssm"),
    # Reported once, on the parameter both resources read.
    pytest.param(IMAGE_ID_PARAMETER, ["Ami"], "Parameter Ami is the AMI id ami-0abcdef1234567890",
                 id="image-id-parameter"),
    pytest.param(LITERAL_IN_TEMPLATE, ["Template"],
                 "Template uses the AMI id ami-0abcdef1234567890. AMI ids are regional",
                 id="literal-in-launch-template"),
    pytest.param(MAPPING, ["Server"], "(from a Mappings entry)", id="region-mapping"),
])
def test_cloudformation_ami(advise_inline, cloudformation: str, expected: list[str],
                            fragment: str | None) -> None:
    report = advise_inline(cloudformation=cloudformation)
    findings = report.by_rule("ADV006")
    assert [(f.severity.value, f.resource) for f in findings] == [("warning", r) for r in expected]
    if fragment:
        assert fragment in findings[0].message
        assert "(launching in us-east-1)" in findings[0].message


TERRAFORM = {
    "literal": ('''
        resource "aws_instance" "web" {
          ami           = "ami-0abcdef1234567890"
          instance_type = "t3.micro"
        }''', {}, ["aws_instance.web"]),
    "from-variable": ('''
        variable "ami_id" {
          type = string
        }
        resource "aws_launch_template" "app" {
          image_id = var.ami_id
        }''', {"ami_id": "ami-0abcdef1234567890"}, ["aws_launch_template.app"]),
    "ssm-data-source": ('''
        data "aws_ssm_parameter" "ami" {
          name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
        }
        resource "aws_instance" "web" {
          ami           = data.aws_ssm_parameter.ami.insecure_value
          instance_type = "t3.micro"
        }''', {}, []),
    "ami-data-source": ('''
        data "aws_ami" "al2023" {
          most_recent = true
          owners      = ["amazon"]
          filter {
            name   = "name"
            values = ["al2023-ami-*-x86_64"]
          }
        }
        resource "aws_instance" "web" {
          ami           = data.aws_ami.al2023.id
          instance_type = "t3.micro"
        }''', {}, []),
}


@pytest.mark.parametrize("case", list(TERRAFORM))
def test_terraform_ami(advise_inline, of_rule, case: str) -> None:
    text, values, expected = TERRAFORM[case]
    report = advise_inline(terraform={"main.tf": text}, values=values)
    assert of_rule(report, "ADV006") == [("terraform", "warning", r) for r in expected]
    if case == "from-variable":
        assert "(from var.ami_id)" in report.by_rule("ADV006")[0].message
