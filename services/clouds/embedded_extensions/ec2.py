"""EC2: instances placed where their template puts them; network resources that a stack really
associates, and really deletes with it."""

from __future__ import annotations

import threading
from typing import Any, Callable

from services.clouds.embedded_extensions._template import as_bool, as_int

# The launch under way on this thread (each request of moto's server has its own).
_launching = threading.local()


def _instance_reads_its_network_placement() -> None:
    """AWS::EC2::Instance in moto reads neither `NetworkInterfaces` nor `SecurityGroupIds`: an
    instance declared with a primary network interface in a subnet lands in the default VPC with
    no security group. This reads the subnet, groups and public-IP choice from either form."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.instances import Instance

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> Instance:
        properties = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        primary = next((nic for nic in properties.get("NetworkInterfaces") or []
                        if str(nic.get("DeviceIndex")) == "0"), {})
        group_ids = list(properties.get("SecurityGroupIds") or primary.get("GroupSet") or [])
        # `SecurityGroups` holds names in AWS; moto's own code treats them as ids, keep both.
        group_names = [
            backend.get_security_group_by_name_or_id(group).name  # type: ignore[union-attr]
            for group in properties.get("SecurityGroups") or []
        ]
        public_ip = primary.get("AssociatePublicIpAddress")
        reservation = backend.run_instances(
            image_id=properties["ImageId"], user_data=properties.get("UserData"), count=1,
            security_group_names=group_names, security_group_ids=group_ids,
            instance_type=properties.get("InstanceType", "m1.small"),
            is_instance_type_default=not properties.get("InstanceType"),
            subnet_id=properties.get("SubnetId") or primary.get("SubnetId"),
            key_name=properties.get("KeyName"), private_ip=properties.get("PrivateIpAddress"),
            associate_public_ip=None if public_ip is None else str(public_ip).lower() == "true",
            block_device_mappings=properties.get("BlockDeviceMappings", {}),
        )
        instance = reservation.instances[0]
        try:
            for tag in properties.get("Tags", []):
                instance.add_tag(tag["Key"], tag["Value"])
            if properties.get("IamInstanceProfile"):
                backend.associate_iam_instance_profile(
                    instance_id=instance.id,
                    iam_instance_profile_name=properties.get("IamInstanceProfile"))
        except Exception:
            # The stack records no instance for a create that failed: it must not stay running.
            backend.terminate_instances([instance.id])
            raise
        return instance

    Instance.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def launch_block_devices(mappings: Any) -> list[dict[str, Any]]:
    """A launch's block device mappings as moto can make them: the EBS volumes, each deleted
    with its instance unless it says otherwise. Instance-store volumes (`VirtualName:
    ephemeral0`) are the instance type's own disks, nothing to create; `NoDevice` suppresses a
    device of the image."""
    volumes = []
    for mapping in mappings or []:
        if not isinstance(mapping, dict) or "Ebs" not in mapping or "NoDevice" in mapping:
            continue
        ebs = dict(mapping["Ebs"] or {})
        ebs["DeleteOnTermination"] = as_bool(ebs.get("DeleteOnTermination"), True)
        if ebs.get("VolumeSize") is not None:
            ebs["VolumeSize"] = int(ebs["VolumeSize"])
        volumes.append({**mapping, "Ebs": ebs})
    return volumes


def _launches_take_block_devices_as_aws_does() -> None:
    """moto reads every block device mapping of a launch as an EBS volume: an instance-store
    mapping (`VirtualName: ephemeral0`, as in AWS's sample of an instance with ephemeral drives)
    failed the launch with KeyError 'Ebs' after the instance was made, which the stack then lost
    track of. And an EBS volume given at launch without DeleteOnTermination stayed, untagged,
    after its instance was terminated, where AWS deletes it: the default is true at launch.
    A launch that fails half-way leaves no instance behind."""
    from moto.ec2.models.instances import Instance, InstanceBackend

    original = InstanceBackend.run_instances

    def add_block_device(self: Instance, size: int, device_path: str, snapshot_id: str | None,
                         encrypted: bool, delete_on_termination: bool, kms_key_id: str | None,
                         volume_type: str | None = None) -> None:
        # moto passes no Iops to the volume it makes for a mapping, and then refuses an io1 or
        # io2 volume without Iops: the launch's mappings are read for it here.
        volume = self.ec2_backend.create_volume(
            size=size, zone_name=self._placement.zone, snapshot_id=snapshot_id,
            encrypted=encrypted, kms_key_id=kms_key_id, volume_type=volume_type,
            iops=getattr(_launching, "iops", {}).get(device_path))
        self.ec2_backend.attach_volume(volume.id, self.id, device_path, delete_on_termination)

    Instance.add_block_device = add_block_device  # type: ignore[method-assign]

    def run_instances(self: Any, image_id: str, count: int, user_data: Any,
                      security_group_names: list[str], **kwargs: Any) -> Any:
        mappings = kwargs.get("block_device_mappings")
        if mappings is None and kwargs.get("launch_template"):
            # An Auto Scaling group's instances take theirs from the launch template...
            template = self._get_template_from_args(kwargs["launch_template"])
            mappings = template.data.get("BlockDeviceMappings")
        elif mappings is None and kwargs.get("launch_config"):
            # ...or from the launch configuration.
            mappings = kwargs["launch_config"].block_device_mapping_dict
        if mappings is not None:
            kwargs["block_device_mappings"] = launch_block_devices(mappings)
        _launching.iops = {mapping.get("DeviceName"): as_int(mapping["Ebs"].get("Iops"))
                           for mapping in kwargs.get("block_device_mappings") or []}
        reservations = set(self.reservations)
        try:
            return original(self, image_id, count, user_data, security_group_names, **kwargs)
        except Exception:
            # moto makes the instances before their volumes and tags: a launch that fails on
            # those has made instances nobody was told of. They go, as a failed launch's do.
            for reservation_id in set(self.reservations) - reservations:
                for instance in self.reservations[reservation_id].instances:
                    instance.terminate()
            raise
        finally:
            _launching.iops = {}

    InstanceBackend.run_instances = run_instances  # type: ignore[method-assign]


def _launch_interfaces_go_with_their_instance() -> None:
    """A network interface an instance's launch creates is deleted with the instance on AWS
    (DeleteOnTermination defaults to true); moto kept it, in its subnet and with its security
    groups, after the instance was terminated. An interface the launch attached by id, or one
    declared with DeleteOnTermination false, stays."""
    from moto.ec2.models.instances import Instance

    original = Instance.prep_nics

    def prep_nics(self: Instance, nic_spec: list[dict[str, Any]], *args: Any,
                  **kwargs: Any) -> None:
        declared = {int(nic.get("DeviceIndex", 0)): nic.get("DeleteOnTermination")
                    for nic in nic_spec}
        attached = {nic.get("NetworkInterfaceId") for nic in nic_spec}
        original(self, nic_spec, *args, **kwargs)
        for index, interface in self.nics.items():
            if interface.id not in attached:
                interface.delete_on_termination = as_bool(declared.get(index), True)

    Instance.prep_nics = prep_nics  # type: ignore[method-assign]


def _unless_already_gone(delete: Callable[[], object], *gone: str) -> None:
    """Run `delete`; an error whose code is in `gone` means the resource was deleted behind the
    stack's back, which CloudFormation counts as deleted too."""
    from moto.ec2.exceptions import EC2ClientError

    try:
        delete()
    except EC2ClientError as exc:
        if exc.code not in gone:
            raise


def _subnet_route_table_association_exists() -> None:
    """AWS::EC2::SubnetRouteTableAssociation in moto only records an object: the route table shows
    no association in `describe_route_tables` and the subnet keeps using the main table. This
    associates them through the EC2 backend, gives the association id as physical id (what `Ref`
    returns on AWS) and disassociates on delete."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.subnets import SubnetRouteTableAssociation

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> SubnetRouteTableAssociation:
        properties = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        association_id = backend.associate_route_table(
            route_table_id=properties["RouteTableId"], subnet_id=properties["SubnetId"])
        association = backend.create_subnet_association(
            route_table_id=properties["RouteTableId"], subnet_id=properties["SubnetId"])
        association.association_id = association_id
        return association

    def delete(self: SubnetRouteTableAssociation, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        association_id = getattr(self, "association_id", None)
        if association_id:
            _unless_already_gone(lambda: backend.disassociate_route_table(association_id),
                                 "InvalidAssociationID.NotFound")
        backend.subnet_associations.pop(f"{self.route_table_id}:{self.subnet_id}", None)

    SubnetRouteTableAssociation.create_from_cloudformation_json = (  # type: ignore[assignment]
        classmethod(create_from_cloudformation_json))
    SubnetRouteTableAssociation.physical_resource_id = property(  # type: ignore[assignment]
        lambda self: getattr(self, "association_id", None) or self.route_table_id)
    SubnetRouteTableAssociation.delete = delete  # type: ignore[attr-defined]


def _nat_gateway_deletion_releases_its_interface() -> None:
    """Deleting a NAT gateway in moto only sets its state to `deleted`: its network interface stays
    in the subnet and its Elastic IP stays associated with it. AWS deletes the interface and
    disassociates the address (which stays allocated)."""
    from moto.ec2.models.nat_gateways import NatGatewayBackend

    original = NatGatewayBackend.delete_nat_gateway

    def delete_nat_gateway(self: Any, nat_gateway_id: str) -> Any:
        nat_gateway = self.nat_gateways.get(nat_gateway_id)
        if nat_gateway is not None and nat_gateway.state != "deleted":
            interface = nat_gateway._eni
            for address in list(self.addresses):
                if address.eni is interface:
                    self.disassociate_address(address=address.public_ip)
            if interface.id in self.enis:
                interface.delete()
        return original(self, nat_gateway_id)

    NatGatewayBackend.delete_nat_gateway = delete_nat_gateway  # type: ignore[method-assign]


def _network_resources_delete_with_their_stack() -> None:
    """moto's InternetGateway, VPCGatewayAttachment, Route, RouteTable, EIP, NatGateway,
    VPCEndpoint and SecurityGroupIngress have no CloudFormation delete at all, so `delete_stack`
    passes over them: they stay behind, and the route tables make the VPC's own delete fail with
    DependencyViolation. Each gets the delete AWS performs, through the EC2 backend; a resource
    already deleted outside the stack counts as deleted, as on AWS."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.elastic_ip_addresses import ElasticAddress
    from moto.ec2.models.internet_gateways import InternetGateway
    from moto.ec2.models.nat_gateways import NatGateway
    from moto.ec2.models.route_tables import Route, RouteTable
    from moto.ec2.models.security_groups import SecurityGroupIngress
    from moto.ec2.models.vpcs import VPCEndPoint
    from moto.ec2.models.vpn_gateway import VPCGatewayAttachment

    def delete_internet_gateway(self: InternetGateway, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        _unless_already_gone(lambda: backend.delete_internet_gateway(self.id),
                             "InvalidInternetGatewayID.NotFound")

    def delete_gateway_attachment(self: VPCGatewayAttachment, account_id: str,
                                  region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        gateway_id = self.gateway_id or ""
        if gateway_id.startswith("igw-"):
            _unless_already_gone(
                lambda: backend.detach_internet_gateway(gateway_id, self.vpc_id),
                "InvalidInternetGatewayID.NotFound", "Gateway.NotAttached")
        elif gateway_id.startswith("vgw-"):
            _unless_already_gone(
                lambda: backend.detach_vpn_gateway(gateway_id, self.vpc_id),
                "InvalidVpnGatewayID.NotFound", "InvalidVpnGatewayAttachment.NotFound")

    def delete_route(self: Route, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        _unless_already_gone(
            lambda: backend.delete_route(
                self.route_table.id, self.destination_cidr_block,
                destination_ipv6_cidr_block=self.destination_ipv6_cidr_block,
                destination_prefix_list_id=self.destination_prefix_list_id),
            "InvalidRouteTableID.NotFound", "InvalidRoute.NotFound")

    def delete_route_table(self: RouteTable, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        _unless_already_gone(lambda: backend.delete_route_table(self.id),
                             "InvalidRouteTableID.NotFound")

    def release_address(self: ElasticAddress, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        if self.allocation_id:
            _unless_already_gone(lambda: backend.release_address(allocation_id=self.allocation_id),
                                 "InvalidAllocationID.NotFound")
        else:
            _unless_already_gone(lambda: backend.release_address(address=self.public_ip),
                                 "InvalidAddress.NotFound")

    def delete_nat_gateway(self: NatGateway, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        if self.id in backend.nat_gateways:
            backend.delete_nat_gateway(self.id)

    def delete_vpc_endpoint(self: VPCEndPoint, account_id: str, region_name: str) -> None:
        # Not moto's delete_vpc_endpoints: it fails on an endpoint without a type and on a
        # gateway endpoint whose service has no prefix list, and keeps the endpoint listed.
        backend = ec2_backends[account_id][region_name]
        for route_table_id in self.route_table_ids or []:
            table = backend.route_tables.get(route_table_id)
            if table is None:
                continue
            for route_id, route in list(table._routes.items()):
                if getattr(route.gateway, "id", None) == self.id:
                    del table._routes[route_id]
        for interface_id in self.network_interface_ids:
            backend.enis.pop(interface_id, None)
        self.state = "deleted"
        backend.vpc_end_points.pop(self.id, None)

    def revoke_ingress(self: SecurityGroupIngress, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        group = backend.get_security_group_from_id(self.security_group.id)
        if group is None:
            return
        present = {rule.id for rule in group.ingress_rules}
        rule_ids = [rule_id for rule_id in getattr(self, "rule_ids", []) if rule_id in present]
        if rule_ids:
            backend.revoke_security_group_ingress(group.id, None, None, None, [],
                                                  security_rule_ids=rule_ids)

    InternetGateway.delete = delete_internet_gateway  # type: ignore[attr-defined]
    VPCGatewayAttachment.delete = delete_gateway_attachment  # type: ignore[attr-defined]
    Route.delete = delete_route  # type: ignore[attr-defined]
    RouteTable.delete = delete_route_table  # type: ignore[attr-defined]
    ElasticAddress.delete = release_address  # type: ignore[attr-defined]
    NatGateway.delete = delete_nat_gateway  # type: ignore[attr-defined]
    VPCEndPoint.delete = delete_vpc_endpoint  # type: ignore[attr-defined]
    SecurityGroupIngress.delete = revoke_ingress  # type: ignore[attr-defined]


def _network_resources_remember_what_they_made() -> None:
    """What the deletes above need and moto's CloudFormation create forgets: the VPN gateway of a
    VPCGatewayAttachment (moto keeps only the VPC), the rules an AWS::EC2::SecurityGroupIngress
    added (moto keeps none, and lists it with an empty physical id; AWS gives the rule id), and
    the type of an AWS::EC2::VPCEndpoint declared without one (AWS defaults to Gateway)."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.security_groups import SecurityGroupIngress
    from moto.ec2.models.vpcs import VPCEndPoint
    from moto.ec2.models.vpn_gateway import VPCGatewayAttachment

    create_attachment = (
        VPCGatewayAttachment.create_from_cloudformation_json.__func__)  # type: ignore[attr-defined]
    create_ingress = (
        SecurityGroupIngress.create_from_cloudformation_json.__func__)  # type: ignore[attr-defined]
    create_endpoint = (
        VPCEndPoint.create_from_cloudformation_json.__func__)  # type: ignore[attr-defined]

    def attachment_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                            account_id: str, region_name: str,
                                            **kwargs: Any) -> Any:
        attachment = create_attachment(cls, resource_name, cloudformation_json, account_id,
                                       region_name, **kwargs)
        properties = cloudformation_json["Properties"]
        attachment.gateway_id = attachment.gateway_id or properties.get("VpnGatewayId")
        return attachment

    def ingress_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                         account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        group = backend.get_security_group_by_name_or_id(
            properties.get("GroupId") or properties.get("GroupName"))
        before = {rule.id for rule in group.ingress_rules} if group else set()
        ingress = create_ingress(cls, resource_name, cloudformation_json, account_id,
                                 region_name, **kwargs)
        ingress.rule_ids = [rule.id for rule in ingress.security_group.ingress_rules
                            if rule.id not in before]
        return ingress

    def endpoint_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                          account_id: str, region_name: str,
                                          **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        if not properties.get("VpcEndpointType"):
            cloudformation_json = {**cloudformation_json,
                                   "Properties": {**properties, "VpcEndpointType": "Gateway"}}
        return create_endpoint(cls, resource_name, cloudformation_json, account_id, region_name,
                               **kwargs)

    VPCGatewayAttachment.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        attachment_from_cloudformation_json)
    SecurityGroupIngress.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        ingress_from_cloudformation_json)
    SecurityGroupIngress.physical_resource_id = property(  # type: ignore[attr-defined]
        lambda self: (getattr(self, "rule_ids", None) or [""])[0])
    VPCEndPoint.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        endpoint_from_cloudformation_json)


def _a_resource_reads_its_own_tags() -> None:
    """moto answers every resource's `get_tags` by scanning the tags of every EC2 resource ever
    made (terminated instances stay listed), so `describe_instances` with a tag filter costs
    instances x tags: after a few hundred launches one call took seconds and a class's
    concurrent destroys held the emulator at full CPU for minutes. The tags are kept by resource
    id; this reads that resource's own."""
    from moto.ec2.models.core import TaggedEC2Resource
    from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

    def get_tags(self: TaggedEC2Resource) -> list[dict[str, str]]:
        resource_id = getattr(self, "id", None)
        if not resource_id:
            return []
        own = self.ec2_backend.tags.get(resource_id) or {}  # type: ignore[attr-defined]
        resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
        return [{"resource_id": resource_id, "key": key, "value": value,
                 "resource_type": resource_type} for key, value in list(own.items())]

    TaggedEC2Resource.get_tags = get_tags  # type: ignore[method-assign]


def _subnets_are_made_safely_side_by_side() -> None:
    """moto looks up a VPC's default network ACL by iterating the live dict of every ACL, which a
    concurrent request (another stack's new VPC) may grow meanwhile: "dictionary changed size
    during iteration", answered as HTTP 500 in the middle of a stack, which then stays
    CREATE_IN_PROGRESS for ever. This iterates a snapshot."""
    from moto.ec2.models.network_acls import NetworkAclAssociation, NetworkAclBackend
    from moto.ec2.utils import random_network_acl_subnet_association_id

    def associate_default_network_acl_with_subnet(self: NetworkAclBackend, subnet_id: str,
                                                  vpc_id: str) -> None:
        association_id = random_network_acl_subnet_association_id()
        acl = next(acl for acl in list(self.network_acls.values())
                   if acl.default and acl.vpc_id == vpc_id)
        acl._associations[association_id] = NetworkAclAssociation(
            self, association_id, subnet_id, acl.id)

    NetworkAclBackend.associate_default_network_acl_with_subnet = (  # type: ignore[method-assign]
        associate_default_network_acl_with_subnet)


def install() -> None:
    _launches_take_block_devices_as_aws_does()
    _launch_interfaces_go_with_their_instance()
    _a_resource_reads_its_own_tags()
    _subnets_are_made_safely_side_by_side()
    _instance_reads_its_network_placement()
    _subnet_route_table_association_exists()
    _nat_gateway_deletion_releases_its_interface()
    _network_resources_remember_what_they_made()
    _network_resources_delete_with_their_stack()
