"""Classic load balancers: where their template puts them, the security group AWS gives one
declared without any, and the attributes templates read from it.

moto's AWS::ElasticLoadBalancing::LoadBalancer reads neither `Subnets` nor `SecurityGroups`: a
load balancer declared in a VPC's subnets landed in the default VPC, with a group of its own
instead of the template's. It also named every load balancer's DNS name after us-east-1. Here
the load balancer is made where it is declared, in its region, and one whose settings fail is
deleted before the error is reported.

A classic load balancer declared without `SecurityGroups` gets, on AWS, the VPC's default
security group, or in the default VPC the account's one `default_elb_...` group, made the first
time and reused by every later load balancer there. moto made a new `default_elb_...` group for
each load balancer in any VPC and never deleted it: every launch of such a template left a group
behind, in a VPC that was itself deleted. Here the groups are AWS's.

`Fn::GetAtt` of `SourceSecurityGroup.GroupName` and `.OwnerAlias` (what AWS's samples use to let
only the load balancer reach their instances) and of the canonical hosted zone were answered
with nothing, which dropped the property that used them. They give the load balancer's first
security group (the source group of a load balancer in a VPC), its account, its DNS name and
the region's hosted zone for classic load balancers.
"""

from __future__ import annotations

from typing import Any

from services.clouds.embedded_extensions.elbv2 import APPLICATION_HOSTED_ZONES

DEFAULT_GROUP_PREFIX = "default_elb_"


def _configure(backend: Any, name: str, properties: dict[str, Any]) -> None:
    """Instances, back-end policies and health check, as moto's own create sets them."""
    for instance_id in properties.get("Instances") or []:
        backend.register_instances(name, [instance_id])
    port_policies: dict[int, set[str]] = {}
    for policy in properties.get("Policies") or []:
        backend.create_load_balancer_policy(
            load_balancer_name=name, policy_name=policy["PolicyName"],
            policy_type_name=policy["PolicyType"], policy_attrs=policy.get("Attributes") or [])
        for port in policy.get("InstancePorts") or []:
            port_policies.setdefault(int(port), set()).add(policy["PolicyName"])
    for port, names in port_policies.items():
        backend.set_load_balancer_policies_for_backend_server(name, port, sorted(names))
    check = properties.get("HealthCheck")
    if check:
        backend.configure_health_check(
            load_balancer_name=name, timeout=check["Timeout"],
            healthy_threshold=check["HealthyThreshold"],
            unhealthy_threshold=check["UnhealthyThreshold"], interval=check["Interval"],
            target=check["Target"])


def _load_balancer_is_made_where_declared() -> None:
    from moto.elb.models import LoadBalancer, elb_backends

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> LoadBalancer:
        properties = cloudformation_json.get("Properties") or {}
        backend = elb_backends[account_id][region_name]
        load_balancer = backend.create_load_balancer(
            name=properties.get("LoadBalancerName", resource_name),
            zones=properties.get("AvailabilityZones") or [], ports=properties["Listeners"],
            scheme=properties.get("Scheme", "internet-facing"),
            subnets=properties.get("Subnets") or None,
            security_groups=properties.get("SecurityGroups") or None)
        try:
            _configure(backend, load_balancer.name, properties)
        except Exception:
            backend.delete_load_balancer(load_balancer.name)
            raise
        return load_balancer

    LoadBalancer.create_from_cloudformation_json = classmethod(  # type: ignore[method-assign]
        create_from_cloudformation_json)


def _default_group_is_the_vpcs_or_shared() -> None:
    from moto.ec2.models import ec2_backends
    from moto.elb.models import ELBBackend

    original = ELBBackend.create_load_balancer

    def create_load_balancer(self: ELBBackend, name: str, zones: list[str], ports: Any,
                             scheme: str = "internet-facing", subnets: list[str] | None = None,
                             security_groups: list[str] | None = None) -> Any:
        if not security_groups:
            ec2 = ec2_backends[self.account_id][self.region_name]
            vpc_id = ec2.get_subnet(subnets[0]).vpc_id if subnets else ec2.default_vpc.id
            groups = list(ec2.groups.get(vpc_id, {}).values())
            if vpc_id == ec2.default_vpc.id:
                # None yet: moto's own create makes the account's default_elb_ group.
                chosen = next((g for g in groups if g.name.startswith(DEFAULT_GROUP_PREFIX)),
                              None)
            else:
                chosen = next(g for g in groups if g.name == "default")
            if chosen is not None:
                security_groups = [chosen.id]
        load_balancer = original(self, name, zones, ports, scheme=scheme, subnets=subnets,
                                 security_groups=security_groups)
        load_balancer.region_name = self.region_name
        load_balancer.dns_name = f"{name}.{self.region_name}.elb.amazonaws.com"
        return load_balancer

    ELBBackend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]


def _source_group_and_zone_attributes() -> None:
    from moto.ec2.models import ec2_backends
    from moto.elb.models import LoadBalancer

    original = LoadBalancer.get_cfn_attribute

    def source_security_group(self: LoadBalancer) -> dict[str, str]:
        ec2 = ec2_backends[self.account_id][getattr(self, "region_name", "us-east-1")]
        group = ec2.get_security_group_from_id(self.security_groups[0]) \
            if self.security_groups else None
        return {"OwnerAlias": self.account_id,
                "GroupName": group.name if group is not None else "default"}

    def get_cfn_attribute(self: LoadBalancer, attribute_name: str) -> Any:
        if attribute_name == "SourceSecurityGroup.GroupName":
            return self.source_security_group["GroupName"]
        if attribute_name == "SourceSecurityGroup.OwnerAlias":
            return self.source_security_group["OwnerAlias"]
        if attribute_name == "CanonicalHostedZoneName":
            return self.dns_name
        if attribute_name == "CanonicalHostedZoneNameID":
            # Classic load balancers share the application load balancers' zone of a region.
            return APPLICATION_HOSTED_ZONES.get(getattr(self, "region_name", "us-east-1"))
        return original(self, attribute_name)

    LoadBalancer.source_security_group = property(  # type: ignore[assignment, method-assign]
        source_security_group)
    LoadBalancer.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


def install() -> None:
    _load_balancer_is_made_where_declared()
    _default_group_is_the_vpcs_or_shared()
    _source_group_and_zone_attributes()
