"""EC2 network types that moto's EC2 API has and its CloudFormation does not model, and the
addresses and interfaces it models only in part.

AWS::EC2::EIPAssociation (an Elastic IP put on an instance or a network interface) and the
network ACL family (AWS::EC2::NetworkAcl, NetworkAclEntry, SubnetNetworkAclAssociation) are in
AWS's own sample templates for VPCs and addresses; moto skipped them. Each is made and deleted
through moto's EC2 backend, as the API would, with AWS's physical ids: the association id of an
address association (its public address outside a VPC), the ACL id, and the association id of a
subnet's ACL association. Deleting a subnet's association gives the subnet back to its VPC's
default ACL, as on AWS.

moto's AWS::EC2::EIP without `Domain` made an EC2-Classic address, with no allocation id, so an
association by `Fn::GetAtt EIP.AllocationId` failed with IndexError; since EC2-Classic's end
every address is a VPC address. It also dropped the address's `Tags` and had no `PublicIp`
attribute. Its AWS::EC2::NetworkInterface read only a subnet, a primary address and a
description: `GroupSet` (the property AWS names), secondary addresses, `SourceDestCheck` and
`Tags` were dropped, and `Fn::GetAtt ENI.SecondaryPrivateIpAddresses` answered nothing. Its
AWS::EC2::Subnet answered `Fn::GetAtt` for no attribute at all (`SubnetId`, which Rain-packaged
templates read from their network module, failed the stack), and ignored `MapPublicIpOnLaunch`,
so an instance in a public subnet got no public address (its `PublicIp` and `PublicDnsName`
were empty, and a CloudFront origin built from the name failed). An AWS::EC2::FlowLog the backend
refused (a destination bucket that does not exist) failed with IndexError; it fails with the
backend's reason.
"""

from __future__ import annotations

from typing import Any, Callable

from moto.core.common_models import CloudFormationModel
from moto.ec2.exceptions import EC2ClientError

from services.clouds.embedded_extensions._template import as_bool, as_int, tag_list


def _backend(account_id: str, region_name: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region_name]


class _NamedByAWS:
    """A resource whose name AWS chooses: no name property, no attributes. A mixin, not a
    model: moto's type registry reads only the direct subclasses of CloudFormationModel."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False


class EIPAssociation(_NamedByAWS, CloudFormationModel):
    def __init__(self, public_ip: str, association_id: str | None) -> None:
        self.public_ip = public_ip
        self.association_id = association_id

    @property
    def physical_resource_id(self) -> str:
        return self.association_id or self.public_ip

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::EIPAssociation"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> EIPAssociation:
        properties = cloudformation_json.get("Properties") or {}
        backend = _backend(account_id, region_name)
        instance = eni = None
        if properties.get("InstanceId"):
            instance = backend.get_instance(properties["InstanceId"])
        if properties.get("NetworkInterfaceId"):
            eni = backend.get_network_interface(properties["NetworkInterfaceId"])
        address = backend.associate_address(
            instance=instance, eni=eni, address=properties.get("EIP"),
            allocation_id=properties.get("AllocationId"), reassociate=True)
        return cls(address.public_ip, address.association_id)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        try:
            if self.association_id:
                backend.disassociate_address(association_id=self.association_id)
            else:
                backend.disassociate_address(address=self.public_ip)
        except (EC2ClientError, IndexError):
            pass  # the address (or its association) went before its stack: nothing to undo


class NetworkAcl(_NamedByAWS, CloudFormationModel):
    def __init__(self, acl_id: str) -> None:
        self.acl_id = acl_id

    @property
    def physical_resource_id(self) -> str:
        return self.acl_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::NetworkAcl"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Id":
            return self.acl_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> NetworkAcl:
        properties = cloudformation_json.get("Properties") or {}
        acl = _backend(account_id, region_name).create_network_acl(
            properties["VpcId"], tags=tag_list(properties))
        return cls(acl.id)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        if self.acl_id in backend.network_acls:
            backend.delete_network_acl(self.acl_id)


class NetworkAclEntry(_NamedByAWS, CloudFormationModel):
    def __init__(self, acl_id: str, rule_number: int, egress: bool) -> None:
        self.acl_id = acl_id
        self.rule_number = rule_number
        self.egress = egress

    @property
    def physical_resource_id(self) -> str:
        return f"{self.acl_id}|{'egress' if self.egress else 'ingress'}|{self.rule_number}"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::NetworkAclEntry"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> NetworkAclEntry:
        properties = cloudformation_json.get("Properties") or {}
        icmp = properties.get("Icmp") or {}
        ports = properties.get("PortRange") or {}
        rule_number = as_int(properties["RuleNumber"])
        egress = bool(as_bool(properties.get("Egress"), False))
        _backend(account_id, region_name).create_network_acl_entry(
            network_acl_id=properties["NetworkAclId"], rule_number=rule_number,
            protocol=str(properties["Protocol"]), rule_action=properties["RuleAction"],
            egress=egress, cidr_block=properties.get("CidrBlock"),
            icmp_code=as_int(icmp.get("Code")), icmp_type=as_int(icmp.get("Type")),
            port_range_from=as_int(ports.get("From")), port_range_to=as_int(ports.get("To")),
            ipv6_cidr_block=properties.get("Ipv6CidrBlock"))
        return cls(properties["NetworkAclId"], rule_number, egress)  # type: ignore[arg-type]

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        acl = backend.network_acls.get(self.acl_id)
        if acl is not None and any(entry.egress == self.egress and
                                   entry.rule_number == self.rule_number
                                   for entry in acl.network_acl_entries):
            backend.delete_network_acl_entry(self.acl_id, self.rule_number, self.egress)


def _association_of(backend: Any, subnet_id: str) -> str | None:
    for acl in list(backend.network_acls.values()):
        for association_id, association in list(acl._associations.items()):
            if association.subnet_id == subnet_id:
                return str(association_id)
    return None


class SubnetNetworkAclAssociation(_NamedByAWS, CloudFormationModel):
    def __init__(self, association_id: str, subnet_id: str) -> None:
        self.association_id = association_id
        self.subnet_id = subnet_id

    @property
    def physical_resource_id(self) -> str:
        return self.association_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SubnetNetworkAclAssociation"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "AssociationId"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "AssociationId":
            return self.association_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> SubnetNetworkAclAssociation:
        properties = cloudformation_json.get("Properties") or {}
        backend = _backend(account_id, region_name)
        subnet_id = properties["SubnetId"]
        backend.get_network_acl(properties["NetworkAclId"])  # an unknown ACL fails here
        current = _association_of(backend, subnet_id)
        if current is None:
            raise EC2ClientError("InvalidSubnetID.NotFound",
                                 f"The subnet ID '{subnet_id}' does not exist")
        association = backend.replace_network_acl_association(current,
                                                              properties["NetworkAclId"])
        return cls(association.new_association_id, subnet_id)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        vpc_id = _vpc_of_subnet(backend, self.subnet_id)
        default = next((acl for acl in list(backend.network_acls.values())
                        if acl.default and acl.vpc_id == vpc_id), None)
        current = _association_of(backend, self.subnet_id)
        if default is not None and current == self.association_id:
            backend.replace_network_acl_association(current, default.id)


def _vpc_of_subnet(backend: Any, subnet_id: str) -> str | None:
    # moto keeps subnets by availability zone.
    for subnets in list(backend.subnets.values()):
        if subnet_id in subnets:
            return str(subnets[subnet_id].vpc_id)
    return None


def _addresses_are_vpc_addresses() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.ec2.models.elastic_ip_addresses import ElasticAddress

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> ElasticAddress:
        properties = cloudformation_json.get("Properties") or {}
        backend = _backend(account_id, region_name)
        address = backend.allocate_address(
            domain=properties.get("Domain") or "vpc",
            tags={tag["Key"]: tag["Value"] for tag in tag_list(properties)})
        if properties.get("InstanceId"):
            backend.associate_address(backend.get_instance(properties["InstanceId"]),
                                      address=address.public_ip)
        return address

    def has_cfn_attr(cls: Any, attr: str) -> bool:
        return attr in ("AllocationId", "PublicIp")

    def get_cfn_attribute(self: ElasticAddress, attribute_name: str) -> Any:
        if attribute_name == "AllocationId":
            return self.allocation_id
        if attribute_name == "PublicIp":
            return self.public_ip
        raise UnformattedGetAttTemplateException()

    ElasticAddress.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)
    ElasticAddress.has_cfn_attr = classmethod(has_cfn_attr)  # type: ignore[assignment]
    ElasticAddress.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


def _interfaces_read_every_property() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> NetworkInterface:
        properties = cloudformation_json.get("Properties") or {}
        backend = _backend(account_id, region_name)
        addresses = [{"PrivateIpAddress": item["PrivateIpAddress"],
                      "Primary": bool(as_bool(item.get("Primary"), False))}
                     for item in properties.get("PrivateIpAddresses") or []]
        interface = backend.create_network_interface(
            backend.get_subnet(properties["SubnetId"]), properties.get("PrivateIpAddress"),
            private_ip_addresses=addresses or None,
            group_ids=list(properties.get("GroupSet") or properties.get("SecurityGroups") or []),
            description=properties.get("Description"),
            tags={tag["Key"]: tag["Value"] for tag in tag_list(properties)},
            secondary_ips_count=as_int(properties.get("SecondaryPrivateIpAddressCount")))
        interface.source_dest_check = as_bool(properties.get("SourceDestCheck"), True)
        return interface

    def has_cfn_attr(cls: Any, attr: str) -> bool:
        return attr in ("Id", "PrimaryPrivateIpAddress", "SecondaryPrivateIpAddresses")

    def get_cfn_attribute(self: NetworkInterface, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.id
        if attribute_name == "PrimaryPrivateIpAddress":
            return self.private_ip_address
        if attribute_name == "SecondaryPrivateIpAddresses":
            return [address["PrivateIpAddress"] for address in self.private_ip_addresses
                    if not address.get("Primary")]
        raise UnformattedGetAttTemplateException()

    NetworkInterface.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)
    NetworkInterface.has_cfn_attr = classmethod(has_cfn_attr)  # type: ignore[assignment]
    NetworkInterface.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


def _subnets_have_their_attributes() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.ec2.models.subnets import Subnet

    attributes: dict[str, Callable[[Subnet], Any]] = {
        "SubnetId": lambda subnet: subnet.id,
        "VpcId": lambda subnet: subnet.vpc_id,
        "AvailabilityZone": lambda subnet: subnet.availability_zone,
        "AvailabilityZoneId": lambda subnet: subnet.availability_zone_id,
        "CidrBlock": lambda subnet: subnet.cidr_block,
        "Ipv6CidrBlocks": lambda subnet: [
            association.get("ipv6CidrBlock")
            for association in subnet.ipv6_cidr_block_associations.values()],
    }

    def has_cfn_attr(cls: Any, attr: str) -> bool:
        return attr in attributes

    def get_cfn_attribute(self: Subnet, attribute_name: str) -> Any:
        if attribute_name in attributes:
            return attributes[attribute_name](self)
        raise UnformattedGetAttTemplateException()

    original_create = Subnet.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> Subnet:
        subnet = original_create(cls, resource_name, cloudformation_json, account_id,
                                 region_name, **kwargs)
        properties = cloudformation_json.get("Properties") or {}
        subnet.map_public_ip_on_launch = bool(as_bool(properties.get("MapPublicIpOnLaunch"),
                                                      False))
        return subnet

    Subnet.has_cfn_attr = classmethod(has_cfn_attr)  # type: ignore[assignment]
    Subnet.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]
    Subnet.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)


def _flow_logs_say_why_they_failed() -> None:
    from moto.ec2.models.flow_logs import FlowLogs

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> FlowLogs:
        properties = cloudformation_json.get("Properties") or {}
        made, refused = _backend(account_id, region_name).create_flow_logs(
            properties.get("ResourceType"), [properties.get("ResourceId")],
            properties.get("TrafficType"), properties.get("DeliverLogsPermissionArn"),
            properties.get("LogDestinationType"), properties.get("LogDestination"),
            properties.get("LogGroupName"), properties.get("LogFormat"),
            as_int(properties.get("MaxAggregationInterval")))
        if not made:
            reason = refused[0][2] if refused else "the flow log was not created"
            raise EC2ClientError("InvalidParameter", reason)
        for tag in tag_list(properties):
            made[0].add_tag(tag["Key"], tag["Value"])
        return made[0]  # type: ignore[no-any-return]

    FlowLogs.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)


def install() -> None:
    _subnets_have_their_attributes()
    _flow_logs_say_why_they_failed()
    # EIPAssociation and the network ACL types are found by moto's type registry once its
    # caches are cleared.
    _addresses_are_vpc_addresses()
    _interfaces_read_every_property()
