"""Deletes for the resource types moto's CloudFormation creates and cannot delete, and the
physical ids it never gave some of them.

moto creates these types for a stack but has no delete of any kind for them, so `delete_stack`
left each in place (`stack_deletion` reports it DELETE_SKIPPED): a scheduled action, a flow
log, a VPC peering connection, a VPN gateway, an EBS volume and its attachment, ECS clusters,
services and task definitions, customer managed IAM policies, Lambda permissions, versions and
layer versions, Route 53 hosted zones, record set groups and health checks, transit gateways,
spot fleets, Redshift clusters and their groups, data pipelines. (AWS Batch's types and EMR's
instance group configs still have none: `stack_deletion` reports them.) Each gets the
delete AWS performs, through the service's backend; one already gone counts as deleted, as on
AWS. Types moto gives no physical id (a scheduled action, Lambda permissions and versions, IoT
policies and things, ...) get what `Ref` gives on AWS: the stack lists them with it, and moto's
own deletes, which look them up by it, find them.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from moto.core.exceptions import HTTPException, ServiceException
from moto.utilities.utils import get_partition

Delete = Callable[[Any, str, str], None]


_GONE = ("not found", "notfound", "does not exist", "cannot be found", "no such")


def _quietly(delete: Callable[[], object]) -> None:
    """Run `delete`; an error saying the resource is not there means it went before its stack."""
    try:
        delete()
    except KeyError:
        return
    except (HTTPException, ServiceException) as exc:
        text = str(getattr(exc, "message", None) or exc).lower()
        if not any(word in text for word in _GONE):
            raise


def _ec2(account_id: str, region_name: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region_name]


# -- EC2 and Auto Scaling --------------------------------------------------------------------------
def _delete_scheduled_action(self: Any, account_id: str, region_name: str) -> None:
    from moto.autoscaling.models import autoscaling_backends

    backend = autoscaling_backends[account_id][region_name]
    backend.scheduled_actions.pop(self.scheduled_action_name, None)


def _delete_flow_log(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    if self.id in backend.flow_logs:
        backend.delete_flow_logs([self.id])


def _delete_peering_connection(self: Any, account_id: str, region_name: str) -> None:
    _quietly(lambda: _ec2(account_id, region_name).delete_vpc_peering_connection(self.id))


def _delete_vpn_gateway(self: Any, account_id: str, region_name: str) -> None:
    _quietly(lambda: _ec2(account_id, region_name).delete_vpn_gateway(self.id))


def _delete_volume(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    if self.id in backend.volumes:
        backend.delete_volume(self.id)


def _delete_volume_attachment(self: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    volume = backend.volumes.get(self.volume.id)
    if volume is not None and volume.attachment is not None:
        backend.detach_volume(self.volume.id, self.instance.id, self.device)


def _delete_transit_gateway(self: Any, account_id: str, region_name: str) -> None:
    _quietly(lambda: _ec2(account_id, region_name).delete_transit_gateway(self.id))


def _delete_spot_fleet(self: Any, account_id: str, region_name: str) -> None:
    _ec2(account_id, region_name).cancel_spot_fleet_requests([self.id], terminate_instances=True)


# -- ECS -------------------------------------------------------------------------------------------
def _ecs(account_id: str, region_name: str) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[account_id][region_name]


def _delete_ecs_cluster(self: Any, account_id: str, region_name: str) -> None:
    # AWS keeps a deleted cluster INACTIVE for a while, out of ListClusters; moto listed it on.
    _ecs(account_id, region_name).clusters.pop(self.name, None)


def _delete_ecs_service(self: Any, account_id: str, region_name: str) -> None:
    _quietly(lambda: _ecs(account_id, region_name).delete_service(
        self.cluster_name, self.name, force=True))


def _delete_task_definition(self: Any, account_id: str, region_name: str) -> None:
    _quietly(lambda: _ecs(account_id, region_name).deregister_task_definition(self.arn))


# -- IAM and Lambda --------------------------------------------------------------------------------
def _delete_managed_policy(self: Any, account_id: str, region_name: str) -> None:
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id][get_partition(region_name)]
    if self.arn not in backend.managed_policies:
        return
    for holder in [*backend.roles.values(), *backend.users.values(),
                   *backend.groups.values()]:
        holder.managed_policies.pop(self.arn, None)
    backend.delete_policy(self.arn)


def _lambda(account_id: str, region_name: str) -> Any:
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region_name)


def _permissions_have_their_statement_id() -> None:
    from moto.awslambda.models import Permission

    def create_from_cloudformation_json(cls: Any, resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str, **kwargs: Any) -> Permission:
        properties = cloudformation_json["Properties"]
        function = _lambda(account_id, region_name).get_function(properties["FunctionName"])
        function.policy.add_statement(raw=json.dumps({**properties,
                                                      "StatementId": resource_name}))
        permission = Permission(region=region_name)
        permission.function_name = properties["FunctionName"]
        permission.statement_id = resource_name
        return permission

    def delete(self: Any, account_id: str, region_name: str) -> None:
        _quietly(lambda: _lambda(account_id, region_name).remove_permission(
            self.function_name, self.statement_id))

    Permission.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)
    Permission.physical_resource_id = property(  # type: ignore[attr-defined]
        lambda self: getattr(self, "statement_id", ""))
    Permission.delete = delete  # type: ignore[attr-defined]


def _versions_have_their_arn() -> None:
    from moto.awslambda.models import LambdaVersion

    original = LambdaVersion.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(cls: Any, resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str, **kwargs: Any) -> LambdaVersion:
        version = original(cls, resource_name, cloudformation_json, account_id, region_name,
                           **kwargs)
        function = _lambda(account_id, region_name).get_function(
            cloudformation_json["Properties"]["FunctionName"])
        version.function_name = function.function_name
        version.arn = f"{function.function_arn.split(':$LATEST')[0]}:{version.version}"
        return version

    def delete(self: Any, account_id: str, region_name: str) -> None:
        _quietly(lambda: _lambda(account_id, region_name).delete_function(
            self.function_name, str(self.version)))

    LambdaVersion.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)
    LambdaVersion.physical_resource_id = property(  # type: ignore[attr-defined]
        lambda self: getattr(self, "arn", ""))
    LambdaVersion.delete = delete  # type: ignore[attr-defined]


def _delete_layer_version(self: Any, account_id: str, region_name: str) -> None:
    _quietly(lambda: _lambda(account_id, region_name).delete_layer_version(
        self.name, str(self.version)))


# -- Redshift and Data Pipeline -------------------------------------------------------------------
def _redshift(account_id: str, region_name: str) -> Any:
    from moto.redshift.models import redshift_backends

    return redshift_backends[account_id][region_name]


def _delete_redshift_cluster(self: Any, account_id: str, region_name: str) -> None:
    _quietly(lambda: _redshift(account_id, region_name).delete_cluster(
        cluster_identifier=self.cluster_identifier, skip_final_snapshot=True,
        final_cluster_snapshot_identifier=None))


def _delete_redshift_subnet_group(self: Any, account_id: str, region_name: str) -> None:
    _redshift(account_id, region_name).subnet_groups.pop(self.cluster_subnet_group_name, None)


def _delete_redshift_parameter_group(self: Any, account_id: str, region_name: str) -> None:
    _redshift(account_id, region_name).parameter_groups.pop(self.name, None)


def _delete_pipeline(self: Any, account_id: str, region_name: str) -> None:
    from moto.datapipeline.models import datapipeline_backends

    datapipeline_backends[account_id][region_name].delete_pipeline(self.pipeline_id)


# -- Route 53 --------------------------------------------------------------------------------------
def _route53(account_id: str, region_name: str) -> Any:
    from moto.route53.models import route53_backends

    return route53_backends[account_id][get_partition(region_name)]


def _delete_hosted_zone(self: Any, account_id: str, region_name: str) -> None:
    _route53(account_id, region_name).zones.pop(self.resource_id, None)


def _delete_record_set_group(self: Any, account_id: str, region_name: str) -> None:
    zone = _route53(account_id, region_name).zones.get(self.hosted_zone_id)
    if zone is None:
        return
    for record_set in self.record_sets:
        _quietly(lambda record_set=record_set: zone.delete_rrset(record_set))


def _delete_health_check(self: Any, account_id: str, region_name: str) -> None:
    _quietly(lambda: _route53(account_id, region_name).delete_health_check(self.id))


def _deletes() -> dict[type, Delete]:
    from moto.autoscaling.models import FakeScheduledAction
    from moto.awslambda.models import LayerVersion
    from moto.datapipeline.models import Pipeline
    from moto.ec2.models.elastic_block_store import Volume, VolumeAttachment
    from moto.ec2.models.flow_logs import FlowLogs
    from moto.ec2.models.spot_requests import SpotFleetRequest
    from moto.ec2.models.transit_gateway import TransitGateway
    from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection
    from moto.ec2.models.vpn_gateway import VpnGateway
    from moto.ecs.models import Cluster, Service, TaskDefinition
    from moto.iam.models import ManagedPolicy
    from moto.redshift.models import Cluster as RedshiftCluster
    from moto.redshift.models import ParameterGroup, SubnetGroup
    from moto.route53.models import FakeZone, HealthCheck, RecordSetGroup

    return {
        FakeScheduledAction: _delete_scheduled_action, FlowLogs: _delete_flow_log,
        VPCPeeringConnection: _delete_peering_connection, VpnGateway: _delete_vpn_gateway,
        Volume: _delete_volume, VolumeAttachment: _delete_volume_attachment,
        Cluster: _delete_ecs_cluster, Service: _delete_ecs_service,
        TaskDefinition: _delete_task_definition, ManagedPolicy: _delete_managed_policy,
        LayerVersion: _delete_layer_version, FakeZone: _delete_hosted_zone,
        RecordSetGroup: _delete_record_set_group, HealthCheck: _delete_health_check,
        TransitGateway: _delete_transit_gateway, SpotFleetRequest: _delete_spot_fleet,
        RedshiftCluster: _delete_redshift_cluster, SubnetGroup: _delete_redshift_subnet_group,
        ParameterGroup: _delete_redshift_parameter_group, Pipeline: _delete_pipeline,
    }


def _physical_ids() -> dict[type, Callable[[Any], str]]:
    """What `Ref` gives on AWS, for the types moto gives no physical id: a stack lists them with
    an empty one, and moto's own delete, which looks them up by it, finds nothing."""
    from moto.autoscaling.models import FakeScheduledAction
    from moto.awslambda.models import LayerVersion
    from moto.ec2.models.elastic_block_store import VolumeAttachment
    from moto.efs.models import AccessPoint
    from moto.events.models import Archive, EventBus
    from moto.iot.models import (
        FakeBillingGroup, FakeJobTemplate, FakePolicy, FakeRoleAlias, FakeThing, FakeThingType,
    )
    from moto.rds.models import DBSecurityGroup
    from moto.redshift.models import Cluster as RedshiftCluster
    from moto.redshift.models import ParameterGroup, SubnetGroup

    return {
        FakeScheduledAction: lambda self: self.scheduled_action_name,
        LayerVersion: lambda self: self.arn,
        VolumeAttachment: lambda self: f"{self.volume.id}|{self.instance.id}",
        AccessPoint: lambda self: self.access_point_id,
        Archive: lambda self: self.name, EventBus: lambda self: self.name,
        FakeBillingGroup: lambda self: self.billing_group_name,
        FakeJobTemplate: lambda self: self.job_template_id,
        FakePolicy: lambda self: self.name, FakeRoleAlias: lambda self: self.role_alias,
        FakeThing: lambda self: self.thing_name, FakeThingType: lambda self: self.thing_type_name,
        DBSecurityGroup: lambda self: self.name,
        RedshiftCluster: lambda self: self.cluster_identifier,
        ParameterGroup: lambda self: self.name,
        SubnetGroup: lambda self: self.cluster_subnet_group_name,
    }


def install() -> None:
    for model, delete in _deletes().items():
        model.delete = delete  # type: ignore[attr-defined]
    for model, physical_id in _physical_ids().items():
        model.physical_resource_id = property(physical_id)  # type: ignore[attr-defined]
    _permissions_have_their_statement_id()
    _versions_have_their_arn()
