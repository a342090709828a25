"""Ports a security group opens to address ranges: SSH to the world, databases to a CIDR."""

from __future__ import annotations

from collections.abc import Iterator
from functools import reduce

from services.advisor.model import AdvisorSubject, Finding, Rule, Severity, Source
from services.advisor.network import IngressRule, ingress_rules, world_size
from services.i18n import N_, _

SSH_PORT = 22

DATABASE_PORTS: dict[int, str] = {
    3306: "MySQL/MariaDB",
    5432: "PostgreSQL",
    1433: "SQL Server",
    1521: "Oracle",
    6379: "Redis",
    11211: "Memcached",
    27017: "MongoDB",
}


def _ranges(cidrs: list[str]) -> str:
    """World ranges as a message names them, each but /0 with its size (0.0.0.0/1 (2,147,483,648
    addresses)): a reader who knows only 0.0.0.0/0 as the internet sees why a /1 is too."""
    named = []
    for cidr in cidrs:
        size = world_size(cidr)
        named.append(f"{cidr} ({size})" if size else cidr)
    # Translators: two address ranges, or a list of them and one more, joined.
    return reduce(lambda first, second: _("{first} and {second}").format(first=first,
                                                                          second=second), named)


class SshOpenToWorld(Rule):
    """Port 22 reachable from the internet: every scanner on it tries passwords and keys there
    within minutes of launch. The internet is 0.0.0.0/0 or ::/0, and also any range of a /8
    (IPv4) or /12 (IPv6) or wider that holds public addresses, such as 0.0.0.0/1 or 2000::/3
    (`network.WORLD_PREFIX` says why there). A rule for all traffic, or a port range that
    includes 22, opens it just the same."""

    id = "ADV003"
    title = N_("SSH open to the whole internet")
    severity = Severity.ERROR
    fix = N_("Admit SSH only from your own address (x.x.x.x/32), or close port 22 and connect "
             "with SSM Session Manager, which needs no inbound port at all.")

    def _check(self, subject: AdvisorSubject, source: Source) -> Iterator[Finding]:
        for rule in ingress_rules(subject, source):
            world = rule.world_cidrs
            if not world or not rule.covers_tcp_port(SSH_PORT):
                continue
            if rule.ports == (SSH_PORT, SSH_PORT):
                message = _("{resource} admits SSH (TCP port 22) from {ranges}: anyone on the "
                            "internet can try to log in.")
            else:
                # Translators: {ports} is "all traffic", "all TCP ports", "TCP ports 0-1024".
                message = _("{resource} admits {ports}, SSH (port 22) included, from {ranges}: "
                            "anyone on the internet can try to log in.")
            yield self.finding(
                message.format(resource=rule.resource, ports=rule.describe_ports(),
                               ranges=_ranges(world)),
                resource=rule.resource, source=source)

    def check_cloudformation(self, subject: AdvisorSubject) -> Iterator[Finding]:
        return self._check(subject, "cloudformation")

    def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
        return self._check(subject, "terraform")


class DatabasePortOpenToCidr(Rule):
    """A database or cache port admitted by address range instead of by the security group of
    the tier that uses it. An address range admits whatever gets an address in it later (any
    instance in the subnet, a student's laptop over a VPN); a security group admits exactly the
    instances that carry it. From the internet (0.0.0.0/0, or any range SshOpenToWorld calls the
    internet, such as 0.0.0.0/1) the database answers anyone: an error.

    Rules that open all traffic from a private range are left alone here: they are not about a
    database, and the database port is only one of 65,536 they open."""

    id = "ADV007"
    title = N_("Database port opened to an address range instead of a security group")
    severity = Severity.WARNING
    fix = N_("Admit the database port only from the security group of the tier that connects to "
             "it (SourceSecurityGroupId in CloudFormation, referenced_security_group_id or "
             "security_groups in Terraform), never from an address range.")

    def _check(self, subject: AdvisorSubject, source: Source) -> Iterator[Finding]:
        for rule in ingress_rules(subject, source):
            if not rule.cidrs:
                continue
            world = rule.world_cidrs
            if rule.all_traffic and not world:
                continue
            ports = [p for p in DATABASE_PORTS if rule.covers_tcp_port(p)]
            if not ports:
                continue
            yield self._finding(rule, ports, world=bool(world), source=source)

    def _finding(self, rule: IngressRule, ports: list[int], *, world: bool,
                 source: Source) -> Finding:
        named = ", ".join(f"{DATABASE_PORTS[p]} ({p})" for p in ports)
        several = rule.all_traffic or len(ports) > 2
        cidrs = ", ".join(rule.cidrs)
        if world:
            if several:
                # Translators: {ports} is "all traffic", "TCP ports 0-10000"; {named} is
                # "MySQL/MariaDB (3306), PostgreSQL (5432)".
                message = _("{resource} opens {ports}, which includes {named} to {cidrs}: the "
                            "database answers anyone on the internet.")
            else:
                message = _("{resource} opens the {named} port to {cidrs}: the database answers "
                            "anyone on the internet.")
            return self.finding(
                message.format(resource=rule.resource, ports=rule.describe_ports(),
                               named=named, cidrs=cidrs),
                resource=rule.resource, source=source, severity=Severity.ERROR)
        if several:
            message = _("{resource} opens {ports}, which includes {named} to the address range "
                        "{cidrs} instead of a security group: anything that gets an address "
                        "there reaches the database.")
        else:
            message = _("{resource} opens the {named} port to the address range {cidrs} instead "
                        "of a security group: anything that gets an address there reaches the "
                        "database.")
        return self.finding(
            message.format(resource=rule.resource, ports=rule.describe_ports(), named=named,
                           cidrs=cidrs),
            resource=rule.resource, source=source)

    def check_cloudformation(self, subject: AdvisorSubject) -> Iterator[Finding]:
        return self._check(subject, "cloudformation")

    def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
        return self._check(subject, "terraform")
