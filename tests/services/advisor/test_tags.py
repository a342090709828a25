"""ADV008: resources that will not carry the portal's tags."""

from __future__ import annotations

import pytest

VARIABLES = """
variable "region" {
  type = string
}
variable "tags" {
  type = map(string)
}
"""

PROVIDER = """
provider "aws" {
  region = var.region
  default_tags {
    tags = %s
  }
}
"""

TEMPLATE_AND_GROUP = """
resource "aws_launch_template" "app" {
  instance_type = "m6i.large"
  %s
}
resource "aws_autoscaling_group" "app" {
  min_size = 1
  max_size = 2
  launch_template {
    id = aws_launch_template.app.id
  }
  %s
}
"""

DYNAMIC_TAGS = """
  dynamic "tag" {
    for_each = var.tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }
"""

INSTANCE_TAG_SPECIFICATION = """
  tag_specifications {
    resource_type = "instance"
    tags          = merge(data.aws_default_tags.current.tags, { Name = "app" })
  }
"""

NAME_TAG_ONLY = """
  tag {
    key                 = "Name"
    value               = "app"
    propagate_at_launch = true
  }
"""


@pytest.mark.parametrize(("files", "expected"), [
    pytest.param({"versions.tf": PROVIDER % "var.tags", "variables.tf": VARIABLES}, [],
                 id="default-tags-var-tags"),
    pytest.param({"versions.tf": PROVIDER % 'merge(var.tags, { Course = "aws-101" })',
                  "variables.tf": VARIABLES}, [], id="default-tags-merged"),
    pytest.param({"variables.tf": VARIABLES}, [None], id="no-provider"),
    pytest.param({"versions.tf": 'provider "aws" {\n  region = var.region\n}\n',
                  "variables.tf": VARIABLES}, [None], id="provider-without-default-tags"),
    pytest.param({"versions.tf": PROVIDER % '{ Owner = "me" }', "variables.tf": VARIABLES},
                 [None], id="default-tags-without-portal-tags"),
    # A provider in a child module is not the root's: the root's resources stay untagged.
    pytest.param({"modules/x/versions.tf": PROVIDER % "var.tags", "variables.tf": VARIABLES},
                 [None], id="provider-only-in-a-module"),
    pytest.param({"versions.tf": PROVIDER % "var.tags", "variables.tf": VARIABLES,
                  "main.tf": TEMPLATE_AND_GROUP % ("", "")}, ["aws_autoscaling_group.app"],
                 id="group-without-tags"),
    pytest.param({"versions.tf": PROVIDER % "var.tags", "variables.tf": VARIABLES,
                  "main.tf": TEMPLATE_AND_GROUP % ("", NAME_TAG_ONLY)},
                 ["aws_autoscaling_group.app"], id="group-with-name-tag-only"),
    pytest.param({"versions.tf": PROVIDER % "var.tags", "variables.tf": VARIABLES,
                  "main.tf": TEMPLATE_AND_GROUP % ("", DYNAMIC_TAGS)}, [],
                 id="group-dynamic-tags"),
    pytest.param({"versions.tf": PROVIDER % "var.tags", "variables.tf": VARIABLES,
                  "main.tf": 'data "aws_default_tags" "current" {}\n' +
                  TEMPLATE_AND_GROUP % (INSTANCE_TAG_SPECIFICATION, "")}, [],
                 id="launch-template-tags-instances"),
])
def test_terraform_portal_tags(advise_inline, of_rule, files: dict[str, str],
                               expected: list[str | None]) -> None:
    report = advise_inline(terraform=files)
    assert of_rule(report, "ADV008") == [("terraform", "warning", r) for r in expected]


def test_group_message_says_why(advise_inline) -> None:
    report = advise_inline(terraform={"versions.tf": PROVIDER % "var.tags",
                                      "variables.tf": VARIABLES,
                                      "main.tf": TEMPLATE_AND_GROUP % ("", "")})
    assert "provider default_tags reach neither the group nor the instances it launches" in \
        report.by_rule("ADV008")[0].message


GROUP_CFN = """
Resources:
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        InstanceType: m6i.large
        BlockDeviceMappings:
          - DeviceName: /dev/xvda
            Ebs: {VolumeSize: 20, DeleteOnTermination: %s}
        %s
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: '1'
      MaxSize: '2'
      LaunchTemplate:
        LaunchTemplateId: !Ref Template
        Version: !GetAtt Template.LatestVersionNumber
"""


@pytest.mark.parametrize(("cloudformation", "expected"), [
    # Stack tags reach the group and, through it, its instances: no Tags needed on the group.
    pytest.param(GROUP_CFN % ("true", ""), [], id="group-without-tags-is-fine"),
    pytest.param(GROUP_CFN % ("false", ""), ["Template"], id="volume-outlives-instance"),
    pytest.param(GROUP_CFN % ("false", "TagSpecifications: [{ResourceType: volume, Tags: "
                                       "[{Key: Name, Value: app}]}]"), [],
                 id="volume-tagged-by-template"),
])
def test_cloudformation_portal_tags(advise_inline, cloudformation: str, expected: list) -> None:
    report = advise_inline(cloudformation=cloudformation)
    assert [(f.severity.value, f.resource) for f in report.by_rule("ADV008")] == \
        [("warning", r) for r in expected]
