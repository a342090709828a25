"""Real AWS: credentials and region come from boto3's own chain (AWS_PROFILE, SSO, instance role)."""

from __future__ import annotations

import boto3

from portal.settings import CloudTarget, Settings
from services.clouds import CloudConnection


def connect(settings: Settings) -> CloudConnection:
    session = boto3.session.Session(region_name=settings.region)
    # AWS_ENDPOINT_URL, when set, is honoured by boto3 itself; passing None keeps that behaviour.
    return CloudConnection(
        target=CloudTarget.AWS, region=settings.region, endpoint_url=None, session=session
    )
