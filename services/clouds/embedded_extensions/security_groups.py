"""Security groups with the rules their template gives them, egress included.

moto's AWS::EC2::SecurityGroup reads each ingress rule's `FromPort` and `ToPort` as required: a
rule for all traffic (`IpProtocol: -1`, no ports, the usual way to open a group to a load
balancer's) failed with KeyError 'FromPort', after the group was made, and the stack lost track
of the group. It ignores `SecurityGroupEgress` (the group kept its default allow-all egress),
`CidrIpv6`, prefix lists and rule descriptions. And AWS::EC2::SecurityGroupEgress, the
stand-alone egress rule, is not modelled at all. Here the group is made with every rule as AWS
makes it: declared egress rules replace the default one. A group whose rules fail is deleted
before the error is reported. AWS::EC2::SecurityGroupEgress adds its rule and revokes it on
delete; its physical id is the rule's id, as on AWS.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel

# Where a rule names the other end: (property, what moto's backend takes it as).
_SOURCES = {
    "ingress": (("SourceSecurityGroupId", "GroupId"), ("SourceSecurityGroupName", "GroupName")),
    "egress": (("DestinationSecurityGroupId", "GroupId"),),
}
_PREFIX_LISTS = {"ingress": "SourcePrefixListId", "egress": "DestinationPrefixListId"}


def rule_arguments(rule: dict[str, Any], direction: str) -> dict[str, Any]:
    """One CloudFormation rule as the keyword arguments of moto's authorize call."""
    protocol = str(rule.get("IpProtocol", "-1"))
    ranges = []
    description = rule.get("Description")
    for key in ("CidrIp", "CidrIpv6"):
        if rule.get(key):
            ranges.append({key: str(rule[key]),
                           **({"Description": str(description)} if description else {})})
    sources = [{backend_key: str(rule[key])} for key, backend_key in _SOURCES[direction]
               if rule.get(key)]
    prefix_list = rule.get(_PREFIX_LISTS[direction])
    return {
        "ip_protocol": protocol,
        "from_port": rule.get("FromPort", -1), "to_port": rule.get("ToPort", -1),
        "ip_ranges": ranges, "source_groups": sources,
        "prefix_list_ids": [{"PrefixListId": str(prefix_list)}] if prefix_list else [],
    }


def _group_takes_every_rule() -> None:
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.security_groups import SecurityGroup

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> SecurityGroup:
        properties = cloudformation_json.get("Properties") or {}
        backend = ec2_backends[account_id][region_name]
        vpc_id = properties.get("VpcId")
        group = backend.create_security_group(
            name=resource_name, description=properties.get("GroupDescription"), vpc_id=vpc_id)
        try:
            for tag in properties.get("Tags") or []:
                group.add_tag(tag["Key"], tag["Value"])
            for rule in properties.get("SecurityGroupIngress") or []:
                backend.authorize_security_group_ingress(
                    group_name_or_id=group.id, vpc_id=group.vpc_id,
                    **rule_arguments(rule, "ingress"))
            egress = properties.get("SecurityGroupEgress")
            if egress:
                group.egress_rules.clear()  # declared egress replaces the default allow-all
                for rule in egress:
                    backend.authorize_security_group_egress(
                        group_name_or_id=group.id, vpc_id=group.vpc_id,
                        **rule_arguments(rule, "egress"))
        except Exception:
            backend.delete_security_group(group_id=group.id)
            raise
        return group

    SecurityGroup.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)


class SecurityGroupEgress(CloudFormationModel):
    """AWS::EC2::SecurityGroupEgress: one egress rule of an existing group."""

    def __init__(self, group_id: str, rule_ids: list[str]) -> None:
        self.group_id = group_id
        self.rule_ids = rule_ids

    @property
    def physical_resource_id(self) -> str:
        return self.rule_ids[0] if self.rule_ids else self.group_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.physical_resource_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> SecurityGroupEgress:
        from moto.ec2.models import ec2_backends

        properties = cloudformation_json.get("Properties") or {}
        backend = ec2_backends[account_id][region_name]
        rules, group = backend.authorize_security_group_egress(
            group_name_or_id=properties.get("GroupId"), **rule_arguments(properties, "egress"))
        return cls(group.id, [rule.id for rule in rules])

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[account_id][region_name]
        group = backend.get_security_group_from_id(self.group_id)
        if group is None:
            return
        present = {rule.id for rule in group.egress_rules}
        rule_ids = [rule_id for rule_id in self.rule_ids if rule_id in present]
        if rule_ids:
            backend.revoke_security_group_egress(group.id, None, None, None, [],
                                                 security_rule_ids=rule_ids)


def install() -> None:
    _group_takes_every_rule()
