"""Resources that will not carry the portal's tags, so destroy cannot find what is left of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from services.advisor.model import AdvisorSubject, Finding, Rule, Severity
from services.advisor.terraform_model import (
    ModuleInstance,
    TerraformConfig,
    TfResource,
    Unknown,
    expression_text,
    nested_blocks,
    reference_names,
)
from services.advisor.values import truthy
from services.i18n import N_, _
from services.render_service import portal_tags

PORTAL_TAG_KEYS = tuple(portal_tags(env_id="-", owner="-", template_id="-"))


# What an expression known only at apply may be built from and still carry the portal's tags:
# the variable the portal fills, or the provider's default tags (which are that variable).
_PORTAL_TAG_SOURCES = re.compile(r"(?<![\w.])var\.tags\b|data\.aws_default_tags\.")


def _carries_portal_tags(value: Any, raw: Any, module: ModuleInstance) -> bool:
    """A tags value that holds every portal tag, or an expression only apply can evaluate
    that is built from the portal's tags."""
    if isinstance(value, dict) and all(key in value for key in PORTAL_TAG_KEYS):
        return True
    if isinstance(value, (dict, Unknown)):
        return bool(_PORTAL_TAG_SOURCES.search(module.expand_local_references(raw)))
    return False


class PortalTagsMissing(Rule):
    """The portal finds an environment's leftovers by its tags (sandbox:env-id, sandbox:owner,
    sandbox:template); whatever lacks them survives a failed destroy unseen and keeps costing.

    Terraform: the root module's aws provider must set `default_tags { tags = var.tags }`.
    default_tags do not reach `aws_autoscaling_group` (the provider leaves that resource out)
    nor the instances an Auto Scaling group launches, which Terraform never sees: the group
    needs `tag` blocks with `propagate_at_launch = true` (usually a `dynamic "tag"` over
    var.tags), or its launch template `tag_specifications` for instances.

    CloudFormation: the portal passes its tags as stack tags, which CloudFormation copies to
    every resource that supports tags. For an Auto Scaling group it adds them to the group, and
    Auto Scaling adds the group's stack tags to the RunInstances call of every instance it
    launches (AWS confirms this in cloudformation-coverage-roadmap issue 1525, and stack-tagged
    groups are how CloudFormation users tag their instances), so a group without its own Tags
    is fine and is not reported. What stack tags do not reach is an EBS volume created from a
    block device mapping; it is deleted with its instance unless DeleteOnTermination is false,
    and then it outlives the environment untagged - that is reported."""

    id = "ADV008"
    title = N_("Resources that will not carry the portal's tags")
    severity = Severity.WARNING
    fix = N_("Terraform: set default_tags { tags = var.tags } on the aws provider, and give "
             "every aws_autoscaling_group a dynamic \"tag\" block over var.tags with "
             "propagate_at_launch = true. CloudFormation: leave DeleteOnTermination at true for "
             "block device mappings, or tag the volumes through TagSpecifications.")

    # -- Terraform
    def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
        config = subject.terraform_config
        if not subject.terraform:
            return
        yield from self._providers(config)
        for group in config.resources("aws_autoscaling_group"):
            if not self._group_tags_instances(config, group):
                yield self.finding(
                    _("{group} neither propagates the portal's tags (no tag block with "
                      "propagate_at_launch = true over var.tags) nor launches from a template "
                      "whose tag_specifications tag instances: provider default_tags reach "
                      "neither the group nor the instances it launches, so the sweeper cannot "
                      "find them by tag.").format(group=group.address),
                    resource=group.address, source="terraform")

    def _providers(self, config: TerraformConfig) -> Iterator[Finding]:
        root = config.root
        providers = [(body, path) for name, body, path in root.source.providers if name == "aws"]
        if not providers:
            yield self.finding(
                _("The root module declares no aws provider with default_tags: its resources get "
                  "none of the portal's tags (sandbox:env-id, sandbox:owner, sandbox:template)."),
                resource=None, source="terraform")
            return
        for body, path in providers:
            alias = root.evaluate(body.get("alias")) if "alias" in body else None
            label = 'provider "aws"' + (f" (alias {alias})" if isinstance(alias, str) else "")
            blocks = nested_blocks(body, "default_tags")
            raw = blocks[0].get("tags") if blocks else None
            if raw is None:
                yield self.finding(
                    # Translators: {provider} is Terraform code, such as provider "aws".
                    _("{provider} in {path} has no default_tags: resources get none of the "
                      "portal's tags unless each sets them itself.").format(
                          provider=label, path=path),
                    resource=None, source="terraform")
            elif not _carries_portal_tags(root.evaluate(raw), raw, root):
                yield self.finding(
                    # Translators: {expression} is Terraform code; {keys} the portal's tag keys.
                    _("{provider} in {path} sets default_tags to {expression}, which does not "
                      "hold the portal's tags ({keys}).").format(
                          provider=label, path=path, expression=expression_text(raw),
                          keys=", ".join(PORTAL_TAG_KEYS)),
                    resource=None, source="terraform")

    @staticmethod
    def _group_tags_instances(config: TerraformConfig, group: TfResource) -> bool:
        module = group.module
        for dynamic in group.dynamic_blocks("tag"):
            contents = nested_blocks(dynamic, "content")
            propagate = truthy(module.evaluate(contents[0].get("propagate_at_launch"))) \
                if contents else None
            raw = dynamic.get("for_each")
            if propagate and _carries_portal_tags(module.evaluate(raw), raw, module):
                return True
        propagated = {module.evaluate(block.get("key"), bindings)
                      for block, bindings in group.expanded_blocks("tag")
                      if truthy(module.evaluate(block.get("propagate_at_launch"), bindings))}
        if all(key in propagated for key in PORTAL_TAG_KEYS):
            return True
        for block in group.blocks("launch_template"):
            for name in reference_names(expression_text(block.get("id", block.get("name"))),
                                        "aws_launch_template"):
                template = config.find(group.module, f"aws_launch_template.{name}")
                if template is None:
                    continue
                for spec in template.blocks("tag_specifications"):
                    raw = spec.get("tags")
                    if template.module.evaluate(spec.get("resource_type")) == "instance" and \
                            _carries_portal_tags(template.module.evaluate(raw), raw,
                                                 template.module):
                        return True
        return False

    # -- CloudFormation
    def check_cloudformation(self, subject: AdvisorSubject) -> Iterator[Finding]:
        template = subject.cloudformation
        assert template is not None
        for resource in template.of_type("AWS::EC2::Instance", "AWS::EC2::LaunchTemplate"):
            props = resource.properties
            data = (props.get("LaunchTemplateData") or {}) \
                if resource.type == "AWS::EC2::LaunchTemplate" else props
            tagged_volumes = truthy(props.get("PropagateTagsToVolumeOnCreation")) or any(
                isinstance(spec, dict) and spec.get("ResourceType") == "volume"
                for spec in data.get("TagSpecifications") or [])
            if tagged_volumes:
                continue
            for mapping in data.get("BlockDeviceMappings") or []:
                ebs = mapping.get("Ebs") if isinstance(mapping, dict) else None
                if isinstance(ebs, dict) and truthy(ebs.get("DeleteOnTermination")) is False:
                    if "DeviceName" in mapping:
                        # Translators: {device} is a device name such as /dev/xvda.
                        message = _("{resource} maps {device} with DeleteOnTermination false: "
                                    "the volume outlives its instance, and stack tags do not "
                                    "reach volumes created from block device mappings, so "
                                    "nothing tags it as part of the environment.")
                    else:
                        message = _("{resource} maps a volume with DeleteOnTermination false: "
                                    "the volume outlives its instance, and stack tags do not "
                                    "reach volumes created from block device mappings, so "
                                    "nothing tags it as part of the environment.")
                    yield self.finding(
                        message.format(resource=resource.logical_id,
                                       device=mapping.get("DeviceName")),
                        resource=resource.logical_id, source="cloudformation")
