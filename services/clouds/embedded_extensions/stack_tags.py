"""A stack's tags on every resource that takes tags, as AWS propagates them.

moto tags only EC2 resources with their stack's tags. Without this, an RDS database, a cache or a
web ACL of a stack carries none of the stack's tags and cannot be found by them (the portal's
sweeper finds leftovers by the `sandbox:env-id` tag). Each service extension registers how its
resources take tags; RDS is registered here.
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
    from moto.cloudformation.parsing import ResourceMap
    from moto.ec2.models.core import TaggedEC2Resource

    original_create = ResourceMap.create

    def create(self: ResourceMap, template: dict[str, Any]) -> bool:
        ready = original_create(self, template)
        stack_tags = {k: v for k, v in self.tags.items() if not k.startswith("aws:")}
        if not stack_tags:
            return ready
        for logical_id in list(self._resource_json_map):
            resource = self._parsed_resources.get(logical_id)
            if resource is None or isinstance(resource, TaggedEC2Resource):
                continue  # moto tags EC2 resources itself
            tagger = _tagger_for(resource)
            if tagger is not None:
                tagger(resource, stack_tags, self._account_id, self._region_name)
        return ready

    ResourceMap.create = create  # type: ignore[method-assign]


def install() -> None:
    from moto.rds.models import RDSBaseModel

    register(RDSBaseModel, _tag_rds)
    _stack_tags_reach_every_resource()
