"""Cloud targets: one module per target, chosen by `PORTAL_CLOUD`.

`CONNECTORS` is the registry of targets. Each target turns the settings into a `CloudConnection`: a region, an endpoint and one set of
boto3 clients built once from one Session and shared by every thread (clients are thread-safe,
Sessions are not, and building clients is the expensive part).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable

import boto3
import botocore.session
from botocore.config import Config
from botocore.utils import parse_timestamp

from services.settings import CloudTarget, Settings

# Enough pooled connections for a class launching at once; botocore's default of 10 would
# serialise the 11th concurrent launch behind the others.
BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    max_pool_connections=64,
    connect_timeout=10,
    read_timeout=120,
)


def parse_aws_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, with a fast path for ISO 8601 and naive times read as UTC.

    botocore hands every timestamp to dateutil, which is most of the cost of reading a stack's
    events (a 45-resource stack has about 130). AWS writes ISO 8601 with a zone; the embedded
    cloud writes UTC without one, which botocore would read as the host's local time.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return parse_timestamp(value)  # RFC 822 and the other forms botocore knows
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        # CloudWatch's protocol (smithy-rpc-v2-cbor) sends epoch seconds; botocore would build a
        # dateutil tzlocal for each datapoint.
        return datetime.fromtimestamp(value, UTC)
    return parse_timestamp(value)


def new_session(**options: Any) -> boto3.session.Session:
    """A boto3 Session (keyword arguments as boto3's) whose clients parse timestamps fast."""
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_aws_timestamp)
    return boto3.session.Session(botocore_session=core, **options)


@dataclass
class CloudConnection:
    target: CloudTarget
    region: str
    endpoint_url: str | None
    session: boto3.session.Session
    # Identifies one life of the embedded emulator; None for targets whose state outlives us.
    cloud_session: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self.session.client(
                    service, region_name=self.region, endpoint_url=self.endpoint_url,
                    config=BOTO_CONFIG,
                )
                self._clients[service] = client
            return client

    def warm(self, *services: str) -> None:
        for service in services:
            self.client(service)


# The module of each target; each has `connect(settings) -> CloudConnection`. Imported on first
# use: the embedded target pulls in moto's server, which the other targets never need.
CONNECTORS: dict[CloudTarget, str] = {
    CloudTarget.EMBEDDED: "services.clouds.embedded",
    CloudTarget.LOCALSTACK: "services.clouds.localstack",
    CloudTarget.AWS: "services.clouds.aws",
}


def _connector(target: CloudTarget) -> Callable[[Settings], CloudConnection]:
    return importlib.import_module(CONNECTORS[target]).connect  # type: ignore[no-any-return]


def connect(settings: Settings) -> CloudConnection:
    """Build the connection for the configured target; call once per process and reuse it."""
    connection = _connector(settings.cloud)(settings)
    # The services every launch and destroy touch, built now rather than inside a launch.
    connection.warm("cloudformation", "ec2")
    return connection


def records_only(connection: CloudConnection, resources: list[Any]) -> list[Any]:
    """The `DeployedResource`s a target marked complete without creating them: LocalStack's
    CloudFormation does so for the services its edition lacks. Other targets create what they
    report; the embedded cloud's gaps are refused at create time instead."""
    if connection.target is not CloudTarget.LOCALSTACK:
        return []
    from services.clouds.localstack_records import unbacked_resources

    return [check.resource for check in unbacked_resources(connection, resources)]
