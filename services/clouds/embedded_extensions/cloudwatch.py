"""CloudWatch: metric alarms that a stack creates and deletes, and GetMetricData at scale.

moto's CloudWatch backend keeps alarms, but its CloudFormation knows only dashboards:
AWS::CloudWatch::Alarm was skipped with a warning, `Ref` to one gave '' and `Fn::GetAtt` its Arn
failed the stack's outputs. This model puts the alarm through the backend's PutMetricAlarm.

moto's GetMetricData compares every stored datapoint with every query and every period of the
window: a collector pass over 20 instances with a day of 5-minute points did not answer in nine
minutes. Datapoints are indexed here by metric and dimension set, sorted by time, so a query is two
bisections. moto also matched a query with dimensions on name and dimensions only, ignoring its
namespace; the index keys on the namespace too, as AWS does.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from datetime import datetime, timedelta
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudwatch.exceptions import ValidationError
from moto.cloudwatch.models import (
    Alarm,
    CloudWatchBackend,
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    Statistics,
    cloudwatch_backends,
)
from moto.core.common_models import CloudFormationModel

from . import stack_tags
from .api_shapes import to_api_request


def _backend(account_id: str, region_name: str) -> CloudWatchBackend:
    return cloudwatch_backends[account_id][region_name]


def _metric_data_queries(metrics: list[dict[str, Any]]) -> list[MetricDataQuery] | None:
    """PutMetricAlarm's `Metrics`, built as moto's own PutMetricAlarm handler builds them."""
    if not metrics:
        return None
    queries = []
    for query in metrics:
        stat = query.get("MetricStat")
        metric_stat = None
        if stat and stat.get("Metric", {}).get("MetricName"):
            metric = stat["Metric"]
            metric_stat = MetricStat(
                metric=Metric(metric_name=metric["MetricName"], namespace=metric.get("Namespace"),
                              dimensions=[Dimension(d.get("Name"), d.get("Value"))
                                          for d in metric.get("Dimensions", [])]),
                period=stat.get("Period"), stat=stat.get("Stat"), unit=stat.get("Unit"))
        queries.append(MetricDataQuery(
            query_id=query.get("Id"), label=query.get("Label"), period=query.get("Period"),
            return_data=query.get("ReturnData"), expression=query.get("Expression"),
            metric_stat=metric_stat))
    return queries


class CloudWatchAlarm(CloudFormationModel):
    """AWS::CloudWatch::Alarm, kept in moto's CloudWatch backend; `Ref` gives its name,
    `Fn::GetAtt Arn` its ARN."""

    def __init__(self, alarm: Alarm) -> None:
        self.alarm = alarm

    @property
    def name(self) -> str:
        return self.alarm.name

    @property
    def arn(self) -> str:
        return self.alarm.alarm_arn

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CloudWatchAlarm:
        request = to_api_request("cloudwatch", "PutMetricAlarm",
                                 cloudformation_json.get("Properties", {}))
        alarm = _backend(account_id, region_name).put_metric_alarm(
            name=resource_name,
            namespace=request.get("Namespace"),
            metric_name=request.get("MetricName"),
            metric_data_queries=_metric_data_queries(request.get("Metrics", [])),
            comparison_operator=request["ComparisonOperator"],
            evaluation_periods=request["EvaluationPeriods"],
            datapoints_to_alarm=request.get("DatapointsToAlarm"),
            period=request.get("Period"),
            threshold=request.get("Threshold"),
            statistic=request.get("Statistic"),
            extended_statistic=request.get("ExtendedStatistic"),
            description=request.get("AlarmDescription"),
            dimensions=request.get("Dimensions", []),
            alarm_actions=request.get("AlarmActions", []),
            ok_actions=request.get("OKActions", []),
            insufficient_data_actions=request.get("InsufficientDataActions", []),
            unit=request.get("Unit"),
            actions_enabled=request.get("ActionsEnabled", True),
            treat_missing_data=request.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=request.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=request.get("ThresholdMetricId"),
            tags=request.get("Tags", []),
        )
        return cls(alarm)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
            cls, original_resource: CloudWatchAlarm, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> CloudWatchAlarm:
        # PutMetricAlarm replaces an alarm of the same name; only a declared new name replaces
        # the resource (moto draws a fresh generated name on every update).
        name = cloudformation_json.get("Properties", {}).get("AlarmName") or original_resource.name
        if name != original_resource.name:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(name, cloudformation_json, account_id,
                                                   region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
        _delete_alarm(_backend(account_id, region_name), resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _delete_alarm(_backend(account_id, region_name), self.name)


def _delete_alarm(backend: CloudWatchBackend, name: str) -> None:
    alarm = backend.alarms.get(name)
    backend.delete_alarms([name])
    if alarm is not None:
        # moto's DeleteAlarms keeps the tags, which a new alarm of that name would inherit.
        backend.tagger.delete_all_tags_for_resource(alarm.alarm_arn)


def _tag(resource: CloudWatchAlarm, tags: dict[str, str], account_id: str,
         region_name: str) -> None:
    backend = _backend(account_id, region_name)
    present = backend.tagger.get_tag_dict_for_resource(resource.arn)
    missing = {k: v for k, v in tags.items() if k not in present}
    if missing:
        backend.tag_resource(resource.arn, missing)


MetricKey = tuple[str, str, frozenset[tuple[str, str]]]


def _key_of_datum(datum: Any) -> MetricKey:
    return (datum.namespace, datum.name, frozenset((d.name, d.value) for d in datum.dimensions))


class _MetricIndex:
    """moto's datapoints by (namespace, name, exact dimension set), sorted by time; extended with
    what was put since the last read (moto only appends to its list)."""

    def __init__(self) -> None:
        self.indexed = 0
        self.by_metric: dict[MetricKey, tuple[list[tuple[datetime, int]], list[Any]]] = {}
        self.lock = threading.Lock()

    def catch_up(self, metric_data: list[Any]) -> None:
        if len(metric_data) < self.indexed:  # the backend was reset
            self.indexed, self.by_metric = 0, {}
        for position in range(self.indexed, len(metric_data)):
            datum = metric_data[position]
            times, data = self.by_metric.setdefault(_key_of_datum(datum), ([], []))
            entry = (datum.timestamp, position)
            if not times or entry >= times[-1]:
                times.append(entry)
                data.append(datum)
            else:
                at = bisect_left(times, entry)
                times.insert(at, entry)
                data.insert(at, datum)
        self.indexed = len(metric_data)


def _indexed_get_metric_data() -> None:
    original = CloudWatchBackend.get_metric_data

    def get_metric_data(self: CloudWatchBackend, queries: list[dict[str, Any]],
                        start_time: datetime, end_time: datetime,
                        scan_by: str = "TimestampAscending") -> list[dict[str, Any]]:
        # Metric math, Insights and dimensionless queries are rare: moto answers them as before.
        if any("MetricStat" not in q or not q["MetricStat"]["Metric"].get("Dimensions")
               for q in queries):
            return original(self, queries, start_time, end_time, scan_by)
        # Metrics moto derives from other services (SQS, DynamoDB, ...) are few: scanned.
        derived = [d for d in self.aws_metric_data if start_time <= d.timestamp < end_time]
        start_time, end_time = start_time.replace(microsecond=0), end_time.replace(microsecond=0)
        if start_time > end_time:
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        if start_time == end_time:
            raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
        index = self.__dict__.setdefault("_sandbox_metric_index", _MetricIndex())
        results = []
        with index.lock:
            index.catch_up(self.metric_data)
            for query in queries:
                stat_spec = query["MetricStat"]
                metric = stat_spec["Metric"]
                key = (metric["Namespace"], metric["MetricName"],
                       frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
                period = timedelta(seconds=int(stat_spec["Period"]))
                stat, unit = stat_spec["Stat"], stat_spec.get("Unit")
                times, data = index.by_metric.get(key, ([], []))
                matching = data[bisect_left(times, (start_time, -1)):
                                bisect_left(times, (end_time, -1))]
                matching += [d for d in derived if _key_of_datum(d) == key]
                buckets: dict[datetime, list[Any]] = {}
                for datum in matching:
                    if unit and datum.unit != unit:
                        continue
                    bucket = start_time + ((datum.timestamp - start_time) // period) * period
                    buckets.setdefault(bucket, []).append(datum)
                timestamps, values = [], []
                for bucket in sorted(buckets):
                    statistics = Statistics([stat], bucket)
                    statistics.metric_data = buckets[bucket]
                    timestamps.append(bucket)
                    values.append(statistics.get_statistics_for_type(stat))
                if scan_by == "TimestampDescending":
                    timestamps.reverse()
                    values.reverse()
                if query.get("ReturnData", True):
                    results.append({"id": query["Id"],
                                    "label": query.get("Label") or f"{metric['MetricName']} {stat}",
                                    "values": values, "timestamps": timestamps,
                                    "status_code": "Complete"})
        return results

    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]


def install() -> None:
    _indexed_get_metric_data()
    stack_tags.register(CloudWatchAlarm, _tag)
