"""What an environment's deployment created, and whether a resource found by its tag is one of them.

The sweep finds by the `sandbox:env-id` tag, but a tag proves nothing: anyone allowed to tag a
resource can give their own bucket or database an environment's id, and a sweep that deleted by
tag alone would delete it for them (S3 object versions and secrets without a recovery window
included). So the sweep deletes only what this module says the environment created:

- every physical id CloudFormation reported in the `CREATE_*` events of the environment's launch
  runs (stored in `run_event` as they arrive, so they outlive the stack), and
- the live stack's resources, while the stack still exists (`created_resources` must therefore be
  called before the stack is deleted: its resource list goes with it).

The portal never updates or imports stacks; were it to, a replacement made by an update would be
reported as not ours (a person looks at it) rather than deleted: the rule fails safe.

CloudFormation's physical ids come in the form each resource type has (an id, a name, an ARN,
`name|id|scope`), while the sweep holds each resource by what it deletes it with (EC2 and RDS ids
and names from their own APIs, ARNs from the tagging API). `RULES` turns the sweep's id into the
physical id's form, per kind; the rest of an ARN (partition, region, account) adds nothing, since
the sweep only sees its own account and region. What a kind is compared on:

| kind the sweep deletes   | the sweep's id     | ours when                                        |
|--------------------------|--------------------|--------------------------------------------------|
| EC2 Instance             | i-...              | its id was recorded, or its                      |
|                          |                    | `aws:autoscaling:groupName` names our ASG (1)    |
| EC2 NatGateway,          | its id             | its id was recorded (2)                          |
| VPCEndpoint, Internet-   |                    |                                                  |
| Gateway, Subnet, Launch- |                    |                                                  |
| Template, SecurityGroup, |                    |                                                  |
| VPC                      |                    |                                                  |
| EC2 RouteTable           | rtb-...            | its id was recorded; its associations go too (3) |
| EC2 EIP                  | eipalloc-...       | its public address (the physical id) or its      |
|                          |                    | allocation id was recorded (4)                   |
| RDS DBInstance,          | identifier, name   | recorded, in any case (RDS keeps them lowercase) |
| DBSubnetGroup            |                    |                                                  |
| AutoScalingGroup         | ARN                | the group name in the ARN was recorded (1)       |
| ELBv2 LoadBalancer,      | ARN                | the ARN was recorded (it is the physical id)     |
| TargetGroup              |                    |                                                  |
| WAFv2 WebACL             | ARN .../NAME/ID    | `NAME|ID|REGIONAL` was recorded                  |
| ElastiCache Replication- | ARN                | the id or name in the ARN was recorded, in any   |
| Group, SubnetGroup       |                    | case                                             |
| ElastiCache CacheCluster | ARN                | its id was recorded, or its replication group    |
|                          |                    | is ours (5)                                      |
| SecretsManager Secret    | ARN                | the ARN was recorded (it is the physical id)     |
| CodeDeploy Application   | ARN                | the application name was recorded                |
| CodeDeploy               | ARN ...:APP/GROUP  | its application is ours (a group's name, its     |
| DeploymentGroup          |                    | physical id, repeats across applications) (5)    |
| CloudWatch Alarm, Logs   | ARN                | the name in the ARN was recorded                 |
| LogGroup, S3 Bucket      |                    |                                                  |
| anything else (the stack | ARN                | the ARN was recorded; the sweep cannot delete    |
| itself, ...)             |                    | these and reports them either way                |

(1) Instances an ASG launches are no stack resources, but the deployment made them. `aws:` tags
    are set by AWS and cannot be set by users, so the tag is the group's own word. An instance
    someone attached to our group carries it too; deleting our group (ForceDelete) would
    terminate it anyway.
(2) A security group made in the default VPC has its name as physical id; the templates make
    their own VPCs, so such a group is reported, not deleted.
(3) Route table associations, ENIs and the routes of a table are not swept on their own: ENIs go
    with the instance, load balancer, NAT gateway or database that made them, associations and
    routes with their table. A table can only be associated with subnets of its own VPC.
(4) An address is never ours for being associated with an instance of ours: releasing an address
    cannot be undone, and terminating our instance hands it back to its owner.
(5) Deleting the group deletes its members whoever made them; the rule says what would happen.

A name (bucket, ASG, alarm, log group, DB identifier) is unique while its resource exists, but a
name our stack freed could be taken again, with our tag, before the sweep runs a few seconds
later; ids AWS generates (i-..., sg-..., ARNs with a random part) are never reused.

What the sweep then does with a tagged resource that is not ours: `sweeper.Sweeper.sweep`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from sqlalchemy import select

from services.clouds.aws_calls import AWS_ERRORS
from services.engines.base import DeploymentRef
from services.engines.resource_types import cloudformation_type
from services.history.models import Environment, Run, RunEvent, RunKind
from services.sweeper import TaggedResource

if TYPE_CHECKING:
    from services.context import PortalContext
    from services.engines.base import Engine


def _same(resource_id: str) -> str:
    return resource_id


def _after(marker: str) -> Callable[[str], str]:
    """The part of an ARN after `marker`: the name CloudFormation reports as physical id."""
    def key(arn: str) -> str:
        return arn.split(marker, 1)[-1]
    return key


def _log_group(arn: str) -> str:
    # The tagging API may give a log group's ARN with or without the trailing `:*`.
    return arn.split(":log-group:", 1)[-1].removesuffix(":*")


def _web_acl(arn: str) -> str:
    # arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/NAME/ID -> NAME|ID|REGIONAL, as CloudFormation
    # (and the embedded cloud) report a web ACL's physical id.
    parts = arn.split(":", 5)[-1].split("/", 3)
    if len(parts) != 4:
        return arn
    scope, _, name, acl_id = parts
    return f"{name}|{acl_id}|{'CLOUDFRONT' if scope == 'global' else 'REGIONAL'}"


@dataclass(frozen=True)
class Rule:
    """How one kind the sweep finds is compared with what CloudFormation recorded."""

    # The sweep's id of the resource -> the form CloudFormation reports as its physical id;
    # None when the resource is never ours on its own (only as a member of a group of ours).
    physical_id: Callable[[str], str] | None
    # The stack resource type whose members are ours too (see `TaggedResource.member_of`).
    member_of: str | None = None
    # The service keeps these ids in lowercase, whatever case the template asked for.
    ignore_case: bool = False


RULES: Mapping[str, Rule] = MappingProxyType({
    "AWS::EC2::Instance": Rule(_same, member_of="AWS::AutoScaling::AutoScalingGroup"),
    "AWS::EC2::NatGateway": Rule(_same),
    "AWS::EC2::EIP": Rule(_same),  # and its public address, a `TaggedResource` alias
    "AWS::EC2::VPCEndpoint": Rule(_same),
    "AWS::EC2::InternetGateway": Rule(_same),
    "AWS::EC2::RouteTable": Rule(_same),
    "AWS::EC2::Subnet": Rule(_same),
    "AWS::EC2::LaunchTemplate": Rule(_same),
    "AWS::EC2::SecurityGroup": Rule(_same),
    "AWS::EC2::VPC": Rule(_same),
    "AWS::RDS::DBInstance": Rule(_same, ignore_case=True),
    "AWS::RDS::DBSubnetGroup": Rule(_same, ignore_case=True),
    "AWS::AutoScaling::AutoScalingGroup": Rule(_after(":autoScalingGroupName/")),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": Rule(_same),
    "AWS::ElasticLoadBalancingV2::TargetGroup": Rule(_same),
    "AWS::WAFv2::WebACL": Rule(_web_acl),
    "AWS::ElastiCache::ReplicationGroup": Rule(_after(":replicationgroup:"), ignore_case=True),
    "AWS::ElastiCache::CacheCluster": Rule(_after(":cluster:"), ignore_case=True,
                                           member_of="AWS::ElastiCache::ReplicationGroup"),
    "AWS::ElastiCache::SubnetGroup": Rule(_after(":subnetgroup:"), ignore_case=True),
    "AWS::SecretsManager::Secret": Rule(_same),
    "AWS::CodeDeploy::Application": Rule(_after(":application:")),
    "AWS::CodeDeploy::DeploymentGroup": Rule(None, member_of="AWS::CodeDeploy::Application"),
    "AWS::CloudWatch::Alarm": Rule(_after(":alarm:")),
    "AWS::Logs::LogGroup": Rule(_log_group),
    "AWS::S3::Bucket": Rule(_after(":::")),
})
# A kind without a rule (one the sweep cannot delete) is ours only when its ARN was recorded.
EXACT = Rule(_same)


def _ignores_case(resource_type: str) -> bool:
    return RULES.get(resource_type, EXACT).ignore_case


@dataclass(frozen=True)
class OwnedResources:
    """The physical ids an environment's deployment created, by CloudFormation resource type."""

    by_type: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Whether the live stack's resource list was read too (False: the stack was gone, or could
    # not be listed, and the recorded events alone say what is ours).
    deployment_listed: bool = False

    @classmethod
    def of(cls, records: Iterable[tuple[str, str | None]], *,
           deployment_listed: bool = False) -> OwnedResources:
        """From (resource type, physical id) pairs, as stack events and resources give them."""
        by_type: dict[str, set[str]] = {}
        for resource_type, physical_id in records:
            if physical_id:
                by_type.setdefault(resource_type, set()).add(
                    physical_id.lower() if _ignores_case(resource_type) else physical_id)
        return cls(MappingProxyType({t: frozenset(ids) for t, ids in by_type.items()}),
                   deployment_listed=deployment_listed)

    def ids(self, resource_type: str) -> frozenset[str]:
        return self.by_type.get(resource_type, frozenset())

    def _recorded(self, resource_type: str, physical_id: str) -> bool:
        if _ignores_case(resource_type):
            physical_id = physical_id.lower()
        return physical_id in self.ids(resource_type)

    def owns(self, resource: TaggedResource) -> bool:
        """Whether this environment's deployment created `resource` (see the module's table)."""
        rule = RULES.get(resource.kind)
        if rule is None:
            return any(resource.resource_id in ids for ids in self.by_type.values())
        if rule.physical_id is not None:
            names = {rule.physical_id(resource.resource_id), *resource.aliases}
            if any(self._recorded(resource.kind, name) for name in names):
                return True
        return bool(rule.member_of and resource.member_of and
                    self._recorded(rule.member_of, resource.member_of))


def created_resources(ctx: PortalContext, env_id: str, *,
                      engine: Engine | None = None) -> OwnedResources:
    """What `env_id`'s deployment created: its launch runs' recorded CREATE_* events with physical
    ids, the deployment itself, and the resources its engine lists while it still exists. Call
    it before destroying the deployment. Types are read in CloudFormation's words
    (`engines.resource_types`), whichever engine made them."""
    with ctx.sessions() as session:
        env = session.get(Environment, env_id)
        if env is None:
            return OwnedResources()
        ref = DeploymentRef(env_id=env.id, deployment_name=env.deployment_name,
                            deployment_id=env.deployment_id)
        engine = engine or ctx.engine(env.engine)
        records: list[tuple[str, str | None]] = [
            (resource_type, physical_id) for resource_type, physical_id in session.execute(
                select(RunEvent.resource_type, RunEvent.physical_id)
                .join(Run, RunEvent.run_id == Run.id)
                .where(Run.env_id == env_id, Run.kind == RunKind.LAUNCH.value,
                       RunEvent.status.like("CREATE\\_%", escape="\\"),
                       RunEvent.physical_id.is_not(None),
                       # The portal's own events (a failed launch's sweep) name resources
                       # found by tag, which is exactly what is not proof of ownership.
                       RunEvent.event_key.not_like("portal-%")))]
    records = [(cloudformation_type(kind), physical_id) for kind, physical_id in records]
    records.append((engine.deployment_type, ref.deployment_id))
    try:
        listed = engine.resources(ref)
    except AWS_ERRORS:
        # The recorded events still say what was made. Knowing less only means more is reported
        # for a person to look at, never that more is deleted.
        return OwnedResources.of(records)
    records += [(cloudformation_type(r.resource_type), r.physical_id) for r in listed]
    return OwnedResources.of(records, deployment_listed=bool(listed))
