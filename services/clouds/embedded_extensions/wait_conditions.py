"""Wait conditions and creation policies, their signals simulated.

On AWS a template waits for its instances to report in: an AWS::CloudFormation::WaitCondition
(with its WaitConditionHandle, a presigned URL the instance's `cfn-signal` calls) or a resource's
`CreationPolicy` completes once the given number of SUCCESS signals arrived. moto skips both
wait condition types (their `Ref` gave nothing, `Fn::GetAtt WaitCondition.Data` failed with
"references undefined resource") and ignores CreationPolicy. The embedded cloud runs nothing on
its instances, so nothing could ever signal: here the signals count as sent once the resource is
up, and its CREATE_COMPLETE event says so ("Received 1 SUCCESS signal(s) out of 1, simulated: ...").
A handle's `Ref` is its URL, as on AWS; a wait condition's `Data` is the JSON object of signal
ids to data that AWS gives, one simulated entry per signal.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from moto.cloudformation.exceptions import ValidationError
from moto.core.common_models import CloudFormationModel

from services.clouds.embedded_extensions import stack_events
from services.clouds.embedded_extensions._template import as_int

HANDLE_TYPE = "AWS::CloudFormation::WaitConditionHandle"
CONDITION_TYPE = "AWS::CloudFormation::WaitCondition"
MAX_TIMEOUT_S = 43200
SIMULATED = ("simulated: the embedded cloud runs nothing on its instances, so it counts the "
             "signals as sent once the resource is up")
SIGNAL_DATA = "signal simulated by the embedded cloud"


def _signal_count(resource_json: dict[str, Any]) -> int | None:
    """The SUCCESS signals the resource waits for, or None when it waits for none."""
    policy = resource_json.get("CreationPolicy") or {}
    signal = policy.get("ResourceSignal") if isinstance(policy, dict) else None
    if signal is not None:
        return as_int((signal or {}).get("Count"), 1)
    if resource_json.get("Type") == CONDITION_TYPE:
        return as_int((resource_json.get("Properties") or {}).get("Count"), 1)
    return None


def signals_received(resource_json: dict[str, Any], resource: Any) -> str | None:
    """The CREATE_COMPLETE reason of a resource that waited for signals."""
    count = _signal_count(resource_json)
    if count is None:
        return None
    return f"Received {count} SUCCESS signal(s) out of {count}, {SIMULATED}"


class WaitConditionHandle(CloudFormationModel):
    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return HANDLE_TYPE

    @property
    def physical_resource_id(self) -> str:
        return self.url

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str,  # type: ignore[override]
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str, **kwargs: Any) -> WaitConditionHandle:
        resource = quote(f"{kwargs['StackId']}/{kwargs['LogicalId']}", safe="")
        # The form of AWS's presigned URL; nothing listens there, and nothing needs to.
        return cls(f"https://cloudformation-waitcondition-{region_name}.s3.amazonaws.com/"
                   f"{resource}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=86399")

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing was made outside the stack."""


class WaitCondition(CloudFormationModel):
    def __init__(self, physical_id: str, count: int) -> None:
        self.physical_id = physical_id
        self.count = count

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return CONDITION_TYPE

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Data"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Data":
            return json.dumps({f"simulated-{n}": SIGNAL_DATA for n in range(1, self.count + 1)})
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str,  # type: ignore[override]
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str, **kwargs: Any) -> WaitCondition:
        properties = cloudformation_json.get("Properties") or {}
        signalled_by_policy = "CreationPolicy" in cloudformation_json
        if not signalled_by_policy:
            if not properties.get("Handle"):
                raise ValidationError(message=(
                    f"Template error: WaitCondition {kwargs['LogicalId']} needs a Handle or a "
                    "CreationPolicy"))
            timeout = _seconds(properties.get("Timeout"))
            if timeout is None or not 0 < timeout <= MAX_TIMEOUT_S:
                raise ValidationError(message=(
                    f"Template error: the Timeout of WaitCondition {kwargs['LogicalId']} must be "
                    f"a number of seconds from 1 to {MAX_TIMEOUT_S}"))
        count = _signal_count(cloudformation_json) or 1
        return cls(f"{kwargs['StackId']}/{kwargs['LogicalId']}", count)

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing was made outside the stack."""


def _seconds(value: Any) -> int | None:
    """A Timeout in seconds, given as a number or (CreationPolicy) an ISO 8601 duration."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", text)
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def install() -> None:
    # The classes above are CloudFormationModel subclasses, found by moto's type registry once
    # its caches are cleared (embedded_extensions.install does).
    stack_events.completion_reasons.append(signals_received)
