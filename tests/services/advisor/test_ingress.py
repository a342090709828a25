"""ADV003 (SSH open to the world) and ADV007 (database port opened to an address range)."""

from __future__ import annotations

import pytest


def group(*rules: str) -> str:
    entries = "".join(f"\n        - {rule}" for rule in rules)
    return f"""
Parameters:
  SshCidr: {{Type: String, Default: 203.0.113.10/32}}
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: test
      SecurityGroupIngress:{entries}
"""


STANDALONE_V6 = """
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: test}
  LowPorts:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !GetAtt Sg.GroupId
      IpProtocol: tcp
      FromPort: 0
      ToPort: 1024
      CidrIpv6: ::/0
"""


@pytest.mark.parametrize(("cloudformation", "parameters", "ssh", "database"), [
    pytest.param(group("{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref SshCidr}"),
                 {"SshCidr": "0.0.0.0/0"}, [("error", "Sg")], [], id="ssh-parameter-world"),
    pytest.param(group("{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref SshCidr}"),
                 {}, [], [], id="ssh-parameter-default-one-address"),
    pytest.param(STANDALONE_V6, {}, [("error", "LowPorts")], [], id="range-over-22-ipv6"),
    pytest.param(group("{IpProtocol: '-1', CidrIp: 0.0.0.0/0}"), {},
                 [("error", "Sg")], [("error", "Sg")], id="all-traffic-world"),
    pytest.param(group("{IpProtocol: udp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}"), {},
                 [], [], id="udp-22"),
    pytest.param(group("{IpProtocol: tcp, FromPort: 80, ToPort: 80, CidrIp: 0.0.0.0/0}"), {},
                 [], [], id="http-world"),
    pytest.param(group("{IpProtocol: tcp, FromPort: 22, ToPort: 22, "
                       "SourceSecurityGroupId: sg-0123456789abcdef0}"), {}, [], [],
                 id="ssh-from-security-group"),
    pytest.param(group("{IpProtocol: tcp, FromPort: 3306, ToPort: 3306, CidrIp: 10.0.0.0/16}"),
                 {}, [], [("warning", "Sg")], id="mysql-from-vpc-range"),
    pytest.param(group("{IpProtocol: tcp, FromPort: 5432, ToPort: 5432, CidrIp: 0.0.0.0/0}"),
                 {}, [], [("error", "Sg")], id="postgres-world"),
    pytest.param(group("{IpProtocol: tcp, FromPort: 6379, ToPort: 6379, "
                       "SourceSecurityGroupId: sg-0123456789abcdef0}"), {}, [], [],
                 id="redis-from-security-group"),
    pytest.param(group("{IpProtocol: '-1', CidrIp: 10.0.0.0/16}"), {}, [], [],
                 id="all-traffic-from-vpc"),
    pytest.param(group("{IpProtocol: tcp, FromPort: 27000, ToPort: 28000, CidrIp: 10.0.1.0/24}"),
                 {}, [], [("warning", "Sg")], id="range-over-mongodb"),
])
def test_cloudformation_ingress(advise_inline, cloudformation: str, parameters: dict,
                                ssh: list, database: list) -> None:
    report = advise_inline(cloudformation=cloudformation, cfn_parameters=parameters)
    assert [(f.severity.value, f.resource) for f in report.by_rule("ADV003")] == ssh
    assert [(f.severity.value, f.resource) for f in report.by_rule("ADV007")] == database
    assert report.blocks_launch == any(s == "error" for s, _ in ssh + database)


def test_messages_name_the_group_the_port_and_the_range(advise_inline) -> None:
    report = advise_inline(cloudformation=group(
        "{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}",
        "{IpProtocol: tcp, FromPort: 3306, ToPort: 3306, CidrIp: 10.0.0.0/16}"))
    assert report.by_rule("ADV003")[0].message == (
        "Sg admits SSH (TCP port 22) from 0.0.0.0/0: anyone on the internet can try to log in.")
    assert report.by_rule("ADV007")[0].message.startswith(
        "Sg opens the MySQL/MariaDB (3306) port to the address range 10.0.0.0/16 instead of a "
        "security group")
    assert "SSM Session Manager" in report.by_rule("ADV003")[0].fix


TERRAFORM_RULES = {
    "inline-ssh-world": ("""
        resource "aws_security_group" "web" {
          ingress {
            from_port   = 22
            to_port     = 22
            protocol    = "tcp"
            cidr_blocks = ["0.0.0.0/0"]
          }
        }""", {}, [("error", "aws_security_group.web")], []),
    "rule-all-protocols-world": ("""
        resource "aws_security_group_rule" "all" {
          type              = "ingress"
          from_port         = 0
          to_port           = 0
          protocol          = "-1"
          cidr_blocks       = ["0.0.0.0/0"]
          security_group_id = "sg-1"
        }""", {}, [("error", "aws_security_group_rule.all")],
        [("error", "aws_security_group_rule.all")]),
    "egress-is-not-ingress": ("""
        resource "aws_security_group_rule" "out" {
          type              = "egress"
          from_port         = 22
          to_port           = 22
          protocol          = "tcp"
          cidr_blocks       = ["0.0.0.0/0"]
          security_group_id = "sg-1"
        }""", {}, [], []),
    "ssh-variable-world": ("""
        variable "ssh_cidr" {
          type = string
        }
        resource "aws_vpc_security_group_ingress_rule" "ssh" {
          security_group_id = "sg-1"
          ip_protocol       = "tcp"
          from_port         = 22
          to_port           = 22
          cidr_ipv4         = var.ssh_cidr
        }""", {"ssh_cidr": "0.0.0.0/0"}, [("error", "aws_vpc_security_group_ingress_rule.ssh")],
        []),
    "ssh-variable-one-address": ("""
        variable "ssh_cidr" {
          type = string
        }
        resource "aws_vpc_security_group_ingress_rule" "ssh" {
          security_group_id = "sg-1"
          ip_protocol       = "tcp"
          from_port         = 22
          to_port           = 22
          cidr_ipv4         = var.ssh_cidr
        }""", {"ssh_cidr": "198.51.100.7/32"}, [], []),
    "mysql-from-range": ("""
        resource "aws_vpc_security_group_ingress_rule" "db" {
          security_group_id = "sg-1"
          ip_protocol       = "tcp"
          from_port         = 3306
          to_port           = 3306
          cidr_ipv4         = "10.0.0.0/16"
        }""", {}, [], [("warning", "aws_vpc_security_group_ingress_rule.db")]),
    "mysql-from-security-group": ("""
        resource "aws_vpc_security_group_ingress_rule" "db" {
          security_group_id            = "sg-1"
          ip_protocol                  = "tcp"
          from_port                    = 3306
          to_port                      = 3306
          referenced_security_group_id = aws_security_group.web.id
        }""", {}, [], []),
    "memcached-world": ("""
        resource "aws_security_group" "cache" {
          ingress {
            from_port   = 11211
            to_port     = 11211
            protocol    = "tcp"
            cidr_blocks = ["0.0.0.0/0"]
          }
        }""", {}, [], [("error", "aws_security_group.cache")]),
}


@pytest.mark.parametrize("case", list(TERRAFORM_RULES))
def test_terraform_ingress(advise_inline, case: str) -> None:
    text, values, ssh, database = TERRAFORM_RULES[case]
    report = advise_inline(terraform={"main.tf": text}, values=values)
    assert [(f.severity.value, f.resource) for f in report.by_rule("ADV003")] == ssh
    assert [(f.severity.value, f.resource) for f in report.by_rule("ADV007")] == database
