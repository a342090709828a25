"""CloudWatch Logs: log groups as AWS::Logs::LogGroup declares them, with their stack's tags,
and their streams (AWS::Logs::LogStream, which moto does not model).

moto keeps a log group's tags after the group is deleted, keyed on its ARN, which is only its
name: a later group of the same name came up with the old group's tags. They go with the group."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from . import stack_tags


class LogStream(CloudFormationModel):
    """AWS::Logs::LogStream: a stream of an existing group; its physical id is its name."""

    def __init__(self, group_name: str, stream_name: str) -> None:
        self.group_name = group_name
        self.stream_name = stream_name

    @property
    def physical_resource_id(self) -> str:
        return self.stream_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "LogStreamName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::LogStream"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> LogStream:
        from moto.logs.models import logs_backends

        group_name = cloudformation_json["Properties"]["LogGroupName"]
        logs_backends[account_id][region_name].create_log_stream(group_name, resource_name)
        return cls(group_name, resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.logs.models import logs_backends

        group = logs_backends[account_id][region_name].groups.get(self.group_name)
        if group is not None:
            group.streams.pop(self.stream_name, None)


def _log_group_reads_its_properties() -> None:
    """AWS::Logs::LogGroup in moto builds its tags with `dict(tag.values())`, so a tag written
    Value-first came out reversed; it keeps `RetentionInDays` as given, so "7" from a string
    parameter was answered as a string, which SDKs reject; and it drops `KmsKeyId`, because the
    backend reads the API's `kmsKeyId`."""
    from moto.logs.models import LogGroup, logs_backends

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> LogGroup:
        properties = cloudformation_json.get("Properties", {})
        tags = {tag["Key"]: tag["Value"] for tag in properties.get("Tags") or []}
        options: dict[str, Any] = {}
        if properties.get("RetentionInDays") is not None:
            options["RetentionInDays"] = int(properties["RetentionInDays"])
        if properties.get("KmsKeyId"):
            options["kmsKeyId"] = properties["KmsKeyId"]
        return logs_backends[account_id][region_name].create_log_group(resource_name, tags,
                                                                       **options)

    LogGroup.create_from_cloudformation_json = classmethod(  # type: ignore[method-assign]
        create_from_cloudformation_json)


def _arn_attribute_names_the_streams() -> None:
    """`Fn::GetAtt LogGroup.Arn` on AWS ends in `:*` (the group and its streams, the form IAM
    policies grant on); moto gave the bare group ARN."""
    from moto.logs.models import LogGroup

    original = LogGroup.get_cfn_attribute

    def get_cfn_attribute(self: LogGroup, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return f"{self.arn}:*"
        return original(self, attribute_name)

    LogGroup.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


def _tag(resource: Any, tags: dict[str, str], account_id: str, region_name: str) -> None:
    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region_name]
    present = backend.list_tags_for_resource(resource.arn)
    missing = {k: v for k, v in tags.items() if k not in present}
    if missing:
        backend.tag_resource(resource.arn, missing)


def _deleted_group_drops_its_tags() -> None:
    from moto.logs.models import LogsBackend

    delete_log_group = LogsBackend.delete_log_group

    def delete_log_group_and_its_tags(self: LogsBackend, log_group_name: str) -> None:
        group = self.groups.get(log_group_name)
        delete_log_group(self, log_group_name)
        if group is not None:
            self.tagger.delete_all_tags_for_resource(group.arn)

    LogsBackend.delete_log_group = delete_log_group_and_its_tags  # type: ignore[method-assign]


def install() -> None:
    from moto.logs.models import LogGroup

    _log_group_reads_its_properties()
    _arn_attribute_names_the_streams()
    _deleted_group_drops_its_tags()
    stack_tags.register(LogGroup, _tag)
