"""Security group ingress rules of both sources in one shape, for the rules about open ports."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from services.advisor.model import AdvisorSubject, Source
from services.advisor.terraform_model import TfResource, expression_text, nested_blocks
from services.advisor.values import as_number, cfn_target
from services.i18n import _, format_number

ALL_PORTS = (0, 65535)
# When a range counts as "the whole internet". 0.0.0.0/0 is only the usual spelling: 0.0.0.0/1
# plus 128.0.0.0/1, or 64.0.0.0/2, put SSH in front of the same scanners. The line is the block
# IANA hands a regional internet registry, a /8 in IPv4 and a /12 in IPv6 (2600::/12 is
# ARIN's): a /8 is 16.7 million addresses, the networks of thousands of unrelated
# organisations, while a school or company holds a /16 or narrower (a few early-internet /8s
# aside). Nobody means "us" by a /8, so a range that wide is an error as soon as any of it is
# public. Narrower public ranges (an ISP's /11, a provider's /16, 203.0.113.0/24) are not the
# world and stay what they were, ranges; a /8 that is all private or special-purpose
# (10.0.0.0/8, 127.0.0.0/8, fc00::/7) holds nobody on the internet and is not the world either.
WORLD_PREFIX = {4: 8, 6: 12}
_ALL_PROTOCOLS = ("-1", "all")
_TCP = ("tcp", "6")


@dataclass(frozen=True)
class IngressRule:
    resource: str
    """Where the rule is declared: the security group or the standalone rule resource."""
    source: Source
    protocol: str
    ports: tuple[int, int]
    cidrs: tuple[str, ...]
    """Address ranges the rule admits (only those known before launch)."""
    peer: str | None
    """A security group or prefix list the rule admits instead of an address range."""

    @property
    def all_traffic(self) -> bool:
        return self.protocol in _ALL_PROTOCOLS or (self.protocol in _TCP and
                                                   self.ports == ALL_PORTS)

    def covers_tcp_port(self, port: int) -> bool:
        if self.protocol in _ALL_PROTOCOLS:
            return True
        return self.protocol in _TCP and self.ports[0] <= port <= self.ports[1]

    @property
    def world_cidrs(self) -> list[str]:
        return [c for c in self.cidrs if is_world_cidr(c)]

    def describe_ports(self) -> str:
        """What the rule opens, for a message in the current language."""
        if self.protocol in _ALL_PROTOCOLS:
            return _("all traffic")
        low, high = self.ports
        if (low, high) == ALL_PORTS:
            return _("all TCP ports")
        if low == high:
            return _("TCP port {port}").format(port=low)
        return _("TCP ports {low}-{high}").format(low=low, high=high)


def _is_public_block(block: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """Whether a block of exactly WORLD_PREFIX holds globally routable addresses.

    The stdlib's network tests ask whether both ends of a network lie in a special-purpose range,
    which says nothing about the middle of 0.0.0.0/0. At /8 and /12 they are exact: IANA's
    special-purpose ranges either hold a whole block (10.0.0.0/8, 224.0.0.0/4, fc00::/7, ::/8)
    or lie inside an otherwise public one (192.168.0.0/16, 2001:db8::/32).
    """
    return not (block.is_private or block.is_multicast or block.is_reserved
                # fec0::/10, the deprecated site-local range, is in none of the stdlib's lists.
                or getattr(block, "is_site_local", False))


@functools.lru_cache(maxsize=1024)
def is_world_cidr(cidr: str) -> bool:
    """A range at least as wide as WORLD_PREFIX that holds public addresses.

    Unparseable text answers False: the advisor stays quiet rather than guess.
    """
    try:
        # Host bits set (0.0.0.1/0) still admit the whole range.
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return False
    widest = WORLD_PREFIX[network.version]
    if network.prefixlen > widest:
        return False
    # At most 256 blocks in IPv4 and 4,096 in IPv6 (::/0, about 20 ms once; cached after).
    return any(_is_public_block(block) for block in network.subnets(new_prefix=widest))


def world_size(cidr: str) -> str:
    """How much of the internet a world range is, for a message: "" for 0.0.0.0/0 and ::/0,
    which say it themselves."""
    network = ipaddress.ip_network(cidr.strip(), strict=False)
    if network.prefixlen == 0:
        return ""
    if network.version == 4:
        return _("{count} addresses").format(count=format_number(network.num_addresses))
    return _("2^{bits} addresses").format(bits=128 - network.prefixlen)


def _protocol(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(int(value))
    return value.strip().lower() if isinstance(value, str) else None


def _ports(protocol: str, low: Any, high: Any) -> tuple[int, int] | None:
    if protocol in _ALL_PROTOCOLS:
        return ALL_PORTS
    first, last = as_number(low), as_number(high)
    if first is None and last is None and low is None and high is None:
        return ALL_PORTS if protocol in _TCP else None
    if first is None or last is None:
        return None
    if first == -1 and last == -1:
        return ALL_PORTS
    return int(first), int(last)


def _known_cidrs(*values: Any) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        items = value if isinstance(value, list) else [value]
        found.extend(item.strip() for item in items if isinstance(item, str) and "/" in item)
    return tuple(found)


def cloudformation_ingress(subject: AdvisorSubject) -> Iterator[IngressRule]:
    template = subject.cloudformation
    if template is None:
        return
    for resource in template.of_type("AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress"):
        if resource.type == "AWS::EC2::SecurityGroup":
            entries = resource.properties.get("SecurityGroupIngress") or []
        else:
            entries = [resource.properties]
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            protocol = _protocol(entry.get("IpProtocol"))
            if protocol is None:
                continue
            ports = _ports(protocol, entry.get("FromPort"), entry.get("ToPort"))
            if ports is None:
                continue
            peer = None
            for key in ("SourceSecurityGroupId", "SourceSecurityGroupName", "SourcePrefixListId"):
                if entry.get(key) is not None:
                    target = cfn_target(entry[key])
                    peer = f"{key} {target or entry[key]}"
            yield IngressRule(resource=resource.logical_id, source="cloudformation",
                              protocol=protocol, ports=ports,
                              cidrs=_known_cidrs(entry.get("CidrIp"), entry.get("CidrIpv6")),
                              peer=peer)


def _terraform_rule(resource: TfResource, block: dict[str, Any], *, protocol_key: str,
                    cidr_keys: tuple[str, ...], peer_keys: tuple[str, ...]) -> IngressRule | None:
    evaluate = resource.module.evaluate
    protocol = _protocol(evaluate(block.get(protocol_key)))
    if protocol is None:
        return None
    ports = _ports(protocol, evaluate(block.get("from_port")), evaluate(block.get("to_port")))
    if ports is None:
        return None
    peer = next((f"{key} {expression_text(block[key])}" for key in peer_keys
                 if block.get(key) not in (None, False, [], "")), None)
    return IngressRule(resource=resource.address, source="terraform", protocol=protocol,
                       ports=ports, cidrs=_known_cidrs(*(evaluate(block.get(k))
                                                         for k in cidr_keys)),
                       peer=peer)


def terraform_ingress(subject: AdvisorSubject) -> Iterator[IngressRule]:
    config = subject.terraform_config
    for resource in config.resources("aws_security_group", "aws_security_group_rule",
                                     "aws_vpc_security_group_ingress_rule"):
        if resource.type == "aws_security_group":
            blocks = nested_blocks(resource.body, "ingress")
            for block in blocks:
                rule = _terraform_rule(resource, block, protocol_key="protocol",
                                       cidr_keys=("cidr_blocks", "ipv6_cidr_blocks"),
                                       peer_keys=("security_groups", "self", "prefix_list_ids"))
                if rule:
                    yield rule
        elif resource.type == "aws_security_group_rule":
            if resource.value("type") != "ingress":
                continue
            rule = _terraform_rule(resource, resource.body, protocol_key="protocol",
                                   cidr_keys=("cidr_blocks", "ipv6_cidr_blocks"),
                                   peer_keys=("source_security_group_id", "self",
                                              "prefix_list_ids"))
            if rule:
                yield rule
        else:
            rule = _terraform_rule(resource, resource.body, protocol_key="ip_protocol",
                                   cidr_keys=("cidr_ipv4", "cidr_ipv6"),
                                   peer_keys=("referenced_security_group_id", "prefix_list_id"))
            if rule:
                yield rule


def ingress_rules(subject: AdvisorSubject, source: Source) -> Iterator[IngressRule]:
    if source == "cloudformation":
        return cloudformation_ingress(subject)
    return terraform_ingress(subject)
