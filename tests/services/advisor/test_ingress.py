"""ADV003 (SSH open to the world) and ADV007 (database port opened to an address range)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.advisor.network import is_world_cidr


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


@pytest.mark.parametrize(("cidr", "world"), [
    pytest.param("0.0.0.0/0", True, id="ipv4-everything"),
    pytest.param("0.0.0.0/1", True, id="lower-half"),
    pytest.param("128.0.0.0/1", True, id="upper-half"),
    pytest.param("0.0.0.0/2", True, id="first-quarter-has-public-space-after-0/8-and-10/8"),
    pytest.param("64.0.0.0/3", True, id="an-eighth"),
    pytest.param("100.0.0.0/8", True, id="a-public-/8-around-shared-100.64/10"),
    pytest.param("172.0.0.0/8", True, id="a-/8-around-private-172.16/12"),
    pytest.param("0.0.0.1/0", True, id="host-bits-set-still-everything"),
    pytest.param(" 0.0.0.0/1 ", True, id="spaces-around"),
    pytest.param("10.0.0.0/8", False, id="private-/8"),
    pytest.param("127.0.0.0/8", False, id="loopback-/8"),
    pytest.param("0.0.0.0/8", False, id="this-network-/8"),
    pytest.param("224.0.0.0/3", False, id="multicast-and-reserved-only"),
    pytest.param("240.0.0.0/4", False, id="reserved-/4"),
    pytest.param("52.0.0.0/9", False, id="narrower-than-/8"),
    pytest.param("203.0.113.0/24", False, id="public-/24"),
    pytest.param("198.51.100.7/32", False, id="one-address"),
    pytest.param("::/0", True, id="ipv6-everything"),
    pytest.param("::/1", True, id="ipv6-lower-half"),
    pytest.param("2000::/3", True, id="ipv6-global-unicast"),
    pytest.param("2600::/12", True, id="a-registry's-/12"),
    pytest.param("2600::/13", False, id="narrower-than-/12"),
    pytest.param("8000::/1", False, id="ipv6-upper-half-is-reserved-ula-link-local-multicast"),
    pytest.param("fc00::/7", False, id="unique-local"),
    pytest.param("fe80::/10", False, id="link-local"),
    pytest.param("fec0::/10", False, id="deprecated-site-local"),
    pytest.param("ff00::/8", False, id="ipv6-multicast"),
    pytest.param("2001:db8::/32", False, id="ipv6-documentation"),
    pytest.param("0.0.0.0/33", False, id="not-a-range"),
    pytest.param("sg-0123456789abcdef0", False, id="not-an-address"),
])
def test_what_counts_as_the_world(cidr: str, world: bool) -> None:
    assert is_world_cidr(cidr) is world


SSH_FROM_PARAMETER = group("{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref SshCidr}")
SSH_FROM_IPV6_PARAMETER = """
Parameters:
  SshCidr: {Type: String, Default: '2001:db8::1/128'}
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: test
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIpv6: !Ref SshCidr}
"""
POSTGRES_FROM_PARAMETER = """
Parameters:
  DbCidr: {Type: String, Default: 10.0.0.0/16}
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: test
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 5432, ToPort: 5432, CidrIp: !Ref DbCidr}
"""


@pytest.mark.parametrize(("cidr", "blocked"), [
    pytest.param("0.0.0.0/1", True, id="0.0.0.0/1-blocked"),
    pytest.param("128.0.0.0/1", True, id="128.0.0.0/1-blocked"),
    pytest.param("0.0.0.0/2", True, id="0.0.0.0/2-blocked"),
    pytest.param("64.0.0.0/3", True, id="64.0.0.0/3-blocked"),
    pytest.param("203.0.113.0/24", False, id="203.0.113.0/24-not-blocked"),
    pytest.param("10.0.0.0/8", False, id="10.0.0.0/8-not-blocked"),
    pytest.param("198.51.100.0/22", False, id="198.51.100.0/22-not-blocked"),
])
def test_ssh_from_any_world_sized_ipv4_range_blocks(advise_inline, cidr: str,
                                                    blocked: bool) -> None:
    report = advise_inline(cloudformation=SSH_FROM_PARAMETER, cfn_parameters={"SshCidr": cidr})
    assert [(f.severity.value, f.resource) for f in report.by_rule("ADV003")] == \
        ([("error", "Sg")] if blocked else [])
    assert report.blocks_launch is blocked


@pytest.mark.parametrize(("cidr", "blocked"), [
    pytest.param("::/1", True, id="::/1-blocked"),
    pytest.param("2000::/3", True, id="2000::/3-blocked"),
    pytest.param("2a00::/12", True, id="2a00::/12-blocked"),
    pytest.param("fc00::/7", False, id="fc00::/7-not-blocked"),
    pytest.param("2001:db8:1::/48", False, id="a-site-/48-not-blocked"),
])
def test_ssh_from_any_world_sized_ipv6_range_blocks(advise_inline, cidr: str,
                                                    blocked: bool) -> None:
    report = advise_inline(cloudformation=SSH_FROM_IPV6_PARAMETER,
                           cfn_parameters={"SshCidr": cidr})
    assert [(f.severity.value, f.resource) for f in report.by_rule("ADV003")] == \
        ([("error", "Sg")] if blocked else [])


@pytest.mark.parametrize(("cidr", "severity"), [
    pytest.param("0.0.0.0/0", "error", id="everything"),
    pytest.param("0.0.0.0/1", "error", id="half-the-internet"),
    pytest.param("128.0.0.0/2", "error", id="a-quarter"),
    pytest.param("10.0.0.0/8", "warning", id="private-/8-is-only-a-range"),
    pytest.param("203.0.113.0/24", "warning", id="public-/24-is-only-a-range"),
])
def test_database_port_from_a_world_sized_range_is_an_error(advise_inline, cidr: str,
                                                            severity: str) -> None:
    report = advise_inline(cloudformation=POSTGRES_FROM_PARAMETER,
                           cfn_parameters={"DbCidr": cidr})
    assert [(f.severity.value, f.resource) for f in report.by_rule("ADV007")] == \
        [(severity, "Sg")]
    assert cidr in report.by_rule("ADV007")[0].message


# The IANA special-purpose /8s of IPv4, written out here rather than asked of the code under
# test: 0/8 "this network", 10/8 private, 127/8 loopback, 224/4 multicast, 240/4 reserved.
# Every other /8 holds public addresses.
NON_PUBLIC_FIRST_OCTETS = frozenset({0, 10, 127, *range(224, 256)})
# IANA's global unicast block; the rest of IPv6 is reserved, unique-local, link-local or
# multicast.
IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def _ipv4_network(prefix: int, address: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network((address, prefix), strict=False)


def _overlaps_public_ipv4(network: ipaddress.IPv4Network) -> bool:
    first = int(network.network_address) >> 24
    last = int(network.broadcast_address) >> 24
    return any(octet not in NON_PUBLIC_FIRST_OCTETS for octet in range(first, last + 1))


def _ssh_errors(advise_inline, cidr: str, *, ipv6: bool = False) -> list[str]:
    template = SSH_FROM_IPV6_PARAMETER if ipv6 else SSH_FROM_PARAMETER
    report = advise_inline(cloudformation=template, cfn_parameters={"SshCidr": cidr})
    return [f.message for f in report.by_rule("ADV003") if f.severity.value == "error"]


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                    HealthCheck.too_slow])


# Random addresses would seldom land in the special-purpose /8s; draw from them on purpose too.
IPV4_ADDRESSES = st.builds(lambda first, rest: first << 24 | rest,
                           st.one_of(st.integers(0, 255),
                                     st.sampled_from(sorted(NON_PUBLIC_FIRST_OCTETS))),
                           st.integers(0, 2**24 - 1))


@PROPERTY_SETTINGS
@given(network=st.builds(_ipv4_network, st.integers(0, 8), IPV4_ADDRESSES))
def test_any_ipv4_range_of_a_slash_8_or_wider_with_public_space_is_the_world(
        advise_inline, network: ipaddress.IPv4Network) -> None:
    errors = _ssh_errors(advise_inline, str(network))
    if _overlaps_public_ipv4(network):
        assert len(errors) == 1 and f"from {network}" in errors[0]
    else:
        assert errors == []


@PROPERTY_SETTINGS
@given(network=st.builds(_ipv4_network, st.integers(24, 32), IPV4_ADDRESSES))
def test_no_ipv4_range_of_a_slash_24_or_narrower_is_the_world(
        advise_inline, network: ipaddress.IPv4Network) -> None:
    assert _ssh_errors(advise_inline, str(network)) == []


@PROPERTY_SETTINGS
@given(prefix=st.integers(0, 12), address=st.integers(0, 2**128 - 1))
def test_any_ipv6_range_of_a_slash_12_or_wider_in_global_unicast_is_the_world(
        advise_inline, prefix: int, address: int) -> None:
    network = ipaddress.IPv6Network((address, prefix), strict=False)
    errors = _ssh_errors(advise_inline, str(network), ipv6=True)
    assert bool(errors) is network.overlaps(IPV6_GLOBAL_UNICAST)


@PROPERTY_SETTINGS
@given(prefix=st.integers(48, 128), address=st.integers(0, 2**128 - 1))
def test_no_ipv6_range_of_a_slash_48_or_narrower_is_the_world(
        advise_inline, prefix: int, address: int) -> None:
    network = ipaddress.IPv6Network((address, prefix), strict=False)
    assert _ssh_errors(advise_inline, str(network), ipv6=True) == []


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


def test_a_world_range_other_than_slash_0_is_named_with_its_size(advise_inline) -> None:
    report = advise_inline(cloudformation=group(
        "{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/1}",
        "{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIpv6: '2000::/3'}"))
    assert [f.message for f in report.by_rule("ADV003")] == [
        "Sg admits SSH (TCP port 22) from 0.0.0.0/1 (2,147,483,648 addresses): anyone on the "
        "internet can try to log in.",
        "Sg admits SSH (TCP port 22) from 2000::/3 (2^125 addresses): anyone on the internet "
        "can try to log in."]


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
    "inline-ssh-two-halves": ("""
        resource "aws_security_group" "halves" {
          ingress {
            from_port   = 22
            to_port     = 22
            protocol    = "tcp"
            cidr_blocks = ["0.0.0.0/1", "128.0.0.0/1"]
          }
        }""", {}, [("error", "aws_security_group.halves")], []),
    "inline-ssh-ipv6-global-unicast": ("""
        resource "aws_security_group" "v6" {
          ingress {
            from_port        = 0
            to_port          = 1024
            protocol         = "tcp"
            ipv6_cidr_blocks = ["2000::/3"]
          }
        }""", {}, [("error", "aws_security_group.v6")], []),
    "ssh-variable-eighth-of-the-internet": ("""
        variable "ssh_cidr" {
          type = string
        }
        resource "aws_vpc_security_group_ingress_rule" "ssh" {
          security_group_id = "sg-1"
          ip_protocol       = "tcp"
          from_port         = 22
          to_port           = 22
          cidr_ipv4         = var.ssh_cidr
        }""", {"ssh_cidr": "64.0.0.0/3"}, [("error", "aws_vpc_security_group_ingress_rule.ssh")],
        []),
    "ssh-variable-private-slash-8": ("""
        variable "ssh_cidr" {
          type = string
        }
        resource "aws_vpc_security_group_ingress_rule" "ssh" {
          security_group_id = "sg-1"
          ip_protocol       = "tcp"
          from_port         = 22
          to_port           = 22
          cidr_ipv4         = var.ssh_cidr
        }""", {"ssh_cidr": "10.0.0.0/8"}, [], []),
    "mysql-rule-from-half-the-internet": ("""
        resource "aws_security_group_rule" "db" {
          type              = "ingress"
          from_port         = 3306
          to_port           = 3306
          protocol          = "tcp"
          cidr_blocks       = ["128.0.0.0/1"]
          security_group_id = "sg-1"
        }""", {}, [], [("error", "aws_security_group_rule.db")]),
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


def test_terraform_message_names_each_world_range_and_the_resource(advise_inline) -> None:
    text, values, _, _ = TERRAFORM_RULES["inline-ssh-two-halves"]
    report = advise_inline(terraform={"main.tf": text}, values=values)
    (finding,) = report.by_rule("ADV003")
    assert finding.source == "terraform" and finding.resource == "aws_security_group.halves"
    assert finding.message == (
        "aws_security_group.halves admits SSH (TCP port 22) from 0.0.0.0/1 (2,147,483,648 "
        "addresses) and 128.0.0.0/1 (2,147,483,648 addresses): anyone on the internet can try "
        "to log in.")
