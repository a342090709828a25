"""EC2: instances placed where their template puts them."""

from __future__ import annotations

from typing import Any


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
        for tag in properties.get("Tags", []):
            instance.add_tag(tag["Key"], tag["Value"])
        if properties.get("IamInstanceProfile"):
            backend.associate_iam_instance_profile(
                instance_id=instance.id,
                iam_instance_profile_name=properties.get("IamInstanceProfile"))
        return instance

    Instance.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def install() -> None:
    _instance_reads_its_network_placement()
