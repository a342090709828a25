"""ELBv2: the attributes alarms and outputs read from load balancers and target groups, their
types, zones and tags, and target groups, listeners and rules deleted with their stack.
"""

from __future__ import annotations

from typing import Any

from . import stack_tags

# Route 53 hosted zone of each region's load balancers, from AWS's "Elastic Load Balancing
# endpoints and quotas" (https://docs.aws.amazon.com/general/latest/gr/elb.html).
APPLICATION_HOSTED_ZONES = {
    "af-south-1": "Z268VQBMOI5EKX", "ap-east-1": "Z3DQVH9N71FHZ0",
    "ap-northeast-1": "Z14GRHDCWA56QT", "ap-northeast-2": "ZWKZPGTI48KDX",
    "ap-northeast-3": "Z5LXEXXYW11ES", "ap-south-1": "ZP97RAFLXTNZK",
    "ap-southeast-1": "Z1LMS91P8CMLE5", "ap-southeast-2": "Z1GM3OXH4ZPM65",
    "ap-southeast-3": "Z08888821HLRG5A9ZRTER", "ca-central-1": "ZQSVJUPU6J1EY",
    "eu-central-1": "Z215JYRZR1TBD5", "eu-north-1": "Z23TAZ6LKFMNIO",
    "eu-south-1": "Z3ULH7SSC9OV64", "eu-west-1": "Z32O12XQLNTSW2",
    "eu-west-2": "ZHURV8PSTC4K8", "eu-west-3": "Z3Q77PNBQS71R4",
    "me-south-1": "ZS929ML54UICD", "sa-east-1": "Z2P70J7HTTTPLU",
    "us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2",
    "us-west-1": "Z368ELLRRE2KJ0", "us-west-2": "Z1H1FL5HABSF5",
}
NETWORK_HOSTED_ZONES = {
    "af-south-1": "Z203XCE67M25HM", "ap-east-1": "Z12Y7K3UBGUAD1",
    "ap-northeast-1": "Z31USIVHYNEOWT", "ap-northeast-2": "ZIBE1TIR4HY56",
    "ap-northeast-3": "Z1GWIQ4HH19I5X", "ap-south-1": "ZVDDRBQ08TROA",
    "ap-southeast-1": "ZKVM4W9LS7TM", "ap-southeast-2": "ZCT6FZBF4DROD",
    "ap-southeast-3": "Z01971771FYVNCOVWJU1G", "ca-central-1": "Z2EPGBW3API2WT",
    "eu-central-1": "Z3F0SRJ5LGBH90", "eu-north-1": "Z1UDT6IFJ4EJM",
    "eu-south-1": "Z23146JA1KNAFP", "eu-west-1": "Z2IFOLAFXWLO4F",
    "eu-west-2": "ZD4D7Y8KGAS4G", "eu-west-3": "Z1CMS0P5QUZ6D5",
    "me-south-1": "Z3QSRYVP46NYYV", "sa-east-1": "ZTK26PT1VY4CU",
    "us-east-1": "Z26RNL4JYFTOTI", "us-east-2": "ZLMOA37VPKANP",
    "us-west-1": "Z24FKFUX50B4VW", "us-west-2": "Z18D5FSROUN65G",
}


def hosted_zone_id(region_name: str, load_balancer_type: str) -> str | None:
    if load_balancer_type == "application":
        return APPLICATION_HOSTED_ZONES.get(region_name)
    if load_balancer_type == "network":
        return NETWORK_HOSTED_ZONES.get(region_name)
    return None


ARN_TYPE_SEGMENTS = {"application": "app", "network": "net", "gateway": "gwy"}
NUMBER_PROPERTIES = ("Port", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds",
                     "HealthyThresholdCount", "UnhealthyThresholdCount")


def _load_balancers_have_the_zone_and_arn_of_their_type() -> None:
    """moto gives every load balancer the placeholder hosted zone `Z2P70J7EXAMPLE`, in
    DescribeLoadBalancers and for `CanonicalHostedZoneID`; AWS gives the zone of the region and
    type, which Route 53 alias records are built from. moto's ARNs also say `app/` whatever the
    type, where AWS names a network load balancer `net/...` and a gateway one `gwy/...`."""
    from moto.elbv2.models import ELBv2Backend, FakeLoadBalancer

    original = ELBv2Backend.create_load_balancer

    def create_load_balancer(self: ELBv2Backend, *args: Any, **kwargs: Any) -> FakeLoadBalancer:
        load_balancer = original(self, *args, **kwargs)
        zone = hosted_zone_id(self.region_name, load_balancer.type)
        if zone:
            load_balancer.canonical_hosted_zone_id = zone
        segment = ARN_TYPE_SEGMENTS.get(load_balancer.type, "app")
        if segment != "app":
            moto_arn = load_balancer.arn
            load_balancer.arn = moto_arn.replace(":loadbalancer/app/", f":loadbalancer/{segment}/")
            self.load_balancers[load_balancer.arn] = self.load_balancers.pop(moto_arn)
            self.tagging_service.copy_tags(moto_arn, load_balancer.arn)
            self.tagging_service.delete_all_tags_for_resource(moto_arn)
        return load_balancer

    ELBv2Backend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]


def _load_balancer_reads_type_and_tags() -> None:
    """AWS::ElasticLoadBalancingV2::LoadBalancer in moto reads only `Subnets`, `SecurityGroups`
    and `Scheme`: a network load balancer came out as an application one, and `Tags`,
    `SubnetMappings` and `IpAddressType` were dropped."""
    from moto.elbv2.models import FakeLoadBalancer, elbv2_backends

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> FakeLoadBalancer:
        properties = cloudformation_json["Properties"]
        return elbv2_backends[account_id][region_name].create_load_balancer(
            resource_name, properties.get("SecurityGroups") or [],
            properties.get("Subnets") or [],
            subnet_mappings=properties.get("SubnetMappings"),
            scheme=properties.get("Scheme", "internet-facing"),
            loadbalancer_type=properties.get("Type", "application"),
            ip_address_type=properties.get("IpAddressType", "ipv4"),
            tags=properties.get("Tags"))

    FakeLoadBalancer.create_from_cloudformation_json = classmethod(  # type: ignore[method-assign]
        create_from_cloudformation_json)


def _load_balancer_attributes() -> None:
    """moto answers `LoadBalancerFullName` and `CanonicalHostedZoneID` with the text of the
    `Fn::GetAtt` itself, so an alarm's `LoadBalancer` dimension named nothing real. AWS gives
    `app/<name>/<id>` (the ARN's tail, which CloudWatch's ELB metrics use) and the zone id."""
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.elbv2.models import FakeLoadBalancer

    attributes = ("CanonicalHostedZoneID", "DNSName", "LoadBalancerArn", "LoadBalancerFullName",
                  "LoadBalancerName", "SecurityGroups")

    def has_cfn_attr(cls: Any, attr: str) -> bool:
        return attr in attributes

    def get_cfn_attribute(self: FakeLoadBalancer, attribute_name: str) -> Any:
        if attribute_name == "CanonicalHostedZoneID":
            return self.canonical_hosted_zone_id
        if attribute_name == "DNSName":
            return self.dns_name
        if attribute_name == "LoadBalancerArn":
            return self.arn
        if attribute_name == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/", 1)[1]
        if attribute_name == "LoadBalancerName":
            return self.name
        if attribute_name == "SecurityGroups":
            return list(self.security_groups or [])
        raise UnformattedGetAttTemplateException()

    FakeLoadBalancer.has_cfn_attr = classmethod(has_cfn_attr)  # type: ignore[assignment]
    FakeLoadBalancer.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


def _target_group_attributes_and_tags() -> None:
    """AWS::ElasticLoadBalancingV2::TargetGroup in moto has no `Fn::GetAtt` at all: asking for
    `TargetGroupFullName` failed every output of the stack. It also dropped the group's `Tags`,
    and took its numbers as they came."""
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.elbv2.models import FakeTargetGroup, elbv2_backends

    attributes = ("LoadBalancerArns", "TargetGroupArn", "TargetGroupFullName",
                  "TargetGroupName")

    def has_cfn_attr(cls: Any, attr: str) -> bool:
        return attr in attributes

    def get_cfn_attribute(self: FakeTargetGroup, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerArns":
            return list(self.load_balancer_arns)
        if attribute_name == "TargetGroupArn":
            return self.arn
        if attribute_name == "TargetGroupFullName":
            return self.arn.split(":", 5)[5]  # targetgroup/<name>/<id>
        if attribute_name == "TargetGroupName":
            return self.name
        raise UnformattedGetAttTemplateException()

    original_create = FakeTargetGroup.create_from_cloudformation_json.__func__  # type: ignore

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> FakeTargetGroup:
        # Numbers from template parameters arrive as text; moto compared the health check's
        # timeout with its interval as text ("5" > "30") and refused a valid group.
        properties = {key: int(value) if key in NUMBER_PROPERTIES and isinstance(value, str)
                      and value.isdigit() else value
                      for key, value in cloudformation_json["Properties"].items()}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
        target_group = original_create(cls, resource_name, cloudformation_json, account_id,
                                       region_name, **kwargs)
        tags = cloudformation_json["Properties"].get("Tags")
        if tags:
            elbv2_backends[account_id][region_name].tagging_service.tag_resource(
                target_group.arn, tags)
        return target_group

    FakeTargetGroup.has_cfn_attr = classmethod(has_cfn_attr)  # type: ignore[assignment]
    FakeTargetGroup.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]
    FakeTargetGroup.create_from_cloudformation_json = classmethod(  # type: ignore[method-assign]
        create_from_cloudformation_json)


def _listeners_rules_and_target_groups_go_with_their_stack() -> None:
    """moto deletes a stack's load balancer but none of its target groups, listeners or
    listener rules: the target groups stayed behind, pointing at a deleted load balancer."""
    from moto.elbv2.exceptions import ListenerNotFoundError, TargetGroupNotFoundError
    from moto.elbv2.models import FakeListener, FakeListenerRule, FakeTargetGroup, elbv2_backends

    def delete_target_group(self: FakeTargetGroup, account_id: str, region_name: str) -> None:
        try:
            # Raises ResourceInUse while a listener forwards to it; the stack's delete tries again
            # once the listener or its load balancer is gone.
            elbv2_backends[account_id][region_name].delete_target_group(self.arn)
        except TargetGroupNotFoundError:
            pass

    def delete_listener(self: FakeListener, account_id: str, region_name: str) -> None:
        try:
            elbv2_backends[account_id][region_name].delete_listener(self.arn)
        except ListenerNotFoundError:
            pass  # went with its load balancer

    def delete_rule(self: FakeListenerRule, account_id: str, region_name: str) -> None:
        elbv2_backends[account_id][region_name].delete_rule(self.arn)

    FakeTargetGroup.delete = delete_target_group  # type: ignore[attr-defined]
    FakeListener.delete = delete_listener  # type: ignore[attr-defined]
    FakeListenerRule.delete = delete_rule  # type: ignore[attr-defined]


def _tag(resource: Any, tags: dict[str, str], account_id: str, region_name: str) -> None:
    from moto.elbv2.models import elbv2_backends

    tagging = elbv2_backends[account_id][region_name].tagging_service
    present = tagging.get_tag_dict_for_resource(resource.arn)
    missing = [{"Key": k, "Value": v} for k, v in tags.items() if k not in present]
    if missing:
        # Straight to the tag store: moto's AddTags still caps a resource at 10 tags, AWS at 50.
        tagging.tag_resource(resource.arn, missing)


def install() -> None:
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup

    _load_balancers_have_the_zone_and_arn_of_their_type()
    _load_balancer_reads_type_and_tags()
    _load_balancer_attributes()
    _target_group_attributes_and_tags()
    _listeners_rules_and_target_groups_go_with_their_stack()
    stack_tags.register(FakeLoadBalancer, _tag)
    stack_tags.register(FakeTargetGroup, _tag)
