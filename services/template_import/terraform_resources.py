"""A Terraform module's resources in CloudFormation's words, for what reads CloudFormation: the
cost estimate (services/cost_service.py) and the architecture diagram.

A template deployed by Terraform alone has no CloudFormation to price or draw. Its rendered
module is read through the advisor's Terraform model (modules wired, `count` and `for_each`
expanded, values from terraform.tfvars) and each resource instance becomes a resolved resource
of its CloudFormation type, with the properties the price table reads (instance types, volume
sizes, database classes and engines, cache nodes, load balancer types) under their
CloudFormation names. A type with no CloudFormation counterpart keeps its Terraform name, so the
estimate lists it as not priced rather than guessing; a value only known after apply stays
unknown, and the estimate says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from services.advisor.equivalence import TERRAFORM_TO_CLOUDFORMATION
from services.advisor.hcl_eval import Unknown, is_known, reference_names
from services.advisor.terraform_model import (
    TFVARS_FILE,
    TerraformConfig,
    TfResource,
    nested_blocks,
    parse_hcl,
)
from services.catalog_service import TemplateManifest
from services.diagram_service import Diagram, diagram_from_template
from services.engines.base import EngineName
from services.errors import ValidationError
from services.render_service import RenderedTemplate
from services.template_model import ResolvedResource, ResolvedTemplate, resolve_rendered

# Types the equivalence table leaves out because no built-in template uses them, but the price
# table prices.
EXTRA_TYPES = {
    "aws_elasticache_cluster": "AWS::ElastiCache::CacheCluster",
    "aws_ssm_parameter": "AWS::SSM::Parameter",
    "aws_eip_association": "AWS::EC2::EIPAssociation",
}


def cloudformation_type(terraform_type: str) -> str:
    """The CloudFormation type of a Terraform resource type; its own name when there is none."""
    return TERRAFORM_TO_CLOUDFORMATION.get(terraform_type) or \
        EXTRA_TYPES.get(terraform_type, terraform_type)


def _known(value: Any) -> Any:
    """A value the price table can read: None for what is only known after apply."""
    if isinstance(value, Unknown) or not is_known(value):
        return None
    return value


def _ref(resource: TfResource, attribute: str) -> Any:
    """A reference to another resource of the module as CloudFormation's `Ref`, so the
    estimate can follow it (an Elastic IP's NAT gateway, an instance's subnet)."""
    target = resource.module.referenced_resource(resource.body.get(attribute))
    return {"Ref": target.address} if target is not None else _known(resource.value(attribute))


def _first_block(resource: TfResource, name: str) -> dict[str, Any]:
    blocks = nested_blocks(resource.body, name)
    return {k: _known(v) for k, v in resource.evaluate(blocks[0]).items()} if blocks else {}


def _instance(resource: TfResource) -> dict[str, Any]:
    root = _first_block(resource, "root_block_device")
    props: dict[str, Any] = {"InstanceType": _known(resource.value("instance_type"))}
    if root:
        props["BlockDeviceMappings"] = [{"DeviceName": "/dev/xvda", "Ebs": {
            "VolumeSize": root.get("volume_size"), "VolumeType": root.get("volume_type")}}]
    if resource.has("subnet_id"):
        props["SubnetId"] = _ref(resource, "subnet_id")
    associate = _known(resource.value("associate_public_ip_address"))
    if associate is not None:
        props["NetworkInterfaces"] = [{"DeviceIndex": "0",
                                       "AssociatePublicIpAddress": associate}]
    if resource.has("launch_template"):
        spec = _first_block(resource, "launch_template")
        target = resource.module.referenced_resource(
            nested_blocks(resource.body, "launch_template")[0].get("id"))
        props["LaunchTemplate"] = {"LaunchTemplateId": {"Ref": target.address}} if target \
            else {"LaunchTemplateName": spec.get("name")}
    return props


def _launch_template(resource: TfResource) -> dict[str, Any]:
    data: dict[str, Any] = {"InstanceType": _known(resource.value("instance_type"))}
    mappings = []
    for block, bindings in resource.expanded_blocks("block_device_mappings"):
        mapping = resource.evaluate(block, bindings)
        ebs = (nested_blocks(mapping, "ebs") or [{}])[0]
        mappings.append({"DeviceName": _known(mapping.get("device_name")), "Ebs": {
            "VolumeSize": _known(ebs.get("volume_size")),
            "VolumeType": _known(ebs.get("volume_type"))}})
    if mappings:
        data["BlockDeviceMappings"] = mappings
    return {"LaunchTemplateData": data, "LaunchTemplateName": _known(resource.value("name"))}


def _auto_scaling_group(resource: TfResource) -> dict[str, Any]:
    props: dict[str, Any] = {
        "DesiredCapacity": _known(resource.value("desired_capacity")),
        "MinSize": _known(resource.value("min_size")),
        "MaxSize": _known(resource.value("max_size")),
    }
    blocks = nested_blocks(resource.body, "launch_template")
    if blocks:
        target = resource.module.referenced_resource(blocks[0].get("id"))
        props["LaunchTemplate"] = {"LaunchTemplateId": {"Ref": target.address}} if target \
            else {"LaunchTemplateName": _known(resource.evaluate(blocks[0]).get("name"))}
    subnets = _known(resource.value("vpc_zone_identifier"))
    if isinstance(subnets, list):
        props["VPCZoneIdentifier"] = subnets
    return props


def _db_instance(resource: TfResource) -> dict[str, Any]:
    return {
        "DBInstanceClass": _known(resource.value("instance_class")),
        "Engine": _known(resource.value("engine")),
        "EngineVersion": _known(resource.value("engine_version")),
        "AllocatedStorage": _known(resource.value("allocated_storage")),
        "StorageType": _known(resource.value("storage_type")),
        "MultiAZ": _known(resource.value("multi_az", False)),
        "PubliclyAccessible": _known(resource.value("publicly_accessible", False)),
        "ManageMasterUserPassword": _known(resource.value("manage_master_user_password",
                                                          False)),
    }


def _replication_group(resource: TfResource) -> dict[str, Any]:
    return {
        "CacheNodeType": _known(resource.value("node_type")),
        "Engine": _known(resource.value("engine", "redis")),
        "NumCacheClusters": _known(resource.value("num_cache_clusters")),
        "NumNodeGroups": _known(resource.value("num_node_groups")),
        "ReplicasPerNodeGroup": _known(resource.value("replicas_per_node_group")),
    }


def _cache_cluster(resource: TfResource) -> dict[str, Any]:
    return {"CacheNodeType": _known(resource.value("node_type")),
            "Engine": _known(resource.value("engine")),
            "NumCacheNodes": _known(resource.value("num_cache_nodes"))}


def _load_balancer(resource: TfResource) -> dict[str, Any]:
    subnets = _known(resource.value("subnets"))
    return {"Type": _known(resource.value("load_balancer_type", "application")),
            "Scheme": "internal" if _known(resource.value("internal")) else "internet-facing",
            **({"Subnets": subnets} if isinstance(subnets, list) else {})}


def _nat_gateway(resource: TfResource) -> dict[str, Any]:
    return {"ConnectivityType": _known(resource.value("connectivity_type", "public")),
            "AllocationId": _ref(resource, "allocation_id")}


def _eip(resource: TfResource) -> dict[str, Any]:
    return {"InstanceId": _ref(resource, "instance")} if resource.has("instance") else {}


def _subnet(resource: TfResource) -> dict[str, Any]:
    return {"MapPublicIpOnLaunch": _known(resource.value("map_public_ip_on_launch", False))}


def _log_group(resource: TfResource) -> dict[str, Any]:
    return {"LogGroupClass": _known(resource.value("log_group_class"))}


def _ssm_parameter(resource: TfResource) -> dict[str, Any]:
    return {"Tier": _known(resource.value("tier"))}


def _vpc_endpoint(resource: TfResource) -> dict[str, Any]:
    return {"VpcEndpointType": _known(resource.value("vpc_endpoint_type", "Gateway"))}


PROPERTIES: dict[str, Callable[[TfResource], dict[str, Any]]] = {
    "aws_instance": _instance,
    "aws_launch_template": _launch_template,
    "aws_autoscaling_group": _auto_scaling_group,
    "aws_db_instance": _db_instance,
    "aws_elasticache_replication_group": _replication_group,
    "aws_elasticache_cluster": _cache_cluster,
    "aws_lb": _load_balancer,
    "aws_nat_gateway": _nat_gateway,
    "aws_eip": _eip,
    "aws_subnet": _subnet,
    "aws_cloudwatch_log_group": _log_group,
    "aws_ssm_parameter": _ssm_parameter,
    "aws_vpc_endpoint": _vpc_endpoint,
}


def terraform_config(rendered: RenderedTemplate) -> TerraformConfig:
    """The rendered module wired with its terraform.tfvars; ValidationError when a file does
    not parse (an import checks that first, so only a broken built-in would)."""
    parsed: dict[str, dict[str, Any]] = {}
    for path, text in sorted(rendered.terraform_files.items()):
        if path.endswith(".tf"):
            try:
                parsed[path] = parse_hcl(text)
            except Exception as exc:  # python-hcl2 raises lark's many error types
                raise ValidationError({"template": f"{path} does not parse: {exc}"}) from None
    tfvars_text = rendered.terraform_files.get(TFVARS_FILE)
    tfvars = parse_hcl(tfvars_text) if tfvars_text else {}
    return TerraformConfig(parsed, files=rendered.terraform_files, tfvars=tfvars)


def resolved_from_terraform(rendered: RenderedTemplate, *, region: str) -> ResolvedTemplate:
    """The module's resource instances as a resolved CloudFormation template (keyed by their
    Terraform address), for the cost estimate."""
    config = terraform_config(rendered)
    resources: dict[str, ResolvedResource] = {}
    for resource in config.resource_instances():
        if resource.type.startswith("terraform_") or isinstance(resource.key, Unknown):
            # Terraform's own resources make nothing in the cloud; a count known only after
            # apply cannot be counted (the estimate would be a guess).
            if isinstance(resource.key, Unknown):
                resources[resource.address] = ResolvedResource(
                    logical_id=resource.address, type=resource.type, properties={})
            continue
        properties = PROPERTIES.get(resource.type, lambda r: {})(resource)
        resources[resource.address] = ResolvedResource(
            logical_id=resource.address, type=cloudformation_type(resource.type),
            properties={k: v for k, v in properties.items() if v is not None})
    return ResolvedTemplate(region=region, parameters={}, conditions={}, resources=resources,
                            document={})


def resolved_for_pricing(rendered: RenderedTemplate, manifest: TemplateManifest, *,
                         region: str) -> ResolvedTemplate:
    """What the estimate prices: the CloudFormation when the template has one, else its
    Terraform read as above."""
    if EngineName.CLOUDFORMATION in manifest.engines:
        return resolve_rendered(rendered, region=region)
    return resolved_from_terraform(rendered, region=region)


def terraform_diagram(rendered: RenderedTemplate) -> Diagram:
    """The module's resource blocks and which refers to which, drawn by the diagram service as
    it draws CloudFormation: each block a resource of its CloudFormation type (its Terraform
    type when there is none), a `Ref` where its arguments name another block of the same module,
    `DependsOn` where its `depends_on` does."""
    config = terraform_config(rendered)
    blocks = [r for r in config.resources() if not r.type.startswith("terraform_")]
    document: dict[str, Any] = {"Resources": {}}
    for resource in blocks:
        arguments = {k: v for k, v in resource.body.items() if k != "depends_on"}
        depends = json.dumps(resource.body.get("depends_on", []))
        refs, after = [], []
        for other in blocks:
            if other is resource or other.module is not resource.module:
                continue
            if other.name in reference_names(depends, other.type):
                after.append(other.address)
            elif other.name in reference_names(json.dumps(arguments), other.type):
                refs.append({"Ref": other.address})
        body: dict[str, Any] = {"Type": cloudformation_type(resource.type),
                                "Properties": {"References": refs} if refs else {}}
        if after:
            body["DependsOn"] = after
        document["Resources"][resource.address] = body
    if not document["Resources"]:
        return Diagram(nodes=(), edges=())
    return diagram_from_template(json.dumps(document, sort_keys=True))
