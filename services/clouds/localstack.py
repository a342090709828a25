"""LocalStack: an endpoint URL with its fixed test credentials."""

from __future__ import annotations

import os


from services.settings import CloudTarget, Settings
from services.clouds import CloudConnection, new_session

DEFAULT_ENDPOINT = "http://localhost:4566"


def connect(settings: Settings) -> CloudConnection:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", DEFAULT_ENDPOINT)
    session = new_session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        region_name=settings.region,
    )
    return CloudConnection(
        target=CloudTarget.LOCALSTACK, region=settings.region, endpoint_url=endpoint,
        session=session,
    )
