"""A stack's tags on every resource that takes tags, as AWS propagates them, from the moment the
resource exists.

moto tags only EC2 resources with their stack's tags, and only once the stack's last resource is
made. Without this, an RDS database, a cache or a web ACL of a stack carries none of the stack's
tags and cannot be found by them (the portal's sweeper finds leftovers by the `sandbox:env-id`
tag); and what a stack made before its create failed carried none either, so a resource the
rollback kept (`DeletionPolicy: Retain`) was left where no sweep could find it. Each resource is
tagged as soon as it is made. Each service extension registers how its resources take tags;
RDS is registered here.
"""

from __future__ import annotations

from typing import Any, Callable

StackTags = dict[str, str]
Tagger = Callable[[Any, StackTags, str, str], None]
"""tag(resource, tags, account_id, region_name): add the tags the resource does not carry yet."""

_taggers: dict[type, Tagger] = {}


def register(model: type, tagger: Tagger) -> None:
    _taggers[model] = tagger


def _tagger_for(resource: Any) -> Tagger | None:
    for model in type(resource).__mro__:
        if model in _taggers:
            return _taggers[model]
    return None


def _tag_rds(resource: Any, tags: StackTags, account_id: str, region_name: str) -> None:
    existing = {tag["Key"] for tag in resource.get_tags()}
    extra = [{"Key": k, "Value": v} for k, v in tags.items() if k not in existing]
    if extra:
        resource.add_tags(extra)


def _stack_tags_reach_every_resource() -> None:
    from moto.cloudformation import parsing
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.core import TaggedEC2Resource

    original_create = parsing.parse_and_create_resource

    def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any],
                                  resources_map: Any, account_id: str, region_name: str) -> Any:
        resource = original_create(logical_id, resource_json, resources_map, account_id,
                                   region_name)
        stack_tags = {k: v for k, v in getattr(resources_map, "tags", {}).items()
                      if not k.startswith("aws:")}
        if resource is None or not stack_tags:
            return resource
        if isinstance(resource, TaggedEC2Resource):
            # As moto tags them at the end of the stack, with the logical id AWS adds.
            ec2_backends[account_id][region_name].create_tags(
                [resource.physical_resource_id],
                {**resources_map.tags, "aws:cloudformation:logical-id": logical_id})
            return resource
        tagger = _tagger_for(resource)
        if tagger is not None:
            tagger(resource, stack_tags, account_id, region_name)
        return resource

    parsing.parse_and_create_resource = parse_and_create_resource


def install() -> None:
    from moto.rds.models import RDSBaseModel

    register(RDSBaseModel, _tag_rds)
    _stack_tags_reach_every_resource()
