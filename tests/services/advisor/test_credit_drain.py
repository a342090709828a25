"""ADV001: burstable instances whose expected CPU is above their baseline run out of credits."""

from __future__ import annotations

import textwrap

import pytest

from services.advisor.rules.credit_drain import AGENTS

AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

AGENT_SCRIPT = """\
#!/bin/bash
dnf install -y amazon-cloudwatch-agent ruby wget
wget https://aws-codedeploy-us-east-1.s3.amazonaws.com/latest/install
chmod +x ./install && ./install auto
systemctl enable --now codedeploy-agent
"""


def group_template(*, instance_type: str, target: int | None, credits: str | None,
                   user_data: str = AGENT_SCRIPT) -> str:
    credit = f"CreditSpecification: {{CpuCredits: {credits}}}" if credits else ""
    policy = f"""
  CpuTarget:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties:
      AutoScalingGroupName: !Ref Group
      PolicyType: TargetTrackingScaling
      TargetTrackingConfiguration:
        PredefinedMetricSpecification: {{PredefinedMetricType: ASGAverageCPUUtilization}}
        TargetValue: !Ref CpuTarget
""" if target is not None else ""
    return f"""
Parameters:
  InstanceType: {{Type: String, Default: {instance_type}}}
  CpuTarget: {{Type: Number, Default: {target or 50}}}
  AmiParameter:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
Resources:
  LaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: !Ref AmiParameter
        InstanceType: !Ref InstanceType
        {credit}
        UserData:
          Fn::Base64: |
{textwrap.indent(user_data, " " * 12)}
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: '1'
      MaxSize: '4'
      LaunchTemplate:
        LaunchTemplateId: !Ref LaunchTemplate
        Version: !GetAtt LaunchTemplate.LatestVersionNumber
{policy}"""


INSTANCE_TEMPLATE = """
Resources:
  Server:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: '{{resolve:ssm:""" + AL2023 + """}}'
      InstanceType: t2.micro
      UserData:
        Fn::Base64: |
""" + textwrap.indent(AGENT_SCRIPT, " " * 10)


@pytest.mark.parametrize(("cloudformation", "resource", "fragments"), [
    pytest.param(group_template(instance_type="t3.micro", target=50, credits="standard"), "Group",
                 ["Group (launch template LaunchTemplate): t3.micro in standard credit mode, "
                  "baseline 10% per vCPU (earns 12 credits/h, 2 vCPUs).",
                  "Expected CPU 50%: target tracking holds the group's average at 50% (the SSM, "
                  "CloudWatch and CodeDeploy agents ~11%",
                  "Net −48 credits/h; from a balance of 0, throttled to 10% from the first "
                  "minute; balance after 24 h: 0 credits."],
                 id="seed-t3.micro-target-50"),
    pytest.param(INSTANCE_TEMPLATE, "Server",
                 ["Server: t2.micro in standard credit mode, the t2 default, baseline 10% per "
                  "vCPU (earns 6 credits/h, 1 vCPU).",
                  "Expected CPU 22% from the SSM, CloudWatch and CodeDeploy agents ~22% alone",
                  # 30 launch credits last 30/13.2 h while 13.6 credits are earned, which last
                  # another 13.6/7.2 h: 4.2 h in all.
                  "Net −7.2 credits/h; from its 30 launch credits, throttled to 10% after 4.2 h"],
                 id="t2-agents-alone"),
    pytest.param(group_template(instance_type="t3.micro", target=50, credits=None), "Group",
                 ["t3.micro in unlimited credit mode, the t3 default",
                  # 48 surplus credits an hour reach the 288 limit after 6 h; then 48 credits
                  # (0.8 vCPU-hours) are charged every hour at $0.05.
                  "never throttled, but surplus credits are billed from hour 7: about $0.040/h "
                  "($0.96/day) per instance at $0.05 per vCPU-hour"],
                 id="t3-unlimited-default"),
    pytest.param(group_template(instance_type="t3.micro", target=10, credits="standard"),
                 "Group", ["Expected CPU 11%: target tracking holds the group's average at 10%",
                           "Net −1.2 credits/h"],
                 id="agents-above-a-low-target"),
])
def test_burstable_above_its_baseline_warns(advise_inline, cloudformation: str, resource: str,
                                            fragments: list[str]) -> None:
    report = advise_inline(cloudformation=cloudformation)
    findings = report.by_rule("ADV001")
    assert [(f.source, f.severity.value, f.resource) for f in findings] == \
        [("cloudformation", "warning", resource)]
    for fragment in fragments:
        assert fragment in findings[0].message
    assert not report.blocks_launch


@pytest.mark.parametrize("cloudformation", [
    pytest.param(group_template(instance_type="t3.small", target=15, credits="standard"),
                 id="t3.small-target-below-20-baseline"),
    pytest.param(group_template(instance_type="m6i.large", target=50, credits=None),
                 id="not-burstable"),
    pytest.param(group_template(instance_type="t3.micro", target=None, credits="standard",
                                user_data="#!/bin/bash\necho hi\n"),
                 id="t3.micro-ssm-agent-only"),
    pytest.param(INSTANCE_TEMPLATE.replace("t2.micro", "t3.large"), id="t3.large-agents"),
])
def test_burstable_within_its_baseline_is_quiet(advise_inline, cloudformation: str) -> None:
    assert advise_inline(cloudformation=cloudformation).by_rule("ADV001") == []


TERRAFORM_GROUP = {
    "main.tf": """
        variable "instance_type" {
          type = string
        }
        variable "cpu_target" {
          type = number
        }
        data "aws_ssm_parameter" "ami" {
          name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
        }
        locals {
          burstable = startswith(var.instance_type, "t")
        }
        resource "aws_launch_template" "app" {
          image_id      = data.aws_ssm_parameter.ami.insecure_value
          instance_type = var.instance_type
          dynamic "credit_specification" {
            for_each = local.burstable ? ["standard"] : []
            content {
              cpu_credits = credit_specification.value
            }
          }
          user_data = base64encode(templatefile("${path.module}/user_data.sh.tftpl", {
            region = "us-east-1"
          }))
        }
        resource "aws_autoscaling_group" "app" {
          min_size = 1
          max_size = 4
          launch_template {
            id      = aws_launch_template.app.id
            version = aws_launch_template.app.latest_version
          }
        }
        resource "aws_autoscaling_policy" "cpu" {
          autoscaling_group_name = aws_autoscaling_group.app.name
          policy_type            = "TargetTrackingScaling"
          target_tracking_configuration {
            predefined_metric_specification {
              predefined_metric_type = "ASGAverageCPUUtilization"
            }
            target_value = var.cpu_target
          }
        }
    """,
    "user_data.sh.tftpl": "#!/bin/bash\n"
                          "dnf install -y amazon-cloudwatch-agent\n"
                          "curl -o install "
                          "https://aws-codedeploy-${region}.s3.amazonaws.com/latest/install\n",
}


@pytest.mark.parametrize(("values", "expected"), [
    pytest.param({"instance_type": "t3.micro", "cpu_target": 50},
                 [("terraform", "warning", "aws_autoscaling_group.app")], id="t3.micro-50"),
    pytest.param({"instance_type": "t3.large", "cpu_target": 25}, [], id="t3.large-25"),
    pytest.param({"instance_type": "c6i.large", "cpu_target": 50}, [], id="c6i"),
])
def test_terraform_group_with_target_tracking(advise_inline, of_rule, values: dict,
                                              expected: list) -> None:
    report = advise_inline(terraform=TERRAFORM_GROUP, values=values)
    assert of_rule(report, "ADV001") == expected
    if expected:
        message = report.by_rule("ADV001")[0].message
        assert "aws_autoscaling_group.app (launch template aws_launch_template.app): t3.micro " \
               "in standard credit mode, baseline 10%" in message
        assert "the SSM, CloudWatch and CodeDeploy agents ~11%" in message


def test_agent_assumptions_reproduce_the_seed_observation() -> None:
    # Three agents on a t3.micro (2 vCPUs) sit just above its 10% baseline, as the seed saw.
    assert sum(a.vcpu_percent for a in AGENTS) / 2 == pytest.approx(11.0)
