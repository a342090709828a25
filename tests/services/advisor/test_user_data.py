"""ADV005: user data that changes without replacing the instances that run it."""

from __future__ import annotations

import pytest

AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

INSTANCE = """
Resources:
  Server:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: '{{resolve:ssm:%s}}'
      InstanceType: t3.micro
      %s
"""

GROUP = """
Resources:
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        InstanceType: m6i.large
        UserData: !Base64 "#!/bin/bash\\necho hi\\n"
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    %s
    Properties:
      MinSize: '1'
      MaxSize: '2'
      LaunchTemplate:
        LaunchTemplateId: !Ref Template
        Version: !GetAtt Template.LatestVersionNumber
"""


@pytest.mark.parametrize(("cloudformation", "expected"), [
    pytest.param(INSTANCE % (AL2023, "UserData: !Base64 \"#!/bin/bash\\necho hi\\n\""),
                 [("info", "Server")], id="instance-with-user-data"),
    pytest.param(INSTANCE % (AL2023, "Monitoring: true"), [], id="instance-without-user-data"),
    pytest.param(GROUP % "", [("warning", "Group")], id="group-without-update-policy"),
    pytest.param(GROUP % ("UpdatePolicy:\n"
                          "      AutoScalingRollingUpdate: {MinInstancesInService: 1}"),
                 [], id="group-rolling-update"),
])
def test_cloudformation_user_data(advise_inline, cloudformation: str, expected: list) -> None:
    report = advise_inline(cloudformation=cloudformation)
    assert [(f.severity.value, f.resource) for f in report.by_rule("ADV005")] == expected
    assert not report.blocks_launch


TF_INSTANCE = """
resource "aws_instance" "web" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  user_data     = <<-EOT
    #!/bin/bash
    echo hello
  EOT
  %s
}
"""

TF_GROUP = """
resource "aws_launch_template" "app" {
  instance_type = "m6i.large"
  user_data     = base64encode("#!/bin/bash\\necho hi\\n")
}
resource "aws_autoscaling_group" "app" {
  min_size = 1
  max_size = 2
  launch_template {
    id      = aws_launch_template.app.id
    version = aws_launch_template.app.latest_version
  }
  %s
}
"""


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param(TF_INSTANCE % "", ["aws_instance.web"], id="instance-updated-in-place"),
    pytest.param(TF_INSTANCE % "user_data_replace_on_change = true", [],
                 id="instance-replaced"),
    pytest.param(TF_INSTANCE % "user_data_replace_on_change = false", ["aws_instance.web"],
                 id="instance-flag-false"),
    pytest.param(TF_GROUP % "", ["aws_autoscaling_group.app"], id="group-without-refresh"),
    pytest.param(TF_GROUP % 'instance_refresh {\n    strategy = "Rolling"\n  }', [],
                 id="group-with-instance-refresh"),
])
def test_terraform_user_data(advise_inline, of_rule, text: str, expected: list[str]) -> None:
    report = advise_inline(terraform={"main.tf": text})
    assert of_rule(report, "ADV005") == [("terraform", "warning", r) for r in expected]
    if expected:
        message = report.by_rule("ADV005")[0].message
        assert ("user_data_replace_on_change" in message) == (expected[0] == "aws_instance.web")
